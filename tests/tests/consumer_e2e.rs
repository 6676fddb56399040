//! Consumer login (DESIGN.md "Consumer side") against a real `latch serve`:
//! the example application as a user runs it, and the library in-process
//! for hooks and stored tokens.

use latch_host::consumer::{
    Consumer, Credentials, HookFuture, Hooks, LoggedIn, Outbound, OutboundError, Protocol,
    Settings, SignedClient,
};
use latch_tests::{
    Backend, Server, backends, browser, consumer_example_bin, free_port, hidden_inputs, test_ca,
};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

async fn start_app(
    server: &Server,
    port: u16,
    client: &latch_tests::Client,
    protocol: &str,
    extra: &[&str],
) -> Child {
    let mut child = Command::new(consumer_example_bin())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--provider",
            &server.base,
        ])
        .args([
            &format!("--client-id={}", client.id),
            &format!("--client-secret={}", client.secret),
            "--protocol",
            protocol,
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap();
    let Some(line) = line else {
        let mut err = String::new();
        let _ =
            tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut err)
                .await;
        panic!("the consumer example did not start ({protocol}, port {port}): {err}");
    };
    assert!(line.starts_with("listening on"), "{line}");
    child
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// Visits `start` in the app, goes through the provider's form as `user`,
/// and returns the app's final redirect target and the callback URL used.
async fn log_in(
    b: &reqwest::Client,
    app: &str,
    start: &str,
    user: (&str, &str),
) -> (reqwest::Response, String) {
    let resp = b
        .get(format!("{app}{start}"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "login required redirects");
    let mut url = location(&resp);
    if url.starts_with('/') {
        url = format!("{app}{url}");
    }
    let resp = b.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 302, "login redirects to the provider");
    let provider_page = location(&resp);
    let html = b
        .get(&provider_page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = hidden_inputs(&html);
    fields.push(("username".into(), user.0.into()));
    fields.push(("password".into(), user.1.into()));
    fields.push(("decision".into(), "approve".into()));
    let resp = b.post(&provider_page).form(&fields).send().await.unwrap();
    assert_eq!(
        resp.status(),
        303,
        "a credential POST answers 303 (RFC 9700 §4.12)"
    );
    let callback = location(&resp);
    assert!(
        callback.starts_with(&format!("{app}/callback?")),
        "{callback}"
    );
    (b.get(&callback).send().await.unwrap(), callback)
}

/// Signs out the way the app's page does: the logout form, posted.
async fn log_out(b: &reqwest::Client, app: &str) -> u16 {
    let page = b.get(format!("{app}/logout")).send().await.unwrap();
    assert_eq!(page.status(), 200, "the sign-out page");
    let fields = hidden_inputs(&page.text().await.unwrap());
    b.post(format!("{app}/logout"))
        .form(&fields)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn example_app_logs_in_and_out() {
    for protocol in ["oauth1", "oauth2"] {
        example_app_logs_in_and_out_with(protocol, Server::start().await, &[]).await;
    }
}

/// The example app logs in through `latch serve` over https, trusting the
/// provider's CA through `--ca FILE` (on SQLite and PostgreSQL).
#[tokio::test]
async fn example_app_logs_in_over_https_with_a_configured_ca() {
    let ca = test_ca().path.display().to_string();
    for backend in backends() {
        for protocol in ["oauth1", "oauth2"] {
            let server = Server::start_tls(backend).await;
            assert!(server.base.starts_with("https://"));
            example_app_logs_in_and_out_with(protocol, server, &["--ca", &ca]).await;
        }
    }
}

async fn example_app_logs_in_and_out_with(protocol: &str, server: Server, extra: &[&str]) {
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let client = server.add_client(&[
        "--name",
        "Example App",
        "--redirect-uri",
        &format!("{app}/callback"),
        "--scope",
        "profile",
    ]);
    server.add_user("alice", "wonderland");
    let _app = start_app(&server, port, &client, protocol, extra).await;

    let b = browser();
    let home = b.get(&app).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Log in"));
    // An API client gets 401, not a redirect.
    assert_eq!(
        b.get(format!("{app}/private"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let (resp, callback) = log_in(&b, &app, "/private", ("alice", "wonderland")).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(location(&resp), "/private");
    let private = b.get(format!("{app}/private")).send().await.unwrap();
    assert_eq!(private.status(), 200);
    let html = private.text().await.unwrap();
    assert!(
        html.contains("User: alice") && html.contains("Scope: profile"),
        "{html}"
    );
    assert!(
        b.get(&app)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Logged in as alice")
    );

    // The callback cannot be replayed.
    assert_eq!(b.get(&callback).send().await.unwrap().status(), 400);

    // Logout is a POST with the session's CSRF token; a forged one (as a
    // cross-site form would send) is refused and the session stays.
    let forged = b
        .post(format!("{app}/logout"))
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert_eq!(
        b.get(format!("{app}/private"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(log_out(&b, &app).await, 303);
    let again = b
        .get(format!("{app}/private"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 302);
    assert!(location(&again).starts_with("/login?next="));
}

#[tokio::test]
async fn next_never_leaves_the_app() {
    for protocol in ["oauth1", "oauth2"] {
        next_never_leaves_the_app_with(protocol).await;
    }
}

async fn next_never_leaves_the_app_with(protocol: &str) {
    let server = Server::start().await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let client = server.add_client(&[
        "--name",
        "App",
        "--redirect-uri",
        &format!("{app}/callback"),
    ]);
    server.add_user("alice", "wonderland");
    let _app = start_app(&server, port, &client, protocol, &[]).await;
    for evil in ["//evil.example", "https://evil.example", "/\\evil.example"] {
        let b = browser();
        let q: String = url_encode(evil);
        let resp = b.get(format!("{app}/login?next={q}")).send().await.unwrap();
        let provider_page = location(&resp);
        let html = b
            .get(&provider_page)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut fields = hidden_inputs(&html);
        fields.extend([
            ("username".into(), "alice".into()),
            ("password".into(), "wonderland".into()),
            ("decision".into(), "approve".into()),
        ]);
        let resp = b.post(&provider_page).form(&fields).send().await.unwrap();
        let done = b.get(location(&resp)).send().await.unwrap();
        assert_eq!(done.status(), 302);
        assert_eq!(location(&done), "/", "next={evil} must not leave the app");
    }
}

fn url_encode(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

#[tokio::test]
async fn allow_list_refuses_other_users() {
    for protocol in ["oauth1", "oauth2"] {
        allow_list_refuses_other_users_with(protocol).await;
    }
}

async fn allow_list_refuses_other_users_with(protocol: &str) {
    let server = Server::start().await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let client = server.add_client(&[
        "--name",
        "App",
        "--redirect-uri",
        &format!("{app}/callback"),
    ]);
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    let _app = start_app(&server, port, &client, protocol, &["--allow-user", "bob"]).await;
    let b = browser();
    let (resp, _) = log_in(&b, &app, "/private", ("alice", "wonderland")).await;
    assert_eq!(resp.status(), 403);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("alice may not use this application")
    );
    assert_eq!(
        b.get(format!("{app}/private"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let b = browser();
    let (resp, _) = log_in(&b, &app, "/private", ("bob", "builder")).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(
        b.get(format!("{app}/private"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[derive(Default)]
struct Keep {
    stored: Mutex<Option<Credentials>>,
    logged_out: Mutex<Vec<String>>,
}

#[derive(Clone, Default)]
struct KeepHooks(Arc<Keep>);

impl Hooks for KeepHooks {
    fn after_login<'a>(&'a self, login: &'a LoggedIn) -> HookFuture<'a, ()> {
        Box::pin(async move {
            *self.0.stored.lock().unwrap() = Some(login.credentials.clone());
        })
    }
    fn after_logout<'a>(&'a self, login: &'a LoggedIn) -> HookFuture<'a, ()> {
        Box::pin(async move { self.0.logged_out.lock().unwrap().push(login.user.clone()) })
    }
}

/// Hooks run; the token kept by `after_login` signs a call to `/api/info`
/// later, outside any request.
#[tokio::test]
async fn stored_token_signs_calls_outside_a_request() {
    let server = Server::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let client = server.add_client(&[
        "--name",
        "In-process",
        "--redirect-uri",
        &format!("{app}/callback"),
        "--scope",
        "read",
    ]);
    server.add_user("alice", "wonderland");
    let hooks = KeepHooks::default();
    let consumer = Consumer::new(
        Settings {
            client_id: client.id.clone(),
            client_secret: client.secret.clone(),
            protocol: Protocol::OAuth1 {
                request_token_url: server.url("/oauth1/request_token"),
                authorize_url: server.url("/oauth1/authorize"),
                access_token_url: server.url("/oauth1/access_token"),
            },
            callback_url: format!("{app}/callback"),
            identity_url: server.url("/api/info"),
            cookie_key: [7; 32],
            secure_cookies: false,
            allowed_users: None,
            outbound: Outbound::default(),
        },
        hooks.clone(),
    )
    .expect("loopback provider");
    let router = axum::Router::new()
        .route(
            "/private",
            axum::routing::get(|who: LoggedIn| async move { who.user }),
        )
        .with_state(consumer.clone())
        .merge(consumer.router());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let b = browser();
    let (resp, _) = log_in(&b, &app, "/private", ("alice", "wonderland")).await;
    assert_eq!(resp.status(), 302);
    assert_eq!(
        b.get(format!("{app}/private"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "alice"
    );
    assert_eq!(log_out(&b, &app).await, 303);
    assert_eq!(
        *hooks.0.logged_out.lock().unwrap(),
        vec!["alice".to_owned()]
    );

    let stored = hooks
        .0
        .stored
        .lock()
        .unwrap()
        .clone()
        .expect("after_login stored the token");
    // Later, with nothing but the stored values:
    let later =
        SignedClient::new(&client.id, &client.secret, stored, &Outbound::default()).unwrap();
    let info: serde_json::Value = later
        .get(&server.url("/api/info"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["user"], "alice");
    assert_eq!(info["client_id"], client.id.as_str());
}

/// Runs the example app with these arguments and returns its exit status
/// and standard error (it must not start).
async fn example_refuses(args: &[&str]) -> (i32, String) {
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        Command::new(consumer_example_bin())
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the example exits instead of serving")
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A non-loopback http:// provider is refused before anything is served:
/// one line, exit 2.
#[tokio::test]
async fn example_app_refuses_a_plain_http_provider() {
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");
    for protocol in ["oauth1", "oauth2"] {
        let (code, err) = example_refuses(&[
            "--listen",
            &listen,
            "--provider",
            "http://auth.example.com",
            "--client-id=x",
            "--client-secret=y",
            "--protocol",
            protocol,
        ])
        .await;
        assert_eq!(code, 2, "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("plain http://"), "{err}");
    }
}

/// Without `--ca`, a provider whose certificate comes from the test CA is
/// not trusted: discovery fails the handshake, one line, exit 2.
#[tokio::test]
async fn example_app_without_the_ca_fails_the_handshake() {
    let server = Server::start_tls(Backend::Sqlite).await;
    let port = free_port().to_string();
    let (code, err) = example_refuses(&[
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--provider",
        &server.base,
        "--client-id=x",
        "--client-secret=y",
        "--protocol",
        "oauth2",
    ])
    .await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("provider metadata"), "{err}");
}

/// The library refuses non-loopback http:// provider URLs when the
/// consumer is built, and SignedClient refuses to call one.
#[tokio::test]
async fn consumer_refuses_plain_http_provider_urls() {
    let settings = |token_endpoint: &str| Settings {
        client_id: "x".into(),
        client_secret: "y".into(),
        protocol: Protocol::OAuth2 {
            authorization_endpoint: "https://auth.example.com/authorize".into(),
            token_endpoint: token_endpoint.into(),
            issuer: None,
            scope: None,
        },
        callback_url: "http://127.0.0.1:1/callback".into(),
        identity_url: "https://api.example.com/me".into(),
        cookie_key: [1; 32],
        secure_cookies: false,
        allowed_users: None,
        outbound: Outbound::default(),
    };
    match Consumer::new(
        settings("http://auth.example.com/token"),
        latch_host::consumer::NoHooks,
    ) {
        Err(OutboundError::Insecure { what, .. }) => assert_eq!(what, "token_endpoint"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        Consumer::new(
            settings("https://auth.example.com/token"),
            latch_host::consumer::NoHooks
        )
        .is_ok()
    );
    let signed = SignedClient::new(
        "x",
        "y",
        Credentials::Bearer {
            access_token: "t".into(),
            refresh_token: None,
        },
        &Outbound::default(),
    )
    .unwrap();
    let e = signed.get("http://api.example.com/me").await.unwrap_err();
    assert!(e.to_string().contains("plain http://"), "{e}");
}

/// Hardening item 10: anonymous `/login` hits are rate-limited per address
/// before the provider is called, so a flood leaves no rows there.
#[tokio::test]
async fn consumer_login_amplification_is_bounded() {
    let server = Server::start().await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let client = server.add_client(&[
        "--name",
        "Flooded",
        "--redirect-uri",
        &format!("{app}/callback"),
    ]);
    let _app = start_app(&server, port, &client, "oauth1", &[]).await;
    let db = server.db_args.get(1).cloned().expect("--db sqlite://…");
    let count_rows = || {
        let path = db.trim_start_matches("sqlite://").to_owned();
        async move {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth1_temporary")
                .fetch_one(&pool)
                .await
                .unwrap();
            pool.close().await;
            n
        }
    };
    let mut statuses = Vec::new();
    for _ in 0..40 {
        let r = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(format!("{app}/login"))
            .send()
            .await
            .unwrap();
        statuses.push((r.status().as_u16(), r.headers().contains_key("retry-after")));
    }
    let started = statuses.iter().filter(|(s, _)| *s == 302).count();
    let limited = statuses.iter().filter(|s| **s == (429, true)).count();
    assert_eq!(
        started,
        latch_host::consumer::LOGIN_STARTS_PER_MINUTE as usize
    );
    assert_eq!(started + limited, 40, "{statuses:?}");
    assert_eq!(
        count_rows().await,
        started as i64,
        "refused hits left nothing at the provider"
    );
}
