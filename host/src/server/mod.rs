//! `latch serve`: the authorization server (DESIGN.md's HTTP contract).
//!
//! A thin axum shell: every protocol decision is made by `latch-core`; the
//! handlers load rows, call the core, and store what it says to store.
//! Cross-cutting limits: request bodies over 64 KiB are refused with 413,
//! requests taking over 30 s with 408; one log line per request (method,
//! path without query, status, latency) — never a query string, header or
//! body, so no token or secret reaches the log.
//!
//! Transport: [`listen`] accepts connections, over TLS when [`tls`] is
//! configured (`--tls-cert`/`--tls-key`, `[tls]`, or `--tls-self-signed`).
//! When the issuer is https (TLS here, or terminated in front), every
//! response carries `Strict-Transport-Security` and cookies are `Secure`
//! and `__Host-`-prefixed.

// Handlers answer errors with a ready `Response`; boxing it would only add
// an allocation to every error path.
#![allow(clippy::result_large_err)]

pub mod account;
pub mod admin_api;
pub mod api;
pub mod http;
pub mod limits;
pub mod listen;
pub mod login;
pub mod metrics;
pub mod oauth1;
pub mod oauth2;
pub mod oidc;
pub mod pages;
pub mod session;
pub mod state;
pub mod strict;
pub mod tls;

use crate::admin::{self, AdminError};
use crate::config::{self, FileConfig};
use crate::crypto::SecretBox;
use crate::storage::Db;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use state::{AppState, Shared};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What `latch serve` was told.
#[derive(Debug, Default, Clone)]
pub struct ServeArgs {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--listen ADDR:PORT`.
    pub listen: Option<String>,
    /// `--db URL`.
    pub db: Option<String>,
    /// `--issuer URL`.
    pub issuer: Option<String>,
    /// `--tls-cert FILE`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE`.
    pub tls_key: Option<PathBuf>,
    /// `--tls-self-signed`: mint a local CA and certificate.
    pub tls_self_signed: bool,
    /// `--allow-insecure-http`: plain HTTP on a non-loopback address.
    pub allow_insecure_http: bool,
}

/// `Strict-Transport-Security` (RFC 6797) for a year; no `includeSubDomains`,
/// which would bind hosts Latch does not own.
const HSTS: &str = "max-age=31536000";

async fn strict_transport(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        axum::http::header::STRICT_TRANSPORT_SECURITY,
        axum::http::HeaderValue::from_static(HSTS),
    );
    resp
}

