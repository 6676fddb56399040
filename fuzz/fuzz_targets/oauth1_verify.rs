//! Provider-side verification over arbitrary requests: never panics; a
//! request that verifies with the RFC 5849 §1.2 secrets fails with any other
//! secret. Input: `METHOD\nURL\nAUTHORIZATION\nBODY` (missing parts absent);
//! the clock is set to the request's own timestamp so that signed seeds get
//! all the way through.
#![no_main]
use latch_core::UnixTime;
use latch_core::oauth1::{
    Endpoint, MemoryNonceStore, Policy, Problem, RequestParts, Secrets, SignedRequest,
};
use libfuzzer_sys::fuzz_target;

const SECRETS: Secrets<'static> = Secrets::new("kd94hf93k423kf44", "pfkkdhi9sl3r4s00");

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (Some(method), Some(url)) = (parts.next(), parts.next()) else {
        return;
    };
    let (Ok(method), Ok(url)) = (std::str::from_utf8(method), std::str::from_utf8(url)) else {
        return;
    };
    let authorization = parts
        .next()
        .and_then(|a| std::str::from_utf8(a).ok())
        .filter(|a| !a.is_empty());
    let body = parts.next();
    let rp = RequestParts {
        method,
        url,
        authorization,
        form_body: body,
    };
    for endpoint in [
        Endpoint::TemporaryCredentials,
        Endpoint::TokenCredentials,
        Endpoint::ProtectedResource,
    ] {
        let policy = Policy {
            allow_plaintext: true,
            ..Policy::default()
        };
        let Ok(req) = SignedRequest::<32>::parse(rp, endpoint, policy) else {
            continue;
        };
        let now = UnixTime(req.timestamp().unwrap_or(0));
        let mut nonces = MemoryNonceStore::<4>::new();
        for secrets in [SECRETS, Secrets::new("kd94hf93k423kf44", "")] {
            if req.verify(&secrets, now, &mut nonces).is_ok() {
                let other = format!("{}x", secrets.token_secret);
                let mut fresh = MemoryNonceStore::<4>::new();
                assert_eq!(
                    req.verify(
                        &Secrets::new(secrets.consumer_secret, &other),
                        now,
                        &mut fresh
                    ),
                    Err(Problem::SignatureInvalid)
                );
                // And the nonce is now spent.
                assert_eq!(
                    req.verify(&secrets, now, &mut nonces),
                    Err(Problem::NonceUsed)
                );
            }
        }
    }
});
