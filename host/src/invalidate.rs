//! Cache invalidation across replicas, by PostgreSQL `LISTEN/NOTIFY`.
//!
//! Every replica caches access-token records ([`AccessCache`], 10 s) and
//! client records (`client_cache`, 5 s). A revocation or a client change
//! made anywhere — through another replica, its admin API, `/account`, or
//! the command line — must reach every replica's caches, not wait for the
//! entries to age out:
//!
//! * **Send.** Every write that revokes access tokens or changes a client
//!   also runs `SELECT pg_notify('latch_invalidate', payload)` ([`notify`])
//!   *inside its own transaction*, so the notification is delivered exactly
//!   when the change commits, and never for a change rolled back. The
//!   writes that notify: the core's [`Write::RevokeAccessToken`] and
//!   [`Write::RevokeFamily`] (RFC 7009 revocation, code and refresh-token
//!   reuse, lost races) in `Db::apply`; the operator's revocations by
//!   client, user, grant or token (`latch token revoke`, `client remove`,
//!   `user disable`/`remove`, the admin API, `/account`); a client updated,
//!   removed or given a new secret.
//! * **Payload** ([`Invalidation::payload`]): a kind letter, `:`, and what
//!   is stored anyway — never a token. `a:<sha256 hex>` (an access token's
//!   stored hash), `f:<family hex>`, `c:<client_id>` (the client record),
//!   `t:<client_id>` (every token of a client), `u:<username>` (every token
//!   of a user), `g:<username> <client_id>` (one grant; usernames have no
//!   spaces), `*` (everything). A payload this version does not know, or
//!   one that would not fit PostgreSQL's 8000 bytes, means `*`.
//! * **Receive.** Each replica holds one extra connection (sqlx
//!   [`PgListener`], `application_name` `latch-invalidate (pid N)`) that
//!   `LISTEN`s on the channel and applies each notification to its caches
//!   ([`apply`]). Its own notifications come back too: harmless.
//! * **Cut.** While that connection is not up — before it first connects,
//!   and from the moment it is lost (an error, the server closing it, or no
//!   answer to a `SELECT 1` after [`PROBE_AFTER`] of silence) until it is
//!   back — the replica cannot hear invalidations, so it empties both caches
//!   at once and *bypasses* them: every lookup goes to the database, and
//!   nothing is cached ([`Trust`]). It reconnects after 1 s, then 2, 4, up
//!   to [`RETRY_MAX`]; once `LISTEN` is back, caching resumes. Each change
//!   is logged; `latch_caches_trusted` (0 or 1) on `/metrics` shows it.
//! * **Races.** A request that read a record from the database and then
//!   caches it could cache it just after an invalidation for it went past.
//!   [`Trust`] carries a generation that every invalidation (and every
//!   change of trust) bumps; a record read under an older generation is not
//!   kept ([`Trust::stamp`], [`AccessCache::put`]).
//!
//! SQLite has no listener and sends nothing: one process owns the file, and
//! its own changes clear its caches directly (`AccessCache::forget`,
//! `AppState::record_change`); the command line's changes reach it within
//! the cache lifetimes, as before.
//!
//! [`AccessCache`]: crate::server::state::AccessCache
//! [`AccessCache::put`]: crate::server::state::AccessCache::put
//! [`Write::RevokeAccessToken`]: latch_core::oauth2::Write::RevokeAccessToken
//! [`Write::RevokeFamily`]: latch_core::oauth2::Write::RevokeFamily
//! [`PgListener`]: sqlx::postgres::PgListener

use crate::server::state::AppState;
pub use crate::storage::notify::{CHANNEL, Invalidation, notify};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The listener connection's `application_name` prefix (the process id
/// follows), so that operators (and the tests) can find it in
/// `pg_stat_activity`.
pub const APPLICATION_NAME: &str = "latch-invalidate";

