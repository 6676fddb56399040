//! `/account` in a real headless browser: Debian's Chromium driven through
//! chromedriver by fantoccini (WebDriver). The browser itself runs the
//! authorization-code flow (types the password into the fields its labels
//! name, clicks Approve, follows the redirect to a loopback callback this
//! test answers), then opens `/account`, which must list the app with its
//! scopes, label every field and name every button, and revoke the app
//! with one click. `scripts/test.sh` installs `chromium` and
//! `chromium-driver`.

use fantoccini::{Client as WebDriver, ClientBuilder, Locator};
use latch_tests::{Server, free_port, http, param};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
// RFC 7636 appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const WAIT: Duration = Duration::from_secs(20);

/// A running chromedriver, in a process group of its own so that dropping
/// it ends the Chromium it started too (even when a test panics before
/// closing its session).
struct Chromedriver {
    child: std::process::Child,
    url: String,
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0)).
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails (never skips) when the browser is missing: the test command
/// installs it.
fn require_browser() {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: run scripts/test.sh, which installs Debian's `chromium` and \
             `chromium-driver` (or apt-get install chromium chromium-driver)"
        );
    }
}

/// Starts chromedriver on a free loopback port and waits until it is ready.
async fn chromedriver(log: &Path) -> Chromedriver {
    use std::os::unix::process::CommandExt;
    require_browser();
    let port = free_port();
    let child = std::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromedriver");
    let mut d = Chromedriver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(r) = http().get(format!("{}/status", d.url)).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            return d;
        }
        if let Ok(Some(status)) = d.child.try_wait() {
            panic!(
                "chromedriver exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromedriver not ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A new headless Chromium session with a fresh profile in `profile`.
async fn open_browser(driver: &Chromedriver, profile: &Path) -> WebDriver {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let c = ClientBuilder::rustls()
        .expect("rustls connector")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session");
    c.set_window_size(1000, 900).await.expect("window size");
    c
}

/// An HTTP listener on loopback that answers every request with a small
/// page and sends each request target (path and query) on the channel:
/// the client's redirect URI.
async fn callback_listener() -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind callback");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
                        Ok(Ok(n)) if n > 0 => head.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                }
                let head = String::from_utf8_lossy(&head);
                if let Some(target) = head.split(' ').nth(1) {
                    let _ = tx.send(target.to_owned());
                }
                let body = "<!doctype html><title>Callback</title><p>Done.</p>";
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                        .as_bytes(),
                    )
                    .await;
            });
        }
    });
    (port, rx)
}

