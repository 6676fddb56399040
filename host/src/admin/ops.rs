//! The operator's operations, shared by the command line (`latch client …`,
//! `latch user …`, `latch token revoke`, `latch grant list`) and the admin
//! API (`/admin/…`): one place decides what each does, the shells only
//! parse their input and print or serialise the result.
//!
//! * Every change validates its whole input first and then writes in one
//!   transaction, so bad input leaves nothing half-written.
//! * Removing a client or a user, disabling a user and `token revoke`
//!   revoke everything concerned: OAuth 2.0 access and refresh tokens
//!   (whole families), codes not yet redeemed, pending or approved device
//!   codes, OAuth 1.0a token and temporary credentials; disabling or
//!   removing a user also ends their login sessions. A running server
//!   forgets its cached copies at once when the change is made through it
//!   (admin API, `/account`). On PostgreSQL each of these transactions
//!   also notifies every replica ([`crate::invalidate`]), so a change made
//!   anywhere (command line included) reaches every replica's caches when
//!   it commits; on SQLite a change made by the command line reaches the
//!   server's caches within their lifetimes (access tokens 10 s, clients
//!   5 s).
//! * A *grant* is what a user approved for a client and still holds: the
//!   live tokens of one (user, client) pair, with the union of their scopes,
//!   when the oldest live one was issued and when the newest was.

use super::{AdminError, IssuedClient, NewClient, check_client, random_token};
use crate::audit::Event;
use crate::crypto::{self, SecretBox};
use crate::invalidate::{Invalidation, notify};
use crate::keys::Keys;
use crate::storage::{Db, DbError, lines, unix_now};
use sqlx::Row;

/// A registered client as the operator sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ClientInfo {
    /// `client_id`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// A public client (no secret).
    pub public: bool,
    /// Registered redirect URIs (also the OAuth1 callbacks).
    pub redirect_uris: Vec<String>,
    /// Allowed scopes, space-separated.
    pub scope: String,
    /// Allowed grant types, space-separated.
    pub grant_types: String,
    /// Exempt from the PKCE requirement.
    pub allow_no_pkce: bool,
    /// May introspect any client's tokens.
    pub resource_server: bool,
    /// The id_token signing algorithm.
    pub id_token_alg: String,
    /// Where RP-initiated logout may return.
    pub post_logout_redirect_uris: Vec<String>,
    /// `opaque`, `jwt` or `default`.
    pub access_token_format: String,
    /// When it was registered (Unix seconds).
    pub created_at: i64,
    /// Until when the secret before the last rotation is still accepted.
    pub previous_secret_until: Option<i64>,
}

/// A user as the operator sees it (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UserInfo {
    /// The username.
    pub username: String,
    /// The public subject identifier.
    pub sub: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `email_verified`.
    pub email_verified: bool,
    /// Disabled users cannot log in.
    pub disabled: bool,
    /// When the user was added (Unix seconds).
    pub created_at: i64,
}

/// What a user approved for a client and still holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Grant {
    /// The user.
    pub username: String,
    /// The client.
    pub client_id: String,
    /// The client's display name.
    pub client_name: String,
    /// `oauth2` or `oauth1`.
    pub protocol: String,
    /// The union of the live tokens' scopes (empty for OAuth 1.0a).
    pub scope: String,
    /// When the oldest live token was issued (Unix seconds).
    pub since: i64,
    /// When the newest live token was issued.
    pub last_issued: i64,
    /// Live access tokens (OAuth 1.0a: token credentials).
    pub access_tokens: u64,
    /// Live refresh tokens.
    pub refresh_tokens: u64,
}

/// How much a revocation took away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Revoked {
    /// OAuth 2.0 access tokens.
    pub access_tokens: u64,
    /// OAuth 2.0 refresh tokens.
    pub refresh_tokens: u64,
    /// Authorization codes not yet redeemed.
    pub codes: u64,
    /// Device codes not yet redeemed.
    pub device_codes: u64,
    /// OAuth 1.0a token credentials and temporary credentials.
    pub oauth1_tokens: u64,
    /// Login sessions ended.
    pub sessions: u64,
}

