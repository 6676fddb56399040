//! The admin API under `/admin/` on the admin listener (`[admin] listen`):
//! the operations of `latch client|user|token|grant` as JSON over HTTP,
//! described by an OpenAPI 3.1 document generated from these handlers and
//! types (utoipa) at `GET /admin/openapi.json`.
//!
//! Every call but the description needs `Authorization: Bearer` with a
//! client-credentials access token (no user behind it) whose scope
//! includes `latch:admin` — so operators automate with any OAuth client.
//! No token or a bad one: 401 with a RFC 6750 challenge; a valid token
//! without the scope, or one a user granted: 403 `insufficient_scope`.
//! Errors are `{"error", "error_description"}`: 400 `invalid_request` for
//! bad input, 404 `not_found` for an unknown client, user or token.
//!
//! The operations themselves are [`crate::admin::ops`]; this module adds
//! what a running server must do besides: forget cached clients and
//! access tokens at once, and write the audit event
//! ([`AppState::record_change`](super::state::AppState::record_change)).

use super::api::{Principal, bearer_error, bearer_principal};
use super::http::internal;
use super::state::Shared;
use crate::admin::ops::{
    self, ClientInfo, ClientUpdate, Grant, Revoked, RotatedSecret, Target, UserInfo,
};
use crate::admin::{AdminError, IssuedClient, NewClient};
use crate::audit::StoredEvent;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use latch_core::oauth2::BearerError;
use serde_json::json;
use utoipa::OpenApi;

/// The scope an admin API token needs.
pub const ADMIN_SCOPE: &str = "latch:admin";

/// The admin API's routes (the admin listener adds `/metrics`, `/healthz`
/// and `/readyz`).
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/admin/openapi.json", get(openapi))
        .route("/admin/clients", get(list_clients).post(add_client))
        .route(
            "/admin/clients/{id}",
            get(show_client).patch(update_client).delete(remove_client),
        )
        .route("/admin/clients/{id}/rotate-secret", post(rotate_secret))
        .route("/admin/users", get(list_users).post(add_user))
        .route("/admin/users/{name}", get(show_user).delete(remove_user))
        .route("/admin/users/{name}/password", post(set_password))
        .route("/admin/users/{name}/disable", post(disable_user))
        .route("/admin/users/{name}/enable", post(enable_user))
        .route("/admin/tokens/revoke", post(revoke))
        .route("/admin/grants", get(grants))
        .route("/admin/audit", get(audit))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latch admin API",
        description = "Clients, users, tokens, grants and the audit log of a Latch server. Every operation needs a Bearer client-credentials token with scope latch:admin."
    ),
    paths(
        list_clients,
        add_client,
        show_client,
        update_client,
        remove_client,
        rotate_secret,
        list_users,
        add_user,
        show_user,
        remove_user,
        set_password,
        disable_user,
        enable_user,
        revoke,
        grants,
        audit
    ),
    components(schemas(
        ClientInfo,
        ClientUpdate,
        NewClientBody,
        IssuedClient,
        RotatedSecret,
        GraceBody,
        UserInfo,
        NewUserBody,
        PasswordBody,
        RevokeBody,
        Revoked,
        Grant,
        StoredEvent,
        ApiError
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
    }
}

/// The OpenAPI document.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi() -> Response {
    axum::Json(openapi_document()).into_response()
}

/// An error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct ApiError {
    /// `invalid_request`, `not_found` or `server_error` (or a RFC 6750 code).
    error: String,
    /// What was wrong, in words.
    error_description: String,
}

