//! The JOSE RFCs' own examples, end to end: RFC 7515 Appendix A.3
//! (ES256), RFC 6979 Appendix A.2.5 (the deterministic P-256 signatures
//! `p256` makes), RFC 8037 Appendix A.2–A.5 (Ed25519 keys, thumbprint,
//! signing and verification), RFC 7638 §3.1 (RSA thumbprint), RFC 7517
//! Appendix A.1 (a JWK Set), and RFC 7519 §3.1's claims.
//!
//! `no_std` checks (see [`crate::selftest`]): `cargo test` runs each as its
//! own test, and `mcu-tests/` runs the same list on an emulated Cortex-M.

#![allow(
    clippy::result_large_err,
    reason = "a Failure carries its description inline (no heap); only the failing path moves it"
)]

use super::*;
use crate::selftest::{Failure, OrFail, declare_checks, ensure, ensure_eq, fail};
use crate::time::UnixTime;

declare_checks! {
    rfc7515_a3_es256_verifies,
    rfc7515_a3_es256_sign_round_trip,
    rfc6979_a2_5_p256_sha256,
    rfc8037_a4_ed25519_signing,
    rfc8037_a5_ed25519_verification,
    rfc8037_a3_okp_thumbprint,
    rfc7638_3_1_rsa_thumbprint,
    rfc7517_a1_jwk_set,
    rfc7519_claims_of_rfc7515_a3,
}

/// RFC 7515 Appendix A.3.1: the EC key and the JWS.
const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
const A3_D: &str = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
const A3_JWS: &str = concat!(
    "eyJhbGciOiJFUzI1NiJ9",
    ".",
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt",
    "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ",
    ".",
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA",
    "pmWQxfKTUJqPP3-Kg6NU1Q",
);
/// RFC 7515 Appendix A.1.1's payload (A.3 signs the same).
const A1_PAYLOAD: &[u8] =
    b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

/// RFC 8037 Appendix A.1/A.2: the Ed25519 key.
const ED_D: &str = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
/// RFC 8037 Appendix A.4: the payload and the whole JWS.
const ED_PAYLOAD: &[u8] = b"Example of Ed25519 signing";
const ED_JWS: &str = concat!(
    "eyJhbGciOiJFZERTQSJ9",
    ".",
    "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc",
    ".",
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
);

/// RFC 7517 Appendix A.1's RSA modulus, which is also RFC 7638 §3.1's.
const RSA_N: &str = concat!(
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs",
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5h",
    "ajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
);

/// Base64url text of exactly `N` bytes.
#[track_caller]
fn bytes<const N: usize>(text: &str) -> Result<[u8; N], Failure> {
    b64::decode_array(text.as_bytes()).or_fail("base64url constant")
}

/// Hex text of exactly `N` bytes.
#[track_caller]
fn hex<const N: usize>(text: &str) -> Result<[u8; N], Failure> {
    let mut out = [0u8; N];
    let digits = text.as_bytes();
    ensure_eq!(digits.len(), N.saturating_mul(2), "hex constant length");
    for (o, pair) in out.iter_mut().zip(digits.chunks(2)) {
        let s = core::str::from_utf8(pair).or_fail("hex constant")?;
        *o = u8::from_str_radix(s, 16).or_fail("hex constant")?;
    }
    Ok(out)
}

/// `text` with the byte at `at` replaced by another base64url character.
fn flipped<const N: usize>(text: &str, at: usize) -> Result<heapless::Vec<u8, N>, Failure> {
    let mut v = heapless::Vec::<u8, N>::from_slice(text.as_bytes()).or_fail("copy")?;
    let b = v.get_mut(at).or_fail("index")?;
    *b = if *b == b'A' { b'B' } else { b'A' };
    Ok(v)
}

