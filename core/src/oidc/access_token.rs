//! JWT access tokens (RFC 9068): the claims the token endpoint decides for
//! a client registered for them.
//!
//! The exchange issues an opaque token as always; for a JWT client it also
//! yields [`AccessTokenClaims`]. The shell fills in `iss` and the public
//! `sub`, signs them with `typ: at+jwt` (§2.1), and hands the signed token
//! back with [`crate::oauth2::Done::bind_access_token`]: the stored record
//! is then keyed by the SHA-256 of the JWT itself, so introspection,
//! revocation and Latch's own resources treat it like any other token, and
//! the id_token's `at_hash` covers the token the client actually receives.
//!
//! * `sub` (§2.2): the user's public subject; for `client_credentials`
//!   (no user) the `client_id`.
//! * `aud`: the issuer — Latch's own protected resources are served there
//!   (there are no resource indicators yet).
//! * `jti`: base64url of SHA-256 of the opaque token drawn for this
//!   issuance — unique per token, and not itself a usable credential.
//! * `auth_time` for OpenID grants.

use crate::buf::BufferTooSmall;
use crate::oauth2::{ClientId, Scope, Subject};
use crate::time::UnixTime;

/// What a JWT access token says, before the shell signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenClaims {
    /// The user as the store names them, or `None` (client credentials).
    pub subject: Option<Subject>,
    /// `client_id`.
    pub client_id: ClientId,
    /// `scope`.
    pub scope: Scope,
    /// `jti`.
    pub jti: heapless::String<43>,
    /// `iat`.
    pub issued_at: UnixTime,
    /// `exp`.
    pub expires_at: UnixTime,
    /// `auth_time`, for an OpenID grant.
    pub auth_time: Option<UnixTime>,
}

#[derive(serde::Serialize)]
struct Payload<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    jti: &'a str,
    exp: u64,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
}

impl AccessTokenClaims {
    /// Writes the claims set. `sub`: the user's public subject (ignored,
    /// and `client_id` used, when there is no user).
    pub fn render_payload(
        &self,
        issuer: &str,
        sub: &str,
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let sub = if self.subject.is_some() {
            sub
        } else {
            &self.client_id
        };
        crate::oauth2::render_json(
            &Payload {
                iss: issuer,
                sub,
                aud: issuer,
                client_id: &self.client_id,
                scope: &self.scope,
                jti: &self.jti,
                exp: self.expires_at.0,
                iat: self.issued_at.0,
                auth_time: self.auth_time.map(|t| t.0),
            },
            out,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_follows_rfc9068() {
        let c = AccessTokenClaims {
            subject: None,
            client_id: "svc".try_into().unwrap(),
            scope: "read".try_into().unwrap(),
            jti: "abc".try_into().unwrap(),
            issued_at: UnixTime(10),
            expires_at: UnixTime(20),
            auth_time: None,
        };
        let mut buf = [0u8; 256];
        let n = c
            .render_payload("https://as.example", "ignored", &mut buf)
            .unwrap();
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            r#"{"iss":"https://as.example","sub":"svc","aud":"https://as.example","client_id":"svc","scope":"read","jti":"abc","exp":20,"iat":10}"#
        );
        let user = AccessTokenClaims {
            subject: Some("alice".try_into().unwrap()),
            auth_time: Some(UnixTime(5)),
            ..c
        };
        let n = user
            .render_payload("https://as.example", "u-1", &mut buf)
            .unwrap();
        let s = core::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            s.contains(r#""sub":"u-1""#) && s.ends_with(r#""auth_time":5}"#),
            "{s}"
        );
    }
}
