//! The audit log: who did what security-relevant thing to which client or
//! user, and when — consent given or denied, tokens revoked, refresh-token
//! reuse, failed logins, and every administrative change.
//!
//! Each event is written twice: as a log line on the tracing target
//! `latch::audit` (one JSON object with `--log-format json`), and as a row
//! of `audit_events`, kept for `[audit] retention_days` (default 90) and
//! listed by `GET /admin/audit`. An event names its actor (`cli:<OS user>`,
//! `admin:<client_id>`, `user:<name>`, `client:<client_id>`, or
//! `address:<ip>` for a failed login) and never carries a secret, a token
//! or a password: `detail` is built from fixed words and counts.
//!
//! The server queues rows for a writer task ([`AuditLog`]) so that a burst
//! of failed logins costs the request path no database round trip; when the
//! queue is full the row is dropped (the log line is still written) and
//! counted in `latch_audit_dropped_total`. The command line writes its row
//! directly ([`record_now`]).

use crate::storage::{Db, DbError, unix_now};
use sqlx::Row;

/// One security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened, e.g. `consent.approved`, `client.secret_rotated`.
    pub event: &'static str,
    /// Who did it (see the module docs).
    pub actor: String,
    /// The client concerned, if any.
    pub client_id: Option<String>,
    /// The user concerned, if any.
    pub username: Option<String>,
    /// Fixed words and counts; never a secret.
    pub detail: String,
}

impl Event {
    /// An event of `kind` done by `actor`.
    pub fn new(event: &'static str, actor: impl Into<String>) -> Self {
        Event {
            event,
            actor: actor.into(),
            client_id: None,
            username: None,
            detail: String::new(),
        }
    }

    /// The client concerned.
    #[must_use]
    pub fn client(mut self, id: impl Into<String>) -> Self {
        self.client_id = Some(id.into());
        self
    }

    /// The user concerned.
    #[must_use]
    pub fn user(mut self, name: impl Into<String>) -> Self {
        self.username = Some(name.into());
        self
    }

    /// What else to say (no secrets).
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    fn log(&self) {
        tracing::info!(
            target: "latch::audit",
            event = self.event,
            actor = %self.actor,
            client_id = self.client_id.as_deref(),
            username = self.username.as_deref(),
            detail = %self.detail,
            "audit"
        );
    }
}

/// A user's answer on a consent page (`protocol`: the flow, e.g.
/// `authorization_code`, `device_code`, `oauth1`). A denial may come from
/// someone not signed in: then the actor is `anonymous`.
pub fn consent(approved: bool, user: Option<&str>, client_id: &str, protocol: &str) -> Event {
    let e = Event::new(
        if approved {
            "consent.approved"
        } else {
            "consent.denied"
        },
        user.map_or_else(|| "anonymous".to_owned(), |u| format!("user:{u}")),
    )
    .client(client_id)
    .detail(protocol.to_owned());
    match user {
        Some(u) => e.user(u),
        None => e,
    }
}

/// A stored audit event.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StoredEvent {
    /// When (Unix seconds).
    pub at: i64,
    /// What happened.
    pub event: String,
    /// Who did it.
    pub actor: String,
    /// The client concerned.
    pub client_id: Option<String>,
    /// The user concerned.
    pub username: Option<String>,
    /// Fixed words and counts.
    pub detail: String,
}

/// A row key that sorts by time: microseconds, then 64 random bits (two
/// events in one microsecond on two replicas still get distinct keys).
fn row_id() -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut r = [0u8; 8];
    let _ = getrandom::fill(&mut r);
    format!("{micros:016x}{}", hex::encode(r))
}

impl Db {
    /// Stores audit events in one transaction.
    pub async fn insert_audit(&self, events: &[(i64, Event)]) -> Result<(), DbError> {
        let mut tx = self.writer().begin().await?;
        for (at, e) in events {
            sqlx::query(
                "INSERT INTO audit_events (id, at, event, actor, client_id, username, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(row_id())
            .bind(*at)
            .bind(e.event)
            .bind(&e.actor)
            .bind(e.client_id.as_deref())
            .bind(e.username.as_deref())
            .bind(&e.detail)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest `limit` audit events, newest first, optionally only those
    /// about one client or one user.
    pub async fn audit_events(
        &self,
        limit: i64,
        client_id: Option<&str>,
        username: Option<&str>,
    ) -> Result<Vec<StoredEvent>, DbError> {
        let rows = sqlx::query(
            "SELECT at, event, actor, client_id, username, detail FROM audit_events \
             WHERE ($1 IS NULL OR client_id = $1) AND ($2 IS NULL OR username = $2) \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(client_id)
        .bind(username)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredEvent {
                    at: r.try_get("at")?,
                    event: r.try_get("event")?,
                    actor: r.try_get("actor")?,
                    client_id: r.try_get("client_id")?,
                    username: r.try_get("username")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::Other)
    }

    /// Deletes audit events older than `before` (Unix seconds), in batches.
    pub async fn purge_audit(&self, before: i64) -> Result<u64, DbError> {
        let mut total = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(crate::storage::PURGE_BATCH)
            .execute(self.writer())
            .await?
            .rows_affected();
            total += n;
            if n < u64::try_from(crate::storage::PURGE_BATCH).unwrap_or(u64::MAX) {
                return Ok(total);
            }
        }
    }
}

/// Logs and stores one event now (the command line).
pub async fn record_now(db: &Db, event: Event) -> Result<(), DbError> {
    event.log();
    db.insert_audit(&[(unix_now(), event)]).await
}

/// The server's audit log: events are logged at once and stored by a
/// writer task, in batches.
#[derive(Debug, Clone)]
pub struct AuditLog {
    queue: tokio::sync::mpsc::Sender<(i64, Event)>,
}

/// Events waiting to be stored at most.
const QUEUE: usize = 4096;

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn start(db: Db) -> Self {
        let (queue, mut rx) = tokio::sync::mpsc::channel::<(i64, Event)>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(64);
            while rx.recv_many(&mut batch, 256).await > 0 {
                if let Err(e) = db.insert_audit(&batch).await {
                    tracing::error!(error = %e, lost = batch.len(), "storing audit events failed");
                }
                batch.clear();
            }
        });
        AuditLog { queue }
    }

    /// Logs `event` and queues it for storage.
    pub fn record(&self, event: Event) {
        event.log();
        if self.queue.try_send((unix_now(), event)).is_err() {
            metrics::counter!("latch_audit_dropped_total").increment(1);
        }
    }
}