/// After this long without a notification, the listener checks that its
/// connection still answers.
pub const PROBE_AFTER: Duration = Duration::from_secs(3);

/// How long that check may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The first reconnection delay (doubled on each failure).
pub const RETRY_FIRST: Duration = Duration::from_secs(1);

/// The longest reconnection delay.
pub const RETRY_MAX: Duration = Duration::from_secs(8);

/// Whether this replica may serve from its caches, and the generation
/// that every invalidation bumps.
#[derive(Debug)]
pub struct Trust {
    trusted: AtomicBool,
    generation: AtomicU64,
}

impl Default for Trust {
    /// Trusted: a process that owns its database alone (SQLite) hears of
    /// every change it must. A PostgreSQL replica starts untrusted
    /// ([`start`]) until its listener is up.
    fn default() -> Self {
        Trust {
            trusted: AtomicBool::new(true),
            generation: AtomicU64::new(0),
        }
    }
}

/// The generation a database read started under ([`Trust::stamp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(u64);

impl Trust {
    /// Whether the caches may answer.
    pub fn is_trusted(&self) -> bool {
        self.trusted.load(Ordering::SeqCst)
    }

    /// Take before reading what will be cached.
    pub fn stamp(&self) -> Stamp {
        Stamp(self.generation.load(Ordering::SeqCst))
    }

    /// Whether a record read under `stamp` may be cached: trusted, and no
    /// invalidation since. Check before caching it and again after (an
    /// invalidation between the check and the insert bumps the generation
    /// before it removes entries).
    pub fn holds(&self, stamp: Stamp) -> bool {
        self.is_trusted() && self.generation.load(Ordering::SeqCst) == stamp.0
    }

    /// An invalidation is about to remove entries.
    pub fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn set(&self, trusted: bool) {
        self.trusted.store(trusted, Ordering::SeqCst);
        self.bump();
    }
}

/// Empties both caches and bypasses them until [`trust`].
pub fn distrust(state: &AppState) {
    state.access_cache.trust().set(false);
    state.access_cache.clear();
    state.client_cache.clear();
}

/// Resumes caching (from empty caches).
pub fn trust(state: &AppState) {
    state.access_cache.clear();
    state.client_cache.clear();
    state.access_cache.trust().set(true);
}

/// Applies one notification to this replica's caches.
pub fn apply(state: &AppState, what: &Invalidation) {
    let cache = &state.access_cache;
    let is = |x: &Option<latch_core::oauth2::Subject>, u: &str| {
        x.as_ref().is_some_and(|x| x.as_str() == u)
    };
    match what {
        Invalidation::AccessToken(h) => cache.forget_hash(h),
        Invalidation::Family(f) => cache.forget_where(|r| r.family == *f),
        Invalidation::Client(id) => state.forget_client(id),
        Invalidation::ClientTokens(id) => cache.forget_where(|r| r.client_id.as_str() == id),
        Invalidation::UserTokens(u) => cache.forget_where(|r| is(&r.subject, u)),
        Invalidation::GrantTokens {
            username,
            client_id,
        } => cache.forget_where(|r| r.client_id.as_str() == client_id && is(&r.subject, username)),
        Invalidation::Everything => {
            cache.clear();
            state.access_cache.trust().bump();
            state.client_cache.clear();
        }
    }
}

/// Starts the listener of a PostgreSQL replica (`url`): the caches are
/// bypassed from now until it is connected.
pub fn start(state: Arc<AppState>, url: String) {
    distrust(&state);
    tokio::spawn(listen(state, url));
}

async fn connect(url: &str) -> Result<(sqlx::PgPool, sqlx::postgres::PgListener), sqlx::Error> {
    use std::str::FromStr;
    let name = format!("{APPLICATION_NAME} (pid {})", std::process::id());
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?.application_name(&name);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    // A lost connection is reported (Ok(None)), not silently replaced: the
    // caches must be emptied first.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok((pool, listener))
}

