//! The OAuth 2.0 client side, for a device or an application: sans-IO
//! flows that write the requests to send and read the answers.
//!
//! * [`DeviceFlow`] → [`DevicePending`] → [`TokenSet`]: the device
//!   authorization grant (RFC 8628 §3), polling on a clock the caller
//!   passes in, honouring `interval` and `slow_down`.
//! * [`AuthCodeFlow`] → [`AuthCodePending`] → [`AuthCodeReceived`] →
//!   [`TokenSet`]: the authorization code grant with PKCE S256 and `state`
//!   (RFC 6749 §4.1, RFC 7636, RFC 9207's `iss` check).
//! * [`TokenSet`]: the tokens, the `Authorization: Bearer` header, and
//!   refreshing shortly before expiry (RFC 6749 §6).
//! * [`Discovery`] → [`Endpoints`]: the server's endpoints from its RFC 8414
//!   metadata.
//!
//! Every step can hand out its whole request as a
//! [`ClientRequest`](crate::http::ClientRequest) (method, URL,
//! `Authorization`, body) that the caller writes to a socket as is; the
//! `write_*` methods give the bodies alone, for callers with their own
//! HTTP client.
//! * [`TokenResponse`], [`ErrorResponse`], [`DeviceAuthorizationResponse`],
//!   [`IntrospectionDocument`]: borrowing parsers for the JSON answers
//!   (unknown fields ignored; strings unescaped on demand into caller
//!   buffers, see [`JsonStr`]).
//!
//! Client authentication: a [`ClientIdentity`] with a secret uses
//! `client_secret_basic` ([`ClientIdentity::write_authorization`]); one
//! without sends `client_id` in the body (a public client, RFC 6749
//! §2.3.1, §3.2.1).
//!
//! Tokens are held in fixed-capacity strings of `N` bytes; a longer one is
//! [`ClientError::Capacity`], never a panic.

mod auth_code;
mod device;
mod discovery;
mod response;
mod tokens;

pub use auth_code::{AuthCodeConfig, AuthCodeFlow, AuthCodePending, AuthCodeReceived};
pub use device::{DeviceFlow, DevicePending, PollOutcome};
pub use discovery::{Discovery, Endpoints, WellKnown};
pub use response::{
    DeviceAuthorizationResponse, ErrorResponse, IntrospectionDocument, TokenResponse,
};
pub use tokens::{REFRESH_MARGIN, TokenSet};

use super::client_auth::write_basic_authorization;
use super::error::ErrorCode;
use super::json::{JsonError, JsonStr};
use crate::buf::{BufferTooSmall, Sink};
use crate::percent;
use core::fmt;

/// Why a client step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an OAuth error (`code` is `None` for a code
    /// this crate does not know).
    Server {
        /// HTTP status.
        status: u16,
        /// The `error` code.
        code: Option<ErrorCode>,
    },
    /// The server answered with an unexpected status and no OAuth error.
    Status(u16),
    /// The body is not the JSON the RFC describes.
    Malformed(JsonError),
    /// `token_type` is not `Bearer` (RFC 6750).
    UnsupportedTokenType,
    /// The callback's `state` is not ours (a forged or stale redirect).
    StateMismatch,
    /// The callback's `iss` is missing or not the expected issuer (RFC 9207 §2.4).
    IssuerMismatch,
    /// The callback carried neither `code` nor `error`, or repeated one.
    MalformedCallback,
    /// The authorization server refused at the authorization endpoint
    /// (the callback's `error`).
    Authorization(Option<ErrorCode>),
    /// The device code expired before the user approved.
    Expired,
    /// Too early to poll again: not before [`DevicePending::poll_timeout`].
    /// (The time is not carried here: the state that knows it is at hand,
    /// and a payload-free variant keeps every `Result<_, ClientError>` at
    /// 8 bytes instead of 16 on a 32-bit MCU, which took 912 B of the
    /// device firmware's flash off the error plumbing.)
    TooEarly,
    /// No refresh token to refresh with.
    NoRefreshToken,
    /// A token, code or URI is longer than the capacity.
    Capacity,
    /// The caller's buffer is too small.
    BufferTooSmall(BufferTooSmall),
    /// The random number generator failed.
    Rng,
    /// An issuer or endpoint URL is not an absolute `http`/`https` URL the
    /// client can use (RFC 8414 §2).
    InvalidUrl,
    /// The metadata document lacks an endpoint the flow needs.
    MissingEndpoint,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Server {
                status,
                code: Some(code),
            } => write!(f, "server answered HTTP {status}: {code}"),
            ClientError::Server { status, code: None } => {
                write!(f, "server answered HTTP {status} with an unknown error")
            }
            ClientError::Status(s) => write!(f, "server answered HTTP {s}"),
            ClientError::Malformed(e) => write!(f, "server response: {e}"),
            ClientError::UnsupportedTokenType => f.write_str("token_type is not Bearer"),
            ClientError::StateMismatch => f.write_str("callback state does not match"),
            ClientError::IssuerMismatch => {
                f.write_str("iss or issuer is missing or does not match")
            }
            ClientError::MalformedCallback => f.write_str("malformed authorization callback"),
            ClientError::Authorization(Some(c)) => write!(f, "authorization refused: {c}"),
            ClientError::Authorization(None) => f.write_str("authorization refused"),
            ClientError::Expired => f.write_str("device code expired"),
            ClientError::TooEarly => f.write_str("too early to poll; wait for poll_timeout()"),
            ClientError::NoRefreshToken => f.write_str("no refresh token"),
            ClientError::Capacity => f.write_str("value longer than its capacity"),
            ClientError::BufferTooSmall(e) => e.fmt(f),
            ClientError::Rng => f.write_str("random number generator failed"),
            ClientError::InvalidUrl => f.write_str("issuer or endpoint URL is not usable"),
            ClientError::MissingEndpoint => {
                f.write_str("server metadata lacks device_authorization_endpoint")
            }
        }
    }
}