/// Types `text` into the field that the label reading `label` names by its
/// `for` attribute.
async fn fill_by_label(c: &WebDriver, label: &str, text: &str) {
    let l = c
        .find(Locator::XPath(&format!(
            "//label[normalize-space()='{label}']"
        )))
        .await
        .unwrap_or_else(|e| panic!("a label {label:?}: {e}"));
    let id = l
        .attr("for")
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("label {label:?} has a for"));
    c.find(Locator::Id(&id))
        .await
        .unwrap_or_else(|e| panic!("the field #{id} label {label:?} names: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Every `<input>` that is not hidden has a `<label for>` with text naming
/// its id, or an aria-label; every `<button>` has text or an aria-label.
/// Returns how many fields and buttons were checked.
async fn assert_accessible(c: &WebDriver, page: &str) -> (usize, usize) {
    let mut labels = Vec::new();
    for l in c.find_all(Locator::Css("label")).await.unwrap() {
        if let Some(f) = l.attr("for").await.unwrap() {
            labels.push((f, l.text().await.unwrap().trim().to_owned()));
        }
    }
    let mut problems = Vec::new();
    let mut fields = 0;
    for i in c.find_all(Locator::Css("input")).await.unwrap() {
        let ty = i.attr("type").await.unwrap().unwrap_or_default();
        if ty.eq_ignore_ascii_case("hidden") {
            continue;
        }
        fields += 1;
        let id = i.attr("id").await.unwrap().unwrap_or_default();
        let aria = i.attr("aria-label").await.unwrap().unwrap_or_default();
        let labelled = !id.is_empty() && labels.iter().any(|(f, t)| *f == id && !t.is_empty());
        if !labelled && aria.trim().is_empty() {
            problems.push(i.html(false).await.unwrap());
        }
    }
    let buttons = c.find_all(Locator::Css("button")).await.unwrap();
    for b in &buttons {
        let text = b.text().await.unwrap();
        let aria = b.attr("aria-label").await.unwrap().unwrap_or_default();
        if text.trim().is_empty() && aria.trim().is_empty() {
            problems.push(b.html(false).await.unwrap());
        }
    }
    assert!(
        problems.is_empty(),
        "{page}: unlabelled fields or unnamed buttons: {problems:#?}"
    );
    (fields, buttons.len())
}

/// The names and scopes of the connected apps the page shows.
async fn listed_apps(c: &WebDriver) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for li in c.find_all(Locator::Css("li.app")).await.unwrap() {
        let name = li.find(Locator::Css("strong")).await.unwrap().text().await;
        let mut scopes = Vec::new();
        for code in li.find_all(Locator::Css("code")).await.unwrap() {
            scopes.push(code.text().await.unwrap());
        }
        out.push((name.unwrap(), scopes));
    }
    out
}

async fn refresh(server: &Server, c: &latch_tests::Client, token: &str) -> (u16, Value) {
    let r = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn account_page_in_headless_chromium() {
    require_browser();
    let dir = tempfile::tempdir().expect("tempdir");
    let driver = chromedriver(&dir.path().join("chromedriver.log")).await;
    let (cb_port, mut callbacks) = callback_listener().await;
    let redirect = format!("http://127.0.0.1:{cb_port}/cb");

    let server = Server::start().await;
    server.add_user("alice", "wonderland");
    let photo = server.add_client(&[
        "--name",
        "Photo App",
        "--redirect-uri",
        &redirect,
        "--scope",
        "read write",
    ]);

    let profile = dir.path().join("profile");
    std::fs::create_dir(&profile).unwrap();
    let c = open_browser(&driver, &profile).await;

    // A fresh profile has no cookies: /account is the sign-in form.
    c.goto(&server.url("/account")).await.unwrap();
    c.find(Locator::Css("form[action=\"/account/login\"]"))
        .await
        .expect("the sign-in form");
    let (fields, buttons) = assert_accessible(&c, "/account sign-in").await;
    assert_eq!((fields, buttons), (2, 1), "username, password; Sign in");

    // The code flow in the browser.
    let authorize = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={redirect}&scope=read%20write&state=b1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        photo.id
    ));
    c.goto(&authorize).await.unwrap();
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await;
    assert_eq!(h1.unwrap(), "Photo App wants to access your account");
    assert_accessible(&c, "consent page").await;
    fill_by_label(&c, "Username", "alice").await;
    fill_by_label(&c, "Password", "wonderland").await;
    c.find(Locator::XPath("//button[normalize-space()='Approve']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let target = loop {
        let t = tokio::time::timeout(WAIT, callbacks.recv())
            .await
            .expect("the browser reached the redirect URI in time")
            .expect("callback listener running");
        if t.starts_with("/cb?") {
            break t;
        }
    };
    let q: Vec<(String, String)> = url::Url::parse(&format!("http://x{target}"))
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(param(&q, "state"), Some("b1"), "{target}");
    let code = param(&q, "code").expect("a code in the callback");
    let tokens: Value = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&photo.id, Some(&photo.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect.as_str()),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh_token = tokens["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("tokens: {tokens}"))
        .to_owned();

    // The account page, signed in by the consent page's login.
    c.goto(&server.url("/account")).await.unwrap();
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await;
    assert_eq!(h1.unwrap(), "Your account");
    assert_eq!(
        listed_apps(&c).await,
        [(
            "Photo App".to_owned(),
            vec!["read".to_owned(), "write".to_owned()]
        )]
    );
    let (_, buttons) = assert_accessible(&c, "/account").await;
    assert_eq!(buttons, 2, "Revoke access; End session");
    let png = c.screenshot().await.expect("screenshot");
    let shot = dir.path().join("account.png");
    std::fs::write(&shot, &png).unwrap();
    let written = std::fs::read(&shot).unwrap();
    assert!(
        written.len() > 1000 && written.starts_with(b"\x89PNG\r\n\x1a\n"),
        "a PNG screenshot ({} bytes)",
        written.len()
    );
    if let Some(keep) = std::env::var_os("LATCH_SCREENSHOT_DIR") {
        std::fs::write(Path::new(&keep).join("account.png"), &png).unwrap();
    }

    // One click revokes it; the 303 lands back on /account.
    let revoke = c
        .find(Locator::Css(
            "button[aria-label=\"Revoke access for Photo App\"]",
        ))
        .await
        .expect("a Revoke access button named for the app");
    assert_eq!(revoke.text().await.unwrap(), "Revoke access");
    revoke.click().await.unwrap();
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(
            "//p[normalize-space()='No app has access to your account.']",
        ))
        .await
        .expect("the page after revoking says no app has access");
    let now = c.current_url().await.unwrap();
    assert_eq!(now.path(), "/account");
    assert!(listed_apps(&c).await.is_empty());
    let source = c.source().await.unwrap();
    assert!(!source.contains("Photo App"), "{source}");
    let (status, v) = refresh(&server, &photo, &refresh_token).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );

    c.close().await.expect("close the session");
}

