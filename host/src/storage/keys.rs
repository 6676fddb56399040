//! id_token signing keys (private halves sealed; see `crate::signing`).

use super::Db;
use super::error::{DbError, duplicate};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct SigningKeyRow {
    /// Key id.
    pub kid: String,
    /// `RS256`, `ES256` or `EdDSA`.
    pub alg: String,
    /// The sealed private key (PKCS#8 DER, base64 in the box).
    pub private_box: String,
    /// When it was made.
    pub created_at: i64,
    /// When it starts signing.
    pub activates_at: i64,
    /// When it leaves the JWK Set, if planned.
    pub retires_at: Option<i64>,
}

impl Db {
    /// Every signing key still published (not retired before `now`),
    /// oldest first.
    pub async fn signing_keys(&self, now: i64) -> Result<Vec<SigningKeyRow>, DbError> {
        let rows = sqlx::query(
            "SELECT kid, alg, private_box, created_at, activates_at, retires_at FROM signing_keys \
             WHERE retires_at IS NULL OR retires_at > $1 ORDER BY created_at, kid",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKeyRow {
                    kid: r.try_get("kid")?,
                    alg: r.try_get("alg")?,
                    private_box: r.try_get("private_box")?,
                    created_at: r.try_get("created_at")?,
                    activates_at: r.try_get("activates_at")?,
                    retires_at: r.try_get("retires_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(DbError::Other)
    }

    /// Adds signing keys and schedules the retirement of older keys of the
    /// same algorithms, in one transaction (`latch keys rotate`, first
    /// start).
    pub async fn add_signing_keys(
        &self,
        keys: &[SigningKeyRow],
        retire_others_at: Option<i64>,
    ) -> Result<(), DbError> {
        let mut tx = self.writer.begin().await?;
        for k in keys {
            if let Some(at) = retire_others_at {
                sqlx::query(
                    "UPDATE signing_keys SET retires_at = $1 WHERE alg = $2 AND retires_at IS NULL",
                )
                .bind(at)
                .bind(&k.alg)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, private_box, created_at, activates_at, retires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(&k.private_box)
            .bind(k.created_at)
            .bind(k.activates_at)
            .bind(k.retires_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| duplicate(e, || format!("signing key {}", k.kid)))?;
        }
        tx.commit().await?;
        Ok(())
    }
}