/// Receives until the connection is lost; returns why.
async fn receive(state: &AppState, listener: &mut sqlx::postgres::PgListener) -> String {
    loop {
        match tokio::time::timeout(PROBE_AFTER, listener.try_recv()).await {
            Ok(Ok(Some(n))) => {
                tracing::debug!(payload = n.payload(), "invalidation received");
                apply(state, &Invalidation::parse(n.payload()));
            }
            Ok(Ok(None)) => return "connection closed".to_owned(),
            Ok(Err(e)) => return e.to_string(),
            // Quiet for a while: is the connection still there? (A
            // connection that silently died would never say so.)
            Err(_) => {
                let probe = sqlx::query("SELECT 1").execute(&mut *listener);
                match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return e.to_string(),
                    Err(_) => return "no answer to a probe".to_owned(),
                }
            }
        }
    }
}

async fn listen(state: Arc<AppState>, url: String) {
    let mut delay = RETRY_FIRST;
    loop {
        match connect(&url).await {
            Ok((pool, mut listener)) => {
                // Everything committed from here on is notified; what was
                // committed before is in the database, and the caches are
                // empty.
                trust(&state);
                tracing::info!(
                    channel = CHANNEL,
                    "invalidation listener connected: caches in use"
                );
                delay = RETRY_FIRST;
                let why = receive(&state, &mut listener).await;
                distrust(&state);
                tracing::warn!(
                    error = %why,
                    retry_in_s = delay.as_secs(),
                    "invalidation listener lost: caches emptied and bypassed (serving from the database) until it reconnects"
                );
                drop(listener);
                // Closing waits for the connection; never hold this task.
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(5), pool.close()).await;
                });
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    retry_in_s = delay.as_secs(),
                    "invalidation listener cannot connect: caches bypassed (serving from the database)"
                );
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(RETRY_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_holds_until_an_invalidation_or_a_cut() {
        let t = Trust::default();
        let s = t.stamp();
        assert!(t.holds(s));
        t.bump();
        assert!(!t.holds(s), "an invalidation since the read");
        let s = t.stamp();
        t.set(false);
        assert!(!t.is_trusted() && !t.holds(s) && !t.holds(t.stamp()));
        let during = t.stamp();
        t.set(true);
        assert!(!t.holds(during), "read while untrusted: not cached");
        assert!(t.holds(t.stamp()));
    }

    /// On PostgreSQL (when the test command started one): a notification
    /// sent in a transaction arrives only when it commits, not when it is
    /// rolled back.
    #[tokio::test]
    async fn notifications_are_sent_on_commit_only() {
        let Ok(admin) = std::env::var("LATCH_TEST_PG") else {
            return;
        };
        sqlx::any::install_default_drivers();
        let (_pool, mut listener) = connect(&admin).await.unwrap();
        let pool = sqlx::AnyPool::connect(&admin).await.unwrap();
        let nonce = format!("{}-{}", std::process::id(), line!());
        let rolled_back = Invalidation::Client(format!("rolled-back-{nonce}"));
        let committed = Invalidation::Client(format!("committed-{nonce}"));
        let mut tx = pool.begin().await.unwrap();
        notify(&mut tx, &rolled_back).await.unwrap();
        tx.rollback().await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        notify(&mut tx, &committed).await.unwrap();
        tx.commit().await.unwrap();
        // Other tests' notifications may arrive too (one server, one
        // channel): skip those.
        let got = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let n = listener.try_recv().await.unwrap().unwrap();
                let i = Invalidation::parse(n.payload());
                if i == rolled_back || i == committed {
                    return i;
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(got, committed);
    }

    /// SQLite sends nothing (and does not fail).
    #[tokio::test]
    async fn sqlite_sends_nothing() {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect("sqlite::memory:").await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        notify(&mut tx, &Invalidation::Everything).await.unwrap();
        tx.commit().await.unwrap();
    }
}
