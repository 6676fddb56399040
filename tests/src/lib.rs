//! Harness for the end-to-end tests: starts the real `latch` binary on a
//! free loopback port with a fresh SQLite file, runs its CLI, and drives its
//! HTML forms the way a browser would (cookies kept, hidden inputs read).
//!
//! TLS: [`test_ca`] is a CA made once per test process with rcgen; every
//! client made here ([`http`], [`browser`], [`OAuth2Http`]) trusts it, so
//! the same test body runs against a plain server ([`Server::start_with`])
//! and an https one ([`Server::start_tls`]).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::OnceLock;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Builds the `latch` binary and the consumer example app once per test
/// process (a no-op when they are up to date), so tests never run a stale
/// binary, and returns the target directory.
fn built() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "latch-host",
                "--bin",
                "latch",
                "-p",
                "latch-consumer-example",
                "--bin",
                "consumer",
            ])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building latch failed");
        let exe = std::env::current_exe().expect("test binary path");
        // target/debug/deps/<test> -> target/debug
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_path_buf()
    })
}

/// The `latch` binary.
pub fn latch_bin() -> PathBuf {
    built().join("latch")
}

/// The Linux build of the firmware (`firmware/`, its own workspace), built
/// once per test process.
pub fn firmware_bin() -> PathBuf {
    firmware_builds().0.clone()
}

/// The Linux firmware with the feature `large-tokens` (capacities for
/// JWT tokens), built once per test process.
pub fn firmware_large_tokens_bin() -> PathBuf {
    firmware_builds().1.clone()
}

/// Both firmware builds, in the firmware's own target directory: the
/// `large-tokens` one first, kept under its own name, then the default,
/// which only rebuilds latch-device and the firmware crate.
fn firmware_builds() -> &'static (PathBuf, PathBuf) {
    static BINS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BINS.get_or_init(|| {
        let firmware = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware");
        let build = |features: &[&str]| {
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "-q", "--manifest-path"])
                .arg(firmware.join("Cargo.toml"))
                .args(features)
                .status()
                .expect("run cargo build");
            assert!(
                status.success(),
                "building the firmware {features:?} failed"
            );
        };
        let built = firmware.join("target/debug/latch-firmware");
        let large = firmware.join("target/debug/latch-firmware-large-tokens");
        build(&["--features", "large-tokens"]);
        std::fs::copy(&built, &large).expect("keep the large-tokens firmware");
        build(&[]);
        (built, large)
    })
}

/// The consumer example app (`host/consumer/example`, binary `consumer`).
pub fn consumer_example_bin() -> PathBuf {
    built().join("consumer")
}

