//! Users: their login name, password hash and OpenID profile.

use super::error::{DbError, duplicate};
use super::{Db, unix_now};
use sqlx::Row;

/// What the OpenID claims say about a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    /// The username (`preferred_username`).
    pub username: String,
    /// The public subject identifier (`sub`).
    pub sub: String,
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified`.
    pub email_verified: bool,
}

/// A user's OpenID profile as `latch user add` takes it.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// `--name`.
    pub name: Option<String>,
    /// `--email`.
    pub email: Option<String>,
    /// `--email-verified`.
    pub email_verified: bool,
}

impl Db {
    /// Inserts a user with its public subject id `sub`; a duplicate name
    /// is [`DbError::Duplicate`].
    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: &str,
        sub: &str,
        profile: &Profile,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO users (username, password_hash, created_at, sub, name, email, email_verified) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(username)
        .bind(password_hash)
        .bind(unix_now())
        .bind(sub)
        .bind(profile.name.as_deref())
        .bind(profile.email.as_deref())
        .bind(i64::from(profile.email_verified))
        .execute(&self.writer)
        .await
        .map_err(|e| duplicate(e, || format!("user {username:?}")))?;
        Ok(())
    }

    /// Gives every user from before OpenID Connect a random `sub`
    /// (`fresh` makes one); returns how many were filled in.
    pub async fn backfill_subs(&self, fresh: impl Fn() -> String) -> Result<u64, DbError> {
        let rows = sqlx::query("SELECT username FROM users WHERE sub IS NULL")
            .fetch_all(&self.pool)
            .await?;
        let mut n = 0;
        for r in rows {
            let u: String = r.try_get("username")?;
            n += sqlx::query("UPDATE users SET sub = $1 WHERE username = $2 AND sub IS NULL")
                .bind(fresh())
                .bind(&u)
                .execute(&self.writer)
                .await?
                .rows_affected();
        }
        Ok(n)
    }

    /// A user's OpenID claims.
    pub async fn user(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        let row = sqlx::query(
            "SELECT username, sub, name, email, email_verified FROM users WHERE username = $1 AND sub IS NOT NULL",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(UserRow {
                username: r.try_get("username")?,
                sub: r.try_get("sub")?,
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                email_verified: r.try_get::<i64, _>("email_verified")? != 0,
            })
        })
        .transpose()
        .map_err(DbError::Other)
    }

    /// A user's password hash; `None` for an unknown or disabled user, so
    /// that a disabled user's login fails exactly like an unknown one.
    pub async fn password_hash(&self, username: &str) -> Result<Option<String>, DbError> {
        let row =
            sqlx::query("SELECT password_hash FROM users WHERE username = $1 AND disabled = 0")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
    }
}
