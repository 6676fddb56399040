//! What every handler shares.

use crate::crypto::SecretBox;
use crate::db::Db;
use crate::keys::Keys;
use latch_core::oauth1;
use std::sync::Arc;

/// The server's shared state.
#[derive(Debug)]
pub struct AppState {
    /// Storage.
    pub db: Db,
    /// Keys (sessions, CSRF).
    pub keys: Keys,
    /// Secrets at rest.
    pub secret_box: SecretBox,
    /// The issuer URL, without a trailing slash.
    pub issuer: String,
    /// What OAuth1 signatures are accepted.
    pub oauth1_policy: oauth1::Policy,
    /// OAuth2 lifetimes and intervals.
    pub oauth2_policy: latch_core::oauth2::Policy,
    /// Scopes advertised in the metadata document.
    pub scopes_supported: Vec<String>,
}

impl AppState {
    /// Whether cookies must be `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.issuer.starts_with("https://")
    }
}

/// Shared state as handlers receive it.
pub type Shared = Arc<AppState>;
