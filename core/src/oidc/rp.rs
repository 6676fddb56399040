//! The relying party's check of an id_token from the token endpoint
//! (OpenID Connect Core 1.0 §3.1.3.7, and §3.1.3.8 for `at_hash`).
//!
//! Sans-IO, in the order the checks must happen, each state a type:
//!
//! 1. [`ReceivedIdToken::parse`]: the compact JWS (RFC 7515 §7.1), its
//!    `alg` one of the caller's allowed algorithms (step 7; `none` and
//!    HMAC never parse, see [`crate::jose`]).
//! 2. [`ReceivedIdToken::key`]: the provider's key for it from the JWK Set
//!    the caller fetched (by `kid`, fitting `alg`). [`IdTokenError::UnknownKey`]
//!    means "fetch the set again, once" — providers rotate keys — and, if
//!    the key is still unknown, refuse the token.
//! 3. [`ReceivedIdToken::validate`] with a verifier for that key (the
//!    core's for ES256 and EdDSA, [`crate::jose::ParsedJwk::verifier`];
//!    the shell's for RS256): the signature first (step 6) — nothing in an
//!    unsigned payload is read — then, from the payload decoded into the
//!    caller's buffer, `iss` exactly the issuer (step 2, which also stops
//!    a mix-up: a token of another provider names that provider), `aud`
//!    holding the `client_id` (step 3), `azp` (steps 4–5: required when
//!    `aud` has several values, and then the `client_id`), `exp` not
//!    passed and `iat` not in the future beyond the leeway (steps 9–10;
//!    both required, §2), `nonce` equal to the one this login sent (step
//!    11, compared in constant time; always required, since the consumer
//!    always sends one), `sub` present (§2), and `at_hash`, when present
//!    and the caller has the access token, matching it (§3.1.3.8).
//!
//! The result, [`ValidIdToken`], borrows `sub` from the caller's buffer.
//! The caller still compares it with the UserInfo `sub` (§5.3.2).

use super::id_token::at_hash;
use crate::jose::claims::Audience;
use crate::jose::{
    Alg, ClaimsError, JoseError, JsonStr, JwkSet, Jws, ParsedHeader, ParsedJwk, RegisteredClaims,
    Validation, Verifier,
};
use crate::json;
use crate::time::UnixTime;
use core::fmt;
use subtle::ConstantTimeEq;

/// The longest `nonce` compared (the consumer sends 43 characters).
pub const MAX_RP_NONCE: usize = 256;

/// What the relying party expects of the id_token.
#[derive(Clone, Copy)]
pub struct IdTokenExpected<'a> {
    /// The provider's issuer identifier, exactly as discovered.
    pub issuer: &'a str,
    /// This application's `client_id`.
    pub client_id: &'a str,
    /// The `nonce` this login sent in its authorization request.
    pub nonce: &'a str,
    /// The algorithms accepted (the client's registered
    /// `id_token_signed_response_alg`, or what the provider's metadata
    /// lists of [`Alg`]).
    pub algs: &'a [Alg],
    /// The current time.
    pub now: UnixTime,
    /// Seconds of allowance for clock skew on `exp` and `iat`.
    pub leeway: u64,
    /// The access token issued with it, to check `at_hash` against.
    pub access_token: Option<&'a str>,
}

impl fmt::Debug for IdTokenExpected<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdTokenExpected")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("algs", &self.algs)
            .field("now", &self.now)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

/// Why an id_token was refused; each names the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IdTokenError {
    /// Not a well-formed JWS, or claims of the wrong type.
    Malformed,
    /// `alg` is not one of [`IdTokenExpected::algs`] (or not an [`Alg`]).
    Alg,
    /// No key of the JWK Set fits the token's `kid` and `alg`: fetch the
    /// set again once; if it is still unknown, refuse.
    UnknownKey,
    /// The signature does not verify under the provider's key.
    Signature,
    /// `iss` is not the provider's issuer.
    Issuer,
    /// `aud` does not hold the `client_id`.
    Audience,
    /// `aud` has several values without `azp`, or `azp` is another client.
    AuthorizedParty,
    /// `exp` has passed.
    Expired,
    /// `iat` (or `nbf`) is in the future.
    NotYetValid,
    /// `nonce` is absent or not the one this login sent.
    Nonce,
    /// `at_hash` does not match the access token.
    AtHash,
    /// A claim the id_token must carry is absent: its name.
    Missing(&'static str),
    /// The payload buffer is too small: this many bytes are needed.
    BufferTooSmall(usize),
}