impl core::error::Error for ClientError {}

impl From<JsonError> for ClientError {
    fn from(e: JsonError) -> Self {
        ClientError::Malformed(e)
    }
}

impl From<BufferTooSmall> for ClientError {
    fn from(e: BufferTooSmall) -> Self {
        ClientError::BufferTooSmall(e)
    }
}

/// Who the client is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ClientIdentity<'c> {
    /// The client identifier.
    pub client_id: &'c str,
    /// The client secret, for a confidential client.
    pub client_secret: Option<&'c str>,
}

impl fmt::Debug for ClientIdentity<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_secret.is_some())
            .finish()
    }
}

impl<'c> ClientIdentity<'c> {
    /// A public client.
    pub const fn public(client_id: &'c str) -> Self {
        ClientIdentity {
            client_id,
            client_secret: None,
        }
    }

    /// A confidential client.
    pub const fn confidential(client_id: &'c str, client_secret: &'c str) -> Self {
        ClientIdentity {
            client_id,
            client_secret: Some(client_secret),
        }
    }

    /// Writes the `Authorization` header value a request needs, if any
    /// (`client_secret_basic`); returns whether it wrote one.
    pub fn write_authorization<S: Sink + ?Sized>(&self, sink: &mut S) -> bool {
        match self.client_secret {
            Some(secret) => {
                write_basic_authorization(self.client_id, secret, sink);
                true
            }
            None => false,
        }
    }

    /// Appends `&client_id=…` to a form body for a public client.
    pub(crate) fn write_body_params<S: Sink + ?Sized>(&self, sink: &mut S) {
        if self.client_secret.is_none() {
            sink.put(b"&client_id=");
            percent::encode_into(self.client_id.as_bytes(), sink);
        }
    }
}

/// Reads a non-2xx answer: the OAuth error if the body is one.
pub(crate) fn error_from(status: u16, body: &[u8]) -> ClientError {
    match ErrorResponse::parse(body) {
        Ok(e) => ClientError::Server {
            status,
            code: e.code(),
        },
        Err(_) => ClientError::Status(status),
    }
}

/// Copies a JSON string into a fixed-capacity string.
pub(crate) fn own<const N: usize>(s: &JsonStr<'_>) -> Result<heapless::String<N>, ClientError> {
    s.to_heapless().map_err(|_| ClientError::Capacity)
}

/// Writes `name=value` (value percent-encoded), preceded by `&` unless
/// first.
pub(crate) fn form_param<S: Sink + ?Sized>(sink: &mut S, first: bool, name: &str, value: &str) {
    if !first {
        sink.put(b"&");
    }
    sink.put(name.as_bytes());
    sink.put(b"=");
    percent::encode_into(value.as_bytes(), sink);
}
