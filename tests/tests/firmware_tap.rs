//! The firmware's Linux build against a real `latch serve`, over a TAP
//! device in a network namespace of its own (DESIGN.md, "The firmware
//! shell"). Needs root (CI runs as root): it creates the namespace
//! `latch-fw` (deleting a leftover one first), a TAP device `tap0` in it
//! with the host-side address 192.168.69.1/24, and removes the namespace
//! at the end, pass or fail.
//!
//! The whole test runs on one thread that has entered the namespace, so
//! the server it spawns, the firmware it spawns and the "person" who
//! approves the device code in the HTML form all live there; nothing of
//! it is reachable from, or reaches, any other network.

use latch_core::UnixTime;
use latch_core::oauth1::{ConsumerConfig, Login, SignatureMethod};
use latch_tests::{
    Client, Server, approve_oauth1, browser, firmware_bin, firmware_large_tokens_bin, now,
    post_authorized, written,
};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const HOST_ADDR: &str = "192.168.69.1";
/// Where `latch serve` listens, with TLS, and the issuer it is known by:
/// the device has no DNS, so it connects to the address and checks the
/// certificate against the name.
const LISTEN: &str = "192.168.69.1:8443";
const ISSUER: &str = "https://latch.test:8443";
const CALLBACK: &str = "https://device.example/ready";
/// The device's client at `latch serve` (`latch client add` arguments).
const THERMOSTAT: [&str; 6] = [
    "--name",
    "Thermostat",
    "--scope",
    "read",
    "--redirect-uri",
    CALLBACK,
];
/// The whole device flow, refresh included, must be done by then.
const DEADLINE: Duration = Duration::from_secs(120);

fn ip(args: &[&str]) -> std::process::Output {
    Command::new("ip").args(args).output().expect("run ip")
}

fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A namespace with its TAP device; deleted on drop (pass or fail).
struct Namespace(&'static str);

impl Namespace {
    fn create(name: &'static str) -> Namespace {
        let _ = ip(&["netns", "delete", name]);
        ip_ok(&["netns", "add", name]);
        let ns = Namespace(name);
        ip_ok(&["-n", name, "link", "set", "lo", "up"]);
        ip_ok(&["-n", name, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
        ip_ok(&[
            "-n",
            name,
            "addr",
            "add",
            &format!("{HOST_ADDR}/24"),
            "dev",
            "tap0",
        ]);
        ip_ok(&["-n", name, "link", "set", "tap0", "up"]);
        ns
    }

    /// Runs `scenario` on a thread of its own that has entered the
    /// namespace (so does every process it spawns), then deletes it.
    fn run<F: Future<Output = ()>>(self, scenario: impl FnOnce() -> F + Send + 'static) {
        std::thread::spawn(move || {
            let f = std::fs::File::open(format!("/run/netns/{}", self.0)).expect("open namespace");
            nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(scenario());
            drop(self);
        })
        .join()
        .expect("the scenario passed");
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = ip(&["netns", "delete", self.0]);
    }
}

/// OAuth1 token credentials for the device, through the three legs (the
/// user approves in the HTML form).
async fn oauth1_token(server: &Server, client: &Client) -> (String, String) {
    let config = ConsumerConfig {
        consumer_key: &client.id,
        consumer_secret: &client.secret,
        temporary_credentials_url: &server.url("/oauth1/request_token"),
        authorization_url: &server.url("/oauth1/authorize"),
        token_url: &server.url("/oauth1/access_token"),
        callback: CALLBACK,
        signature_method: SignatureMethod::HmacSha1,
        realm: None,
    };
    let login = Login::new(config);
    let auth = written(|w| login.authorization(UnixTime(now()), "n1", w).unwrap());
    let (status, body) = post_authorized(login.url(), &auth).await;
    let pending = login.handle_response::<128>(status, &body).unwrap();
    let (_, callback) = approve_oauth1(server, &pending.parts().token).await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(callback)
        .finish();
    let authorized = pending.handle_callback(query.as_bytes()).unwrap();
    let auth = written(|w| authorized.authorization(UnixTime(now()), "n2", w).unwrap());
    let (status, body) = post_authorized(authorized.url(), &auth).await;
    let creds = authorized.handle_response(status, &body).unwrap();
    (creds.token.to_string(), creds.secret.to_string())
}

/// What one firmware run printed, and how it ended.
struct Run {
    lines: Vec<String>,
    status: std::process::ExitStatus,
    elapsed: Duration,
}

impl Run {
    fn has(&self, line: &str) -> bool {
        self.lines.iter().any(|l| l.contains(line))
    }

    /// Fails unless the run printed every one of `steps` (`what` names
    /// the run) and exited 0.
    fn assert_steps(&self, what: &str, steps: &[&str]) {
        for step in steps {
            assert!(self.has(step), "{what}: {step:?}: {:#?}", self.lines);
        }
        assert!(
            self.status.success(),
            "{what}: exit {:?}: {:#?}",
            self.status,
            self.lines
        );
    }
}

/// What the firmware says when the server's certificate does not verify.
const UNTRUSTED: &str = "failed: TLS handshake failed: the server's certificate is not trusted (unknown CA, a chain RFC 5280 refuses, wrong name or expired)";

/// A run that stopped at the handshake: that one line, exit 1, nothing
/// discovered.
fn assert_untrusted(run: &Run) {
    let failures: Vec<_> = run
        .lines
        .iter()
        .filter(|l| l.starts_with("failed: "))
        .collect();
    assert_eq!(failures, [UNTRUSTED], "{:#?}", run.lines);
    assert!(!run.has("endpoints discovered"), "{:#?}", run.lines);
    assert_eq!(run.status.code(), Some(1), "{:#?}", run.lines);
}

/// What a run that logs in with the device flow prints, every step.
const ALL_STEPS: [&str; 7] = [
    "user_code=",
    "device flow: authorized",
    "bearer call ok",
    "refresh ok",
    "bearer call after refresh ok",
    "oauth1 call ok",
    "done: every step succeeded",
];

/// What a run that resumes with the tokens in flash prints.
const RESUMED: [&str; 5] = [
    "resumed: logged in with the stored tokens",
    "bearer call ok",
    "refresh ok",
    "oauth1 call ok",
    "done: every step succeeded",
];

/// What a resumed run whose stored login the server refuses prints.
const LOGIN_AGAIN: [&str; 4] = [
    "resumed: logged in with the stored tokens",
    "stored login refused (invalid_grant); device flow again",
    "user_code=",
    "done: every step succeeded",
];

/// Starts the firmware against `server`, waits for its user code, lets
/// the user `decision` it on the verification page (if any), and reads the
/// firmware to its end.
async fn run_firmware(
    server: &[String],
    client: &Client,
    oauth1: &(String, String),
    decision: Option<&str>,
) -> Run {
    run_firmware_with(&firmware_bin(), server, client, oauth1, decision, None, &[]).await
}

/// [`run_firmware`] of the firmware build at `bin`, with the emulated
/// flash in `state` and extra environment variables.
async fn run_firmware_with(
    bin: &std::path::Path,
    server: &[String],
    client: &Client,
    oauth1: &(String, String),
    decision: Option<&str>,
    state: Option<&std::path::Path>,
    env: &[(&str, &str)],
) -> Run {
    let mut command = firmware(bin, server, &client.id, &client.secret, "read", state);
    command.envs(env.iter().copied()).args([
        "--oauth1-token",
        &oauth1.0,
        "--oauth1-token-secret",
        &oauth1.1,
    ]);
    read_run(command, async |code: &str, uri: &str| match decision {
        None => panic!("the firmware asked for a device login it should not need: {code}"),
        Some("none") => {}
        Some(decision) => approve_device(uri, code, decision).await,
    })
    .await
}

/// The firmware's server arguments: connect to `listen`, know the server
/// as `issuer`, trust the CA certificate at `ca_path`.
fn over_tls(listen: &str, issuer: &str, ca_path: &std::path::Path) -> Vec<String> {
    ["--server", listen, "--issuer", issuer, "--ca"]
        .map(str::to_owned)
        .into_iter()
        .chain([ca_path.display().to_string()])
        .collect()
}

/// The command line of the firmware build at `bin` (`firmware_bin()`, or
/// `firmware_large_tokens_bin()`) on the TAP device, against `server`.
fn firmware(
    bin: &std::path::Path,
    server: &[String],
    client_id: &str,
    client_secret: &str,
    scope: &str,
    state: Option<&std::path::Path>,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(bin);
    if let Some(state) = state {
        command.arg("--state").arg(state);
    }
    command
        .args([
            "--tap",
            "tap0",
            "--ip",
            "192.168.69.2/24",
            "--gateway",
            HOST_ADDR,
        ])
        .args(server)
        .args(["--scope", scope])
        .args(["--client-id", client_id, "--client-secret", client_secret]);
    command
}

/// Runs the firmware to its end; `approve(user_code, verification_uri)`
/// is the person who reads the code off the device.
async fn read_run(mut command: tokio::process::Command, approve: impl AsyncFn(&str, &str)) -> Run {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn firmware");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut lines = Vec::new();
    let read_all = async {
        while let Some(line) = out.next_line().await.expect("read firmware output") {
            println!("firmware: {line}");
            if let Some(rest) = line.strip_prefix("user_code=") {
                let (code, uri) = rest.split_once(" verification_uri=").expect("code and uri");
                approve(code, uri).await;
            }
            lines.push(line);
        }
        child.wait().await.expect("firmware exit")
    };
    let status = tokio::time::timeout(DEADLINE, read_all)
        .await
        .expect("the firmware finished in time");
    Run {
        lines,
        status,
        elapsed: started.elapsed(),
    }
}

/// What a person does: opens the verification page, types the code,
/// logs in, checks the named client, and approves or denies.
async fn approve_device(uri: &str, user_code: &str, decision: &str) {
    let (step2, status, _) = latch_tests::verify_device(
        &browser(),
        uri,
        user_code,
        ("alice", "wonderland"),
        decision,
    )
    .await;
    assert!(step2.contains("Thermostat"), "step 2 names the client");
    assert_eq!(status, 200, "the verification page accepted the decision");
}

#[test]
fn firmware_logs_in_over_tap() {
    Namespace::create("latch-fw").run(scenario);
}

async fn scenario() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("latch.toml");
    // Short access tokens so the firmware's refresh comes within seconds;
    // a 1 s device interval so polling does not dominate the run.
    std::fs::write(
        &config,
        format!(
            "db = \"sqlite://{}\"\n[oauth2]\naccess_token_ttl = 6\ndevice_interval = 1\n",
            dir.path().join("latch.db").display()
        ),
    )
    .unwrap();
    let db_args = vec!["--config".to_owned(), config.display().to_string()];
    // TLS with a certificate from the test CA for the issuer's name (and
    // the address, for the test's own clients).
    let ca = latch_tests::test_ca();
    let (cert, key) = ca.issue_for_into(dir.path(), "latch.test", &["latch.test", HOST_ADDR]);
    let serving = |cert: &std::path::Path, key: &std::path::Path| {
        [
            "--tls-cert".to_owned(),
            cert.display().to_string(),
            "--tls-key".to_owned(),
            key.display().to_string(),
            "--issuer".to_owned(),
            ISSUER.to_owned(),
        ]
    };
    let tls_args = serving(&cert, &key);
    let mut server = Server::start_args(LISTEN, &db_args, &tls_args).await;
    assert_eq!(server.base, format!("https://{LISTEN}"));
    latch_tests::resolve_in_clients("latch.test", LISTEN.parse().unwrap());
    server.base = ISSUER.to_owned();
    let tls = over_tls(LISTEN, ISSUER, &ca.path);
    let client = server.add_client(&THERMOSTAT);
    server.add_user("alice", "wonderland");
    let oauth1 = oauth1_token(&server, &client).await;

    // Approved: every step succeeds, over TLS 1.3.
    let ok = run_firmware(&tls, &client, &oauth1, Some("approve")).await;
    println!("device flow to the end: {:?}", ok.elapsed);
    ok.assert_steps("approved", &ALL_STEPS);

    // A login kept in flash: the first run logs in, the second resumes
    // with the stored tokens, and the server sees no new device
    // authorization.
    let state = dir.path().join("flash.bin");
    let first = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        Some("approve"),
        Some(&state),
        &[],
    )
    .await;
    assert!(first.has("no stored login"), "{:#?}", first.lines);
    assert!(
        first.has("done: every step succeeded"),
        "{:#?}",
        first.lines
    );
    let db = dir.path().join("latch.db");
    let devices = device_authorizations(&db).await;
    let resumed = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        None,
        Some(&state),
        &[],
    )
    .await;
    resumed.assert_steps("resumed run", &RESUMED);
    assert!(!resumed.has("endpoints discovered"), "{:#?}", resumed.lines);
    assert_eq!(
        device_authorizations(&db).await,
        devices,
        "no new device authorization"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&state).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the flash image holds tokens");

    // Power cut between the refresh answer and the save: flash still holds
    // the refresh token the server has just rotated. With the server's
    // refresh grace window at 0 (the default) presenting it again is
    // reuse: invalid_grant, and the device logs in again (the README says
    // so).
    let cut = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        None,
        Some(&state),
        &[("LATCH_FIRMWARE_POWER_CUT", "after-refresh")],
    )
    .await;
    assert!(cut.has("refresh ok"), "{:#?}", cut.lines);
    assert!(cut.has("power cut (test hook)"), "{:#?}", cut.lines);
    assert_eq!(cut.status.code(), Some(3), "{:#?}", cut.lines);
    let after_cut = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        Some("approve"),
        Some(&state),
        &[],
    )
    .await;
    after_cut.assert_steps("after the cut", &LOGIN_AGAIN);
    assert_eq!(device_authorizations(&db).await, devices + 1);

    // A stored login whose refresh token was revoked (by the operator):
    // the device falls back to a new device flow. (Revoking the client's
    // tokens takes the OAuth1 token too, so a new one is fetched.)
    let out = latch_tests::latch(&[
        "token",
        "revoke",
        "--client",
        &client.id,
        "--config",
        &config.display().to_string(),
    ]);
    assert!(out.contains("revoked"), "{out}");
    let oauth1 = oauth1_token(&server, &client).await;
    let revoked = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        Some("approve"),
        Some(&state),
        &[],
    )
    .await;
    revoked.assert_steps("after revocation", &LOGIN_AGAIN);

    // The same power cut against a server with a refresh grace window: the
    // rotated-out refresh token in flash is accepted again inside the
    // window, and the device resumes without a new device login (the
    // README's other outcome).
    server.terminate().await;
    std::fs::write(
        &config,
        format!(
            "db = \"sqlite://{}\"\n[oauth2]\naccess_token_ttl = 6\ndevice_interval = 1\nrefresh_grace_seconds = 120\n",
            dir.path().join("latch.db").display()
        ),
    )
    .unwrap();
    let mut server = Server::start_args(LISTEN, &db_args, &tls_args).await;
    server.base = ISSUER.to_owned();
    let devices = device_authorizations(&db).await;
    let cut = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        None,
        Some(&state),
        &[("LATCH_FIRMWARE_POWER_CUT", "after-refresh")],
    )
    .await;
    assert!(cut.has("power cut (test hook)"), "{:#?}", cut.lines);
    let graced = run_firmware_with(
        &firmware_bin(),
        &tls,
        &client,
        &oauth1,
        None,
        Some(&state),
        &[],
    )
    .await;
    graced.assert_steps(
        "after the cut, within the grace window",
        &[
            "resumed: logged in with the stored tokens",
            "refresh ok",
            "oauth1 call ok",
            "done: every step succeeded",
        ],
    );
    assert!(!graced.has("stored login refused"), "{:#?}", graced.lines);
    assert_eq!(
        device_authorizations(&db).await,
        devices,
        "no new device login"
    );

    // A CA that did not sign the server's certificate: the handshake
    // fails, one line, exit 1, before anything is sent.
    let (other_ca, _) = latch_tests::make_ca("Another CA");
    let other_ca_path = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca_path, other_ca).unwrap();
    let wrong = run_firmware(
        &over_tls(LISTEN, ISSUER, &other_ca_path),
        &client,
        &oauth1,
        None,
    )
    .await;
    assert_untrusted(&wrong);

    // A certificate for the issuer's name signed by another server's
    // certificate from the same CA (a leaf, not a CA): every signature
    // checks out, so embedded-tls alone would take it; the firmware's
    // basicConstraints check refuses it the same way.
    server.terminate().await;
    let (forged_cert, forged_key) =
        ca.forge_through_leaf_into(dir.path(), "latch.test", &["latch.test", HOST_ADDR]);
    let mut server =
        Server::start_args(LISTEN, &db_args, &serving(&forged_cert, &forged_key)).await;
    server.base = ISSUER.to_owned();
    let forged = run_firmware(&tls, &client, &oauth1, None).await;
    assert_untrusted(&forged);
    server.terminate().await;
    let mut server = Server::start_args(LISTEN, &db_args, &tls_args).await;
    server.base = ISSUER.to_owned();

    // Denied: the firmware says access_denied and exits non-zero.
    let denied = run_firmware(&tls, &client, &oauth1, Some("deny")).await;
    assert!(denied.has("failed: access_denied"), "{:#?}", denied.lines);
    assert!(!denied.has("bearer call ok"), "{:#?}", denied.lines);
    assert_eq!(denied.status.code(), Some(1), "{:#?}", denied.lines);

    // A client whose access tokens are JWTs (RFC 9068): longer than the
    // device's TOKEN_CAP, so the approved login ends with that one line,
    // exit 1, and nothing is called.
    let jwt_client =
        server.add_client(&[&THERMOSTAT[..], &["--access-token-format", "jwt"]].concat());
    let too_long = run_firmware(&tls, &jwt_client, &oauth1, Some("approve")).await;
    let failures: Vec<_> = too_long
        .lines
        .iter()
        .filter(|l| l.starts_with("failed: "))
        .collect();
    assert_eq!(
        failures,
        ["failed: a token, code or URL longer than the device holds"],
        "{:#?}",
        too_long.lines
    );
    assert!(!too_long.has("bearer call ok"), "{:#?}", too_long.lines);
    assert_eq!(too_long.status.code(), Some(1), "{:#?}", too_long.lines);
    // The `large-tokens` build holds them: every step succeeds with JWTs,
    // and a reboot resumes with the JWT it kept in flash.
    let jwt_state = dir.path().join("jwt-flash.bin");
    let jwt_oauth1 = oauth1_token(&server, &jwt_client).await;
    let large = firmware_large_tokens_bin();
    let before = device_authorizations(&db).await;
    let jwts = run_firmware_with(
        &large,
        &tls,
        &jwt_client,
        &jwt_oauth1,
        Some("approve"),
        Some(&jwt_state),
        &[],
    )
    .await;
    jwts.assert_steps("large-tokens build, JWT access tokens", &ALL_STEPS);
    let resumed = run_firmware_with(
        &large,
        &tls,
        &jwt_client,
        &jwt_oauth1,
        None,
        Some(&jwt_state),
        &[],
    )
    .await;
    resumed.assert_steps("large-tokens build, rebooted", &RESUMED);
    assert_eq!(
        device_authorizations(&db).await,
        before + 1,
        "one device authorization for the large-tokens build's two runs"
    );

    // A hostile server: the device authorization answer comes chunked, a
    // few bytes per TCP segment; every token answer is larger than the
    // device's response buffer. The device reads the first (its user code
    // is right), refuses the others as error values, retries a few polls,
    // and exits 1 with a one-line reason — no panic, no hang.
    let hostile = tokio::net::TcpListener::bind(HOSTILE).await.unwrap();
    let served = tokio::spawn(serve_hostile(hostile));
    // Plain HTTP, asked for explicitly.
    let plain = ["--server", HOSTILE, "--plain-http"].map(str::to_owned);
    let run = run_firmware(&plain, &client, &oauth1, Some("none")).await;
    assert!(
        run.has("user_code=WDJB-MJHT verification_uri=https://example.com/device"),
        "{:#?}",
        run.lines
    );
    assert!(
        run.has("poll failed (bad HTTP answer: response does not fit in the buffer)"),
        "{:#?}",
        run.lines
    );
    assert!(
        run.has("failed: bad HTTP answer: response does not fit in the buffer"),
        "{:#?}",
        run.lines
    );
    assert_eq!(run.status.code(), Some(1), "{:#?}", run.lines);
    served.abort();
}

