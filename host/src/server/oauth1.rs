//! The OAuth 1.0a provider endpoints (DESIGN.md): temporary credentials,
//! the authorization page, token credentials. Each decision is the core's
//! (`latch_core::oauth1::{issue_temporary, authorize, issue_token}`); this
//! module loads and stores rows.

use super::http::{
    self, DeferredNonce, html, internal, oauth1_error, render, request_url, signed_form, text,
};
use super::login;
use super::pages;
use super::state::Shared;
use crate::storage::oauth1::Secret;
use crate::storage::{NonceOutcome, Oauth1Temporary, Oauth1Token};
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use latch_core::UnixTime;
use latch_core::oauth1::{
    self, Authorization, ClientRecord, Endpoint, Problem, RequestParts, SignedRequest,
    TemporaryRecord,
};
use std::collections::HashMap;

const MAX_PARAMS: usize = 64;

/// Parses a signed request to one of the OAuth1 endpoints.
fn parse_signed<'a>(
    s: &Shared,
    method: &'a Method,
    url: &'a str,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    endpoint: Endpoint,
) -> Result<SignedRequest<'a, MAX_PARAMS>, Response> {
    let parts = RequestParts {
        method: method.as_str(),
        url,
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        form_body: signed_form(headers, body),
    };
    SignedRequest::parse(parts, endpoint, s.oauth1_policy).map_err(oauth1_error)
}

/// The client named by `oauth_consumer_key` and its opened secret; unknown
/// and public clients (no secret to sign with) are `consumer_key_unknown`.
pub(super) async fn signing_client(
    s: &Shared,
    consumer_key: &latch_core::Text<'_>,
) -> Result<(crate::storage::ClientRow, String), Response> {
    let Some(client_id) = text(consumer_key) else {
        return Err(oauth1_error(Problem::ConsumerKeyUnknown));
    };
    let client = match s.db.client(&client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return Err(oauth1_error(Problem::ConsumerKeyUnknown)),
        Err(e) => return Err(internal(e)),
    };
    let Some(sealed) = &client.secret_box else {
        return Err(oauth1_error(Problem::ConsumerKeyUnknown));
    };
    let secret = s.secret_box.open(&client.id, sealed).map_err(internal)?;
    Ok((client, secret))
}

/// `POST /oauth1/request_token` (§2.1).
pub async fn request_token(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = request_url(&s, &headers, &uri);
    let req = match parse_signed(
        &s,
        &method,
        &url,
        &headers,
        &body,
        Endpoint::TemporaryCredentials,
    ) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (client, secret) = match signing_client(&s, &req.consumer_key()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let callbacks: Vec<&str> = client.redirect_uris.iter().map(String::as_str).collect();
    let record = ClientRecord {
        secret: &secret,
        callbacks: &callbacks,
    };
    let mut nonce = DeferredNonce::default();
    let issued = match oauth1::issue_temporary(
        &req,
        &record,
        http::now(),
        &mut nonce,
        &http::random::<64>(),
        oauth1::DEFAULT_TEMPORARY_TTL,
    ) {
        Ok(i) => i,
        Err(p) => return oauth1_error(p),
    };
    let token_hash = hex::encode(issued.token.hash);
    let Some(callback) = text(&issued.callback) else {
        return oauth1_error(Problem::ParameterRejected {
            name: "oauth_callback",
        });
    };
    let row = Oauth1Temporary {
        client_id: client.id.clone(),
        secret: Secret::new(issued.secret.as_str()),
        callback,
        expires_at: i64::try_from(issued.expires_at.as_secs()).unwrap_or(i64::MAX),
        verifier_hash: None,
        username: None,
    };
    let nonce_row = nonce.row();
    match s
        .db
        .insert_oauth1_temporary(
            &token_hash,
            &row,
            nonce_row.as_ref().map(|(k, t)| (k.as_str(), *t)),
            &s.secret_box,
        )
        .await
    {
        Ok(NonceOutcome::Recorded) => http::form_response(render(|w| issued.write_response(w))),
        Ok(NonceOutcome::Replayed) => oauth1_error(Problem::NonceUsed),
        Err(e) => internal(e),
    }
}

/// Loads a temporary credential that can still be authorized.
/// A pending authorization: the token's hash, its row, and the client's
/// name and scope (what the token credentials will carry).
async fn pending(
    s: &Shared,
    token: &str,
) -> Result<(String, Oauth1Temporary, (String, String)), Response> {
    let bad = |msg: &str| {
        html(
            StatusCode::BAD_REQUEST,
            pages::error("Cannot authorize", msg),
        )
    };
    let hash = hex::encode(oauth1::hash(token.as_bytes()));
    let temp = match s.db.oauth1_temporary(&hash, &s.secret_box).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(bad(
                "This authorization request is unknown or was already used.",
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    if temp.expires_at < i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX) {
        return Err(bad(
            "This authorization request has expired. Start again from the application.",
        ));
    }
    if temp.verifier_hash.is_some() {
        return Err(bad("This authorization request was already answered."));
    }
    let name = match s.db.client(&temp.client_id).await {
        Ok(Some(c)) => (c.name, c.scope),
        Ok(None) => return Err(bad("The application that asked is no longer registered.")),
        Err(e) => return Err(internal(e)),
    };
    Ok((hash, temp, name))
}

fn one_param<'q>(
    q: &'q HashMap<String, String>,
    raw: &str,
    name: &str,
) -> Result<&'q str, Response> {
    // Duplicate parameters are refused: HashMap would keep only one.
    let count = latch_core::form::parse(raw.as_bytes())
        .filter_map(Result::ok)
        .filter(|p| p.name.eq_str(name))
        .count();
    match (count, q.get(name)) {
        (1, Some(v)) => Ok(v),
        _ => Err(html(
            StatusCode::BAD_REQUEST,
            pages::error(
                "Cannot authorize",
                &format!("The request must carry exactly one {name}."),
            ),
        )),
    }
}