/// Issue 15 / DESIGN.md "Consumer side": the consumer's login in a real
/// browser, where the provider's redirect back to the callback is a
/// cross-site navigation — the example app is reached as `localhost`, the
/// provider (`latch serve`) as `127.0.0.1`, two sites — so the session
/// cookie the callback needs must be `SameSite=Lax` (Chromium withholds
/// `Strict` cookies there, which a test's cookie jar would not show). The
/// browser types the password, clicks Approve, comes back through the
/// callback and shows the private page; the cookie's attributes are read
/// back from the browser.
#[tokio::test]
async fn consumer_login_in_headless_chromium_across_sites() {
    use tokio::io::AsyncBufReadExt;
    require_browser();
    let dir = tempfile::tempdir().expect("tempdir");
    let driver = chromedriver(&dir.path().join("chromedriver.log")).await;
    let server = Server::start().await;
    server.add_user("alice", "wonderland");
    let port = free_port();
    let public = format!("http://localhost:{port}");
    let client = server.add_client(&[
        "--name",
        "Cross-site App",
        "--redirect-uri",
        &format!("{public}/callback"),
        "--scope",
        "profile",
    ]);
    let mut app = tokio::process::Command::new(latch_tests::consumer_example_bin())
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--public-url",
            &public,
        ])
        .args(["--provider", &server.base, "--protocol", "oauth2"])
        .arg(format!("--client-id={}", client.id))
        .arg(format!("--client-secret={}", client.secret))
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the example app");
    let mut lines = tokio::io::BufReader::new(app.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("the app started in time")
        .unwrap()
        .expect("a line");
    assert!(first.starts_with("listening on"), "{first}");

    let profile = dir.path().join("profile");
    std::fs::create_dir(&profile).unwrap();
    let c = open_browser(&driver, &profile).await;
    c.goto(&format!("{public}/private")).await.unwrap();
    // At the provider (another site): its consent page.
    let at = c.current_url().await.unwrap();
    assert_eq!(at.host_str(), Some("127.0.0.1"), "{at}");
    let h1 = c.find(Locator::Css("h1")).await.unwrap().text().await;
    assert_eq!(h1.unwrap(), "Cross-site App wants to access your account");
    fill_by_label(&c, "Username", "alice").await;
    fill_by_label(&c, "Password", "wonderland").await;
    c.find(Locator::XPath("//button[normalize-space()='Approve']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the app, through the callback, logged in.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let url = c.current_url().await.unwrap();
        if url.host_str() == Some("localhost") && url.path() == "/private" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "stuck at {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("User: alice"), "{body}");
    let cookie = c
        .get_named_cookie("latch_consumer_session")
        .await
        .expect("the session cookie");
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Lax));
    assert_eq!(cookie.http_only(), Some(true));
    c.close().await.unwrap();
    app.kill().await.unwrap();
}
