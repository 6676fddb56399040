//! The core's [`Write`]s applied atomically (see [`super::oauth2`] for
//! the conditional-write rule), as the SQL of [`codec::statements`].
//!
//! * **PostgreSQL:** group commit too, by a task on the pool: every request
//!   waiting (up to [`GROUP_MAX`]) in one transaction, a `SAVEPOINT` per
//!   request with a conditional write, one commit (one WAL flush) for all;
//!   each revocation also tells the other replicas ([`super::notify`]). If
//!   the batch as a whole fails (a deadlock with another replica's batch, a
//!   lost connection), each of its requests is retried in a transaction of
//!   its own, so one request's trouble is never another's answer.
//! * **SQLite:** one writer thread ([`GroupWriter`]) owns a rusqlite
//!   connection with every statement prepared once and cached. It takes
//!   every request waiting (up to [`GROUP_MAX`]), applies each request's
//!   writes — under its own `SAVEPOINT` when it has a conditional write, so
//!   one request's conflict rolls back only its writes — and **commits them
//!   all at once**; each request is answered after that commit (WAL,
//!   `synchronous = NORMAL`: a committed batch survives the process being
//!   killed). Why a thread of its own: the profile of sqlx's SQLite driver
//!   under issuance load showed the time going to hand-offs between tokio
//!   and sqlx's worker thread (one per statement) and to checkpoints run
//!   inside the commit path (bench/NOTES.md). A second thread copies the
//!   WAL back into the database (`PASSIVE` checkpoints, [`CHECKPOINT_EVERY`])
//!   so that the writer's own checkpoint, when the WAL passes
//!   [`WRITER_CHECKPOINT_PAGES`], has little left to copy.

use super::Db;
use super::codec::{self, Arg, Statement};
use super::error::{ApplyError, DbError};
use latch_core::oauth2::Write;
use sqlx::{Any, Transaction};
use std::time::Duration;

impl Db {
    /// Applies the core's writes in one transaction; see the module docs.
    pub async fn apply(&self, writes: &[Write]) -> Result<(), ApplyError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.group_writer().apply(writes.to_vec()).await
    }
}

/// A write the SQL store does not take (the core added a kind).
fn unsupported(w: &Write) -> String {
    format!("unsupported write {w:?}")
}

/// Applies `writes` inside `tx`; a conditional write that touches no row is
/// a conflict (the caller rolls back).
async fn apply_all(tx: &mut Transaction<'_, Any>, writes: &[Write]) -> Result<(), ApplyError> {
    for w in writes {
        held(w, apply_one(tx, w).await.map_err(DbError::from)?)?;
    }
    Ok(())
}

/// The conditional-write rule, for both drivers: a conditional write must
/// have touched exactly its one row.
fn held(w: &Write, rows: u64) -> Result<(), ApplyError> {
    if w.is_conditional() && rows != 1 {
        return Err(ApplyError::Conflict);
    }
    Ok(())
}

/// Runs one statement in `tx`; the rows it touched.
pub(crate) async fn execute(
    tx: &mut Transaction<'_, Any>,
    s: &Statement,
) -> Result<u64, sqlx::Error> {
    let mut q = sqlx::query(s.sql);
    for a in &s.args {
        q = match a {
            Arg::Text(t) => q.bind(t.as_str()),
            Arg::Int(v) => q.bind(*v),
            Arg::NullText => q.bind(None::<String>),
            Arg::NullInt => q.bind(None::<i64>),
        };
    }
    Ok(q.execute(&mut **tx).await?.rows_affected())
}

async fn apply_one(tx: &mut Transaction<'_, Any>, w: &Write) -> Result<u64, sqlx::Error> {
    if let Write::RevokeFamily { family } = w {
        let (access, refresh) = revoke_family(tx, family).await?;
        return Ok(access + refresh);
    }
    let statements = codec::statements(w).ok_or_else(|| sqlx::Error::Protocol(unsupported(w)))?;
    let mut rows = 0;
    for s in &statements {
        rows += execute(tx, s).await?;
    }
    // Other replicas forget their cached copies when this commits.
    if let Write::RevokeAccessToken { hash } = w
        && rows > 0
    {
        super::notify::notify(tx, &super::notify::Invalidation::AccessToken(*hash)).await?;
    }
    Ok(rows)
}

/// Revokes a family inside `tx` ([`codec::family_revocation`]) and, if it
/// held access tokens, tells the other replicas when `tx` commits; the
/// access and refresh tokens deleted.
pub(crate) async fn revoke_family(
    tx: &mut Transaction<'_, Any>,
    family: &latch_core::oauth2::FamilyId,
) -> Result<(u64, u64), sqlx::Error> {
    let (mut access, mut refresh) = (0, 0);
    for (i, s) in codec::family_revocation(family).iter().enumerate() {
        let n = execute(tx, s).await?;
        if i < codec::FAMILY_REVOCATION_ACCESS {
            access += n;
        } else {
            refresh += n;
        }
    }
    if access > 0 {
        super::notify::notify(tx, &super::notify::Invalidation::Family(*family)).await?;
    }
    Ok((access, refresh))
}

