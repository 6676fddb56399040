//! HTTP-level fuzzing of the whole router (issue 13): arbitrary requests —
//! methods, paths from the route table, query strings, headers, bodies,
//! content types — sent through the axum `Router` in-process
//! (`tower::ServiceExt::oneshot`) against a real SQLite store with a real
//! client and user in it. Every answer must be below 500 (the handlers
//! never panic: a panic fails the test), and every 4xx must carry an error
//! body a client can act on: RFC 6749 JSON with `error`, RFC 5849 form
//! with `oauth_problem`, or (for the browser pages) an HTML page. The
//! admin listener's router (`/admin/…`, `/metrics`) gets the same
//! treatment, some cases carrying a real `latch:admin` token.

use axum::body::Body;
use axum::http::{Request, header};
use latch_host::server::{self, ServeArgs};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt;

const PATHS: &[&str] = &[
    "/.well-known/oauth-authorization-server",
    "/oauth2/authorize",
    "/oauth2/token",
    "/oauth2/device_authorization",
    "/device",
    "/oauth2/introspect",
    "/oauth2/revoke",
    "/oauth1/request_token",
    "/oauth1/authorize",
    "/oauth1/access_token",
    "/logout",
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/userinfo",
    "/oauth2/logout",
    "/api/ping",
    "/api/info",
    "/account",
    "/account/login",
    "/account/revoke",
    "/account/sessions/end",
    "/admin/openapi.json",
    "/admin/clients",
    "/admin/clients/nope",
    "/admin/clients/nope/rotate-secret",
    "/admin/users",
    "/admin/users/alice",
    "/admin/users/alice/password",
    "/admin/users/alice/disable",
    "/admin/users/alice/enable",
    "/admin/tokens/revoke",
    "/admin/grants",
    "/admin/audit",
    "/metrics",
    "/nowhere",
    "/oauth2/token/extra",
    "//oauth2//token",
];

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];

const NAMES: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "code_verifier",
    "refresh_token",
    "scope",
    "device_code",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "user_code",
    "username",
    "password",
    "decision",
    "csrf",
    "request",
    "confirmed",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "post_logout_redirect_uri",
    "oauth_token",
    "oauth_callback",
    "oauth_verifier",
    "name",
    "grace",
    "user",
    "client",
    "redirect_uris",
    "session",
    "limit",
];

const VALUES: &[&str] = &[
    "",
    "client_credentials",
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "code",
    "read",
    "read write",
    "openid",
    "openid profile",
    "none",
    "login",
    "0",
    "approve",
    "deny",
    "S256",
    "plain",
    "https://app.example/cb",
    "%ZZ",
    "%C3%28",
    "ä",
    "a+b",
    "BCDF-GHJK",
    "\u{0}",
    "1",
    "latch:admin",
    "alice",
    "-1",
    "99999999999999999999",
];

/// A form-ish body built from the endpoints' own parameter names, so the
/// fuzzer reaches past the first parse.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop::sample::select(NAMES),
            prop_oneof![
                prop::sample::select(VALUES).prop_map(str::to_owned),
                "[ -~]{0,40}",
            ],
        ),
        0..8,
    )
    .prop_map(|pairs| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes()
    })
}

/// A JSON object built from the same names and values (the admin API
/// reads JSON), with strings, numbers, lists and nulls.
fn json_body() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        (
            prop::sample::select(NAMES),
            prop_oneof![
                prop::sample::select(VALUES).prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                prop::sample::select(VALUES).prop_map(|v| serde_json::json!([v])),
                Just(serde_json::Value::Null),
            ],
        ),
        0..6,
    )
    .prop_map(|pairs| {
        serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            .to_string()
            .into_bytes()
    })
}

#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    path: &'static str,
    query: Option<String>,
    content_type: Option<&'static str>,
    authorization: Option<String>,
    cookie: Option<String>,
    hosts: u8,
    declared_length: Option<u64>,
    body: Vec<u8>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::sample::select(METHODS),
        prop::sample::select(PATHS),
        prop::option::of(prop_oneof![
            form_body().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            "[!-~]{0,60}",
        ]),
        prop::option::of(prop::sample::select(
            &[
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=utf-8",
                "application/json",
                "text/plain",
                "multipart/form-data; boundary=x",
                "garbage",
            ][..],
        )),
        prop::option::of(prop_oneof![
            "Basic [A-Za-z0-9+/=]{0,40}",
            "Bearer [!-~]{0,40}",
            "OAuth [ -~]{0,80}",
            "[ -~]{0,30}",
        ]),
        prop::option::of("[ -~]{0,60}"),
        prop_oneof![8 => Just(1u8), 1 => Just(0u8), 1 => Just(2u8)],
        prop_oneof![
            6 => Just(None),
            1 => Just(Some(u64::MAX)),
            1 => (0u64..200_000).prop_map(Some),
        ],
        prop_oneof![
            form_body(),
            json_body(),
            prop::collection::vec(any::<u8>(), 0..200)
        ],
    )
        .prop_map(
            |(
                method,
                path,
                query,
                content_type,
                authorization,
                cookie,
                hosts,
                declared_length,
                body,
            )| Case {
                method,
                path,
                query,
                content_type,
                authorization,
                cookie,
                hosts,
                declared_length,
                body,
            },
        )
}