fn fail(status: StatusCode, code: &str, description: &str) -> Response {
    let mut r = (
        status,
        axum::Json(json!({"error": code, "error_description": description})),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

fn admin_error(e: &AdminError) -> Response {
    match e {
        AdminError::NotFound(m) => fail(StatusCode::NOT_FOUND, "not_found", m),
        AdminError::Input(m) => fail(StatusCode::BAD_REQUEST, "invalid_request", m),
        AdminError::Db(crate::storage::DbError::Duplicate(what)) => fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("{what} already exists"),
        ),
        other => internal(other),
    }
}

fn ok<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    let mut r = (status, axum::Json(value)).into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// The calling admin: a client-credentials token with `latch:admin`.
async fn admin(s: &Shared, headers: &HeaderMap) -> Result<Principal, Response> {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(bearer_error(BearerError::Missing, None));
    };
    let who = bearer_principal(s, value).await?;
    if who.user.is_some() {
        return Err(bearer_error(
            BearerError::InsufficientScope,
            Some(ADMIN_SCOPE),
        ));
    }
    who.require_scope(ADMIN_SCOPE)?;
    Ok(who)
}

fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| {
        fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!("invalid JSON body: {e}"),
        )
    })
}

/// Records a change made through the API (caches, audit) and answers with
/// its result.
fn applied<T: serde::Serialize>(s: &Shared, status: StatusCode, c: ops::Change<T>) -> Response {
    s.record_change(c.event, c.revoked.as_ref());
    if status == StatusCode::NO_CONTENT {
        return status.into_response();
    }
    ok(status, &c.value)
}

fn actor(who: &Principal) -> String {
    format!("admin:{}", who.client_id)
}

macro_rules! guard {
    ($s:expr, $headers:expr) => {
        match admin(&$s, &$headers).await {
            Ok(who) => who,
            Err(r) => return r,
        }
    };
}

macro_rules! attempt {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return admin_error(&e),
        }
    };
}

/// Every registered client.
#[utoipa::path(get, path = "/admin/clients", tag = "clients",
    responses((status = 200, body = [ClientInfo]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_clients(State(s): State<Shared>, headers: HeaderMap) -> Response {
    guard!(s, headers);
    match s.db.list_clients().await {
        Ok(l) => ok(StatusCode::OK, &l),
        Err(e) => internal(e),
    }
}

/// A new client, as `latch client add` takes it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewClientBody {
    /// Display name.
    name: String,
    /// Redirect URIs.
    #[serde(default)]
    redirect_uris: Vec<String>,
    /// Allowed scopes, space-separated.
    scope: Option<String>,
    /// A public client (no secret).
    #[serde(default)]
    public: bool,
    /// May introspect any client's tokens.
    #[serde(default)]
    resource_server: bool,
    /// Exempt from the PKCE requirement.
    #[serde(default)]
    allow_no_pkce: bool,
    /// RS256, ES256 or EdDSA.
    id_token_alg: Option<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    /// opaque or jwt.
    access_token_format: Option<String>,
}

/// Registers a client; the answer carries its secret, once.
#[utoipa::path(post, path = "/admin/clients", tag = "clients", request_body = NewClientBody,
    responses((status = 201, body = IssuedClient), (status = 400, body = ApiError)))]
async fn add_client(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let who = guard!(s, headers);
    let b: NewClientBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let new = NewClient {
        name: b.name,
        redirect_uris: b.redirect_uris,
        scope: b.scope,
        public: b.public,
        allow_no_pkce: b.allow_no_pkce,
        resource_server: b.resource_server,
        id_token_alg: b.id_token_alg,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        access_token_format: b.access_token_format,
    };
    let c = attempt!(ops::add_client(&s.db, &s.keys, &new, &actor(&who)).await);
    applied(&s, StatusCode::CREATED, c)
}

/// One client.
#[utoipa::path(get, path = "/admin/clients/{id}", tag = "clients", params(("id" = String, Path, description = "client_id")),
    responses((status = 200, body = ClientInfo), (status = 404, body = ApiError)))]
async fn show_client(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guard!(s, headers);
    ok(
        StatusCode::OK,
        &attempt!(ops::show_client(&s.db, &id).await),
    )
}

