//! Protected resources and the extractor that guards them.
//!
//! [`Principal`] is an axum extractor: a handler that takes it runs only for
//! a request with valid credentials — `Authorization: OAuth …` signed with
//! OAuth1 access token credentials (query parameters signed; a form body is
//! not available to an extractor, so OAuth1 requests to guarded routes sign
//! their query only) or `Authorization: Bearer …` (RFC 6750 §2.1) with an
//! unexpired OAuth2 access token. [`Principal::require_scope`] adds a scope
//! requirement (403 `insufficient_scope`).
//! Anything else is a 401 with `WWW-Authenticate` challenges for both.

use super::http::{self, DeferredNonce, internal, oauth1_error, request_url, text};
use super::state::Shared;
use crate::storage::NonceOutcome;
use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latch_core::oauth1::{self, Endpoint, Problem, RequestParts, Secrets, SignedRequest};
use latch_core::oauth2::{BearerError, BearerToken, check_access};
use serde_json::json;

/// Who is calling: the client, the user (if any) and the granted scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The client (OAuth2 `client_id`, OAuth1 consumer key).
    pub client_id: String,
    /// The user who authorized the token; `None` for client credentials.
    pub user: Option<String>,
    /// The granted scope, space-separated.
    pub scope: String,
}

/// A refusal of a Bearer request: RFC 6750 §3's status, challenge and body.
pub fn bearer_error(e: BearerError, scope: Option<&str>) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let challenge = super::http::render(|w| e.write_challenge(Some("latch"), scope, w));
    let body = match e.code() {
        Some(code) => json!({"error": code.as_str()}),
        None => json!({"error": "invalid_request", "error_description": "authentication required"}),
    };
    let mut resp = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_bytes(&challenge) {
        resp.headers_mut().append(header::WWW_AUTHENTICATE, v);
    }
    if e == BearerError::Missing {
        resp.headers_mut().append(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("OAuth realm=\"latch\""),
        );
    }
    resp
}

impl Principal {
    /// Requires every scope token of `scope` (RFC 6750 §3.1
    /// `insufficient_scope`, 403, otherwise). Use in a handler:
    /// `who.require_scope("photos:write")?;`.
    pub fn require_scope(&self, scope: &str) -> Result<(), Response> {
        if latch_core::oauth2::scope::is_subset(scope, &self.scope) {
            Ok(())
        } else {
            Err(bearer_error(BearerError::InsufficientScope, Some(scope)))
        }
    }
}

/// The principal behind a `Bearer` header value.
pub async fn bearer_principal(s: &Shared, header_value: &str) -> Result<Principal, Response> {
    let token = BearerToken::from_header(Some(header_value)).map_err(|e| bearer_error(e, None))?;
    let hash = token.hash();
    let record = match s.access_cache.get(&hash) {
        Some(r) => Some(r),
        None => {
            let stamp = s.access_cache.stamp();
            let r = s.db.oauth2_access(&hash).await.map_err(internal)?;
            if let Some(r) = &r {
                s.access_cache.put(r, stamp);
            }
            r
        }
    };
    let r = check_access(&hash, record.as_ref(), http::now(), None)
        .map_err(|e| bearer_error(e, None))?;
    if !super::oauth2::client_exists(s, &r.client_id).await? {
        return Err(bearer_error(BearerError::InvalidToken, None));
    }
    Ok(Principal {
        client_id: r.client_id.to_string(),
        user: r.subject.as_ref().map(|u| u.to_string()),
        scope: r.scope.to_string(),
    })
}

/// 401 with challenges for both schemes (RFC 6750 §3, RFC 5849 §3.2).
pub fn unauthorized() -> Response {
    let mut resp = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "invalid_request", "error_description": "authentication required"})),
    )
        .into_response();
    let h = resp.headers_mut();
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"latch\""),
    );
    h.append(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("OAuth realm=\"latch\""),
    );
    resp
}

async fn oauth1_principal(
    s: &Shared,
    parts: &Parts,
    header_value: &str,
) -> Result<Principal, Response> {
    let url = request_url(s, &parts.headers, &parts.uri);
    let rp = RequestParts {
        method: parts.method.as_str(),
        url: &url,
        authorization: Some(header_value),
        form_body: None,
    };
    let req = SignedRequest::<64>::parse(rp, Endpoint::ProtectedResource, s.oauth1_policy)
        .map_err(oauth1_error)?;
    let Some(token) = req.token().and_then(|t| text(&t)) else {
        return Err(oauth1_error(Problem::TokenRejected));
    };
    let (client, cs) = super::oauth1::signing_client(s, &req.consumer_key()).await?;
    let token_hash = hex::encode(oauth1::hash(token.as_bytes()));
    let row = match s.db.oauth1_token(&token_hash, &s.secret_box).await {
        Ok(Some(t)) if t.client_id == client.id => t,
        Ok(_) => return Err(oauth1_error(Problem::TokenRejected)),
        Err(e) => return Err(internal(e)),
    };
    let ts = row.secret.as_str();
    let mut nonce = DeferredNonce::default();
    req.verify(&Secrets::new(&cs, ts), http::now(), &mut nonce)
        .map_err(oauth1_error)?;
    if let Some((key, forget_after)) = nonce.row() {
        match s.db.record_nonce(&key, forget_after).await {
            Ok(NonceOutcome::Recorded) => {}
            Ok(NonceOutcome::Replayed) => return Err(oauth1_error(Problem::NonceUsed)),
            Err(e) => return Err(internal(e)),
        }
    }
    Ok(Principal {
        client_id: client.id,
        user: Some(row.username),
        scope: client.scope,
    })
}

impl FromRequestParts<Shared> for Principal {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Shared) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized());
        };
        let Ok(value) = value.to_str() else {
            return Err(unauthorized());
        };
        let scheme = value.split(' ').next().unwrap_or("");
        if scheme.eq_ignore_ascii_case("OAuth") {
            return oauth1_principal(s, parts, value).await;
        }
        if scheme.eq_ignore_ascii_case("Bearer") {
            return bearer_principal(s, value).await;
        }
        Err(unauthorized())
    }
}

/// `GET /api/ping`.
pub async fn ping(_who: Principal) -> Json<serde_json::Value> {
    Json(json!({"ping": "pong"}))
}

/// `GET /api/info`.
pub async fn info(who: Principal) -> Json<serde_json::Value> {
    Json(json!({"client_id": who.client_id, "user": who.user, "scope": who.scope}))
}
