//! What storage reports when it fails: [`DbError`] for the database,
//! [`ApplyError`] for the core's writes (a lost conditional write is a
//! conflict, not a failure).

use latch_core::oauth2::StoreError;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened or migrated.
    #[error("database {url}: {message}")]
    Open {
        /// The URL (password removed).
        url: String,
        /// Why (one line).
        message: String,
    },
    /// A row with this key exists already.
    #[error("{0} already exists")]
    Duplicate(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Other(#[from] sqlx::Error),
    /// A stored secret could not be sealed or opened.
    #[error(transparent)]
    Sealed(#[from] crate::crypto::CryptoError),
    /// The SQLite writer failed (see `storage::commit`).
    #[error("database error: {0}")]
    Writer(String),
}

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

pub(crate) fn duplicate(e: sqlx::Error, what: impl FnOnce() -> String) -> DbError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Duplicate(what()),
        _ => DbError::Other(e),
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        DbError::Writer(e.to_string())
    }
}
