//! Consumer login for axum applications: log users in through someone
//! else's OAuth 1.0a provider (the Flask-oDesk job) or OAuth 2.0 provider
//! (authorization code + PKCE), keep their token, and make signed (or
//! Bearer) API calls with it.
//!
//! ```text
//! let consumer = Consumer::new(settings, hooks);
//! let app = Router::new()
//!     .route("/private", get(private))          // takes a `LoggedIn`
//!     .nest("/auth", consumer.router())          // /auth/login?next=, /auth/callback, /auth/logout
//!     .with_state(consumer.clone());
//! ```
//!
//! * The login dance is `latch_core::oauth1::{Login, PendingAuthorization,
//!   AuthorizedLogin}`; this module only sends its requests.
//! * The temporary secret never leaves the server: pending logins live in
//!   memory here, keyed by a random id in a signed cookie; they are single
//!   use (a replayed callback finds nothing) and expire after 10 minutes.
//! * `/login` makes the application call the provider, so before that call
//!   it checks a per-address rate ([`LOGIN_STARTS_PER_MINUTE`], governor;
//!   the address comes from axum's `ConnectInfo` when the app is served
//!   with it, else one shared budget) and the pending-login cap; refusals
//!   are 429 / 503 pages and cost the provider nothing.
//! * Sessions: a signed cookie (HMAC-SHA256 under the configured key) names
//!   a server-side session holding the user and the token credentials;
//!   sessions expire after 8 hours and are evicted (at most
//!   [`MAX_SESSIONS`] are kept). Logout is `POST /logout` with a CSRF token
//!   bound to the session ([`Consumer::logout_token`]); `GET /logout` shows
//!   the button.
//! * `next` only ever redirects within the application ([`safe_next`]).
//! * After login, the allow-list ([`Settings::allowed_users`]) and
//!   [`Hooks::allow`] may refuse the user with a clear page; then
//!   [`Hooks::after_login`] runs (e.g. to store the token). Logout forgets
//!   the session and runs [`Hooks::after_logout`].
//! * [`LoggedIn`] is an extractor: handlers that take it run only for a
//!   logged-in user; others get a redirect to login (HTML) or a 401 (API).
//! * [`SignedClient`] makes OAuth1-signed calls with stored credentials,
//!   inside or outside a request.
//! * Every outbound call goes over rustls with a deadline ([`outbound`]);
//!   provider URLs that are plain `http://` to a non-loopback host are
//!   refused by [`Consumer::new`].
//! * With [`Settings::secure_cookies`] the cookies are `Secure` and
//!   `__Host-`-prefixed.

mod next;
pub mod outbound;

pub use next::safe_next;
pub use outbound::{Outbound, OutboundError};

use crate::server::session;
use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64ct::{Base64UrlUnpadded, Encoding};
use latch_core::oauth1::{
    ConsumerConfig, Login, PendingAuthorization, ProtocolParams, Request, Secrets, SignatureMethod,
};
use latch_core::oauth2::client::{AuthCodeConfig, AuthCodeFlow, AuthCodePending, ClientIdentity};
use latch_core::{SliceWriter, UnixTime};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Token and secret capacity for the core's fixed-size strings.
const CAP: usize = 256;
const PENDING_TTL: Duration = Duration::from_secs(600);
const MAX_PENDING: usize = 10_000;
/// Login starts allowed per client address per minute (a burst of this
/// many, then one every `60 / N` seconds).
pub const LOGIN_STARTS_PER_MINUTE: u32 = 20;
/// Sessions kept at most; expired ones are evicted first.
pub const MAX_SESSIONS: usize = 100_000;
const LOGIN_COOKIE: &str = "latch_consumer_login";
const SESSION_COOKIE: &str = "latch_consumer_session";
const SECURE_LOGIN_COOKIE: &str = "__Host-latch_consumer_login";
const SECURE_SESSION_COOKIE: &str = "__Host-latch_consumer_session";

/// How to reach the provider and who this application is.
#[derive(Clone)]
pub struct Settings {
    /// The consumer key.
    pub client_id: String,
    /// The consumer secret.
    pub client_secret: String,
    /// Which protocol, and the provider's endpoints for it.
    pub protocol: Protocol,
    /// This application's callback URL (absolute).
    pub callback_url: String,
    /// A protected resource answering `{"user": …}` for the token, to learn
    /// who logged in (DESIGN.md's `/api/info`).
    pub identity_url: String,
    /// Key for the cookies.
    pub cookie_key: [u8; 32],
    /// Whether cookies are `Secure` (the app is served over https).
    pub secure_cookies: bool,
    /// Only these users may log in (`None`: anyone the hooks allow).
    pub allowed_users: Option<HashSet<String>>,
    /// Trusted CAs and deadlines for the calls to the provider.
    pub outbound: Outbound,
}

