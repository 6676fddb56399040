//! The OpenID Provider's own endpoints: the JWK Set (RFC 7517 §5), UserInfo
//! (OpenID Connect Core 1.0 §5.3) and RP-initiated logout (OpenID
//! RP-Initiated Logout 1.0). Discovery is [`super::oauth2::metadata`]
//! (one document at both well-known paths); the id_token is signed in the
//! token endpoint. Every decision — which claims a scope releases, which
//! client a logout names, where the browser may go — is the core's
//! (`latch_core::oidc`); this module looks things up and renders them.

use super::api::bearer_error;
use super::http::{self, html, internal, redirect_to, render};
use super::login::{self, PageForm, end_session, page_with_csrf, read_page_form};
use super::pages;
use super::state::Shared;
use crate::crypto;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use latch_core::oauth2::BearerError;
use latch_core::oidc::{AfterLogout, LogoutRequest, UserClaims, may_read_userinfo};

/// `/oauth2/jwks`.
pub const JWKS: &str = "/oauth2/jwks";
/// `/oauth2/userinfo`.
pub const USERINFO: &str = "/oauth2/userinfo";
/// `/oauth2/logout`.
pub const LOGOUT: &str = "/oauth2/logout";

fn json_response(body: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// `GET /oauth2/jwks`: every published public key (signing now, about to,
/// or retired but still verifying tokens that may be in use).
pub async fn jwks(State(s): State<Shared>) -> Response {
    let body = s.signing.jwk_set(http::now().as_secs());
    // Short caching: a rotation is published `key_rotation_delay` before
    // it signs, far longer than this.
    json_response(
        body.into_bytes(),
        "application/jwk-set+json",
        "public, max-age=300",
    )
}

/// `GET`/`POST /oauth2/userinfo` (Core §5.3): a Bearer access token
/// issued for an OpenID request; the claims its scope releases (§5.4).
/// Errors are RFC 6750 §3 challenges.
pub async fn userinfo(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return bearer_error(BearerError::Missing, None);
    };
    let who = match super::api::bearer_principal(&s, value).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !may_read_userinfo(&who.scope) {
        return bearer_error(BearerError::InsufficientScope, Some("openid"));
    }
    // A client_credentials token has no user; a removed user has no claims.
    let user = match &who.user {
        Some(u) => match s.db.user(u).await {
            Ok(Some(row)) => row,
            Ok(None) => return bearer_error(BearerError::InvalidToken, None),
            Err(e) => return internal(e),
        },
        None => return bearer_error(BearerError::InvalidToken, None),
    };
    let claims = UserClaims {
        sub: &user.sub,
        username: &user.username,
        name: user.name.as_deref(),
        email: user.email.as_deref(),
        email_verified: user.email_verified,
    };
    let body = super::oauth2::render_into(|b| claims.render(&who.scope, b));
    json_response(body, "application/json", "no-store")
}

fn logout_error(message: &str) -> Response {
    html(
        StatusCode::BAD_REQUEST,
        pages::error("Cannot sign out", message),
    )
}

/// A checked logout request.
struct CheckedLogout {
    /// Where to send the browser afterwards (`None`: a page).
    after: Option<String>,
    /// The `sub` of a verified `id_token_hint`.
    hint_sub: Option<String>,
}

/// Checks an RP-initiated logout request: the client it names (by
/// `client_id` or by a verified `id_token_hint`) and where the browser may
/// go afterwards. Errors are pages, never redirects.
async fn check_logout(s: &Shared, query: &str) -> Result<CheckedLogout, Response> {
    let req = LogoutRequest::parse(query.as_bytes())
        .map_err(|e| logout_error(e.description.unwrap_or("malformed request")))?;
    let (hint_aud, hint_sub) = match req.id_token_hint() {
        Some(h) => {
            let h = http::text(&h).ok_or_else(|| logout_error("malformed id_token_hint"))?;
            let (aud, sub) = s
                .signing
                .id_token_hint(&h, &s.issuer)
                .ok_or_else(|| logout_error("the id_token_hint was not issued here"))?;
            (Some(aud), Some(sub))
        }
        None => (None, None),
    };
    let client = req
        .client(hint_aud.as_deref())
        .map_err(|e| logout_error(e.description.unwrap_or("bad request")))?;
    let registered = match &client {
        Some(id) => match s.db.client(id).await {
            Ok(Some(c)) => Some(c.post_logout_redirect_uris),
            Ok(None) => return Err(logout_error("unknown client")),
            Err(e) => return Err(internal(e)),
        },
        None => None,
    };
    let uris: Option<Vec<&str>> = registered
        .as_ref()
        .map(|r| r.iter().map(String::as_str).collect());
    let after = match req
        .after(uris.as_deref())
        .map_err(|e| logout_error(e.description.unwrap_or("bad request")))?
    {
        AfterLogout::Page => None,
        AfterLogout::Redirect(uri) => {
            let to = render(|w| req.write_location(uri, w));
            Some(String::from_utf8_lossy(&to).into_owned())
        }
    };
    Ok(CheckedLogout { after, hint_sub })
}

/// `GET /oauth2/logout` (RP-Initiated Logout 1.0 §2): checks the request;
/// with an `id_token_hint` of this session's user it ends the session at
/// once, otherwise it asks the signed-in user to confirm (§2: the OP MUST
/// ask when the hint is missing or names someone else — a cross-site GET
/// must not end a session on its own). Nobody signed in: straight to the
/// destination.
pub async fn logout_page(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    let query = uri.query().unwrap_or("");
    let checked = match check_logout(&s, query).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(user) = login::session_user(&s, &headers).await else {
        return match checked.after {
            Some(to) => redirect_to(&to),
            None => html(
                StatusCode::OK,
                pages::done("Signed out", "You are not signed in to this server."),
            ),
        };
    };
    if let Some(hint_sub) = &checked.hint_sub {
        match s.db.user(&user).await {
            Ok(Some(row)) if crypto::ct_eq_str(&row.sub, hint_sub) => {
                return end_session(&s, &headers, checked.after).await;
            }
            Ok(_) => {}
            Err(e) => return internal(e),
        }
    }
    page_with_csrf(&s, &headers, StatusCode::OK, |token| {
        pages::logout_with(Some(&user), token, &[("request", query)])
    })
}

/// The logout confirmation form.
#[derive(Debug, serde::Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
    request: Option<String>,
}

impl PageForm for LogoutForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `POST /oauth2/logout`: the confirmation (CSRF-checked). Ends the
/// server-side session, clears its cookie, then redirects to the
/// registered `post_logout_redirect_uri` (with `state`) or shows a page.
pub async fn logout(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match read_page_form::<LogoutForm>(&s, &headers, &body, "Cannot sign out") {
        Ok(f) => f,
        Err(r) => return r,
    };
    match check_logout(&s, form.request.as_deref().unwrap_or("")).await {
        Ok(checked) => end_session(&s, &headers, checked.after).await,
        Err(r) => r,
    }
}
