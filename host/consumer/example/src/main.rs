//! An application that logs its users in through a Latch (or any
//! DESIGN.md-compatible) provider with `latch-consumer`.
//!
//! ```sh
//! cargo run -p latch-consumer-example -- --listen 127.0.0.1:9000 \
//!     --provider http://127.0.0.1:8080 --client-id ID --client-secret SECRET \
//!     --protocol oauth1 [--allow-user alice]... [--ca FILE]... \
//!     [--sessions sqlite://sessions.db [--session-key-file FILE]]
//! cargo run -p latch-consumer-example -- --listen 127.0.0.1:9000 \
//!     --protocol oidc --issuer https://accounts.example.com \
//!     --client-id ID --client-secret SECRET [--scope "openid profile"]
//! ```
//!
//! `oauth2` finds its endpoints in the provider's RFC 8414 metadata and
//! learns who logged in from `PROVIDER/api/info`; `oidc` finds everything
//! from the issuer (OpenID Discovery) and learns who logged in from the
//! validated id_token and UserInfo.
//!
//! Routes: `/` (public), `/private` (login required), `/whoami` (the
//! provider's identity API — UserInfo for oidc — called now with the
//! session's token, refreshed first if it expired), `/login?next=`,
//! `/callback`, `/logout`. Register `http://ADDR/callback` as the client's
//! redirect URI.
//!
//! Sessions are in memory unless `--sessions sqlite://FILE` names a SQLite
//! file (then a login survives a restart of this app) or `--sessions
//! postgres://URL` a PostgreSQL database (then replicas of the app share
//! their sessions; give each the same `--session-key-file`). What the sessions
//! keep of the provider's tokens is sealed under a key kept in
//! `--session-key-file` (default: the database path + `.key`, created
//! 0600 on first start); in memory the key is drawn at start.
//!
//! The provider is reached over https (rustls, the platform's roots plus
//! `--ca FILE`, repeatable); a plain `http://` provider is accepted only on
//! loopback. Bad arguments or an unusable provider: one line, exit 2.
//! Arguments are read with lexopt (no clap: this app's dependency tree is
//! what an app using `latch-consumer` compiles).

use axum::extract::State;
use axum::response::Html;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Extension, Router};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};
use latch_consumer::{
    Consumer, LoggedIn, NoHooks, Outbound, Protocol, Session, SessionStore, Settings,
};
use std::path::PathBuf;
use std::sync::Arc;

const USAGE: &str = "usage: consumer --listen ADDR:PORT (--provider URL | --issuer URL) \
--client-id ID --client-secret SECRET --protocol oauth1|oauth2|oidc [--scope SCOPE] \
[--authorization-endpoint URL --token-endpoint URL] \
[--identity-url URL --identity-id FIELD [--identity-name FIELD]] \
[--public-url URL] [--allow-user NAME]... [--ca FILE]... [--sessions memory|sqlite://FILE|postgres://URL] \
[--session-key-file FILE]";

struct Args {
    listen: std::net::SocketAddr,
    /// The provider's base URL (oauth1, oauth2) or issuer (oidc).
    provider: String,
    scope: Option<String>,
    client_id: String,
    client_secret: String,
    protocol: String,
    allow_users: Vec<String>,
    cas: Vec<PathBuf>,
    sessions: Option<String>,
    session_key_file: Option<PathBuf>,
    /// The app's address as browsers reach it (default `http://LISTEN`).
    public_url: Option<String>,
    /// oauth2 without RFC 8414 metadata (GitHub): both endpoints given.
    endpoints: Option<(String, String)>,
    identity: Option<latch_consumer::IdentityApi>,
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("consumer: {message}");
    std::process::exit(2)
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut p = lexopt::Parser::from_env();
    let (mut listen, mut provider, mut id, mut secret, mut protocol, mut scope) =
        (None, None, None, None, None, None);
    let (mut allow_users, mut cas, mut sessions, mut key_file) =
        (Vec::new(), Vec::new(), None, None);
    let (mut authz, mut token, mut id_url, mut id_field, mut name_field) =
        (None, None, None, None, None);
    let mut public_url = None;
    while let Some(arg) = p.next()? {
        match arg {
            Long("listen") => listen = Some(p.value()?.parse()?),
            Long("provider") | Long("issuer") => provider = Some(p.value()?.string()?),
            Long("scope") => scope = Some(p.value()?.string()?),
            // Values may start with '-' (base64url secrets): taken as is.
            Long("client-id") => id = Some(p.value()?.string()?),
            Long("client-secret") => secret = Some(p.value()?.string()?),
            Long("protocol") => {
                let v = p.value()?.string()?;
                if !["oauth1", "oauth2", "oidc"].contains(&v.as_str()) {
                    return Err(format!("--protocol is oauth1, oauth2 or oidc, not {v:?}").into());
                }
                protocol = Some(v);
            }
            Long("allow-user") => allow_users.push(p.value()?.string()?),
            Long("ca") => cas.push(PathBuf::from(p.value()?)),
            Long("sessions") => sessions = Some(p.value()?.string()?),
            Long("session-key-file") => key_file = Some(PathBuf::from(p.value()?)),
            Long("public-url") => public_url = Some(p.value()?.string()?),
            Long("authorization-endpoint") => authz = Some(p.value()?.string()?),
            Long("token-endpoint") => token = Some(p.value()?.string()?),
            Long("identity-url") => id_url = Some(p.value()?.string()?),
            Long("identity-id") => id_field = Some(p.value()?.string()?),
            Long("identity-name") => name_field = Some(p.value()?.string()?),
            Long("help") | Short('h') => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(arg.unexpected()),
        }
    }
    let need = |v: Option<String>, name: &str| v.ok_or_else(|| format!("--{name} is required"));
    let endpoints = match (authz, token) {
        (Some(a), Some(t)) => Some((a, t)),
        (None, None) => None,
        _ => return Err("--authorization-endpoint and --token-endpoint go together".into()),
    };
    let identity = match (id_url, id_field) {
        (Some(url), Some(field)) => {
            let api = latch_consumer::IdentityApi::new(url, field);
            Some(match name_field {
                Some(n) => api.with_name(n),
                None => api,
            })
        }
        (None, None) if name_field.is_none() => None,
        _ => return Err("--identity-url and --identity-id go together".into()),
    };
    Ok(Args {
        listen: listen.ok_or("--listen is required")?,
        provider: need(provider, "provider (or --issuer)")?,
        scope,
        client_id: need(id, "client-id")?,
        client_secret: need(secret, "client-secret")?,
        protocol: need(protocol, "protocol")?,
        allow_users,
        cas,
        sessions: sessions.filter(|s| s != "memory"),
        session_key_file: key_file,
        public_url,
        endpoints,
        identity,
    })
}