impl fmt::Display for IdTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdTokenError::Malformed => f.write_str("the id_token is malformed"),
            IdTokenError::Alg => {
                f.write_str("the id_token is signed with an algorithm not accepted")
            }
            IdTokenError::UnknownKey => {
                f.write_str("the id_token's signing key is not in the provider's JWK Set")
            }
            IdTokenError::Signature => f.write_str("the id_token's signature does not verify"),
            IdTokenError::Issuer => f.write_str("the id_token was issued by another provider"),
            IdTokenError::Audience => f.write_str("the id_token is not for this application"),
            IdTokenError::AuthorizedParty => {
                f.write_str("the id_token was issued to another party (azp)")
            }
            IdTokenError::Expired => f.write_str("the id_token has expired"),
            IdTokenError::NotYetValid => f.write_str("the id_token is not valid yet"),
            IdTokenError::Nonce => f.write_str("the id_token's nonce is not this login's"),
            IdTokenError::AtHash => f.write_str("the id_token's at_hash does not match"),
            IdTokenError::Missing(claim) => write!(f, "the id_token lacks {claim}"),
            IdTokenError::BufferTooSmall(n) => write!(f, "{n} bytes are needed for the id_token"),
        }
    }
}

impl From<ClaimsError> for IdTokenError {
    fn from(e: ClaimsError) -> Self {
        match e {
            ClaimsError::Issuer => IdTokenError::Issuer,
            ClaimsError::Audience => IdTokenError::Audience,
            ClaimsError::Expired => IdTokenError::Expired,
            ClaimsError::NotYetValid | ClaimsError::IssuedInFuture => IdTokenError::NotYetValid,
            ClaimsError::Missing(name) => IdTokenError::Missing(name),
        }
    }
}

/// The OpenID claims beyond the registered ones (Core §2).
#[derive(serde::Deserialize)]
struct OidcClaims<'a> {
    #[serde(borrow, default)]
    nonce: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    azp: Option<JsonStr<'a>>,
    #[serde(default)]
    auth_time: Option<u64>,
    #[serde(borrow, default)]
    at_hash: Option<JsonStr<'a>>,
}

/// An id_token as received: parsed, nothing in it trusted yet.
#[derive(Debug, Clone)]
pub struct ReceivedIdToken<'a> {
    jws: Jws<'a>,
}

/// A validated id_token's claims the relying party uses, borrowed from the
/// caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidIdToken<'b> {
    /// The user at the provider (`sub`): compare with UserInfo's.
    pub sub: JsonStr<'b>,
    /// `exp`.
    pub exp: u64,
    /// `iat`.
    pub iat: u64,
    /// `auth_time`, if the provider sent it.
    pub auth_time: Option<u64>,
}

impl<'a> ReceivedIdToken<'a> {
    /// Parses the compact JWS and checks its `alg` against `algs`.
    pub fn parse(compact: &'a [u8], algs: &[Alg]) -> Result<Self, IdTokenError> {
        let jws = Jws::parse(compact).map_err(|e| match e {
            JoseError::UnsupportedAlg => IdTokenError::Alg,
            _ => IdTokenError::Malformed,
        })?;
        if !algs.contains(&jws.alg()) {
            return Err(IdTokenError::Alg);
        }
        Ok(ReceivedIdToken { jws })
    }

