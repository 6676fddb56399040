//! Registered clients: their rows, and the core's [`ClientRecord`] built
//! from one (the secret opened from its box).
//!
//! [`ClientRecord`]: latch_core::oauth2::ClientRecord

use super::codec::lines;
use super::error::{DbError, duplicate};
use super::{Db, unix_now};
use sqlx::Row;

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

impl Db {
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
}