/// The key sealing the sessions' tokens: read from `path`, or made there
/// (0600, written to a temporary file and renamed: never half-written).
fn session_key(path: &std::path::Path) -> [u8; 32] {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().unwrap_or_else(|b: Vec<u8>| {
            fail(format!(
                "{}: a session key is 32 bytes, this file has {}",
                path.display(),
                b.len()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).unwrap_or_else(|e| fail(format!("OS RNG: {e}")));
            let tmp = path.with_extension("key.tmp");
            let written = {
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode(0o600)
                    .open(&tmp)
                    .and_then(|mut f| f.write_all(&key).and_then(|()| f.sync_all()))
                    .and_then(|()| std::fs::rename(&tmp, path))
            };
            written.unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
            key
        }
        Err(e) => fail(format!("{}: {e}", path.display())),
    }
}

async fn home(State(c): State<Arc<Consumer>>, session: Session) -> Html<String> {
    Html(match c.session(&session).await {
        Some(l) => format!(
            "<p>Logged in as {}. <a href=\"/private\">Private page</a></p>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Log out</button></form>",
            text(&l.user),
            attr(&c.logout_token(&session).await.unwrap_or_default())
        ),
        None => "<p><a href=\"/login?next=/private\">Log in</a></p>".to_owned(),
    })
}

async fn private(who: LoggedIn) -> Html<String> {
    Html(format!(
        "<h1>Private</h1><p>User: {}</p><p>Scope: {}</p>",
        text(&who.user),
        text(who.scope.as_deref().unwrap_or(""))
    ))
}

/// Where `/whoami` asks who is logged in.
#[derive(Clone)]
struct IdentityUrl(String);

/// The provider's identity API, called with the session's token (kept
/// fresh by the consumer): its status and body, as the provider gave them.
async fn whoami(
    State(c): State<Arc<Consumer>>,
    Extension(url): Extension<IdentityUrl>,
    session: Session,
) -> axum::response::Response {
    let Some(client) = c.api(&session).await else {
        return (axum::http::StatusCode::UNAUTHORIZED, "login required").into_response();
    };
    match client.get(&url.0).await {
        Ok(r) => {
            let status = axum::http::StatusCode::from_u16(r.status().as_u16())
                .unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
            (status, r.text().await.unwrap_or_default()).into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

fn app<S: SessionStore + Clone>(consumer: &Arc<Consumer>, store: S, identity: &str) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/private", get(private))
        .route("/whoami", get(whoami))
        .with_state(consumer.clone())
        .merge(consumer.router())
        .layer(Extension(IdentityUrl(identity.to_owned())))
        .layer(consumer.session_layer(store))
}

#[tokio::main]
async fn main() {
    let a = parse_args().unwrap_or_else(|e| fail(format!("{e} ({USAGE})")));
    let base = a.provider.trim_end_matches('/');
    let mut outbound = Outbound::default();
    for ca in &a.cas {
        outbound = outbound.trust_pem_file(ca).unwrap_or_else(|e| fail(e));
    }
    // Refused before any request: a non-loopback http:// provider.
    let metadata_url = format!("{base}/.well-known/oauth-authorization-server");
    latch_consumer::outbound::check_url("--provider", &metadata_url).unwrap_or_else(|e| fail(e));
    let protocol = if a.protocol == "oidc" {
        let provider =
            latch_consumer::OidcProvider::discover(&a.provider, a.scope.as_deref(), &outbound)
                .await
                .unwrap_or_else(|e| fail(e));
        Protocol::OpenIdConnect(Box::new(provider))
    } else if let (Some((authorization_endpoint, token_endpoint)), "oauth2") =
        (&a.endpoints, a.protocol.as_str())
    {
        Protocol::OAuth2 {
            authorization_endpoint: authorization_endpoint.clone(),
            token_endpoint: token_endpoint.clone(),
            issuer: None,
            scope: a.scope.clone(),
        }
    } else if a.protocol == "oauth2" {
        // OAuth2 endpoints come from the RFC 8414 metadata document.
        let http = outbound.client().unwrap_or_else(|e| fail(e));
        let m: serde_json::Value = match http.get(&metadata_url).send().await {
            Ok(r) if r.status().is_success() => r
                .json()
                .await
                .unwrap_or_else(|e| fail(format!("provider metadata {metadata_url}: {e}"))),
            Ok(r) => fail(format!("provider metadata {metadata_url}: {}", r.status())),
            Err(e) => fail(format!("provider metadata {metadata_url}: {e}")),
        };
        let field = |k: &str| {
            m[k].as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| fail(format!("provider metadata lacks {k}")))
        };
        Protocol::OAuth2 {
            authorization_endpoint: field("authorization_endpoint"),
            token_endpoint: field("token_endpoint"),
            issuer: Some(field("issuer")),
            scope: a.scope.clone(),
        }
    } else {
        Protocol::OAuth1 {
            request_token_url: format!("{base}/oauth1/request_token"),
            authorize_url: format!("{base}/oauth1/authorize"),
            access_token_url: format!("{base}/oauth1/access_token"),
        }
    };
    // Where sessions live: memory, a SQLite file, or PostgreSQL (shared by
    // every replica of the app, which must then share the key file too).
    enum Sessions {
        Memory,
        Sqlite(PathBuf),
        Postgres(String),
    }
    let sessions = match a.sessions.as_deref() {
        None => Sessions::Memory,
        Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
            Sessions::Postgres(s.to_owned())
        }
        Some(s) => match s.strip_prefix("sqlite://") {
            Some(path) => Sessions::Sqlite(PathBuf::from(path)),
            None => fail(format!(
                "--sessions is memory, sqlite://FILE or postgres://URL, not {s:?}"
            )),
        },
    };
    let key = match (&a.session_key_file, &sessions) {
        (Some(f), _) => session_key(f),
        (None, Sessions::Sqlite(db)) => {
            session_key(&PathBuf::from(format!("{}.key", db.display())))
        }
        (None, Sessions::Postgres(_)) => fail(
            "--sessions postgres://… needs --session-key-file FILE (every replica must share the key)",
        ),
        (None, Sessions::Memory) => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).unwrap_or_else(|e| fail(format!("OS RNG: {e}")));
            key
        }
    };
    let settings = Settings {
        client_id: a.client_id,
        client_secret: a.client_secret,
        protocol,
        callback_url: format!(
            "{}/callback",
            a.public_url.as_deref().map_or_else(
                || format!("http://{}", a.listen),
                |u| u.trim_end_matches('/').to_owned()
            )
        ),
        identity: a
            .identity
            .clone()
            .unwrap_or_else(|| latch_consumer::IdentityApi::latch(base)),
        session_key: key,
        secure_cookies: false,
        allowed_users: (!a.allow_users.is_empty()).then(|| a.allow_users.into_iter().collect()),
        outbound,
    };
    let identity_url = match &settings.protocol {
        Protocol::OpenIdConnect(p) => p.userinfo_endpoint.clone().unwrap_or_default(),
        _ => settings.identity.url.clone(),
    };
    let consumer = Consumer::new(settings, NoHooks).unwrap_or_else(|e| fail(e));
    let router = match &sessions {
        Sessions::Sqlite(db) => {
            let url = format!("sqlite://{}", db.display());
            let store = latch_consumer::stores::sqlite_store(&url)
                .await
                .unwrap_or_else(|e| fail(format!("--sessions {url}: {e}")));
            app(&consumer, store, &identity_url)
        }
        Sessions::Postgres(url) => {
            let store = latch_consumer::stores::postgres_store(url)
                .await
                .unwrap_or_else(|e| fail(format!("--sessions postgres: {e}")));
            app(&consumer, store, &identity_url)
        }
        Sessions::Memory => app(&consumer, Consumer::memory_store(), &identity_url),
    };
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .unwrap_or_else(|e| fail(format!("cannot listen on {}: {e}", a.listen)));
    let local = listener
        .local_addr()
        .unwrap_or_else(|e| fail(format!("cannot read the bound address: {e}")));
    println!("listening on http://{local}");
    // ConnectInfo lets the consumer rate-limit login starts per address.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    if let Err(e) = axum::serve(listener, service).await {
        eprintln!("consumer: {e}");
        std::process::exit(1);
    }
}