/// RFC 7515 Appendix A.3.2: the example JWS verifies with the example
/// public key; altering the header, payload or signature makes it fail.
fn rfc7515_a3_es256_verifies() -> Result<(), Failure> {
    let key = Es256PublicKey::from_xy(&bytes(A3_X)?, &bytes(A3_Y)?).or_fail("A.3 key")?;
    let jws = Jws::parse(A3_JWS.as_bytes()).or_fail("Jws::parse")?;
    ensure_eq!(jws.alg(), Alg::Es256);
    ensure!(jws.header().kid().is_none() && jws.header().typ().is_none());
    jws.verify(&key).or_fail("verify")?;
    let mut buf = [0u8; 128];
    ensure_eq!(jws.decode_payload(&mut buf).or_fail("payload")?, A1_PAYLOAD);
    // The key must also be refused for another algorithm.
    ensure_eq!(
        key.verify(Alg::EdDsa, jws.signing_input(), &[0; 64]),
        Err(JoseError::KeyMismatch)
    );
    // One character changed in each part: the signature no longer
    // verifies (or the token no longer parses).
    let sig_at = A3_JWS.rfind('.').or_fail("two dots")?;
    for at in [
        5,
        40,
        sig_at.saturating_add(3),
        A3_JWS.len().saturating_sub(2),
    ] {
        let bad = flipped::<256>(A3_JWS, at)?;
        let outcome = Jws::parse(&bad).and_then(|j| j.verify(&key));
        ensure!(outcome.is_err(), "flipped byte {at} still verifies");
    }
    let bad = flipped::<256>(A3_JWS, sig_at.saturating_add(3))?;
    ensure_eq!(
        Jws::parse(&bad).and_then(|j| j.verify(&key)),
        Err(JoseError::BadSignature)
    );
    Ok(())
}

/// RFC 7515 Appendix A.3.1 from the signing side: the private key gives
/// the example's public key, and signing the example's header and payload
/// gives the same first two parts and a signature the public key accepts.
/// (The RFC's own signature used a random nonce; `p256` uses RFC 6979, so
/// ours is reproducible instead: signing again gives the same bytes.)
fn rfc7515_a3_es256_sign_round_trip() -> Result<(), Failure> {
    let mut key = Es256Key::from_bytes(&bytes(A3_D)?).or_fail("A.3 private key")?;
    let public = key.public();
    ensure_eq!(*public.x(), bytes::<32>(A3_X)?);
    ensure_eq!(*public.y(), bytes::<32>(A3_Y)?);
    let mut out = [0u8; 256];
    let n = sign_compact(&JwsHeader::new(Alg::Es256), A1_PAYLOAD, &mut key, &mut out)
        .or_fail("sign_compact")?;
    let token = out.get(..n).or_fail("token")?;
    let sig_at = A3_JWS.rfind('.').or_fail("two dots")?;
    ensure_eq!(token.get(..=sig_at), A3_JWS.as_bytes().get(..=sig_at));
    ensure!(
        token != A3_JWS.as_bytes(),
        "the RFC's signature was randomized"
    );
    let jws = Jws::parse(token).or_fail("Jws::parse")?;
    jws.verify(&public).or_fail("verify our signature")?;
    let mut again = [0u8; 256];
    let m = sign_compact(
        &JwsHeader::new(Alg::Es256),
        A1_PAYLOAD,
        &mut key,
        &mut again,
    )
    .or_fail("sign_compact again")?;
    ensure_eq!(again.get(..m), Some(token), "RFC 6979 is deterministic");
    Ok(())
}

/// RFC 6979 Appendix A.2.5: P-256 with SHA-256, messages "sample" and
/// "test" — the exact `r‖s` an [`Es256Key`] produces.
fn rfc6979_a2_5_p256_sha256() -> Result<(), Failure> {
    let key = Es256Key::from_bytes(&hex(
        "C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721",
    )?)
    .or_fail("private key")?;
    let public = key.public();
    ensure_eq!(
        *public.x(),
        hex::<32>("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6")?
    );
    ensure_eq!(
        *public.y(),
        hex::<32>("7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299")?
    );
    for (msg, rs) in [
        (
            &b"sample"[..],
            "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716\
             F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
        ),
        (
            b"test",
            "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367\
             019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
        ),
    ] {
        let want = hex::<64>(rs)?;
        ensure_eq!(key.sign_bytes(msg), want);
        public
            .verify(Alg::Es256, msg, &want)
            .or_fail("verify RFC 6979 signature")?;
    }
    Ok(())
}

