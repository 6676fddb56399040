//! `latch serve` over TLS (DESIGN.md's `--tls-cert`/`--tls-key` contract
//! and issuer rule): https metadata, ALPN, TLS versions, HSTS and
//! `__Host-` cookies, an untrusted CA, plain HTTP sent to the TLS port,
//! certificate reload without a restart, the issuer rule, and the
//! `--tls-self-signed` first run, checked with reqwest (rustls), curl and
//! openssl (independent TLS stacks).

use latch_tests::{Backend, Server, backends, browser, http, latch_bin, make_ca, test_ca};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

async fn metadata(base: &str) -> Value {
    http()
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn port(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// The leaf certificate a fresh connection is served, DER.
async fn served_leaf(client: &reqwest::Client, base: &str) -> Vec<u8> {
    let resp = client
        .get(format!("{base}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

fn tls_info_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_merge([reqwest::Certificate::from_pem(test_ca().pem.as_bytes()).unwrap()])
        .tls_info(true)
        .pool_idle_timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_metadata_alpn_hsts_and_host_cookies() {
    for backend in backends() {
        let server = Server::start_tls(backend).await;
        let base = server.base.clone();
        assert_eq!(
            base,
            format!("https://127.0.0.1:{}", port(&base)),
            "prints `listening on https://ADDR:PORT`"
        );
        let m = metadata(&base).await;
        assert_eq!(m["issuer"], base.as_str());
        for k in [
            "authorization_endpoint",
            "token_endpoint",
            "device_authorization_endpoint",
            "introspection_endpoint",
            "revocation_endpoint",
        ] {
            assert!(
                m[k].as_str().unwrap().starts_with(&format!("{base}/")),
                "{k}: {m}"
            );
        }
        // ALPN: HTTP/2 when offered, HTTP/1.1 otherwise; HSTS either way.
        let h2 = http()
            .get(server.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap();
        assert_eq!(h2.version(), reqwest::Version::HTTP_2);
        assert_eq!(
            h2.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        let h1 = reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(test_ca().pem.as_bytes()).unwrap()])
            .http1_only()
            .build()
            .unwrap()
            .get(server.url("/api/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(h1.version(), reqwest::Version::HTTP_11);
        assert_eq!(h1.status(), 401);
        assert!(h1.headers().contains_key("strict-transport-security"));
        // Cookies: Secure and __Host- prefixed.
        let c = server.add_client(&[
            "--name",
            "Cookie",
            "--redirect-uri",
            "https://app.example/cb",
        ]);
        let page = browser()
            .get(server.url(&format!(
                "/oauth2/authorize?response_type=code&client_id={}&redirect_uri=https://app.example/cb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
                c.id
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cookie.starts_with("__Host-latch_csrf="), "{cookie}");
        assert!(
            cookie.contains("; Secure") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
}

#[tokio::test]
async fn clients_that_do_not_trust_the_ca_fail_the_handshake() {
    let server = Server::start_tls(Backend::Sqlite).await;
    // The platform's roots only.
    let e = reqwest::Client::new()
        .get(server.url("/api/ping"))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    // Another CA.
    let (other, _) = make_ca("Some other CA");
    let e = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(other.as_bytes()).unwrap()])
        .build()
        .unwrap()
        .get(server.url("/api/ping"))
        .send()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    // curl, with and without --cacert.
    let url = server.url("/.well-known/oauth-authorization-server");
    let ok = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&test_ca().path)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let doc: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(doc["issuer"], server.base.as_str());
    let refused = std::process::Command::new("curl")
        .args(["-sS", "--fail", &url])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(60),
        "curl: certificate not trusted"
    );
}

#[tokio::test]
async fn only_tls_1_2_and_1_3_are_spoken() {
    let server = Server::start_tls(Backend::Sqlite).await;
    let connect = format!("127.0.0.1:{}", port(&server.base));
    let s_client = |version: &str| {
        let mut child = std::process::Command::new("openssl")
            .args(["s_client", "-connect", &connect, version, "-CAfile"])
            .arg(&test_ca().path)
            // Let the client offer old versions, so the refusal is the server's.
            .args(["-cipher", "DEFAULT:@SECLEVEL=0", "-verify_return_error"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, out) = s_client("-tls1_3");
    assert!(ok && out.contains("TLSv1.3"), "{out}");
    let (ok, out) = s_client("-tls1_2");
    assert!(ok && out.contains("TLSv1.2"), "{out}");
    for old in ["-tls1_1", "-tls1"] {
        let (ok, out) = s_client(old);
        assert!(!ok, "{old} must be refused: {out}");
    }
}

/// Plain HTTP to the TLS port: a 400 with an error body, then the
/// connection closes; a client that sends nothing is dropped after the
/// handshake deadline instead of holding a connection forever.
#[tokio::test]
async fn plain_http_to_the_tls_port_is_answered_400_never_a_hang() {
    let server = Server::start_tls(Backend::Sqlite).await;
    let addr = format!("127.0.0.1:{}", port(&server.base));
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut answer))
        .await
        .expect("answered and closed at once")
        .unwrap();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_request");

    let started = Instant::now();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(20), silent.read(&mut buf))
        .await
        .expect("the server closes a silent connection")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
}

/// A renewed certificate is served to new connections without a restart
/// (on SIGHUP, and when the files change), while a connection opened
/// before keeps working; a broken renewal keeps the old certificate.
#[tokio::test]
async fn certificate_reload_without_restart() {
    let server = Server::start_tls(Backend::Sqlite).await;
    let (cert, key) = server.tls_files.clone().unwrap();
    let old_conn = tls_info_client();
    let first = served_leaf(&old_conn, &server.base).await;

    // Renewal 1, announced with SIGHUP.
    let (leaf, leaf_key) = make_leaf_pair("renewed once");
    std::fs::write(&key, leaf_key).unwrap();
    std::fs::write(&cert, leaf).unwrap();
    kill("-HUP", server.pid());
    let second = wait_for_new_leaf(&server.base, &first, Duration::from_secs(5)).await;
    // The connection opened before still works, on its old session.
    assert_eq!(served_leaf(&old_conn, &server.base).await, first);

    // Renewal 2, no signal: noticed by the file check.
    let (leaf, leaf_key) = make_leaf_pair("renewed twice");
    std::fs::write(&key, leaf_key).unwrap();
    std::fs::write(&cert, leaf).unwrap();
    let third = wait_for_new_leaf(&server.base, &second, Duration::from_secs(15)).await;
    assert_ne!(third, first);

    // A broken renewal (key of another certificate): the old one stays.
    let (_, stray_key) = make_leaf_pair("stray");
    std::fs::write(&key, stray_key).unwrap();
    kill("-HUP", server.pid());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(served_leaf(&tls_info_client(), &server.base).await, third);
    assert_eq!(
        http()
            .get(server.url("/api/ping"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "still serving"
    );
}

fn make_leaf_pair(cn: &str) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let (c, k) = test_ca().issue_into(dir.path(), cn);
    (
        std::fs::read_to_string(c).unwrap(),
        std::fs::read_to_string(k).unwrap(),
    )
}

fn kill(signal: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

async fn wait_for_new_leaf(base: &str, old: &[u8], within: Duration) -> Vec<u8> {
    let start = Instant::now();
    loop {
        let now = served_leaf(&tls_info_client(), base).await;
        if now != old {
            return now;
        }
        assert!(
            start.elapsed() < within,
            "still the old certificate after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `latch serve ARGS`, expecting it to refuse to start: exit status
/// and stderr.
fn serve_refuses(args: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(latch_bin())
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn issuer_rule_and_bad_tls_settings_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db_file = dir.path().join("latch.db");
    let db = format!("sqlite://{}", db_file.display());
    let (cert, key) = test_ca().issue_into(dir.path(), "x");
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let missing = dir.path().join("missing.pem").display().to_string();
    for (args, says) in [
        (vec!["--listen", "0.0.0.0:0", "--db", &db], "plain HTTP"),
        (
            vec![
                "--listen",
                "0.0.0.0:0",
                "--issuer",
                "http://auth.example.com",
                "--db",
                &db,
            ],
            "plain HTTP",
        ),
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
                "--issuer",
                "http://127.0.0.1:1",
                "--db",
                &db,
            ],
            "https:// issuer",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--tls-cert", &cert, "--db", &db],
            "--tls-key",
        ),
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                &missing,
                "--tls-key",
                &key,
                "--db",
                &db,
            ],
            "missing.pem",
        ),
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                &cert,
                "--tls-key",
                &cert,
                "--db",
                &db,
            ],
            "key",
        ),
    ] {
        let (code, err) = serve_refuses(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!db_file.exists(), "{args:?}: nothing written");
    }
}

#[tokio::test]
async fn non_loopback_listen_with_an_https_issuer_behind_a_proxy_starts() {
    let dir = tempfile::tempdir().unwrap();
    let db_args = vec![
        "--db".to_owned(),
        format!("sqlite://{}", dir.path().join("latch.db").display()),
    ];
    let extra = ["--issuer".to_owned(), "https://auth.example.com".to_owned()];
    let server = Server::start_args("0.0.0.0:0", &db_args, &extra).await;
    assert!(
        server.base.starts_with("http://0.0.0.0:"),
        "{}",
        server.base
    );
    let local = format!("http://127.0.0.1:{}", port(&server.base));
    let resp = http()
        .get(format!("{local}/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["strict-transport-security"],
        "max-age=31536000",
        "the proxy in front speaks https"
    );
    let m: Value = resp.json().await.unwrap();
    assert_eq!(m["issuer"], "https://auth.example.com");
    assert_eq!(m["token_endpoint"], "https://auth.example.com/oauth2/token");
}

/// The newcomer's path: `--tls-self-signed` makes a local CA and a
/// certificate beside the database, says where the CA is, and
/// `curl --cacert` trusts it.
#[tokio::test]
async fn self_signed_first_run_works_with_curl_cacert() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(latch_bin())
        .args([
            "serve",
            "--tls-self-signed",
            "--listen",
            "127.0.0.1:0",
            "--db",
        ])
        .arg(format!(
            "sqlite://{}",
            dir.path().join("latch.db").display()
        ))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(30), out.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let base = listening.strip_prefix("listening on ").unwrap().to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let note = loop {
        let line = err.next_line().await.unwrap().unwrap();
        if line.contains("--cacert") {
            break line;
        }
    };
    let ca = dir.path().canonicalize().unwrap().join("latch-ca.pem");
    assert!(note.contains(&ca.display().to_string()), "{note}");
    #[cfg(unix)]
    for private in ["latch-ca-key.pem", "latch-tls-key.pem"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(private))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{private}");
    }
    let url = format!("{base}/.well-known/oauth-authorization-server");
    let ok = std::process::Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&ca)
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let doc: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(doc["issuer"], base.as_str());
    let refused = std::process::Command::new("curl")
        .args(["-sS", "--fail", &url])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(60));
    let _ = child.kill().await;
}

/// SIGTERM over TLS: a request in flight finishes, then exit 0.
#[tokio::test]
async fn sigterm_over_tls_exits_zero() {
    let mut server = Server::start_tls(Backend::Sqlite).await;
    assert_eq!(
        http()
            .get(server.url("/api/ping"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert!(server.terminate().await.success());
}