/// Where node-oidc-provider listens, with TLS, and the issuer it is known
/// by (a certificate of the test CA for that name).
const OP_LISTEN: &str = "192.168.69.1:8444";
const OP_ISSUER: &str = "https://op.test:8444";

/// The firmware against an authorization server nobody here wrote:
/// node-oidc-provider (panva's certified OpenID Provider, from npm, pinned
/// by tests/oidc-rp/package-lock.json), over TLS 1.3. The device discovers
/// its RFC 8414 metadata, logs in with its RFC 8628 device flow (the
/// person types the code on node-oidc-provider's `/device` page, signs in,
/// consents and confirms), calls a resource that asks node-oidc-provider
/// whether the token is valid, refreshes, and after a reboot resumes with
/// the tokens in flash, without a second device login; once
/// node-oidc-provider has forgotten every grant, it logs in again. Here
/// node-oidc-provider keeps a confidential client's refresh token (its
/// default): the refresh answers carry none.
#[test]
fn firmware_logs_in_through_node_oidc_provider() {
    node_oidc_provider_deps();
    Namespace::create("latch-fw-op").run(|| op_scenario(Op::Default));
}

/// [`firmware_logs_in_through_node_oidc_provider`] with node-oidc-provider
/// rotating the refresh token on every refresh (and revoking the grant if
/// a used one comes back): the resumed run's refresh succeeds only if the
/// device kept the rotated token in flash.
#[test]
fn firmware_keeps_node_oidc_providers_rotated_refresh_token() {
    node_oidc_provider_deps();
    Namespace::create("latch-fw-op-rot").run(|| op_scenario(Op::Rotating));
}

