//! Consumer login for axum applications: log users in through someone
//! else's OAuth 1.0a provider (the Flask-oDesk job) or OAuth 2.0 provider
//! (authorization code + PKCE), keep their token, and make signed (or
//! Bearer) API calls with it. A crate of its own: an application that
//! only logs users in compiles `latch-core`, axum, reqwest (rustls) and
//! tower-sessions — none of the server's sqlx, argon2 or clap (the
//! `sqlite`/`postgres` features add tower-sessions' SQL stores, and so
//! sqlx, for apps that choose them).
//!
//! ```text
//! let consumer = Consumer::new(settings, hooks)?;
//! let app = Router::new()
//!     .route("/private", get(private))          // takes a `LoggedIn`
//!     .with_state(consumer.clone())
//!     .merge(consumer.router())                  // /login?next=, /callback, /logout
//!     .layer(consumer.session_layer(Consumer::memory_store()));
//! ```
//!
//! * The login dance is `latch_core::oauth1::{Login, PendingAuthorization,
//!   AuthorizedLogin}` and `latch_core::oauth2::client::AuthCodeFlow`; this
//!   crate only sends their requests.
//! * Sessions and pending logins live in a [`tower_sessions`] store the
//!   application chooses: [`Consumer::memory_store`] (Moka: bounded,
//!   expired entries evicted; for a demo or one process), or with the
//!   `sqlite`/`postgres` features a SQL store ([`stores::sqlite_store`],
//!   [`stores::postgres_store`]: connected, migrated, swept), so a login
//!   survives a restart and is shared by replicas. The
//!   cookie holds only the store's random 128-bit session id; it is
//!   `HttpOnly`, `SameSite=Lax` (the provider's redirect back is a
//!   cross-site navigation, on which a browser withholds `Strict` cookies)
//!   and, with [`Settings::secure_cookies`], `Secure` and `__Host-`-named.
//! * What the store keeps of a login that is a secret — the provider's
//!   tokens, the temporary OAuth1 secret, the PKCE verifier — is sealed
//!   with XChaCha20-Poly1305 under [`Settings::session_key`] (the AAD names
//!   what it is), so a database dump of the sessions gives no tokens.
//! * A pending login is single use (the callback takes it out of the
//!   session, whatever the outcome) and expires after 10 minutes. Two
//!   callbacks racing on one session could both read it before either
//!   saves; the provider's own single-use code (OAuth2) or verifier
//!   (OAuth1) then refuses the second.
//! * Login rotates the session id (no fixation) and the session then ends
//!   8 hours later ([`SESSION_TTL`]), active or not; a session that only
//!   holds a pending login ends after 10 minutes of inactivity.
//! * Logout is `POST /logout` with the session's CSRF token (random, kept
//!   in the session, compared in constant time; [`Consumer::logout_token`]);
//!   `GET /logout` shows the button. Logout deletes the session from the
//!   store.
//! * `/login` makes the application call the provider, so before that call
//!   it checks a per-address rate ([`LOGIN_STARTS_PER_MINUTE`], governor;
//!   the address comes from axum's `ConnectInfo` when the app is served
//!   with it, else one shared budget); a refusal is a 429 page with
//!   `Retry-After` and costs the provider nothing.
//! * `next` only ever redirects within the application ([`safe_next`]).
//! * After login, the allow-list ([`Settings::allowed_users`]) and
//!   [`Hooks::allow`] may refuse the user with a clear page; then
//!   [`Hooks::after_login`] runs (e.g. to store the token). Logout runs
//!   [`Hooks::after_logout`].
//! * [`LoggedIn`] is an extractor: handlers that take it run only for a
//!   logged-in user; others get a redirect to login (HTML) or a 401 (API).
//! * [`SignedClient`] makes OAuth1-signed (or Bearer) calls with stored
//!   credentials, inside or outside a request. For OAuth 2.0 and OpenID
//!   providers it keeps the token fresh (refresh when the core says it is
//!   due, and once on a 401, then the call again; refreshes serialized so a
//!   rotated refresh token is never presented twice) and hands new tokens to
//!   [`Hooks::after_refresh`]; [`Consumer::api`] also seals them back into
//!   the session. A refresh answer's id_token, if any, is not read.
//! * Every outbound call goes over rustls with a deadline ([`outbound`]);
//!   provider URLs that are plain `http://` to a non-loopback host are
//!   refused by [`Consumer::new`].

mod identity;
mod next;
pub mod oidc;
pub mod outbound;
mod pages;
mod seal;
pub mod stores;

pub use identity::IdentityApi;
pub use next::safe_next;
pub use oidc::{DiscoveryError, OidcProvider};
pub use outbound::{Outbound, OutboundError};
pub use tower_sessions::{Session, SessionManagerLayer, SessionStore};
pub use tower_sessions_moka_store::MokaStore;
#[cfg(feature = "postgres")]
pub use tower_sessions_sqlx_store::PostgresStore;
#[cfg(feature = "sqlite")]
pub use tower_sessions_sqlx_store::SqliteStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use tower_sessions_sqlx_store::sqlx;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
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
use std::sync::Arc;
use tower_sessions::Expiry;
use tower_sessions::cookie::SameSite;

