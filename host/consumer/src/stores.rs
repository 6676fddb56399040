//! Session stores that outlive the process (features `sqlite`,
//! `postgres`): tower-sessions' SQL stores, connected, migrated and swept.
//! Each helper creates the store's table if needed and starts the task
//! that deletes expired sessions every minute, so a store that several
//! replicas share is swept by each of them (the deletes are idempotent).

#[cfg(feature = "postgres")]
use tower_sessions_sqlx_store::PostgresStore;
#[cfg(feature = "sqlite")]
use tower_sessions_sqlx_store::SqliteStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use tower_sessions_sqlx_store::sqlx;

/// How often expired sessions are deleted.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const SWEEP: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn sweep<S>(store: S)
where
    S: tower_sessions::ExpiredDeletion + Clone + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = store.continuously_delete_expired(SWEEP).await {
            tracing::warn!(error = %e, "deleting expired sessions stopped");
        }
    });
}

/// Sessions in a SQLite file (`sqlite://PATH`, created if missing, WAL):
/// a login survives a restart of the application.
#[cfg(feature = "sqlite")]
pub async fn sqlite_store(url: &str) -> Result<SqliteStore, sqlx::Error> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let store = SqliteStore::new(SqlitePool::connect_with(options).await?);
    store.migrate().await?;
    sweep(store.clone());
    Ok(store)
}

/// Sessions in PostgreSQL (`postgres://…`): shared by every replica of
/// the application.
#[cfg(feature = "postgres")]
pub async fn postgres_store(url: &str) -> Result<PostgresStore, sqlx::Error> {
    let store = PostgresStore::new(sqlx::PgPool::connect(url).await?);
    store.migrate().await?;
    sweep(store.clone());
    Ok(store)
}
