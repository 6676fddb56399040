//! RFC 5849 §1.2 and §3.4.1.1, and OAuth Core 1.0 Appendix A.5, end to end:
//! client signing, base string, header parsing and provider verification.

use super::*;
use crate::buf::SliceWriter;
use crate::time::UnixTime;
use std::string::String;

const CONSUMER_KEY: &str = "dpf43f3p2l4k3l03";
const CONSUMER_SECRET: &str = "kd94hf93k423kf44";

struct Vector {
    method: &'static str,
    url: &'static str,
    oauth: ProtocolParams<'static>,
    secrets: Secrets<'static>,
    signature: &'static str,
    endpoint: Endpoint,
}

fn vectors() -> [Vector; 4] {
    let base = ProtocolParams::new(CONSUMER_KEY, SignatureMethod::HmacSha1);
    [
        // §1.2 temporary credentials.
        Vector {
            method: "POST",
            url: "https://photos.example.net/initiate",
            oauth: ProtocolParams {
                realm: Some("Photos"),
                timestamp: Some(137131200),
                nonce: Some("wIjqoS"),
                callback: Some("http://printer.example.com/ready"),
                ..base
            },
            secrets: Secrets::new(CONSUMER_SECRET, ""),
            signature: "74KNZJeDHnMBp0EMJ9ZHt/XKycU=",
            endpoint: Endpoint::TemporaryCredentials,
        },
        // §1.2 token credentials.
        Vector {
            method: "POST",
            url: "https://photos.example.net/token",
            oauth: ProtocolParams {
                realm: Some("Photos"),
                token: Some("hh5s93j4hdidpola"),
                timestamp: Some(137131201),
                nonce: Some("walatlh"),
                verifier: Some("hfdp7dh39dks9884"),
                ..base
            },
            secrets: Secrets::new(CONSUMER_SECRET, "hdhd0244k9j7ao03"),
            signature: "gKgrFCywp7rO0OXSjdot/IHF7IU=",
            endpoint: Endpoint::TokenCredentials,
        },
        // §1.2 the photo request.
        Vector {
            method: "GET",
            url: "http://photos.example.net/photos?file=vacation.jpg&size=original",
            oauth: ProtocolParams {
                realm: Some("Photos"),
                token: Some("nnch734d00sl2jdk"),
                timestamp: Some(137131202),
                nonce: Some("chapoH"),
                ..base
            },
            secrets: Secrets::new(CONSUMER_SECRET, "pfkkdhi9sl3r4s00"),
            signature: "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
            endpoint: Endpoint::ProtectedResource,
        },
        // OAuth Core 1.0 Appendix A.5, with oauth_version.
        Vector {
            method: "GET",
            url: "http://photos.example.net/photos?file=vacation.jpg&size=original",
            oauth: ProtocolParams {
                token: Some("nnch734d00sl2jdk"),
                timestamp: Some(1191242096),
                nonce: Some("kllo9940pd9333jh"),
                version: true,
                ..base
            },
            secrets: Secrets::new(CONSUMER_SECRET, "pfkkdhi9sl3r4s00"),
            signature: "tR3+Ty81lMeYAr/Fid0kMTYa/WM=",
            endpoint: Endpoint::ProtectedResource,
        },
    ]
}

fn sign(v: &Vector) -> String {
    let mut req = Request::<8>::new(v.method, v.url).unwrap();
    let mut out = [0u8; 1024];
    let n = req.sign_to_slice(&v.oauth, &v.secrets, &mut out).unwrap();
    String::from(core::str::from_utf8(&out[..n]).unwrap())
}

fn signature_of(header: &str) -> String {
    let h = AuthorizationHeader::parse(header).unwrap();
    let mut buf = [0u8; 64];
    String::from(h.get("oauth_signature").unwrap().decode(&mut buf).unwrap())
}

#[test]
fn signatures_match_the_rfc() {
    for v in vectors() {
        let header = sign(&v);
        assert_eq!(signature_of(&header), v.signature, "{}", v.url);
    }
}

#[test]
fn header_carries_realm_and_every_protocol_param() {
    let v = &vectors()[0];
    let header = sign(v);
    assert!(header.starts_with("OAuth realm=\"Photos\", "), "{header}");
    assert!(
        header.contains("oauth_callback=\"http%3A%2F%2Fprinter.example.com%2Fready\""),
        "{header}"
    );
    assert!(header.contains("oauth_consumer_key=\"dpf43f3p2l4k3l03\""));
    assert!(header.contains("oauth_signature=\"74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D\""));
    assert!(!header.contains("oauth_version"));
    assert!(sign(&vectors()[3]).contains("oauth_version=\"1.0\""));
}

