//! Prometheus metrics (issue 18): the app's router and, beside it as on
//! the admin listener, `server::metrics::router()` over the same state,
//! driven in-process with `tower::ServiceExt::oneshot` against a temporary
//! SQLite store.
//!
//! The recorder is process-wide and the tests run in parallel threads, so
//! each test compares a series before and after its own requests, on
//! labels only it produces (its own client, a route/method/status no other
//! test sends).

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use latch_host::server::{self, ServeArgs};
use tower::ServiceExt;

const CB: &str = "https://app.example/cb";

/// One server: its router, its `/metrics` router, one confidential client
/// and the user alice.
struct App {
    router: Router,
    metrics: Router,
    client_id: String,
    secret: String,
    _dir: tempfile::TempDir,
}

async fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("latch.db").display());
    let prepared = server::prepare(&ServeArgs {
        listen: Some("127.0.0.1:0".into()),
        db: Some(db),
        ..ServeArgs::default()
    })
    .await
    .unwrap();
    let state = prepared.state;
    let issued = latch_host::admin::add_client(
        &state.db,
        &state.keys,
        &latch_host::admin::NewClient {
            name: "Metrics".into(),
            redirect_uris: vec![CB.into()],
            scope: Some("read write".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    latch_host::admin::add_user(
        &state.db,
        "alice",
        "wonderland",
        &latch_host::storage::Profile::default(),
    )
    .await
    .unwrap();
    // Separate routers, as the admin listener is separate. (Merging a plain
    // router into `server::router`'s would replace its layered fallback
    // with the plain one: axum keeps the other router's default fallback.)
    let metrics = server::metrics::router().with_state(state.clone());
    App {
        router: server::router(state),
        metrics,
        client_id: issued.client_id,
        secret: issued.client_secret.unwrap(),
        _dir: dir,
    }
}

fn basic(id: &str, secret: &str) -> String {
    use base64ct::Encoding;
    format!(
        "Basic {}",
        base64ct::Base64::encode_string(format!("{id}:{secret}").as_bytes())
    )
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn send(app: &App, req: Request<Body>) -> Answer {
    call(&app.router, req).await
}

async fn call(router: &Router, mut req: Request<Body>) -> Answer {
    req.headers_mut()
        .insert(header::HOST, "latch.example".parse().unwrap());
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A form POST with HTTP Basic client authentication.
async fn post(app: &App, path: &str, auth: &str, form: &[(&str, &str)]) -> Answer {
    let body = serde_urlencoded::to_string(form).unwrap();
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, auth)
        .body(Body::from(body))
        .unwrap();
    send(app, req).await
}

async fn scrape(app: &App) -> String {
    let a = call(
        &app.metrics,
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let ct = a.headers[header::CONTENT_TYPE].to_str().unwrap();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    a.body
}

/// The series of `name` whose labels include every pair of `labels`, as
/// an independent parser of the Prometheus text format (prometheus-parse)
/// reads the scrape: a histogram's buckets come back as `NAME_bucket`
/// series with an `le` label, its `_sum` and `_count` as their own.
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    use prometheus_parse::{Scrape, Value};
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("not Prometheus text: {e}\n{text}"));
    let has = |sample: &prometheus_parse::Sample, le: Option<f64>| {
        labels.iter().all(|(k, v)| match (*k, le) {
            ("le", Some(bound)) => {
                let want = if *v == "+Inf" {
                    f64::INFINITY
                } else {
                    v.parse::<f64>().unwrap_or(f64::NAN)
                };
                want == bound
            }
            _ => sample.labels.get(k) == Some(*v),
        })
    };
    let mut out = Vec::new();
    for sample in &scrape.samples {
        match &sample.value {
            Value::Histogram(buckets) if name == format!("{}_bucket", sample.metric) => {
                out.extend(
                    buckets
                        .iter()
                        .filter(|b| has(sample, Some(b.less_than)))
                        .map(|b| b.count),
                );
            }
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)
                if sample.metric == name && has(sample, None) =>
            {
                out.push(*v);
            }
            _ => {}
        }
    }
    out
}

/// The value of one series (the sum if several match), 0 when absent.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    series(text, name, labels).iter().sum()
}

