//! Consumer login (DESIGN.md "Consumer side") against a real `latch serve`:
//! the example application as a user runs it, and the library in-process
//! for hooks and stored tokens.

use latch_consumer::{
    Consumer, Credentials, HookFuture, Hooks, LoggedIn, Outbound, OutboundError, Protocol,
    Settings, SignedClient,
};
use latch_tests::{
    Backend, Server, backends, browser, consumer_example_bin, form_action, free_port,
    hidden_inputs, start_peer, test_ca,
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
    let mut args = vec![
        "--provider".to_owned(),
        server.base.clone(),
        format!("--client-id={}", client.id),
        format!("--client-secret={}", client.secret),
        "--protocol".to_owned(),
        protocol.to_owned(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    start_example(port, &args).await
}

/// Starts the example app on `port` with these arguments and waits for
/// its "listening on" line (a failure to start shows its stderr).
async fn start_example(port: u16, args: &[String]) -> Child {
    let mut child = Command::new(consumer_example_bin())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(args)
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
        panic!("the consumer example did not start ({args:?}, port {port}): {err}");
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
/// provider's CA through `--ca FILE` (on SQLite and PostgreSQL): OAuth 1.0a,
/// OAuth 2.0, and OpenID Connect (issue 15: discovery from the issuer
/// alone, the id_token validated — RS256, the server's default —,
/// UserInfo read).
#[tokio::test]
async fn example_app_logs_in_over_https_with_a_configured_ca() {
    let ca = test_ca().path.display().to_string();
    for backend in backends() {
        for protocol in ["oauth1", "oauth2", "oidc"] {
            let server = Server::start_tls(backend).await;
            assert!(server.base.starts_with("https://"));
            example_app_logs_in_and_out_with(protocol, server, &["--ca", &ca]).await;
        }
    }
}

/// Issue 15, item 4: an expired OAuth2 token is refreshed by the API
/// client before the call, and the rotated tokens are sealed back into the
/// session: `latch serve` issues 3-second access tokens and rotates
/// refresh tokens with reuse detection, so a second refresh with the old
/// refresh token would revoke the whole grant. Two expiries in a row both
/// end in a 200 from `/api/info`.
#[tokio::test]
async fn an_expired_token_is_refreshed_and_kept_in_the_session() {
    let server =
        Server::start_configured(Backend::Sqlite, false, "[oauth2]\naccess_token_ttl = 3\n").await;
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let client = server.add_client(&[
        "--name",
        "Refreshing App",
        "--redirect-uri",
        &format!("{app}/callback"),
        "--scope",
        "profile",
    ]);
    server.add_user("alice", "wonderland");
    let _app = start_app(&server, port, &client, "oauth2", &[]).await;
    let b = browser();
    let (resp, _) = log_in(&b, &app, "/private", ("alice", "wonderland")).await;
    assert_eq!(resp.status(), 302);
    let whoami = || async {
        let r = b.get(format!("{app}/whoami")).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    };
    let (status, body) = whoami().await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"alice\""), "{body}");
    for round in 0..2 {
        tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
        let (status, body) = whoami().await;
        assert_eq!(status, 200, "after expiry {round}: {body}");
        assert!(body.contains("\"alice\""), "{body}");
    }
}

/// Issue 15, item 3: two replicas of the example app on one PostgreSQL
/// session store (and one key file) share their sessions: a login made
/// through A is a login on B, and a logout through B ends it on A. (The
/// browser's cookies are per host, not per port, as behind one load
/// balancer.) Runs where the test command runs it, with LATCH_TEST_PG.
#[tokio::test]
async fn two_app_replicas_share_sessions_on_postgresql() {
    if std::env::var_os("LATCH_TEST_PG").is_none() {
        eprintln!("two_app_replicas_share_sessions_on_postgresql: LATCH_TEST_PG unset, not run");
        return;
    }
    let server = Server::start().await;
    let (port_a, port_b) = (free_port(), free_port());
    let (app_a, app_b) = (
        format!("http://127.0.0.1:{port_a}"),
        format!("http://127.0.0.1:{port_b}"),
    );
    let client = server.add_client(&[
        "--name",
        "Replicated App",
        "--redirect-uri",
        &format!("{app_a}/callback"),
        "--scope",
        "profile",
    ]);
    server.add_user("alice", "wonderland");
    let sessions = latch_tests::fresh_pg_database();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("session.key").display().to_string();
    let args = [
        "--sessions",
        sessions.as_str(),
        "--session-key-file",
        key.as_str(),
    ];
    // One after the other: the first creates the store's table.
    let _a = start_app(&server, port_a, &client, "oauth2", &args).await;
    let _b = start_app(&server, port_b, &client, "oauth2", &args).await;
    let b = browser();
    let (resp, _) = log_in(&b, &app_a, "/private", ("alice", "wonderland")).await;
    assert_eq!(resp.status(), 302);
    let on_b = b.get(format!("{app_b}/private")).send().await.unwrap();
    assert_eq!(on_b.status(), 200, "logged in on B too");
    assert!(on_b.text().await.unwrap().contains("User: alice"));
    assert_eq!(log_out(&b, &app_b).await, 303);
    assert_eq!(
        b.get(format!("{app_a}/private"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "logged out on A too"
    );
}

/// Issue 15: the example app logs a user in through node-oidc-provider
/// (panva's certified OpenID Provider, from npm, pinned by
/// tests/oidc-rp/package-lock.json; started by tests/oidc-rp/op.sh), its
/// login and consent forms driven over HTTP: discovery, PKCE, `nonce`,
/// RFC 9207 `iss` on the callback, the RS256 id_token validated, UserInfo
/// read (the name shown is the provider's `name` claim).
#[tokio::test]
async fn example_app_logs_in_through_node_oidc_provider() {
    for alg in ["RS256", "ES256", "EdDSA"] {
        let port = free_port();
        let app = format!("http://127.0.0.1:{port}");
        let callback = format!("{app}/callback");
        let (mut op, started) = start_peer(
            "oidc-rp/op.sh",
            &["--redirect-uri", &callback, "--alg", alg],
        )
        .await;
        let issuer = started["issuer"].as_str().unwrap().to_owned();
        let mut child = start_example(
            port,
            &[
                "--protocol".into(),
                "oidc".into(),
                "--issuer".into(),
                issuer.clone(),
                "--scope".into(),
                "openid profile".into(),
                format!("--client-id={}", started["client_id"].as_str().unwrap()),
                format!(
                    "--client-secret={}",
                    started["client_secret"].as_str().unwrap()
                ),
            ],
        )
        .await;

        let b = browser();
        let r = b
            .get(format!("{app}/login?next=/private"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302, "{alg}");
        let mut url = location(&r);
        assert!(url.starts_with(&issuer), "{url}");
        assert!(url.contains("nonce=") && url.contains("code_challenge_method=S256"));
        // Through the provider: redirects, its sign-in form, its consent
        // form, until it sends the browser back to the app.
        let mut steps = 0;
        while !url.starts_with(&format!("{app}/callback")) {
            steps += 1;
            assert!(steps < 20, "{alg}: lost at the provider: {url}");
            let r = b.get(&url).send().await.unwrap();
            if r.status().is_redirection() {
                url = url::Url::parse(&url)
                    .unwrap()
                    .join(&location(&r))
                    .unwrap()
                    .to_string();
                continue;
            }
            assert_eq!(r.status(), 200, "{alg}: {url}");
            let html = r.text().await.unwrap();
            let action = form_action(&html, &url);
            let mut fields = hidden_inputs(&html);
            if html.contains("name=\"password\"") {
                fields.extend([
                    ("login".into(), "alice".into()),
                    ("password".into(), "wonderland".into()),
                    ("action".into(), "sign-in".into()),
                ]);
            } else {
                fields.push(("decision".into(), "approve".into()));
            }
            let r = b.post(&action).form(&fields).send().await.unwrap();
            assert!(
                r.status().is_redirection(),
                "{alg}: {action}: {}",
                r.status()
            );
            url = url::Url::parse(&action)
                .unwrap()
                .join(&location(&r))
                .unwrap()
                .to_string();
        }
        assert!(
            url.contains("iss="),
            "node-oidc-provider sends RFC 9207 iss: {url}"
        );
        let r = b.get(&url).send().await.unwrap();
        assert_eq!(
            r.status(),
            302,
            "{alg}: {}",
            r.text().await.unwrap_or_default()
        );
        assert_eq!(location(&r), "/private");
        let private = b.get(format!("{app}/private")).send().await.unwrap();
        assert_eq!(private.status(), 200);
        let html = private.text().await.unwrap();
        assert!(html.contains("User: Alice Liddell"), "{alg}: {html}");
        assert_eq!(log_out(&b, &app).await, 303);
        child.kill().await.unwrap();
        op.kill().await.unwrap();
    }
}

/// Issue 15: the example app logs a user in through an OAuth 1.0a
/// provider built on oauthlib's provider endpoints (PyPI, pinned by
/// tests/oauth1-provider/requirements.txt; started by its run.sh), with
/// the identity API configured on the command line (`/me`: `id`,
/// `username`), and makes the signed identity call that oauthlib's
/// ResourceEndpoint verifies.
#[tokio::test]
async fn example_app_logs_in_through_an_oauthlib_oauth1_provider() {
    let port = free_port();
    let app = format!("http://127.0.0.1:{port}");
    let callback = format!("{app}/callback");
    let (mut provider, started) =
        start_peer("oauth1-provider/run.sh", &["--callback", &callback]).await;
    let base = started["base"].as_str().unwrap().to_owned();
    let mut child = start_example(
        port,
        &[
            "--protocol".into(),
            "oauth1".into(),
            "--provider".into(),
            base.clone(),
            "--identity-url".into(),
            format!("{base}/me"),
            "--identity-id".into(),
            "id".into(),
            "--identity-name".into(),
            "username".into(),
            format!("--client-id={}", started["client_key"].as_str().unwrap()),
            format!(
                "--client-secret={}",
                started["client_secret"].as_str().unwrap()
            ),
        ],
    )
    .await;

    let b = browser();
    let r = b
        .get(format!("{app}/login?next=/private"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    let authorize = location(&r);
    assert!(
        authorize.starts_with(&format!("{base}/oauth1/authorize?oauth_token=")),
        "{authorize}"
    );
    let html = b
        .get(&authorize)
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
    ]);
    let r = b
        .post(form_action(&html, &authorize))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let callback = location(&r);
    assert!(
        callback.starts_with(&format!("{app}/callback?")),
        "{callback}"
    );
    assert!(callback.contains("oauth_verifier="));
    let r = b.get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap_or_default());
    let private = b.get(format!("{app}/private")).send().await.unwrap();
    assert_eq!(private.status(), 200);
    let html = private.text().await.unwrap();
    assert!(html.contains("User: alice"), "{html}");
    assert_eq!(
        b.get(&callback).send().await.unwrap().status(),
        400,
        "no replay"
    );
    assert_eq!(log_out(&b, &app).await, 303);
    child.kill().await.unwrap();
    provider.kill().await.unwrap();
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
        if protocol == "oidc" {
            "openid profile"
        } else {
            "profile"
        },
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
    // OpenID Connect: who is from UserInfo (no scope is reported).
    assert!(
        html.contains("User: alice") && (protocol == "oidc" || html.contains("Scope: profile")),
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

/// Issue 15, item 3: with the SQLite session store, a login survives a
/// restart of the app (same database, same key file), and the store holds
/// no token in clear (only sealed values). A second app started on the
/// same store with another session key finds no login: what it cannot
/// open does not count.
#[tokio::test]
async fn a_login_survives_an_app_restart_with_sql_sessions() {
    for protocol in ["oauth1", "oauth2"] {
        let server = Server::start().await;
        let port = free_port();
        let app = format!("http://127.0.0.1:{port}");
        let client = server.add_client(&[
            "--name",
            "Restarted App",
            "--redirect-uri",
            &format!("{app}/callback"),
            "--scope",
            "profile",
        ]);
        server.add_user("alice", "wonderland");
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sessions.db");
        let sessions = format!("sqlite://{}", db.display());
        let args = ["--sessions", sessions.as_str()];
        let mut first = start_app(&server, port, &client, protocol, &args).await;
        let b = browser();
        let (resp, _) = log_in(&b, &app, "/private", ("alice", "wonderland")).await;
        assert_eq!(resp.status(), 302, "{protocol}");
        assert_eq!(
            b.get(format!("{app}/private"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        first.kill().await.unwrap();

        let key_file = dir.path().join("sessions.db.key");
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777
        };
        assert_eq!(mode, 0o600, "the session key file");
        let stored = std::fs::read(&db).unwrap();
        let wal = std::fs::read(dir.path().join("sessions.db-wal")).unwrap_or_default();
        let all = [stored, wal].concat();
        let contains = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(contains("latch.login"), "the login is in the store");
        for secret_field in ["access_token", "refresh_token", "secret", "verifier"] {
            assert!(
                !contains(secret_field),
                "{secret_field} in clear in the session store"
            );
        }

        let mut second = start_app(&server, port, &client, protocol, &args).await;
        let private = b.get(format!("{app}/private")).send().await.unwrap();
        assert_eq!(
            private.status(),
            200,
            "{protocol}: still logged in after the restart"
        );
        assert!(private.text().await.unwrap().contains("User: alice"));
        second.kill().await.unwrap();

        let other_key = dir.path().join("other.key");
        let other = ["--sessions", sessions.as_str(), "--session-key-file"];
        let mut other: Vec<&str> = other.to_vec();
        let other_key_s = other_key.display().to_string();
        other.push(&other_key_s);
        let _third = start_app(&server, port, &client, protocol, &other).await;
        assert_eq!(
            b.get(format!("{app}/private"))
                .send()
                .await
                .unwrap()
                .status(),
            401,
            "{protocol}: another key opens nothing"
        );
    }
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
            identity: latch_consumer::IdentityApi::latch(&server.base),
            session_key: [7; 32],
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
        .merge(consumer.router())
        .layer(consumer.session_layer(Consumer::memory_store()));
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

/// Hooks whose `identify` makes its own signed call and names the user
/// from it (or refuses one).
struct IdentifyHooks;

impl Hooks for IdentifyHooks {
    fn identify<'a>(
        &'a self,
        client: &'a SignedClient,
    ) -> Option<HookFuture<'a, Result<latch_consumer::Identity, String>>> {
        Some(Box::pin(async move {
            let url = IDENTITY_URL.get().expect("set").clone();
            let info: serde_json::Value = client
                .get(&url)
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let user = info["user"].as_str().ok_or("no user")?.to_owned();
            if user == "mallory" {
                return Err("mallory is not welcome here".into());
            }
            Ok(latch_consumer::Identity {
                subject: format!("latch:{user}"),
                name: user.to_uppercase(),
            })
        }))
    }
}

static IDENTITY_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Issue 15, item 2: an app's async identity hook decides who logged in
/// (its own signed call), or refuses the user with its message.
#[tokio::test]
async fn an_identity_hook_names_or_refuses_the_user() {
    let server = Server::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", listener.local_addr().unwrap());
    let client = server.add_client(&[
        "--name",
        "Hooked",
        "--redirect-uri",
        &format!("{app}/callback"),
    ]);
    server.add_user("alice", "wonderland");
    server.add_user("mallory", "evilevil");
    IDENTITY_URL.set(server.url("/api/info")).unwrap();
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
            identity: latch_consumer::IdentityApi::default(),
            session_key: [9; 32],
            secure_cookies: false,
            allowed_users: None,
            outbound: Outbound::default(),
        },
        IdentifyHooks,
    )
    .unwrap();
    let router = axum::Router::new()
        .route(
            "/private",
            axum::routing::get(
                |who: LoggedIn| async move { format!("{} {}", who.user, who.subject) },
            ),
        )
        .with_state(consumer.clone())
        .merge(consumer.router())
        .layer(consumer.session_layer(Consumer::memory_store()));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let b = browser();
    let (resp, _) = log_in(&b, &app, "/private", ("alice", "wonderland")).await;
    assert_eq!(resp.status(), 302);
    let page = b.get(format!("{app}/private")).send().await.unwrap();
    assert_eq!(page.text().await.unwrap(), "ALICE latch:alice");

    let other = browser();
    let (resp, _) = log_in(&other, &app, "/private", ("mallory", "evilevil")).await;
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("mallory is not welcome here")
    );
    assert_eq!(
        other
            .get(format!("{app}/private"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
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
        identity: latch_consumer::IdentityApi::new("https://api.example.com/me", "id"),
        session_key: [1; 32],
        secure_cookies: false,
        allowed_users: None,
        outbound: Outbound::default(),
    };
    match Consumer::new(
        settings("http://auth.example.com/token"),
        latch_consumer::NoHooks,
    ) {
        Err(OutboundError::Insecure { what, .. }) => assert_eq!(what, "token_endpoint"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        Consumer::new(
            settings("https://auth.example.com/token"),
            latch_consumer::NoHooks
        )
        .is_ok()
    );
    let signed = SignedClient::new(
        "x",
        "y",
        Credentials::Bearer {
            access_token: "t".into(),
            refresh_token: None,
            received_at: 0,
            expires_at: None,
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
    assert_eq!(started, latch_consumer::LOGIN_STARTS_PER_MINUTE as usize);
    assert_eq!(started + limited, 40, "{statuses:?}");
    assert_eq!(
        count_rows().await,
        started as i64,
        "refused hits left nothing at the provider"
    );
}
