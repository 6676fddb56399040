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

use crate::crypto::SecretBox;
use crate::db::{ClientRow, Db, DbError};
use latch_core::UnixTime;
use latch_core::oauth2::{
    AccessRecord, ChallengeMethod, ClientRecord, CodeRecord, DeviceRecord, DeviceStatus, FamilyId,
    GrantKind, GrantRecord, GrantType, GrantTypes, PkceChallenge, RefreshRecord, StoreError,
    TokenHash, TokenRecord, UserCode, Write,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

fn hex32(h: &TokenHash) -> String {
    hex::encode(h.0)
}

fn family_hex(f: &FamilyId) -> String {
    hex::encode(f.0)
}

fn parse_hash(s: &str) -> Option<TokenHash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out)
        .ok()
        .map(|()| TokenHash(out))
}

fn parse_family(s: &str) -> Option<FamilyId> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out)
        .ok()
        .map(|()| FamilyId(out))
}

fn secs(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

fn time(v: i64) -> UnixTime {
    UnixTime(u64::try_from(v).unwrap_or(0))
}

fn hs<const N: usize>(s: &str) -> Option<heapless::String<N>> {
    heapless::String::try_from(s).ok()
}

/// The space-separated grant type names a client row stores.
pub fn grant_types_from(names: &str) -> GrantTypes {
    names.split(' ').fold(GrantTypes::NONE, |g, n| {
        GrantType::ALL
            .iter()
            .find(|t| t.as_str() == n)
            .map_or(g, |t| g.with(*t))
    })
}

/// The core's view of a client row: the secret is opened and hashed (the
/// core compares SHA-256 digests in constant time). `None` if the row does
/// not fit the core's capacities (the CLI refuses such clients).
/// `jwt_by_default`: `[oauth2] access_token_format = "jwt"`, for clients
/// registered without a format of their own.
pub fn client_record(
    row: &ClientRow,
    secret_box: &SecretBox,
    jwt_by_default: bool,
) -> Result<Option<ClientRecord>, DbError> {
    let secret = match &row.secret_box {
        Some(b) => Some(
            secret_box
                .open(&row.id, b)
                .map_err(|e| DbError::Other(sqlx::Error::Decode(Box::new(e))))?,
        ),
        None => None,
    };
    let uris: Vec<&str> = row.redirect_uris.iter().map(String::as_str).collect();
    let Ok(mut record) = ClientRecord::new(
        &row.id,
        secret.as_deref(),
        &uris,
        &row.scope,
        grant_types_from(&row.grant_types),
    ) else {
        return Ok(None);
    };
    if let Some((sealed, until)) = &row.previous_secret {
        let old = secret_box
            .open(&row.id, sealed)
            .map_err(|e| DbError::Other(sqlx::Error::Decode(Box::new(e))))?;
        record.previous_secret = Some(latch_core::oauth2::PreviousSecret {
            hash: TokenHash::of(old.as_bytes()),
            until: time(*until),
        });
    }
    record.allow_plain_pkce = row.allow_plain_pkce;
    record.allow_no_pkce = row.allow_no_pkce && !row.public;
    record.resource_server = row.resource_server && !row.public;
    record.id_token_alg =
        latch_core::jose::Alg::parse(&row.id_token_alg).unwrap_or(latch_core::jose::Alg::Rs256);
    record.jwt_access_tokens = match row.access_token_format.as_str() {
        "jwt" => true,
        "opaque" => false,
        _ => jwt_by_default,
    };
    Ok(Some(record))
}

fn code_row(r: &AnyRow) -> Option<CodeRecord> {
    let challenge = match (
        r.try_get::<Option<String>, _>("challenge_method").ok()?,
        r.try_get::<Option<String>, _>("challenge").ok()?,
    ) {
        (Some(m), Some(v)) => Some(PkceChallenge {
            method: if m == "plain" {
                ChallengeMethod::Plain
            } else {
                ChallengeMethod::S256
            },
            value: hs(&v)?,
        }),
        _ => None,
    };
    Some(CodeRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        subject: hs(r.try_get("subject").ok()?)?,
        scope: hs(r.try_get("scope").ok()?)?,
        redirect_uri: hs(r.try_get("redirect_uri").ok()?)?,
        redirect_uri_sent: r.try_get::<i64, _>("redirect_uri_sent").ok()? != 0,
        challenge,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: time(r.try_get("expires_at").ok()?),
        consumed: r.try_get::<i64, _>("consumed").ok()? != 0,
        oidc: match r.try_get::<Option<i64>, _>("auth_time").ok()? {
            Some(t) => Some(latch_core::oidc::OidcGrant {
                nonce: match r.try_get::<Option<String>, _>("nonce").ok()? {
                    Some(n) => Some(hs(&n)?),
                    None => None,
                },
                auth_time: time(t),
            }),
            None => None,
        },
    })
}

