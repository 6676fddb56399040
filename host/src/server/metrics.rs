//! Prometheus metrics: `GET /metrics` in the text exposition format
//! (0.0.4), meant for the admin listener. The `metrics` facade records;
//! `metrics-exporter-prometheus` renders (no listener of its own).
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `latch_http_requests_total` | counter | `route`, `method`, `status` |
//! | `latch_http_request_duration_seconds` | histogram | `route`, `method` |
//! | `latch_tokens_issued_total` | counter | `grant_type`, `client_id` |
//! | `latch_refresh_reuse_total` | counter | — |
//! | `latch_failed_logins_total` | counter | — |
//! | `latch_failed_client_auth_total` | counter | `endpoint` |
//! | `latch_rate_limited_total` | counter | `limit` |
//! | `latch_cache_requests_total` | counter | `cache`, `result` |
//! | `latch_cache_entries` | gauge | `cache` |
//! | `latch_caches_trusted` | gauge | — |
//! | `latch_group_commit_batch_size` | histogram | — |
//! | `latch_group_commit_batches_total` | counter | — |
//! | `latch_db_pool_connections` | gauge | `pool`, `state` |
//!
//! * Requests: `route` is axum's matched route template
//!   (`/oauth2/token`), or `unmatched` — never the raw path, which is
//!   unbounded and can carry user data; `method` is a standard method or
//!   `other`. Latency is in seconds, from the request reaching the router
//!   to the response head.
//! * Tokens: `grant_type` is the protocol name (`authorization_code`,
//!   `refresh_token`, `client_credentials`,
//!   `urn:ietf:params:oauth:grant-type:device_code`, or `oauth1` for
//!   OAuth 1.0a token credentials); `client_id` is the registered client
//!   that authenticated, counted once the writes are committed.
//! * Refresh reuse: a retired refresh token presented again, or lost to a
//!   concurrent use; either revokes the token's family. Within the refresh
//!   grace window (`[oauth2] refresh_grace_seconds`) neither is reuse: the
//!   client gets a new pair, counted in `latch_tokens_issued_total`.
//! * Failed client authentications (`invalid_client`), by `endpoint`:
//!   `token`, `introspection`, `revocation`, `device_authorization`.
//! * Rate limits ([`super::limits`]): each refusal, by `limit`
//!   (`login_user`, `login_addr`, `user_code`, `client_auth`); a login
//!   refused by both of its limits counts for each.
//! * Caches: `cache` is `access_token` or `client`, `result` `hit` or
//!   `miss`. Hit rate in PromQL:
//!   `sum by (cache) (rate(latch_cache_requests_total{result="hit"}[5m])) / sum by (cache) (rate(latch_cache_requests_total[5m]))`.
//!   `latch_caches_trusted` is 1 while the caches may answer, 0 while a
//!   PostgreSQL replica's invalidation listener is disconnected (caches
//!   emptied and bypassed, lookups counted as misses; [`crate::invalidate`]).
//! * Group commit (SQLite): requests per committed batch.
//! * Pools (set at scrape time): `pool` is `read` or `write`, `state`
//!   `idle` or `in_use`. On PostgreSQL both name the same pool.
//!
//! The recorder is process-wide, installed once by [`handle`] (or by the
//! first request through [`track`]); a maintenance thread drains histogram
//! samples every few seconds so memory stays bounded between scrapes.

use super::state::Shared;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Requests by route, method and status.
pub const HTTP_REQUESTS: &str = "latch_http_requests_total";
/// Request latency by route and method.
pub const HTTP_DURATION: &str = "latch_http_request_duration_seconds";
/// Tokens issued by grant type and client.
pub const TOKENS_ISSUED: &str = "latch_tokens_issued_total";
/// Refresh-token reuse detections.
pub const REFRESH_REUSE: &str = "latch_refresh_reuse_total";
/// Wrong passwords (and unknown usernames).
pub const FAILED_LOGINS: &str = "latch_failed_logins_total";
/// Failed client authentications by endpoint.
pub const FAILED_CLIENT_AUTH: &str = "latch_failed_client_auth_total";
/// Attempts refused by a limit.
pub const RATE_LIMITED: &str = "latch_rate_limited_total";
/// Cache lookups by cache and result.
pub const CACHE_REQUESTS: &str = "latch_cache_requests_total";
/// Entries held by each cache.
pub const CACHE_ENTRIES: &str = "latch_cache_entries";
/// Whether the caches may answer (the invalidation listener is up).
pub const CACHES_TRUSTED: &str = "latch_caches_trusted";
/// Requests per group commit.
pub const BATCH_SIZE: &str = "latch_group_commit_batch_size";
/// Group commits.
pub const BATCHES: &str = "latch_group_commit_batches_total";
/// Database pool connections by pool and state.
pub const POOL_CONNECTIONS: &str = "latch_db_pool_connections";

/// Latency buckets, in seconds: 0.5 ms to 5 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Batch-size buckets: powers of two up to 512 (a batch carries at most 256).
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// How often histogram samples are drained into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder's handle, installing the recorder on first
/// use (later calls, from any number of routers, return the same one).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(install)
}

