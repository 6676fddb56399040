//! Storage: SQLite by default (file created if missing, WAL mode),
//! PostgreSQL by URL, one set of portable migrations for both
//! (`host/migrations/`). SQL uses `$N` placeholders, which both backends
//! accept.
//!
//! Layers, each using only those above it (no cycle):
//!
//! | module | what it owns |
//! | --- | --- |
//! | [`error`] | [`DbError`], [`ApplyError`] |
//! | [`codec`] | the core's records to and from SQL values |
//! | this module | [`Db`]: opening, migrating, the pools, readiness |
//! | [`commit`] | the core's writes, group-committed |
//! | [`notify`] | what a committed change tells the other replicas |
//! | [`clients`], [`users`], [`sessions`], [`keys`] | the server's own rows |
//! | [`oauth1`] | RFC 5849 credentials and nonces |
//! | [`oauth2`] | the core's `Store` reads (codes, tokens, devices) |
//! | [`purge`] | deleting what expired |
//!
//! Everything above `oauth2` returns rows or the core's records; nothing
//! here knows about HTTP or the caches (those are `crate::server` and
//! `crate::invalidate`).

pub mod clients;
pub mod codec;
pub mod commit;
pub mod error;
pub mod keys;
pub mod notify;
pub mod oauth1;
pub mod oauth2;
pub mod purge;
pub mod sessions;
pub mod users;

pub use clients::ClientRow;
pub(crate) use codec::lines;
pub use codec::{client_record, grant_types_from};
pub use commit::GroupWriter;
pub use error::{ApplyError, DbError};
pub use keys::SigningKeyRow;
pub use oauth1::{NonceOutcome, Oauth1Temporary, Oauth1Token};
pub use purge::{PURGE_BATCH, PURGES};
pub use users::{Profile, UserRow};

use crate::config::DbUrl;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// A connection pool plus what kind of database it is.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// Where writes go. For SQLite, a pool of one connection: SQLite admits
    /// one writer at a time, and queueing writers here is far cheaper than
    /// letting several connections spin in SQLite's busy handler. For
    /// PostgreSQL, the same pool as reads.
    writer: AnyPool,
    group: GroupWriter,
    sqlite: bool,
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// The clock as storage and the command line record it: Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Db {
    /// Opens (creating an SQLite file if missing) and migrates.
    pub async fn open(url: &DbUrl) -> Result<Self, DbError> {
        install_default_drivers();
        let (conn_url, shown, sqlite) = match url {
            DbUrl::Sqlite { file, .. } => (
                format!("sqlite://{file}?mode=rwc"),
                format!("sqlite://{file}"),
                true,
            ),
            DbUrl::Postgres(u) => (u.clone(), redact(u), false),
        };
        let open_err = |e: &dyn std::fmt::Display| DbError::Open {
            url: shown.clone(),
            message: e.to_string().replace('\n', " "),
        };
        // A new SQLite file is created 0600 before SQLite opens it (SQLite
        // gives its -wal and -shm files the database file's mode).
        if let DbUrl::Sqlite { file, .. } = url {
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            match opts.open(file) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(open_err(&e)),
            }
        }
        let options = move |max: u32| {
            AnyPoolOptions::new()
                .max_connections(max)
                .acquire_timeout(Duration::from_secs(10))
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        if sqlite {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 5000").await?;
                        }
                        Ok(())
                    })
                })
        };
        let pool = options(if sqlite { 4 } else { 16 })
            .connect(&conn_url)
            .await
            .map_err(|e| open_err(&e))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| open_err(&e))?;
        let writer = if sqlite {
            options(1)
                .connect(&conn_url)
                .await
                .map_err(|e| open_err(&e))?
        } else {
            pool.clone()
        };
        let group = match url {
            DbUrl::Sqlite { file, .. } => {
                GroupWriter::start_sqlite(file).map_err(|e| open_err(&e))?
            }
            DbUrl::Postgres(_) => GroupWriter::start_postgres(pool.clone()),
        };
        Ok(Db {
            pool,
            writer,
            group,
            sqlite,
        })
    }

    /// Whether this is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    /// The pool, for the server's reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The group-commit writer.
    pub fn group_writer(&self) -> &GroupWriter {
        &self.group
    }

    /// The pool for writes (see [`Db`]'s fields).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Whether the database answers and every migration this binary knows
    /// has been applied (for `/readyz`).
    pub async fn ready(&self) -> Result<(), String> {
        let expected = sqlx::migrate!("./migrations").iter().count();
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| format!("database: {e}"))?;
        if usize::try_from(applied).unwrap_or(0) < expected {
            return Err(format!("migrations: {applied} of {expected} applied"));
        }
        Ok(())
    }

    /// Closes the pool (flushes SQLite's WAL on the last connection).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests;