impl Revoked {
    /// Everything, in words, for the audit log and the command line.
    pub fn summary(&self) -> String {
        format!(
            "{} access tokens, {} refresh tokens, {} codes, {} device codes, {} OAuth1 tokens, {} sessions",
            self.access_tokens,
            self.refresh_tokens,
            self.codes,
            self.device_codes,
            self.oauth1_tokens,
            self.sessions
        )
    }
}

/// What to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Everything issued to a client.
    Client(String),
    /// Everything a user holds (with any client).
    User(String),
    /// What one user approved for one client (`/account`'s revoke).
    Grant {
        /// The user.
        username: String,
        /// The client.
        client_id: String,
    },
    /// One token (by value): its whole family for OAuth 2.0, the token
    /// credential for OAuth 1.0a.
    Token(String),
}

impl Target {
    /// What a running server's caches must forget after this revocation;
    /// `None` for one token by value, whose family only the database knows.
    pub fn invalidation(&self) -> Option<Invalidation> {
        match self {
            Target::Client(id) => Some(Invalidation::ClientTokens(id.clone())),
            Target::User(u) => Some(Invalidation::UserTokens(u.clone())),
            Target::Grant {
                username,
                client_id,
            } => Some(Invalidation::GrantTokens {
                username: username.clone(),
                client_id: client_id.clone(),
            }),
            Target::Token(_) => None,
        }
    }
}

/// Changes to a client; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientUpdate {
    /// New display name.
    pub name: Option<String>,
    /// New redirect URIs (replaces the list).
    pub redirect_uris: Option<Vec<String>>,
    /// New allowed scopes, space-separated.
    pub scope: Option<String>,
    /// New post-logout redirect URIs (replaces the list).
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// New id_token algorithm.
    pub id_token_alg: Option<String>,
    /// New access-token format (`opaque` or `jwt`).
    pub access_token_format: Option<String>,
}

