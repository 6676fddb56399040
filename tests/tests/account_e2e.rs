//! `/account` against a real `latch serve`, driven over HTTP as a browser
//! would (cookies kept, redirects not followed, hidden inputs read): the
//! connected apps a user granted and their revocation, the login sessions
//! and ending one, and the sign-in form. Runs on SQLite and, when
//! available, PostgreSQL.

use latch_tests::{
    Client, Server, backends, browser, hidden_inputs, http, location_params, param, submit_consent,
};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
// RFC 7636 appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A server with alice and bob and two confidential clients, Photo App and
/// Notes App, both allowed `read write`.
async fn setup(backend: latch_tests::Backend) -> (Server, Client, Client) {
    let server = Server::start_with(backend).await;
    let add = |name: &str| {
        server.add_client(&[
            "--name",
            name,
            "--redirect-uri",
            REDIRECT,
            "--scope",
            "read write",
        ])
    };
    let (photo, notes) = (add("Photo App"), add("Notes App"));
    server.add_user("alice", "wonderland");
    server.add_user("bob", "builder");
    (server, photo, notes)
}

/// An access and a refresh token.
#[derive(Debug, Clone)]
struct Tokens {
    access: String,
    refresh: String,
}

/// The authorization-code flow with PKCE for `read write` in browser `b`:
/// logs `login` in on the consent page unless `b` already has a session,
/// approves, and exchanges the code.
async fn approve(server: &Server, b: &reqwest::Client, c: &Client, login: (&str, &str)) -> Tokens {
    let url = server.url(&format!(
        "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&scope=read%20write&state=s1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        c.id
    ));
    let page = b.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200, "consent page");
    let page = page.text().await.unwrap();
    let signed_in = page.contains(&format!("Signed in as <strong>{}</strong>", login.0));
    let r = submit_consent(
        b,
        &server.url("/oauth2/authorize"),
        &page,
        (!signed_in).then_some(login),
        "approve",
        &[],
    )
    .await;
    assert_eq!(r.status(), 303, "approval redirects");
    let q = location_params(&r);
    assert_eq!(param(&q, "state"), Some("s1"));
    let code = param(&q, "code").expect("a code").to_owned();
    let r = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "code exchange");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["scope"], "read write", "{v}");
    Tokens {
        access: v["access_token"].as_str().expect("access_token").to_owned(),
        refresh: v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

/// A refresh-token grant: the status and the JSON answer.
async fn refresh(server: &Server, c: &Client, token: &str) -> (u16, Value) {
    let r = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Refreshes and expects success: the rotated tokens.
async fn refresh_ok(server: &Server, c: &Client, t: &Tokens) -> Tokens {
    let (status, v) = refresh(server, c, &t.refresh).await;
    assert_eq!(status, 200, "the refresh token still works: {v}");
    Tokens {
        access: v["access_token"].as_str().expect("access_token").to_owned(),
        refresh: v["refresh_token"]
            .as_str()
            .unwrap_or(t.refresh.as_str())
            .to_owned(),
    }
}

/// Refreshes and expects `invalid_grant`.
async fn refresh_refused(server: &Server, c: &Client, t: &Tokens) {
    let (status, v) = refresh(server, c, &t.refresh).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "a revoked refresh token: {v}"
    );
}

/// `GET /api/ping` with a bearer token: the status.
async fn ping(server: &Server, access: &str) -> u16 {
    http()
        .get(server.url("/api/ping"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `GET /account` in browser `b`: 200 and the HTML.
async fn account(server: &Server, b: &reqwest::Client) -> String {
    let r = b.get(server.url("/account")).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET /account");
    r.text().await.unwrap()
}

/// Whether a page is the sign-in form.
fn is_sign_in(html: &str) -> bool {
    html.contains("action=\"/account/login\"") && html.contains("name=\"password\"")
}

/// One connected app as the page lists it.
#[derive(Debug)]
struct Listed {
    name: String,
    scopes: Vec<String>,
    /// The revoke form's hidden inputs.
    form: Vec<(String, String)>,
    /// The revoke button's accessible name.
    aria_label: String,
}

fn sel(s: &str) -> scraper::Selector {
    scraper::Selector::parse(s).unwrap()
}

fn hidden_of(e: scraper::ElementRef<'_>) -> Vec<(String, String)> {
    e.select(&sel("input[type=hidden]"))
        .filter_map(|i| {
            Some((
                i.attr("name")?.to_owned(),
                i.attr("value").unwrap_or("").to_owned(),
            ))
        })
        .collect()
}

/// The connected apps on an `/account` page.
fn apps(html: &str) -> Vec<Listed> {
    let doc = scraper::Html::parse_document(html);
    doc.select(&sel("li.app"))
        .map(|li| Listed {
            name: li
                .select(&sel("strong"))
                .next()
                .map(|s| s.text().collect())
                .unwrap_or_default(),
            scopes: li
                .select(&sel("code"))
                .map(|s| s.text().collect())
                .collect(),
            form: li
                .select(&sel("form[action=\"/account/revoke\"]"))
                .next()
                .map(hidden_of)
                .unwrap_or_default(),
            aria_label: li
                .select(&sel("button"))
                .next()
                .and_then(|b| b.attr("aria-label"))
                .unwrap_or("")
                .to_owned(),
        })
        .collect()
}

/// The login sessions on an `/account` page: (is this browser's, the end
/// form's hidden inputs).
fn sessions(html: &str) -> Vec<(bool, Vec<(String, String)>)> {
    let doc = scraper::Html::parse_document(html);
    doc.select(&sel("li.session"))
        .map(|li| {
            let text: String = li.text().collect();
            let form = li
                .select(&sel("form[action=\"/account/sessions/end\"]"))
                .next()
                .map(hidden_of)
                .unwrap_or_default();
            (text.contains("(this browser)"), form)
        })
        .collect()
}

fn csrf_of(html: &str) -> String {
    let h = hidden_inputs(html);
    param(&h, "csrf").expect("a csrf input").to_owned()
}

/// The text of the page's error alert.
fn alert(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    doc.select(&sel("[role=alert]"))
        .next()
        .map(|e| e.text().collect())
        .unwrap_or_default()
}

async fn post_revoke(
    server: &Server,
    b: &reqwest::Client,
    form: &[(String, String)],
) -> reqwest::Response {
    b.post(server.url("/account/revoke"))
        .form(form)
        .send()
        .await
        .unwrap()
}

fn location(r: &reqwest::Response) -> &str {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Signs in on `/account` in browser `b`.
async fn sign_in(server: &Server, b: &reqwest::Client, user: &str, pw: &str) -> reqwest::Response {
    let page = account(server, b).await;
    assert!(is_sign_in(&page), "the sign-in form: {page}");
    let mut f = hidden_inputs(&page);
    f.push(("username".into(), user.into()));
    f.push(("password".into(), pw.into()));
    b.post(server.url("/account/login"))
        .form(&f)
        .send()
        .await
        .unwrap()
}

/// The page lists what alice approved (name and scopes); revoking it
/// through the page's form ends its refresh token and its access token at
/// once; a revoke POST without or with a wrong CSRF token changes nothing.
#[tokio::test]
async fn revoking_a_connected_app_ends_its_tokens_at_once() {
    for backend in backends() {
        let (server, photo, _) = setup(backend).await;
        let b = browser();
        let mut t = approve(&server, &b, &photo, ("alice", "wonderland")).await;

        let page = account(&server, &b).await;
        assert!(
            page.contains("Signed in as <strong>alice</strong>"),
            "{page}"
        );
        let listed = apps(&page);
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].name, "Photo App");
        assert_eq!(listed[0].scopes, ["read", "write"]);
        assert_eq!(listed[0].aria_label, "Revoke access for Photo App");
        assert_eq!(param(&listed[0].form, "client_id"), Some(photo.id.as_str()));
        let csrf = param(&listed[0].form, "csrf").unwrap().to_owned();
        assert_eq!(csrf, csrf_of(&page), "one CSRF token per page");

        // Without a CSRF token, and with a wrong one: 400, nothing revoked.
        let no_csrf = vec![("client_id".to_owned(), photo.id.clone())];
        let r = post_revoke(&server, &b, &no_csrf).await;
        assert_eq!(r.status(), 400, "revoke without csrf");
        let mut wrong = no_csrf.clone();
        wrong.push(("csrf".into(), format!("{csrf}x")));
        let r = post_revoke(&server, &b, &wrong).await;
        assert_eq!(r.status(), 400, "revoke with a wrong csrf");
        // ...nor from a browser without the CSRF cookie, with the page's token.
        let r = post_revoke(&server, &browser(), &listed[0].form).await;
        assert_eq!(r.status(), 400, "revoke from another browser");
        t = refresh_ok(&server, &photo, &t).await;
        assert_eq!(ping(&server, &t.access).await, 200);
        assert_eq!(apps(&account(&server, &b).await).len(), 1, "still listed");

        // The real revoke.
        let r = post_revoke(&server, &b, &listed[0].form).await;
        assert_eq!(r.status(), 303, "revoke answers 303");
        assert_eq!(location(&r), "/account");
        let page = account(&server, &b).await;
        assert!(apps(&page).is_empty(), "no longer listed: {page}");
        assert!(!page.contains("Photo App"), "{page}");
        assert!(page.contains("No app has access to your account."));
        assert_eq!(
            ping(&server, &t.access).await,
            401,
            "the access token is refused at once, not after the cache's lifetime"
        );
        refresh_refused(&server, &photo, &t).await;

        // Approving again lists it again: revocation is not a ban.
        let t = approve(&server, &b, &photo, ("alice", "wonderland")).await;
        assert_eq!(ping(&server, &t.access).await, 200);
        assert_eq!(apps(&account(&server, &b).await).len(), 1);
    }
}

/// Bob's grants are not on alice's page, and alice's revoke POST naming a
/// client bob granted revokes only alice's own grant of it.
#[tokio::test]
async fn other_users_grants_are_neither_shown_nor_revocable() {
    for backend in backends() {
        let (server, photo, notes) = setup(backend).await;
        let alice = browser();
        let bob = browser();
        let alice_photo = approve(&server, &alice, &photo, ("alice", "wonderland")).await;
        let bob_photo = approve(&server, &bob, &photo, ("bob", "builder")).await;
        let bob_notes = approve(&server, &bob, &notes, ("bob", "builder")).await;

        let page = account(&server, &alice).await;
        let names: Vec<String> = apps(&page).into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["Photo App"], "only alice's own grants");
        assert!(
            !page.contains("Notes App") && !page.contains("bob"),
            "{page}"
        );
        let page_b = account(&server, &bob).await;
        let mut names: Vec<String> = apps(&page_b).into_iter().map(|a| a.name).collect();
        names.sort();
        assert_eq!(names, ["Notes App", "Photo App"]);

        // Alice names Notes App, which only bob granted: nothing of bob's goes.
        let form = vec![
            ("client_id".to_owned(), notes.id.clone()),
            ("csrf".to_owned(), csrf_of(&page)),
        ];
        let r = post_revoke(&server, &alice, &form).await;
        assert_eq!(
            r.status(),
            303,
            "revoking a client alice never granted revokes nothing of hers, and nothing else"
        );
        let bob_notes = refresh_ok(&server, &notes, &bob_notes).await;
        assert_eq!(ping(&server, &bob_notes.access).await, 200);

        // Alice revokes Photo App: hers goes, bob's stays.
        let form = vec![
            ("client_id".to_owned(), photo.id.clone()),
            ("csrf".to_owned(), csrf_of(&page)),
        ];
        let r = post_revoke(&server, &alice, &form).await;
        assert_eq!(r.status(), 303);
        refresh_refused(&server, &photo, &alice_photo).await;
        assert_eq!(ping(&server, &alice_photo.access).await, 401);
        assert_eq!(ping(&server, &bob_photo.access).await, 200, "bob's stays");
        refresh_ok(&server, &photo, &bob_photo).await;
        assert_eq!(apps(&account(&server, &bob).await).len(), 2);
    }
}

/// Two logins are two sessions; one browser ends the other's, which is
/// then signed out; the page's own session is marked.
#[tokio::test]
async fn ending_another_session_signs_that_browser_out() {
    for backend in backends() {
        let (server, _, _) = setup(backend).await;
        let first = browser();
        let second = browser();
        for b in [&first, &second] {
            let r = sign_in(&server, b, "alice", "wonderland").await;
            assert_eq!(r.status(), 303, "sign-in answers 303");
            assert_eq!(location(&r), "/account");
        }
        // Bob's session is not alice's business.
        let bob = browser();
        assert_eq!(sign_in(&server, &bob, "bob", "builder").await.status(), 303);

        let page = account(&server, &first).await;
        assert!(
            page.contains("Signed in as <strong>alice</strong>"),
            "{page}"
        );
        let listed = sessions(&page);
        assert_eq!(listed.len(), 2, "alice's two sessions: {page}");
        assert_eq!(
            listed.iter().filter(|(this, _)| *this).count(),
            1,
            "exactly one is this browser's"
        );
        let (_, other) = listed.iter().find(|(this, _)| !this).unwrap();
        assert!(param(other, "csrf").is_some() && param(other, "session").is_some());

        // A forged end-session POST is refused.
        let mut forged = other.clone();
        forged.retain(|(k, _)| k != "csrf");
        forged.push(("csrf".into(), "forged".into()));
        let r = first
            .post(server.url("/account/sessions/end"))
            .form(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(!is_sign_in(&account(&server, &second).await));

        let r = first
            .post(server.url("/account/sessions/end"))
            .form(other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/account");
        let page = account(&server, &second).await;
        assert!(is_sign_in(&page), "the other browser is signed out: {page}");
        let page = account(&server, &first).await;
        assert!(!is_sign_in(&page), "this one is not");
        assert_eq!(sessions(&page).len(), 1);
        assert!(
            !is_sign_in(&account(&server, &bob).await),
            "bob's untouched"
        );
    }
}

/// A wrong password on `/account/login` is a 401 page with the consent
/// page's message; a disabled user is signed out and cannot sign in.
#[tokio::test]
async fn sign_in_refusals() {
    for backend in backends() {
        let (server, photo, _) = setup(backend).await;

        // The consent page's message for a wrong password.
        let b = browser();
        let url = server.url(&format!(
            "/oauth2/authorize?response_type=code&client_id={}&redirect_uri={REDIRECT}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            photo.id
        ));
        let page = b.get(&url).send().await.unwrap().text().await.unwrap();
        let r = submit_consent(
            &b,
            &server.url("/oauth2/authorize"),
            &page,
            Some(("alice", "wrong")),
            "approve",
            &[],
        )
        .await;
        assert_eq!(r.status(), 401);
        let consent_message = alert(&r.text().await.unwrap());
        assert_eq!(consent_message, "Invalid username or password.");

        let b = browser();
        let r = sign_in(&server, &b, "alice", "wrong").await;
        assert_eq!(r.status(), 401, "wrong password");
        let page = r.text().await.unwrap();
        assert_eq!(alert(&page), consent_message, "the same words: {page}");
        assert!(is_sign_in(&page), "the form again");
        let r = sign_in(&server, &b, "nobody", "wrong").await;
        assert_eq!(r.status(), 401, "unknown user");
        assert_eq!(alert(&r.text().await.unwrap()), consent_message);
        assert!(is_sign_in(&account(&server, &b).await), "no session made");

        // Signed in, then disabled: signed out and refused.
        let signed_in = browser();
        assert_eq!(
            sign_in(&server, &signed_in, "alice", "wonderland")
                .await
                .status(),
            303
        );
        assert!(!is_sign_in(&account(&server, &signed_in).await));
        let mut args = vec!["user", "disable", "alice"];
        args.extend(server.db_args.iter().map(String::as_str));
        latch_tests::latch(&args);
        assert!(
            is_sign_in(&account(&server, &signed_in).await),
            "disabling ends the user's sessions"
        );
        let b = browser();
        let r = sign_in(&server, &b, "alice", "wonderland").await;
        assert_eq!(r.status(), 401, "a disabled user cannot sign in");
        assert_eq!(alert(&r.text().await.unwrap()), consent_message);
        assert!(is_sign_in(&account(&server, &b).await));
        // Bob still can.
        assert_eq!(sign_in(&server, &b, "bob", "builder").await.status(), 303);
    }
}