struct Job {
    writes: Vec<Write>,
    reply: tokio::sync::oneshot::Sender<Result<(), ApplyError>>,
}

/// Group commit: SQLite on a thread of its own, PostgreSQL on a task (see
/// the module docs).
#[derive(Debug, Clone)]
pub struct GroupWriter {
    jobs: tokio::sync::mpsc::Sender<Job>,
}

/// Most requests one commit carries.
pub const GROUP_MAX: usize = 256;

/// How often the checkpoint thread copies the WAL back.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// WAL pages (of 4 KiB) after which the writer checkpoints itself
/// (SQLite's `wal_autocheckpoint`). SQLite's default of 1000 made the
/// writer stop for a checkpoint every few hundred milliseconds under
/// issuance load; with 16000 (64 MiB of WAL) pages rewritten by many
/// commits are copied back once, and the checkpoint thread has done most
/// of the copying by then (bench/NOTES.md has the A/B figures). The WAL
/// file is truncated back to 64 MiB after each restart.
pub const WRITER_CHECKPOINT_PAGES: u32 = 16000;

/// Opens an SQLite connection as the writer and the checkpointer use it.
fn connect(file: &str) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(file)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // 32 MiB of page cache (SQLite's default is 2 MiB): the token tables'
    // index pages stay in memory instead of being read back from the OS.
    conn.pragma_update(None, "cache_size", -32768)?;
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    // Room for every statement text the writer runs.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

impl GroupWriter {
    /// Starts the writer thread and the checkpoint thread on the SQLite
    /// file `file` (already migrated).
    pub fn start_sqlite(file: &str) -> Result<Self, DbError> {
        let conn = connect(file)?;
        let checkpointer = connect(file)?;
        let (jobs, rx) = tokio::sync::mpsc::channel::<Job>(4096);
        std::thread::Builder::new()
            .name("latch-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| DbError::Writer(e.to_string()))?;
        let alive = jobs.downgrade();
        std::thread::Builder::new()
            .name("latch-sqlite-checkpoint".into())
            .spawn(move || {
                // Until the writer is gone (every handle dropped).
                while alive.upgrade().is_some() {
                    std::thread::sleep(CHECKPOINT_EVERY);
                    if let Err(e) =
                        checkpointer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!("sqlite checkpoint: {e}");
                    }
                }
            })
            .map_err(|e| DbError::Writer(e.to_string()))?;
        Ok(GroupWriter { jobs })
    }

    /// Starts the PostgreSQL batching task on `pool`.
    pub fn start_postgres(pool: sqlx::AnyPool) -> Self {
        let (jobs, mut rx) = tokio::sync::mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let batch = batch_from(first, &mut rx);
                let results = match commit_batch_sqlx(&pool, &batch).await {
                    Ok(results) => results,
                    Err(e) => {
                        if batch.len() > 1 {
                            tracing::debug!("group commit failed ({e}); each request alone");
                        }
                        let mut alone = Vec::with_capacity(batch.len());
                        for job in &batch {
                            alone.push(commit_alone(&pool, &job.writes).await);
                        }
                        alone
                    }
                };
                answer(batch, results);
            }
        });
        GroupWriter { jobs }
    }

    async fn apply(&self, writes: Vec<Write>) -> Result<(), ApplyError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let gone = || ApplyError::Db(DbError::Writer("the writer has stopped".into()));
        self.jobs
            .send(Job { writes, reply })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// One request's writes in a transaction of its own.
async fn commit_alone(pool: &sqlx::AnyPool, writes: &[Write]) -> Result<(), ApplyError> {
    let mut tx = pool.begin().await.map_err(DbError::from)?;
    apply_all(&mut tx, writes).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

/// One group commit through sqlx; `Err` if the batch as a whole failed
/// (nothing of it committed).
async fn commit_batch_sqlx(
    pool: &sqlx::AnyPool,
    batch: &[Job],
) -> Result<Vec<Result<(), ApplyError>>, sqlx::Error> {
    use sqlx::Connection;
    let mut tx = pool.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        if !job.writes.iter().any(Write::is_conditional) {
            match apply_all(&mut tx, &job.writes).await {
                Ok(()) => results.push(Ok(())),
                Err(ApplyError::Db(e)) => return Err(sqlx::Error::Protocol(e.to_string())),
                Err(ApplyError::Conflict) => results.push(Err(ApplyError::Conflict)),
            }
            continue;
        }
        let mut sp = (*tx).begin().await?;
        match apply_all(&mut sp, &job.writes).await {
            Ok(()) => {
                sp.commit().await?;
                results.push(Ok(()));
            }
            Err(ApplyError::Conflict) => {
                sp.rollback().await?;
                results.push(Err(ApplyError::Conflict));
            }
            Err(ApplyError::Db(e)) => return Err(sqlx::Error::Protocol(e.to_string())),
        }
    }
    tx.commit().await?;
    Ok(results)
}

