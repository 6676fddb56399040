//! Protected resources and the extractor that guards them.
//!
//! [`Principal`] is an axum extractor: a handler that takes it runs only for
//! a request with valid credentials — `Authorization: OAuth …` signed with
//! OAuth1 access token credentials (query parameters signed; a form body is
//! not available to an extractor, so OAuth1 requests to guarded routes sign
//! their query only) or, once OAuth2 lands, `Authorization: Bearer …`.
//! Anything else is a 401 with `WWW-Authenticate` challenges for both.

use super::http::{self, DeferredNonce, internal, oauth1_error, request_url, text};
use super::state::Shared;
use crate::db::NonceOutcome;
use axum::Json;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latch_core::oauth1::{self, Endpoint, Problem, RequestParts, Secrets, SignedRequest};
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
    let (Some(client_id), Some(token)) = (
        text(&req.consumer_key()),
        req.token().and_then(|t| text(&t)),
    ) else {
        return Err(oauth1_error(Problem::TokenRejected));
    };
    let client = match s.db.client(&client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(oauth1_error(Problem::ConsumerKeyUnknown)),
        Err(e) => return Err(internal(e)),
    };
    let Some(sealed) = &client.secret_box else {
        return Err(oauth1_error(Problem::ConsumerKeyUnknown));
    };
    let token_hash = hex::encode(oauth1::hash(token.as_bytes()));
    let row = match s.db.oauth1_token(&token_hash).await {
        Ok(Some(t)) if t.client_id == client.id => t,
        Ok(_) => return Err(oauth1_error(Problem::TokenRejected)),
        Err(e) => return Err(internal(e)),
    };
    let (cs, ts) = match (
        s.secret_box.open(&client.id, sealed),
        s.secret_box.open(&token_hash, &row.secret_box),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return Err(internal(e)),
    };
    let mut nonce = DeferredNonce::default();
    req.verify(&Secrets::new(&cs, &ts), http::now(), &mut nonce)
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
