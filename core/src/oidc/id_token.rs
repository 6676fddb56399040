//! The id_token's claims (OpenID Connect Core 1.0 §2, §3.1.3.3, §3.1.3.6,
//! §12.2) as the token endpoint decides them.
//!
//! The exchange ([`crate::oauth2::Exchange`]) produces an [`IdTokenClaims`]
//! whenever the granted scope holds `openid`: after an authorization code
//! that was issued for an OpenID request, and after a refresh of such a
//! grant. The claims name the user as the store does ([`Subject`]); the
//! shell maps that to the public, opaque `sub` (never the username, never
//! reused), then signs [`IdTokenClaims::render_payload`] with the key for
//! the algorithm the client registered.
//!
//! * `nonce` only when the authorization request sent one, and never after
//!   a refresh (§12.2).
//! * `auth_time` always (the time the user last entered a password),
//!   unchanged across refreshes.
//! * `at_hash` (§3.1.3.6): base64url of the left half of the `alg`'s hash
//!   over the access token's ASCII: SHA-256 for RS256 and ES256, SHA-512
//!   for EdDSA with Ed25519 (see [`at_hash`]).
//! * `exp` = `iat` + the access token's lifetime.

use super::request::Nonce;
use crate::buf::BufferTooSmall;
use crate::jose::Alg;
use crate::oauth2::{ClientId, Subject};
use crate::time::UnixTime;
use base64ct::{Base64UrlUnpadded, Encoding};
use sha2::{Digest, Sha256, Sha512};

/// What the id_token says about the login, before the shell fills in the
/// public `sub` and signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdTokenClaims {
    /// The user as the store names them (mapped to `sub` by the shell).
    pub subject: Subject,
    /// `aud`: the client.
    pub audience: ClientId,
    /// `nonce`, echoed from the authorization request.
    pub nonce: Option<Nonce>,
    /// `auth_time`.
    pub auth_time: UnixTime,
    /// `iat`.
    pub issued_at: UnixTime,
    /// `exp`.
    pub expires_at: UnixTime,
    /// `at_hash`, already encoded.
    pub at_hash: heapless::String<43>,
    /// The algorithm to sign with: the client's registered one.
    pub alg: Alg,
}

/// `at_hash` of an access token (§3.1.3.6): the left half of its hash
/// with the hash function of the id_token's `alg`, base64url without
/// padding — SHA-256 for RS256 and ES256; SHA-512 for EdDSA with Ed25519
/// (the choice openid-client and node-oidc-provider make, since Ed25519
/// hashes with SHA-512).
pub fn at_hash(alg: Alg, access_token: &str) -> heapless::String<43> {
    let mut out = [0u8; 43];
    let mut s = heapless::String::new();
    let encoded = match alg {
        Alg::Rs256 | Alg::Es256 => Sha256::digest(access_token.as_bytes())
            .first_chunk::<16>()
            .and_then(|left| {
                Base64UrlUnpadded::encode(left, &mut out)
                    .ok()
                    .map(|e| e.len())
            }),
        Alg::EdDsa => Sha512::digest(access_token.as_bytes())
            .first_chunk::<32>()
            .and_then(|left| {
                Base64UrlUnpadded::encode(left, &mut out)
                    .ok()
                    .map(|e| e.len())
            }),
    };
    // 16 or 32 bytes are 22 or 43 characters: always fits.
    if let Some(n) = encoded
        && let Some(Ok(text)) = out.get(..n).map(core::str::from_utf8)
    {
        let _ = s.push_str(text);
    }
    s
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    auth_time: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    at_hash: &'a str,
    /// `azp` (§2): the party the token was issued to; the same as `aud`.
    azp: &'a str,
}

impl IdTokenClaims {
    /// Writes the JSON claims set: `iss`, `sub` (the public subject the
    /// shell looked up for [`subject`](Self::subject)), `aud`, `exp`, `iat`,
    /// `auth_time`, `nonce`, `at_hash`, `azp`.
    pub fn render_payload(
        &self,
        issuer: &str,
        sub: &str,
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        crate::oauth2::render_json(
            &Payload {
                iss: issuer,
                sub,
                aud: &self.audience,
                exp: self.expires_at.0,
                iat: self.issued_at.0,
                auth_time: self.auth_time.0,
                nonce: self.nonce.as_deref(),
                at_hash: &self.at_hash,
                azp: &self.audience,
            },
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenID Connect Core 1.0 Appendix A.3/A.4's example access token
    /// `jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y` has
    /// `at_hash` `77QmUPtjPfzWtF2AnpK9RQ`.
    #[test]
    fn at_hash_vector() {
        assert_eq!(
            at_hash(Alg::Rs256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").as_str(),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            at_hash(Alg::Es256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y").as_str(),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        // EdDSA: the left 256 bits of SHA-512 (checked with Python's
        // hashlib).
        assert_eq!(at_hash(Alg::EdDsa, "x").as_str(), EDDSA_X);
    }

    const EDDSA_X: &str = "pKvURIxJVi2CgRXROh_M6pJ_UrTVRZKX-LQ-QtqJI4s";

    #[test]
    fn payload() {
        let c = IdTokenClaims {
            subject: "alice".try_into().unwrap(),
            audience: "s6BhdRkqt3".try_into().unwrap(),
            nonce: Some("n-0S6_WzA2Mj".try_into().unwrap()),
            auth_time: UnixTime(1311280969),
            issued_at: UnixTime(1311280970),
            expires_at: UnixTime(1311281970),
            at_hash: at_hash(Alg::Rs256, "x"),
            alg: Alg::Rs256,
        };
        let mut buf = [0u8; 512];
        let n = c
            .render_payload("https://server.example.com", "24400320", &mut buf)
            .unwrap();
        let s = core::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(
            s,
            r#"{"iss":"https://server.example.com","sub":"24400320","aud":"s6BhdRkqt3","exp":1311281970,"iat":1311280970,"auth_time":1311280969,"nonce":"n-0S6_WzA2Mj","at_hash":"LXEWQrcmsEQBYnyp-6wy9Q","azp":"s6BhdRkqt3"}"#
        );
        let mut small = [0u8; 10];
        assert!(c.render_payload("i", "s", &mut small).is_err());
    }
}
