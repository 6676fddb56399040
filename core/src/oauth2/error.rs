//! OAuth 2.0 protocol errors as data: the registered error codes of
//! RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, RFC 7009 §2.2.1 and
//! RFC 8628 §3.5 and OpenID Connect Core 1.0 §3.1.2.6, each with the HTTP status it is answered with.
//!
//! Status codes: `invalid_client` is 401 (RFC 6749 §5.2 allows it always and
//! requires it with `WWW-Authenticate` when the client tried HTTP Basic);
//! `invalid_token` 401 and `insufficient_scope` 403 (RFC 6750 §3.1);
//! `server_error` 500 and `temporarily_unavailable` 503; everything else
//! 400, including the device-flow codes (RFC 8628 §3.5).

use crate::buf::BufferTooSmall;
use core::fmt;

/// A registered OAuth 2.0 error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated, malformed or
    /// unsupported, or more than one client authentication method was used
    /// (RFC 6749 §4.1.2.1, §5.2).
    InvalidRequest,
    /// `invalid_client`: client authentication failed (RFC 6749 §5.2).
    InvalidClient,
    /// `invalid_grant`: the code, refresh token or device code is invalid,
    /// expired, revoked, already used, or was issued to another client or
    /// redirect URI (RFC 6749 §5.2).
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant or response
    /// type (RFC 6749 §4.1.2.1, §5.2).
    UnauthorizedClient,
    /// `unsupported_grant_type` (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// `invalid_scope`: unknown, malformed or exceeds what was granted
    /// (RFC 6749 §4.1.2.1, §5.2).
    InvalidScope,
    /// `access_denied`: the resource owner or server denied the request
    /// (RFC 6749 §4.1.2.1, RFC 8628 §3.5).
    AccessDenied,
    /// `unsupported_response_type` (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// `server_error`: an unexpected condition (RFC 6749 §4.1.2.1).
    ServerError,
    /// `temporarily_unavailable`: overloaded, storage full, no randomness
    /// (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// `authorization_pending`: the user has not yet acted on the device
    /// code (RFC 8628 §3.5).
    AuthorizationPending,
    /// `slow_down`: polled faster than the interval; the interval grows by
    /// 5 seconds (RFC 8628 §3.5).
    SlowDown,
    /// `expired_token`: the device code expired (RFC 8628 §3.5).
    ExpiredToken,
    /// `invalid_token`: a bearer token is unknown, expired or revoked
    /// (RFC 6750 §3.1).
    InvalidToken,
    /// `insufficient_scope`: a bearer token lacks the scope the resource
    /// needs (RFC 6750 §3.1).
    InsufficientScope,
    /// `unsupported_token_type` (RFC 7009 §2.2.1).
    UnsupportedTokenType,
    /// `login_required`: `prompt=none` and nobody is logged in (OpenID
    /// Connect Core 1.0 §3.1.2.6).
    LoginRequired,
    /// `consent_required`: `prompt=none` but consent must be asked for
    /// (OpenID Connect Core 1.0 §3.1.2.6).
    ConsentRequired,
    /// `request_not_supported`: a `request` object was sent (OpenID
    /// Connect Core 1.0 §3.1.2.6, §6).
    RequestNotSupported,
    /// `request_uri_not_supported` (OpenID Connect Core 1.0 §3.1.2.6, §6).
    RequestUriNotSupported,
    /// `registration_not_supported` (OpenID Connect Core 1.0 §3.1.2.6,
    /// §7.2.1).
    RegistrationNotSupported,
}

impl ErrorCode {
    const ALL: [ErrorCode; 21] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::InvalidScope,
        ErrorCode::AccessDenied,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::ServerError,
        ErrorCode::TemporarilyUnavailable,
        ErrorCode::AuthorizationPending,
        ErrorCode::SlowDown,
        ErrorCode::ExpiredToken,
        ErrorCode::InvalidToken,
        ErrorCode::InsufficientScope,
        ErrorCode::UnsupportedTokenType,
        ErrorCode::LoginRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::RequestNotSupported,
        ErrorCode::RequestUriNotSupported,
        ErrorCode::RegistrationNotSupported,
    ];

    /// The code as it appears in the `error` parameter.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::InsufficientScope => "insufficient_scope",
            ErrorCode::UnsupportedTokenType => "unsupported_token_type",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::RegistrationNotSupported => "registration_not_supported",
        }
    }

    /// The code with this name (exact, case-sensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The HTTP status an endpoint answers this error with; see the module
    /// docs.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidClient | ErrorCode::InvalidToken => 401,
            ErrorCode::InsufficientScope => 403,
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth 2.0 error: the code, and a fixed human-readable description
/// (`error_description`, ASCII without `"` or `\`, RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OAuthError {
    /// The error code.
    pub code: ErrorCode,
    /// What exactly was wrong, for developers; never contains request data.
    pub description: Option<&'static str>,
}

impl OAuthError {
    /// An error without a description.
    pub const fn new(code: ErrorCode) -> Self {
        OAuthError {
            code,
            description: None,
        }
    }

    /// An error with a description.
    pub const fn with(code: ErrorCode, description: &'static str) -> Self {
        OAuthError {
            code,
            description: Some(description),
        }
    }

    /// The HTTP status to answer with.
    pub const fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    /// Writes the RFC 6749 §5.2 JSON body into `out`; returns its length.
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        super::json::render_error(self, out)
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description {
            Some(d) => write!(f, "{}: {d}", self.code),
            None => self.code.fmt(f),
        }
    }
}

impl core::error::Error for OAuthError {}

impl From<ErrorCode> for OAuthError {
    fn from(code: ErrorCode) -> Self {
        OAuthError::new(code)
    }
}

pub(crate) const fn invalid_request(description: &'static str) -> OAuthError {
    OAuthError::with(ErrorCode::InvalidRequest, description)
}

pub(crate) const fn invalid_grant(description: &'static str) -> OAuthError {
    OAuthError::with(ErrorCode::InvalidGrant, description)
}

pub(crate) const fn invalid_client(description: &'static str) -> OAuthError {
    OAuthError::with(ErrorCode::InvalidClient, description)
}

pub(crate) const fn invalid_scope(description: &'static str) -> OAuthError {
    OAuthError::with(ErrorCode::InvalidScope, description)
}

/// The caller's random number generator failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RngError;

impl fmt::Display for RngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("random number generator failed")
    }
}

impl core::error::Error for RngError {}

impl From<RngError> for OAuthError {
    fn from(_: RngError) -> Self {
        OAuthError::with(ErrorCode::TemporarilyUnavailable, "no randomness available")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::from_name("Invalid_Request"), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorCode::InvalidGrant.http_status(), 400);
        assert_eq!(ErrorCode::InvalidClient.http_status(), 401);
        assert_eq!(ErrorCode::SlowDown.http_status(), 400);
        assert_eq!(ErrorCode::InsufficientScope.http_status(), 403);
        assert_eq!(ErrorCode::TemporarilyUnavailable.http_status(), 503);
    }
}