/// Token and secret capacity for the core's fixed-size strings.
const CAP: usize = 256;
/// A pending login's lifetime, seconds.
pub const PENDING_TTL: u64 = 600;
/// A session's lifetime after login, seconds (8 hours, active or not).
pub const SESSION_TTL: u64 = 8 * 3600;
/// Login starts allowed per client address per minute (a burst of this
/// many, then one every `60 / N` seconds).
pub const LOGIN_STARTS_PER_MINUTE: u32 = 20;
/// Seconds of clock skew allowed on an id_token's `exp` and `iat`.
pub const ID_TOKEN_LEEWAY: u64 = 60;
/// Sessions [`Consumer::memory_store`] keeps at most; beyond that Moka
/// evicts the least useful (expired ones go on their own).
pub const MAX_SESSIONS: u64 = 100_000;
const SESSION_COOKIE: &str = "latch_consumer_session";
const SECURE_SESSION_COOKIE: &str = "__Host-latch_consumer_session";
/// Session keys (and the AAD of what is sealed under them).
const LOGIN_KEY: &str = "latch.login";
const PENDING_KEY: &str = "latch.pending";

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
    /// The API that says who logged in (OAuth 1.0a and plain OAuth 2.0;
    /// not used for OpenID Connect, whose id_token and UserInfo say it, nor
    /// when [`Hooks::identify`] says it: then it may be left empty).
    pub identity: IdentityApi,
    /// Seals what the session store keeps of a login: the provider's
    /// tokens, the temporary OAuth1 secret and the PKCE verifier
    /// (XChaCha20-Poly1305). Keep it with the session store: a new key logs
    /// everyone out, which is also how to do that on purpose.
    pub session_key: [u8; 32],
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
    /// OpenID Connect (Core 1.0 §3.1: authorization code + PKCE + `nonce`),
    /// the provider found from its issuer by [`OidcProvider::discover`]:
    /// who logged in comes from the validated id_token, then UserInfo
    /// (whose `sub` must be the id_token's); [`Settings::identity`] is not
    /// used.
    OpenIdConnect(Box<OidcProvider>),
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
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
        /// When it was received (seconds since the epoch; 0 if unknown).
        #[serde(default)]
        received_at: u64,
        /// When the access token expires (`None`: the provider did not say).
        #[serde(default)]
        expires_at: Option<u64>,
    },
}

impl Credentials {
    /// The OAuth 2.0 tokens the core read from a token response.
    fn bearer<const N: usize>(tokens: &latch_core::oauth2::client::TokenSet<N>) -> Self {
        Credentials::Bearer {
            access_token: tokens.access_token().to_owned(),
            refresh_token: tokens.refresh_token().map(str::to_owned),
            received_at: tokens.received_at().as_secs(),
            expires_at: tokens.expires_at().map(|t| t.as_secs()),
        }
    }
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
    /// Who, for display: the identity resource's `user`; for OpenID
    /// Connect, UserInfo's `name`, else `preferred_username`, `email`,
    /// `sub`.
    pub user: String,
    /// The provider's stable identifier of the user (OpenID `sub`; for the
    /// others the same as `user`).
    pub subject: String,
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
    /// Who logged in, for OAuth 1.0a and plain OAuth 2.0 providers whose
    /// identity API's members are not enough (two calls, a GraphQL query,
    /// an id to look up): `client` signs with the new token. `None` (the
    /// default) reads [`Settings::identity`]; `Err(message)` refuses the
    /// login with a page showing it. Not used for OpenID Connect.
    fn identify<'a>(
        &'a self,
        _client: &'a SignedClient,
    ) -> Option<HookFuture<'a, Result<Identity, String>>> {
        None
    }
    /// Runs after an OAuth 2.0 token was refreshed (by a [`SignedClient`]
    /// made by the consumer), with the new tokens: store them where the
    /// old ones were kept.
    fn after_refresh<'a>(&'a self, _fresh: &'a Credentials) -> HookFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// Who logged in, as [`Hooks::identify`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's stable id of the user.
    pub subject: String,
    /// A name to show.
    pub name: String,
}

/// Hooks that do nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;
impl Hooks for NoHooks {}

/// A login in progress: what the callback needs to finish it (sealed in
/// the session).
#[derive(serde::Serialize, serde::Deserialize)]
enum PendingLogin {
    /// OAuth1 temporary credentials.
    OAuth1 { token: String, secret: String },
    /// OAuth2 `state` and PKCE verifier.
    OAuth2 { state: String, verifier: String },
    /// OpenID Connect: also the `nonce` the id_token must carry.
    OpenId {
        state: String,
        verifier: String,
        nonce: String,
    },
}

/// What the session holds between `/login` and `/callback`.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPending {
    /// [`PendingLogin`] as JSON, sealed.
    sealed: String,
    next: String,
    created: u64,
}

/// What the session holds once logged in.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredLogin {
    user: String,
    subject: String,
    scope: Option<String>,
    /// [`Credentials`] as JSON, sealed.
    credentials: String,
    /// The logout form's CSRF token.
    csrf: String,
    expires: u64,
}