#[test]
fn provider_verifies_the_rfc_requests() {
    for v in vectors() {
        let header = sign(&v);
        let parts = RequestParts {
            method: v.method,
            url: v.url,
            authorization: Some(&header),
            form_body: None,
        };
        let req = SignedRequest::<8>::parse(parts, v.endpoint, Policy::default()).unwrap();
        assert!(req.consumer_key().eq_str(CONSUMER_KEY));
        let now = UnixTime(v.oauth.timestamp.unwrap() + 10);
        let mut nonces = MemoryNonceStore::<4>::new();
        assert_eq!(
            req.verify(&v.secrets, now, &mut nonces),
            Ok(()),
            "{}",
            v.url
        );
        assert_eq!(
            req.verify(&v.secrets, now, &mut nonces),
            Err(Problem::NonceUsed)
        );
        let wrong = Secrets::new(CONSUMER_SECRET, "not-the-secret");
        let mut fresh = MemoryNonceStore::<4>::new();
        assert_eq!(
            req.verify(&wrong, now, &mut fresh),
            Err(Problem::SignatureInvalid)
        );
        assert!(
            fresh.is_empty(),
            "a bad signature must not consume the nonce"
        );
        assert_eq!(
            req.verify(&v.secrets, UnixTime(now.0 + 600), &mut fresh),
            Err(Problem::TimestampRefused)
        );
    }
}

/// RFC 5849 §3.4.1.1: the base string of the example request, with its
/// query, its form body and its `Authorization` header.
#[test]
fn rfc5849_base_string_example() {
    const EXPECTED: &str = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
        %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82\
        h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1\
        %26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7";
    let url = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
    let body = b"c2&a3=2+q";

    // Client side.
    let mut req = Request::<8>::new("POST", url).unwrap();
    req.form_body(body).unwrap();
    let oauth = ProtocolParams {
        realm: Some("Example"),
        token: Some("kkk9d7dh3k39sjv7"),
        timestamp: Some(137131201),
        nonce: Some("7d8f3e4a"),
        ..ProtocolParams::new("9djdj82h48djs9d2", SignatureMethod::HmacSha1)
    };
    let mut buf = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf);
    req.write_base_string(&oauth, &mut w).unwrap();
    let n = w.finish().unwrap();
    assert_eq!(core::str::from_utf8(&buf[..n]).unwrap(), EXPECTED);

    // Provider side, from the example's header.
    let header = "OAuth realm=\"Example\", oauth_consumer_key=\"9djdj82h48djs9d2\", \
        oauth_token=\"kkk9d7dh3k39sjv7\", oauth_signature_method=\"HMAC-SHA1\", \
        oauth_timestamp=\"137131201\", oauth_nonce=\"7d8f3e4a\", \
        oauth_signature=\"bYT5CMsGcbgUdFHObYMEfcx6bsw%3D\"";
    let parsed = SignedRequest::<8>::parse(
        RequestParts {
            method: "POST",
            url,
            authorization: Some(header),
            form_body: Some(body),
        },
        Endpoint::ProtectedResource,
        Policy::default(),
    )
    .unwrap();
    let mut header_params = ParamList::<8>::new();
    for p in AuthorizationHeader::parse(header).unwrap().params() {
        if !p.name.eq_str("realm") && !p.name.eq_str("oauth_signature") {
            header_params.push(p).unwrap();
        }
    }
    header_params.sort();
    let mut buf2 = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf2);
    let url = crate::url::Url::parse(url).unwrap();
    write_base_string(
        &mut w,
        "POST",
        &url,
        parsed.params(),
        header_params.as_slice(),
    );
    let n = w.finish().unwrap();
    assert_eq!(core::str::from_utf8(&buf2[..n]).unwrap(), EXPECTED);
}

#[test]
fn plaintext_signature_is_the_encoded_key() {
    let mut req = Request::<4>::new("POST", "https://photos.example.net/initiate").unwrap();
    let oauth = ProtocolParams {
        callback: Some("oob"),
        ..ProtocolParams::new(CONSUMER_KEY, SignatureMethod::Plaintext)
    };
    let secrets = Secrets::new("a&b", "");
    let mut out = [0u8; 512];
    let n = req.sign_to_slice(&oauth, &secrets, &mut out).unwrap();
    let header = core::str::from_utf8(&out[..n]).unwrap();
    // Key "a%26b&" encoded once more for the header.
    assert!(
        header.ends_with("oauth_signature=\"a%2526b%26\""),
        "{header}"
    );
    let parts = RequestParts {
        method: "POST",
        url: "https://photos.example.net/initiate",
        authorization: Some(header),
        form_body: None,
    };
    let policy = Policy {
        allow_plaintext: true,
        ..Policy::default()
    };
    let req = SignedRequest::<4>::parse(parts, Endpoint::TemporaryCredentials, policy).unwrap();
    let mut nonces = MemoryNonceStore::<1>::new();
    assert_eq!(req.verify(&secrets, UnixTime(0), &mut nonces), Ok(()));
    assert_eq!(
        req.verify(&Secrets::new("a&c", ""), UnixTime(0), &mut nonces),
        Err(Problem::SignatureInvalid)
    );
    assert_eq!(
        SignedRequest::<4>::parse(parts, Endpoint::TemporaryCredentials, Policy::default())
            .unwrap_err(),
        Problem::SignatureMethodRejected,
        "PLAINTEXT is off by default"
    );
}