async fn log_request(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    tracing::info!(
        %method,
        path = %path,
        status = resp.status().as_u16(),
        ms = start.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    resp
}

/// Gives bare error responses from the framework layers (404, 405, 408,
/// 413, 415, 431, …) an RFC 6749 §5.2-style JSON body, so every 4xx carries
/// an error code a client can act on. Responses that already have a body
/// type (the endpoints' own errors) pass through.
async fn error_bodies(req: Request, next: Next) -> Response {
    use axum::http::{HeaderValue, StatusCode, header};
    use axum::response::IntoResponse;
    let resp = next.run(req).await;
    let status = resp.status();
    let typed = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| !t.starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || typed {
        return resp;
    }
    let (code, description) = match status {
        StatusCode::NOT_FOUND => ("invalid_request", "no such endpoint"),
        StatusCode::METHOD_NOT_ALLOWED => {
            ("invalid_request", "method not allowed for this endpoint")
        }
        StatusCode::REQUEST_TIMEOUT => ("invalid_request", "request took too long"),
        StatusCode::PAYLOAD_TOO_LARGE => ("invalid_request", "request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("invalid_request", "unsupported content type"),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            ("invalid_request", "request headers too large")
        }
        s if s.is_server_error() => ("server_error", "internal error"),
        _ => ("invalid_request", "malformed request"),
    };
    let mut out = (
        status,
        axum::Json(serde_json::json!({"error": code, "error_description": description})),
    )
        .into_response();
    for (name, value) in resp.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}

/// The application's routes.
pub fn router(state: Shared) -> Router {
    let https = state.https();
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth2::metadata),
        )
        .route("/.well-known/openid-configuration", get(oauth2::metadata))
        .route(oidc::JWKS, get(oidc::jwks))
        .route(oidc::USERINFO, get(oidc::userinfo).post(oidc::userinfo))
        .route(oidc::LOGOUT, get(oidc::logout_page).post(oidc::logout))
        .route(
            oauth2::AUTHORIZE,
            get(oauth2::authorize_page).post(oauth2::authorize_submit),
        )
        .route(oauth2::TOKEN, post(oauth2::token))
        .route(
            oauth2::DEVICE_AUTHORIZATION,
            post(oauth2::device_authorization),
        )
        .route(
            oauth2::DEVICE,
            get(oauth2::device_page).post(oauth2::device_submit),
        )
        .route(oauth2::INTROSPECT, post(oauth2::introspect))
        .route(oauth2::REVOKE, post(oauth2::revoke))
        .route("/oauth1/request_token", post(oauth1::request_token))
        .route(
            "/oauth1/authorize",
            get(oauth1::authorize_page).post(oauth1::authorize_submit),
        )
        .route("/oauth1/access_token", post(oauth1::access_token))
        .route("/logout", get(login::logout_page).post(login::logout))
        .route(account::ACCOUNT, get(account::page))
        .route("/account/login", post(account::sign_in))
        .route("/account/revoke", post(account::revoke))
        .route("/account/sessions/end", post(account::end_session))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/ping", get(api::ping))
        .route("/api/info", get(api::info))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(middleware::from_fn(error_bodies))
        .layer(middleware::from_fn(strict::strict_http));
    let app = if https {
        app.layer(middleware::from_fn(strict_transport))
    } else {
        app
    };
    app.layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(metrics::track))
        .with_state(state)
}

/// The admin listener's routes (`[admin] listen`): the admin API under
/// `/admin/`, Prometheus text at `/metrics`, and `/healthz`, `/readyz`.
pub fn admin_router(state: Shared) -> Router {
    admin_api::router()
        .merge(metrics::router())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(middleware::from_fn(error_bodies))
        .layer(middleware::from_fn(strict::strict_http))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(metrics::track))
        .with_state(state)
}

/// `GET /healthz`: the process is up and serving.
async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers, its migrations are current and the
/// keys are loaded (they are, or the server would not have started): 200,
/// or 503 with the failing check, for load balancers and orchestrators.
async fn readyz(axum::extract::State(s): axum::extract::State<Shared>) -> Response {
    use axum::response::IntoResponse;
    let ready = match s.db.ready().await {
        Ok(()) if !s.signing.ready() => Err("signing keys not loaded".to_owned()),
        other => other,
    };
    match ready {
        Ok(()) => axum::Json(serde_json::json!({
            "status": "ready",
            "checks": {"database": "ok", "migrations": "ok", "keys": "ok"}
        }))
        .into_response(),
        Err(why) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "not_ready", "error": why})),
        )
            .into_response(),
    }
}

/// What [`prepare`] made ready: the bound socket, the TLS configuration (if
/// any) and the shared state.
#[derive(Debug)]
pub struct Prepared {
    /// The bound listener.
    pub listener: tokio::net::TcpListener,
    /// rustls' configuration, and the certificate store to watch.
    pub tls: Option<(Arc<rustls::ServerConfig>, Arc<tls::CertStore>)>,
    /// Handler state.
    pub state: Shared,
    /// Connection limits for the accept loop.
    pub limits: listen::ConnLimits,
    /// The admin listener, when `[admin] listen` is set.
    pub admin: Option<tokio::net::TcpListener>,
}

/// Where `--tls-self-signed` keeps its files: beside the keys (the SQLite
/// file's directory), or beside the configuration file, or here.
fn self_signed_dir(url: &config::DbUrl, config: Option<&std::path::Path>) -> PathBuf {
    let parent = |p: &std::path::Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), std::path::Path::to_owned)
    };
    match (url, config) {
        (config::DbUrl::Sqlite { file, .. }, _) => parent(std::path::Path::new(file)),
        (_, Some(c)) => parent(c),
        _ => PathBuf::from("."),
    }
}

