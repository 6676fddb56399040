//! Deleting what has expired, in bounded batches.

use super::Db;
use super::error::DbError;

impl Db {
    /// Deletes every expired row (codes, tokens, device codes, OAuth1
    /// temporary credentials, nonces, login sessions) in batches of
    /// [`PURGE_BATCH`] — each batch its own short statement, so a large
    /// backlog never holds SQLite's write lock for long — through the
    /// expiry indexes (migration 0007). Returns how many rows went.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, DbError> {
        let mut total = 0;
        for (table, key, expired) in PURGES {
            let sql = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {expired} LIMIT $2)"
            );
            loop {
                let n = sqlx::query(&sql)
                    .bind(now)
                    .bind(PURGE_BATCH)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                total += n;
                if n < u64::try_from(PURGE_BATCH).unwrap_or(u64::MAX) {
                    break;
                }
            }
        }
        Ok(total)
    }
}

/// Rows deleted per purge statement.
pub const PURGE_BATCH: i64 = 1000;

/// What expires, per table: (table, primary key, the expiry condition with
/// `$1` = now). Refresh tokens without an expiry live until revoked; a
/// consumed code is kept until it expires, so that its reuse is still
/// detected.
pub const PURGES: [(&str, &str, &str); 7] = [
    ("oauth2_codes", "hash", "expires_at < $1"),
    ("oauth2_access_tokens", "hash", "expires_at < $1"),
    (
        "oauth2_refresh_tokens",
        "hash",
        "expires_at IS NOT NULL AND expires_at < $1",
    ),
    ("oauth2_devices", "hash", "expires_at < $1"),
    ("oauth1_temporary", "token_hash", "expires_at < $1"),
    ("oauth1_nonces", "nonce_key", "forget_after < $1"),
    ("login_sessions", "id_hash", "expires_at <= $1"),
];