fn present(text: &str, name: &str, labels: &[(&str, &str)]) -> bool {
    !series(text, name, labels).is_empty()
}

/// Counters that moved between two scrapes, by exactly how much.
fn delta(before: &str, after: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(after, name, labels) - value(before, name, labels)
}

fn json(a: &Answer) -> serde_json::Value {
    serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_tokens_are_counted_by_grant_type_and_client() {
    let app = app().await;
    let auth = basic(&app.client_id, &app.secret);
    let before = scrape(&app).await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let a = post(
            &app,
            "/oauth2/token",
            &auth,
            &[("grant_type", "client_credentials"), ("scope", "read")],
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        tokens.push(json(&a)["access_token"].as_str().unwrap().to_owned());
    }
    let after = scrape(&app).await;
    let mine = [
        ("grant_type", "client_credentials"),
        ("client_id", app.client_id.as_str()),
    ];
    assert_eq!(
        delta(&before, &after, "latch_tokens_issued_total", &mine),
        3.0
    );
    // Each issuance went through the SQLite group commit.
    assert!(delta(&before, &after, "latch_group_commit_batches_total", &[]) >= 1.0);
    assert!(delta(&before, &after, "latch_group_commit_batch_size_count", &[]) >= 1.0);
    assert!(present(
        &after,
        "latch_group_commit_batch_size_bucket",
        &[("le", "512")]
    ));
    // The first lookup of this new client missed the cache; the next two
    // (within its 5 s) hit it.
    let client = |r| [("cache", "client"), ("result", r)];
    assert!(
        delta(
            &before,
            &after,
            "latch_cache_requests_total",
            &client("miss")
        ) >= 1.0
    );
    assert!(
        delta(
            &before,
            &after,
            "latch_cache_requests_total",
            &client("hit")
        ) >= 2.0
    );
    for t in &tokens {
        assert!(!after.contains(t.as_str()), "a token in the metrics");
    }
    assert!(
        !after.contains(&app.secret),
        "the client secret in the metrics"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_secrets_count_failed_client_authentications() {
    let app = app().await;
    let wrong = basic(&app.client_id, "not-the-secret");
    let before = scrape(&app).await;
    let a = post(
        &app,
        "/oauth2/token",
        &wrong,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(json(&a)["error"], "invalid_client");
    let a = post(
        &app,
        "/oauth2/device_authorization",
        &wrong,
        &[("scope", "read")],
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    let after = scrape(&app).await;
    let failed = |e| {
        delta(
            &before,
            &after,
            "latch_failed_client_auth_total",
            &[("endpoint", e)],
        )
    };
    assert_eq!(failed("token"), 1.0);
    assert_eq!(failed("device_authorization"), 1.0);
    // A failure issues nothing.
    assert_eq!(
        delta(
            &before,
            &after,
            "latch_tokens_issued_total",
            &[("client_id", app.client_id.as_str())]
        ),
        0.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_authentication_limit_refusals_are_counted() {
    let app = app().await;
    let wrong = basic(&app.client_id, "not-the-secret");
    let before = scrape(&app).await;
    // The default limit: 10 failures per client per minute, then 429.
    for _ in 0..10 {
        let a = post(&app, "/oauth2/introspect", &wrong, &[("token", "x")]).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    }
    let a = post(&app, "/oauth2/introspect", &wrong, &[("token", "x")]).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    let after = scrape(&app).await;
    assert_eq!(
        delta(
            &before,
            &after,
            "latch_failed_client_auth_total",
            &[("endpoint", "introspection")]
        ),
        10.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            "latch_rate_limited_total",
            &[("limit", "client_auth")]
        ),
        1.0
    );
    let route = |status| {
        [
            ("route", "/oauth2/introspect"),
            ("method", "POST"),
            ("status", status),
        ]
    };
    assert_eq!(
        delta(&before, &after, "latch_http_requests_total", &route("401")),
        10.0
    );
    assert_eq!(
        delta(&before, &after, "latch_http_requests_total", &route("429")),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_cache_hits_and_misses_are_counted() {
    let app = app().await;
    let auth = basic(&app.client_id, &app.secret);
    let a = post(
        &app,
        "/oauth2/token",
        &auth,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let token = json(&a)["access_token"].as_str().unwrap().to_owned();
    let before = scrape(&app).await;
    for _ in 0..2 {
        let a = post(&app, "/oauth2/introspect", &auth, &[("token", &token)]).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(json(&a)["active"], true, "{}", a.body);
    }
    let after = scrape(&app).await;
    let cache = |r| [("cache", "access_token"), ("result", r)];
    // The first introspection read the database and filled the cache.
    assert_eq!(
        delta(
            &before,
            &after,
            "latch_cache_requests_total",
            &cache("miss")
        ),
        1.0
    );
    assert_eq!(
        delta(&before, &after, "latch_cache_requests_total", &cache("hit")),
        1.0
    );
    assert!(value(&after, "latch_cache_entries", &[("cache", "access_token")]) >= 1.0);
    assert!(!after.contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_counted_by_route_template_with_latency_histograms() {
    let app = app().await;
    let auth = basic(&app.client_id, &app.secret);
    let before = scrape(&app).await;
    // Labels no other test sends: GET (405) and an unsupported grant (400).
    let a = send(
        &app,
        Request::get("/oauth2/token").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = post(&app, "/oauth2/token", &auth, &[("grant_type", "password")]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    let after = scrape(&app).await;
    let get = [("route", "/oauth2/token"), ("method", "GET")];
    let counted = |method, status| {
        delta(
            &before,
            &after,
            "latch_http_requests_total",
            &[
                ("route", "/oauth2/token"),
                ("method", method),
                ("status", status),
            ],
        )
    };
    assert_eq!(counted("GET", "405"), 1.0);
    assert_eq!(counted("POST", "400"), 1.0);
    let name = "latch_http_request_duration_seconds";
    assert_eq!(delta(&before, &after, &format!("{name}_count"), &get), 1.0);
    assert!(present(&after, &format!("{name}_sum"), &get));
    let inf = [get[0], get[1], ("le", "+Inf")];
    assert_eq!(delta(&before, &after, &format!("{name}_bucket"), &inf), 1.0);
    // The configured buckets, 0.5 ms to 5 s, not a summary.
    for le in ["0.0005", "0.01", "1", "5"] {
        let b = [get[0], get[1], ("le", le)];
        assert!(present(&after, &format!("{name}_bucket"), &b), "no le={le}");
    }
    assert!(!present(&after, name, &[("quantile", "0.5")]));
    // No series is labelled with a raw path.
    assert!(!after.contains("route=\"//"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unmatched_paths_share_one_label_and_are_never_echoed() {
    let app = app().await;
    let before = scrape(&app).await;
    let a = send(
        &app,
        Request::get("/no/such/path?secret=x")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let after = scrape(&app).await;
    assert_eq!(
        delta(
            &before,
            &after,
            "latch_http_requests_total",
            &[("route", "unmatched"), ("method", "GET"), ("status", "404")]
        ),
        1.0
    );
    assert!(present(
        &after,
        "latch_http_request_duration_seconds_count",
        &[("route", "unmatched")]
    ));
    assert!(!after.contains("secret=x"));
    assert!(!after.contains("/no/such/path"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_and_cache_gauges_are_set_at_scrape_time() {
    let app = app().await;
    let text = scrape(&app).await;
    for pool in ["read", "write"] {
        for state in ["idle", "in_use"] {
            assert!(
                present(
                    &text,
                    "latch_db_pool_connections",
                    &[("pool", pool), ("state", state)]
                ),
                "no {pool}/{state} in {text}"
            );
        }
    }
    // The writer pool (SQLite) has its one connection, busy or idle.
    let write = value(&text, "latch_db_pool_connections", &[("pool", "write")]);
    assert_eq!(write, 1.0, "write pool: {write}");
    for cache in ["access_token", "client"] {
        assert!(present(&text, "latch_cache_entries", &[("cache", cache)]));
    }
    assert!(text.contains("# TYPE latch_db_pool_connections gauge"));
}

/// The page's CSRF cookie and token.
fn csrf(a: &Answer) -> (String, String) {
    let cookie = a
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("latch_csrf="))
        .and_then(|v| v.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let marker = "name=\"csrf\" value=\"";
    let start = a.body.find(marker).expect("a csrf field") + marker.len();
    let end = start + a.body[start..].find('"').unwrap();
    (cookie, a.body[start..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_codes_refreshes_and_refresh_reuse_are_counted() {
    use base64ct::Encoding;
    use sha2::Digest;
    let app = app().await;
    let auth = basic(&app.client_id, &app.secret);
    let verifier = "a-code-verifier-of-at-least-forty-three-characters-long";
    let challenge =
        base64ct::Base64UrlUnpadded::encode_string(&sha2::Sha256::digest(verifier.as_bytes()));
    let query = serde_urlencoded::to_string([
        ("response_type", "code"),
        ("client_id", app.client_id.as_str()),
        ("redirect_uri", CB),
        ("scope", "read"),
        ("state", "st"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap();
    let page = send(
        &app,
        Request::get(format!("/oauth2/authorize?{query}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let (cookie, token) = csrf(&page);
    let submit = |password: &'static str| {
        let body = serde_urlencoded::to_string([
            ("request", query.as_str()),
            ("csrf", token.as_str()),
            ("decision", "approve"),
            ("username", "alice"),
            ("password", password),
        ])
        .unwrap();
        Request::post("/oauth2/authorize")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie.as_str())
            .body(Body::from(body))
            .unwrap()
    };
    let mine = |g| [("grant_type", g), ("client_id", app.client_id.as_str())];

    let before = scrape(&app).await;
    let a = send(&app, submit("not-her-password")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    let after = scrape(&app).await;
    assert_eq!(
        delta(&before, &after, "latch_failed_logins_total", &[]),
        1.0
    );
    assert!(!after.contains("not-her-password"));

    let a = send(&app, submit("wonderland")).await;
    assert!(a.status.is_redirection(), "{}: {}", a.status, a.body);
    let location = a.headers[header::LOCATION].to_str().unwrap();
    let code = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let a = post(
        &app,
        "/oauth2/token",
        &auth,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", verifier),
        ],
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let first = json(&a)["refresh_token"].as_str().unwrap().to_owned();
    async fn refresh(app: &App, auth: &str, token: &str) -> Answer {
        let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
        post(app, "/oauth2/token", auth, &form).await
    }
    let a = refresh(&app, &auth, &first).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let second = json(&a)["refresh_token"].as_str().unwrap().to_owned();
    // The retired token again: reuse, and the family is revoked.
    let a = refresh(&app, &auth, &first).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(json(&a)["error"], "invalid_grant");
    let a = refresh(&app, &auth, &second).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "the family is revoked");
    let end = scrape(&app).await;
    assert_eq!(delta(&before, &end, "latch_failed_logins_total", &[]), 1.0);
    assert_eq!(
        delta(
            &before,
            &end,
            "latch_tokens_issued_total",
            &mine("authorization_code")
        ),
        1.0
    );
    assert_eq!(
        delta(
            &before,
            &end,
            "latch_tokens_issued_total",
            &mine("refresh_token")
        ),
        1.0
    );
    // Only the retired token's presentation is reuse; the revoked second
    // one is an unknown (revoked) grant.
    let reuse = delta(&before, &end, "latch_refresh_reuse_total", &[]);
    assert_eq!(reuse, 1.0);
    for secret in [&code, &first, &second] {
        assert!(!end.contains(secret.as_str()));
    }
}
