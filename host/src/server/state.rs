//! What every handler shares.

use crate::crypto::SecretBox;
use crate::keys::Keys;
use crate::storage::Db;
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
    /// Scopes named in `[oauth2] scopes` (the metadata document adds the
    /// registered clients' scopes), with their consent-page descriptions.
    pub scopes: std::collections::BTreeMap<String, Option<String>>,
    /// Recently seen access tokens; see [`AccessCache`].
    pub access_cache: AccessCache,
    /// Brute-force limits.
    pub limits: crate::server::limits::Limits,
    /// Argon2 verifications allowed at once (one per core): the rest wait
    /// here, off tokio's workers.
    pub password_gate: tokio::sync::Semaphore,
    /// Recently loaded client records (5 s; a change made through this
    /// server's admin API drops its entry at once; on PostgreSQL so does
    /// one made anywhere else, by notification, and on SQLite one made by
    /// the command line is seen within the 5 s; new clients are never
    /// cached absent). Bypassed with the access cache
    /// ([`AppState::caches_trusted`]).
    pub client_cache:
        quick_cache::sync::Cache<String, (latch_core::oauth2::ClientRecord, std::time::Instant)>,
    /// The id_token and JWT signing keys (re-read every few seconds).
    pub signing: crate::signing::SigningKeys,
    /// `[oauth2] access_token_format = "jwt"`: RFC 9068 access tokens for
    /// every client registered without a format of its own.
    pub jwt_access_tokens: bool,
    /// Security events (consent, revocations, reuse, failed logins, admin
    /// changes).
    pub audit: crate::audit::AuditLog,
    /// Seconds audit events are kept (`[audit] retention_days`).
    pub audit_retention: u64,
}

/// A cache of access-token records for protected resources, so that a
/// Bearer request costs no database round trip.
///
/// Entries live at most [`AccessCache::TTL`]; revocations made by this
/// process remove their entries at once (by token or by family), and on
/// PostgreSQL so do every other replica's and the command line's, by
/// notification ([`crate::invalidate`]). While this replica cannot hear
/// those notifications the cache is empty and bypassed (its
/// [`Trust`](crate::invalidate::Trust)). Expiry is still checked by the
/// core on every use.
#[derive(Debug)]
pub struct AccessCache(
    quick_cache::sync::Cache<[u8; 32], (latch_core::oauth2::AccessRecord, std::time::Instant)>,
    crate::invalidate::Trust,
);

impl Default for AccessCache {
    fn default() -> Self {
        AccessCache(
            quick_cache::sync::Cache::new(100_000),
            crate::invalidate::Trust::default(),
        )
    }
}

impl AccessCache {
    /// How long an entry is trusted.
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(10);

    /// A fresh entry for this token hash.
    pub fn get(
        &self,
        hash: &latch_core::oauth2::TokenHash,
    ) -> Option<latch_core::oauth2::AccessRecord> {
        let found = self
            .1
            .is_trusted()
            .then(|| self.0.get(&hash.0))
            .flatten()
            .filter(|(_, at)| at.elapsed() < Self::TTL)
            .map(|(r, _)| r);
        super::metrics::cache("access_token", found.is_some());
        found
    }

    /// How many entries the cache holds (fresh or not yet evicted).
    pub fn entries(&self) -> usize {
        self.0.len()
    }

    /// Whether the caches may answer, and their generation.
    pub fn trust(&self) -> &crate::invalidate::Trust {
        &self.1
    }

    /// Take before reading a record from the database, for [`Self::put`].
    pub fn stamp(&self) -> crate::invalidate::Stamp {
        self.1.stamp()
    }

    /// Remembers a record found in the database by a read that started at
    /// `stamp` — unless something was invalidated since, or the cache is
    /// bypassed ([`crate::invalidate::Trust::holds`]).
    pub fn put(&self, record: &latch_core::oauth2::AccessRecord, stamp: crate::invalidate::Stamp) {
        if !self.1.holds(stamp) {
            return;
        }
        self.0
            .insert(record.hash.0, (record.clone(), std::time::Instant::now()));
        if !self.1.holds(stamp) {
            self.0.remove(&record.hash.0);
        }
    }

    /// Forgets every entry `revoked` says is gone (an operator's or a
    /// user's revocation).
    pub fn forget_where(&self, revoked: impl Fn(&latch_core::oauth2::AccessRecord) -> bool) {
        self.1.bump();
        self.0.retain(|_, (r, _)| !revoked(r));
    }

    /// Forgets one token.
    pub fn forget_hash(&self, hash: &latch_core::oauth2::TokenHash) {
        self.1.bump();
        self.0.remove(&hash.0);
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.1.bump();
        self.0.clear();
    }

    /// Forgets what the writes revoke.
    pub fn forget(&self, writes: &[latch_core::oauth2::Write]) {
        use latch_core::oauth2::Write;
        for w in writes {
            match w {
                Write::RevokeAccessToken { hash } => self.forget_hash(hash),
                Write::RevokeFamily { family } => self.forget_where(|r| r.family == *family),
                _ => {}
            }
        }
    }
}

impl AppState {
    /// Each scope token of `scope` with its description, if configured.
    pub fn describe<'a>(&'a self, scope: &'a str) -> Vec<(&'a str, Option<&'a str>)> {
        scope
            .split(' ')
            .filter(|x| !x.is_empty())
            .map(|x| (x, self.scopes.get(x).and_then(|d| d.as_deref())))
            .collect()
    }

    /// Whether the caches may answer: always on SQLite; on PostgreSQL
    /// while the invalidation listener is connected
    /// ([`crate::invalidate`]).
    pub fn caches_trusted(&self) -> bool {
        self.access_cache.trust().is_trusted()
    }

    /// Forgets a cached client record.
    pub fn forget_client(&self, id: &str) {
        self.access_cache.trust().bump();
        self.client_cache.remove(id);
    }

    /// What a running server does after a change made through it (admin
    /// API, `/account`): forget the cached copies concerned (the client,
    /// access tokens `revoked` names) and write the audit event. The
    /// command line writes its event itself; on PostgreSQL its changes
    /// (and this server's) reach every replica's caches by notification
    /// ([`crate::invalidate`]), on SQLite within the cache lifetimes.
    pub fn record_change(
        &self,
        event: crate::audit::Event,
        revoked: Option<&crate::admin::ops::Target>,
    ) {
        if let Some(id) = &event.client_id {
            self.forget_client(id);
        }
        if let Some(target) = revoked {
            match target.invalidation() {
                // The same forgetting a notification from another replica
                // makes.
                Some(what) => crate::invalidate::apply(self, &what),
                // One token by value: its family is not known here; forget all.
                None => self.access_cache.forget_where(|_| true),
            }
        }
        self.audit.record(event);
    }

    /// Whether the issuer is https (TLS here or in front of Latch).
    pub fn https(&self) -> bool {
        self.issuer.starts_with("https://")
    }

    /// Cookie names and flags: `Secure` and `__Host-` under https.
    pub fn cookies(&self) -> crate::server::session::CookiePolicy {
        crate::server::session::CookiePolicy {
            secure: self.https(),
        }
    }
}

/// Shared state as handlers receive it.
pub type Shared = Arc<AppState>;
