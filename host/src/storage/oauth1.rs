//! OAuth 1.0a rows (RFC 5849 §2): temporary credentials, token
//! credentials, and the nonces of §3.3, each nonce recorded in the same
//! transaction as what it authorised. Secrets are sealed on the way in and
//! opened on the way out (the [`SecretBox`], keyed to the row's token
//! hash), so a handler only ever sees [`Secret`]s.

use super::error::DbError;
use super::{Db, unix_now};
use crate::crypto::SecretBox;
use sqlx::Row;

/// A credential's shared secret, opened; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret (as minted by the core).
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A stored OAuth1 temporary credential.
#[derive(Debug, Clone)]
pub struct Oauth1Temporary {
    /// The client it was issued to.
    pub client_id: String,
    /// The temporary secret.
    pub secret: Secret,
    /// The accepted callback.
    pub callback: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Hex SHA-256 of the verifier, once approved.
    pub verifier_hash: Option<String>,
    /// Who approved it.
    pub username: Option<String>,
}

/// A stored OAuth1 access token.
#[derive(Debug, Clone)]
pub struct Oauth1Token {
    /// The client.
    pub client_id: String,
    /// The token secret.
    pub secret: Secret,
    /// The user who authorized it.
    pub username: String,
}

/// The outcome of recording a nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceOutcome {
    /// First use.
    Recorded,
    /// Seen before.
    Replayed,
}

impl Db {
    /// Stores a temporary credential and its request's nonce, atomically.
    pub async fn insert_oauth1_temporary(
        &self,
        token_hash: &str,
        t: &Oauth1Temporary,
        nonce: Option<(&str, i64)>,
        sealed: &SecretBox,
    ) -> Result<NonceOutcome, DbError> {
        let secret_box = sealed.seal(token_hash, t.secret.as_str())?;
        let mut tx = self.writer.begin().await?;
        if let Some((key, forget_after)) = nonce
            && record_nonce(&mut tx, key, forget_after).await? == NonceOutcome::Replayed
        {
            return Ok(NonceOutcome::Replayed);
        }
        sqlx::query(
            "INSERT INTO oauth1_temporary (token_hash, secret_box, client_id, callback, expires_at)              VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(&secret_box)
        .bind(&t.client_id)
        .bind(&t.callback)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(NonceOutcome::Recorded)
    }

    /// Loads a temporary credential by token hash.
    pub async fn oauth1_temporary(
        &self,
        token_hash: &str,
        sealed: &SecretBox,
    ) -> Result<Option<Oauth1Temporary>, DbError> {
        let row = sqlx::query(
            "SELECT client_id, secret_box, callback, expires_at, verifier_hash, username              FROM oauth1_temporary WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<_, DbError> {
            Ok(Oauth1Temporary {
                client_id: r.try_get("client_id")?,
                secret: Secret(sealed.open(token_hash, &r.try_get::<String, _>("secret_box")?)?),
                callback: r.try_get("callback")?,
                expires_at: r.try_get("expires_at")?,
                verifier_hash: r.try_get("verifier_hash")?,
                username: r.try_get("username")?,
            })
        })
        .transpose()
    }

    /// Records the user's approval, once: `false` if it was already answered
    /// or is gone.
    pub async fn approve_oauth1_temporary(
        &self,
        token_hash: &str,
        verifier_hash: &str,
        username: &str,
    ) -> Result<bool, DbError> {
        let r = sqlx::query(
            "UPDATE oauth1_temporary SET verifier_hash = $1, username = $2              WHERE token_hash = $3 AND verifier_hash IS NULL",
        )
        .bind(verifier_hash)
        .bind(username)
        .bind(token_hash)
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deletes a temporary credential (denied).
    pub async fn delete_oauth1_temporary(&self, token_hash: &str) -> Result<(), DbError> {
        sqlx::query("DELETE FROM oauth1_temporary WHERE token_hash = $1 AND verifier_hash IS NULL")
            .bind(token_hash)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Consumes an approved temporary credential and stores the access
    /// token, with the request's nonce, in one transaction. `Ok(None)` if the
    /// nonce was replayed; `Ok(Some(false))` if the temporary credential was
    /// already consumed (a concurrent exchange won).
    pub async fn exchange_oauth1_temporary(
        &self,
        temporary_hash: &str,
        token_hash: &str,
        token: &Oauth1Token,
        nonce: Option<(&str, i64)>,
        sealed: &SecretBox,
    ) -> Result<Option<bool>, DbError> {
        let secret_box = sealed.seal(token_hash, token.secret.as_str())?;
        let mut tx = self.writer.begin().await?;
        if let Some((key, forget_after)) = nonce
            && record_nonce(&mut tx, key, forget_after).await? == NonceOutcome::Replayed
        {
            return Ok(None);
        }
        let consumed = sqlx::query(
            "DELETE FROM oauth1_temporary WHERE token_hash = $1 AND verifier_hash IS NOT NULL",
        )
        .bind(temporary_hash)
        .execute(&mut *tx)
        .await?;
        if consumed.rows_affected() != 1 {
            return Ok(Some(false));
        }
        sqlx::query(
            "INSERT INTO oauth1_tokens (token_hash, secret_box, client_id, username, created_at, revoked)              VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(token_hash)
        .bind(&secret_box)
        .bind(&token.client_id)
        .bind(&token.username)
        .bind(unix_now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    /// Loads an unrevoked OAuth1 access token by hash.
    pub async fn oauth1_token(
        &self,
        token_hash: &str,
        sealed: &SecretBox,
    ) -> Result<Option<Oauth1Token>, DbError> {
        let row = sqlx::query(
            "SELECT client_id, secret_box, username FROM oauth1_tokens WHERE token_hash = $1 AND revoked = 0",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| -> Result<_, DbError> {
            Ok(Oauth1Token {
                client_id: r.try_get("client_id")?,
                secret: Secret(sealed.open(token_hash, &r.try_get::<String, _>("secret_box")?)?),
                username: r.try_get("username")?,
            })
        })
        .transpose()
    }

    /// Records a nonce on its own (protected resource requests).
    pub async fn record_nonce(
        &self,
        key: &str,
        forget_after: i64,
    ) -> Result<NonceOutcome, DbError> {
        let mut tx = self.writer.begin().await?;
        let outcome = record_nonce(&mut tx, key, forget_after).await?;
        tx.commit().await?;
        Ok(outcome)
    }
}

async fn record_nonce(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &str,
    forget_after: i64,
) -> Result<NonceOutcome, DbError> {
    // A unique-key conflict is the replay; ON CONFLICT keeps the
    // transaction usable on PostgreSQL.
    let r = sqlx::query(
        "INSERT INTO oauth1_nonces (nonce_key, forget_after) VALUES ($1, $2) ON CONFLICT (nonce_key) DO NOTHING",
    )
    .bind(key)
    .bind(forget_after)
    .execute(&mut **tx)
    .await?;
    Ok(if r.rows_affected() == 1 {
        NonceOutcome::Recorded
    } else {
        NonceOutcome::Replayed
    })
}