/// The consumer: settings, hooks and the login rate limit. Sessions and
/// pending logins are in the session store its [`session_layer`]
/// (Consumer::session_layer) was given.
pub struct Consumer {
    settings: Settings,
    hooks: Arc<dyn Hooks>,
    http: reqwest::Client,
    login_rate: governor::DefaultKeyedRateLimiter<Option<std::net::IpAddr>>,
    /// The OpenID provider's JWK Set as fetched (JSON), once fetched.
    jwks: tokio::sync::Mutex<Option<Arc<Vec<u8>>>>,
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
    /// The OpenID provider's id_token was refused.
    #[error("the provider's id_token was refused: {0}")]
    IdToken(latch_core::oidc::IdTokenError),
    /// The token response carried no id_token.
    #[error("the provider sent no id_token")]
    NoIdToken,
    /// The provider's JWK Set could not be fetched or read.
    #[error("the provider's keys (JWK Set): {0}")]
    Keys(String),
    /// The application's [`Hooks::identify`] refused the login.
    #[error("{0}")]
    IdentityHook(String),
    /// UserInfo names another user than the id_token.
    #[error("UserInfo's sub is not the id_token's")]
    SubjectMismatch,
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        std::process::abort();
    }
    Base64UrlUnpadded::encode_string(&b)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Renders through the core's writer, growing the buffer until it fits;