/// [`firmware_logs_in_through_node_oidc_provider`] with node-oidc-provider
/// as many hosted OpenID Providers are: access tokens are JWTs (RFC 9068,
/// for a resource server, ES256; the resource verifies them against its
/// keys), several hundred bytes each, and only OIDC Discovery's
/// `openid-configuration` is published (RFC 8414's document is a 404).
/// The firmware's `large-tokens` build falls back to that document, logs
/// in, calls, refreshes and resumes with the JWT from flash.
#[test]
fn firmware_large_tokens_build_takes_node_oidc_providers_jwt_access_tokens() {
    node_oidc_provider_deps();
    Namespace::create("latch-fw-op-jwt").run(|| op_scenario(Op::JwtAccessTokens));
}

/// How node-oidc-provider is set up for [`op_scenario`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Its defaults: opaque tokens, a confidential client's refresh token kept.
    Default,
    /// The refresh token rotated on every refresh.
    Rotating,
    /// JWT access tokens, to the `large-tokens` firmware.
    JwtAccessTokens,
}

/// npm ci (if needed), before the namespace, which has no other network.
fn node_oidc_provider_deps() {
    let deps = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("oidc-rp/deps.sh");
    let status = Command::new("bash")
        .arg("-c")
        .arg("source \"$1\"")
        .arg("deps")
        .arg(&deps)
        .status()
        .expect("run deps.sh");
    assert!(status.success(), "node-oidc-provider's dependencies");
}