fn install() -> PrometheusHandle {
    let buckets = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), LATENCY_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), BATCH_BUCKETS));
    let builder = match buckets {
        Ok(b) => b,
        // Only an empty bucket list is an error; ours are constants.
        Err(e) => {
            tracing::warn!(error = %e, "metrics buckets refused; histograms render as summaries");
            PrometheusBuilder::new()
        }
    };
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if let Err(e) = metrics::set_global_recorder(recorder) {
        tracing::warn!(error = %e, "another metrics recorder is installed; /metrics stays empty");
    }
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("latch-metrics".into())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no metrics upkeep thread; histograms drain at scrapes only");
    }
    describe();
    handle
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by route template and method."
    );
    describe_counter!(TOKENS_ISSUED, "Tokens issued by grant type and client.");
    describe_counter!(
        REFRESH_REUSE,
        "Refresh tokens presented again after rotation (the family is revoked)."
    );
    describe_counter!(FAILED_LOGINS, "Failed password logins.");
    describe_counter!(
        FAILED_CLIENT_AUTH,
        "Failed client authentications (invalid_client) by endpoint."
    );
    describe_counter!(RATE_LIMITED, "Attempts refused by a brute-force limit.");
    describe_counter!(
        CACHE_REQUESTS,
        "Cache lookups by cache and result (hit, miss)."
    );
    describe_gauge!(CACHE_ENTRIES, "Entries held by each cache.");
    describe_gauge!(
        CACHES_TRUSTED,
        "1 while the caches may answer; 0 while the invalidation listener is disconnected (caches bypassed)."
    );
    describe_histogram!(BATCH_SIZE, "Requests carried by each SQLite group commit.");
    describe_counter!(BATCHES, "SQLite group commits.");
    describe_gauge!(
        POOL_CONNECTIONS,
        "Database pool connections by pool (read, write) and state (idle, in_use)."
    );
}

/// `GET /metrics`, to merge into the admin listener's router.
pub fn router() -> Router<Shared> {
    handle();
    Router::new().route("/metrics", get(scrape))
}

async fn scrape(State(s): State<Shared>) -> Response {
    pool_gauges("read", s.db.pool());
    pool_gauges("write", s.db.writer());
    metrics::gauge!(CACHE_ENTRIES, "cache" => "access_token").set(s.access_cache.entries() as f64);
    metrics::gauge!(CACHE_ENTRIES, "cache" => "client").set(s.client_cache.len() as f64);
    metrics::gauge!(CACHES_TRUSTED).set(if s.caches_trusted() { 1.0 } else { 0.0 });
    let mut r = handle().render().into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn pool_gauges(pool: &'static str, p: &sqlx::AnyPool) {
    let (size, idle) = (p.size() as usize, p.num_idle());
    metrics::gauge!(POOL_CONNECTIONS, "pool" => pool, "state" => "idle").set(idle as f64);
    metrics::gauge!(POOL_CONNECTIONS, "pool" => pool, "state" => "in_use")
        .set(size.saturating_sub(idle) as f64);
}

/// Middleware: counts each request by route template, method and status,
/// and records its latency. Layered with `Router::layer`, so it runs after
/// routing and sees [`MatchedPath`].
pub async fn track(req: Request, next: Next) -> Response {
    handle();
    let route: metrics::SharedString = match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_owned().into(),
        None => "unmatched".into(),
    };
    let method = method_label(req.method());
    let start = Instant::now();
    let resp = next.run(req).await;
    let elapsed = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method).record(elapsed);
    resp
}

/// A standard method's name, or `other` (extension methods are unbounded).
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "PATCH" => "PATCH",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

/// The token endpoint's outcome once its writes are settled: the tokens
/// issued to `client_id` (the client that authenticated), or a refresh
/// token's reuse (an error that revokes the family).
pub fn token_endpoint(
    grant: latch_core::oauth2::GrantType,
    client_id: Option<&str>,
    done: &latch_core::oauth2::Done,
) {
    use latch_core::oauth2::GrantType;
    if done.tokens().is_some() {
        if let Some(id) = client_id {
            token_issued(grant.as_str(), id);
        }
    } else if grant == GrantType::RefreshToken && done.reuse_detected() {
        metrics::counter!(REFRESH_REUSE).increment(1);
    }
}

/// Counts tokens issued with `grant_type` to the authenticated `client_id`.
pub fn token_issued(grant_type: &'static str, client_id: &str) {
    metrics::counter!(TOKENS_ISSUED, "grant_type" => grant_type, "client_id" => client_id.to_owned())
        .increment(1);
}

/// Counts a failed password login.
pub fn failed_login() {
    metrics::counter!(FAILED_LOGINS).increment(1);
}

/// Counts a failed client authentication at `endpoint`.
pub fn failed_client_auth(endpoint: &'static str) {
    metrics::counter!(FAILED_CLIENT_AUTH, "endpoint" => endpoint).increment(1);
}

/// Counts an attempt refused by `limit`.
pub fn rate_limited(limit: &'static str) {
    metrics::counter!(RATE_LIMITED, "limit" => limit).increment(1);
}

/// Counts a lookup in `cache` (`access_token`, `client`).
pub fn cache(cache: &'static str, hit: bool) {
    let result = if hit { "hit" } else { "miss" };
    metrics::counter!(CACHE_REQUESTS, "cache" => cache, "result" => result).increment(1);
}

/// Counts a group commit of `size` requests.
pub fn group_commit(size: usize) {
    metrics::counter!(BATCHES).increment(1);
    metrics::histogram!(BATCH_SIZE).record(size as f64);
}