/// `f` must be deterministic (it runs again when the buffer grows).
fn write<E>(f: impl Fn(&mut SliceWriter<'_>) -> Result<(), E>) -> Result<String, E> {
    let mut buf = vec![0u8; 512];
    loop {
        let mut w = SliceWriter::new(&mut buf);
        f(&mut w)?;
        match w.finish() {
            Ok(n) => {
                buf.truncate(n);
                return Ok(String::from_utf8_lossy(&buf).into_owned());
            }
            Err(e) => buf.resize(e.required, 0),
        }
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    (status, Html(pages::error(title, message))).into_response()
}

fn store_unavailable(e: &tower_sessions::session::Error) -> Response {
    tracing::warn!(error = %e, "session store");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Login unavailable",
        "Sessions cannot be read or written right now. Try again in a moment.",
    )
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
        if let Protocol::OpenIdConnect(p) = &self.protocol {
            return p.urls();
        }
        // Empty when the application's Hooks::identify names the user.
        let mut urls = Vec::new();
        if !self.identity.url.is_empty() {
            urls.push(("identity.url", self.identity.url.as_str()));
        }
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
            Protocol::OpenIdConnect(_) => {}
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
            login_rate: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            jwks: tokio::sync::Mutex::new(None),
        }))
    }

    /// An in-memory session store for a demo or a single process: at most
    /// [`MAX_SESSIONS`], each dropped when it expires. Sessions end with
    /// the process; for ones that survive a restart or are shared by
    /// replicas use a SQL store (features `sqlite`, `postgres`).
    pub fn memory_store() -> MokaStore {
        MokaStore::new(Some(MAX_SESSIONS))
    }

    /// The session layer to put around the whole application (the routes
    /// of [`Consumer::router`] and every route that takes [`LoggedIn`]),
    /// over `store`: the cookie's name and attributes as the module docs
    /// say; a session that holds only a pending login expires after 10
    /// minutes of inactivity.
    pub fn session_layer<S: SessionStore + Clone>(&self, store: S) -> SessionManagerLayer<S> {
        let name = if self.settings.secure_cookies {
            SECURE_SESSION_COOKIE
        } else {
            SESSION_COOKIE
        };
        SessionManagerLayer::new(store)
            .with_name(name)
            .with_secure(self.settings.secure_cookies)
            .with_http_only(true)
            .with_same_site(SameSite::Lax)
            .with_path("/")
            .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
                PENDING_TTL.cast_signed(),
            )))
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
            Protocol::OAuth2 { .. } | Protocol::OpenIdConnect(_) => None,
        }
    }

    /// The authorization code flow's configuration, the token endpoint,
    /// and the OpenID provider when it is one.
    fn oauth2_config(&self) -> Option<(AuthCodeConfig<'_>, &str, Option<&OidcProvider>)> {
        let identity =
            ClientIdentity::confidential(&self.settings.client_id, &self.settings.client_secret);
        match &self.settings.protocol {
            Protocol::OAuth2 {
                authorization_endpoint,
                token_endpoint,
                issuer,
                scope,
            } => Some((
                AuthCodeConfig {
                    identity,
                    authorization_endpoint,
                    redirect_uri: &self.settings.callback_url,
                    scope: scope.as_deref(),
                    issuer: issuer.as_deref(),
                },
                token_endpoint,
                None,
            )),
            Protocol::OpenIdConnect(p) => Some((
                AuthCodeConfig {
                    identity,
                    authorization_endpoint: &p.authorization_endpoint,
                    redirect_uri: &self.settings.callback_url,
                    scope: Some(&p.scope),
                    // RFC 9207: checked when the provider says it sends
                    // `iss`; the id_token's `iss` is checked always.
                    issuer: p.iss_parameter.then_some(p.issuer.as_str()),
                },
                &p.token_endpoint,
                Some(p),
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

    /// The logged-in user of this session, if any (`None` also when the
    /// login expired or was sealed under another [`Settings::session_key`]).
    pub async fn session(&self, session: &Session) -> Option<LoggedIn> {
        let stored: StoredLogin = session.get(LOGIN_KEY).await.ok()??;
        if stored.expires <= now() {
            return None;
        }
        let plain = seal::open(&self.settings.session_key, LOGIN_KEY, &stored.credentials)?;
        Some(LoggedIn {
            user: stored.user,
            subject: stored.subject,
            scope: stored.scope,
            credentials: serde_json::from_slice(&plain).ok()?,
        })
    }

    /// The CSRF token the logout form must carry for this session (`None`
    /// without a login).
    pub async fn logout_token(&self, session: &Session) -> Option<String> {
        let stored: StoredLogin = session.get(LOGIN_KEY).await.ok()??;
        (stored.expires > now()).then_some(stored.csrf)
    }

    /// A client signing calls with `credentials` (usable outside
    /// requests). For an OAuth 2.0 or OpenID provider it keeps the token
    /// fresh, and hands each refreshed token to [`Hooks::after_refresh`].
    pub fn signed_client(&self, credentials: Credentials) -> SignedClient {
        let mut client = SignedClient::with_http(
            self.http.clone(),
            &self.settings.client_id,
            &self.settings.client_secret,
            credentials,
        );
        // The token endpoint passed Consumer::new's URL check.
        if let Some((_, token_endpoint, _)) = self.oauth2_config() {
            let hooks = self.hooks.clone();
            let hook: RefreshHook = Arc::new(move |fresh: Credentials| {
                let hooks = hooks.clone();
                Box::pin(async move { hooks.after_refresh(&fresh).await })
            });
            client.token_endpoint = Some(token_endpoint.to_owned());
            client.on_refresh = Some(hook);
        }
        client
    }

    /// A client for the logged-in user of `session` (`None` without one):
    /// like [`Consumer::signed_client`], and a refreshed token is also
    /// sealed back into the session, so the next request uses it (a
    /// provider that rotates refresh tokens would refuse the old one).
    pub async fn api(&self, session: &Session) -> Option<SignedClient> {
        let login = self.session(session).await?;
        let mut client = self.signed_client(login.credentials);
        if client.token_endpoint.is_some() {
            let (hooks, key, session) = (
                self.hooks.clone(),
                self.settings.session_key,
                session.clone(),
            );
            let hook: RefreshHook = Arc::new(move |fresh: Credentials| {
                let (hooks, session) = (hooks.clone(), session.clone());
                Box::pin(async move {
                    if let (Ok(json), Ok(Some(mut stored))) = (
                        serde_json::to_vec(&fresh),
                        session.get::<StoredLogin>(LOGIN_KEY).await,
                    ) {
                        stored.credentials = seal::seal(&key, LOGIN_KEY, &json);
                        if let Err(e) = session.insert(LOGIN_KEY, stored).await {
                            tracing::warn!(error = %e, "keeping the refreshed token in the session");
                        }
                    }
                    hooks.after_refresh(&fresh).await;
                })
            });
            client.on_refresh = Some(hook);
        }
        Some(client)
    }

    /// Calls the provider for the first leg; returns what the callback
    /// needs and where to send the browser.
    async fn start(&self) -> Result<(PendingLogin, String), ConsumerFailure> {
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
        } else if let Some((config, _, provider)) = self.oauth2_config() {
            let flow = AuthCodeFlow::new(config);
            let pending = match provider {
                Some(_) => flow.start_openid(&mut getrandom::SysRng)?,
                None => flow.start(&mut getrandom::SysRng)?,
            };
            let url = write(|w| {
                pending.write_authorize_url(w);
                Ok::<(), ConsumerFailure>(())
            })?;
            let (state, verifier) = (
                pending.state().to_owned(),
                pending.verifier().as_str().to_owned(),
            );
            let login = match pending.nonce() {
                Some(nonce) => PendingLogin::OpenId {
                    state,
                    verifier,
                    nonce: nonce.to_owned(),
                },
                None => PendingLogin::OAuth2 { state, verifier },
            };
            (login, url)
        } else {
            return Err(ConsumerFailure::Identity);
        };
        Ok((login, url))
    }

    async fn finish(
        &self,
        pending: PendingLogin,
        query: &str,
    ) -> Result<LoggedIn, ConsumerFailure> {
        let credentials = match (pending, self.oauth1_config(), self.oauth2_config()) {
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
            (PendingLogin::OAuth2 { state, verifier }, _, Some((config, token_endpoint, None))) => {
                let p = AuthCodePending::restore(config, &state, &verifier)?;
                let received = p.handle_callback::<CAP>(query.as_bytes())?;
                let (status, body) = self.token_request(&received, token_endpoint).await?;
                let tokens = received.handle_token_response(UnixTime(now()), status, &body)?;
                Credentials::bearer(&tokens)
            }
            (
                PendingLogin::OpenId {
                    state,
                    verifier,
                    nonce,
                },
                _,
                Some((config, token_endpoint, Some(provider))),
            ) => {
                let p = AuthCodePending::restore_openid(config, &state, &verifier, &nonce)?;
                let received = p.handle_callback::<CAP>(query.as_bytes())?;
                let (status, body) = self.token_request(&received, token_endpoint).await?;
                let tokens = received.handle_token_response(UnixTime(now()), status, &body)?;
                let id_token = latch_core::oidc::id_token_in(&body)
                    .map_err(ConsumerFailure::IdToken)?
                    .ok_or(ConsumerFailure::NoIdToken)?;
                let subject = self
                    .check_id_token(provider, id_token, &nonce, tokens.access_token())
                    .await?;
                let credentials = Credentials::bearer(&tokens);
                return self.userinfo(provider, subject, credentials).await;
            }
            _ => return Err(ConsumerFailure::Identity),
        };
        let client = self.signed_client(credentials.clone());
        if let Some(identified) = self.hooks.identify(&client) {
            let who = identified.await.map_err(ConsumerFailure::IdentityHook)?;
            return Ok(LoggedIn {
                user: who.name,
                subject: who.subject,
                scope: None,
                credentials: client.credentials(),
            });
        }
        let api = &self.settings.identity;
        let info: serde_json::Value = client
            .get(&api.url)
            .await?
            .error_for_status()?
            .json()
            .await?;
        let subject = identity::member(&info, &api.id_field).ok_or(ConsumerFailure::Identity)?;
        let user = match &api.name_field {
            Some(f) => identity::member(&info, f).unwrap_or_else(|| subject.clone()),
            None => subject.clone(),
        };
        Ok(LoggedIn {
            user,
            subject,
            scope: info
                .get("scope")
                .and_then(|s| s.as_str())
                .map(str::to_owned),
            credentials: client.credentials(),
        })
    }
}

impl Consumer {
    /// POSTs the code exchange (RFC 6749 §4.1.3) as the core wrote it.
    async fn token_request<const N: usize>(
        &self,
        received: &latch_core::oauth2::client::AuthCodeReceived<'_, N>,
        token_endpoint: &str,
    ) -> Result<(u16, axum::body::Bytes), ConsumerFailure> {
        let body = write(|w| {
            received.write_token_request(w);
            Ok::<(), ConsumerFailure>(())
        })?;
        let auth = write(|w| {
            received.write_authorization(w);
            Ok::<(), ConsumerFailure>(())
        })?;
        post_to_token_endpoint(&self.http, token_endpoint, body, &auth).await
    }

    /// The provider's JWK Set: the kept copy, or a fresh one when `fresh`
    /// (or none is kept yet).
    async fn jwks(
        &self,
        provider: &OidcProvider,
        fresh: bool,
    ) -> Result<Arc<Vec<u8>>, ConsumerFailure> {
        let mut kept = self.jwks.lock().await;
        if let (Some(set), false) = (kept.as_ref(), fresh) {
            return Ok(set.clone());
        }
        let resp = self.http.get(&provider.jwks_uri).send().await?;
        if !resp.status().is_success() {
            return Err(ConsumerFailure::Keys(format!(
                "{} answered {}",
                provider.jwks_uri,
                resp.status()
            )));
        }
        let set = Arc::new(resp.bytes().await?.to_vec());
        *kept = Some(set.clone());
        Ok(set)
    }

    /// OpenID Connect Core §3.1.3.7 with the core's checks; the key from
    /// the provider's set, which is fetched again once when it does not
    /// hold the token's `kid`. Returns `sub`.
    async fn check_id_token(
        &self,
        provider: &OidcProvider,
        id_token: &[u8],
        nonce: &str,
        access_token: &str,
    ) -> Result<String, ConsumerFailure> {
        use latch_core::jose::{JwkSet, PublicKey};
        use latch_core::oidc::{IdTokenError, IdTokenExpected, ReceivedIdToken};
        let expected = IdTokenExpected {
            issuer: &provider.issuer,
            client_id: &self.settings.client_id,
            nonce,
            algs: &provider.id_token_algs,
            now: UnixTime(now()),
            leeway: ID_TOKEN_LEEWAY,
            access_token: Some(access_token),
        };
        let token = ReceivedIdToken::parse(id_token, &provider.id_token_algs)
            .map_err(ConsumerFailure::IdToken)?;
        let mut refetched = false;
        loop {
            let set_json = self.jwks(provider, refetched).await?;
            let set = JwkSet::<16>::parse(&set_json)
                .map_err(|e| ConsumerFailure::Keys(format!("{}: {e}", provider.jwks_uri)))?;
            let key = match token.key(&set) {
                Ok(key) => key,
                Err(IdTokenError::UnknownKey) if !refetched => {
                    refetched = true;
                    continue;
                }
                Err(e) => return Err(ConsumerFailure::IdToken(e)),
            };
            let mut payload = vec![0u8; token.payload_len()];
            let valid = match key.verifier() {
                Ok(core_verifier) => token.validate(&core_verifier, &expected, &mut payload),
                Err(_) => {
                    let mut scratch = vec![0u8; key.scratch_len()];
                    let jwk = key
                        .to_jwk(&mut scratch)
                        .map_err(|e| ConsumerFailure::Keys(e.to_string()))?;
                    let PublicKey::Rsa { n, e } = jwk.key else {
                        return Err(ConsumerFailure::IdToken(IdTokenError::UnknownKey));
                    };
                    let rsa = oidc::RsaVerifier {
                        n: n.to_vec(),
                        e: e.to_vec(),
                    };
                    token.validate(&rsa, &expected, &mut payload)
                }
            };
            let valid = valid.map_err(ConsumerFailure::IdToken)?;
            let mut buf = vec![0u8; valid.sub.raw().len()];
            let sub = valid
                .sub
                .decode(&mut buf)
                .map_err(|_| ConsumerFailure::IdToken(IdTokenError::Malformed))?;
            return Ok(sub.to_owned());
        }
    }

    /// UserInfo (Core §5.3) with the access token; its `sub` must be the
    /// id_token's (§5.3.2). Without a UserInfo endpoint, `sub` alone.
    async fn userinfo(
        &self,
        provider: &OidcProvider,
        subject: String,
        credentials: Credentials,
    ) -> Result<LoggedIn, ConsumerFailure> {
        let Some(url) = &provider.userinfo_endpoint else {
            return Ok(LoggedIn {
                user: subject.clone(),
                subject,
                scope: None,
                credentials,
            });
        };
        let info: serde_json::Value = self
            .signed_client(credentials.clone())
            .get(url)
            .await?
            .error_for_status()?
            .json()
            .await?;
        if info.get("sub").and_then(serde_json::Value::as_str) != Some(subject.as_str()) {
            return Err(ConsumerFailure::SubjectMismatch);
        }
        let user = ["name", "preferred_username", "email"]
            .iter()
            .find_map(|k| info.get(*k).and_then(serde_json::Value::as_str))
            .unwrap_or(&subject)
            .to_owned();
        Ok(LoggedIn {
            user,
            subject,
            scope: None,
            credentials,
        })
    }
}

/// The client's address, when the app is served with axum's `ConnectInfo`.
struct Peer(Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

async fn login(
    State(c): State<Arc<Consumer>>,
    peer: Peer,
    session: Session,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(not_until) = c.login_rate.check_key(&peer.0) {
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
    let (pending, url) = match c.start().await {
        Ok(started) => started,
        Err(e) => {
            tracing::warn!(error = %e, "login could not start");
            return page(
                StatusCode::BAD_GATEWAY,
                "Login unavailable",
                &format!("Login could not start: {e}"),
            );
        }
    };
    let Ok(json) = serde_json::to_vec(&pending) else {
        return page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Login unavailable",
            "Login could not start.",
        );
    };
    let stored = StoredPending {
        sealed: seal::seal(&c.settings.session_key, PENDING_KEY, &json),
        next,
        created: now(),
    };
    if let Err(e) = session.insert(PENDING_KEY, stored).await {
        return store_unavailable(&e);
    }
    redirect(&url)
}

async fn callback(
    State(c): State<Arc<Consumer>>,
    session: Session,
    uri: axum::http::Uri,
) -> Response {
    let refused = |msg: &str| page(StatusCode::BAD_REQUEST, "Login failed", msg);
    // Single use: taken out of the session whatever happens next.
    let pending = match session.remove::<StoredPending>(PENDING_KEY).await {
        Ok(p) => p,
        Err(e) => return store_unavailable(&e),
    };
    let Some(pending) = pending else {
        return refused(
            "This login was not started here, was already completed, or has expired. Try again.",
        );
    };
    if pending.created.saturating_add(PENDING_TTL) <= now() {
        return refused("This login has expired. Try again.");
    }
    let Some(login) = seal::open(&c.settings.session_key, PENDING_KEY, &pending.sealed)
        .and_then(|plain| serde_json::from_slice::<PendingLogin>(&plain).ok())
    else {
        return refused("This login was not started here, or it expired. Try again.");
    };
    let logged_in = match c.finish(login, uri.query().unwrap_or("")).await {
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
    let Ok(credentials) = serde_json::to_vec(&logged_in.credentials) else {
        return refused("The provider's answer could not be kept.");
    };
    // A fresh id at every login (no fixation); the session then lives
    // SESSION_TTL, active or not.
    if let Err(e) = session.cycle_id().await {
        return store_unavailable(&e);
    }
    let expires = now().saturating_add(SESSION_TTL);
    session.set_expiry(Some(Expiry::AtDateTime(
        time::OffsetDateTime::now_utc() + time::Duration::seconds(SESSION_TTL.cast_signed()),
    )));
    let stored = StoredLogin {
        user: logged_in.user.clone(),
        subject: logged_in.subject.clone(),
        scope: logged_in.scope.clone(),
        credentials: seal::seal(&c.settings.session_key, LOGIN_KEY, &credentials),
        csrf: random_id(),
        expires,
    };
    if let Err(e) = session.insert(LOGIN_KEY, stored).await {
        return store_unavailable(&e);
    }
    c.hooks.after_login(&logged_in).await;
    redirect(&pending.next)
}

/// `GET /logout`: the sign-out button (a POST form with the CSRF token).
async fn logout_page(State(c): State<Arc<Consumer>>, session: Session) -> Response {
    match c.logout_token(&session).await {
        Some(token) => (StatusCode::OK, Html(pages::logout(&token))).into_response(),
        None => redirect("/"),
    }
}

/// The logout form.
#[derive(Debug, serde::Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /logout`: deletes the session, if the form carries its CSRF token.
async fn logout(
    State(c): State<Arc<Consumer>>,
    session: Session,
    axum::extract::Form(form): axum::extract::Form<LogoutForm>,
) -> Response {
    let expected = c.logout_token(&session).await;
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
    let gone = c.session(&session).await;
    if let Err(e) = session.flush().await {
        return store_unavailable(&e);
    }
    if let Some(l) = &gone {
        c.hooks.after_logout(l).await;
    }
    let mut r = redirect("/");
    *r.status_mut() = StatusCode::SEE_OTHER;
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
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if let Some(l) = c.session(&session).await {
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

/// POSTs a form the core wrote to the token endpoint (RFC 6749 §4.1.3,
/// §6), with the client's `Authorization` header when it has one.
async fn post_to_token_endpoint(
    http: &reqwest::Client,
    endpoint: &str,
    body: String,
    authorization: &str,
) -> Result<(u16, axum::body::Bytes), ConsumerFailure> {
    let mut req = http
        .post(endpoint)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(body);
    if !authorization.is_empty() {
        req = req.header(header::AUTHORIZATION, authorization);
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    Ok((status, resp.bytes().await?))
}

/// A callback handed every refreshed token (to store it).
pub type RefreshHook = Arc<dyn Fn(Credentials) -> HookFuture<'static, ()> + Send + Sync>;

/// Makes OAuth1-signed or Bearer calls with stored token credentials.
///
/// With a token endpoint ([`SignedClient::with_refresh`], or made by
/// [`Consumer::signed_client`] / [`Consumer::api`] for an OAuth 2.0 or
/// OpenID provider) an OAuth 2.0 token is kept fresh: refreshed before a
/// call when the core says it is due (`TokenSet::needs_refresh`: a minute
/// before expiry, or half its lifetime for short ones), and once more when
/// the provider still answers 401, then the call is sent again once. The
/// new tokens go to the refresh hook (to store them) and replace the old
/// ones here. Refreshes are serialized, and one made meanwhile by another
/// call is not repeated: with rotating refresh tokens a second refresh
/// with the old token would be reuse, which a provider may punish by
/// revoking the whole grant.
#[derive(Clone)]
pub struct SignedClient {
    http: reqwest::Client,
    consumer_key: String,
    consumer_secret: String,
    credentials: Arc<std::sync::Mutex<Credentials>>,
    token_endpoint: Option<String>,
    on_refresh: Option<RefreshHook>,
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for SignedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedClient")
            .field("consumer_key", &self.consumer_key)
            .field("credentials", &self.credentials())
            .field("token_endpoint", &self.token_endpoint)
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
        Ok(Self::with_http(
            outbound.client()?,
            consumer_key,
            consumer_secret,
            credentials,
        ))
    }

    fn with_http(
        http: reqwest::Client,
        consumer_key: &str,
        consumer_secret: &str,
        credentials: Credentials,
    ) -> Self {
        SignedClient {
            http,
            consumer_key: consumer_key.to_owned(),
            consumer_secret: consumer_secret.to_owned(),
            credentials: Arc::new(std::sync::Mutex::new(credentials)),
            token_endpoint: None,
            on_refresh: None,
            refreshing: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Keeps an OAuth 2.0 token fresh through `token_endpoint` (https, or
    /// http to loopback), handing each refreshed token to `hook`.
    pub fn with_refresh(
        mut self,
        token_endpoint: &str,
        hook: Option<RefreshHook>,
    ) -> Result<Self, OutboundError> {
        outbound::check_url("token_endpoint", token_endpoint)?;
        self.token_endpoint = Some(token_endpoint.to_owned());
        self.on_refresh = hook;
        Ok(self)
    }

    /// The credentials now (after any refresh).
    pub fn credentials(&self) -> Credentials {
        self.credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The `Authorization` header for `method` and `url`: OAuth1-signed
    /// (query parameters signed) or `Bearer`.
    pub fn authorization(
        &self,
        method: &str,
        url: &str,
    ) -> Result<String, latch_core::oauth1::SignError> {
        let (token, secret) = match self.credentials() {
            Credentials::Bearer { access_token, .. } => {
                return Ok(format!("Bearer {access_token}"));
            }
            Credentials::OAuth1 { token, secret } => (token, secret),
        };
        let req = Box::new(Request::<64>::new(method, url)?);
        let nonce = random_id();
        let oauth = ProtocolParams {
            token: Some(&token),
            timestamp: Some(now()),
            nonce: Some(&nonce),
            ..ProtocolParams::new(&self.consumer_key, SignatureMethod::HmacSha1)
        };
        let secrets = Secrets::new(&self.consumer_secret, &secret);
        write(|w| req.clone().sign(&oauth, &secrets, w))
    }

    /// The core's view of an OAuth 2.0 token that can be refreshed here.
    fn refreshable(&self) -> Option<latch_core::oauth2::client::TokenSet<CAP>> {
        self.token_endpoint.as_ref()?;
        match self.credentials() {
            Credentials::Bearer {
                access_token,
                refresh_token: Some(refresh),
                received_at,
                expires_at,
            } => latch_core::oauth2::client::TokenSet::restore(
                &access_token,
                Some(&refresh),
                UnixTime(received_at),
                expires_at.map(UnixTime),
            )
            .ok(),
            _ => None,
        }
    }

    /// Refreshes, unless the access token is no longer `stale` (another
    /// call refreshed it meanwhile).
    async fn refresh(&self, stale: &str) -> Result<(), ConsumerFailure> {
        let _one_at_a_time = self.refreshing.lock().await;
        let Some(mut tokens) = self.refreshable() else {
            return Ok(());
        };
        if tokens.access_token() != stale {
            return Ok(());
        }
        let Some(endpoint) = &self.token_endpoint else {
            return Ok(());
        };
        let identity = ClientIdentity::confidential(&self.consumer_key, &self.consumer_secret);
        let body = write(|w| tokens.write_refresh_request(&identity, w))?;
        let auth = write(|w| {
            identity.write_authorization(w);
            Ok::<(), ConsumerFailure>(())
        })?;
        let (status, answer) = post_to_token_endpoint(&self.http, endpoint, body, &auth).await?;
        tokens.handle_refresh_response(UnixTime(now()), status, &answer)?;
        let fresh = Credentials::bearer(&tokens);
        *self
            .credentials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        if let Some(hook) = &self.on_refresh {
            hook(fresh).await;
        }
        Ok(())
    }

    async fn send_get(&self, url: &str) -> Result<reqwest::Response, ConsumerFailure> {
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

    /// A signed `GET`; `url` must be https (or http to loopback). An OAuth
    /// 2.0 token is refreshed first when due, and once on a 401.
    pub async fn get(&self, url: &str) -> Result<reqwest::Response, ConsumerFailure> {
        outbound::check_url("url", url)?;
        if let Some(tokens) = self.refreshable()
            && tokens.needs_refresh(UnixTime(now()))
        {
            self.refresh(tokens.access_token()).await?;
        }
        let used = self.refreshable();
        let resp = self.send_get(url).await?;
        match used {
            Some(tokens) if resp.status() == reqwest::StatusCode::UNAUTHORIZED => {
                self.refresh(tokens.access_token()).await?;
                self.send_get(url).await
            }
            _ => Ok(resp),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The session rules, on a [`Session`] over the in-memory store, with
    //! the handlers called directly (no provider is reached: each case is
    //! refused before the provider would be called).
    use super::*;

    fn consumer(key: u8) -> Arc<Consumer> {
        Consumer::new(
            Settings {
                client_id: "app".into(),
                client_secret: "secret".into(),
                protocol: Protocol::OAuth2 {
                    authorization_endpoint: "https://provider.example/authorize".into(),
                    token_endpoint: "https://provider.example/token".into(),
                    issuer: None,
                    scope: None,
                },
                callback_url: "http://127.0.0.1:1/auth/callback".into(),
                identity: IdentityApi::new("https://provider.example/me", "id"),
                session_key: [key; 32],
                secure_cookies: false,
                allowed_users: None,
                outbound: Outbound::default(),
            },
            NoHooks,
        )
        .unwrap()
    }

    fn session() -> Session {
        Session::new(None, Arc::new(Consumer::memory_store()), None)
    }

    async fn pending(c: &Consumer, s: &Session, age: u64) {
        let login = PendingLogin::OAuth2 {
            state: "st".into(),
            verifier: "v".repeat(43),
        };
        let json = serde_json::to_vec(&login).unwrap();
        s.insert(
            PENDING_KEY,
            StoredPending {
                sealed: seal::seal(&c.settings.session_key, PENDING_KEY, &json),
                next: "/private".into(),
                created: now() - age,
            },
        )
        .await
        .unwrap();
    }

    async fn logged_in(c: &Consumer, s: &Session, expires: u64) {
        let creds = Credentials::Bearer {
            access_token: "at".into(),
            refresh_token: None,
            received_at: 0,
            expires_at: None,
        };
        let json = serde_json::to_vec(&creds).unwrap();
        s.insert(
            LOGIN_KEY,
            StoredLogin {
                user: "alice".into(),
                subject: "alice".into(),
                scope: None,
                credentials: seal::seal(&c.settings.session_key, LOGIN_KEY, &json),
                csrf: "the-token".into(),
                expires,
            },
        )
        .await
        .unwrap();
    }

    async fn body(r: Response) -> String {
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn callback_uri() -> axum::http::Uri {
        "/auth/callback?code=c&state=st".parse().unwrap()
    }

    #[tokio::test]
    async fn an_expired_pending_login_is_refused_and_gone() {
        let c = consumer(1);
        let s = session();
        pending(&c, &s, PENDING_TTL + 1).await;
        let r = callback(State(c.clone()), s.clone(), callback_uri()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(body(r).await.contains("expired"));
        assert!(s.get_value(PENDING_KEY).await.unwrap().is_none());
        assert!(c.session(&s).await.is_none(), "nothing stored");
    }

    #[tokio::test]
    async fn a_pending_login_is_single_use() {
        let c = consumer(1);
        let s = session();
        // Sealed under another key: refused (as a tampered one would be),
        // and taken out all the same.
        pending(&consumer(2), &s, 0).await;
        let r = callback(State(c.clone()), s.clone(), callback_uri()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(s.get_value(PENDING_KEY).await.unwrap().is_none());
        let again = callback(State(c.clone()), s.clone(), callback_uri()).await;
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(body(again).await.contains("already completed"));
    }

    #[tokio::test]
    async fn a_login_counts_until_it_expires_and_only_under_its_key() {
        let c = consumer(1);
        let s = session();
        logged_in(&c, &s, now() + 60).await;
        let who = c.session(&s).await.expect("logged in");
        assert_eq!(who.user, "alice");
        assert_eq!(
            who.credentials,
            Credentials::Bearer {
                access_token: "at".into(),
                refresh_token: None,
                received_at: 0,
                expires_at: None,
            }
        );
        assert!(consumer(2).session(&s).await.is_none(), "another key");
        let s = session();
        logged_in(&c, &s, now()).await;
        assert!(c.session(&s).await.is_none(), "expired");
        assert!(c.logout_token(&s).await.is_none());
    }

    #[tokio::test]
    async fn logout_needs_the_sessions_csrf_token() {
        let c = consumer(1);
        let s = session();
        logged_in(&c, &s, now() + 60).await;
        let form = |csrf: &str| {
            axum::extract::Form(LogoutForm {
                csrf: Some(csrf.into()),
            })
        };
        let r = logout(State(c.clone()), s.clone(), form("forged")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(c.session(&s).await.is_some(), "still logged in");
        let r = logout(State(c.clone()), s.clone(), form("the-token")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(c.session(&s).await.is_none(), "logged out");
    }
}