/// `GET /oauth1/authorize?oauth_token=…` (§2.2): the login + consent form.
pub async fn authorize_page(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let raw = uri.query().unwrap_or("");
    let q: HashMap<String, String> = match Query::try_from_uri(&uri) {
        Ok(Query(q)) => q,
        Err(_) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Cannot authorize", "Malformed query string."),
            );
        }
    };
    let token = match one_param(&q, raw, "oauth_token") {
        Ok(t) => t.to_owned(),
        Err(r) => return r,
    };
    let (_, _, (name, scope)) = match pending(&s, &token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    login::session_consent_page(
        &s,
        &headers,
        StatusCode::OK,
        pages::Consent {
            client_name: &name,
            // The token credentials carry all of the client's scopes.
            scopes: s.describe(&scope),
            hidden: vec![("oauth_token", &token)],
            ..pages::Consent::default()
        },
    )
    .await
}

/// The fields of a submitted consent form (`Debug` leaves the password
/// out).
#[derive(serde::Deserialize)]
pub struct ConsentForm {
    oauth_token: Option<String>,
    csrf: Option<String>,
    decision: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

impl login::PageForm for ConsentForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl std::fmt::Debug for ConsentForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentForm")
            .field("oauth_token", &self.oauth_token)
            .field("decision", &self.decision)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// `POST /oauth1/authorize`: the user's decision.
pub async fn authorize_submit(
    State(s): State<Shared>,
    peer: super::limits::Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let addr = s.limits.client_addr(peer.0, &headers);
    let form: ConsentForm = match login::read_page_form(&s, &headers, &body, "Cannot authorize") {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(token) = form.oauth_token.as_deref() else {
        return html(
            StatusCode::BAD_REQUEST,
            pages::error("Cannot authorize", "The request carries no oauth_token."),
        );
    };
    let (hash, temp, (name, scope)) = match pending(&s, token).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let approve = match form.decision.as_deref() {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Cannot authorize", "Choose Approve or Deny."),
            );
        }
    };
    let record = TemporaryRecord {
        consumer_key: &temp.client_id,
        secret: temp.secret.as_str(),
        callback: &temp.callback,
        expires_at: UnixTime(u64::try_from(temp.expires_at).unwrap_or(0)),
        verifier_hash: None,
    };
    if !approve {
        let decision = match oauth1::authorize(token, &record, http::now(), false, &[0; 32]) {
            Ok(d) => d,
            Err(e) => {
                return html(
                    StatusCode::BAD_REQUEST,
                    pages::error("Cannot authorize", &e.to_string()),
                );
            }
        };
        if let Err(e) = s.db.delete_oauth1_temporary(&hash).await {
            return internal(e);
        }
        let user = login::session_user(&s, &headers).await;
        s.audit.record(crate::audit::consent(
            false,
            user.as_deref(),
            &temp.client_id,
            "oauth1",
        ));
        return finish(
            &decision,
            "Access denied",
            "You denied the request. You can close this page.",
        );
    }
    let (user, fresh_login) = match login::login(
        &s,
        &headers,
        &addr,
        form.username.as_deref(),
        form.password.as_deref(),
        |_| false,
    )
    .await
    {
        Ok(l) => (l.user, l.fresh),
        Err(failure) => {
            if let Some(r) = failure.too_many() {
                return r;
            }
            let msg = failure.message();
            return login::consent_page(
                &s,
                &headers,
                StatusCode::UNAUTHORIZED,
                pages::Consent {
                    client_name: &name,
                    scopes: s.describe(&scope),
                    hidden: vec![("oauth_token", token)],
                    error: Some(msg),
                    ..pages::Consent::default()
                },
            );
        }
    };
    let decision = match oauth1::authorize(token, &record, http::now(), true, &http::random::<32>())
    {
        Ok(d) => d,
        Err(e) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Cannot authorize", &e.to_string()),
            );
        }
    };
    let Authorization::Approved { verifier, .. } = &decision else {
        return internal("approval produced no verifier");
    };
    match s
        .db
        .approve_oauth1_temporary(&hash, &hex::encode(verifier.hash), &user)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error(
                    "Cannot authorize",
                    "This authorization request was already answered.",
                ),
            );
        }
        Err(e) => return internal(e),
    }
    s.audit.record(crate::audit::consent(
        true,
        Some(&user),
        &temp.client_id,
        "oauth1",
    ));
    let resp = finish(
        &decision,
        "Access granted",
        "Enter this verification code in the application:",
    );
    if fresh_login {
        login::with_session(&s, resp, &user).await
    } else {
        resp
    }
}