/// How many refreshes node-oidc-provider has answered with a new refresh
/// token.
async fn rotations() -> u64 {
    let r = browser()
        .get(format!("{OP_ISSUER}/test/rotations"))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = r.json().await.unwrap();
    v["rotations"].as_u64().unwrap()
}

async fn op_scenario(mode: Op) {
    let rotate = mode == Op::Rotating;
    let dir = tempfile::tempdir().unwrap();
    let ca = latch_tests::test_ca();
    let (cert, key) = ca.issue_for_into(dir.path(), "op.test", &["op.test", HOST_ADDR]);
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    // 6 s access tokens, so the refresh comes within the run.
    let mut op_args = vec![
        "--device",
        "--listen",
        OP_LISTEN,
        "--issuer",
        OP_ISSUER,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--access-token-ttl",
        "6",
    ];
    match mode {
        Op::Default => {}
        Op::Rotating => op_args.push("--rotate-refresh-tokens"),
        Op::JwtAccessTokens => {
            op_args.extend(["--jwt-access-tokens", "--openid-configuration-only"])
        }
    }
    let bin = match mode {
        Op::JwtAccessTokens => firmware_large_tokens_bin(),
        _ => firmware_bin(),
    };
    let device = |server: &[String], id: &str, secret: &str, scope: &str, state| {
        firmware(&bin, server, id, secret, scope, state)
    };
    let (mut op, started) = latch_tests::start_peer("oidc-rp/op.sh", &op_args).await;
    assert_eq!(started["issuer"], OP_ISSUER);
    latch_tests::resolve_in_clients("op.test", OP_LISTEN.parse().unwrap());
    let id = started["client_id"].as_str().unwrap();
    let secret = started["client_secret"].as_str().unwrap();
    let server = over_tls(OP_LISTEN, OP_ISSUER, &ca.path);
    let state = dir.path().join("flash.bin");

    if mode == Op::JwtAccessTokens {
        // The default build refuses the JWT (so it is past TOKEN_CAP).
        let refused = read_run(
            firmware(&firmware_bin(), &server, id, secret, "openid", None),
            async |code: &str, uri: &str| approve_at_node(uri, code).await,
        )
        .await;
        assert!(
            refused.has("failed: a token, code or URL longer than the device holds"),
            "{:#?}",
            refused.lines
        );
        assert_eq!(refused.status.code(), Some(1), "{:#?}", refused.lines);
    }

    let first = read_run(
        device(&server, id, secret, "openid", Some(&state)),
        async |code: &str, uri: &str| approve_at_node(uri, code).await,
    )
    .await;
    assert_eq!(
        first.has("no RFC 8414 metadata; trying openid-configuration"),
        mode == Op::JwtAccessTokens,
        "{:#?}",
        first.lines
    );
    first.assert_steps(
        "against node-oidc-provider",
        &[
            "no stored login",
            "endpoints discovered",
            "user_code=",
            "device flow: authorized",
            "bearer call ok",
            "refresh ok",
            "bearer call after refresh ok",
            "done: every step succeeded",
        ],
    );
    println!("device flow to the end: {:?}", first.elapsed);
    let rotated = rotations().await;
    assert_eq!(rotated > 0, rotate, "{rotated} refreshes rotated");

    let resumed = read_run(
        device(&server, id, secret, "openid", Some(&state)),
        async |code: &str, _: &str| panic!("a second device login: {code}"),
    )
    .await;
    resumed.assert_steps(
        "resumed against node-oidc-provider",
        &[
            "resumed: logged in with the stored tokens",
            "bearer call ok",
            "refresh ok",
            "done: every step succeeded",
        ],
    );
    assert!(!resumed.has("endpoints discovered"), "{:#?}", resumed.lines);
    if rotate {
        assert!(rotations().await > rotated, "the resumed refresh rotated");
    }

    // node-oidc-provider restarted: its in-memory store, and with it every
    // grant, is gone. The stored access token gets a 401, the refresh that
    // follows node-oidc-provider's invalid_grant, and the device logs in
    // again.
    op.kill().await.unwrap();
    let (mut op, _) = latch_tests::start_peer("oidc-rp/op.sh", &op_args).await;
    let again = read_run(
        device(&server, id, secret, "openid", Some(&state)),
        async |code: &str, uri: &str| approve_at_node(uri, code).await,
    )
    .await;
    again.assert_steps("after node-oidc-provider forgot the grant", &LOGIN_AGAIN);
    assert!(again.has("bearer call ok"), "{:#?}", again.lines);
    op.kill().await.unwrap();
}

