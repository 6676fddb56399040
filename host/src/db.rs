//! Storage through sqlx: SQLite by default (file created if missing, WAL
//! mode), PostgreSQL by URL, one set of portable migrations for both
//! (`host/migrations/`), one code path through sqlx's `Any` driver. SQL uses
//! `$N` placeholders, which both backends accept.

use crate::config::DbUrl;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor, Row};
use std::time::Duration;

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
}

/// A connection pool plus what kind of database it is.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    /// Where writes go. For SQLite, a pool of one connection: SQLite admits
    /// one writer at a time, and queueing writers here is far cheaper than
    /// letting several connections spin in SQLite's busy handler. For
    /// PostgreSQL, the same pool as reads.
    writer: AnyPool,
    group: Option<crate::store::GroupWriter>,
    sqlite: bool,
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// A client row.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// `client_id` (also the OAuth1 consumer key).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The sealed secret; `None` for public clients.
    pub secret_box: Option<String>,
    /// Whether the client is public (no secret).
    pub public: bool,
    /// Registered redirect URIs (also the allowed OAuth1 callbacks).
    pub redirect_uris: Vec<String>,
    /// Allowed scopes, space-separated.
    pub scope: String,
    /// Allowed grant types, space-separated protocol names.
    pub grant_types: String,
    /// Whether PKCE `plain` is accepted from this client.
    pub allow_plain_pkce: bool,
    /// A legacy confidential client exempt from the PKCE requirement.
    pub allow_no_pkce: bool,
    /// May introspect any client's tokens.
    pub resource_server: bool,
    /// The id_token signing algorithm (`RS256`, `ES256` or `EdDSA`).
    pub id_token_alg: String,
    /// Where RP-initiated logout may send the browser afterwards.
    pub post_logout_redirect_uris: Vec<String>,
    /// `opaque`, `jwt` or `default` (the server's `[oauth2]
    /// access_token_format`).
    pub access_token_format: String,
    /// The sealed secret before the last `rotate-secret`, and the Unix
    /// second it stops being accepted.
    pub previous_secret: Option<(String, i64)>,
}

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

/// A signing key row (private half sealed).
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

/// The non-empty lines of a stored list column.
pub(crate) fn lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
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
        let group = sqlite.then(|| crate::store::GroupWriter::start(writer.clone()));
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

    /// The group-commit writer (SQLite only).
    pub fn group_writer(&self) -> Option<&crate::store::GroupWriter> {
        self.group.as_ref()
    }

    /// The pool for writes (see [`Db`]'s fields).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Inserts a client; a duplicate id is [`DbError::Duplicate`].
    pub async fn insert_client(&self, c: &ClientRow) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO clients (id, name, secret_box, public, redirect_uris, scope, created_at, grant_types, allow_plain_pkce, allow_no_pkce, resource_server, id_token_alg, post_logout_redirect_uris, access_token_format) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&c.id)
        .bind(&c.name)
        .bind(c.secret_box.as_deref())
        .bind(i64::from(c.public))
        .bind(c.redirect_uris.join("\n"))
        .bind(&c.scope)
        .bind(unix_now())
        .bind(&c.grant_types)
        .bind(i64::from(c.allow_plain_pkce))
        .bind(i64::from(c.allow_no_pkce))
        .bind(i64::from(c.resource_server))
        .bind(&c.id_token_alg)
        .bind(c.post_logout_redirect_uris.join("\n"))
        .bind(&c.access_token_format)
        .execute(&self.writer)
        .await
        .map_err(|e| duplicate(e, || format!("client {}", c.id)))?;
        Ok(())
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

    /// Every registered client's scope string.
    pub async fn client_scopes(&self) -> Result<Vec<String>, DbError> {
        let rows = sqlx::query("SELECT DISTINCT scope FROM clients")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String, _>("scope").map_err(DbError::from))
            .collect()
    }

    /// Looks a client up by id.
    pub async fn client(&self, id: &str) -> Result<Option<ClientRow>, DbError> {
        let row = sqlx::query(
            "SELECT id, name, secret_box, public, redirect_uris, scope, grant_types, allow_plain_pkce, allow_no_pkce, resource_server, id_token_alg, post_logout_redirect_uris, access_token_format, previous_secret_box, previous_secret_until FROM clients WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let uris: String = r.try_get("redirect_uris")?;
            Ok(ClientRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                secret_box: r.try_get("secret_box")?,
                public: r.try_get::<i64, _>("public")? != 0,
                redirect_uris: lines(&uris),
                scope: r.try_get("scope")?,
                grant_types: r.try_get("grant_types")?,
                allow_plain_pkce: r.try_get::<i64, _>("allow_plain_pkce")? != 0,
                allow_no_pkce: r.try_get::<i64, _>("allow_no_pkce")? != 0,
                resource_server: r.try_get::<i64, _>("resource_server")? != 0,
                id_token_alg: r.try_get("id_token_alg")?,
                post_logout_redirect_uris: lines(
                    &r.try_get::<String, _>("post_logout_redirect_uris")?,
                ),
                access_token_format: r.try_get("access_token_format")?,
                previous_secret: match (
                    r.try_get::<Option<String>, _>("previous_secret_box")?,
                    r.try_get::<Option<i64>, _>("previous_secret_until")?,
                ) {
                    (Some(b), Some(until)) => Some((b, until)),
                    _ => None,
                },
            })
        })
        .transpose()
        .map_err(DbError::Other)
    }

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

    /// Closes the pool (flushes SQLite's WAL on the last connection).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// A stored OAuth1 temporary credential.
