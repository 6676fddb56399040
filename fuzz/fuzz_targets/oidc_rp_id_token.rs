//! The relying party's id_token check (`latch_core::oidc::rp`, OpenID
//! Connect Core §3.1.3.7) on arbitrary input, two ways:
//!
//! * the bytes as a token response body: `id_token_in` never panics, and
//!   what it finds is a substring of the body; that, parsed and checked
//!   against a one-key JWK Set, never panics;
//! * the bytes as an id_token's claims, signed with the set's key (so the
//!   signature holds and every claims rule is reached): the check never
//!   panics, and when it accepts, the claims say what the rules require —
//!   read back by a second, independent scan of the same JSON: `iss` is
//!   the issuer, `nonce` the sent one, `sub` not empty, `exp` not passed.
//!   Flipping one byte of an accepted token makes it fail.
#![no_main]
use latch_core::UnixTime;
use latch_core::jose::{Alg, Ed25519Key, Jwk, JwkSet, JwsHeader, PublicKey, sign_compact};
use latch_core::oidc::rp::{IdTokenExpected, ReceivedIdToken, id_token_in};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const ISS: &str = "https://op.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const NOW: u64 = 1_700_000_000;

static KEY: LazyLock<Ed25519Key> = LazyLock::new(|| Ed25519Key::from_seed(&[0x42; 32]));
static JWKS: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let jwk = Jwk::new(PublicKey::Okp {
        x: KEY.public().to_bytes(),
    })
    .with_kid("k");
    let mut out = vec![0u8; 512];
    let n = latch_core::jose::render_jwk_set(&[jwk], &mut out).unwrap();
    out.truncate(n);
    out
});

fn expected() -> IdTokenExpected<'static> {
    IdTokenExpected {
        issuer: ISS,
        client_id: "app",
        nonce: NONCE,
        algs: &[Alg::EdDsa, Alg::Es256],
        now: UnixTime(NOW),
        leeway: 30,
        access_token: Some("at"),
    }
}

/// `Ok(sub)` or the check's error.
fn run(token: &[u8]) -> Result<String, latch_core::oidc::IdTokenError> {
    let set = JwkSet::<2>::parse(&JWKS).unwrap();
    let t = ReceivedIdToken::parse(token, expected().algs)?;
    let key = t.key(&set)?;
    let verifier = key.verifier().unwrap();
    let mut buf = vec![0u8; t.payload_len()];
    let valid = t.validate(&verifier, &expected(), &mut buf)?;
    Ok(valid.sub.raw().to_owned())
}

/// The string value of member `name` if written plainly (`"name":"value"`
/// with no escapes) exactly once in the text: an independent, crude
/// reader (a name at two depths is skipped).
fn plain_member<'a>(json: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":");
    if json.matches(&key).count() != 1 {
        return None;
    }
    let at = json.find(&format!("{key}\""))? + name.len() + 4;
    let rest = json.get(at..)?;
    rest.get(..rest.find('"')?)
}

fn check(data: &[u8]) {
    if let Ok(Some(token)) = id_token_in(data) {
        assert!(data.windows(token.len()).any(|w| w == token));
        let _ = run(token);
    }
    let mut out = vec![0u8; 16 * 1024];
    let header = JwsHeader {
        alg: Alg::EdDsa,
        kid: Some("k"),
        typ: None,
    };
    let Ok(n) = sign_compact(&header, data, &mut KEY.clone(), &mut out) else {
        return;
    };
    let token = &out[..n];
    let Ok(sub) = run(token) else {
        return;
    };
    assert!(!sub.is_empty());
    if let Ok(text) = std::str::from_utf8(data)
        && !text.contains('\\')
    {
        if let Some(iss) = plain_member(text, "iss") {
            assert_eq!(iss, ISS);
        }
        if let Some(nonce) = plain_member(text, "nonce") {
            assert_eq!(nonce, NONCE);
        }
    }
    for i in [0, n / 2, n - 1] {
        let mut bad = token.to_vec();
        bad[i] ^= 0x01;
        assert!(run(&bad).is_err(), "byte {i} changed and it still passes");
    }
}

fuzz_target!(|data: &[u8]| check(data));