/// What a person does at node-oidc-provider: opens the verification page,
/// types the code, signs in, consents, checks that the confirmation page
/// names the device and shows the same code, and confirms.
async fn approve_at_node(uri: &str, user_code: &str) {
    let b = browser();
    let mut next = (uri.to_owned(), None::<Vec<(String, String)>>);
    let mut confirmed = false;
    for _ in 0..20 {
        let (url, form) = &next;
        let r = match form {
            None => b.get(url),
            Some(fields) => b.post(url).form(fields),
        }
        .send()
        .await
        .unwrap();
        if r.status().is_redirection() {
            let to = r.headers()["location"].to_str().unwrap();
            let to = url::Url::parse(url).unwrap().join(to).unwrap().to_string();
            next = (to, None);
            continue;
        }
        assert_eq!(r.status(), 200, "{url}");
        let html = r.text().await.unwrap();
        if html.contains("<title>Sign-in Success</title>") {
            assert!(confirmed, "success before the confirmation: {html}");
            return;
        }
        let action = latch_tests::form_action(&html, url);
        let mut fields = latch_tests::hidden_inputs(&html);
        if html.contains("op.deviceInputForm") {
            fields.push(("user_code".into(), user_code.into()));
        } else if html.contains("name=\"password\"") {
            fields.extend([
                ("login".into(), "alice".into()),
                ("password".into(), "wonderland".into()),
                ("action".into(), "sign-in".into()),
            ]);
        } else if html.contains("op.deviceConfirmForm") {
            assert!(html.contains("Thermostat"), "names the client: {html}");
            assert!(html.contains(user_code), "shows the code: {html}");
            confirmed = true;
        } else {
            fields.push(("decision".into(), "approve".into()));
        }
        next = (action, Some(fields));
    }
    panic!("lost at node-oidc-provider's pages: {}", next.0);
}