#[derive(Debug, Clone)]
pub struct Oauth1Temporary {
    /// The client it was issued to.
    pub client_id: String,
    /// The sealed temporary secret.
    pub secret_box: String,
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
    /// The sealed token secret.
    pub secret_box: String,
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
    ) -> Result<NonceOutcome, DbError> {
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
        .bind(&t.secret_box)
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
    ) -> Result<Option<Oauth1Temporary>, DbError> {
        let row = sqlx::query(
            "SELECT client_id, secret_box, callback, expires_at, verifier_hash, username              FROM oauth1_temporary WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| -> Result<_, sqlx::Error> {
                Ok(Oauth1Temporary {
                    client_id: r.try_get("client_id")?,
                    secret_box: r.try_get("secret_box")?,
                    callback: r.try_get("callback")?,
                    expires_at: r.try_get("expires_at")?,
                    verifier_hash: r.try_get("verifier_hash")?,
                    username: r.try_get("username")?,
                })
            })
            .transpose()?)
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
    ) -> Result<Option<bool>, DbError> {
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
        .bind(&token.secret_box)
        .bind(&token.client_id)
        .bind(&token.username)
        .bind(unix_now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    /// Loads an unrevoked OAuth1 access token by hash.
    pub async fn oauth1_token(&self, token_hash: &str) -> Result<Option<Oauth1Token>, DbError> {
        let row = sqlx::query(
            "SELECT client_id, secret_box, username FROM oauth1_tokens WHERE token_hash = $1 AND revoked = 0",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .map(|r| -> Result<_, sqlx::Error> {
                Ok(Oauth1Token {
                    client_id: r.try_get("client_id")?,
                    secret_box: r.try_get("secret_box")?,
                    username: r.try_get("username")?,
                })
            })
            .transpose()?)
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

    /// Deletes every expired row (codes, tokens, device codes, OAuth1
    /// temporary credentials, nonces, login sessions) in batches of
    /// [`PURGE_BATCH`] — each batch its own short statement, so a large
    /// backlog never holds SQLite's write lock for long — through the
    /// expiry indexes (migration 0007). Returns how many rows went.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, DbError> {
        let mut total = 0;
        for (table, key, expired) in PURGES {
            let sql = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {expired} LIMIT $2)"
            );
            loop {
                let n = sqlx::query(&sql)
                    .bind(now)
                    .bind(PURGE_BATCH)
                    .execute(&self.writer)
                    .await?
                    .rows_affected();
                total += n;
                if n < u64::try_from(PURGE_BATCH).unwrap_or(u64::MAX) {
                    break;
                }
            }
        }
        Ok(total)
    }
}

