//! OAuth 2.0: everything an authorization server decides and everything a
//! device-side client needs, sans-IO and allocation-free.
//!
//! ## Server
//!
//! | endpoint | parse | decide | spec |
//! | --- | --- | --- | --- |
//! | authorization | [`AuthorizationRequest::parse`] | [`AuthorizationRequest::validate`] → [`ValidAuthorization::approve`] / [`deny`](ValidAuthorization::deny), or a [`Rejection`] (error page or redirect) | RFC 6749 §4.1, RFC 7636, RFC 9207 |
//! | token | [`BasicCredentials::from_header`], [`TokenRequest::parse`] | [`Exchange`]: `NeedClient` → `NeedGrant` → [`Done`] | RFC 6749 §3.2, §4.1.3, §4.4, §5, §6; RFC 7636 §4.6; RFC 8628 §3.4–3.5; RFC 9700 |
//! | device authorization | [`DeviceAuthorizationRequest::parse`] | [`DeviceAuthorization`]: `NeedClient` → [`DeviceDone`] | RFC 8628 §3.1–3.2 |
//! | device verification | [`DeviceVerification::start`] | [`NeedDevice`] → [`PendingDevice::approve`] / [`deny`](PendingDevice::deny) | RFC 8628 §3.3 |
//! | introspection | [`TokenQuery::parse`] | [`Introspection`]: `NeedClient` → `NeedToken` → [`IntrospectionDone`] | RFC 7662 |
//! | revocation | [`TokenQuery::parse`] | [`Revocation`]: `NeedClient` → `NeedToken` → [`RevocationDone`] | RFC 7009 |
//! | protected resource | [`BearerToken::from_header`] | [`check_access`] | RFC 6750 |
//! | metadata | — | [`Metadata::render`] | RFC 8414 |
//!
//! Every state machine asks for records and ends with the response and the
//! [`Writes`] to make; the caller performs storage (see [`store`'s
//! docs](Store) for conditional writes and token families). The `*_endpoint`
//! functions and [`drive_exchange`] run a whole request against any
//! synchronous [`Store`], such as the fixed-capacity [`MemoryStore`].
//!
//! Parsing follows RFC 6749 §3.1–§3.2: unknown parameters are ignored, an
//! empty value counts as absent, and a recognised parameter sent twice is
//! `invalid_request`. Protocol errors are [`OAuthError`] values carrying an
//! [`ErrorCode`] and the HTTP status to answer with.
//!
//! Token material ([`Token`]: 256 bits, base64url) comes from a caller
//! `rand_core` RNG ([`rand_core::TryCryptoRng`], so a failing hardware RNG
//! is an error, not a panic); only its SHA-256 ([`TokenHash`]) is stored.
//! Time is a [`UnixTime`](crate::UnixTime) argument; lifetimes live in a
//! [`Policy`].
//!
//! ## Client
//!
//! [`client`] holds the device flow ([`client::DeviceFlow`]), the
//! authorization code + PKCE flow ([`client::AuthCodeFlow`]), token
//! refresh ([`client::TokenSet`]) and the parsers for token, error and
//! device authorization responses.
//!
//! ## Decisions
//!
//! * Fixed capacities instead of const generics on records: client ids 64
//!   bytes, redirect URIs 256 (4 per client), scopes 256, subjects 64.
//!   Longer values are refused, never truncated.
//! * Client secrets are held as SHA-256 digests and compared in constant
//!   time; the host may keep them encrypted for OAuth 1 and hash on load.
//! * A request with no `scope` gets the client's whole allowed scope.
//! * Token responses always include `scope`.

mod authorize;
pub(crate) mod bearer;
pub mod client;
mod client_auth;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod device;
mod error;
mod exchange;
mod introspect;
mod json;
mod metadata;
pub(crate) mod params;
pub mod pkce;
mod policy;
mod revoke;
pub mod scope;
mod store;
mod token_material;
mod token_request;

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod rfc_vectors;

pub use authorize::{
    Approval, AuthorizationRequest, ErrorRedirect, Rejection, ValidAuthorization, is_loopback_host,
    redirect_uri_matches,
};
pub use bearer::{BearerError, BearerToken, authorize_bearer, check_access};
pub use client_auth::{
    AuthMethod, BasicCredentials, ClientCredentials, is_basic, write_basic_authorization,
};
pub use device::{
    DEVICE_RESPONSE_HEADERS, DeviceAuthorization, DeviceAuthorizationRequest, DeviceDone,
    DeviceIssued, DeviceNeedClient, DeviceVerification, NeedDevice, PendingDevice,
    device_authorization_endpoint, verify_user_code,
};
pub use error::{ErrorCode, OAuthError, RngError};
pub use exchange::{
    Done, Exchange, IssuedTokens, NeedClient, NeedGrant, RESPONSE_HEADERS, SLOW_DOWN_STEP,
    drive_exchange, finish, token_endpoint,
};
pub use introspect::{
    Introspection, IntrospectionDone, IntrospectionNeedClient, IntrospectionNeedToken,
    IntrospectionResponse, TokenQuery, TokenTypeHint, introspection_endpoint, is_active,
};
pub(crate) use json::render as render_json;
pub use json::{JsonError, JsonStr, JsonStrList, MAX_DEPTH, Unescape};
pub use metadata::{ID_TOKEN_ALGS, Metadata, MetadataDocument};
pub use pkce::{ChallengeMethod, CodeVerifier, MalformedVerifier, s256_challenge};
pub use policy::{MAX_CODE_TTL, MAX_REFRESH_GRACE, Policy};
pub use revoke::{
    Revocation, RevocationDone, RevocationNeedClient, RevocationNeedToken, revocation_endpoint,
};
pub use scope::{MAX_SCOPE, Scope};
pub use store::{
    AccessRecord, ClientId, ClientRecord, CodeRecord, DeviceRecord, DeviceStatus, FamilyId,
    GrantKind, GrantRecord, GrantType, GrantTypes, MAX_CLIENT_ID, MAX_REDIRECT_URI,
    MAX_REDIRECT_URIS, MAX_SUBJECT, MAX_WRITES, MemoryStore, PkceChallenge, PreviousSecret,
    RedirectUri, RefreshRecord, Store, StoreError, Subject, TokenRecord, Write, Writes,
};
pub use token_material::{
    ORDERED_TOKEN_LEN, TOKEN_LEN, Token, TokenHash, USER_CODE_ALPHABET, USER_CODE_LEN, UserCode,
    UserCodeDisplay, UserCodeError,
};
pub use token_request::{GrantRequest, TokenRequest};
