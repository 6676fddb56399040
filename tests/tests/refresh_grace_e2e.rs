//! The refresh grace window (issue 17, `[oauth2] refresh_grace_seconds`)
//! against a real `latch serve`, on every backend in [`backends`] (side by
//! side, so the waits past the window are paid once per test).
//!
//! With a 2-second window the client that lost a refresh answer presents
//! the rotated-out token again and gets another pair, and two simultaneous
//! refreshes with one token both succeed; past the window the replay is
//! reuse and revokes the family. Without a window (the default) two
//! simultaneous refreshes are exactly one success and a revoked family.

use latch_tests::{Backend, Client, Server, backends, browser, hidden_inputs, http, param};
use serde_json::Value;
use std::time::Duration;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// RFC 7636 appendix B.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The window the grace tests configure, seconds.
const GRACE: u64 = 2;

/// Runs `body` once per backend, all at once.
async fn on_every_backend<F, Fut>(body: F)
where
    F: Fn(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    futures::future::join_all(backends().into_iter().map(body)).await;
}

/// A server with `config`, a confidential client and alice.
async fn setup(backend: Backend, config: &str) -> (Server, Client) {
    let server = Server::start_configured(backend, false, config).await;
    let c = server.add_client(&[
        "--name",
        "Grace App",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "read",
    ]);
    server.add_user("alice", "wonderland");
    (server, c)
}

/// A POST to the token endpoint as `c`: status and JSON.
async fn token(server: &Server, c: &Client, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    (status, r.json().await.expect("token JSON"))
}

