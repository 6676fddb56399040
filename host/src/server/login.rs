//! Logging in on the consent pages, and the login session that follows.
//!
//! * [`login`]: the session's user, or username + password — exactly one
//!   argon2 verification per attempt, on the blocking pool behind
//!   [`AppState::password_gate`](super::state::AppState::password_gate),
//!   counted by [`super::limits`].
//! * Sessions are server-side: the cookie is a signed random id, the
//!   database holds its SHA-256 (`login_sessions`), so `POST /logout`
//!   (with CSRF) or deleting the row ends a session before its 8 hours.
//! * [`consent_page`]: the login + consent form with its CSRF token, bound
//!   to the CSRF cookie (`__Host-` under https, [`super::session`]).

use super::http::{self, html, internal};
use super::pages;
use super::session;
use super::state::Shared;
use crate::crypto;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use latch_core::UnixTime;

/// The session id of a validly signed, unexpired session cookie.
pub fn session_id(s: &Shared, headers: &HeaderMap) -> Option<String> {
    session::cookie(headers, s.cookies().session())
        .and_then(|v| session::session_user(&s.keys.session, v, http::now().as_secs()))
}

/// The logged-in user: a signed session cookie whose session still exists
/// on the server (logout, or an operator, can end it).
pub async fn session_user(s: &Shared, headers: &HeaderMap) -> Option<String> {
    session(s, headers).await.map(|(u, _)| u)
}

/// The session's user and when they entered the password (the session's
/// start: OpenID Connect's `auth_time`).
pub async fn session(s: &Shared, headers: &HeaderMap) -> Option<(String, UnixTime)> {
    let id = session_id(s, headers)?;
    let now = i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX);
    match s.db.login_session(&crypto::token_hash(&id), now).await {
        Ok(found) => found.map(|(u, t)| (u, UnixTime(u64::try_from(t).unwrap_or(0)))),
        Err(e) => {
            tracing::error!(error = %e, "session lookup failed");
            None
        }
    }
}

/// The CSRF cookie, minting one when the browser has none.
pub fn csrf_cookie(s: &Shared, headers: &HeaderMap) -> (String, bool) {
    match session::cookie(headers, s.cookies().csrf()) {
        Some(c) if !c.is_empty() => (c.to_owned(), false),
        _ => {
            use base64ct::Encoding;
            (
                base64ct::Base64UrlUnpadded::encode_string(&http::random::<16>()),
                true,
            )
        }
    }
}

/// [`consent_page`] for whoever is signed in: the page shows the session's
/// user (consent only) or asks for a username and password.
pub async fn session_consent_page(
    s: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    page: pages::Consent<'_>,
) -> Response {
    let user = session_user(s, headers).await;
    consent_page(
        s,
        headers,
        status,
        pages::Consent {
            user: user.as_deref(),
            ..page
        },
    )
}

/// Renders a page with a form: `render` gets the CSRF form token bound to
/// the browser's CSRF cookie, which is set here when it is new.
pub fn page_with_csrf(
    s: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    render: impl FnOnce(&str) -> String,
) -> Response {
    let (csrf, fresh) = csrf_cookie(s, headers);
    let token = session::csrf_token(&s.keys.session, &csrf);
    let mut resp = html(status, render(&token));
    if fresh
        && let Ok(v) = HeaderValue::from_str(&s.cookies().set(s.cookies().csrf(), &csrf, 86400))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Renders the consent page, setting the CSRF cookie if it is new.
pub fn consent_page(
    s: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    page: pages::Consent<'_>,
) -> Response {
    page_with_csrf(s, headers, status, |token| {
        pages::consent(&pages::Consent {
            csrf: token,
            ..page
        })
    })
}

/// Why a login did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginFailure {
    /// Show this message on the form again.
    Message(&'static str),
    /// Too many failures for this username or address: wait this long.
    Limited(std::time::Duration),
}

impl LoginFailure {
    /// The 429 page for [`LoginFailure::Limited`]; `None` for a message.
    pub fn too_many(self) -> Option<Response> {
        match self {
            LoginFailure::Limited(wait) => Some(super::limits::too_many_page(
                wait,
                "failed sign-in attempts",
            )),
            LoginFailure::Message(_) => None,
        }
    }

    /// The message for the form.
    pub fn message(self) -> &'static str {
        match self {
            LoginFailure::Message(m) => m,
            LoginFailure::Limited(_) => "Too many failed sign-in attempts. Try again later.",
        }
    }
}

/// Who approved a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// The username.
    pub user: String,
    /// Whether the password was entered in this form (start a session).
    pub fresh: bool,
    /// When the password was entered (now, or the session's start).
    pub auth_time: UnixTime,
}