/// Resolves the configuration, loads the TLS certificate, binds the
/// listener, and opens storage. The default issuer names the address
/// actually bound (so `--listen 127.0.0.1:0` yields the real port). Every
/// check that can refuse the start (bad flags, missing certificate, the
/// issuer rule) runs before the database is opened.
pub async fn prepare(args: &ServeArgs) -> Result<Prepared, AdminError> {
    let file = match &args.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let listen = config::resolve_listen(args.listen.as_deref(), &file)?;
    let url = config::resolve_db(args.db.as_deref(), &file)?;
    let tls_source = config::resolve_tls(
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        args.tls_self_signed,
        &file,
    )?;
    // Certificate files are checked before binding: a typo fails at once.
    let mut store = match &tls_source {
        Some(config::TlsSource::Files { cert, key }) => {
            Some(tls::CertStore::open(cert, key).map_err(|e| AdminError::Input(e.to_string()))?)
        }
        _ => None,
    };
    let keys = admin::resolve_keys(&file, &url)?;
    let oauth2_policy = match &file.oauth2 {
        Some(c) => c.policy()?,
        None => latch_core::oauth2::Policy::default(),
    };
    let jwt_access_tokens = match &file.oauth2 {
        Some(c) => c.jwt_access_tokens()?,
        None => false,
    };
    let scopes = match file.oauth2.as_ref().and_then(|o| o.scopes.as_ref()) {
        Some(c) => c.entries()?.into_iter().collect(),
        None => std::collections::BTreeMap::new(),
    };
    let (limits, limit_settings) = match &file.limits {
        Some(l) => (l.conn_limits()?, l.limit_settings()?),
        None => (
            listen::ConnLimits::default(),
            limits::LimitSettings::default(),
        ),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| AdminError::Input(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| AdminError::Input(format!("cannot listen on {listen}: {e}")))?;
    let issuer = config::resolve_issuer(
        args.issuer.as_deref(),
        &file,
        local,
        tls_source.is_some(),
        args.allow_insecure_http,
    )?;
    if args.allow_insecure_http && issuer.starts_with("http://") && !local.ip().is_loopback() {
        tracing::warn!(%local, "plain HTTP on a non-loopback address (--allow-insecure-http): passwords and tokens cross the network in clear");
    }
    if tls_source == Some(config::TlsSource::SelfSigned) {
        let dir = self_signed_dir(&url, args.config.as_deref());
        let made = tls::self_signed(&dir, local).map_err(|e| AdminError::Input(e.to_string()))?;
        let ca = std::fs::canonicalize(&made.ca).unwrap_or(made.ca.clone());
        eprintln!(
            "latch: self-signed TLS certificate for {}; clients trust it with: curl --cacert {} {issuer}/.well-known/oauth-authorization-server",
            made.names.join(", "),
            ca.display()
        );
        store = Some(
            tls::CertStore::open(&made.cert, &made.key)
                .map_err(|e| AdminError::Input(e.to_string()))?,
        );
    }
    let tls = match store {
        Some(store) => Some((
            tls::server_config(store.clone()).map_err(|e| AdminError::Input(e.to_string()))?,
            store,
        )),
        None => None,
    };
    let admin = match file.admin.as_ref().and_then(|a| a.listen.as_deref()) {
        Some(addr) => {
            let addr: std::net::SocketAddr = addr.parse().map_err(|_| {
                AdminError::Input(format!(
                    "invalid [admin] listen {addr:?} (expected ADDR:PORT)"
                ))
            })?;
            if tls.is_none() && !addr.ip().is_loopback() && !args.allow_insecure_http {
                return Err(AdminError::Input(format!(
                    "[admin] listen {addr} is not a loopback address: admin tokens would cross the network in clear; configure [tls], use a loopback address, or pass --allow-insecure-http"
                )));
            }
            Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| AdminError::Input(format!("cannot listen on {addr}: {e}")))?,
            )
        }
        None => None,
    };
    let audit_retention = file.audit.as_ref().map_or_else(
        || config::AuditConfig::default().retention_secs(),
        config::AuditConfig::retention_secs,
    )?;
    let db = Db::open(&url).await?;
    let secret_box = SecretBox::new(&keys.secret_box);
    // OpenID Connect: every user has a public `sub`; signing keys exist.
    db.backfill_subs(|| admin::new_sub().unwrap_or_default())
        .await?;
    let now = i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX);
    let signing = crate::signing::SigningKeys::load_or_create(&db, &secret_box, now)
        .await
        .map_err(|e| AdminError::Input(e.to_string()))?;
    let audit = crate::audit::AuditLog::start(db.clone());
    let state = AppState {
        signing,
        jwt_access_tokens,
        secret_box,
        db,
        keys,
        issuer,
        oauth1_policy: latch_core::oauth1::Policy::default(),
        oauth2_policy,
        scopes,
        access_cache: state::AccessCache::default(),
        limits: limits::Limits::new(&limit_settings),
        password_gate: tokio::sync::Semaphore::new(
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get),
        ),
        client_cache: quick_cache::sync::Cache::new(10_000),
        audit,
        audit_retention,
    };
    let state = Arc::new(state);
    // PostgreSQL: other replicas' (and the command line's) revocations and
    // client changes reach the caches by notification.
    if let config::DbUrl::Postgres(u) = &url {
        crate::invalidate::start(state.clone(), u.clone());
    }
    Ok(Prepared {
        listener,
        tls,
        state,
        limits,
        admin,
    })
}