/// Changes a client; lists given replace the registered ones.
#[utoipa::path(patch, path = "/admin/clients/{id}", tag = "clients", params(("id" = String, Path, description = "client_id")),
    request_body = ClientUpdate,
    responses((status = 200, body = ClientInfo), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn update_client(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let who = guard!(s, headers);
    let update: ClientUpdate = match json_body(&body) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let c = attempt!(ops::update_client(&s.db, &id, &update, &actor(&who)).await);
    applied(&s, StatusCode::OK, c)
}

/// Removes a client and revokes everything issued to it.
#[utoipa::path(delete, path = "/admin/clients/{id}", tag = "clients", params(("id" = String, Path, description = "client_id")),
    responses((status = 200, body = Revoked), (status = 404, body = ApiError)))]
async fn remove_client(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let who = guard!(s, headers);
    let c = attempt!(ops::remove_client(&s.db, &id, &actor(&who)).await);
    applied(&s, StatusCode::OK, c)
}

/// `rotate-secret`'s grace period.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct GraceBody {
    /// Seconds the old secret keeps working (default 0, at most 30 days).
    #[serde(default)]
    grace: u64,
}

/// Gives a confidential client a new secret.
#[utoipa::path(post, path = "/admin/clients/{id}/rotate-secret", tag = "clients", params(("id" = String, Path, description = "client_id")),
    request_body = GraceBody,
    responses((status = 200, body = RotatedSecret), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn rotate_secret(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let who = guard!(s, headers);
    let grace: GraceBody = if body.is_empty() {
        GraceBody::default()
    } else {
        match json_body(&body) {
            Ok(g) => g,
            Err(r) => return r,
        }
    };
    let c = attempt!(ops::rotate_secret(&s.db, &s.keys, &id, grace.grace, &actor(&who)).await);
    applied(&s, StatusCode::OK, c)
}

/// Every user.
#[utoipa::path(get, path = "/admin/users", tag = "users",
    responses((status = 200, body = [UserInfo]), (status = 401, body = ApiError)))]
async fn list_users(State(s): State<Shared>, headers: HeaderMap) -> Response {
    guard!(s, headers);
    match s.db.list_users().await {
        Ok(l) => ok(StatusCode::OK, &l),
        Err(e) => internal(e),
    }
}

/// A new user, as `latch user add` takes it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    /// The username.
    username: String,
    /// The password.
    password: String,
    /// `name`.
    name: Option<String>,
    /// `email`.
    email: Option<String>,
    /// `email_verified`.
    #[serde(default)]
    email_verified: bool,
}

/// Adds a user.
#[utoipa::path(post, path = "/admin/users", tag = "users", request_body = NewUserBody,
    responses((status = 201, body = UserInfo), (status = 400, body = ApiError)))]
async fn add_user(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let who = guard!(s, headers);
    let b: NewUserBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let profile = crate::storage::Profile {
        name: b.name,
        email: b.email,
        email_verified: b.email_verified,
    };
    let c = attempt!(ops::add_user(&s.db, &b.username, &b.password, &profile, &actor(&who)).await);
    s.record_change(c.event, None);
    ok(
        StatusCode::CREATED,
        &attempt!(ops::show_user(&s.db, &b.username).await),
    )
}

/// One user.
#[utoipa::path(get, path = "/admin/users/{name}", tag = "users", params(("name" = String, Path, description = "username")),
    responses((status = 200, body = UserInfo), (status = 404, body = ApiError)))]
async fn show_user(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    guard!(s, headers);
    ok(
        StatusCode::OK,
        &attempt!(ops::show_user(&s.db, &name).await),
    )
}

/// A new password.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    /// The new password.
    password: String,
}

/// Sets a user's password.
#[utoipa::path(post, path = "/admin/users/{name}/password", tag = "users", params(("name" = String, Path, description = "username")),
    request_body = PasswordBody,
    responses((status = 204), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn set_password(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let who = guard!(s, headers);
    let b: PasswordBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let c = attempt!(ops::set_password(&s.db, &name, &b.password, &actor(&who)).await);
    applied(&s, StatusCode::NO_CONTENT, c)
}

/// Disables a user: no more logins; what they hold is revoked and their
/// sessions end.
#[utoipa::path(post, path = "/admin/users/{name}/disable", tag = "users", params(("name" = String, Path, description = "username")),
    responses((status = 200, body = Revoked), (status = 404, body = ApiError)))]