/// A free loopback port for a process that must know its port before it
/// starts. Drawn from 20000–31999, below Linux's ephemeral range, so that
/// servers binding port 0 meanwhile cannot be handed the same port.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let seed = (std::process::id() % 6000) as u16;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20000 + (seed + n * 7) % 12000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// What a latch-core writer wrote, as a string.
pub fn written(f: impl FnOnce(&mut latch_core::SliceWriter<'_>)) -> String {
    let mut buf = vec![0u8; 2048];
    let mut w = latch_core::SliceWriter::new(&mut buf);
    f(&mut w);
    let n = w.finish().expect("2 KiB is enough");
    String::from_utf8(buf[..n].to_vec()).expect("utf-8")
}

/// Runs `latch ARGS` and returns stdout, panicking on failure.
pub fn latch(args: &[&str]) -> String {
    let out = std::process::Command::new(latch_bin())
        .args(args)
        .output()
        .expect("run latch");
    assert!(
        out.status.success(),
        "latch {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file.
    Sqlite,
    /// A fresh database on the PostgreSQL named by `LATCH_TEST_PG`.
    Postgres,
}

/// SQLite always; PostgreSQL too when `LATCH_TEST_PG` names a server
/// (`scripts/pg.sh start` sets it; the test command does).
pub fn backends() -> Vec<Backend> {
    let mut v = vec![Backend::Sqlite];
    if std::env::var_os("LATCH_TEST_PG").is_some() {
        v.push(Backend::Postgres);
    }
    v
}

/// Creates a fresh PostgreSQL database and returns its URL.
pub fn fresh_pg_database() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("LATCH_TEST_PG").expect("LATCH_TEST_PG");
    let name = format!(
        "latch_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let out = std::process::Command::new("psql")
        .args([
            admin.as_str(),
            "-q",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "createdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// The test CA: made once per test process, trusted by every client made
/// here, never by anything else on the machine.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub pem: String,
    /// The CA certificate's file (for `--ca FILE`, `curl --cacert`).
    pub path: PathBuf,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").field("path", &self.path).finish()
    }
}

/// A fresh CA (not the test CA): a certificate it signs is trusted by no
/// client made here.
pub fn make_ca(name: &str) -> (String, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let key = rcgen::KeyPair::generate().expect("CA key");
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let cert = p.self_signed(&key).expect("CA certificate");
    (cert.pem(), rcgen::Issuer::new(p, key))
}

/// A server certificate for `localhost` and `127.0.0.1` signed by
/// `issuer`: (chain PEM, key PEM).
pub fn make_leaf(issuer: &rcgen::Issuer<'static, rcgen::KeyPair>, cn: &str) -> (String, String) {
    make_leaf_for(issuer, cn, &["localhost", "127.0.0.1"])
}

/// A server certificate for `names` (DNS names or IP addresses) signed by
/// `issuer`: (chain PEM, key PEM).
pub fn make_leaf_for(
    issuer: &rcgen::Issuer<'static, rcgen::KeyPair>,
    cn: &str,
    names: &[&str],
) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("leaf key");
    let cert = leaf_params(cn, names)
        .signed_by(&key, issuer)
        .expect("leaf certificate");
    (cert.pem(), key.serialize_pem())
}

/// A server certificate's parameters: `cn`, `names` as SANs, serverAuth.
fn leaf_params(cn: &str, names: &[&str]) -> rcgen::CertificateParams {
    let names = names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
    let mut p = rcgen::CertificateParams::new(names).expect("names");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    p
}

/// The test CA.
pub fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(|| {
        let (pem, issuer) = make_ca("Latch test CA");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("test-ca.pem");
        std::fs::write(&path, &pem).expect("write CA");
        TestCa {
            pem,
            path,
            issuer,
            _dir: dir,
        }
    })
}

impl TestCa {
    /// A server certificate signed by the test CA, written into `dir` as
    /// `cert.pem` (leaf first, then the CA) and `key.pem`.
    pub fn issue_into(&self, dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
        self.issue_for_into(dir, cn, &["localhost", "127.0.0.1"])
    }

    /// [`issue_into`](Self::issue_into) for other names.
    pub fn issue_for_into(&self, dir: &Path, cn: &str, names: &[&str]) -> (PathBuf, PathBuf) {
        let (leaf, key) = make_leaf_for(&self.issuer, cn, names);
        let cert_path = dir.join("cert.pem");
        let key_path = dir.join("key.pem");
        std::fs::write(&cert_path, format!("{leaf}{}", self.pem)).expect("write cert");
        std::fs::write(&key_path, key).expect("write key");
        (cert_path, key_path)
    }

    /// A certificate for `names` that reaches the test CA only through
    /// another server's certificate: the test CA issues a leaf (not a CA)
    /// for `other.test`, and that leaf signs one for `names`. Every
    /// signature is good; only the CA flag (RFC 5280 §4.2.1.9) says no.
    /// Written into `dir` as `forged-cert.pem` (the forged leaf, the other
    /// leaf, the CA) and `forged-key.pem`.
    pub fn forge_through_leaf_into(
        &self,
        dir: &Path,
        cn: &str,
        names: &[&str],
    ) -> (PathBuf, PathBuf) {
        let other_key = rcgen::KeyPair::generate().expect("leaf key");
        let p = leaf_params("other.test", &["other.test"]);
        let other = p.signed_by(&other_key, &self.issuer).expect("other leaf");
        let (forged, key) = make_leaf_for(&rcgen::Issuer::new(p, other_key), cn, names);
        let cert_path = dir.join("forged-cert.pem");
        let key_path = dir.join("forged-key.pem");
        std::fs::write(&cert_path, format!("{forged}{}{}", other.pem(), self.pem))
            .expect("write cert");
        std::fs::write(&key_path, key).expect("write key");
        (cert_path, key_path)
    }

    fn certificate(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_pem(self.pem.as_bytes()).expect("test CA PEM")
    }
}

/// Host names the clients made here resolve to fixed addresses (no DNS in
/// a test's network namespace): see [`resolve_in_clients`].
static RESOLVE: std::sync::Mutex<Vec<(String, std::net::SocketAddr)>> =
    std::sync::Mutex::new(Vec::new());

/// From now on, [`http`] and [`browser`] clients of this test process
/// reach `host` at `addr`.
pub fn resolve_in_clients(host: &str, addr: std::net::SocketAddr) {
    RESOLVE
        .lock()
        .expect("resolve table")
        .push((host.to_owned(), addr));
}

fn with_resolve(mut b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    for (host, addr) in RESOLVE.lock().expect("resolve table").iter() {
        b = b.resolve(host, *addr);
    }
    b
}

/// A plain client that trusts the test CA.
pub fn http() -> reqwest::Client {
    with_resolve(reqwest::Client::builder())
        .tls_certs_merge([test_ca().certificate()])
        .build()
        .expect("client")
}

/// oauth2-rs's HTTP client over [`http`]'s reqwest (rustls, the test CA
/// trusted, redirects not followed).
#[derive(Debug, Clone)]
pub struct OAuth2Http(pub reqwest::Client);

impl Default for OAuth2Http {
    fn default() -> Self {
        OAuth2Http(
            reqwest::Client::builder()
                .tls_certs_merge([test_ca().certificate()])
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        )
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuth2Http {
    type Error = oauth2::HttpClientError<reqwest::Error>;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let resp = self
                .0
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .map_err(Box::new)?;
            let mut out = oauth2::http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                out = out.header(name, value);
            }
            let body = resp.bytes().await.map_err(Box::new)?.to_vec();
            Ok(out.body(body)?)
        })
    }
}