impl ClientUpdate {
    /// The names of the fields it changes, for the audit log.
    pub fn changed(&self) -> String {
        [
            ("name", self.name.is_some()),
            ("redirect_uris", self.redirect_uris.is_some()),
            ("scope", self.scope.is_some()),
            (
                "post_logout_redirect_uris",
                self.post_logout_redirect_uris.is_some(),
            ),
            ("id_token_alg", self.id_token_alg.is_some()),
            ("access_token_format", self.access_token_format.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(" ")
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.redirect_uris.is_none()
            && self.scope.is_none()
            && self.post_logout_redirect_uris.is_none()
            && self.id_token_alg.is_none()
            && self.access_token_format.is_none()
    }
}

/// A login session as its user sees it on `/account`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SessionInfo {
    /// The stored SHA-256 of the session id (not the cookie value).
    pub id_hash: String,
    /// When the password was entered.
    pub created_at: i64,
    /// When the session ends.
    pub expires_at: i64,
}

const CLIENT_COLS: &str = "id, name, public, redirect_uris, scope, grant_types, allow_no_pkce, resource_server, id_token_alg, post_logout_redirect_uris, access_token_format, created_at, previous_secret_until";

fn client_info(r: &sqlx::any::AnyRow) -> Result<ClientInfo, sqlx::Error> {
    Ok(ClientInfo {
        client_id: r.try_get("id")?,
        name: r.try_get("name")?,
        public: r.try_get::<i64, _>("public")? != 0,
        redirect_uris: lines(&r.try_get::<String, _>("redirect_uris")?),
        scope: r.try_get("scope")?,
        grant_types: r.try_get("grant_types")?,
        allow_no_pkce: r.try_get::<i64, _>("allow_no_pkce")? != 0,
        resource_server: r.try_get::<i64, _>("resource_server")? != 0,
        id_token_alg: r.try_get("id_token_alg")?,
        post_logout_redirect_uris: lines(&r.try_get::<String, _>("post_logout_redirect_uris")?),
        access_token_format: r.try_get("access_token_format")?,
        created_at: r.try_get("created_at")?,
        previous_secret_until: r.try_get("previous_secret_until")?,
    })
}

const USER_COLS: &str = "username, sub, name, email, email_verified, disabled, created_at";

fn user_info(r: &sqlx::any::AnyRow) -> Result<UserInfo, sqlx::Error> {
    Ok(UserInfo {
        username: r.try_get("username")?,
        sub: r.try_get("sub")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        email_verified: r.try_get::<i64, _>("email_verified")? != 0,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

/// `WHERE` clauses per table for a target: (OAuth 2.0 tokens and codes,
/// device codes, OAuth1 tokens, OAuth1 temporary credentials, sessions).
/// `$1` is the client id or username, `$2` the username for a grant.
struct Scoped {
    tokens: &'static str,
    devices: &'static str,
    oauth1: &'static str,
    oauth1_temporary: &'static str,
    sessions: Option<&'static str>,
    /// What other replicas' caches must forget (`$1`, `$2`).
    invalidation: fn(&str, Option<&str>) -> Invalidation,
}

const BY_CLIENT: Scoped = Scoped {
    tokens: "client_id = $1",
    devices: "client_id = $1",
    oauth1: "client_id = $1",
    oauth1_temporary: "client_id = $1",
    sessions: None,
    invalidation: Invalidation::client_tokens,
};

const BY_USER: Scoped = Scoped {
    tokens: "subject = $1",
    devices: "subject = $1",
    oauth1: "username = $1",
    oauth1_temporary: "username = $1",
    sessions: Some("username = $1"),
    invalidation: Invalidation::user_tokens,
};

const BY_GRANT: Scoped = Scoped {
    tokens: "client_id = $1 AND subject = $2",
    devices: "client_id = $1 AND subject = $2",
    oauth1: "client_id = $1 AND username = $2",
    oauth1_temporary: "client_id = $1 AND username = $2",
    sessions: None,
    invalidation: Invalidation::grant_tokens,
};

async fn revoke_scoped(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    scoped: &Scoped,
    first: &str,
    second: Option<&str>,
    end_sessions: bool,
    now: i64,
) -> Result<Revoked, sqlx::Error> {
    async fn run(
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        sql: &str,
        first: &str,
        second: Option<&str>,
    ) -> Result<u64, sqlx::Error> {
        let mut q = sqlx::query(sql).bind(first.to_owned());
        if let Some(s) = second {
            q = q.bind(s.to_owned());
        }
        Ok(q.execute(&mut **tx).await?.rows_affected())
    }
    let mut r = Revoked {
        access_tokens: run(
            tx,
            &format!("DELETE FROM oauth2_access_tokens WHERE {}", scoped.tokens),
            first,
            second,
        )
        .await?,
        refresh_tokens: run(
            tx,
            &format!("DELETE FROM oauth2_refresh_tokens WHERE {}", scoped.tokens),
            first,
            second,
        )
        .await?,
        // Redeemed codes stay until they expire, so a replay is still
        // recognised as one.
        codes: run(
            tx,
            &format!(
                "DELETE FROM oauth2_codes WHERE {} AND consumed = 0",
                scoped.tokens
            ),
            first,
            second,
        )
        .await?,
        device_codes: run(
            tx,
            &format!(
                "UPDATE oauth2_devices SET status = 'denied' WHERE {} AND status IN ('pending', 'approved') AND expires_at > {now}",
                scoped.devices
            ),
            first,
            second,
        )
        .await?,
        oauth1_tokens: run(
            tx,
            &format!(
                "UPDATE oauth1_tokens SET revoked = 1 WHERE {} AND revoked = 0",
                scoped.oauth1
            ),
            first,
            second,
        )
        .await?
            + run(
                tx,
                &format!(
                    "DELETE FROM oauth1_temporary WHERE {}",
                    scoped.oauth1_temporary
                ),
                first,
                second,
            )
            .await?,
        sessions: 0,
    };
    if end_sessions && let Some(sessions) = scoped.sessions {
        r.sessions = run(
            tx,
            &format!("DELETE FROM login_sessions WHERE {sessions}"),
            first,
            second,
        )
        .await?;
    }
    if r.access_tokens > 0 {
        notify(tx, &(scoped.invalidation)(first, second)).await?;
    }
    Ok(r)
}

impl Db {
    /// Every client, by name then id.
    pub async fn list_clients(&self) -> Result<Vec<ClientInfo>, DbError> {
        let rows = sqlx::query(&format!(
            "SELECT {CLIENT_COLS} FROM clients ORDER BY name, id"
        ))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(client_info)
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// One client.
    pub async fn client_info(&self, id: &str) -> Result<Option<ClientInfo>, DbError> {
        let row = sqlx::query(&format!("SELECT {CLIENT_COLS} FROM clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.as_ref().map(client_info).transpose()?)
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserInfo>, DbError> {
        let rows = sqlx::query(&format!("SELECT {USER_COLS} FROM users ORDER BY username"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(user_info)
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// One user.
    pub async fn user_info(&self, username: &str) -> Result<Option<UserInfo>, DbError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLS} FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(user_info).transpose()?)
    }

    /// A user's unexpired login sessions, newest first.
    pub async fn user_sessions(
        &self,
        username: &str,
        now: i64,
    ) -> Result<Vec<SessionInfo>, DbError> {
        let rows = sqlx::query(
            "SELECT id_hash, created_at, expires_at FROM login_sessions WHERE username = $1 AND expires_at > $2 ORDER BY created_at DESC, id_hash",
        )
        .bind(username)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(SessionInfo {
                    id_hash: r.try_get("id_hash")?,
                    created_at: r.try_get("created_at")?,
                    expires_at: r.try_get("expires_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Ends one of `username`'s sessions; whether there was one.
    pub async fn end_user_session(&self, username: &str, id_hash: &str) -> Result<bool, DbError> {
        Ok(
            sqlx::query("DELETE FROM login_sessions WHERE username = $1 AND id_hash = $2")
                .bind(username)
                .bind(id_hash)
                .execute(self.writer())
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// The live grants, for one user, one client, or everyone; by user,
    /// then client.
    pub async fn grants(
        &self,
        username: Option<&str>,
        client_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<Grant>, DbError> {
        let rows = sqlx::query(
            "SELECT t.subject AS username, t.client_id, t.scope, t.issued_at, t.kind, c.name AS client_name FROM (\
               SELECT subject, client_id, scope, issued_at, 'access' AS kind FROM oauth2_access_tokens WHERE subject IS NOT NULL AND expires_at > $1 \
               UNION ALL SELECT subject, client_id, scope, issued_at, 'refresh' AS kind FROM oauth2_refresh_tokens WHERE subject IS NOT NULL AND retired = 0 AND (expires_at IS NULL OR expires_at > $1) \
               UNION ALL SELECT username AS subject, client_id, '' AS scope, created_at AS issued_at, 'oauth1' AS kind FROM oauth1_tokens WHERE revoked = 0\
             ) t JOIN clients c ON c.id = t.client_id \
             WHERE ($2 IS NULL OR t.subject = $2) AND ($3 IS NULL OR t.client_id = $3)",
        )
        .bind(now)
        .bind(username)
        .bind(client_id)
        .fetch_all(self.pool())
        .await?;
        let mut grants: std::collections::BTreeMap<(String, String, &'static str), Grant> =
            std::collections::BTreeMap::new();
        for r in &rows {
            let user: String = r.try_get("username")?;
            let client: String = r.try_get("client_id")?;
            let kind: String = r.try_get("kind")?;
            let issued: i64 = r.try_get("issued_at")?;
            let scope: String = r.try_get("scope")?;
            let protocol = if kind == "oauth1" { "oauth1" } else { "oauth2" };
            let g = grants
                .entry((user.clone(), client.clone(), protocol))
                .or_insert_with(|| Grant {
                    username: user,
                    client_id: client,
                    client_name: r.try_get("client_name").unwrap_or_default(),
                    protocol: protocol.to_owned(),
                    scope: String::new(),
                    since: issued,
                    last_issued: issued,
                    access_tokens: 0,
                    refresh_tokens: 0,
                });
            g.since = g.since.min(issued);
            g.last_issued = g.last_issued.max(issued);
            if kind == "refresh" {
                g.refresh_tokens += 1;
            } else {
                g.access_tokens += 1;
            }
            for s in scope.split(' ').filter(|s| !s.is_empty()) {
                if !g.scope.split(' ').any(|have| have == s) {
                    if !g.scope.is_empty() {
                        g.scope.push(' ');
                    }
                    g.scope.push_str(s);
                }
            }
        }
        Ok(grants.into_values().collect())
    }

    /// Revokes what `target` names, in one transaction.
    pub async fn revoke(&self, target: &Target, now: i64) -> Result<Revoked, DbError> {
        let mut tx = self.writer().begin().await?;
        let r = match target {
            Target::Client(id) => revoke_scoped(&mut tx, &BY_CLIENT, id, None, false, now).await?,
            Target::User(name) => revoke_scoped(&mut tx, &BY_USER, name, None, false, now).await?,
            Target::Grant {
                username,
                client_id,
            } => revoke_scoped(&mut tx, &BY_GRANT, client_id, Some(username), false, now).await?,
            Target::Token(token) => revoke_token(&mut tx, &crypto::token_hash(token)).await?,
        };
        tx.commit().await?;
        Ok(r)
    }

    /// Updates a client's editable fields (already validated).
    async fn update_client_row(&self, c: &ClientInfo) -> Result<bool, DbError> {
        let mut tx = self.writer().begin().await?;
        let changed = sqlx::query(
            "UPDATE clients SET name = $1, redirect_uris = $2, scope = $3, post_logout_redirect_uris = $4, id_token_alg = $5, access_token_format = $6 WHERE id = $7",
        )
        .bind(&c.name)
        .bind(c.redirect_uris.join("\n"))
        .bind(&c.scope)
        .bind(c.post_logout_redirect_uris.join("\n"))
        .bind(&c.id_token_alg)
        .bind(&c.access_token_format)
        .bind(&c.client_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if changed {
            notify(&mut tx, &Invalidation::Client(c.client_id.clone())).await?;
        }
        tx.commit().await?;
        Ok(changed)
    }

    /// Replaces a client's secret; the old one is kept sealed until
    /// `until` (or dropped when `until` is `None`).
    async fn replace_secret(
        &self,
        id: &str,
        new_box: &str,
        previous: Option<(&str, i64)>,
    ) -> Result<bool, DbError> {
        let mut tx = self.writer().begin().await?;
        let replaced = sqlx::query(
            "UPDATE clients SET secret_box = $1, previous_secret_box = $2, previous_secret_until = $3 WHERE id = $4 AND public = 0",
        )
        .bind(new_box)
        .bind(previous.map(|(b, _)| b.to_owned()))
        .bind(previous.map(|(_, u)| u))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if replaced {
            notify(&mut tx, &Invalidation::Client(id.to_owned())).await?;
        }
        tx.commit().await?;
        Ok(replaced)
    }

    /// Removes a client and everything issued to it.
    async fn delete_client(&self, id: &str, now: i64) -> Result<Option<Revoked>, DbError> {
        let mut tx = self.writer().begin().await?;
        let r = revoke_scoped(&mut tx, &BY_CLIENT, id, None, false, now).await?;
        let n = sqlx::query("DELETE FROM clients WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        notify(&mut tx, &Invalidation::Client(id.to_owned())).await?;
        tx.commit().await?;
        Ok(Some(r))
    }

    /// Sets a user's password hash.
    async fn set_password_hash(&self, username: &str, hash: &str) -> Result<bool, DbError> {
        Ok(
            sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
                .bind(hash)
                .bind(username)
                .execute(self.writer())
                .await?
                .rows_affected()
                == 1,
        )
    }

    /// Disables (revoking what they hold and ending their sessions) or
    /// enables a user; `None` if there is no such user.
    async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: i64,
    ) -> Result<Option<Revoked>, DbError> {
        let mut tx = self.writer().begin().await?;
        let n = sqlx::query("UPDATE users SET disabled = $1 WHERE username = $2")
            .bind(i64::from(disabled))
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        let r = if disabled {
            revoke_scoped(&mut tx, &BY_USER, username, None, true, now).await?
        } else {
            Revoked::default()
        };
        tx.commit().await?;
        Ok(Some(r))
    }

    /// Removes a user, what they hold and their sessions.
    async fn delete_user(&self, username: &str, now: i64) -> Result<Option<Revoked>, DbError> {
        let mut tx = self.writer().begin().await?;
        let r = revoke_scoped(&mut tx, &BY_USER, username, None, true, now).await?;
        let n = sqlx::query("DELETE FROM users WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(r))
    }
}

/// One token by hash: an OAuth 2.0 access or refresh token takes its whole
/// family with it; an OAuth 1.0a token credential is marked revoked.
async fn revoke_token(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    hash: &str,
) -> Result<Revoked, sqlx::Error> {
    let family = match sqlx::query(
        "SELECT family FROM oauth2_access_tokens WHERE hash = $1 UNION ALL SELECT family FROM oauth2_refresh_tokens WHERE hash = $1",
    )
    .bind(hash)
    .fetch_optional(&mut **tx)
    .await?
    {
        Some(r) => {
            let stored: String = r.try_get("family")?;
            let found = crate::storage::codec::parse_hash(hash)
                .and_then(|h| crate::storage::codec::family_of(&stored, &h));
            Some(found.ok_or_else(|| sqlx::Error::Protocol(format!("bad family {stored:?}")))?)
        }
        None => None,
    };
    if let Some(family) = family {
        let (access_tokens, refresh_tokens) =
            crate::storage::commit::revoke_family(tx, &family).await?;
        let r = Revoked {
            access_tokens,
            refresh_tokens,
            ..Revoked::default()
        };
        return Ok(r);
    }
    let n =
        sqlx::query("UPDATE oauth1_tokens SET revoked = 1 WHERE token_hash = $1 AND revoked = 0")
            .bind(hash)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    Ok(Revoked {
        oauth1_tokens: n,
        ..Revoked::default()
    })
}

/// A change an operation made: its result, the audit event recording it
/// (the operation names the event, so the command line and the admin API
/// write the same one), and what it revoked, for a running server's caches.
#[derive(Debug)]
pub struct Change<T> {
    /// What the operation returns.
    pub value: T,
    /// The audit event.
    pub event: Event,
    /// What was revoked, if anything.
    pub revoked: Option<Target>,
}

fn change<T>(value: T, event: Event) -> Change<T> {
    Change {
        value,
        event,
        revoked: None,
    }
}

fn no_client(id: &str) -> AdminError {
    AdminError::NotFound(format!("no client with id {id:?}"))
}

fn no_user(name: &str) -> AdminError {
    AdminError::NotFound(format!("no user named {name:?}"))
}

/// `client show ID`.
pub async fn show_client(db: &Db, id: &str) -> Result<ClientInfo, AdminError> {
    db.client_info(id).await?.ok_or_else(|| no_client(id))
}

/// `client add`, by `actor`.
pub async fn add_client(
    db: &Db,
    keys: &Keys,
    new: &NewClient,
    actor: &str,
) -> Result<Change<IssuedClient>, AdminError> {
    let issued = super::add_client(db, keys, new).await?;
    let event = Event::new("client.added", actor).client(&issued.client_id);
    Ok(change(issued, event))
}

/// `user add`, by `actor`.
pub async fn add_user(
    db: &Db,
    username: &str,
    password: &str,
    profile: &crate::storage::Profile,
    actor: &str,
) -> Result<Change<()>, AdminError> {
    super::add_user(db, username, password, profile).await?;
    Ok(change((), Event::new("user.added", actor).user(username)))
}

/// `client update ID …`: the merged client is checked as `client add`
/// checks a new one, then written in one statement.
pub async fn update_client(
    db: &Db,
    id: &str,
    update: &ClientUpdate,
    actor: &str,
) -> Result<Change<ClientInfo>, AdminError> {
    if update.is_empty() {
        return Err(AdminError::Input(
            "nothing to update: give at least one of --name, --redirect-uri, --scope, --post-logout-redirect-uri, --id-token-alg, --access-token-format".into(),
        ));
    }
    let mut c = show_client(db, id).await?;
    let format = update
        .access_token_format
        .clone()
        .or_else(|| Some(c.access_token_format.clone()).filter(|f| f.as_str() != "default"));
    let merged = NewClient {
        name: update.name.clone().unwrap_or_else(|| c.name.clone()),
        redirect_uris: update
            .redirect_uris
            .clone()
            .unwrap_or_else(|| c.redirect_uris.clone()),
        scope: Some(update.scope.clone().unwrap_or_else(|| c.scope.clone())),
        public: c.public,
        allow_no_pkce: c.allow_no_pkce,
        resource_server: c.resource_server,
        id_token_alg: Some(
            update
                .id_token_alg
                .clone()
                .unwrap_or_else(|| c.id_token_alg.clone()),
        ),
        post_logout_redirect_uris: update
            .post_logout_redirect_uris
            .clone()
            .unwrap_or_else(|| c.post_logout_redirect_uris.clone()),
        access_token_format: format.clone(),
    };
    let scope = check_client(&merged)?;
    c.name = merged.name.trim().to_owned();
    c.redirect_uris = merged.redirect_uris;
    c.scope = scope;
    c.post_logout_redirect_uris = merged.post_logout_redirect_uris;
    c.id_token_alg = merged.id_token_alg.unwrap_or_else(|| "RS256".into());
    c.access_token_format = format.unwrap_or_else(|| "default".into());
    if !db.update_client_row(&c).await? {
        return Err(no_client(id));
    }
    let event = Event::new("client.updated", actor)
        .client(id)
        .detail(update.changed());
    Ok(change(c, event))
}

/// The new secret from `rotate-secret`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// `client_id`.
    pub client_id: String,
    /// The new `client_secret`.
    pub client_secret: String,
    /// Until when (Unix seconds) the old secret is still accepted; absent
    /// when it stopped at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_secret_until: Option<i64>,
}

/// The longest `--grace`: 30 days.
pub const MAX_GRACE: u64 = 30 * 86_400;

/// `client rotate-secret ID [--grace SECONDS]`: a new secret now; the old
/// one keeps working for `grace` seconds (OAuth 2.0 client authentication;
/// OAuth 1.0a signatures need the new secret at once).
pub async fn rotate_secret(
    db: &Db,
    keys: &Keys,
    id: &str,
    grace: u64,
    actor: &str,
) -> Result<Change<RotatedSecret>, AdminError> {
    if grace > MAX_GRACE {
        return Err(AdminError::Input(format!(
            "--grace must be at most {MAX_GRACE} seconds (30 days)"
        )));
    }
    let row = db.client(id).await?.ok_or_else(|| no_client(id))?;
    let Some(old_box) = row.secret_box else {
        return Err(AdminError::Input(format!(
            "client {id:?} is public: it has no secret to rotate"
        )));
    };
    let secret = random_token(32)?;
    let sealer = SecretBox::new(&keys.secret_box);
    let new_box = sealer.seal(id, &secret)?;
    let until =
        (grace > 0).then(|| unix_now().saturating_add(i64::try_from(grace).unwrap_or(i64::MAX)));
    if !db
        .replace_secret(id, &new_box, until.map(|u| (old_box.as_str(), u)))
        .await?
    {
        return Err(no_client(id));
    }
    let event = Event::new("client.secret_rotated", actor)
        .client(id)
        .detail(format!("grace {grace} s"));
    Ok(change(
        RotatedSecret {
            client_id: id.to_owned(),
            client_secret: secret,
            previous_secret_until: until,
        },
        event,
    ))
}

/// `client remove ID`.
pub async fn remove_client(db: &Db, id: &str, actor: &str) -> Result<Change<Revoked>, AdminError> {
    let r = db
        .delete_client(id, unix_now())
        .await?
        .ok_or_else(|| no_client(id))?;
    let event = Event::new("client.removed", actor)
        .client(id)
        .detail(r.summary());
    Ok(Change {
        value: r,
        event,
        revoked: Some(Target::Client(id.to_owned())),
    })
}

/// `user show NAME` (and the check behind every per-user command).
pub async fn show_user(db: &Db, username: &str) -> Result<UserInfo, AdminError> {
    db.user_info(username)
        .await?
        .ok_or_else(|| no_user(username))
}

/// `user passwd NAME`.
pub async fn set_password(
    db: &Db,
    username: &str,
    password: &str,
    actor: &str,
) -> Result<Change<()>, AdminError> {
    if password.is_empty() {
        return Err(AdminError::Input("the password must not be empty".into()));
    }
    show_user(db, username).await?;
    let hash = crypto::hash_password(password)?;
    if !db.set_password_hash(username, &hash).await? {
        return Err(no_user(username));
    }
    Ok(change(
        (),
        Event::new("user.password_changed", actor).user(username),
    ))
}

/// `user disable NAME` / `user enable NAME`.
pub async fn set_disabled(
    db: &Db,
    username: &str,
    disabled: bool,
    actor: &str,
) -> Result<Change<Revoked>, AdminError> {
    let r = db
        .set_disabled(username, disabled, unix_now())
        .await?
        .ok_or_else(|| no_user(username))?;
    Ok(if disabled {
        Change {
            value: r,
            event: Event::new("user.disabled", actor)
                .user(username)
                .detail(r.summary()),
            revoked: Some(Target::User(username.to_owned())),
        }
    } else {
        change(r, Event::new("user.enabled", actor).user(username))
    })
}

/// `user remove NAME`.
pub async fn remove_user(
    db: &Db,
    username: &str,
    actor: &str,
) -> Result<Change<Revoked>, AdminError> {
    let r = db
        .delete_user(username, unix_now())
        .await?
        .ok_or_else(|| no_user(username))?;
    Ok(Change {
        value: r,
        event: Event::new("user.removed", actor)
            .user(username)
            .detail(r.summary()),
        revoked: Some(Target::User(username.to_owned())),
    })
}

/// `token revoke …` (and `/account`'s revoke of one grant): an unknown
/// client, user or token is bad input.
pub async fn revoke(db: &Db, target: &Target, actor: &str) -> Result<Change<Revoked>, AdminError> {
    match target {
        Target::Client(id) => {
            show_client(db, id).await?;
        }
        Target::User(name) => {
            show_user(db, name).await?;
        }
        Target::Grant {
            username,
            client_id,
        } => {
            show_user(db, username).await?;
            show_client(db, client_id).await?;
        }
        Target::Token(t) if t.is_empty() => {
            return Err(AdminError::Input("--token must not be empty".into()));
        }
        Target::Token(_) => {}
    }
    let r = db.revoke(target, unix_now()).await?;
    if matches!(target, Target::Token(_)) && r == Revoked::default() {
        return Err(AdminError::NotFound(
            "no such token (unknown, expired or already revoked)".into(),
        ));
    }
    let event = match target {
        Target::Client(c) => Event::new("token.revoked", actor).client(c),
        Target::User(u) => Event::new("token.revoked", actor).user(u),
        Target::Grant {
            username,
            client_id,
        } => Event::new("grant.revoked", actor)
            .client(client_id)
            .user(username),
        Target::Token(_) => Event::new("token.revoked", actor),
    };
    Ok(Change {
        value: r,
        event: event.detail(r.summary()),
        revoked: Some(target.clone()),
    })
}

/// `grant list [--user NAME | --client ID]`.
pub async fn grants(
    db: &Db,
    username: Option<&str>,
    client_id: Option<&str>,
) -> Result<Vec<Grant>, AdminError> {
    if let Some(u) = username {
        show_user(db, u).await?;
    }
    if let Some(c) = client_id {
        show_client(db, c).await?;
    }
    Ok(db.grants(username, client_id, unix_now()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn temp_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let url =
            crate::config::DbUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display()))
                .unwrap();
        let db = Db::open(&url).await.unwrap();
        (dir, db)
    }

    /// Every per-client, per-user and per-grant revocation statement, and
    /// the audit purge, finds its rows through an index (migration 0008),
    /// not by scanning the token tables.
    #[tokio::test]
    async fn revocations_use_indexes() {
        let (_dir, db) = temp_db().await;
        let mut statements = Vec::new();
        for scoped in [&BY_CLIENT, &BY_USER, &BY_GRANT] {
            for table in [
                "oauth2_access_tokens",
                "oauth2_refresh_tokens",
                "oauth2_codes",
            ] {
                statements.push(format!("DELETE FROM {table} WHERE {}", scoped.tokens));
            }
            statements.push(format!(
                "UPDATE oauth1_tokens SET revoked = 1 WHERE {}",
                scoped.oauth1
            ));
        }
        statements.push(
            "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 LIMIT 10)"
                .into(),
        );
        statements.extend(crate::storage::codec::FAMILY_REVOCATION.map(String::from));
        for sql in statements {
            let sql = sql.replace("$1", "'a'").replace("$2", "'b'");
            let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
                .fetch_all(db.pool())
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>("detail"))
                .collect();
            assert!(
                plan.iter()
                    .any(|d| d.contains("USING") && d.contains("INDEX")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|d| d.starts_with("SCAN")),
                "{sql}: {plan:?}"
            );
        }
    }
}
