//! Provider-side verification over arbitrary requests: never panics; a
//! request that verifies with some secrets fails with any other secrets.
#![no_main]
use arbitrary::Arbitrary;
use latch_core::UnixTime;
use latch_core::oauth1::{
    Endpoint, MemoryNonceStore, Policy, Problem, RequestParts, Secrets, SignedRequest,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    method: &'a str,
    url: &'a str,
    authorization: Option<&'a str>,
    body: Option<&'a [u8]>,
    consumer_secret: &'a str,
    token_secret: &'a str,
    now: u64,
    endpoint: u8,
    plaintext: bool,
}

fuzz_target!(|i: Input<'_>| {
    let parts = RequestParts {
        method: i.method,
        url: i.url,
        authorization: i.authorization,
        form_body: i.body,
    };
    let endpoint = match i.endpoint % 3 {
        0 => Endpoint::TemporaryCredentials,
        1 => Endpoint::TokenCredentials,
        _ => Endpoint::ProtectedResource,
    };
    let policy = Policy {
        allow_plaintext: i.plaintext,
        ..Policy::default()
    };
    let Ok(req) = SignedRequest::<32>::parse(parts, endpoint, policy) else {
        return;
    };
    let secrets = Secrets::new(i.consumer_secret, i.token_secret);
    let mut nonces = MemoryNonceStore::<4>::new();
    if req.verify(&secrets, UnixTime(i.now), &mut nonces).is_ok() {
        let other = format!("{}x", i.token_secret);
        let mut fresh = MemoryNonceStore::<4>::new();
        assert_eq!(
            req.verify(
                &Secrets::new(i.consumer_secret, &other),
                UnixTime(i.now),
                &mut fresh
            ),
            Err(Problem::SignatureInvalid)
        );
    }
});