/// How many device authorizations the server has recorded.
async fn device_authorizations(db: &std::path::Path) -> i64 {
    use sqlx::ConnectOptions as _;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .read_only(true)
        .connect()
        .await
        .expect("open the server's database");
    sqlx::query_scalar("SELECT COUNT(*) FROM oauth2_devices")
        .fetch_one(&mut conn)
        .await
        .expect("count device authorizations")
}

/// Where the hostile server listens.
const HOSTILE: &str = "192.168.69.1:8081";

/// Answers like an authorization server whose responses are awkward: see
/// the end of `scenario`.
async fn serve_hostile(listener: tokio::net::TcpListener) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            // The head, then the body its Content-Length announces.
            let body_len = loop {
                let n = conn.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                req.extend_from_slice(&buf[..n]);
                if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..end]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                    break end + 4 + len;
                }
            };
            while req.len() < body_len {
                let n = conn.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                req.extend_from_slice(&buf[..n]);
            }
            let date = httpdate::fmt_http_date(std::time::SystemTime::now());
            if req.starts_with(b"GET /.well-known/oauth-authorization-server ") {
                let json = format!(
                    r#"{{"issuer":"http://{HOSTILE}","token_endpoint":"http://{HOSTILE}/oauth2/token","device_authorization_endpoint":"http://{HOSTILE}/oauth2/device_authorization"}}"#
                );
                let out = format!(
                    "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{json}",
                    json.len()
                );
                let _ = conn.write_all(out.as_bytes()).await;
            } else if req.starts_with(b"POST /oauth2/device_authorization ") {
                // RFC 8628 §3.2's example, interval 1, chunked, in pieces.
                let json = br#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800,"interval":1}"#;
                let mut out = format!(
                    "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                .into_bytes();
                for chunk in json.chunks(37) {
                    out.extend_from_slice(format!("{:x};ext=1\r\n", chunk.len()).as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
                for piece in out.chunks(5) {
                    if conn.write_all(piece).await.is_err() {
                        return;
                    }
                    let _ = conn.flush().await;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            } else {
                let body = format!(
                    "{{\"access_token\":\"{}\",\"token_type\":\"Bearer\"}}",
                    "a".repeat(4000)
                );
                let out = format!(
                    "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(out.as_bytes()).await;
            }
            let _ = conn.shutdown().await;
        });
    }
}