/// The login protocol and the provider's endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// OAuth 1.0a (RFC 5849 §2), signed with HMAC-SHA1.
    OAuth1 {
        /// Temporary credentials URL (§2.1).
        request_token_url: String,
        /// User authorization URL (§2.2).
        authorize_url: String,
        /// Token credentials URL (§2.3).
        access_token_url: String,
    },
    /// OAuth 2.0 authorization code with PKCE (RFC 6749 §4.1, RFC 7636).
    OAuth2 {
        /// The authorization endpoint.
        authorization_endpoint: String,
        /// The token endpoint.
        token_endpoint: String,
        /// The issuer, to check the callback's `iss` (RFC 9207).
        issuer: Option<String>,
        /// The scope to ask for (`None`: the server's default).
        scope: Option<String>,
    },
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("protocol", &self.protocol)
            .field("callback_url", &self.callback_url)
            .finish_non_exhaustive()
    }
}

/// What the provider handed over at login.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// OAuth1 token credentials.
    OAuth1 {
        /// `oauth_token`.
        token: String,
        /// `oauth_token_secret`.
        secret: String,
    },
    /// An OAuth2 access token (and refresh token, if any).
    Bearer {
        /// The access token.
        access_token: String,
        /// The refresh token.
        refresh_token: Option<String>,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuth1 { token, .. } => f
                .debug_struct("Credentials::OAuth1")
                .field("token", token)
                .field("secret", &"<redacted>")
                .finish(),
            Credentials::Bearer { .. } => f.write_str("Credentials::Bearer(<redacted>)"),
        }
    }
}

/// A logged-in user: also the extractor that requires one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedIn {
    /// Who, as the provider's identity resource says.
    pub user: String,
    /// The scope the provider reports, if any.
    pub scope: Option<String>,
    /// The token credentials, for [`SignedClient`].
    pub credentials: Credentials,
}

/// A boxed future, for object-safe hooks.
pub type HookFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Application callbacks.
pub trait Hooks: Send + Sync + 'static {
    /// Whether this user may log in; `Err(message)` refuses with a page
    /// showing the message. Runs after the built-in allow-list.
    fn allow<'a>(&'a self, _login: &'a LoggedIn) -> HookFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    /// Runs after a successful login (e.g. store the token).
    fn after_login<'a>(&'a self, _login: &'a LoggedIn) -> HookFuture<'a, ()> {
        Box::pin(async {})
    }
    /// Runs after logout.
    fn after_logout<'a>(&'a self, _login: &'a LoggedIn) -> HookFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Hooks that do nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;
impl Hooks for NoHooks {}

enum PendingLogin {
    /// OAuth1 temporary credentials.
    OAuth1 { token: String, secret: String },
    /// OAuth2 `state` and PKCE verifier.
    OAuth2 { state: String, verifier: String },
}

struct Pending {
    login: PendingLogin,
    next: String,
    created: Instant,
}

