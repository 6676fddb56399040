//! Bearer tokens at a protected resource (RFC 6750).
//!
//! * [`BearerToken::from_header`] reads `Authorization: Bearer <b64token>`
//!   (§2.1): the scheme case-insensitively, one or more spaces, then
//!   `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
//!   Form-body and query tokens (§2.2, §2.3) are not accepted.
//! * [`check_access`] decides on the token's record: unknown or expired is
//!   `invalid_token` (401), lacking a required scope token
//!   `insufficient_scope` (403).
//! * [`BearerError::write_challenge`] writes the `WWW-Authenticate` value
//!   (§3): `Bearer realm="…"`, plus `error`, `error_description` and `scope`
//!   for an actual error; a request without credentials gets no error
//!   code (§3.1).

use super::error::ErrorCode;
use super::scope;
use super::store::{AccessRecord, Store, TokenRecord};
use super::token_material::TokenHash;
use crate::buf::Sink;
use crate::time::UnixTime;
use core::fmt;

/// Why a request to a protected resource is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BearerError {
    /// No `Authorization` header, or another scheme (401, no error code).
    Missing,
    /// The `Bearer` credentials are malformed (`invalid_request`, 400).
    InvalidRequest,
    /// The token is unknown, expired or revoked (`invalid_token`, 401).
    InvalidToken,
    /// The token lacks a scope the resource needs (`insufficient_scope`,
    /// 403).
    InsufficientScope,
}

impl BearerError {
    /// The error code, if the response names one.
    pub const fn code(self) -> Option<ErrorCode> {
        match self {
            BearerError::Missing => None,
            BearerError::InvalidRequest => Some(ErrorCode::InvalidRequest),
            BearerError::InvalidToken => Some(ErrorCode::InvalidToken),
            BearerError::InsufficientScope => Some(ErrorCode::InsufficientScope),
        }
    }

    /// The HTTP status (§3.1).
    pub const fn http_status(self) -> u16 {
        match self {
            BearerError::Missing | BearerError::InvalidToken => 401,
            BearerError::InvalidRequest => 400,
            BearerError::InsufficientScope => 403,
        }
    }

    /// Writes the `WWW-Authenticate` value. `realm` and `scope` are
    /// written only if they can be quoted without escapes (no `"`, `\` or
    /// control characters).
    pub fn write_challenge<S: Sink + ?Sized>(
        self,
        realm: Option<&str>,
        scope: Option<&str>,
        sink: &mut S,
    ) {
        sink.put(b"Bearer");
        let mut sep: &[u8] = b" ";
        let mut param = |name: &[u8], value: &str, sink: &mut S| {
            if value
                .bytes()
                .all(|b| b != b'"' && b != b'\\' && (0x20..0x7F).contains(&b))
            {
                sink.put(sep);
                sep = b", ";
                sink.put(name);
                sink.put(b"=\"");
                sink.put(value.as_bytes());
                sink.put(b"\"");
            }
        };
        if let Some(realm) = realm {
            param(b"realm", realm, sink);
        }
        if let Some(code) = self.code() {
            param(b"error", code.as_str(), sink);
            if self == BearerError::InsufficientScope
                && let Some(scope) = scope
            {
                param(b"scope", scope, sink);
            }
        }
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code() {
            Some(c) => c.fmt(f),
            None => f.write_str("bearer token required"),
        }
    }
}

impl core::error::Error for BearerError {}

/// A bearer token taken from an `Authorization` header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BearerToken<'a>(&'a str);

impl fmt::Debug for BearerToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
/// (what a server accepts and what a client may send).
pub(crate) fn is_b64token(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

impl<'a> BearerToken<'a> {
    /// Reads an `Authorization` header value (§2.1).
    pub fn from_header(authorization: Option<&'a str>) -> Result<Self, BearerError> {
        let value = authorization.ok_or(BearerError::Missing)?;
        let (scheme, rest) = value.split_at_checked(6).ok_or(BearerError::Missing)?;
        if !scheme.eq_ignore_ascii_case("Bearer") {
            return Err(BearerError::Missing);
        }
        if !rest.starts_with(' ') {
            return Err(if rest.is_empty() {
                BearerError::InvalidRequest
            } else {
                BearerError::Missing
            });
        }
        let token = rest.trim_start_matches(' ');
        if !is_b64token(token) {
            return Err(BearerError::InvalidRequest);
        }
        Ok(BearerToken(token))
    }

    /// The token.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Its hash, to look the record up by.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.as_bytes())
    }
}