/// A running `latch serve`.
#[derive(Debug)]
pub struct Server {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub base: String,
    /// `--db URL` or `--config FILE` arguments for the CLI.
    pub db_args: Vec<String>,
    /// With TLS: the certificate chain and key files it serves.
    pub tls_files: Option<(PathBuf, PathBuf)>,
    child: Child,
    _dir: Option<tempfile::TempDir>,
}

/// Credentials printed by `latch client add`.
#[derive(Debug, Clone)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// `client_secret` (empty for public clients).
    pub secret: String,
}

impl Server {
    /// Starts a server on a fresh SQLite database.
    pub async fn start() -> Server {
        Server::start_with(Backend::Sqlite).await
    }

    /// Starts a server on a fresh database of the given kind.
    pub async fn start_with(backend: Backend) -> Server {
        Server::start_fresh(backend, false).await
    }

    /// Starts a server on a fresh database of the given kind, over TLS with
    /// a certificate from the test CA.
    pub async fn start_tls(backend: Backend) -> Server {
        Server::start_fresh(backend, true).await
    }

    async fn start_fresh(backend: Backend, tls: bool) -> Server {
        Server::start_configured(backend, tls, "").await
    }

    /// Starts a server on a fresh database of the given kind, with
    /// `config` (TOML tables such as `[limits]`) in its configuration file.
    pub async fn start_configured(backend: Backend, tls: bool, config: &str) -> Server {
        let dir = tempfile::tempdir().expect("tempdir");
        let head = match backend {
            Backend::Sqlite => format!(
                "db = \"sqlite://{}\"\n",
                dir.path().join("latch.db").display()
            ),
            Backend::Postgres => format!(
                "db = \"{}\"\n[keys]\nsecret_box_key = \"{}\"\nsession_key = \"{}\"\n",
                fresh_pg_database(),
                "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
                "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=",
            ),
        };
        let db_args = if backend == Backend::Sqlite && config.is_empty() {
            vec![
                "--db".to_owned(),
                format!("sqlite://{}", dir.path().join("latch.db").display()),
            ]
        } else {
            let file = dir.path().join("latch.toml");
            std::fs::write(&file, format!("{head}{config}")).expect("write config");
            vec!["--config".to_owned(), file.display().to_string()]
        };
        let mut s = if tls {
            let (cert, key) = test_ca().issue_into(dir.path(), "latch test server");
            let args = [
                "--tls-cert".to_owned(),
                cert.display().to_string(),
                "--tls-key".to_owned(),
                key.display().to_string(),
            ];
            let mut s = Server::start_args("127.0.0.1:0", &db_args, &args).await;
            s.tls_files = Some((cert, key));
            s
        } else {
            Server::start_on(&db_args).await
        };
        s._dir = Some(dir);
        s
    }