    /// The header (`alg`, `kid`).
    pub fn header(&self) -> ParsedHeader<'_> {
        self.jws.header()
    }

    /// How many bytes [`ReceivedIdToken::validate`]'s buffer needs.
    pub const fn payload_len(&self) -> usize {
        self.jws.payload_len()
    }

    /// The key of `keys` this token names (by `kid`, fitting its `alg`; a
    /// token without `kid` only when exactly one key fits).
    pub fn key<'k, 's, const N: usize>(
        &self,
        keys: &'k JwkSet<'s, N>,
    ) -> Result<&'k ParsedJwk<'s>, IdTokenError> {
        keys.select(&self.jws.header())
            .filter(|k| k.usable_for_signatures())
            .ok_or(IdTokenError::UnknownKey)
    }

    /// Checks the signature with `verifier` (the key from
    /// [`ReceivedIdToken::key`]), then the claims against `expected`, the
    /// payload decoded into `buf`.
    pub fn validate<'b, V: Verifier + ?Sized>(
        &self,
        verifier: &V,
        expected: &IdTokenExpected<'_>,
        buf: &'b mut [u8],
    ) -> Result<ValidIdToken<'b>, IdTokenError> {
        if !expected.algs.contains(&self.jws.alg()) {
            return Err(IdTokenError::Alg);
        }
        self.jws.verify(verifier).map_err(|e| match e {
            JoseError::KeyMismatch => IdTokenError::UnknownKey,
            _ => IdTokenError::Signature,
        })?;
        let needed = self.jws.payload_len();
        let buf = buf
            .get_mut(..needed)
            .ok_or(IdTokenError::BufferTooSmall(needed))?;
        let payload: &'b [u8] = self
            .jws
            .decode_payload(buf)
            .map_err(|_| IdTokenError::Malformed)?;
        let registered = RegisteredClaims::parse(payload).map_err(|_| IdTokenError::Malformed)?;
        let oidc: OidcClaims<'b> =
            json::parse_strict(payload).map_err(|_| IdTokenError::Malformed)?;
        registered.validate(&Validation {
            issuer: Some(expected.issuer),
            audience: Some(expected.client_id),
            leeway: expected.leeway,
            now: expected.now,
            require_exp: true,
        })?;
        let iat = registered.iat.ok_or(IdTokenError::Missing("iat"))?;
        let exp = registered.exp.ok_or(IdTokenError::Missing("exp"))?;
        let sub = registered.sub.ok_or(IdTokenError::Missing("sub"))?;
        if sub.is_empty() {
            return Err(IdTokenError::Missing("sub"));
        }
        check_azp(registered.aud, oidc.azp, expected.client_id)?;
        check_nonce(oidc.nonce, expected.nonce)?;
        if let (Some(claimed), Some(token)) = (oidc.at_hash, expected.access_token)
            && !claimed.eq_str(&at_hash(self.jws.alg(), token))
        {
            return Err(IdTokenError::AtHash);
        }
        Ok(ValidIdToken {
            sub,
            exp,
            iat,
            auth_time: oidc.auth_time,
        })
    }
}

/// The `id_token` of a token response body (Core §3.1.3.3), borrowed from
/// it: `Ok(None)` when the response has none, [`IdTokenError::Malformed`]
/// when the body is not a JSON object or `id_token` is not a string of
/// JWS characters (a compact JWS needs no JSON escapes).
pub fn id_token_in(body: &[u8]) -> Result<Option<&[u8]>, IdTokenError> {
    #[derive(serde::Deserialize)]
    struct Field<'a> {
        #[serde(borrow, default)]
        id_token: Option<JsonStr<'a>>,
    }
    let field: Field<'_> = json::parse(body).map_err(|_| IdTokenError::Malformed)?;
    match field.id_token {
        None => Ok(None),
        Some(t) if t.is_verbatim() && !t.is_empty() => Ok(Some(t.raw().as_bytes())),
        Some(_) => Err(IdTokenError::Malformed),
    }
}

/// Steps 4–5: several audiences need `azp`; `azp`, when present, is us.
fn check_azp(
    aud: Option<Audience<'_>>,
    azp: Option<JsonStr<'_>>,
    client_id: &str,
) -> Result<(), IdTokenError> {
    let several = aud.is_some_and(|a| a.as_slice().len() > 1);
    match azp {
        Some(azp) if !azp.eq_str(client_id) => Err(IdTokenError::AuthorizedParty),
        None if several => Err(IdTokenError::AuthorizedParty),
        _ => Ok(()),
    }
}

