//! The OAuth 2.0 records of `latch_core::oauth2` in SQL, and the core's
//! [`Write`]s applied in one transaction.
//!
//! Conditional writes (consume a code, retire a refresh token, move a
//! device code along, store a device code whose user code must be unused)
//! are `UPDATE … WHERE <still in the expected state>` or `INSERT … WHERE
//! NOT EXISTS`; if one touches no row, the transaction is rolled back and
//! [`StoreError::Conflict`] tells the caller to send the core's conflict
//! answer. Two concurrent redemptions of one code therefore cannot both
//! succeed: the database serialises the `UPDATE`s and the loser sees zero
//! rows. Retiring a refresh token with a grace window also matches a row
//! retired within the window (the core's [`RefreshRecord::is_reuse`]), so
//! the loser of two concurrent refreshes is served from the window.

use super::Db;
use super::codec::{
    CODE_COLS, DEVICE_COLS, TOKEN_COLS, access_row, code_row, device_row, hex32, refresh_row, secs,
};
use super::error::DbError;
use latch_core::UnixTime;
use latch_core::oauth2::{
    AccessRecord, DeviceRecord, GrantKind, GrantRecord, TokenHash, TokenRecord, UserCode,
};

impl Db {
    /// The grant of `kind` with this hash.
    pub async fn oauth2_grant(
        &self,
        kind: GrantKind,
        hash: &TokenHash,
    ) -> Result<Option<GrantRecord>, DbError> {
        let h = hex32(hash);
        Ok(match kind {
            GrantKind::AuthorizationCode => sqlx::query(&format!(
                "SELECT {CODE_COLS} FROM oauth2_codes WHERE hash = $1"
            ))
            .bind(&h)
            .fetch_optional(self.pool())
            .await?
            .and_then(|r| code_row(&r))
            .map(GrantRecord::AuthorizationCode),
            GrantKind::RefreshToken => sqlx::query(&format!(
                "SELECT {TOKEN_COLS}, retired, retired_at, auth_time FROM oauth2_refresh_tokens WHERE hash = $1"
            ))
            .bind(&h)
            .fetch_optional(self.pool())
            .await?
            .and_then(|r| refresh_row(&r))
            .map(GrantRecord::RefreshToken),
            GrantKind::DeviceCode => sqlx::query(&format!(
                "SELECT {DEVICE_COLS} FROM oauth2_devices WHERE hash = $1"
            ))
            .bind(&h)
            .fetch_optional(self.pool())
            .await?
            .and_then(|r| device_row(&r))
            .map(GrantRecord::DeviceCode),
        })
    }

    /// The access token with this hash.
    pub async fn oauth2_access(&self, hash: &TokenHash) -> Result<Option<AccessRecord>, DbError> {
        Ok(sqlx::query(&format!(
            "SELECT {TOKEN_COLS} FROM oauth2_access_tokens WHERE hash = $1"
        ))
        .bind(hex32(hash))
        .fetch_optional(self.pool())
        .await?
        .and_then(|r| access_row(&r)))
    }

    /// The access or refresh token with this hash.
    pub async fn oauth2_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, DbError> {
        if let Some(a) = self.oauth2_access(hash).await? {
            return Ok(Some(TokenRecord::Access(a)));
        }
        match self.oauth2_grant(GrantKind::RefreshToken, hash).await? {
            Some(GrantRecord::RefreshToken(r)) => Ok(Some(TokenRecord::Refresh(r))),
            _ => Ok(None),
        }
    }

    /// The newest unexpired device code with this user code.
    pub async fn oauth2_device_by_user_code(
        &self,
        code: &UserCode,
        now: UnixTime,
    ) -> Result<Option<DeviceRecord>, DbError> {
        Ok(sqlx::query(&format!(
            "SELECT {DEVICE_COLS} FROM oauth2_devices WHERE user_code = $1 AND expires_at > $2 ORDER BY issued_at DESC LIMIT 1"
        ))
        .bind(code.as_str())
        .bind(secs(now))
        .fetch_optional(self.pool())
        .await?
        .and_then(|r| device_row(&r)))
    }
}