    /// Starts a server with these `--db` / `--config` arguments (reused
    /// across restarts).
    pub async fn start_on(db_args: &[String]) -> Server {
        Server::start_at("127.0.0.1:0", db_args).await
    }

    /// Starts a server listening on `listen` (`ADDR:PORT`, port 0 for any).
    pub async fn start_at(listen: &str, db_args: &[String]) -> Server {
        Server::start_args(listen, db_args, &[]).await
    }

    /// Starts a server listening on `listen` with more `serve` arguments.
    pub async fn start_args(listen: &str, db_args: &[String], extra: &[String]) -> Server {
        let mut child = Command::new(latch_bin())
            .args(["serve", "--listen", listen])
            .args(db_args)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn latch serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("server started in time")
            .expect("read stdout")
            .expect("a line");
        let base = line
            .strip_prefix("listening on ")
            .expect("listening line")
            .to_owned();
        Server {
            base,
            db_args: db_args.to_vec(),
            tls_files: None,
            child,
            _dir: None,
        }
    }

    /// Registers a client through the CLI.
    pub fn add_client(&self, args: &[&str]) -> Client {
        let mut all = vec!["client", "add"];
        all.extend_from_slice(args);
        all.extend(self.db_args.iter().map(String::as_str));
        let json: serde_json::Value = serde_json::from_str(&latch(&all)).expect("client JSON");
        Client {
            id: json["client_id"].as_str().expect("client_id").to_owned(),
            secret: json["client_secret"].as_str().unwrap_or("").to_owned(),
        }
    }

    /// Adds a user through the CLI.
    pub fn add_user(&self, name: &str, password: &str) {
        let mut all = vec!["user", "add", name, "--password", password];
        all.extend(self.db_args.iter().map(String::as_str));
        latch(&all);
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("server running")
    }

    /// Sends SIGKILL and waits.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        self.child.wait().await.expect("wait")
    }
}

/// A browser-like HTTP client: cookies kept, redirects not followed, the
/// test CA trusted.
pub fn browser() -> reqwest::Client {
    with_resolve(reqwest::Client::builder())
        .tls_certs_merge([test_ca().certificate()])
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The first form of a page: its hidden inputs as (name, value).
pub fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("form input[type=hidden]").expect("selector");
    doc.select(&sel)
        .filter_map(|e| {
            Some((
                e.attr("name")?.to_owned(),
                e.attr("value").unwrap_or("").to_owned(),
            ))
        })
        .collect()
}

/// Fills in the login + consent form of `page` and submits it to `action`.
pub async fn submit_consent(
    browser: &reqwest::Client,
    action: &str,
    page: &str,
    login: Option<(&str, &str)>,
    decision: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut fields = hidden_inputs(page);
    if let Some((u, p)) = login {
        fields.push(("username".into(), u.into()));
        fields.push(("password".into(), p.into()));
    }
    for (k, v) in extra {
        fields.push(((*k).into(), (*v).into()));
    }
    fields.push(("decision".into(), decision.into()));
    browser
        .post(action)
        .form(&fields)
        .send()
        .await
        .expect("submit form")
}

