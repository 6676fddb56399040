//! OpenID Connect 1.0: the decisions an OpenID Provider makes on top of
//! OAuth 2.0's authorization code flow, and the relying party's check of
//! the id_token it gets back ([`rp`]).
//!
//! | module | what | spec |
//! | --- | --- | --- |
//! | [`request`] | `nonce`, `prompt`, `max_age`, `login_hint`; log in, consent, or `login_required`/`consent_required` | OpenID Connect Core 1.0 §3.1.2.1, §3.1.2.3, §3.1.2.6 |
//! | [`access_token`] | RFC 9068 JWT access token claims | RFC 9068 §2 |
//! | [`id_token`] | the id_token's claims, `at_hash` | Core §2, §3.1.3.3, §3.1.3.6, §12.2 |
//! | [`logout`] | RP-initiated logout: the client, the post-logout redirect | RP-Initiated Logout 1.0 §2, §3 |
//! | [`userinfo`] | claims released per scope, the UserInfo body | Core §5.1, §5.3, §5.4 |
//! | [`rp`] | relying party: the id_token validated (signature, `iss`, `aud`/`azp`, `exp`/`iat`, `nonce`, `at_hash`) | Core §3.1.3.7, §3.1.3.8 |
//!
//! The authorization request's OpenID parameters are parsed by
//! [`crate::oauth2::AuthorizationRequest`] when the requested scope holds
//! `openid` ([`crate::oauth2::ValidAuthorization::oidc`]); the code record
//! keeps `nonce` and `auth_time` ([`OidcGrant`]), the refresh record keeps
//! `auth_time`, and the token exchange produces [`IdTokenClaims`] for the
//! shell to sign with [`crate::jose`].

pub mod access_token;
pub mod id_token;
pub mod logout;
pub mod request;
pub mod rp;
pub mod userinfo;

pub use access_token::AccessTokenClaims;
pub use id_token::{IdTokenClaims, at_hash};
pub use logout::{AfterLogout, LogoutRequest};
pub use request::{MAX_LOGIN_HINT, MAX_NONCE, Nonce, OidcRequest, Prompt, Step};
pub use rp::{IdTokenError, IdTokenExpected, ReceivedIdToken, ValidIdToken, id_token_in};
pub use userinfo::{CLAIMS_SUPPORTED, OIDC_SCOPES, UserClaims, may_read_userinfo};

use crate::time::UnixTime;

/// What an authorization code issued for an OpenID request remembers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcGrant {
    /// The request's `nonce`, for the id_token.
    pub nonce: Option<Nonce>,
    /// When the user last entered a password (`auth_time`).
    pub auth_time: UnixTime,
}