/// The consumer: settings, hooks, pending logins and sessions.
pub struct Consumer {
    settings: Settings,
    hooks: Arc<dyn Hooks>,
    http: reqwest::Client,
    pending: Mutex<HashMap<String, Pending>>,
    sessions: Mutex<HashMap<String, (LoggedIn, Instant)>>,
    login_rate: governor::DefaultKeyedRateLimiter<Option<std::net::IpAddr>>,
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why a consumer step failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerFailure {
    /// The provider could not be reached.
    #[error("cannot reach the provider: {0}")]
    Http(#[from] reqwest::Error),
    /// The core refused a step.
    #[error("{0}")]
    Protocol(#[from] latch_core::oauth1::ConsumerError),
    /// The OAuth2 client flow refused a step.
    #[error("{0}")]
    OAuth2(#[from] latch_core::oauth2::client::ClientError),
    /// The identity resource did not answer with a user.
    #[error("the provider did not say who logged in")]
    Identity,
    /// A URL may not be called (plain http to a non-loopback host).
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    /// Too many logins are pending; try again later.
    #[error("too many logins in progress; try again in a few minutes")]
    Busy,
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        std::process::abort();
    }
    Base64UrlUnpadded::encode_string(&b)
}

fn now() -> u64 {
    crate::server::http::now().as_secs()
}

fn write<E>(f: impl Fn(&mut SliceWriter<'_>) -> Result<(), E>) -> Result<String, E> {
    crate::server::http::try_render(f).map(|v| String::from_utf8_lossy(&v).into_owned())
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    (status, Html(crate::server::pages::error(title, message))).into_response()
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

impl Settings {
    /// The provider URLs this application will call, by setting name.
    fn provider_urls(&self) -> Vec<(&'static str, &str)> {
        let mut urls = vec![("identity_url", self.identity_url.as_str())];
        match &self.protocol {
            Protocol::OAuth1 {
                request_token_url,
                authorize_url,
                access_token_url,
            } => urls.extend([
                ("request_token_url", request_token_url.as_str()),
                ("authorize_url", authorize_url.as_str()),
                ("access_token_url", access_token_url.as_str()),
            ]),
            Protocol::OAuth2 {
                authorization_endpoint,
                token_endpoint,
                ..
            } => urls.extend([
                ("authorization_endpoint", authorization_endpoint.as_str()),
                ("token_endpoint", token_endpoint.as_str()),
            ]),
        }
        urls
    }
}

impl Consumer {
    /// A consumer with these settings and hooks. Refuses provider URLs
    /// that are plain `http://` to a non-loopback host, and a CA bundle
    /// that cannot be used, before anything is served.
    pub fn new(settings: Settings, hooks: impl Hooks) -> Result<Arc<Self>, OutboundError> {
        for (what, url) in settings.provider_urls() {
            outbound::check_url(what, url)?;
        }
        let http = settings.outbound.client()?;
        let per_minute =
            std::num::NonZeroU32::new(LOGIN_STARTS_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN);
        Ok(Arc::new(Consumer {
            settings,
            hooks: Arc::new(hooks),
            http,
            pending: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            login_rate: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
        }))
    }

    fn login_cookie(&self) -> &'static str {
        if self.settings.secure_cookies {
            SECURE_LOGIN_COOKIE
        } else {
            LOGIN_COOKIE
        }
    }

    fn session_cookie(&self) -> &'static str {
        if self.settings.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        }
    }

    fn oauth1_config(&self) -> Option<ConsumerConfig<'_>> {
        match &self.settings.protocol {
            Protocol::OAuth1 {
                request_token_url,
                authorize_url,
                access_token_url,
            } => Some(ConsumerConfig {
                consumer_key: &self.settings.client_id,
                consumer_secret: &self.settings.client_secret,
                temporary_credentials_url: request_token_url,
                authorization_url: authorize_url,
                token_url: access_token_url,
                callback: &self.settings.callback_url,
                signature_method: SignatureMethod::HmacSha1,
                realm: None,
            }),
            Protocol::OAuth2 { .. } => None,
        }
    }

    fn oauth2_config(&self) -> Option<(AuthCodeConfig<'_>, &str)> {
        match &self.settings.protocol {
            Protocol::OAuth2 {
                authorization_endpoint,
                token_endpoint,
                issuer,
                scope,
            } => Some((
                AuthCodeConfig {
                    identity: ClientIdentity::confidential(
                        &self.settings.client_id,
                        &self.settings.client_secret,
                    ),
                    authorization_endpoint,
                    redirect_uri: &self.settings.callback_url,
                    scope: scope.as_deref(),
                    issuer: issuer.as_deref(),
                },
                token_endpoint,
            )),
            Protocol::OAuth1 { .. } => None,
        }
    }

    /// The routes: `/login?next=`, `/callback`, `/logout`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/logout", get(logout_page).post(logout))
            .with_state(self.clone())
    }

    /// The logged-in user of this request, if any.
    pub fn session(&self, headers: &HeaderMap) -> Option<LoggedIn> {
        let id = self.session_id(headers)?;
        let sessions = self.sessions.lock().ok()?;
        let (login, created) = sessions.get(&id)?;
        (created.elapsed() < Duration::from_secs(session::SESSION_TTL)).then(|| login.clone())
    }

    fn session_id(&self, headers: &HeaderMap) -> Option<String> {
        session::cookie(headers, self.session_cookie())
            .and_then(|v| session::session_user(&self.settings.cookie_key, v, now()))
    }

    /// The CSRF token the logout form must carry for this request's
    /// session (`None` without a session).
    pub fn logout_token(&self, headers: &HeaderMap) -> Option<String> {
        let id = self.session_id(headers)?;
        Some(session::csrf_token(
            &self.settings.cookie_key,
            &format!("logout:{id}"),
        ))
    }

