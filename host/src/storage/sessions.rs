//! Login sessions of the server's own pages (the cookie's id hashed).

use super::Db;
use super::error::DbError;
use sqlx::Row;

impl Db {
    /// Forgets nonces whose timestamps can no longer be accepted.
    /// Stores a login session (by the hash of its id).
    pub async fn insert_login_session(
        &self,
        id_hash: &str,
        username: &str,
        created_at: i64,
        expires_at: i64,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO login_sessions (id_hash, username, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(username)
        .bind(created_at)
        .bind(expires_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The user of an unexpired login session, and when that user entered
    /// the password (the session's start: OpenID Connect's `auth_time`).
    pub async fn login_session(
        &self,
        id_hash: &str,
        now: i64,
    ) -> Result<Option<(String, i64)>, DbError> {
        let row = sqlx::query(
            "SELECT s.username, s.created_at FROM login_sessions s JOIN users u ON u.username = s.username \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| {
                Ok::<_, sqlx::Error>((
                    r.try_get::<String, _>("username")?,
                    r.try_get::<i64, _>("created_at")?,
                ))
            })
            .transpose()?)
    }

    /// Ends a login session.
    pub async fn delete_login_session(&self, id_hash: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM login_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