/// Alice (password `wonderland`) logs in on the OAuth1 authorization page
/// for `token` and approves: the page's HTML and the query parameters of
/// the callback the server redirects to.
pub async fn approve_oauth1(server: &Server, token: &str) -> (String, Vec<(String, String)>) {
    let b = browser();
    let page_url = server.url(&format!("/oauth1/authorize?oauth_token={token}"));
    let page = b.get(&page_url).send().await.expect("authorization page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("page text");
    let resp = submit_consent(
        &b,
        &page_url,
        &html,
        Some(("alice", "wonderland")),
        "approve",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 303, "a credential POST answers 303");
    let params = location_params(&resp);
    (html, params)
}

/// POSTs an empty body with this `Authorization` header value: the
/// answer's status and body.
pub async fn post_authorized(url: &str, authorization: &str) -> (u16, Vec<u8>) {
    let resp = http()
        .post(url)
        .header("Authorization", authorization)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.expect("body").to_vec())
}

/// The value of `k` among parameters such as [`location_params`]'s.
pub fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// The query parameters of a `Location` header.
pub fn location_params(resp: &reqwest::Response) -> Vec<(String, String)> {
    let loc = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header");
    url::Url::parse(loc)
        .expect("absolute Location")
        .query_pairs()
        .into_owned()
        .collect()
}

/// The device verification page as a person uses it (RFC 8628 §3.3, two
/// steps): open `verification_uri`, type `user_code` and log in as `login`
/// (step 1); the page then names the client and the scopes (step 2, whose
/// HTML is returned); then `decision` (`approve` or `deny`). Returns step
/// 2's HTML and the final page's status and HTML.
pub async fn verify_device(
    b: &reqwest::Client,
    verification_uri: &str,
    user_code: &str,
    login: (&str, &str),
    decision: &str,
) -> (String, u16, String) {
    let page = b
        .get(verification_uri)
        .send()
        .await
        .expect("device page")
        .text()
        .await
        .expect("page text");
    assert!(
        page.contains("name=\"user_code\""),
        "step 1 asks for the code"
    );
    let action = verification_uri
        .split('?')
        .next()
        .unwrap_or(verification_uri);
    let mut fields = hidden_inputs(&page);
    fields.push(("user_code".into(), user_code.into()));
    fields.push(("username".into(), login.0.into()));
    fields.push(("password".into(), login.1.into()));
    fields.push(("decision".into(), decision.into()));
    let step2 = b.post(action).form(&fields).send().await.expect("step 1");
    assert_eq!(step2.status(), 200, "step 1 shows step 2");
    let step2 = step2.text().await.expect("step 2 text");
    assert!(step2.contains("Warning"), "step 2 warns: {step2}");
    let mut fields = hidden_inputs(&step2);
    fields.push(("decision".into(), decision.into()));
    let done = b.post(action).form(&fields).send().await.expect("step 2");
    let status = done.status().as_u16();
    (step2, status, done.text().await.expect("final page"))
}

/// Starts a provider nobody here wrote (`tests/<script>`, which installs
/// its pinned dependencies first) and returns it with the one JSON line it
/// prints when it serves.
pub async fn start_peer(script: &str, args: &[&str]) -> (Child, serde_json::Value) {
    let mut child = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(script))
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(std::time::Duration::from_secs(300), lines.next_line())
        .await
        .unwrap_or_else(|_| panic!("{script} started in time"))
        .unwrap()
        .unwrap_or_else(|| panic!("{script} printed its JSON line"));
    (child, serde_json::from_str(&line).unwrap())
}

/// The action of the first POST form of a page, resolved against `base`.
pub fn form_action(html: &str, base: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("form[method=post]").unwrap();
    let action = doc
        .select(&sel)
        .next()
        .and_then(|f| f.attr("action"))
        .unwrap_or("");
    url::Url::parse(base)
        .unwrap()
        .join(action)
        .unwrap()
        .to_string()
}