    /// Whether the request comes from a logged-in user.
    pub fn is_authorized(&self, headers: &HeaderMap) -> bool {
        self.session(headers).is_some()
    }

    /// A client signing calls with `credentials` (usable outside requests).
    pub fn signed_client(&self, credentials: Credentials) -> SignedClient {
        SignedClient {
            http: self.http.clone(),
            consumer_key: self.settings.client_id.clone(),
            consumer_secret: self.settings.client_secret.clone(),
            credentials,
        }
    }

    fn cookie(&self, name: &str, value: &str, max_age: u64) -> HeaderValue {
        HeaderValue::from_str(&session::set_cookie(
            name,
            value,
            max_age,
            self.settings.secure_cookies,
        ))
        .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    async fn start(&self, next: &str) -> Result<(String, String), ConsumerFailure> {
        // The cap is checked before the provider is called: a flood of
        // anonymous visitors must not turn into a flood of provider rows.
        {
            let mut map = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.retain(|_, p| p.created.elapsed() < PENDING_TTL);
            if map.len() >= MAX_PENDING {
                return Err(ConsumerFailure::Busy);
            }
        }
        let (login, url) = if let Some(config) = self.oauth1_config() {
            let login = Login::new(config);
            let (ts, nonce) = (UnixTime(now()), random_id());
            let auth = write(|w| login.authorization(ts, &nonce, w))?;
            let resp = self
                .http
                .post(login.url())
                .header(header::AUTHORIZATION, auth)
                .send()
                .await?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await?;
            let pending = login.handle_response::<CAP>(status, &body)?;
            let url = write(|w| {
                pending.write_authorization_url(w);
                Ok::<(), ConsumerFailure>(())
            })?;
            let parts = pending.parts();
            (
                PendingLogin::OAuth1 {
                    token: parts.token.to_string(),
                    secret: parts.secret.to_string(),
                },
                url,
            )
        } else if let Some((config, _)) = self.oauth2_config() {
            let pending = AuthCodeFlow::new(config).start(&mut getrandom::SysRng)?;
            let url = write(|w| {
                pending.write_authorize_url(w);
                Ok::<(), ConsumerFailure>(())
            })?;
            (
                PendingLogin::OAuth2 {
                    state: pending.state().to_owned(),
                    verifier: pending.verifier().as_str().to_owned(),
                },
                url,
            )
        } else {
            return Err(ConsumerFailure::Identity);
        };
        let id = random_id();
        let mut map = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, p| p.created.elapsed() < PENDING_TTL);
        if map.len() >= MAX_PENDING {
            return Err(ConsumerFailure::Busy);
        }
        map.insert(
            id.clone(),
            Pending {
                login,
                next: next.to_owned(),
                created: Instant::now(),
            },
        );
        Ok((id, url))
    }

    async fn finish(&self, pending: Pending, query: &str) -> Result<LoggedIn, ConsumerFailure> {
        let credentials = match (pending.login, self.oauth1_config(), self.oauth2_config()) {
            (PendingLogin::OAuth1 { token, secret }, Some(config), _) => {
                let p = PendingAuthorization::<CAP>::restore(config, &token, &secret)?;
                let authorized = p.handle_callback(query.as_bytes())?;
                let (ts, nonce) = (UnixTime(now()), random_id());
                let auth = write(|w| authorized.authorization(ts, &nonce, w))?;
                let resp = self
                    .http
                    .post(authorized.url())
                    .header(header::AUTHORIZATION, auth)
                    .send()
                    .await?;
                let status = resp.status().as_u16();
                let body = resp.bytes().await?;
                let creds = authorized.handle_response(status, &body)?;
                Credentials::OAuth1 {
                    token: creds.token.to_string(),
                    secret: creds.secret.to_string(),
                }
            }
            (PendingLogin::OAuth2 { state, verifier }, _, Some((config, token_endpoint))) => {
                let p = AuthCodePending::restore(config, &state, &verifier)?;
                let received = p.handle_callback::<CAP>(query.as_bytes())?;
                let body = write(|w| {
                    received.write_token_request(w);
                    Ok::<(), ConsumerFailure>(())
                })?;
                let auth = write(|w| {
                    received.write_authorization(w);
                    Ok::<(), ConsumerFailure>(())
                })?;
                let mut req = self
                    .http
                    .post(token_endpoint)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body);
                if !auth.is_empty() {
                    req = req.header(header::AUTHORIZATION, auth);
                }
                let resp = req.send().await?;
                let status = resp.status().as_u16();
                let body = resp.bytes().await?;
                let tokens = received.handle_token_response(UnixTime(now()), status, &body)?;
                Credentials::Bearer {
                    access_token: tokens.access_token().to_owned(),
                    refresh_token: tokens.refresh_token().map(str::to_owned),
                }
            }
            _ => return Err(ConsumerFailure::Identity),
        };
        let info: serde_json::Value = self
            .signed_client(credentials.clone())
            .get(&self.settings.identity_url)
            .await?
            .error_for_status()?
            .json()
            .await?;
        let user = info
            .get("user")
            .and_then(|u| u.as_str())
            .ok_or(ConsumerFailure::Identity)?;
        Ok(LoggedIn {
            user: user.to_owned(),
            scope: info
                .get("scope")
                .and_then(|s| s.as_str())
                .map(str::to_owned),
            credentials,
        })
    }
}

