//! `/account`: a signed-in user's connected apps and login sessions.
//!
//! * `GET /account`: without a session, a sign-in form (`POST
//!   /account/login`, counted by the same brute-force limits as the consent
//!   pages); with one, every client the user granted (name, scopes in
//!   words, since when) and every login session.
//! * `POST /account/revoke` (`client_id`): revokes what the user granted
//!   that client — access and refresh tokens (whole families), unredeemed
//!   codes, device codes, OAuth1 tokens ([`crate::admin::ops::Target::Grant`]).
//! * `POST /account/sessions/end` (`session`): ends one of the user's own
//!   sessions (the value is the stored hash, never the cookie).
//!
//! Every POST carries the CSRF token bound to the CSRF cookie; each change
//! is an audit event with actor `user:<name>` and answers `303` back to
//! `/account`.

use super::http::{self, internal};
use super::limits::Peer;
use super::login::{self, PageForm, page_with_csrf, read_page_form, with_session};
use super::pages;
use super::state::Shared;
use crate::admin::ops::{self, Target};
use crate::admin::render::when;
use crate::audit::Event;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// The page's path.
pub const ACCOUNT: &str = "/account";

/// `GET /account`.
pub async fn page(State(s): State<Shared>, headers: HeaderMap) -> Response {
    match login::session_user(&s, &headers).await {
        Some(user) => overview(&s, &headers, &user, StatusCode::OK).await,
        None => page_with_csrf(&s, &headers, StatusCode::OK, |csrf| {
            pages::account_login(csrf, None)
        }),
    }
}

async fn overview(s: &Shared, headers: &HeaderMap, user: &str, status: StatusCode) -> Response {
    let now = i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX);
    let grants = match s.db.grants(Some(user), None, now).await {
        Ok(g) => g,
        Err(e) => return internal(e),
    };
    let sessions = match s.db.user_sessions(user, now).await {
        Ok(l) => l,
        Err(e) => return internal(e),
    };
    let current = login::session_id(s, headers).map(|id| crate::crypto::token_hash(&id));
    // One entry per client (an OAuth1 and an OAuth2 grant to the same
    // client are revoked together).
    let mut apps: Vec<pages::ConnectedApp<'_>> = Vec::new();
    for g in &grants {
        match apps.iter_mut().find(|a| a.client_id == g.client_id) {
            Some(a) => {
                for sc in s.describe(&g.scope) {
                    if !a.scopes.iter().any(|(n, _)| *n == sc.0) {
                        a.scopes.push(sc);
                    }
                }
            }
            None => apps.push(pages::ConnectedApp {
                client_id: &g.client_id,
                name: &g.client_name,
                scopes: s.describe(&g.scope),
                since: when(Some(g.since)),
                last: when(Some(g.last_issued)),
            }),
        }
    }
    let sessions: Vec<pages::AccountSession<'_>> = sessions
        .iter()
        .map(|x| pages::AccountSession {
            id: &x.id_hash,
            started: when(Some(x.created_at)),
            expires: when(Some(x.expires_at)),
            current: current.as_deref() == Some(x.id_hash.as_str()),
        })
        .collect();
    page_with_csrf(s, headers, status, |csrf| {
        pages::account(user, &apps, &sessions, csrf, None)
    })
}

/// The sign-in form's fields.
#[derive(serde::Deserialize)]
pub struct SignInForm {
    username: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

impl std::fmt::Debug for SignInForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInForm")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl PageForm for SignInForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `POST /account/login`.
pub async fn sign_in(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form: SignInForm = match read_page_form(&s, &headers, &body, "Cannot sign in") {
        Ok(f) => f,
        Err(r) => return r,
    };
    let addr = s.limits.client_addr(peer.0, &headers);
    match login::login(
        &s,
        &headers,
        &addr,
        form.username.as_deref(),
        form.password.as_deref(),
        |_| false,
    )
    .await
    {
        Ok(l) if l.fresh => with_session(&s, http::redirect_to(ACCOUNT), &l.user).await,
        Ok(_) => http::redirect_to(ACCOUNT),
        Err(failure) => {
            if let Some(r) = failure.too_many() {
                return r;
            }
            page_with_csrf(&s, &headers, StatusCode::UNAUTHORIZED, |csrf| {
                pages::account_login(csrf, Some(failure.message()))
            })
        }
    }
}

/// The revoke form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct RevokeForm {
    client_id: Option<String>,
    csrf: Option<String>,
}

impl PageForm for RevokeForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `POST /account/revoke`.
pub async fn revoke(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form: RevokeForm = match read_page_form(&s, &headers, &body, "Cannot revoke") {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(user) = login::session_user(&s, &headers).await else {
        return http::redirect_to(ACCOUNT);
    };
    let Some(client_id) = form.client_id.filter(|c| !c.is_empty()) else {
        return http::html(
            StatusCode::BAD_REQUEST,
            pages::error("Cannot revoke", "No app was named."),
        );
    };
    let target = Target::Grant {
        username: user.clone(),
        client_id: client_id.clone(),
    };
    let change = match ops::revoke(&s.db, &target, &format!("user:{user}")).await {
        Ok(c) => c,
        Err(crate::admin::AdminError::NotFound(_)) => {
            return http::html(
                StatusCode::BAD_REQUEST,
                pages::error("Cannot revoke", "No such app."),
            );
        }
        Err(e) => return internal(e),
    };
    s.record_change(change.event, change.revoked.as_ref());
    http::redirect_to(ACCOUNT)
}

/// The end-session form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct EndSessionForm {
    session: Option<String>,
    csrf: Option<String>,
}

impl PageForm for EndSessionForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `POST /account/sessions/end`: ending the session this browser uses
/// signs it out (the cookie is cleared too).
pub async fn end_session(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let form: EndSessionForm = match read_page_form(&s, &headers, &body, "Cannot end the session") {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(user) = login::session_user(&s, &headers).await else {
        return http::redirect_to(ACCOUNT);
    };
    let Some(id_hash) = form.session.filter(|x| !x.is_empty()) else {
        return http::html(
            StatusCode::BAD_REQUEST,
            pages::error("Cannot end the session", "No session was named."),
        );
    };
    let current = login::session_id(&s, &headers).map(|id| crate::crypto::token_hash(&id));
    if current.as_deref() == Some(id_hash.as_str()) {
        s.audit.record(
            Event::new("session.ended", format!("user:{user}"))
                .user(&user)
                .detail("this browser"),
        );
        return login::end_session(&s, &headers, Some(ACCOUNT.to_owned())).await;
    }
    match s.db.end_user_session(&user, &id_hash).await {
        Ok(true) => {
            s.audit.record(
                Event::new("session.ended", format!("user:{user}"))
                    .user(&user)
                    .detail("another session"),
            );
            http::redirect_to(ACCOUNT)
        }
        Ok(false) => http::html(
            StatusCode::BAD_REQUEST,
            pages::error("Cannot end the session", "No such session."),
        ),
        Err(e) => internal(e),
    }
}