/// The refresh grant with `rt`: status and JSON.
async fn refresh(server: &Server, c: &Client, rt: &str) -> (u16, Value) {
    token(
        server,
        c,
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

/// A refresh that must succeed: the new (access token, refresh token).
async fn refreshed(server: &Server, c: &Client, rt: &str, what: &str) -> (String, String) {
    let (status, v) = refresh(server, c, rt).await;
    assert_eq!(status, 200, "{what}: {v}");
    (
        v["access_token"].as_str().expect("access_token").to_owned(),
        v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    )
}

/// Asserts that refreshing with `rt` is `invalid_grant`.
async fn refused(server: &Server, c: &Client, rt: &str, what: &str) {
    let (status, v) = refresh(server, c, rt).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{what}: {v}"
    );
}

/// Whether `token` introspects active (for its own client).
async fn active(server: &Server, c: &Client, token: &str) -> bool {
    let v: Value = http()
        .post(server.url("/oauth2/introspect"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("token", token)])
        .send()
        .await
        .expect("introspect")
        .json()
        .await
        .expect("introspection JSON");
    v["active"].as_bool().expect("active")
}

/// The authorization-code flow as alice: (access token, refresh token).
async fn code_flow(server: &Server, c: &Client) -> (String, String) {
    let b = browser();
    let mut page_url = url::Url::parse(&server.url("/oauth2/authorize")).expect("url");
    page_url
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &c.id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "read")
        .append_pair("state", "st4te")
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let page = b.get(page_url.as_str()).send().await.expect("consent page");
    assert_eq!(page.status(), 200, "consent page");
    let mut fields = hidden_inputs(&page.text().await.expect("page"));
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    fields.push(("decision".into(), "approve".into()));
    let resp = b
        .post(server.url("/oauth2/authorize"))
        .form(&fields)
        .send()
        .await
        .expect("submit consent");
    assert_eq!(resp.status(), 303, "alice approves");
    let q = latch_tests::location_params(&resp);
    let code = param(&q, "code").expect("a code").to_owned();
    let (status, v) = token(
        server,
        c,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .await;
    assert_eq!(status, 200, "code exchange: {v}");
    (
        v["access_token"].as_str().expect("access_token").to_owned(),
        v["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    )
}

/// Within the window a replay of the rotated-out token gets a new pair and
/// the family lives (both successors work, the old token is inactive);
/// past it the replay is `invalid_grant` and the whole family is revoked,
/// the newest refresh token included.
#[tokio::test]
async fn replay_within_the_window_succeeds_and_after_it_revokes_the_family() {
    on_every_backend(|backend| async move {
        let (server, c) = setup(
            backend,
            &format!("[oauth2]\nrefresh_grace_seconds = {GRACE}\n"),
        )
        .await;
        let (_, rt1) = code_flow(&server, &c).await;
        let (at2, rt2) = refreshed(&server, &c, &rt1, "first refresh").await;
        let (at3, rt3) = refreshed(&server, &c, &rt1, "the same token again, in the window").await;
        assert_ne!(rt2, rt3, "a new refresh token each time");
        assert_ne!(at2, at3);
        assert!(
            !active(&server, &c, &rt1).await,
            "the old token is rotated out"
        );
        for t in [&at2, &rt2, &at3, &rt3] {
            assert!(active(&server, &c, t).await, "the family lives: {t}");
        }
        // Past the window (counted from the first rotation, in whole
        // seconds): reuse.
        tokio::time::sleep(Duration::from_secs(GRACE + 1)).await;
        refused(&server, &c, &rt1, "the old token after the window").await;
        refused(
            &server,
            &c,
            &rt3,
            "the newest refresh token after the reuse",
        )
        .await;
        refused(&server, &c, &rt2, "the first successor after the reuse").await;
        assert!(!active(&server, &c, &at3).await, "the family is revoked");
    })
    .await;
}

/// Two refreshes with one token at once, with a window: both 200, and both
/// new refresh tokens rotate in turn. The interleaving cannot be forced
/// from outside: in about half of such pairs both requests read the live
/// token before either writes (without a window the loser then answers
/// "grant was already used", the conflict, rather than "refresh token was
/// already used"), so eight rounds all but surely take the retirement
/// `UPDATE`'s grace path as well as the core's.
#[tokio::test]
async fn simultaneous_refreshes_within_the_window_both_succeed() {
    on_every_backend(|backend| async move {
        let (server, c) = setup(
            backend,
            &format!("[oauth2]\nrefresh_grace_seconds = {GRACE}\n"),
        )
        .await;
        for round in 0..8 {
            let (_, rt) = code_flow(&server, &c).await;
            let (a, b) = tokio::join!(refresh(&server, &c, &rt), refresh(&server, &c, &rt));
            assert_eq!((a.0, b.0), (200, 200), "round {round}: {a:?} {b:?}");
            let (rt_a, rt_b) = (
                a.1["refresh_token"].as_str().expect("refresh_token"),
                b.1["refresh_token"].as_str().expect("refresh_token"),
            );
            assert_ne!(rt_a, rt_b);
            refreshed(&server, &c, rt_a, "the first new refresh token").await;
            refreshed(&server, &c, rt_b, "the second new refresh token").await;
        }
    })
    .await;
}

/// Two refreshes with one token at once, without a window (the default):
/// exactly one 200, the other `invalid_grant` — a reuse, concurrent or
/// not — and the winner's new refresh token is revoked with the family.
#[tokio::test]
async fn simultaneous_refreshes_without_a_window_revoke_the_family() {
    on_every_backend(|backend| async move {
        let (server, c) = setup(backend, "").await;
        let (_, rt) = code_flow(&server, &c).await;
        let (a, b) = tokio::join!(refresh(&server, &c, &rt), refresh(&server, &c, &rt));
        let wins: Vec<&(u16, Value)> = [&a, &b].into_iter().filter(|r| r.0 == 200).collect();
        assert_eq!(wins.len(), 1, "exactly one refresh succeeds: {a:?} {b:?}");
        let lost = if a.0 == 200 { &b } else { &a };
        assert_eq!(lost.1["error"], "invalid_grant", "{lost:?}");
        let winner = wins[0].1["refresh_token"].as_str().expect("refresh_token");
        refused(&server, &c, winner, "the winner's refresh token").await;
        let access = wins[0].1["access_token"].as_str().expect("access_token");
        assert!(!active(&server, &c, access).await, "the family is revoked");
    })
    .await;
}