async fn login(
    State(c): State<Arc<Consumer>>,
    peer: crate::server::limits::Peer,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let key = peer.0;
    if let Err(not_until) = c.login_rate.check_key(&key) {
        use governor::clock::Clock;
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        let mut r = page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many logins",
            "Too many logins were started from here. Wait a minute and try again.",
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let next = safe_next(q.get("next").map(String::as_str)).to_owned();
    match c.start(&next).await {
        Ok((id, url)) => {
            let signed =
                session::session_value(&c.settings.cookie_key, &id, now() + PENDING_TTL.as_secs());
            let mut r = redirect(&url);
            r.headers_mut().append(
                header::SET_COOKIE,
                c.cookie(c.login_cookie(), &signed, PENDING_TTL.as_secs()),
            );
            r
        }
        Err(ConsumerFailure::Busy) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Login unavailable",
            "Too many logins are in progress. Try again in a few minutes.",
        ),
        Err(e) => {
            tracing::warn!(error = %e, "login could not start");
            page(
                StatusCode::BAD_GATEWAY,
                "Login unavailable",
                &format!("Login could not start: {e}"),
            )
        }
    }
}

async fn callback(
    State(c): State<Arc<Consumer>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let refused = |msg: &str| page(StatusCode::BAD_REQUEST, "Login failed", msg);
    let Some(id) = session::cookie(&headers, c.login_cookie())
        .and_then(|v| session::session_user(&c.settings.cookie_key, v, now()))
    else {
        return refused("This login was not started here, or it expired. Try again.");
    };
    // Single use: a replayed callback finds nothing.
    let pending = c
        .pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&id);
    let Some(pending) = pending.filter(|p| p.created.elapsed() < PENDING_TTL) else {
        return refused("This login was already completed or has expired. Try again.");
    };
    let next = pending.next.clone();
    let logged_in = match c.finish(pending, uri.query().unwrap_or("")).await {
        Ok(l) => l,
        Err(e) => return refused(&format!("The provider did not complete the login: {e}")),
    };
    if let Some(allowed) = &c.settings.allowed_users
        && !allowed.contains(&logged_in.user)
    {
        return page(
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!("{} may not use this application.", logged_in.user),
        );
    }
    if let Err(msg) = c.hooks.allow(&logged_in).await {
        return page(StatusCode::FORBIDDEN, "Not allowed", &msg);
    }
    c.hooks.after_login(&logged_in).await;
    // A fresh id at every login (no fixation); expired sessions go first.
    let sid = random_id();
    {
        let mut sessions = c
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let ttl = Duration::from_secs(session::SESSION_TTL);
        sessions.retain(|_, (_, created)| created.elapsed() < ttl);
        if sessions.len() >= MAX_SESSIONS {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Login unavailable",
                "Too many people are signed in right now. Try again later.",
            );
        }
        sessions.insert(sid.clone(), (logged_in, Instant::now()));
    }
    let value = session::session_value(&c.settings.cookie_key, &sid, now() + session::SESSION_TTL);
    let mut r = redirect(&next);
    r.headers_mut().append(
        header::SET_COOKIE,
        c.cookie(c.session_cookie(), &value, session::SESSION_TTL),
    );
    r.headers_mut()
        .append(header::SET_COOKIE, c.cookie(c.login_cookie(), "", 0));
    r
}