fn request(c: &Case) -> Option<Request<Body>> {
    let uri = match &c.query {
        Some(q) => format!("{}?{q}", c.path),
        None => c.path.to_owned(),
    };
    let mut b = Request::builder().method(c.method).uri(uri);
    for i in 0..c.hosts {
        b = b.header(header::HOST, format!("h{i}.example"));
    }
    if let Some(t) = c.content_type {
        b = b.header(header::CONTENT_TYPE, t);
    }
    if let Some(a) = &c.authorization {
        b = b.header(header::AUTHORIZATION, a.as_str());
    }
    if let Some(k) = &c.cookie {
        b = b.header(header::COOKIE, k.as_str());
    }
    if let Some(n) = c.declared_length {
        b = b.header(header::CONTENT_LENGTH, n.to_string());
    }
    // A query or header the http crate itself refuses is no request at all.
    b.body(Body::from(c.body.clone())).ok()
}

fn check(status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
    if status >= 500 {
        return Err(format!("{status}: {}", String::from_utf8_lossy(body)));
    }
    if !(400..500).contains(&status) {
        return Ok(());
    }
    let text = String::from_utf8_lossy(body);
    let ok = if content_type.starts_with("application/json") {
        serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .is_some_and(|e| !e.is_empty())
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        text.starts_with("oauth_problem=")
    } else if content_type.starts_with("text/html") {
        text.contains("<h1>")
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{status} without an error body ({content_type:?}): {text}"
        ))
    }
}

#[test]
fn router_answers_every_request_below_500_with_error_bodies() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("latch.db").display());
    let (app, client_header) = rt.block_on(async {
        let prepared = server::prepare(&ServeArgs {
            listen: Some("127.0.0.1:0".into()),
            db: Some(db.clone()),
            ..ServeArgs::default()
        })
        .await
        .unwrap();
        let state = prepared.state;
        let keys = state.keys.clone();
        let issued = latch_host::admin::add_client(
            &state.db,
            &keys,
            &latch_host::admin::NewClient {
                name: "Fuzz".into(),
                redirect_uris: vec!["https://app.example/cb".into()],
                scope: Some("read write openid profile".into()),
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
        use base64ct::Encoding;
        let basic = |id: &str, secret: Option<String>| {
            base64ct::Base64::encode_string(
                format!("{id}:{}", secret.unwrap_or_default()).as_bytes(),
            )
        };
        let ops = latch_host::admin::add_client(
            &state.db,
            &keys,
            &latch_host::admin::NewClient {
                name: "Fuzz ops".into(),
                redirect_uris: vec![],
                scope: Some("latch:admin".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let app = server::router(state.clone());
        let minted = app
            .clone()
            .oneshot(
                Request::post("/oauth2/token")
                    .header(header::HOST, "h.example")
                    .header(
                        header::AUTHORIZATION,
                        format!("Basic {}", basic(&ops.client_id, ops.client_secret)),
                    )
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(
                        "grant_type=client_credentials&scope=latch:admin",
                    ))
                    .unwrap(),
            )
            .await
            .unwrap();
        let minted: serde_json::Value = serde_json::from_slice(
            &axum::body::to_bytes(minted.into_body(), 1 << 16)
                .await
                .unwrap(),
        )
        .unwrap();
        let admin_token = minted["access_token"].as_str().unwrap().to_owned();
        (
            (app, server::admin_router(state)),
            (
                format!("Basic {}", basic(&issued.client_id, issued.client_secret)),
                format!("Bearer {admin_token}"),
            ),
        )
    });
    let ((app, admin_app), (client_header, admin_header)) = (app, client_header);
    let cases: u32 = std::env::var("LATCH_ROUTER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    // Some cases use the real client's credentials, to reach the grants.
    let strategy = (case(), any::<bool>());
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<String, u32>::new());
    let result = runner.run(&strategy, |(mut c, real_client)| {
        let admin = c.path.starts_with("/admin") || c.path == "/metrics";
        if real_client && c.authorization.is_some() {
            c.authorization = Some(if admin {
                admin_header.clone()
            } else {
                client_header.clone()
            });
        }
        let Some(req) = request(&c) else {
            return Ok(());
        };
        let (status, content_type, body) = rt.block_on(async {
            let target = if admin { &admin_app } else { &app };
            let resp = target.clone().oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            (status, ct, body)
        });
        {
            let kind = content_type.split(';').next().unwrap_or("").to_owned();
            let mut seen = seen.borrow_mut();
            *seen.entry(status.to_string()).or_default() += 1;
            *seen.entry(kind).or_default() += 1;
        }
        if c.method == "HEAD" && body.is_empty() {
            prop_assert!(status < 500, "{c:?}: HEAD {status}");
            return Ok(());
        }
        check(status, &content_type, &body).map_err(|e| TestCaseError::fail(format!("{c:?}: {e}")))
    });
    rt.block_on(async {
        drop(app);
        drop(admin_app);
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The cases reached the endpoints, not only the framework's refusals.
    let seen = seen.into_inner();
    eprintln!("router fuzz: {seen:?}");
    for want in [
        "200",
        "400",
        "401",
        "404",
        "405",
        "413",
        "application/json",
        "application/x-www-form-urlencoded",
        "text/html",
    ] {
        assert!(seen.contains_key(want), "no {want} in {seen:?}");
    }
}