fn subject_of(r: &AnyRow) -> Option<Option<latch_core::oauth2::Subject>> {
    match r.try_get::<Option<String>, _>("subject").ok()? {
        Some(s) => Some(Some(hs(&s)?)),
        None => Some(None),
    }
}

fn access_row(r: &AnyRow) -> Option<AccessRecord> {
    Some(AccessRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        family: parse_family(r.try_get("family").ok()?)?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        subject: subject_of(r)?,
        scope: hs(r.try_get("scope").ok()?)?,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: time(r.try_get("expires_at").ok()?),
    })
}

fn refresh_row(r: &AnyRow) -> Option<RefreshRecord> {
    Some(RefreshRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        family: parse_family(r.try_get("family").ok()?)?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        subject: subject_of(r)?,
        scope: hs(r.try_get("scope").ok()?)?,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: r.try_get::<Option<i64>, _>("expires_at").ok()?.map(time),
        // Retired before migration 0009 (no time): rotated long ago.
        retired_at: if r.try_get::<i64, _>("retired").ok()? != 0 {
            Some(time(
                r.try_get::<Option<i64>, _>("retired_at").ok()?.unwrap_or(0),
            ))
        } else {
            None
        },
        auth_time: r.try_get::<Option<i64>, _>("auth_time").ok()?.map(time),
    })
}

fn device_row(r: &AnyRow) -> Option<DeviceRecord> {
    let status = match r.try_get::<String, _>("status").ok()?.as_str() {
        "pending" => DeviceStatus::Pending,
        "approved" => {
            DeviceStatus::Approved(hs(&r.try_get::<Option<String>, _>("subject").ok()??)?)
        }
        "denied" => DeviceStatus::Denied,
        _ => DeviceStatus::Redeemed,
    };
    Some(DeviceRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        user_code: UserCode::parse(r.try_get("user_code").ok()?).ok()?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        scope: hs(r.try_get("scope").ok()?)?,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: time(r.try_get("expires_at").ok()?),
        interval: u32::try_from(r.try_get::<i64, _>("poll_interval").ok()?).ok()?,
        last_poll: r.try_get::<Option<i64>, _>("last_poll").ok()?.map(time),
        status,
    })
}

const CODE_COLS: &str = "hash, client_id, subject, scope, redirect_uri, redirect_uri_sent, challenge_method, challenge, issued_at, expires_at, consumed, nonce, auth_time";
const TOKEN_COLS: &str = "hash, family, client_id, subject, scope, issued_at, expires_at";
const DEVICE_COLS: &str = "hash, user_code, client_id, scope, issued_at, expires_at, poll_interval, last_poll, status, subject";

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

    /// Applies the core's writes in one transaction; see the module docs.
    /// On SQLite the writes go through the group-commit writer
    /// ([`GroupWriter`]); on PostgreSQL, straight to a transaction.
    pub async fn apply(&self, writes: &[Write]) -> Result<(), ApplyError> {
        if writes.is_empty() {
            return Ok(());
        }
        if let Some(group) = self.group_writer() {
            return group.apply(writes.to_vec()).await;
        }
        let mut tx = self.writer().begin().await.map_err(DbError::from)?;
        apply_all(&mut tx, writes).await?;
        tx.commit().await.map_err(DbError::from)?;
        Ok(())
    }
}

/// Why applying writes failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A conditional write found its row changed: answer with the core's
    /// conflict response.
    #[error("a conditional write lost a race")]
    Conflict,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ApplyError> for StoreError {
    fn from(e: ApplyError) -> Self {
        match e {
            ApplyError::Conflict => StoreError::Conflict,
            ApplyError::Db(_) => StoreError::Unavailable,
        }
    }
}

/// Applies `writes` inside `tx`; a conditional write that touches no row is
/// a conflict (the caller rolls back).
async fn apply_all(tx: &mut Transaction<'_, Any>, writes: &[Write]) -> Result<(), ApplyError> {
    for w in writes {
        let rows = apply_one(tx, w).await.map_err(DbError::from)?;
        if w.is_conditional() && rows != 1 {
            return Err(ApplyError::Conflict);
        }
    }
    Ok(())
}

