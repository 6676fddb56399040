//! `latch serve`: the authorization server (DESIGN.md's HTTP contract).
//!
//! A thin axum shell: every protocol decision is made by `latch-core`; the
//! handlers load rows, call the core, and store what it says to store.
//! Cross-cutting limits: request bodies over 64 KiB are refused with 413,
//! requests taking over 30 s with 408; one log line per request (method,
//! path without query, status, latency) — never a query string, header or
//! body, so no token or secret reaches the log.

// Handlers answer errors with a ready `Response`; boxing it would only add
// an allocation to every error path.
#![allow(clippy::result_large_err)]

pub mod api;
pub mod http;
pub mod oauth1;
pub mod oauth2;
pub mod pages;
pub mod session;
pub mod state;

use crate::admin::{self, AdminError};
use crate::config::{self, FileConfig};
use crate::crypto::SecretBox;
use crate::db::Db;
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
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth2::metadata),
        )
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
        .route("/api/ping", get(api::ping))
        .route("/api/info", get(api::info))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(middleware::from_fn(error_bodies))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Resolves the configuration, binds the listener, and opens storage. The
/// default issuer names the address actually bound (so `--listen
/// 127.0.0.1:0` yields the real port).
pub async fn prepare(args: &ServeArgs) -> Result<(tokio::net::TcpListener, Shared), AdminError> {
    let file = match &args.config {
        Some(p) => FileConfig::load(p)?,
        None => FileConfig::default(),
    };
    let listen = config::resolve_listen(args.listen.as_deref(), &file)?;
    let url = config::resolve_db(args.db.as_deref(), &file)?;
    let keys = admin::resolve_keys(&file, &url)?;
    let oauth2_policy = match &file.oauth2 {
        Some(c) => c.policy()?,
        None => latch_core::oauth2::Policy::default(),
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| AdminError::Input(format!("cannot listen on {listen}: {e}")))?;
    let local = listener
        .local_addr()
        .map_err(|e| AdminError::Input(format!("cannot listen on {listen}: {e}")))?;
    let issuer = config::resolve_issuer(args.issuer.as_deref(), &file, local)?;
    let db = Db::open(&url).await?;
    let state = AppState {
        secret_box: SecretBox::new(&keys.secret_box),
        db,
        keys,
        issuer,
        oauth1_policy: latch_core::oauth1::Policy::default(),
        oauth2_policy,
        scopes_supported: Vec::new(),
        access_cache: state::AccessCache::default(),
        client_cache: quick_cache::sync::Cache::new(10_000),
    };
    Ok((listener, Arc::new(state)))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// Serves until SIGINT/SIGTERM, then finishes in-flight requests.
pub async fn serve(args: ServeArgs) -> Result<(), AdminError> {
    let (listener, state) = prepare(&args).await?;
    let local = listener
        .local_addr()
        .map_err(|e| AdminError::Input(format!("cannot read the bound address: {e}")))?;
    // Forget nonces whose timestamps can no longer be accepted.
    let purge = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = i64::try_from(http::now().as_secs()).unwrap_or(i64::MAX);
            if let Err(e) = purge.db.purge_nonces(now).await {
                tracing::warn!(error = %e, "nonce purge failed");
            }
            if let Err(e) = purge.db.purge_oauth2(http::now()).await {
                tracing::warn!(error = %e, "token purge failed");
            }
        }
    });
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on http://{local}");
        let _ = out.flush();
    }
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| AdminError::Input(format!("server error: {e}")))?;
    state.db.close().await;
    Ok(())
}
