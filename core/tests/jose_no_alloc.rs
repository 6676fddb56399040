//! The JOSE paths make zero heap allocations: ES256 and EdDSA key
//! generation, signing and verification of a compact JWS, parsing, claims
//! validation, JWK Set rendering and parsing, thumbprints. A counting
//! global allocator, armed only on this thread while the closure runs
//! (as in `no_alloc.rs`).

// A global allocator cannot be written without `unsafe`; the crate itself
// forbids it.
#![allow(unsafe_code)]

use chacha20::ChaCha20Rng;
use latch_core::UnixTime;
use latch_core::jose::{
    Alg, Ed25519Key, Es256Key, JoseError, Jwk, JwkSet, Jws, JwsHeader, RegisteredClaims,
    Validation, render_jwk_set, sign_compact,
};
use rand_core::SeedableRng;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

const NOW: UnixTime = UnixTime(1_700_000_000);
const CLAIMS: &[u8] = br#"{"iss":"https://issuer.example","sub":"248289761001","aud":["s6BhdRkqt3","other"],"exp":1700000600,"iat":1700000000,"nonce":"n-0S6_WzA2Mj"}"#;

#[test]
fn counter_sees_allocations() {
    let (_, n) = allocations(|| std::hint::black_box(vec![1u8; 64]));
    assert!(n >= 1);
}

/// Generate, sign, parse, verify, read and check the claims: the whole
/// issuer and relying-party path for one algorithm.
fn round_trip(alg: Alg) -> Result<(), JoseError> {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut out = [0u8; 1024];
    let n = match alg {
        Alg::Es256 => {
            let mut key = Es256Key::generate(&mut rng)?;
            let header = JwsHeader {
                kid: Some("k1"),
                typ: Some("JWT"),
                ..JwsHeader::new(alg)
            };
            let n = sign_compact(&header, CLAIMS, &mut key, &mut out)?;
            Jws::parse(&out[..n])?.verify(&key.public())?;
            n
        }
        _ => {
            let mut key = Ed25519Key::generate(&mut rng)?;
            let n = sign_compact(&JwsHeader::new(alg), CLAIMS, &mut key, &mut out)?;
            Jws::parse(&out[..n])?.verify(&key.public())?;
            n
        }
    };
    let jws = Jws::parse(&out[..n])?;
    let mut payload = [0u8; 512];
    let claims = RegisteredClaims::parse(jws.decode_payload(&mut payload)?)?;
    claims.validate(&Validation {
        issuer: Some("https://issuer.example"),
        audience: Some("s6BhdRkqt3"),
        leeway: 30,
        ..Validation::new(NOW)
    })?;
    Ok(())
}

#[test]
fn es256_sign_parse_verify_validate_allocate_nothing() {
    let (r, n) = allocations(|| round_trip(Alg::Es256));
    assert_eq!(r, Ok(()));
    assert_eq!(n, 0, "ES256 allocated {n} times");
}

#[test]
fn eddsa_sign_parse_verify_validate_allocate_nothing() {
    let (r, n) = allocations(|| round_trip(Alg::EdDsa));
    assert_eq!(r, Ok(()));
    assert_eq!(n, 0, "EdDSA allocated {n} times");
}

#[test]
fn jwk_set_render_parse_select_allocate_nothing() {
    let es = Es256Key::from_bytes(&[5; 32]).unwrap().public();
    let ed = Ed25519Key::from_seed(&[6; 32]).public();
    let n_bytes = [0xC5u8; 256];
    let mut out = [0u8; 2048];
    let mut token = [0u8; 512];
    let mut signer = Ed25519Key::from_seed(&[6; 32]);
    let (r, n) = allocations(|| {
        let ed_jwk = Jwk::new(ed.into());
        let kid = ed_jwk.thumbprint_b64();
        let keys = [
            Jwk::new(es.into()).with_kid("es"),
            ed_jwk.with_kid(&kid),
            Jwk::new(latch_core::jose::PublicKey::Rsa {
                n: &n_bytes,
                e: &[1, 0, 1],
            })
            .with_kid("rsa"),
        ];
        let len = render_jwk_set(&keys, &mut out)?;
        let header = JwsHeader {
            kid: Some(&kid),
            ..JwsHeader::new(Alg::EdDsa)
        };
        let t = sign_compact(&header, b"{}", &mut signer, &mut token)?;
        let set = JwkSet::<4>::parse(&out[..len])?;
        let jws = Jws::parse(&token[..t])?;
        let key = set.select(&jws.header()).ok_or(JoseError::Malformed)?;
        jws.verify(&key.verifier()?)?;
        let mut scratch = [0u8; 300];
        let rsa = set.find("rsa").ok_or(JoseError::Malformed)?;
        let back = rsa.to_jwk(&mut scratch)?;
        assert_eq!(back.thumbprint(), keys[2].thumbprint());
        assert_eq!(rsa.thumbprint(), keys[2].thumbprint());
        Ok::<_, JoseError>(set.keys().len())
    });
    assert_eq!(r, Ok(3));
    assert_eq!(n, 0, "JWK Set paths allocated {n} times");
}