/// RFC 8037 Appendix A.4: signing "Example of Ed25519 signing" with the
/// A.1 key under `{"alg":"EdDSA"}` gives the RFC's JWS byte for byte.
fn rfc8037_a4_ed25519_signing() -> Result<(), Failure> {
    let mut key = Ed25519Key::from_seed(&bytes(ED_D)?);
    ensure_eq!(
        key.public().to_bytes(),
        bytes::<32>(ED_X)?,
        "A.2 public key"
    );
    let mut out = [0u8; 256];
    let n = sign_compact(&JwsHeader::new(Alg::EdDsa), ED_PAYLOAD, &mut key, &mut out)
        .or_fail("sign_compact")?;
    let token = core::str::from_utf8(out.get(..n).or_fail("token")?).or_fail("UTF-8")?;
    ensure_eq!(token, ED_JWS);
    Ok(())
}

/// RFC 8037 Appendix A.5: the A.4 JWS verifies with the A.2 public key;
/// a changed payload or signature does not.
fn rfc8037_a5_ed25519_verification() -> Result<(), Failure> {
    let key = Ed25519PublicKey::from_bytes(&bytes(ED_X)?).or_fail("A.2 key")?;
    let jws = Jws::parse(ED_JWS.as_bytes()).or_fail("Jws::parse")?;
    ensure_eq!(jws.alg(), Alg::EdDsa);
    jws.verify(&key).or_fail("verify")?;
    let mut buf = [0u8; 32];
    ensure_eq!(jws.decode_payload(&mut buf).or_fail("payload")?, ED_PAYLOAD);
    ensure_eq!(
        jws.verify(&Es256Key::from_bytes(&[1; 32]).or_fail("key")?.public()),
        Err(JoseError::KeyMismatch)
    );
    let sig_at = ED_JWS.rfind('.').or_fail("two dots")?;
    for at in [22, 30, sig_at.saturating_add(1), sig_at.saturating_add(40)] {
        let bad = flipped::<256>(ED_JWS, at)?;
        ensure_eq!(
            Jws::parse(&bad).and_then(|j| j.verify(&key)),
            Err(JoseError::BadSignature),
            "flipped byte {}",
            at
        );
    }
    Ok(())
}

