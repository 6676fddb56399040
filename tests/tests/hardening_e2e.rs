//! The hardening findings against a real `latch serve`, one test per
//! finding, named after it (SQLite and, where storage is involved,
//! PostgreSQL).

use latch_tests::{
    Backend, Server, backends, browser, hidden_inputs, http, location_params, param, submit_consent,
};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REDIRECT: &str = "https://app.example/cb";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn port(server: &Server) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// Sends raw bytes and reads until the server closes or 5 s pass.
async fn raw(server: &Server, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port(server)))
        .await
        .unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) if !out.is_empty() => break,
            Err(_) => {}
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

async fn client_credentials(server: &Server, id: &str, secret: &str) -> String {
    let v: Value = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["access_token"].as_str().expect("access token").to_owned()
}

async fn introspect(
    server: &Server,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut req = http().post(server.url("/oauth2/introspect")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// 1. Public clients may not introspect; a confidential client sees only
/// its own tokens; a resource server sees every token.
#[tokio::test]
async fn introspection_by_anyone() {
    for backend in backends() {
        let server = Server::start_with(backend).await;
        let a = server.add_client(&["--name", "A", "--scope", "read"]);
        let b = server.add_client(&["--name", "B", "--scope", "read"]);
        let rs = server.add_client(&["--name", "RS", "--resource-server"]);
        let spa = server.add_client(&[
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1/cb",
        ]);
        let token = client_credentials(&server, &a.id, &a.secret).await;
        let q = [("token", token.as_str())];
        let (status, body) =
            introspect(&server, &[("token", &token), ("client_id", &spa.id)], None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) = introspect(&server, &q, Some((&b.id, &b.secret))).await;
        assert_eq!(status, 200);
        assert_eq!(
            body,
            serde_json::json!({"active": false}),
            "B learns nothing of A's token"
        );
        let (_, body) = introspect(&server, &q, Some((&a.id, &a.secret))).await;
        assert_eq!(body["active"], true);
        let (_, body) = introspect(&server, &q, Some((&rs.id, &rs.secret))).await;
        assert_eq!(body["active"], true);
        assert_eq!(body["client_id"], a.id.as_str());
    }
}

/// A login attempt on the OAuth2 consent page: its status, body and time.
async fn attempt(
    b: &reqwest::Client,
    page_url: &str,
    fields: &[(String, String)],
    user: &str,
) -> (u16, String, Duration) {
    let mut f = fields.to_vec();
    f.push(("username".into(), user.into()));
    f.push(("password".into(), "not the password".into()));
    f.push(("decision".into(), "approve".into()));
    let start = Instant::now();
    let r = b
        .post(page_url.split('?').next().unwrap())
        .form(&f)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (status, body, start.elapsed())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// 2. A wrong password for an existing user and any password for an
/// unknown user cost the same (one argon2 verification each) and read the
/// same; an unknown client and a wrong secret get the same answer.
#[tokio::test]
async fn username_enumeration_by_timing() {
    let server = Server::start_configured(
        Backend::Sqlite,
        false,
        "[limits]\nfailed_logins_per_user = 1000\nfailed_logins_per_address = 1000\n",
    )
    .await;
    let c = server.add_client(&["--name", "App", "--redirect-uri", REDIRECT]);
    server.add_user("alice", "wonderland");
    let page_url = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    ));
    let b = browser();
    let page = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    let fields = hidden_inputs(&page);
    // Warm up, then interleave so that drift hits both sides alike.
    for _ in 0..3 {
        attempt(&b, &page_url, &fields, "alice").await;
    }
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut bodies = std::collections::HashSet::new();
    for i in 0..30 {
        let (s1, b1, t1) = attempt(&b, &page_url, &fields, "alice").await;
        let (s2, b2, t2) = attempt(&b, &page_url, &fields, &format!("nobody{i}")).await;
        assert_eq!((s1, s2), (401, 401));
        bodies.insert(b1.replace("alice", "USER"));
        bodies.insert(b2.replace(&format!("nobody{i}"), "USER"));
        known.push(t1);
        unknown.push(t2);
    }
    let (k, u) = (median(known), median(unknown));
    let ratio = k.as_secs_f64() / u.as_secs_f64();
    assert!(
        (0.75..=1.25).contains(&ratio),
        "wrong password {k:?} vs unknown user {u:?}: ratio {ratio:.2}"
    );
    assert_eq!(bodies.len(), 1, "the same page for both");

    let token = |id: &str, secret: &str| {
        let (id, secret) = (id.to_owned(), secret.to_owned());
        let url = server.url("/oauth2/token");
        async move {
            let r = http()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let wrong = token(&c.id, "wrong").await;
    let unknown = token("no-such-client", "wrong").await;
    assert_eq!(wrong.0, 401);
    assert_eq!(wrong, unknown);
}

/// 3. The device page is two steps, names the client and every scope with
/// a warning, and both approve and deny need a logged-in user.
#[tokio::test]
async fn device_page() {
    for backend in backends() {
        // A 1 s interval, and polls spaced past it, so no poll is slow_down.
        let server =
            Server::start_configured(backend, false, "[oauth2]\ndevice_interval = 1\n").await;
        let c = server.add_client(&["--name", "Thermostat", "--scope", "read write"]);
        server.add_user("alice", "wonderland");
        let d: Value = http()
            .post(server.url("/oauth2/device_authorization"))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[("scope", "read write")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let code = d["user_code"].as_str().unwrap().to_owned();
        let device_code = d["device_code"].as_str().unwrap().to_owned();
        let poll = || async {
            tokio::time::sleep(Duration::from_millis(1100)).await;
            let v: Value = http()
                .post(server.url("/oauth2/token"))
                .basic_auth(&c.id, Some(&c.secret))
                .form(&[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", device_code.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["error"].as_str().unwrap_or("none").to_owned()
        };
        // A phished verification_uri_complete: step 2 at once, which names
        // the client and the scopes and warns.
        let b = browser();
        let complete = d["verification_uri_complete"].as_str().unwrap();
        let step2 = b.get(complete).send().await.unwrap().text().await.unwrap();
        assert!(step2.contains("Thermostat"), "{step2}");
        assert!(step2.contains("<li>read</li>") && step2.contains("<li>write</li>"));
        assert!(step2.contains("Warning") && step2.contains("your own device"));
        // Deny without logging in is refused; the device is still pending.
        let mut fields = hidden_inputs(&step2);
        fields.push(("decision".into(), "deny".into()));
        let r = b
            .post(server.url("/device"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(poll().await, "authorization_pending");
        // Step 1 with the code and a login does not approve yet.
        let step1 = b
            .get(server.url("/device"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!step1.contains("Thermostat"), "step 1 knows no client yet");
        let mut fields = hidden_inputs(&step1);
        fields.extend([
            ("user_code".into(), code.clone()),
            ("username".into(), "alice".into()),
            ("password".into(), "wonderland".into()),
            ("decision".into(), "approve".into()),
        ]);
        let r = b
            .post(server.url("/device"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let step2 = r.text().await.unwrap();
        assert!(step2.contains("Thermostat") && step2.contains("Warning"));
        assert_eq!(
            poll().await,
            "authorization_pending",
            "nothing approved from step 1"
        );
        // Step 2, logged in now: deny works and ends the device's wait.
        let mut fields = hidden_inputs(&step2);
        fields.push(("decision".into(), "deny".into()));
        let r = b
            .post(server.url("/device"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Device refused"));
        assert_eq!(poll().await, "access_denied");
    }
}

/// 4. Consent pages name every scope, in words when configured; the
/// metadata's scopes_supported is the union of the clients' scopes and
/// `[oauth2] scopes`.
#[tokio::test]
async fn consent_pages_name_every_scope() {
    for backend in backends() {
        let server = Server::start_configured(
            backend,
            false,
            "[oauth2]\nscopes = { read = \"Read your photos\", audit = \"\" }\n",
        )
        .await;
        let c = server.add_client(&[
            "--name",
            "Printer",
            "--scope",
            "read write",
            "--redirect-uri",
            REDIRECT,
        ]);
        server.add_client(&["--name", "Other", "--scope", "admin"]);
        let m: Value = http()
            .get(server.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            m["scopes_supported"],
            serde_json::json!([
                "admin", "audit", "email", "openid", "profile", "read", "write"
            ])
        );
        let page = browser()
            .get(server.url(&format!(
                "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=read%20write&code_challenge={CHALLENGE}&code_challenge_method=S256",
                c.id
            )))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("<li><strong>read</strong>: Read your photos</li>"),
            "{page}"
        );
        assert!(page.contains("<li>write</li>"));
        assert!(!page.contains("basic access"));
        // OAuth1: the token gets all of the client's scopes, so the page
        // names them.
        let (status, form) = oauth1_temporary(&server, &c).await;
        assert_eq!(status, 200, "{form}");
        let token = form
            .split('&')
            .find_map(|kv| kv.strip_prefix("oauth_token="))
            .unwrap()
            .to_owned();
        let page = browser()
            .get(server.url(&format!("/oauth1/authorize?oauth_token={token}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Read your photos") && page.contains("<li>write</li>"),
            "{page}"
        );
        assert!(!page.contains("basic access"));
    }
}

async fn oauth1_temporary(server: &Server, c: &latch_tests::Client) -> (u16, String) {
    let creds = oauth1_request::Credentials::new(c.id.as_str(), c.secret.as_str());
    let url = server.url("/oauth1/request_token");
    let mut b = oauth1_request::Builder::<_, _, &str>::new(creds, oauth1_request::HmacSha1::new());
    b.callback(REDIRECT)
        .timestamp(std::num::NonZeroU64::new(latch_tests::now()));
    let empty = oauth1_request::ParameterList::<&str, &str, _>::new(Vec::new());
    let header = b.authorize("POST", &url, &empty);
    let r = http()
        .post(&url)
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Logs alice in on an authorization URL and returns the callback's query.
async fn approve(server: &Server, authorize: &str) -> Vec<(String, String)> {
    let b = browser();
    let r = b.get(server.url(authorize)).send().await.unwrap();
    let status = r.status().as_u16();
    if status != 200 {
        return location_params(&r);
    }
    let page = r.text().await.unwrap();
    let r = submit_consent(
        &b,
        &server.url("/oauth2/authorize"),
        &page,
        Some(("alice", "wonderland")),
        "approve",
        &[],
    )
    .await;
    assert_eq!(r.status(), 303);
    location_params(&r)
}

/// 5. PKCE is required from confidential clients too, unless one is
/// registered with `--allow-no-pkce`.
#[tokio::test]
async fn pkce_for_everyone() {
    for backend in backends() {
        let server = Server::start_with(backend).await;
        server.add_user("alice", "wonderland");
        let strict = server.add_client(&["--name", "Strict", "--redirect-uri", REDIRECT]);
        let legacy = server.add_client(&[
            "--name",
            "Legacy",
            "--redirect-uri",
            REDIRECT,
            "--allow-no-pkce",
        ]);
        let q = approve(
            &server,
            &format!(
                "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&state=s",
                strict.id
            ),
        )
        .await;
        assert_eq!(param(&q, "error"), Some("invalid_request"), "{q:?}");
        let q = approve(
            &server,
            &format!(
                "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&state=s",
                legacy.id
            ),
        )
        .await;
        let code = param(&q, "code")
            .expect("legacy client gets a code")
            .to_owned();
        let r = http()
            .post(server.url("/oauth2/token"))
            .basic_auth(&legacy.id, Some(&legacy.secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        // The strict client with PKCE works, and its code needs the verifier.
        let q = approve(
            &server,
            &format!("/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256", strict.id),
        )
        .await;
        let code = param(&q, "code").unwrap().to_owned();
        let redeem = |verifier: Option<&'static str>| {
            let (id, secret, url, code) = (
                strict.id.clone(),
                strict.secret.clone(),
                server.url("/oauth2/token"),
                code.clone(),
            );
            async move {
                let mut f = vec![
                    ("grant_type", "authorization_code".to_owned()),
                    ("code", code),
                    ("redirect_uri", REDIRECT.to_owned()),
                ];
                if let Some(v) = verifier {
                    f.push(("code_verifier", v.to_owned()));
                }
                http()
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&f)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(redeem(None).await, 400);
    }
}

/// 5 (token side) and 6. A loopback redirect URI matches on any port
/// (RFC 8252 §7.3), and the code goes to the port the app asked for.
#[tokio::test]
async fn redirect_uris_loopback_any_port() {
    let server = Server::start_with(Backend::Sqlite).await;
    server.add_user("alice", "wonderland");
    let app = server.add_client(&[
        "--name",
        "Native",
        "--public",
        "--redirect-uri",
        "http://127.0.0.1/cb",
    ]);
    let q = approve(
        &server,
        &format!("/oauth2/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:49152/cb&code_challenge={CHALLENGE}&code_challenge_method=S256", app.id),
    )
    .await;
    let code = param(&q, "code").expect("a code").to_owned();
    let r: Value = http()
        .post(server.url("/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:49152/cb"),
            ("client_id", app.id.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["access_token"].is_string(), "{r}");
    // Another path is still refused, with a page, never a redirect.
    let r = browser()
        .get(server.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={}&redirect_uri=http://127.0.0.1:49152/other&code_challenge={CHALLENGE}&code_challenge_method=S256",
            app.id
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().get("location").is_none());
}

/// 9. Slow clients: headers trickled in past the header timeout are
/// dropped, an idle keep-alive connection is closed, and connections over
/// the cap wait.
#[tokio::test]
async fn slow_clients() {
    let server = Server::start_configured(
        Backend::Sqlite,
        false,
        "[limits]\nheader_read_timeout = 2\nidle_timeout = 2\nmax_connections = 2\n",
    )
    .await;
    let addr = ("127.0.0.1", port(&server));
    // Trickle: one header line a second.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut answer = String::new();
    for line in [
        "GET /api/ping HTTP/1.1\r\n",
        "Host: x\r\n",
        "X-A: 1\r\n",
        "X-B: 1\r\n",
        "X-C: 1\r\n",
        "\r\n",
    ] {
        if s.write_all(line.as_bytes()).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf)).await;
    answer.push_str(&String::from_utf8_lossy(&buf));
    assert!(
        !answer.contains("401") && !answer.contains("200"),
        "not answered: {answer}"
    );
    assert!(started.elapsed() < Duration::from_secs(9));

    // Idle keep-alive: one request, then silence.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 401"));
    let closed = tokio::time::timeout(Duration::from_secs(6), s.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "idle connection closed"
    );

    // The cap: two silent connections hold both slots; a third waits.
    let hold1 = tokio::net::TcpStream::connect(addr).await.unwrap();
    let hold2 = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(800), third.read(&mut buf)).await;
    assert!(waited.is_err(), "the third connection waits for a slot");
    drop(hold1);
    drop(hold2);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot frees")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 401"));
}

/// 11. An HTTP/1.1 request with no Host, or with two, gets 400.
#[tokio::test]
async fn host_header_rules() {
    let server = Server::start_with(Backend::Sqlite).await;
    let none = raw(&server, b"GET /api/ping HTTP/1.1\r\n\r\n").await;
    assert_eq!(status_of(&none), 400, "{none}");
    assert!(none.contains("invalid_request"));
    let two = raw(
        &server,
        b"GET /api/ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&two), 400, "{two}");
    let ok = raw(&server, b"GET /api/ping HTTP/1.1\r\nHost: a\r\n\r\n").await;
    assert_eq!(status_of(&ok), 401);
    let http10 = raw(&server, b"GET /api/ping HTTP/1.0\r\n\r\n").await;
    assert_eq!(status_of(&http10), 401, "HTTP/1.0 may omit Host");
}

/// 12. A Content-Length over the body limit gets 413 at once, on every
/// route and method, with nothing of the body sent.
#[tokio::test]
async fn content_length_over_the_limit() {
    let server = Server::start_with(Backend::Sqlite).await;
    for (method, path) in [
        ("POST", "/oauth2/token"),
        ("POST", "/oauth1/request_token"),
        ("GET", "/api/ping"),
        ("PUT", "/nowhere"),
    ] {
        let started = Instant::now();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1073741824\r\n\r\n"
        );
        let answer = raw(&server, req.as_bytes()).await;
        assert_eq!(status_of(&answer), 413, "{method} {path}: {answer}");
        assert!(answer.contains("invalid_request"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{method} {path} answered at once"
        );
    }
}

/// 13. An empty POST without Content-Type is an empty form.
#[tokio::test]
async fn empty_post_is_an_empty_form() {
    for backend in backends() {
        let server = Server::start_with(backend).await;
        let c = server.add_client(&["--name", "TV", "--scope", "read"]);
        let r = http()
            .post(server.url("/oauth2/device_authorization"))
            .basic_auth(&c.id, Some(&c.secret))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["device_code"].is_string() && v["user_code"].is_string(),
            "{v}"
        );
        // A non-empty body still needs the form content type.
        let r = http()
            .post(server.url("/oauth2/device_authorization"))
            .basic_auth(&c.id, Some(&c.secret))
            .body("scope=read")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
}

/// 14. Pages carry a CSP, nosniff and no-referrer; a credential POST
/// answers 303.
#[tokio::test]
async fn pages_send_security_headers_and_posts_answer_303() {
    let server = Server::start_with(Backend::Sqlite).await;
    server.add_user("alice", "wonderland");
    let c = server.add_client(&["--name", "App", "--redirect-uri", REDIRECT]);
    let url = format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    );
    let r = browser().get(server.url(&url)).send().await.unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(csp.contains("style-src 'sha256-"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    let api = http().get(server.url("/api/ping")).send().await.unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    let q = approve(&server, &url).await;
    assert!(param(&q, "code").is_some(), "303 to the client with a code");
}

/// 15. Over https the CSRF cookie is `__Host-` prefixed, and the same
/// value planted without the prefix (as a sibling host could) is ignored.
#[tokio::test]
async fn csrf_cookie_is_host_prefixed_under_https() {
    let server = Server::start_tls(Backend::Sqlite).await;
    server.add_user("alice", "wonderland");
    let c = server.add_client(&["--name", "App", "--redirect-uri", REDIRECT]);
    let url = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    ));
    let r = http().get(&url).send().await.unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let value = set
        .strip_prefix("__Host-latch_csrf=")
        .and_then(|v| v.split(';').next())
        .expect("__Host- CSRF cookie")
        .to_owned();
    let page = r.text().await.unwrap();
    let mut fields = hidden_inputs(&page);
    fields.extend([
        ("username".into(), "alice".into()),
        ("password".into(), "wonderland".into()),
        ("decision".into(), "approve".into()),
    ]);
    let post = |cookie: String| {
        let fields = fields.clone();
        let action = server.url("/oauth2/authorize");
        async move {
            reqwest::Client::builder()
                .tls_certs_merge([reqwest::Certificate::from_pem(
                    latch_tests::test_ca().pem.as_bytes(),
                )
                .unwrap()])
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(action)
                .header("Cookie", cookie)
                .form(&fields)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post(format!("latch_csrf={value}")).await,
        400,
        "unprefixed cookie ignored"
    );
    assert_eq!(post(format!("__Host-latch_csrf={value}")).await, 303);
}

/// 17. Revocation clears the access-token cache after its write commits:
/// requests racing the revocation cannot re-cache the token.
#[tokio::test]
async fn revocation_clears_the_cache_after_commit() {
    for backend in backends() {
        let server = Server::start_with(backend).await;
        let c = server.add_client(&["--name", "A"]);
        let token = client_credentials(&server, &c.id, &c.secret).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut pingers = Vec::new();
        for _ in 0..4 {
            let (url, token, stop) = (server.url("/api/ping"), token.clone(), stop.clone());
            pingers.push(tokio::spawn(async move {
                let h = http();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = h.get(&url).bearer_auth(&token).send().await;
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = http()
            .post(server.url("/oauth2/revoke"))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for p in pingers {
            p.await.unwrap();
        }
        let r = http()
            .get(server.url("/api/ping"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            401,
            "revoked at once, not after the cache's 10 s"
        );
    }
}

/// A form POST to the OAuth2 consent page as `user` from `addr` (sent
/// through the trusted proxy's `X-Forwarded-For`): status, headers, body.
async fn login_from(
    server: &Server,
    page_url: &str,
    addr: &str,
    user: &str,
    password: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let b = browser();
    let page = b
        .get(page_url)
        .header("X-Forwarded-For", addr)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut f = hidden_inputs(&page);
    f.extend([
        ("username".into(), user.into()),
        ("password".into(), password.into()),
        ("decision".into(), "approve".into()),
    ]);
    let r = b
        .post(server.url("/oauth2/authorize"))
        .header("X-Forwarded-For", addr)
        .form(&f)
        .send()
        .await
        .unwrap();
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

/// 7. Rate limits: failed passwords per username and per address, wrong
/// user codes per address, failed client authentications per client — 429
/// with Retry-After, in words on pages and as JSON for APIs; another
/// address with the right password still gets in.
#[tokio::test]
async fn rate_limits() {
    let server = Server::start_configured(
        Backend::Sqlite,
        false,
        "[limits]\nfailed_logins_per_user = 3\nfailed_logins_per_address = 5\nlogin_window = 120\n\
         wrong_user_codes_per_address = 2\nfailed_client_auths = 3\ntrusted_proxies = [\"127.0.0.1\"]\n",
    )
    .await;
    for u in ["alice", "carol"] {
        server.add_user(u, "wonderland");
    }
    let c = server.add_client(&["--name", "App", "--redirect-uri", REDIRECT]);
    let page_url = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    ));
    // Per username: three failures, then even the right password waits.
    for _ in 0..3 {
        let (status, _, _) = login_from(&server, &page_url, "203.0.113.7", "alice", "wrong").await;
        assert_eq!(status, 401);
    }
    let (status, headers, body) =
        login_from(&server, &page_url, "198.51.100.1", "alice", "wonderland").await;
    assert_eq!(status, 429);
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=120).contains(&wait), "{wait}");
    assert!(body.contains("try again in"), "{body}");
    // Per address: five failures over five names; that address is refused,
    // another address logs carol in.
    for i in 0..5 {
        let (status, _, _) =
            login_from(&server, &page_url, "203.0.113.66", &format!("u{i}"), "x").await;
        assert_eq!(status, 401);
    }
    let (status, _, _) =
        login_from(&server, &page_url, "203.0.113.66", "carol", "wonderland").await;
    assert_eq!(status, 429);
    let (status, _, _) =
        login_from(&server, &page_url, "198.51.100.2", "carol", "wonderland").await;
    assert_eq!(
        status, 303,
        "correct credentials from another address still work"
    );

    // Wrong user codes per address.
    let device = |code: &str, addr: &str| {
        let url = server.url(&format!("/device?user_code={code}"));
        let addr = addr.to_owned();
        async move {
            let r = browser()
                .get(url)
                .header("X-Forwarded-For", addr)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.headers().contains_key("retry-after"))
        }
    };
    assert_eq!(device("BCDF-GHJK", "203.0.113.9").await.0, 400);
    assert_eq!(device("BCDF-GHJL", "203.0.113.9").await.0, 400);
    assert_eq!(device("BCDF-GHJM", "203.0.113.9").await, (429, true));
    assert_eq!(
        device("BCDF-GHJM", "203.0.113.10").await.0,
        400,
        "per address"
    );

    // Failed client authentications per client id.
    let token = |secret: String| {
        let (id, url) = (c.id.clone(), server.url("/oauth2/token"));
        async move {
            let r = http()
                .post(url)
                .basic_auth(id, Some(secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let retry = r.headers().get("retry-after").is_some();
            let body: Value = r.json().await.unwrap();
            (status, retry, body)
        }
    };
    for _ in 0..3 {
        assert_eq!(token("wrong".into()).await.0, 401);
    }
    let (status, retry, body) = token(c.secret.clone()).await;
    assert_eq!((status, retry), (429, true));
    assert!(body["error"].is_string(), "{body}");
    let r = http()
        .post(server.url("/oauth2/introspect"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "introspection too");
}

/// 16. Login sessions live on the server: logout (a POST with CSRF) ends
/// one, and its cookie replayed afterwards logs nobody in.
#[tokio::test]
async fn login_sessions_are_revocable() {
    for backend in backends() {
        let server = Server::start_with(backend).await;
        server.add_user("alice", "wonderland");
        let c = server.add_client(&["--name", "App", "--redirect-uri", REDIRECT]);
        let page_url = server.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            c.id
        ));
        let b = browser();
        let page = b.get(&page_url).send().await.unwrap().text().await.unwrap();
        let r = submit_consent(
            &b,
            &server.url("/oauth2/authorize"),
            &page,
            Some(("alice", "wonderland")),
            "approve",
            &[],
        )
        .await;
        assert_eq!(r.status(), 303);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("latch_session="))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let signed_in = |client: reqwest::Client, extra: Option<String>| {
            let url = page_url.clone();
            async move {
                let mut req = client.get(url);
                if let Some(c) = extra {
                    req = req.header("Cookie", c);
                }
                let page = req.send().await.unwrap().text().await.unwrap();
                page.contains("Signed in as <strong>alice</strong>")
            }
        };
        assert!(signed_in(b.clone(), None).await);
        assert!(
            signed_in(browser(), Some(cookie.clone())).await,
            "the cookie is the session"
        );
        // A sign-out without the form's CSRF token is refused.
        let r = b
            .post(server.url("/logout"))
            .form(&[("csrf", "forged")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(signed_in(b.clone(), None).await);
        let page = b
            .get(server.url("/logout"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let r = b
            .post(server.url("/logout"))
            .form(&hidden_inputs(&page))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(r.text().await.unwrap().contains("Signed out"));
        assert!(!signed_in(b, None).await);
        assert!(
            !signed_in(browser(), Some(cookie)).await,
            "a replayed cookie of an ended session logs nobody in"
        );
    }
}

/// 8. Argon2 does not block the runtime: while a flood of wrong-password
/// logins is being verified, a token request is answered before the flood
/// is (an ordering, not a time limit).
#[tokio::test]
async fn argon2_does_not_block_the_runtime() {
    let server = Server::start_configured(
        Backend::Sqlite,
        false,
        "[limits]\nfailed_logins_per_user = 1000\nfailed_logins_per_address = 1000\n",
    )
    .await;
    server.add_user("alice", "wonderland");
    let c = server.add_client(&["--name", "App", "--redirect-uri", REDIRECT]);
    let page_url = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    ));
    let b = browser();
    let page = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    let fields = hidden_inputs(&page);
    let start = Instant::now();
    let flood: Vec<_> = (0..16)
        .map(|_| {
            let (b, url, fields) = (b.clone(), page_url.clone(), fields.clone());
            tokio::spawn(async move {
                let (status, _, _) = attempt(&b, &url, &fields, "alice").await;
                assert_eq!(status, 401);
                start.elapsed()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let token = client_credentials(&server, &c.id, &c.secret).await;
    let token_done = start.elapsed();
    assert!(!token.is_empty());
    let mut flood_done = Vec::new();
    for f in flood {
        flood_done.push(f.await.unwrap());
    }
    let last = *flood_done.iter().max().unwrap();
    assert!(
        token_done < last,
        "the token ({token_done:?}) waited for the whole login flood ({last:?})"
    );
    let still_running = flood_done.iter().filter(|d| **d > token_done).count();
    assert!(
        still_running >= 8,
        "{still_running} of 16 logins were still being verified"
    );
}
