//! RFC 5849 §1.2 and §3.4.1.1, and OAuth Core 1.0 Appendix A.5, end to end:
//! client signing, base string, header parsing and provider verification;
//! and the HMAC vectors of RFC 2202 and RFC 4231 through the streamed HMAC
//! the signatures use.
//!
//! `no_std` checks (see [`crate::selftest`]): `cargo test` runs each as its
//! own test, and `mcu-tests/` runs the same list on an emulated Cortex-M.

#![allow(
    clippy::result_large_err,
    reason = "a Failure carries its description inline (no heap); only the failing path moves it"
)]

use super::signature::hmac_raw;
use super::*;
use crate::buf::SliceWriter;
use crate::selftest::{Failure, OrFail, declare_checks, ensure, ensure_eq};
use crate::time::UnixTime;
use core::fmt::Write as _;

declare_checks! {
    rfc5849_1_2_signatures,
    oauth_core_1_0_a5_signature,
    rfc5849_1_2_header,
    rfc5849_1_2_provider_verification,
    rfc5849_3_4_1_1_base_string,
    rfc5849_3_4_4_plaintext,
    rfc2202_hmac_sha1,
    rfc4231_hmac_sha256,
}

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

/// RFC 5849 §1.2's three requests, then OAuth Core 1.0 Appendix A.5.
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

type Header = heapless::String<1024>;

/// The `Authorization` header value the client writes for `v`.
fn sign(v: &Vector) -> Result<Header, Failure> {
    let mut req = Request::<8>::new(v.method, v.url).or_fail("Request::new")?;
    let mut out = [0u8; 1024];
    let n = req
        .sign_to_slice(&v.oauth, &v.secrets, &mut out)
        .or_fail("sign_to_slice")?;
    let header = out
        .get(..n)
        .and_then(|b| core::str::from_utf8(b).ok())
        .or_fail("header is UTF-8")?;
    Header::try_from(header).or_fail("header length")
}

/// The decoded `oauth_signature` of a header.
fn signature_of(header: &str) -> Result<heapless::String<64>, Failure> {
    let h = AuthorizationHeader::parse(header).or_fail("parse the header")?;
    let mut buf = [0u8; 64];
    let sig = h
        .get("oauth_signature")
        .or_fail("oauth_signature in the header")?;
    let sig = sig.decode(&mut buf).or_fail("decode oauth_signature")?;
    heapless::String::try_from(sig).or_fail("signature length")
}

fn signature_matches(v: &Vector) -> Result<(), Failure> {
    let header = sign(v)?;
    ensure_eq!(signature_of(&header)?, v.signature, "{}", v.url);
    Ok(())
}

/// RFC 5849 §1.2: the signatures of the three example requests.
fn rfc5849_1_2_signatures() -> Result<(), Failure> {
    for v in vectors().iter().take(3) {
        signature_matches(v)?;
    }
    Ok(())
}

/// OAuth Core 1.0 Appendix A.5: the signature of the photo request, with
/// `oauth_version`.
fn oauth_core_1_0_a5_signature() -> Result<(), Failure> {
    let vectors = vectors();
    signature_matches(vectors.get(3).or_fail("the A.5 vector")?)
}

/// RFC 5849 §1.2: the header carries the realm and every protocol
/// parameter, encoded; `oauth_version` only when asked for.
fn rfc5849_1_2_header() -> Result<(), Failure> {
    let vectors = vectors();
    let header = sign(vectors.first().or_fail("the §1.2 vector")?)?;
    ensure!(header.starts_with("OAuth realm=\"Photos\", "), "{header}");
    ensure!(
        header.contains("oauth_callback=\"http%3A%2F%2Fprinter.example.com%2Fready\""),
        "{header}"
    );
    ensure!(
        header.contains("oauth_consumer_key=\"dpf43f3p2l4k3l03\""),
        "{header}"
    );
    ensure!(
        header.contains("oauth_signature=\"74KNZJeDHnMBp0EMJ9ZHt%2FXKycU%3D\""),
        "{header}"
    );
    ensure!(!header.contains("oauth_version"), "{header}");
    let a5 = sign(vectors.get(3).or_fail("the A.5 vector")?)?;
    ensure!(a5.contains("oauth_version=\"1.0\""), "{a5}");
    Ok(())
}

