//! OAuth 1.0a (RFC 5849).
//!
//! * [`Request`] signs a request as a client (§3.1–§3.5) and writes the
//!   `Authorization` header value into a caller buffer.
//! * [`SignedRequest`] is the provider side (§3.2): it parses a request's
//!   protocol parameters, lets the caller look up the secrets, then checks the
//!   signature (constant time), the timestamp window and the nonce (§3.3).
//! * [`AuthorizationHeader`] parses and [`write_authorization`] builds the
//!   header itself (§3.5.1).
//! * [`ParamList`] is the fixed-capacity parameter list the signature base
//!   string (§3.4.1) is normalised over; the base string is streamed into the
//!   MAC and never built whole.
//! * [`Login`] → [`PendingAuthorization`] → [`AuthorizedLogin`] is the
//!   consumer's three-legged login (§2) as a typed, sans-IO state machine.
//! * [`issue_temporary`], [`authorize`] and [`issue_token`] are the
//!   provider's decisions in that flow, with storage left to the caller.
//! * [`NonceStore`] is how the provider remembers nonces; [`MemoryNonceStore`]
//!   is a fixed-capacity table for firmware and tests.

mod base_string;
mod client;
mod consumer;
mod grant;
mod header;
mod nonce;
mod params;
mod problem;
mod provider;
mod signature;

pub use base_string::write_base_string;
pub use client::{ProtocolParams, Request, SignError};
pub use consumer::{
    AuthorizedLogin, ConsumerConfig, ConsumerError, Credentials, Login, PendingAuthorization,
    TokenCredentials,
};
pub use grant::{
    Authorization, AuthorizeError, ClientRecord, DEFAULT_TEMPORARY_TTL, Minted, TemporaryIssued,
    TemporaryRecord, TokenIssued, authorize, hash, issue_temporary, issue_token,
};
pub use header::{AuthorizationHeader, HeaderError, HeaderParams, write_authorization};
pub use nonce::{MemoryNonceStore, NonceError, NonceKey, NonceStore};
pub use params::{Param, ParamError, ParamList};
pub use problem::Problem;
pub use provider::{Endpoint, Policy, RequestParts, SignedRequest};
pub use signature::{Secrets, SignatureMethod};

#[cfg(any(test, feature = "selftest"))]
pub(crate) mod rfc_vectors;