/// Checks the form's login: the session's user, or username + password
/// from `addr` (the client address the limits count). A session whose
/// login `too_old` says is too old for the request (OpenID `prompt=login`,
/// `max_age`) does not count: only a password entered now does.
pub async fn login(
    s: &Shared,
    headers: &HeaderMap,
    addr: &str,
    username: Option<&str>,
    password: Option<&str>,
    too_old: impl FnOnce(UnixTime) -> bool,
) -> Result<LoggedIn, LoginFailure> {
    if let Some((user, auth_time)) = session(s, headers).await
        && !too_old(auth_time)
    {
        return Ok(LoggedIn {
            user,
            fresh: false,
            auth_time,
        });
    }
    let (Some(u), Some(p)) = (username, password) else {
        return Err(LoginFailure::Message("Enter your username and password."));
    };
    let user_key = format!("u:{u}");
    let addr_key = format!("a:{addr}");
    // A refused attempt costs nothing: no lookup, no argon2.
    if let Some(wait) = s
        .limits
        .login_user
        .blocked(&user_key)
        .max(s.limits.login_addr.blocked(&addr_key))
    {
        return Err(LoginFailure::Limited(wait));
    }
    let stored = match s.db.password_hash(u).await {
        Ok(h) => h,
        Err(e) => {
            tracing::error!(error = %e, "password lookup failed");
            None
        }
    };
    // Exactly one verification per attempt, against the dummy hash when the
    // user does not exist, and one message for both failures: neither the
    // time nor the text tells which usernames exist.
    let exists = stored.is_some();
    let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
    if verify_password_off_runtime(s, p, hash).await && exists {
        Ok(LoggedIn {
            user: u.to_owned(),
            fresh: true,
            auth_time: http::now(),
        })
    } else {
        super::metrics::failed_login();
        s.audit.record(
            crate::audit::Event::new("login.failed", format!("address:{addr}"))
                .user(u)
                .detail(if exists {
                    "wrong password"
                } else {
                    "unknown or disabled user"
                }),
        );
        s.limits.login_user.fail(&user_key);
        s.limits.login_addr.fail(&addr_key);
        Err(LoginFailure::Message("Invalid username or password."))
    }
}

/// Runs argon2 on tokio's blocking pool, at most [`AppState::password_gate`]
/// at a time, so a flood of logins queues for the gate instead of stalling
/// the workers that serve every other endpoint.
///
/// [`AppState::password_gate`]: super::state::AppState::password_gate
pub async fn verify_password_off_runtime(s: &Shared, password: &str, hash: String) -> bool {
    let Ok(_permit) = s.password_gate.acquire().await else {
        return false;
    };
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || crypto::verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// An argon2id hash of nothing, verified when the user does not exist so
/// that timing does not tell which usernames exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2y1eAFMxJTkqGbd8+j2t2xbrbHd3U5eiHNd5F8UZ1xI";

/// Starts a server-side login session for `user` and adds its cookie: a
/// fresh random id (so no session id is ever reused or fixed by an
/// attacker), signed, stored as its SHA-256.
pub async fn with_session(s: &Shared, mut resp: Response, user: &str) -> Response {
    use base64ct::Encoding;
    let id = base64ct::Base64UrlUnpadded::encode_string(&http::random::<32>());
    let now = http::now().as_secs();
    let expires = now + session::SESSION_TTL;
    let stored =
        s.db.insert_login_session(
            &crypto::token_hash(&id),
            user,
            i64::try_from(now).unwrap_or(i64::MAX),
            i64::try_from(expires).unwrap_or(i64::MAX),
        )
        .await;
    if let Err(e) = stored {
        // The login itself succeeded; only "stay signed in" is lost.
        tracing::error!(error = %e, "storing the login session failed");
        return resp;
    }
    let value = session::session_value(&s.keys.session, &id, expires);
    if let Ok(v) = HeaderValue::from_str(&s.cookies().set(
        s.cookies().session(),
        &value,
        session::SESSION_TTL,
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// A form a page posts back: it carries the CSRF token.
pub trait PageForm: serde::de::DeserializeOwned {
    /// The submitted CSRF token.
    fn csrf(&self) -> Option<&str>;
}

/// Reads a page's form POST — the form content type, the fields, and the
/// CSRF token checked against the CSRF cookie — the one check every page
/// (consent, device, logout) goes through. Errors are pages titled `title`.
pub fn read_page_form<F: PageForm>(
    s: &Shared,
    headers: &HeaderMap,
    body: &[u8],
    title: &str,
) -> Result<F, Response> {
    if !http::is_form(headers) {
        return Err(html(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            pages::error(title, "Expected a form submission."),
        ));
    }
    let form: F = serde_urlencoded::from_bytes(body).map_err(|_| {
        html(
            StatusCode::BAD_REQUEST,
            pages::error(title, "Malformed form."),
        )
    })?;
    let cookie = session::cookie(headers, s.cookies().csrf());
    if !session::csrf_ok(&s.keys.session, cookie, form.csrf().unwrap_or("")) {
        return Err(html(
            StatusCode::BAD_REQUEST,
            pages::error(
                title,
                "The form expired or was not sent from this site. Reload the page and try again.",
            ),
        ));
    }
    Ok(form)
}

/// The logout form's fields.
#[derive(Debug, serde::Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

impl PageForm for LogoutForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `GET /logout`: a page with the sign-out button (a POST with CSRF, so a
/// third-party page cannot sign the user out).
pub async fn logout_page(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let user = session_user(&s, &headers).await;
    page_with_csrf(&s, &headers, StatusCode::OK, |token| {
        pages::logout(user.as_deref(), token)
    })
}

/// `POST /logout`: ends the server-side session and clears its cookie.
pub async fn logout(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = read_page_form::<LogoutForm>(&s, &headers, &body, "Cannot sign out") {
        return r;
    }
    end_session(&s, &headers, None).await
}

/// Ends the session named by the request's cookie (its row is deleted)
/// and answers with a redirect to `after`, or a "signed out" page,
/// clearing the session cookie. Both logouts (`/logout`, OpenID's
/// `/oauth2/logout`) end here.
pub async fn end_session(s: &Shared, headers: &HeaderMap, after: Option<String>) -> Response {
    if let Some(id) = session_id(s, headers)
        && let Err(e) = s.db.delete_login_session(&crypto::token_hash(&id)).await
    {
        return internal(e);
    }
    let mut resp = match after {
        Some(to) => super::http::redirect_to(&to),
        None => html(
            StatusCode::OK,
            pages::done("Signed out", "You are signed out of this server."),
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&s.cookies().set(s.cookies().session(), "", 0)) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