/// RFC 5849 §1.2 and A.5 on the provider side: each signed request
/// verifies once; a replay, a wrong secret and a stale timestamp do not,
/// and a bad signature does not use up the nonce.
fn rfc5849_1_2_provider_verification() -> Result<(), Failure> {
    for v in vectors() {
        let header = sign(&v)?;
        let parts = RequestParts {
            method: v.method,
            url: v.url,
            authorization: Some(&header),
            form_body: None,
        };
        let req = SignedRequest::<8>::parse(parts, v.endpoint, Policy::default()).or_fail(v.url)?;
        ensure!(req.consumer_key().eq_str(CONSUMER_KEY), "{}", v.url);
        let now = UnixTime(v.oauth.timestamp.or_fail("timestamp")?.saturating_add(10));
        let mut nonces = MemoryNonceStore::<4>::new();
        ensure_eq!(
            req.verify(&v.secrets, now, &mut nonces),
            Ok(()),
            "{}",
            v.url
        );
        ensure_eq!(
            req.verify(&v.secrets, now, &mut nonces),
            Err(Problem::NonceUsed),
            "{} replayed",
            v.url
        );
        let wrong = Secrets::new(CONSUMER_SECRET, "not-the-secret");
        let mut fresh = MemoryNonceStore::<4>::new();
        ensure_eq!(
            req.verify(&wrong, now, &mut fresh),
            Err(Problem::SignatureInvalid),
            "{} with the wrong token secret",
            v.url
        );
        ensure!(
            fresh.is_empty(),
            "a bad signature must not consume the nonce ({})",
            v.url
        );
        ensure_eq!(
            req.verify(&v.secrets, UnixTime(now.0.saturating_add(600)), &mut fresh),
            Err(Problem::TimestampRefused),
            "{} ten minutes late",
            v.url
        );
    }
    Ok(())
}

/// RFC 5849 §3.4.1.1: the base string of the example request, with its
/// query, its form body and its `Authorization` header, from the client
/// side and from the provider side.
fn rfc5849_3_4_1_1_base_string() -> Result<(), Failure> {
    const EXPECTED: &str = "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q\
        %26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82\
        h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1\
        %26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7";
    let url = "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b";
    let body = b"c2&a3=2+q";

    // Client side.
    let mut req = Request::<8>::new("POST", url).or_fail("Request::new")?;
    req.form_body(body).or_fail("form_body")?;
    let oauth = ProtocolParams {
        realm: Some("Example"),
        token: Some("kkk9d7dh3k39sjv7"),
        timestamp: Some(137131201),
        nonce: Some("7d8f3e4a"),
        ..ProtocolParams::new("9djdj82h48djs9d2", SignatureMethod::HmacSha1)
    };
    let mut buf = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf);
    req.write_base_string(&oauth, &mut w)
        .or_fail("write_base_string")?;
    let written = w.into_written().or_fail("client base string")?;
    ensure_eq!(core::str::from_utf8(written), Ok(EXPECTED), "client side");

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
    .or_fail("SignedRequest::parse")?;
    let mut header_params = ParamList::<8>::new();
    for p in AuthorizationHeader::parse(header)
        .or_fail("parse the header")?
        .params()
    {
        if !p.name.eq_str("realm") && !p.name.eq_str("oauth_signature") {
            header_params.push(p).or_fail("header parameters")?;
        }
    }
    header_params.sort();
    let mut buf2 = [0u8; 512];
    let mut w = SliceWriter::new(&mut buf2);
    let url = crate::url::Url::parse(url).or_fail("Url::parse")?;
    write_base_string(
        &mut w,
        "POST",
        &url,
        parsed.params(),
        header_params.as_slice(),
    );
    let written = w.into_written().or_fail("provider base string")?;
    ensure_eq!(core::str::from_utf8(written), Ok(EXPECTED), "provider side");
    Ok(())
}