/// SIGINT and SIGTERM, registered when this is called — before the
/// "listening on" line is printed, so a supervisor (or a test) that sends
/// SIGTERM as soon as it reads that line gets a clean shutdown instead of
/// the default action (death by signal, exit status 143).
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            let recv = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = recv(int) => {},
                () = recv(term) => {},
            }
            tracing::info!("shutting down: finishing in-flight requests");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// Serves until SIGINT/SIGTERM, then finishes in-flight requests.
pub async fn serve(args: ServeArgs) -> Result<(), AdminError> {
    let Prepared {
        listener,
        tls,
        state,
        limits,
        admin,
    } = prepare(&args).await?;
    let local = listener
        .local_addr()
        .map_err(|e| AdminError::Input(format!("cannot read the bound address: {e}")))?;
    // Pick up key rotations made by `latch keys rotate` or another replica.
    let reload = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(crate::signing::RELOAD_EVERY);
        loop {
            tick.tick().await;
            let now = i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX);
            if let Err(e) = reload.signing.reload(now).await {
                tracing::warn!(error = %e, "reloading the signing keys failed");
            }
        }
    });
    // Expired codes, tokens, device codes, OAuth1 temporary credentials,
    // nonces and sessions go every minute (storage::PURGES).
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX);
            if let Err(e) = purge.db.purge_expired(now).await {
                tracing::warn!(error = %e, "purging expired rows failed");
            }
            let before =
                now.saturating_sub(i64::try_from(purge.audit_retention).unwrap_or(i64::MAX));
            if let Err(e) = purge.db.purge_audit(before).await {
                tracing::warn!(error = %e, "purging old audit events failed");
            }
        }
    });
    let scheme = if tls.is_some() { "https" } else { "http" };
    let app = router(state.clone());
    let config = tls.map(|(config, store)| {
        store.watch();
        config
    });
    // One signal stops both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signalled = shutdown_signal();
    tokio::spawn(async move {
        signalled.await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let admin_task = match admin {
        Some(admin) => {
            let at = admin
                .local_addr()
                .map_err(|e| AdminError::Input(format!("cannot read the bound address: {e}")))?;
            tracing::info!(%at, "admin listener: /admin/, /metrics, /healthz, /readyz");
            eprintln!("latch: admin listener on {scheme}://{at}");
            Some(tokio::spawn(listen::serve(
                admin,
                admin_router(state.clone()),
                config.clone(),
                limits,
                until_stopped(stopped.clone()),
            )))
        }
        None => None,
    };
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {scheme}://{local}");
        let _ = out.flush();
    }
    listen::serve(listener, app, config, limits, until_stopped(stopped)).await;
    if let Some(t) = admin_task {
        let _ = t.await;
    }
    state.db.close().await;
    Ok(())
}