async fn disable_user(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = guard!(s, headers);
    let c = attempt!(ops::set_disabled(&s.db, &name, true, &actor(&who)).await);
    applied(&s, StatusCode::OK, c)
}

/// Lets a disabled user log in again.
#[utoipa::path(post, path = "/admin/users/{name}/enable", tag = "users", params(("name" = String, Path, description = "username")),
    responses((status = 204), (status = 404, body = ApiError)))]
async fn enable_user(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = guard!(s, headers);
    let c = attempt!(ops::set_disabled(&s.db, &name, false, &actor(&who)).await);
    applied(&s, StatusCode::NO_CONTENT, c)
}

/// Removes a user, revoking what they hold and ending their sessions.
#[utoipa::path(delete, path = "/admin/users/{name}", tag = "users", params(("name" = String, Path, description = "username")),
    responses((status = 200, body = Revoked), (status = 404, body = ApiError)))]
async fn remove_user(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let who = guard!(s, headers);
    let c = attempt!(ops::remove_user(&s.db, &name, &actor(&who)).await);
    applied(&s, StatusCode::OK, c)
}

/// What to revoke: exactly one of the three.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// Everything issued to this client.
    client: Option<String>,
    /// Everything this user holds.
    user: Option<String>,
    /// One token (OAuth 2.0: its whole family).
    token: Option<String>,
}

/// Revokes everything issued to a client, everything a user holds, or one
/// token.
#[utoipa::path(post, path = "/admin/tokens/revoke", tag = "tokens", request_body = RevokeBody,
    responses((status = 200, body = Revoked), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn revoke(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let who = guard!(s, headers);
    let b: RevokeBody = match json_body(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let target = match (b.client, b.user, b.token) {
        (Some(c), None, None) => Target::Client(c),
        (None, Some(u), None) => Target::User(u),
        (None, None, Some(t)) => Target::Token(t),
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "give exactly one of client, user, token",
            );
        }
    };
    let c = attempt!(ops::revoke(&s.db, &target, &actor(&who)).await);
    applied(&s, StatusCode::OK, c)
}

/// `?user=` / `?client=` filters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct GrantFilter {
    /// Only this user's grants.
    user: Option<String>,
    /// Only grants to this client.
    client: Option<String>,
}

/// What users approved for clients and still hold.
#[utoipa::path(get, path = "/admin/grants", tag = "grants", params(GrantFilter),
    responses((status = 200, body = [Grant]), (status = 404, body = ApiError)))]
async fn grants(
    State(s): State<Shared>,
    headers: HeaderMap,
    filter: Result<Query<GrantFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    guard!(s, headers);
    let Ok(Query(f)) = filter else {
        return fail(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "query parameters: user, client",
        );
    };
    let list: Vec<Grant> =
        attempt!(ops::grants(&s.db, f.user.as_deref(), f.client.as_deref()).await);
    ok(StatusCode::OK, &list)
}

/// `?limit=&client=&user=` for the audit log.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
struct AuditFilter {
    /// At most this many events, newest first (default 100, at most 1000).
    limit: Option<i64>,
    /// Only events about this client.
    client: Option<String>,
    /// Only events about this user.
    user: Option<String>,
}

/// The newest audit events.
#[utoipa::path(get, path = "/admin/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = [StoredEvent]), (status = 400, body = ApiError)))]
async fn audit(
    State(s): State<Shared>,
    headers: HeaderMap,
    filter: Result<Query<AuditFilter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    guard!(s, headers);
    let f = match filter {
        Ok(Query(f)) if f.limit.is_none_or(|l| (1..=1000).contains(&l)) => f,
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "query parameters: limit (1 to 1000), client, user",
            );
        }
    };
    match s
        .db
        .audit_events(
            f.limit.unwrap_or(100),
            f.client.as_deref(),
            f.user.as_deref(),
        )
        .await
    {
        Ok(l) => ok(StatusCode::OK, &l),
        Err(e) => internal(e),
    }
}