struct Job {
    writes: Vec<Write>,
    reply: tokio::sync::oneshot::Sender<Result<(), ApplyError>>,
}

/// Group commit for SQLite, whose single writer makes each small
/// transaction pay the whole cost of a commit and of two thread hand-offs.
/// One task takes every pending request's writes, applies those with a
/// compare-and-set write under their own `SAVEPOINT` (so one request's
/// conflict rolls back only its writes), and commits them all at once;
/// every request is answered after the commit.
#[derive(Debug, Clone)]
pub struct GroupWriter {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

/// Most requests one commit carries.
const GROUP_MAX: usize = 256;

impl GroupWriter {
    /// Starts the writer task on `pool` (the one-connection writer pool).
    pub fn start(pool: sqlx::AnyPool) -> Self {
        let (jobs, mut rx) = tokio::sync::mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < GROUP_MAX {
                    match rx.try_recv() {
                        Ok(j) => batch.push(j),
                        Err(_) => break,
                    }
                }
                crate::server::metrics::group_commit(batch.len());
                let results = commit_batch(&pool, &batch).await;
                for (job, r) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(r);
                }
            }
        });
        GroupWriter { jobs }
    }

    async fn apply(&self, writes: Vec<Write>) -> Result<(), ApplyError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || ApplyError::Db(DbError::Other(sqlx::Error::PoolClosed));
        self.jobs
            .send(Job { writes, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn commit_batch(pool: &sqlx::AnyPool, batch: &[Job]) -> Vec<Result<(), ApplyError>> {
    use sqlx::Connection;
    let failed = |e: &sqlx::Error| {
        batch
            .iter()
            .map(|_| {
                Err(ApplyError::Db(DbError::Other(sqlx::Error::Protocol(
                    e.to_string(),
                ))))
            })
            .collect()
    };
    let mut tx = match pool.begin().await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    // Requests whose only writes are new access tokens (client_credentials
    // issuance, the busiest) share multi-row INSERTs: each statement is a
    // round trip to sqlx's SQLite worker thread. (A/B under wrk: 5-13% less
    // server CPU per issued token.)
    let bulk: Vec<bool> = batch
        .iter()
        .map(|job| {
            !job.writes.is_empty()
                && job
                    .writes
                    .iter()
                    .all(|w| matches!(w, Write::StoreAccessToken(_)))
        })
        .collect();
    let rows: Vec<&AccessRecord> = batch
        .iter()
        .zip(&bulk)
        .filter(|(_, b)| **b)
        .flat_map(|(job, _)| &job.writes)
        .filter_map(|w| match w {
            Write::StoreAccessToken(a) => Some(a),
            _ => None,
        })
        .collect();
    if let Err(e) = insert_access_tokens(&mut tx, &rows).await {
        return failed(&e);
    }
    let mut results = Vec::with_capacity(batch.len());
    for (job, bulk) in batch.iter().zip(bulk) {
        if bulk {
            results.push(Ok(()));
            continue;
        }
        // Only a conditional write can fail on its own; a request without
        // one needs no savepoint (a database error fails the whole batch).
        if !job.writes.iter().any(Write::is_conditional) {
            match apply_all(&mut tx, &job.writes).await {
                Ok(()) => results.push(Ok(())),
                Err(ApplyError::Db(e)) => return failed(&sqlx::Error::Protocol(e.to_string())),
                Err(ApplyError::Conflict) => results.push(Err(ApplyError::Conflict)),
            }
            continue;
        }
        let mut sp = match (*tx).begin().await {
            Ok(sp) => sp,
            Err(e) => return failed(&e),
        };
        match apply_all(&mut sp, &job.writes).await {
            Ok(()) => match sp.commit().await {
                Ok(()) => results.push(Ok(())),
                Err(e) => return failed(&e),
            },
            Err(err) => {
                if let Err(e) = sp.rollback().await {
                    return failed(&e);
                }
                results.push(Err(err));
            }
        }
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => failed(&e),
    }
}

/// Inserts access tokens with as few statements as a power-of-two split of
/// their count gives (1, 2, 4, … up to 128 rows each), so that only eight
/// statement texts are ever prepared and cached.
async fn insert_access_tokens(
    tx: &mut Transaction<'_, Any>,
    rows: &[&AccessRecord],
) -> Result<(), sqlx::Error> {
    const MOST: usize = 128;
    let mut rest = rows;
    while !rest.is_empty() {
        let n = if rest.len() >= MOST {
            MOST
        } else {
            1 << (usize::BITS - 1 - rest.len().leading_zeros())
        };
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut sql = String::from(
            "INSERT INTO oauth2_access_tokens (hash, family, client_id, subject, scope, issued_at, expires_at) VALUES ",
        );
        for i in 0..n {
            if i > 0 {
                sql.push_str(", ");
            }
            // The group writer is SQLite only: positional `?` binds
            // directly, where `$N` is looked up by name for every value.
            sql.push_str("(?, ?, ?, ?, ?, ?, ?)");
        }
        let mut q = sqlx::query(&sql);
        for a in chunk {
            q = q
                .bind(hex32(&a.hash))
                .bind(family_hex(&a.family))
                .bind(a.client_id.as_str())
                .bind(a.subject.as_ref().map(|s| s.as_str()))
                .bind(a.scope.as_str())
                .bind(secs(a.issued_at))
                .bind(secs(a.expires_at));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn apply_one(tx: &mut Transaction<'_, Any>, w: &Write) -> Result<u64, sqlx::Error> {
    let q = |sql: &'static str| sqlx::query(sql);
    let r = match w {
        Write::StoreCode(c) => {
            q("INSERT INTO oauth2_codes (hash, client_id, subject, scope, redirect_uri, redirect_uri_sent, challenge_method, challenge, issued_at, expires_at, consumed, nonce, auth_time) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12)")
            .bind(hex32(&c.hash))
            .bind(c.client_id.as_str())
            .bind(c.subject.as_str())
            .bind(c.scope.as_str())
            .bind(c.redirect_uri.as_str())
            .bind(i64::from(c.redirect_uri_sent))
            .bind(c.challenge.as_ref().map(|p| p.method.as_str()))
            .bind(c.challenge.as_ref().map(|p| p.value.as_str()))
            .bind(secs(c.issued_at))
            .bind(secs(c.expires_at))
            .bind(c.oidc.as_ref().and_then(|o| o.nonce.as_ref()).map(|n| n.as_str()))
            .bind(c.oidc.as_ref().map(|o| secs(o.auth_time)))
            .execute(&mut **tx)
            .await?
        }
        Write::ConsumeCode { hash } => {
            q("UPDATE oauth2_codes SET consumed = 1 WHERE hash = $1 AND consumed = 0")
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?
        }
        Write::StoreAccessToken(a) => {
            q("INSERT INTO oauth2_access_tokens (hash, family, client_id, subject, scope, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(hex32(&a.hash))
                .bind(family_hex(&a.family))
                .bind(a.client_id.as_str())
                .bind(a.subject.as_ref().map(|s| s.as_str()))
                .bind(a.scope.as_str())
                .bind(secs(a.issued_at))
                .bind(secs(a.expires_at))
                .execute(&mut **tx)
                .await?
        }
        Write::StoreRefreshToken(r) => {
            q("INSERT INTO oauth2_refresh_tokens (hash, family, client_id, subject, scope, issued_at, expires_at, retired, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)")
                .bind(hex32(&r.hash))
                .bind(family_hex(&r.family))
                .bind(r.client_id.as_str())
                .bind(r.subject.as_ref().map(|s| s.as_str()))
                .bind(r.scope.as_str())
                .bind(secs(r.issued_at))
                .bind(r.expires_at.map(secs))
                .bind(r.auth_time.map(secs))
                .execute(&mut **tx)
                .await?
        }
        Write::RetireRefreshToken { hash, at, grace: 0 } => {
            q("UPDATE oauth2_refresh_tokens SET retired = 1, retired_at = $1 WHERE hash = $2 AND retired = 0")
                .bind(secs(*at))
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?
        }
        // The grace window: also a token retired less than `grace` seconds
        // before `at` (`at < retired_at + grace`, written without the
        // addition that could overflow), keeping its first time. A token
        // retired before migration 0009 has no time and never qualifies.
        Write::RetireRefreshToken { hash, at, grace } => {
            let since = secs(*at).saturating_sub(i64::try_from(*grace).unwrap_or(i64::MAX));
            q("UPDATE oauth2_refresh_tokens SET retired = 1, retired_at = CASE WHEN retired = 0 THEN $1 ELSE retired_at END \
               WHERE hash = $2 AND (retired = 0 OR (retired_at IS NOT NULL AND retired_at > $3))")
                .bind(secs(*at))
                .bind(hex32(hash))
                .bind(since)
                .execute(&mut **tx)
                .await?
        }
        Write::StoreDevice(d) => {
            q("INSERT INTO oauth2_devices (hash, user_code, client_id, scope, issued_at, expires_at, poll_interval, last_poll, status, subject) \
               SELECT $1, $2, $3, $4, $5, $6, $7, NULL, 'pending', NULL \
               WHERE NOT EXISTS (SELECT 1 FROM oauth2_devices WHERE user_code = $8 AND expires_at > $9)")
            .bind(hex32(&d.hash))
            .bind(d.user_code.as_str())
            .bind(d.client_id.as_str())
            .bind(d.scope.as_str())
            .bind(secs(d.issued_at))
            .bind(secs(d.expires_at))
            .bind(i64::from(d.interval))
            .bind(d.user_code.as_str())
            .bind(secs(d.issued_at))
            .execute(&mut **tx)
            .await?
        }
        Write::RecordDevicePoll { hash, at, interval } => {
            q("UPDATE oauth2_devices SET last_poll = $1, poll_interval = $2 WHERE hash = $3")
                .bind(secs(*at))
                .bind(i64::from(*interval))
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?
        }
        Write::ApproveDevice { hash, subject } => {
            q("UPDATE oauth2_devices SET status = 'approved', subject = $1 WHERE hash = $2 AND status = 'pending'")
                .bind(subject.as_str())
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?
        }
        Write::DenyDevice { hash } => {
            q("UPDATE oauth2_devices SET status = 'denied' WHERE hash = $1 AND status = 'pending'")
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?
        }
        Write::RedeemDevice { hash } => {
            q("UPDATE oauth2_devices SET status = 'redeemed' WHERE hash = $1 AND status = 'approved'")
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?
        }
        Write::RevokeFamily { family } => {
            let f = family_hex(family);
            let a = q("DELETE FROM oauth2_access_tokens WHERE family = $1").bind(&f).execute(&mut **tx).await?;
            let r = q("DELETE FROM oauth2_refresh_tokens WHERE family = $1").bind(&f).execute(&mut **tx).await?;
            // Other replicas forget their cached copies when this commits.
            if a.rows_affected() > 0 {
                crate::invalidate::notify(tx, &crate::invalidate::Invalidation::Family(*family)).await?;
            }
            return Ok(a.rows_affected() + r.rows_affected());
        }
        Write::RevokeAccessToken { hash } => {
            let r = q("DELETE FROM oauth2_access_tokens WHERE hash = $1")
                .bind(hex32(hash))
                .execute(&mut **tx)
                .await?;
            if r.rows_affected() > 0 {
                crate::invalidate::notify(tx, &crate::invalidate::Invalidation::AccessToken(*hash)).await?;
            }
            r
        }
        other => {
            return Err(sqlx::Error::Protocol(format!("unsupported write {other:?}")));
        }
    };
    Ok(r.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DbUrl;

    fn access(i: u32) -> AccessRecord {
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&i.to_be_bytes());
        let hash = TokenHash::of(&bytes);
        AccessRecord {
            hash,
            family: FamilyId::of(&hash),
            client_id: "cid".try_into().unwrap(),
            subject: None,
            scope: "read".try_into().unwrap(),
            issued_at: UnixTime(1_700_000_000),
            expires_at: UnixTime(1_700_003_600),
        }
    }

    /// Hundreds of concurrent issuances share the group writer's multi-row
    /// inserts (batches of every size up to and past 128 rows); each token is
    /// there afterwards, exactly as issued.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_issuances_are_all_stored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db").display().to_string();
        let db = Db::open(&DbUrl::Sqlite {
            url: format!("sqlite://{file}"),
            file,
        })
        .await
        .unwrap();
        let n = 700u32;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let db = db.clone();
            tasks.spawn(async move { db.apply(&[Write::StoreAccessToken(access(i))]).await });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap().unwrap();
        }
        for i in 0..n {
            let want = access(i);
            assert_eq!(db.oauth2_access(&want.hash).await.unwrap(), Some(want));
        }
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM oauth2_access_tokens")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, i64::from(n));
    }
}
