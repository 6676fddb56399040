//! Properties of `latch_core::jose`: arbitrary bytes never panic a parser;
//! everything signed or rendered parses back to what went in; changing
//! any byte of a signed token makes it fail; claims checks agree with a
//! plain model of RFC 7519 §4.1.4–4.1.6.

use latch_core::UnixTime;
use latch_core::jose::{
    Alg, ClaimsError, Ed25519Key, Es256Key, JoseError, Jwk, JwkSet, Jws, JwsHeader, ParsedJwk,
    PublicKey, RegisteredClaims, Signer, Validation, Verifier, render_jwk_set, sign_compact,
};
use proptest::prelude::*;

/// Strings that stress JSON escaping.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._~:/?#=&+-]{0,24}",
        "[\"\\\\/\\x00-\\x1f\\x7f]{0,8}",
        "\\PC{0,12}",
        Just("\u{1F600}\u{3001}é".to_owned()),
    ]
}

/// A distinct valid P-256 scalar per seed (below the group order, not
/// zero).
fn es_key(seed: u8) -> Es256Key {
    let mut d = [seed; 32];
    d[0] &= 0x7F;
    d[31] |= 1;
    Es256Key::from_bytes(&d).unwrap()
}

fn ed_key(seed: u8) -> Ed25519Key {
    Ed25519Key::from_seed(&[seed; 32])
}

/// Either algorithm's key, signing and verifying.
enum Key {
    Es(Es256Key),
    Ed(Ed25519Key),
}

impl Key {
    fn signer(&mut self) -> &mut dyn Signer {
        match self {
            Key::Es(k) => k,
            Key::Ed(k) => k,
        }
    }

    fn verify(&self, jws: &Jws<'_>) -> Result<(), JoseError> {
        match self {
            Key::Es(k) => jws.verify(&k.public()),
            Key::Ed(k) => jws.verify(&k.public()),
        }
    }
}

fn key(es: bool, seed: u8) -> Key {
    if es {
        Key::Es(es_key(seed))
    } else {
        Key::Ed(ed_key(seed))
    }
}

fn sign(
    key: &mut Key,
    kid: Option<&str>,
    typ: Option<&str>,
    payload: &[u8],
) -> Result<Vec<u8>, JoseError> {
    let signer = key.signer();
    let header = JwsHeader {
        alg: signer.alg(),
        kid,
        typ,
    };
    let mut out = vec![0u8; 4 * payload.len() / 3 + 1024];
    let n = sign_compact(&header, payload, signer, &mut out)?;
    out.truncate(n);
    Ok(out)
}

fn b64(bytes: &[u8]) -> String {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let mut buf = vec![0u8; bytes.len() * 2 + 4];
    Base64UrlUnpadded::encode(bytes, &mut buf)
        .unwrap()
        .to_owned()
}