/// Decides on a token's record: it must exist, match the hash, be
/// unexpired, and hold every token of `required_scope`.
pub fn check_access<'r>(
    hash: &TokenHash,
    record: Option<&'r AccessRecord>,
    now: UnixTime,
    required_scope: Option<&str>,
) -> Result<&'r AccessRecord, BearerError> {
    let record = record
        .filter(|r| r.hash.ct_eq(hash) && now < r.expires_at)
        .ok_or(BearerError::InvalidToken)?;
    if let Some(required) = required_scope
        && !scope::is_subset(required, &record.scope)
    {
        return Err(BearerError::InsufficientScope);
    }
    Ok(record)
}

/// Reads the header and checks the token against `store` in one call.
pub fn authorize_bearer<S: Store + ?Sized>(
    store: &S,
    authorization: Option<&str>,
    now: UnixTime,
    required_scope: Option<&str>,
) -> Result<AccessRecord, BearerError> {
    let token = BearerToken::from_header(authorization)?;
    let hash = token.hash();
    let record = match store.token(&hash) {
        Some(TokenRecord::Access(a)) => Some(a),
        _ => None,
    };
    check_access(&hash, record.as_ref(), now, required_scope).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;
    use crate::oauth2::store::FamilyId;

    fn challenge(e: BearerError, realm: Option<&str>, scope: Option<&str>) -> std::string::String {
        let mut buf = [0u8; 256];
        let mut w = SliceWriter::new(&mut buf);
        e.write_challenge(realm, scope, &mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// RFC 6750 §2.1's example and §3's challenges.
    #[test]
    fn rfc6750_examples() {
        let t = BearerToken::from_header(Some("Bearer mF_9.B5f-4.1JqM")).unwrap();
        assert_eq!(t.as_str(), "mF_9.B5f-4.1JqM");
        assert_eq!(
            challenge(BearerError::Missing, Some("example"), None),
            r#"Bearer realm="example""#
        );
        assert_eq!(
            challenge(BearerError::InvalidToken, Some("example"), None),
            r#"Bearer realm="example", error="invalid_token""#
        );
        assert_eq!(
            challenge(BearerError::InsufficientScope, None, Some("read write")),
            r#"Bearer error="insufficient_scope", scope="read write""#
        );
        assert_eq!(
            challenge(BearerError::InvalidToken, Some("a\"b"), None),
            r#"Bearer error="invalid_token""#
        );
    }

    #[test]
    fn header_forms() {
        assert!(BearerToken::from_header(Some("bearer  abc+/==")).is_ok());
        assert_eq!(BearerToken::from_header(None), Err(BearerError::Missing));
        assert_eq!(
            BearerToken::from_header(Some("Basic abc")),
            Err(BearerError::Missing)
        );
        assert_eq!(
            BearerToken::from_header(Some("Bearerabc")),
            Err(BearerError::Missing)
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer ==",
            "Bearer a=b",
            "Bearer é",
        ] {
            assert_eq!(
                BearerToken::from_header(Some(bad)),
                Err(BearerError::InvalidRequest),
                "{bad}"
            );
        }
    }

    #[test]
    fn access_checks() {
        let rec = AccessRecord {
            hash: TokenHash::of(b"t"),
            family: FamilyId([0; 16]),
            client_id: "c".try_into().unwrap(),
            subject: None,
            scope: "read write".try_into().unwrap(),
            issued_at: UnixTime(0),
            expires_at: UnixTime(10),
        };
        let h = TokenHash::of(b"t");
        assert!(check_access(&h, Some(&rec), UnixTime(9), Some("read")).is_ok());
        assert_eq!(
            check_access(&h, Some(&rec), UnixTime(10), None),
            Err(BearerError::InvalidToken)
        );
        assert_eq!(
            check_access(&h, Some(&rec), UnixTime(0), Some("admin")),
            Err(BearerError::InsufficientScope)
        );
        assert_eq!(
            check_access(&TokenHash::of(b"u"), Some(&rec), UnixTime(0), None),
            Err(BearerError::InvalidToken)
        );
        assert_eq!(
            check_access(&h, None, UnixTime(0), None),
            Err(BearerError::InvalidToken)
        );
    }
}