/// The writer thread: one batch per commit, until every sender is gone.
fn run(mut conn: rusqlite::Connection, mut rx: tokio::sync::mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let batch = batch_from(first, &mut rx);
        let results = commit_batch(&mut conn, &batch);
        answer(batch, results);
    }
}

/// One batch: `first` and every request already waiting behind it, up to
/// [`GROUP_MAX`] (counted in the group-commit metrics).
fn batch_from(first: Job, rx: &mut tokio::sync::mpsc::Receiver<Job>) -> Vec<Job> {
    let mut batch = vec![first];
    while batch.len() < GROUP_MAX {
        match rx.try_recv() {
            Ok(j) => batch.push(j),
            Err(_) => break,
        }
    }
    crate::server::metrics::group_commit(batch.len());
    batch
}

/// Answers each request of a batch (one that gave up waiting is skipped).
fn answer(batch: Vec<Job>, results: Vec<Result<(), ApplyError>>) {
    for (job, r) in batch.into_iter().zip(results) {
        let _ = job.reply.send(r);
    }
}

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            Arg::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Arg::Int(v) => ToSqlOutput::Owned(Value::Integer(*v)),
            Arg::NullText | Arg::NullInt => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// Runs one cached statement; the rows it touched.
fn run_statement(conn: &rusqlite::Connection, s: &Statement) -> rusqlite::Result<usize> {
    conn.prepare_cached(s.sql)?
        .execute(rusqlite::params_from_iter(s.args.iter()))
}

/// One request's writes on the writer connection; a conditional write
/// that touches no row is a conflict.
fn apply_sqlite(conn: &rusqlite::Connection, writes: &[Write]) -> Result<(), ApplyError> {
    for w in writes {
        let statements =
            codec::statements(w).ok_or_else(|| ApplyError::Db(DbError::Writer(unsupported(w))))?;
        let mut rows = 0;
        for s in &statements {
            rows += run_statement(conn, s).map_err(DbError::from)?;
        }
        held(w, u64::try_from(rows).unwrap_or(u64::MAX))?;
    }
    Ok(())
}

/// One group commit. A database error fails every request of the batch
/// (and rolls back all of it); a conflict fails only its own request.
fn commit_batch(conn: &mut rusqlite::Connection, batch: &[Job]) -> Vec<Result<(), ApplyError>> {
    let fail_all = |conn: &rusqlite::Connection, e: &dyn std::fmt::Display| {
        let _ = conn.execute_batch("ROLLBACK");
        batch
            .iter()
            .map(|_| Err(ApplyError::Db(DbError::Writer(e.to_string()))))
            .collect()
    };
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return fail_all(conn, &e);
    }
    let mut results = Vec::with_capacity(batch.len());
    for job in batch {
        // Only a conditional write can fail on its own; a request without
        // one needs no savepoint.
        let conditional = job.writes.iter().any(Write::is_conditional);
        if conditional && let Err(e) = conn.execute_batch("SAVEPOINT job") {
            return fail_all(conn, &e);
        }
        match apply_sqlite(conn, &job.writes) {
            Ok(()) => {
                if conditional && let Err(e) = conn.execute_batch("RELEASE job") {
                    return fail_all(conn, &e);
                }
                results.push(Ok(()));
            }
            Err(ApplyError::Conflict) if conditional => {
                if let Err(e) = conn.execute_batch("ROLLBACK TO job; RELEASE job") {
                    return fail_all(conn, &e);
                }
                results.push(Err(ApplyError::Conflict));
            }
            Err(e) => return fail_all(conn, &e),
        }
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => results,
        Err(e) => fail_all(conn, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::UnixTime;
    use latch_core::oauth2::{AccessRecord, FamilyId, TokenHash};
    use sqlx::Row;

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
        let (_dir, db) = crate::storage::tests::temp_db().await;
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

    /// A client_credentials token roots its own family and is stored with
    /// no family (out of the family index); revoking that family still
    /// finds it, by its hash prefix, and nothing else.
    #[tokio::test]
    async fn a_self_rooted_family_is_revoked_by_its_hash_prefix() {
        let (_dir, db) = crate::storage::tests::temp_db().await;
        let (one, two) = (access(1), access(2));
        db.apply(&[
            Write::StoreAccessToken(one.clone()),
            Write::StoreAccessToken(two.clone()),
        ])
        .await
        .unwrap();
        let stored: String = sqlx::query("SELECT family FROM oauth2_access_tokens WHERE hash = $1")
            .bind(codec::hex32(&one.hash))
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, "", "kept out of the family index");
        assert_eq!(
            db.oauth2_access(&one.hash).await.unwrap(),
            Some(one.clone())
        );
        db.apply(&[Write::RevokeFamily { family: one.family }])
            .await
            .unwrap();
        assert_eq!(db.oauth2_access(&one.hash).await.unwrap(), None);
        assert_eq!(db.oauth2_access(&two.hash).await.unwrap(), Some(two));
    }
}