/// Rows deleted per purge statement.
pub const PURGE_BATCH: i64 = 1000;

/// What expires, per table: (table, primary key, the expiry condition with
/// `$1` = now). Refresh tokens without an expiry live until revoked; a
/// consumed code is kept until it expires, so that its reuse is still
/// detected.
pub const PURGES: [(&str, &str, &str); 7] = [
    ("oauth2_codes", "hash", "expires_at < $1"),
    ("oauth2_access_tokens", "hash", "expires_at < $1"),
    (
        "oauth2_refresh_tokens",
        "hash",
        "expires_at IS NOT NULL AND expires_at < $1",
    ),
    ("oauth2_devices", "hash", "expires_at < $1"),
    ("oauth1_temporary", "token_hash", "expires_at < $1"),
    ("oauth1_nonces", "nonce_key", "forget_after < $1"),
    ("login_sessions", "id_hash", "expires_at <= $1"),
];

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

fn duplicate(e: sqlx::Error, what: impl FnOnce() -> String) -> DbError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Duplicate(what()),
        _ => DbError::Other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn temp_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.db").display().to_string();
        let db = Db::open(&DbUrl::Sqlite {
            url: format!("sqlite://{file}"),
            file,
        })
        .await
        .unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn clients_and_users_round_trip() {
        let (_dir, db) = temp_db().await;
        let c = ClientRow {
            id: "cid".into(),
            name: "App".into(),
            secret_box: Some("box".into()),
            public: false,
            redirect_uris: vec!["https://a/cb".into(), "http://127.0.0.1/cb".into()],
            scope: "read write".into(),
            grant_types: "authorization_code".into(),
            allow_plain_pkce: false,
            allow_no_pkce: true,
            resource_server: true,
            id_token_alg: "ES256".into(),
            post_logout_redirect_uris: vec!["https://a/bye".into()],
            access_token_format: "jwt".into(),
            previous_secret: None,
        };
        db.insert_client(&c).await.unwrap();
        let got = db.client("cid").await.unwrap().unwrap();
        assert_eq!(got.redirect_uris, c.redirect_uris);
        assert_eq!(got.id_token_alg, "ES256");
        assert_eq!(got.access_token_format, "jwt");
        assert_eq!(got.post_logout_redirect_uris, c.post_logout_redirect_uris);
        assert!(got.allow_no_pkce && got.resource_server && !got.allow_plain_pkce);
        assert_eq!(got.secret_box.as_deref(), Some("box"));
        assert!(!got.public);
        assert!(db.client("nope").await.unwrap().is_none());
        assert!(matches!(
            db.insert_client(&c).await,
            Err(DbError::Duplicate(_))
        ));
        let profile = Profile {
            name: Some("Alice Liddell".into()),
            email: Some("alice@example.com".into()),
            email_verified: true,
        };
        db.insert_user("alice", "h", "sub-a", &profile)
            .await
            .unwrap();
        assert!(matches!(
            db.insert_user("alice", "h2", "sub-b", &Profile::default())
                .await,
            Err(DbError::Duplicate(_))
        ));
        assert_eq!(
            db.password_hash("alice").await.unwrap().as_deref(),
            Some("h")
        );
        let u = db.user("alice").await.unwrap().unwrap();
        assert_eq!(u.sub, "sub-a");
        assert_eq!(u.name.as_deref(), Some("Alice Liddell"));
        assert!(u.email_verified);
        // A user from before OpenID Connect gets a sub once, at start.
        sqlx::query(
            "INSERT INTO users (username, password_hash, created_at) VALUES ('old', 'h', 0)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        assert!(db.user("old").await.unwrap().is_none());
        assert_eq!(db.backfill_subs(|| "sub-old".into()).await.unwrap(), 1);
        assert_eq!(db.backfill_subs(|| "again".into()).await.unwrap(), 0);
        assert_eq!(db.user("old").await.unwrap().unwrap().sub, "sub-old");
    }

    /// Issue 18 item 8: churned short-lived rows do not pile up. Every
    /// table with expiring rows gets thousands of expired rows (more than a
    /// purge batch) and a few live ones; one purge leaves only the live
    /// ones, and each purge query finds its rows through an index.
    #[tokio::test]
    async fn purge_keeps_tables_bounded() {
        let (_dir, db) = temp_db().await;
        churn_and_purge(&db).await;
        for (table, key, cond) in PURGES {
            let plan: Vec<String> = sqlx::query(&format!(
                "EXPLAIN QUERY PLAN SELECT {key} FROM {table} WHERE {} LIMIT 10",
                cond.replace("$1", "0")
            ))
            .fetch_all(db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect();
            assert!(
                plan.iter()
                    .any(|d| d.contains("USING") && d.contains("INDEX")),
                "{table}: {plan:?}"
            );
        }
    }

    /// The same churn on PostgreSQL (when the test command started one):
    /// the batched `DELETE … IN (SELECT … LIMIT $2)` is portable.
    #[tokio::test]
    async fn purge_keeps_tables_bounded_on_postgres() {
        let Ok(admin) = std::env::var("LATCH_TEST_PG") else {
            return;
        };
        let name = format!("latch_purge_{}", std::process::id());
        let out = std::process::Command::new("psql")
            .args([
                admin.as_str(),
                "-q",
                "-c",
                &format!("CREATE DATABASE {name}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let db = Db::open(&DbUrl::Postgres(format!("{base}/{name}")))
            .await
            .unwrap();
        churn_and_purge(&db).await;
    }

    /// Thousands of expired rows (more than a purge batch) and three live
    /// ones in every expiring table; one purge leaves only the live ones.
    async fn churn_and_purge(db: &Db) {
        let rows: [(&str, &str); 7] = [
            (
                "oauth2_codes",
                "INSERT INTO oauth2_codes (hash, client_id, subject, scope, redirect_uri, redirect_uri_sent, issued_at, expires_at, consumed) VALUES ($1, 'c', 'u', 's', 'r', 0, 0, $2, 0)",
            ),
            (
                "oauth2_access_tokens",
                "INSERT INTO oauth2_access_tokens (hash, family, client_id, scope, issued_at, expires_at) VALUES ($1, 'f', 'c', 's', 0, $2)",
            ),
            (
                "oauth2_refresh_tokens",
                "INSERT INTO oauth2_refresh_tokens (hash, family, client_id, scope, issued_at, expires_at, retired) VALUES ($1, 'f', 'c', 's', 0, $2, 0)",
            ),
            (
                "oauth2_devices",
                "INSERT INTO oauth2_devices (hash, user_code, client_id, scope, issued_at, expires_at, poll_interval, status) VALUES ($1, 'BCDFGHJK', 'c', 's', 0, $2, 5, 'pending')",
            ),
            (
                "oauth1_temporary",
                "INSERT INTO oauth1_temporary (token_hash, secret_box, client_id, callback, expires_at) VALUES ($1, 'b', 'c', 'oob', $2)",
            ),
            (
                "oauth1_nonces",
                "INSERT INTO oauth1_nonces (nonce_key, forget_after) VALUES ($1, $2)",
            ),
            (
                "login_sessions",
                "INSERT INTO login_sessions (id_hash, username, created_at, expires_at) VALUES ($1, 'u', 0, $2)",
            ),
        ];
        let now = 1_000_000;
        let expired = 2 * PURGE_BATCH + 7;
        for (_, insert) in rows {
            let mut tx = db.writer().begin().await.unwrap();
            for i in 0..expired + 3 {
                // The last three rows are still live.
                let at = if i < expired { now - 1 - i } else { now + 60 };
                sqlx::query(insert)
                    .bind(format!("k{i}"))
                    .bind(at)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
        let gone = db.purge_expired(now).await.unwrap();
        assert_eq!(gone, u64::try_from(7 * expired).unwrap());
        for (table, _) in rows {
            let left: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert_eq!(left, 3, "{table}: only the live rows stay");
        }
        assert_eq!(db.purge_expired(now).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn sqlite_runs_in_wal_mode() {
        let (_dir, db) = temp_db().await;
        let mode: String = sqlx::query("PRAGMA journal_mode")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(mode, "wal");
    }
}