fn finish(decision: &Authorization<'_>, title: &str, message: &str) -> Response {
    if decision.is_out_of_band() {
        return match decision {
            Authorization::Approved { verifier, .. } => html(
                StatusCode::OK,
                pages::show_code(title, message, verifier.as_str()),
            ),
            Authorization::Denied { .. } => html(StatusCode::OK, pages::done(title, message)),
        };
    }
    let location = render(|w| decision.write_redirect(w));
    http::redirect_to(&String::from_utf8_lossy(&location))
}

/// `POST /oauth1/access_token` (§2.3).
pub async fn access_token(
    State(s): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = request_url(&s, &headers, &uri);
    let req = match parse_signed(
        &s,
        &method,
        &url,
        &headers,
        &body,
        Endpoint::TokenCredentials,
    ) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let Some(token) = req.token().and_then(|t| text(&t)) else {
        return oauth1_error(Problem::TokenRejected);
    };
    let (client, client_secret) = match signing_client(&s, &req.consumer_key()).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let temp_hash = hex::encode(oauth1::hash(token.as_bytes()));
    let temp = match s.db.oauth1_temporary(&temp_hash, &s.secret_box).await {
        Ok(Some(t)) => t,
        Ok(None) => return oauth1_error(Problem::TokenRejected),
        Err(e) => return internal(e),
    };
    let verifier_hash = temp.verifier_hash.as_deref().and_then(|h| {
        let mut out = [0u8; 32];
        hex::decode_to_slice(h, &mut out).ok().map(|()| out)
    });
    let record = TemporaryRecord {
        consumer_key: &temp.client_id,
        secret: temp.secret.as_str(),
        callback: &temp.callback,
        expires_at: UnixTime(u64::try_from(temp.expires_at).unwrap_or(0)),
        verifier_hash,
    };
    let mut nonce = DeferredNonce::default();
    let issued = match oauth1::issue_token(
        &req,
        &client_secret,
        &record,
        http::now(),
        &mut nonce,
        &http::random::<64>(),
    ) {
        Ok(i) => i,
        Err(p) => return oauth1_error(p),
    };
    let token_hash = hex::encode(issued.token.hash);
    let row = Oauth1Token {
        client_id: client.id.clone(),
        secret: Secret::new(issued.secret.as_str()),
        username: temp.username.clone().unwrap_or_default(),
    };
    let nonce_row = nonce.row();
    match s
        .db
        .exchange_oauth1_temporary(
            &temp_hash,
            &token_hash,
            &row,
            nonce_row.as_ref().map(|(k, t)| (k.as_str(), *t)),
            &s.secret_box,
        )
        .await
    {
        Ok(Some(true)) => {
            super::metrics::token_issued("oauth1", &client.id);
            http::form_response(render(|w| issued.write_response(w)))
        }
        Ok(Some(false)) => oauth1_error(Problem::TokenRejected),
        Ok(None) => oauth1_error(Problem::NonceUsed),
        Err(e) => internal(e),
    }
}