/// Step 11, in constant time over the expected value's length.
fn check_nonce(claimed: Option<JsonStr<'_>>, sent: &str) -> Result<(), IdTokenError> {
    let claimed = claimed.ok_or(IdTokenError::Nonce)?;
    let mut buf = [0u8; MAX_RP_NONCE];
    let claimed = claimed.decode(&mut buf).map_err(|_| IdTokenError::Nonce)?;
    if bool::from(claimed.as_bytes().ct_eq(sent.as_bytes())) {
        Ok(())
    } else {
        Err(IdTokenError::Nonce)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Ed25519Key, Es256Key, JwsHeader, sign_compact};
    use std::string::String;
    use std::vec::Vec;

    const NOW: UnixTime = UnixTime(1_700_000_000);
    const ISS: &str = "https://op.example";
    const CLIENT: &str = "app";
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn expected() -> IdTokenExpected<'static> {
        IdTokenExpected {
            issuer: ISS,
            client_id: CLIENT,
            nonce: NONCE,
            algs: &[Alg::Es256, Alg::EdDsa],
            now: NOW,
            leeway: 30,
            access_token: None,
        }
    }

    fn claims(extra: &str) -> String {
        std::format!(
            r#"{{"iss":"{ISS}","sub":"248289761001","aud":"{CLIENT}","nonce":"{NONCE}","exp":{},"iat":{}{extra}}}"#,
            NOW.as_secs() + 300,
            NOW.as_secs() - 5
        )
    }

    fn es_key() -> Es256Key {
        Es256Key::from_bytes(&[7u8; 32]).unwrap()
    }

    fn sign_es(payload: &str, kid: Option<&str>) -> Vec<u8> {
        let mut out = std::vec![0u8; 4096];
        let n = sign_compact(
            &JwsHeader {
                alg: Alg::Es256,
                kid,
                typ: None,
            },
            payload.as_bytes(),
            &mut es_key(),
            &mut out,
        )
        .unwrap();
        out.truncate(n);
        out
    }

    fn jwks() -> Vec<u8> {
        let public = es_key().public();
        let jwk = crate::jose::Jwk::new(crate::jose::PublicKey::Ec {
            x: *public.x(),
            y: *public.y(),
        })
        .with_kid("k1");
        let mut out = std::vec![0u8; 1024];
        let n = crate::jose::render_jwk_set(&[jwk], &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn check(token: &[u8], e: &IdTokenExpected<'_>) -> Result<String, IdTokenError> {
        let set_json = jwks();
        let set = JwkSet::<4>::parse(&set_json).unwrap();
        let t = ReceivedIdToken::parse(token, e.algs)?;
        let key = t.key(&set)?;
        let verifier = key.verifier().map_err(|_| IdTokenError::UnknownKey)?;
        let mut buf = [0u8; 1024];
        let valid = t.validate(&verifier, e, &mut buf)?;
        Ok(String::from(valid.sub.raw()))
    }

    #[test]
    fn a_good_token_gives_its_subject() {
        let token = sign_es(&claims(""), Some("k1"));
        assert_eq!(check(&token, &expected()).unwrap(), "248289761001");
    }

    #[test]
    fn each_check_refuses_its_case() {
        let cases: &[(String, IdTokenError)] = &[
            (
                claims("").replace(ISS, "https://other.example"),
                IdTokenError::Issuer,
            ),
            (
                claims("").replace(r#""aud":"app""#, r#""aud":"other""#),
                IdTokenError::Audience,
            ),
            (
                claims("").replace(r#""aud":"app""#, r#""aud":["app","other"]"#),
                IdTokenError::AuthorizedParty,
            ),
            (claims(r#","azp":"other""#), IdTokenError::AuthorizedParty),
            (
                claims("").replace(NONCE, "replayed-nonce"),
                IdTokenError::Nonce,
            ),
            (
                claims("").replace(&std::format!(r#","nonce":"{NONCE}""#), ""),
                IdTokenError::Nonce,
            ),
            (
                claims("").replace(
                    &std::format!("{}", NOW.as_secs() + 300),
                    &std::format!("{}", NOW.as_secs() - 31),
                ),
                IdTokenError::Expired,
            ),
            (
                claims("").replace(
                    &std::format!("{}", NOW.as_secs() - 5),
                    &std::format!("{}", NOW.as_secs() + 120),
                ),
                IdTokenError::NotYetValid,
            ),
            (
                claims("").replace(r#""sub":"248289761001","#, ""),
                IdTokenError::Missing("sub"),
            ),
            (
                claims("").replace(&std::format!(r#","iat":{}"#, NOW.as_secs() - 5), ""),
                IdTokenError::Missing("iat"),
            ),
        ];
        for (payload, want) in cases {
            let token = sign_es(payload, Some("k1"));
            assert_eq!(check(&token, &expected()), Err(*want), "{payload}");
        }
        // Several audiences with azp = us are fine.
        let several =
            claims(r#","azp":"app""#).replace(r#""aud":"app""#, r#""aud":["app","other"]"#);
        assert!(check(&sign_es(&several, Some("k1")), &expected()).is_ok());
    }

    #[test]
    fn a_tampered_signature_or_payload_fails() {
        let token = sign_es(&claims(""), Some("k1"));
        let mut bad = token.clone();
        let last = bad.len() - 2;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(check(&bad, &expected()), Err(IdTokenError::Signature));
        // Another payload under the same header and signature.
        let other = sign_es(&claims("").replace("248289761001", "admin"), Some("k1"));
        let parts: Vec<&[u8]> = token.split(|&b| b == b'.').collect();
        let other_parts: Vec<&[u8]> = other.split(|&b| b == b'.').collect();
        let spliced = [parts[0], b".", other_parts[1], b".", parts[2]].concat();
        assert_eq!(check(&spliced, &expected()), Err(IdTokenError::Signature));
    }

    #[test]
    fn an_unknown_kid_or_alg_is_refused() {
        let token = sign_es(&claims(""), Some("rotated"));
        assert_eq!(check(&token, &expected()), Err(IdTokenError::UnknownKey));
        let e = IdTokenExpected {
            algs: &[Alg::Rs256],
            ..expected()
        };
        let token = sign_es(&claims(""), Some("k1"));
        assert_eq!(check(&token, &e), Err(IdTokenError::Alg));
        // A token signed with an Ed25519 key under the EC key's kid: the
        // set's key does not fit EdDSA.
        let mut out = std::vec![0u8; 4096];
        let n = sign_compact(
            &JwsHeader {
                alg: Alg::EdDsa,
                kid: Some("k1"),
                typ: None,
            },
            claims("").as_bytes(),
            &mut Ed25519Key::from_seed(&[9u8; 32]),
            &mut out,
        )
        .unwrap();
        assert_eq!(check(&out[..n], &expected()), Err(IdTokenError::UnknownKey));
        // alg none never parses.
        let none = b"eyJhbGciOiJub25lIn0.e30.";
        assert_eq!(
            ReceivedIdToken::parse(none, &[Alg::Es256]).err(),
            Some(IdTokenError::Malformed)
        );
    }

    #[test]
    fn at_hash_is_checked_when_present() {
        let good = at_hash(Alg::Es256, "access-token-1");
        let token = sign_es(&claims(&std::format!(r#","at_hash":"{good}""#)), Some("k1"));
        let with = |at: &'static str| IdTokenExpected {
            access_token: Some(at),
            ..expected()
        };
        assert!(check(&token, &with("access-token-1")).is_ok());
        assert_eq!(
            check(&token, &with("another-token")),
            Err(IdTokenError::AtHash)
        );
    }

    #[test]
    fn the_id_token_is_found_in_a_token_response() {
        let body = br#"{"access_token":"at","token_type":"Bearer","id_token":"eyJh.eyJz.c2ln","expires_in":60}"#;
        assert_eq!(id_token_in(body), Ok(Some(&b"eyJh.eyJz.c2ln"[..])));
        assert_eq!(id_token_in(br#"{"access_token":"at"}"#), Ok(None));
        assert_eq!(
            id_token_in(br#"{"id_token":"a\u002eb"}"#),
            Err(IdTokenError::Malformed)
        );
        assert_eq!(
            id_token_in(br#"{"id_token":7}"#),
            Err(IdTokenError::Malformed)
        );
        assert_eq!(id_token_in(b"not json"), Err(IdTokenError::Malformed));
    }

    #[test]
    fn a_small_buffer_is_an_error_with_the_size() {
        let token = sign_es(&claims(""), Some("k1"));
        let set_json = jwks();
        let set = JwkSet::<4>::parse(&set_json).unwrap();
        let t = ReceivedIdToken::parse(&token, expected().algs).unwrap();
        let v = t.key(&set).unwrap().verifier().unwrap();
        let mut small = [0u8; 8];
        assert_eq!(
            t.validate(&v, &expected(), &mut small),
            Err(IdTokenError::BufferTooSmall(t.payload_len()))
        );
    }
}