/// `GET /logout`: the sign-out button (a POST form with the CSRF token).
async fn logout_page(State(c): State<Arc<Consumer>>, headers: HeaderMap) -> Response {
    match c.logout_token(&headers) {
        Some(token) => (
            StatusCode::OK,
            Html(crate::server::pages::logout(None, &token)),
        )
            .into_response(),
        None => redirect("/"),
    }
}

/// The logout form.
#[derive(Debug, serde::Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /logout`: forgets the session, if the form carries its CSRF token.
async fn logout(
    State(c): State<Arc<Consumer>>,
    headers: HeaderMap,
    axum::extract::Form(form): axum::extract::Form<LogoutForm>,
) -> Response {
    let expected = c.logout_token(&headers);
    let presented = form.csrf.unwrap_or_default();
    let valid = expected.as_deref().is_some_and(|e| {
        use subtle::ConstantTimeEq;
        bool::from(e.as_bytes().ct_eq(presented.as_bytes()))
    });
    if !valid {
        return page(
            StatusCode::BAD_REQUEST,
            "Cannot sign out",
            "The form expired or was not sent from this site.",
        );
    }
    let gone = c.session_id(&headers).and_then(|id| {
        c.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id)
    });
    if let Some((l, _)) = &gone {
        c.hooks.after_logout(l).await;
    }
    let mut r = redirect("/");
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .append(header::SET_COOKIE, c.cookie(c.session_cookie(), "", 0));
    r
}

impl<S> FromRequestParts<S> for LoggedIn
where
    Arc<Consumer>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let c = Arc::<Consumer>::from_ref(state);
        if let Some(l) = c.session(&parts.headers) {
            return Ok(l);
        }
        let wants_html = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
        if wants_html {
            let here = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
            Err(redirect(&format!("{}?next={next}", c.login_path())))
        } else {
            let mut r = (StatusCode::UNAUTHORIZED, "login required").into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("OAuth realm=\"login\""),
            );
            Err(r)
        }
    }
}

impl Consumer {
    /// Where the login route is mounted: the callback URL's directory plus
    /// `login` (the routes are mounted together).
    fn login_path(&self) -> String {
        let path = url::Url::parse(&self.settings.callback_url)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| "/callback".into());
        match path.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/login"),
            None => "/login".into(),
        }
    }
}

/// Makes OAuth1-signed calls with stored token credentials.
#[derive(Clone)]
pub struct SignedClient {
    http: reqwest::Client,
    consumer_key: String,
    consumer_secret: String,
    credentials: Credentials,
}

impl fmt::Debug for SignedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedClient")
            .field("consumer_key", &self.consumer_key)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl SignedClient {
    /// A client from stored values, independent of any `Consumer`, trusting
    /// the platform's roots plus those of `outbound`.
    pub fn new(
        consumer_key: &str,
        consumer_secret: &str,
        credentials: Credentials,
        outbound: &Outbound,
    ) -> Result<Self, OutboundError> {
        Ok(SignedClient {
            http: outbound.client()?,
            consumer_key: consumer_key.to_owned(),
            consumer_secret: consumer_secret.to_owned(),
            credentials,
        })
    }

    /// The `Authorization` header for `method` and `url`: OAuth1-signed
    /// (query parameters signed) or `Bearer`.
    pub fn authorization(
        &self,
        method: &str,
        url: &str,
    ) -> Result<String, latch_core::oauth1::SignError> {
        let (token, secret) = match &self.credentials {
            Credentials::Bearer { access_token, .. } => {
                return Ok(format!("Bearer {access_token}"));
            }
            Credentials::OAuth1 { token, secret } => (token, secret),
        };
        let req = Box::new(Request::<64>::new(method, url)?);
        let nonce = random_id();
        let oauth = ProtocolParams {
            token: Some(token),
            timestamp: Some(now()),
            nonce: Some(&nonce),
            ..ProtocolParams::new(&self.consumer_key, SignatureMethod::HmacSha1)
        };
        let secrets = Secrets::new(&self.consumer_secret, secret);
        write(|w| req.clone().sign(&oauth, &secrets, w))
    }

    /// A signed `GET`; `url` must be https (or http to loopback).
    pub async fn get(&self, url: &str) -> Result<reqwest::Response, ConsumerFailure> {
        outbound::check_url("url", url)?;
        let auth = self
            .authorization("GET", url)
            .map_err(|e| ConsumerFailure::Protocol(latch_core::oauth1::ConsumerError::Sign(e)))?;
        Ok(self
            .http
            .get(url)
            .header(header::AUTHORIZATION, auth)
            .send()
            .await?)
    }
}
