//! Structured: whatever the client signs, the provider verifies; and the
//! verification fails once the secret, method or a parameter changes.
#![no_main]
use arbitrary::Arbitrary;
use latch_core::UnixTime;
use latch_core::oauth1::{
    Endpoint, MemoryNonceStore, Policy, Problem, ProtocolParams, Request, RequestParts, Secrets,
    SignatureMethod, SignedRequest,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    path: &'a str,
    query: &'a [u8],
    body: Vec<(&'a str, &'a str)>,
    consumer_key: &'a str,
    consumer_secret: &'a str,
    token: &'a str,
    token_secret: &'a str,
    nonce: &'a str,
    timestamp: u64,
    method: u8,
    realm: Option<&'a str>,
}

fn body_of(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        let mut buf = vec![0u8; 3 * s.len()];
        let n = latch_core::percent::encode_to_slice(s.as_bytes(), &mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fuzz_target!(|i: Input<'_>| {
    if i.nonce.is_empty() || i.consumer_key.is_empty() {
        return;
    }
    let sm = match i.method % 3 {
        0 => SignatureMethod::HmacSha1,
        1 => SignatureMethod::HmacSha256,
        _ => SignatureMethod::Plaintext,
    };
    let url = match std::str::from_utf8(i.query) {
        Ok(q) if !q.contains('#') => {
            format!("https://example.com/{}?{q}", i.path.replace(['?', '#'], ""))
        }
        _ => return,
    };
    let body = body_of(&i.body);
    let Ok(mut req) = Request::<32>::new("POST", &url) else {
        return;
    };
    if req.form_body(body.as_bytes()).is_err() {
        return;
    }
    let oauth = ProtocolParams {
        realm: i.realm,
        token: Some(i.token),
        timestamp: Some(i.timestamp),
        nonce: Some(i.nonce),
        ..ProtocolParams::new(i.consumer_key, sm)
    };
    let secrets = Secrets::new(i.consumer_secret, i.token_secret);
    let mut out = vec![0u8; 64 * 1024];
    let Ok(n) = req.sign_to_slice(&oauth, &secrets, &mut out) else {
        return;
    };
    let header = std::str::from_utf8(&out[..n]).unwrap();
    let parts = RequestParts {
        method: "POST",
        url: &url,
        authorization: Some(header),
        form_body: Some(body.as_bytes()),
    };
    let policy = Policy {
        allow_plaintext: true,
        ..Policy::default()
    };
    let signed = match SignedRequest::<32>::parse(parts, Endpoint::ProtectedResource, policy) {
        Ok(s) => s,
        // Query parameters named oauth_* make the request carry protocol
        // parameters in two places, which the provider must refuse.
        Err(Problem::ParameterRejected { .. }) => return,
        Err(e) => panic!("own signature refused at parse: {e:?}\n{header}"),
    };
    let now = UnixTime(i.timestamp);
    let mut nonces = MemoryNonceStore::<2>::new();
    assert_eq!(
        signed.verify(&secrets, now, &mut nonces),
        Ok(()),
        "{header}"
    );
    assert_eq!(
        signed.verify(&secrets, now, &mut nonces),
        Err(Problem::NonceUsed)
    );
    let wrong = format!("{}x", i.consumer_secret);
    let mut fresh = MemoryNonceStore::<2>::new();
    assert_eq!(
        signed.verify(&Secrets::new(&wrong, i.token_secret), now, &mut fresh),
        Err(Problem::SignatureInvalid)
    );
    let parts = RequestParts {
        method: "PUT",
        ..parts
    };
    if let Ok(s) = SignedRequest::<32>::parse(parts, Endpoint::ProtectedResource, policy) {
        if sm != SignatureMethod::Plaintext {
            assert_eq!(
                s.verify(&secrets, now, &mut fresh),
                Err(Problem::SignatureInvalid)
            );
        }
    }
});