/// RFC 8037 Appendix A.2 and A.3: the public JWK parses, and its RFC 7638
/// thumbprint is the RFC's, as bytes and as base64url.
fn rfc8037_a3_okp_thumbprint() -> Result<(), Failure> {
    const A2: &str =
        r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    let want = hex::<32>("90facafea9b1556698540f70c0117a22ea37bd5cf3ed3c47093c1707282b4b89")?;
    let parsed = ParsedJwk::parse(A2.as_bytes()).or_fail("ParsedJwk::parse")?;
    ensure_eq!(parsed.key, ParsedKey::Okp { x: bytes(ED_X)? });
    ensure_eq!(parsed.thumbprint(), want);
    let jwk = Jwk::new(Ed25519Key::from_seed(&bytes(ED_D)?).public().into());
    ensure_eq!(jwk.thumbprint(), want);
    ensure_eq!(
        jwk.thumbprint_b64().as_str(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    // kid, alg and use are not part of it.
    let with_kid = Jwk {
        use_sig: false,
        alg: None,
        ..jwk.with_kid("x")
    };
    ensure_eq!(with_kid.thumbprint(), want);
    Ok(())
}

/// RFC 7638 §3.1: the example RSA key's thumbprint, from the parsed text
/// and from the decoded bytes.
fn rfc7638_3_1_rsa_thumbprint() -> Result<(), Failure> {
    const WANT: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    let json = crate::selftest::text::<512>(format_args!(
        r#"{{"kty":"RSA","n":"{RSA_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#
    ))?;
    let parsed = ParsedJwk::parse(json.as_bytes()).or_fail("ParsedJwk::parse")?;
    ensure_eq!(parsed.thumbprint_b64().as_str(), WANT);
    let mut scratch = [0u8; 300];
    let jwk = parsed.to_jwk(&mut scratch).or_fail("to_jwk")?;
    let PublicKey::Rsa { n, e } = jwk.key else {
        fail!("not RSA: {:?}", jwk.key);
    };
    ensure_eq!((n.len(), e), (256, &[1u8, 0, 1][..]));
    ensure_eq!(jwk.thumbprint_b64().as_str(), WANT);
    ensure_eq!(jwk.kid, Some("2011-04-29"));
    ensure_eq!(parsed.verifier().err(), Some(JoseError::UnsupportedAlg));
    Ok(())
}

/// RFC 7517 Appendix A.1: the example JWK Set parses into its EC and RSA
/// keys with their kids; rendering them and parsing again gives the same
/// keys.
fn rfc7517_a1_jwk_set() -> Result<(), Failure> {
    let json = crate::selftest::text::<768>(format_args!(
        "{{\"keys\":\n  [\n    {{\"kty\":\"EC\",\n     \"crv\":\"P-256\",\n     \
         \"x\":\"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\n     \
         \"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM\",\n     \
         \"use\":\"enc\",\n     \"kid\":\"1\"}},\n\n    \
         {{\"kty\":\"RSA\",\n     \"n\": \"{RSA_N}\",\n     \"e\":\"AQAB\",\n     \
         \"alg\":\"RS256\",\n     \"kid\":\"2011-04-29\"}}\n  ]\n}}"
    ))?;
    let set = JwkSet::<4>::parse(json.as_bytes()).or_fail("JwkSet::parse")?;
    ensure_eq!((set.keys().len(), set.skipped()), (2, 0));
    let ec = set.find("1").or_fail("kid 1")?;
    ensure!(matches!(ec.key, ParsedKey::Ec { .. }));
    ensure!(ec.key_use.is_some_and(|u| u.eq_str("enc")) && !ec.usable_for_signatures());
    ensure_eq!(ec.alg, None);
    ensure!(
        matches!(ec.verifier(), Ok(KeyVerifier::Es256(_))),
        "on the curve"
    );
    let rsa = set.find("2011-04-29").or_fail("kid 2011-04-29")?;
    ensure!(matches!(rsa.key, ParsedKey::Rsa { .. }));
    ensure_eq!(rsa.alg, Some(Alg::Rs256));

    // Render what was parsed, parse it again.
    let mut ec_scratch = [0u8; 8];
    let mut rsa_scratch = [0u8; 300];
    let keys = [
        ec.to_jwk(&mut ec_scratch).or_fail("EC to_jwk")?,
        rsa.to_jwk(&mut rsa_scratch).or_fail("RSA to_jwk")?,
    ];
    let mut out = [0u8; 1024];
    let n = render_jwk_set(&keys, &mut out).or_fail("render_jwk_set")?;
    let again = JwkSet::<4>::parse(out.get(..n).or_fail("rendered")?).or_fail("parse again")?;
    ensure_eq!(again.keys().len(), 2);
    for (first, second) in set.keys().iter().zip(again.keys()) {
        ensure_eq!(first.key, second.key);
        ensure_eq!(first.alg, second.alg);
        ensure_eq!(first.thumbprint(), second.thumbprint());
        let (a, b) = (first.kid.or_fail("kid")?, second.kid.or_fail("kid")?);
        ensure!(a.same_text(&b), "{:?} vs {:?}", a, b);
    }
    Ok(())
}

/// RFC 7519 §3.1 / RFC 7515 A.1's claims: `iss` "joe", `exp` 1300819380,
/// read from the verified A.3 token and checked either side of `exp`.
fn rfc7519_claims_of_rfc7515_a3() -> Result<(), Failure> {
    let key = Es256PublicKey::from_xy(&bytes(A3_X)?, &bytes(A3_Y)?).or_fail("A.3 key")?;
    let jws = Jws::parse(A3_JWS.as_bytes()).or_fail("Jws::parse")?;
    jws.verify(&key).or_fail("verify")?;
    let mut buf = [0u8; 128];
    let claims = RegisteredClaims::parse(jws.decode_payload(&mut buf).or_fail("payload")?)
        .or_fail("claims")?;
    ensure!(claims.iss.is_some_and(|i| i.eq_str("joe")));
    ensure_eq!(claims.exp, Some(1_300_819_380));
    let at = |now: u64| Validation {
        issuer: Some("joe"),
        ..Validation::new(UnixTime(now))
    };
    ensure_eq!(claims.validate(&at(1_300_819_379)), Ok(()));
    ensure_eq!(
        claims.validate(&at(1_300_819_380)),
        Err(ClaimsError::Expired)
    );
    ensure_eq!(
        claims.validate(&Validation {
            issuer: Some("jane"),
            ..at(0)
        }),
        Err(ClaimsError::Issuer)
    );
    ensure_eq!(
        claims.validate(&Validation {
            audience: Some("x"),
            ..at(0)
        }),
        Err(ClaimsError::Missing("aud"))
    );
    Ok(())
}