/// Exercises everything a parsed JWS offers.
fn poke(jws: &Jws<'_>) {
    let h = jws.header();
    for s in [h.kid(), h.typ()].into_iter().flatten() {
        let mut buf = vec![0u8; s.raw().len()];
        let decoded = s.decode(&mut buf).unwrap();
        assert!(s.eq_str(decoded));
    }
    let _ = h.typ_is("JWT");
    let mut payload = vec![0u8; jws.payload_len()];
    assert_eq!(
        jws.decode_payload(&mut payload).unwrap().len(),
        jws.payload_len()
    );
    let _ = RegisteredClaims::parse(&payload);
    assert!(jws.verify(&es_key(1).public()).is_err());
    let _ = format!("{jws:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(jws) = Jws::parse(&bytes) {
            poke(&jws);
        }
        if let Ok(k) = ParsedJwk::parse(&bytes) {
            let mut scratch = vec![0u8; k.scratch_len()];
            let _ = k.to_jwk(&mut scratch);
            let _ = k.verifier();
            let _ = k.thumbprint();
        }
        let _ = JwkSet::<8>::parse(&bytes);
        let _ = RegisteredClaims::parse(&bytes);
    }

    #[test]
    fn arbitrary_headers_in_the_compact_form_never_panic(
        header in "\\{(\"(alg|kid|typ|crit|x)\":(\"ES256\"|\"EdDSA\"|\"[A-Za-z0-9\\\\]{0,8}\"|null|1|\\[\\]|\\{\\}),?){0,4}\\}",
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        sig in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(&payload), b64(&sig));
        match Jws::parse(token.as_bytes()) {
            Ok(jws) => {
                poke(&jws);
                prop_assert!(!header.contains("\"crit\""));
                prop_assert!(!sig.is_empty());
            }
            Err(e) => prop_assert!(matches!(
                e,
                JoseError::Malformed | JoseError::UnsupportedAlg | JoseError::UnsupportedCritical
            ), "{e:?}"),
        }
    }

    #[test]
    fn sign_parse_verify_round_trips(
        es in any::<bool>(),
        seed in any::<u8>(),
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        kid in proptest::option::of(tricky()),
        typ in proptest::option::of(tricky()),
    ) {
        let mut k = key(es, seed);
        let token = sign(&mut k, kid.as_deref(), typ.as_deref(), &payload).unwrap();
        let jws = Jws::parse(&token).unwrap();
        prop_assert_eq!(k.verify(&jws), Ok(()));
        let h = jws.header();
        prop_assert_eq!(h.alg(), if es { Alg::Es256 } else { Alg::EdDsa });
        prop_assert_eq!(h.kid().map(|s| s.to_heapless::<256>().unwrap().to_string()), kid);
        prop_assert_eq!(h.typ().map(|s| s.to_heapless::<256>().unwrap().to_string()), typ);
        let mut buf = vec![0u8; jws.payload_len()];
        prop_assert_eq!(jws.decode_payload(&mut buf).unwrap(), &payload[..]);
        // Another key of the same algorithm refuses it.
        let other = key(es, seed.wrapping_add(1));
        prop_assert_eq!(other.verify(&jws), Err(JoseError::BadSignature));
    }

    #[test]
    fn tampering_any_byte_fails(
        es in any::<bool>(),
        payload in proptest::collection::vec(any::<u8>(), 0..120),
        at in any::<prop::sample::Index>(),
        to in any::<u8>(),
    ) {
        let mut k = key(es, 3);
        let token = sign(&mut k, Some("kid"), None, &payload).unwrap();
        let i = at.index(token.len());
        prop_assume!(token[i] != to);
        let mut bad = token.clone();
        bad[i] = to;
        let outcome = Jws::parse(&bad).and_then(|jws| k.verify(&jws));
        prop_assert!(outcome.is_err(), "byte {i} -> {to:#x} still verifies");
    }

    #[test]
    fn jwk_render_parse_round_trips(
        kind in 0u8..3,
        seed in any::<u8>(),
        n_tail in proptest::collection::vec(any::<u8>(), 255..512),
        n_top in 1u8..=255,
        kid in proptest::option::of(tricky()),
        use_sig in any::<bool>(),
        with_alg in any::<bool>(),
    ) {
        let mut n = vec![n_top];
        n.extend_from_slice(&n_tail);
        let key = match kind {
            0 => es_key(seed).public().into(),
            1 => ed_key(seed).public().into(),
            _ => PublicKey::Rsa { n: &n, e: &[1, 0, 1] },
        };
        let jwk = Jwk {
            kid: kid.as_deref(),
            use_sig,
            alg: with_alg.then_some(key.alg()),
            key,
        };
        let mut out = vec![0u8; 2048];
        let len = jwk.render(&mut out).unwrap();
        let parsed = ParsedJwk::parse(&out[..len]).unwrap();
        let mut scratch = vec![0u8; parsed.scratch_len()];
        prop_assert_eq!(parsed.to_jwk(&mut scratch).unwrap(), jwk);
        prop_assert_eq!(parsed.thumbprint(), jwk.thumbprint());
        prop_assert_eq!(parsed.verifier().is_ok(), kind < 2);
        let set = [jwk, jwk];
        let len = render_jwk_set(&set, &mut out).unwrap();
        let parsed = JwkSet::<2>::parse(&out[..len]).unwrap();
        prop_assert_eq!(parsed.keys().len(), 2);
    }

    #[test]
    fn claims_checks_match_the_model(
        exp in proptest::option::of(0u64..2000),
        nbf in proptest::option::of(0u64..2000),
        iat in proptest::option::of(0u64..2000),
        now in 0u64..2000,
        leeway in 0u64..100,
        require_exp in any::<bool>(),
        iss in prop_oneof![Just(None), Just(Some("joe")), Just(Some("jane"))],
        aud in prop_oneof![Just(None), Just(Some("\"c\"")), Just(Some("[\"a\",\"c\"]")), Just(Some("[\"a\"]"))],
    ) {
        let mut members = Vec::new();
        if let Some(i) = iss { members.push(format!("\"iss\":\"{i}\"")); }
        if let Some(a) = aud { members.push(format!("\"aud\":{a}")); }
        for (name, v) in [("exp", exp), ("nbf", nbf), ("iat", iat)] {
            if let Some(v) = v { members.push(format!("\"{name}\":{v}")); }
        }
        let json = format!("{{{}}}", members.join(","));
        let claims = RegisteredClaims::parse(json.as_bytes()).unwrap();
        let v = Validation {
            issuer: Some("joe"),
            audience: Some("c"),
            leeway,
            now: UnixTime(now),
            require_exp,
        };
        let model = if iss.is_none() {
            Err(ClaimsError::Missing("iss"))
        } else if iss != Some("joe") {
            Err(ClaimsError::Issuer)
        } else if aud.is_none() {
            Err(ClaimsError::Missing("aud"))
        } else if !aud.is_some_and(|a| a.contains("\"c\"")) {
            Err(ClaimsError::Audience)
        } else if exp.is_some_and(|e| now >= e + leeway) {
            Err(ClaimsError::Expired)
        } else if exp.is_none() && require_exp {
            Err(ClaimsError::Missing("exp"))
        } else if nbf.is_some_and(|n| now + leeway < n) {
            Err(ClaimsError::NotYetValid)
        } else if iat.is_some_and(|i| i > now + leeway) {
            Err(ClaimsError::IssuedInFuture)
        } else {
            Ok(())
        };
        prop_assert_eq!(claims.validate(&v), model, "{}", json);
    }
}

#[test]
fn a_verifier_is_told_the_algorithm() {
    // A token whose header says EdDSA cannot be checked with an ES256 key
    // even if the caller picks that key.
    let mut ed = key(false, 1);
    let token = sign(&mut ed, None, None, b"{}").unwrap();
    let jws = Jws::parse(&token).unwrap();
    assert_eq!(
        es_key(1)
            .public()
            .verify(jws.alg(), jws.signing_input(), &[0; 64]),
        Err(JoseError::KeyMismatch)
    );
}