/// RFC 5849 §3.4.4: PLAINTEXT's signature is the encoded key; it verifies
/// only when the policy allows PLAINTEXT.
fn rfc5849_3_4_4_plaintext() -> Result<(), Failure> {
    let mut req =
        Request::<4>::new("POST", "https://photos.example.net/initiate").or_fail("Request::new")?;
    let oauth = ProtocolParams {
        callback: Some("oob"),
        ..ProtocolParams::new(CONSUMER_KEY, SignatureMethod::Plaintext)
    };
    let secrets = Secrets::new("a&b", "");
    let mut out = [0u8; 512];
    let n = req
        .sign_to_slice(&oauth, &secrets, &mut out)
        .or_fail("sign_to_slice")?;
    let header = out
        .get(..n)
        .and_then(|b| core::str::from_utf8(b).ok())
        .or_fail("header is UTF-8")?;
    // Key "a%26b&" encoded once more for the header.
    ensure!(
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
    let req = SignedRequest::<4>::parse(parts, Endpoint::TemporaryCredentials, policy)
        .or_fail("SignedRequest::parse")?;
    let mut nonces = MemoryNonceStore::<1>::new();
    ensure_eq!(req.verify(&secrets, UnixTime(0), &mut nonces), Ok(()));
    ensure_eq!(
        req.verify(&Secrets::new("a&c", ""), UnixTime(0), &mut nonces),
        Err(Problem::SignatureInvalid)
    );
    ensure_eq!(
        SignedRequest::<4>::parse(parts, Endpoint::TemporaryCredentials, Policy::default()).err(),
        Some(Problem::SignatureMethodRejected),
        "PLAINTEXT is off by default"
    );
    Ok(())
}

/// Bytes from hex digits.
fn hex<const N: usize>(s: &str) -> Result<heapless::Vec<u8, N>, Failure> {
    let mut out = heapless::Vec::new();
    for pair in s.as_bytes().chunks(2) {
        let digits = core::str::from_utf8(pair).or_fail("hex digits")?;
        let byte = u8::from_str_radix(digits, 16).or_fail("hex digits")?;
        out.push(byte).or_fail("hex length")?;
    }
    Ok(out)
}

/// Hex digits of a digest.
fn to_hex(bytes: &[u8]) -> Result<heapless::String<64>, Failure> {
    let mut s = heapless::String::new();
    for b in bytes {
        write!(s, "{b:02x}").or_fail("hex length")?;
    }
    Ok(s)
}

fn hmac_cases(method: SignatureMethod, cases: &[(&[u8], &[u8], &str)]) -> Result<(), Failure> {
    for (i, &(key, data, want)) in cases.iter().enumerate() {
        let got = hmac_raw(method, key, data).or_fail("an HMAC method")?;
        ensure_eq!(
            to_hex(got.as_bytes())?,
            want,
            "{method} case {} (key {} bytes, data {} bytes)",
            i.saturating_add(1),
            key.len(),
            data.len()
        );
    }
    Ok(())
}

/// RFC 2202 §3 (HMAC-SHA1), all seven cases.
fn rfc2202_hmac_sha1() -> Result<(), Failure> {
    let key4 = hex::<25>("0102030405060708090a0b0c0d0e0f10111213141516171819")?;
    hmac_cases(
        SignatureMethod::HmacSha1,
        &[
            (
                &[0x0b; 20],
                b"Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
            ),
            (
                &key4,
                &[0xcd; 50],
                "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
            ),
            (
                &[0x0c; 20],
                b"Test With Truncation",
                "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112",
            ),
            (
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
                "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
            ),
        ],
    )
}

/// RFC 4231 §4 (HMAC-SHA256), cases 1–4, 6 and 7 (case 5 is truncated).
fn rfc4231_hmac_sha256() -> Result<(), Failure> {
    let key4 = hex::<25>("0102030405060708090a0b0c0d0e0f10111213141516171819")?;
    hmac_cases(
        SignatureMethod::HmacSha256,
        &[
            (
                &[0x0b; 20],
                b"Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
            ),
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 20],
                &[0xdd; 50],
                "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
            ),
            (
                &key4,
                &[0xcd; 50],
                "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
            (
                &[0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.",
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ],
    )
}
