//! OAuth 1.0a's three legs against a real `latch serve`, signed by
//! latch-core and, independently, by the `oauth1-request` crate; the login
//! + consent form driven as a browser would.

use latch_core::UnixTime;
use latch_core::oauth1::{ConsumerConfig, Login, SignatureMethod};
use latch_tests::{
    Backend, Client, Server, approve_oauth1, backends, browser, location_params, now,
    post_authorized, submit_consent, written,
};
use std::num::NonZeroU64;

const CALLBACK: &str = "https://printer.example.com/ready";

fn nonce() -> String {
    format!(
        "n{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A server (over TLS with `tls`) with the Photo Printer client and alice.
async fn setup(backend: Backend, tls: bool) -> (Server, Client) {
    let server = if tls {
        Server::start_tls(backend).await
    } else {
        Server::start_with(backend).await
    };
    let client = server.add_client(&[
        "--name",
        "Photo Printer",
        "--redirect-uri",
        CALLBACK,
        "--scope",
        "photos",
    ]);
    server.add_user("alice", "wonderland");
    (server, client)
}

/// Logs in through the HTML form, which must name the client, and returns
/// the callback's query.
async fn approve_in_browser(server: &Server, token: &str) -> Vec<(String, String)> {
    let (html, callback) = approve_oauth1(server, token).await;
    assert!(html.contains("Photo Printer"), "the page names the client");
    callback
}

#[tokio::test]
async fn three_legs_signed_by_latch_core() {
    for backend in backends() {
        three_legs_signed_by_latch_core_on(backend, false).await;
    }
}

/// The same against `latch serve` over https: the base string carries the
/// `https` scheme (RFC 5849 §3.4.1.2).
#[tokio::test]
async fn three_legs_signed_by_latch_core_over_https() {
    for backend in backends() {
        three_legs_signed_by_latch_core_on(backend, true).await;
    }
}

async fn three_legs_signed_by_latch_core_on(backend: Backend, tls: bool) {
    let (server, client) = setup(backend, tls).await;
    assert_eq!(server.base.starts_with("https://"), tls);
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
    let http = latch_tests::http();
    let login = Login::new(config);
    let auth = written(|w| login.authorization(UnixTime(now()), &nonce(), w).unwrap());
    let (status, body) = post_authorized(login.url(), &auth).await;
    let pending = login.handle_response::<128>(status, &body).unwrap();

    let callback = approve_in_browser(&server, &pending.parts().token).await;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&callback)
        .finish();
    let authorized = pending.handle_callback(query.as_bytes()).unwrap();

    let auth = written(|w| {
        authorized
            .authorization(UnixTime(now()), &nonce(), w)
            .unwrap()
    });
    let (status, body) = post_authorized(authorized.url(), &auth).await;
    let creds = authorized.clone().handle_response(status, &body).unwrap();

    // The same exchange again fails: the temporary credential is consumed.
    let auth = written(|w| {
        authorized
            .authorization(UnixTime(now()), &nonce(), w)
            .unwrap()
    });
    let (status, body) = post_authorized(authorized.url(), &auth).await;
    assert_eq!(status, 401);
    assert_eq!(body, b"oauth_problem=token_rejected");

    // A signed call to the protected resource.
    let info_url = server.url("/api/info");
    let header = latch_core_sign(
        "GET",
        &info_url,
        &client,
        Some((&creds.token, &creds.secret)),
        &nonce(),
    );
    let resp = http
        .get(&info_url)
        .header("Authorization", &header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let json: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(json["user"], "alice");
    assert_eq!(json["client_id"], client.id.as_str());
    assert_eq!(json["scope"], "photos");

    // Replaying that exact request is refused.
    let resp = http
        .get(&info_url)
        .header("Authorization", &header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.text().await.unwrap(), "oauth_problem=nonce_used");
}

fn latch_core_sign(
    method: &str,
    url: &str,
    client: &Client,
    token: Option<(&str, &str)>,
    nonce: &str,
) -> String {
    let mut req = latch_core::oauth1::Request::<16>::new(method, url).unwrap();
    let oauth = latch_core::oauth1::ProtocolParams {
        token: token.map(|t| t.0),
        timestamp: Some(now()),
        nonce: Some(nonce),
        ..latch_core::oauth1::ProtocolParams::new(&client.id, SignatureMethod::HmacSha1)
    };
    let secrets = latch_core::oauth1::Secrets::new(&client.secret, token.map_or("", |t| t.1));
    written(|w| req.sign(&oauth, &secrets, w).unwrap())
}

fn form(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no {k} in {pairs:?}"))
}

/// An independent signer: the `oauth1-request` crate.
#[tokio::test]
async fn three_legs_signed_by_oauth1_request() {
    for backend in backends() {
        three_legs_signed_by_oauth1_request_on(backend, false).await;
    }
}

/// The same against `latch serve` over https: the base string carries the
/// `https` scheme (RFC 5849 §3.4.1.2).
#[tokio::test]
async fn three_legs_signed_by_oauth1_request_over_https() {
    for backend in backends() {
        three_legs_signed_by_oauth1_request_on(backend, true).await;
    }
}

async fn three_legs_signed_by_oauth1_request_on(backend: Backend, tls: bool) {
    let (server, client) = setup(backend, tls).await;
    assert_eq!(server.base.starts_with("https://"), tls);
    let http = latch_tests::http();
    let creds = oauth1_request::Credentials::new(client.id.as_str(), client.secret.as_str());
    let empty = oauth1_request::ParameterList::<&str, &str, _>::new(Vec::new());
    let ts = || NonZeroU64::new(now());

    let url = server.url("/oauth1/request_token");
    let mut b = oauth1_request::Builder::<_, _, &str>::new(creds, oauth1_request::HmacSha1::new());
    b.callback(CALLBACK).timestamp(ts());
    let header = b.authorize("POST", &url, &empty);
    let resp = http
        .post(&url)
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let temp = form(&resp.text().await.unwrap());
    assert_eq!(get(&temp, "oauth_callback_confirmed"), "true");

    let callback = approve_in_browser(&server, get(&temp, "oauth_token")).await;
    assert_eq!(get(&callback, "oauth_token"), get(&temp, "oauth_token"));

    let url = server.url("/oauth1/access_token");
    let mut b = oauth1_request::Builder::new(creds, oauth1_request::HmacSha1::new());
    b.token(oauth1_request::Credentials::new(
        get(&temp, "oauth_token"),
        get(&temp, "oauth_token_secret"),
    ))
    .verifier(get(&callback, "oauth_verifier"))
    .timestamp(ts());
    let header = b.authorize("POST", &url, &empty);
    let resp = http
        .post(&url)
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token = form(&resp.text().await.unwrap());

    let url = server.url("/api/ping");
    let mut b = oauth1_request::Builder::new(creds, oauth1_request::HmacSha1::new());
    b.token(oauth1_request::Credentials::new(
        get(&token, "oauth_token"),
        get(&token, "oauth_token_secret"),
    ))
    .timestamp(ts());
    let header = b.authorize("GET", &url, &empty);
    let resp = http
        .get(&url)
        .header("Authorization", header)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "{\"ping\":\"pong\"}");
}

#[tokio::test]
async fn provider_refusals_over_http() {
    for backend in backends() {
        provider_refusals_over_http_on(backend).await;
    }
}

async fn provider_refusals_over_http_on(backend: Backend) {
    let (server, client) = setup(backend, false).await;
    let http = latch_tests::http();
    let url = server.url("/oauth1/request_token");
    let post = |header: String| http.post(&url).header("Authorization", header).send();

    // Unregistered callback.
    let mut req = latch_core::oauth1::Request::<4>::new("POST", &url).unwrap();
    let oauth = latch_core::oauth1::ProtocolParams {
        callback: Some("https://evil.example/cb"),
        timestamp: Some(now()),
        nonce: Some("n-evil"),
        ..latch_core::oauth1::ProtocolParams::new(&client.id, SignatureMethod::HmacSha1)
    };
    let secrets = latch_core::oauth1::Secrets::new(&client.secret, "");
    let resp = post(written(|w| req.sign(&oauth, &secrets, w).unwrap()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("oauth_parameters_rejected=oauth_callback")
    );

    // Stale timestamp.
    let stale = latch_core::oauth1::ProtocolParams {
        callback: Some(CALLBACK),
        timestamp: Some(now() - 3600),
        nonce: Some("n-stale"),
        ..oauth
    };
    let resp = post(written(|w| req.sign(&stale, &secrets, w).unwrap()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.text().await.unwrap(),
        "oauth_problem=timestamp_refused"
    );

    // Wrong secret.
    let good = latch_core::oauth1::ProtocolParams {
        callback: Some(CALLBACK),
        nonce: Some("n-bad-secret"),
        ..oauth
    };
    let wrong = latch_core::oauth1::Secrets::new("not-the-secret", "");
    let resp = post(written(|w| req.sign(&good, &wrong, w).unwrap()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let www = resp
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(www.starts_with("OAuth"), "{www}");
    assert_eq!(
        resp.text().await.unwrap(),
        "oauth_problem=signature_invalid"
    );

    // Unknown consumer.
    let stranger = latch_core::oauth1::ProtocolParams {
        consumer_key: "nobody",
        nonce: Some("n-who"),
        ..good
    };
    let resp = post(written(|w| req.sign(&stranger, &secrets, w).unwrap()))
        .await
        .unwrap();
    assert_eq!(
        resp.text().await.unwrap(),
        "oauth_problem=consumer_key_unknown"
    );

    // Garbage header and missing parameters.
    let resp = post("OAuth oauth_consumer_key=\"x".into()).await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = http.post(&url).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .unwrap()
            .starts_with("oauth_problem=parameter_absent")
    );

    // A denied authorization redirects with user_refused and the token dies.
    let resp = post(written(|w| req.sign(&good, &secrets, w).unwrap()))
        .await
        .unwrap();
    let temp = form(&resp.text().await.unwrap());
    let b = browser();
    let page_url = server.url(&format!(
        "/oauth1/authorize?oauth_token={}",
        get(&temp, "oauth_token")
    ));
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    let resp = submit_consent(&b, &page_url, &html, None, "deny", &[]).await;
    assert_eq!(resp.status(), 303);
    let q = location_params(&resp);
    assert_eq!(get(&q, "oauth_problem"), "user_refused");
    assert_eq!(b.get(&page_url).send().await.unwrap().status(), 400);

    // Unknown token on the authorize page: an error page, never a redirect.
    let resp = b
        .get(server.url("/oauth1/authorize?oauth_token=nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn consent_form_checks_csrf_and_password() {
    for backend in backends() {
        consent_form_checks_csrf_and_password_on(backend).await;
    }
}

async fn consent_form_checks_csrf_and_password_on(backend: Backend) {
    let (server, client) = setup(backend, false).await;
    let http = latch_tests::http();
    let url = server.url("/oauth1/request_token");
    let header = latch_core_sign_with_callback(&url, &client);
    let temp = form(
        &http
            .post(&url)
            .header("Authorization", header)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let page_url = server.url(&format!(
        "/oauth1/authorize?oauth_token={}",
        get(&temp, "oauth_token")
    ));

    let b = browser();
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    // Wrong password: the form again, with an error, no redirect.
    let resp = submit_consent(
        &b,
        &page_url,
        &html,
        Some(("alice", "wrong")),
        "approve",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("Invalid username or password")
    );
    // A form posted from another browser (no CSRF cookie) is refused.
    let other = browser();
    let resp = submit_consent(
        &other,
        &page_url,
        &html,
        Some(("alice", "wonderland")),
        "approve",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 400);
    // Right password: approved, and the session cookie means the next
    // consent needs no password.
    let resp = submit_consent(
        &b,
        &page_url,
        &html,
        Some(("alice", "wonderland")),
        "approve",
        &[],
    )
    .await;
    assert_eq!(resp.status(), 303);
    let header = latch_core_sign_with_callback(&url, &client);
    let temp = form(
        &http
            .post(&url)
            .header("Authorization", header)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let page_url = server.url(&format!(
        "/oauth1/authorize?oauth_token={}",
        get(&temp, "oauth_token")
    ));
    let html = b.get(&page_url).send().await.unwrap().text().await.unwrap();
    assert!(
        !html.contains("name=\"password\""),
        "consent only with a session"
    );
    assert!(html.contains("Signed in as <strong>alice</strong>"));
    let resp = submit_consent(&b, &page_url, &html, None, "approve", &[]).await;
    assert_eq!(resp.status(), 303);
}

fn latch_core_sign_with_callback(url: &str, client: &Client) -> String {
    let mut req = latch_core::oauth1::Request::<4>::new("POST", url).unwrap();
    let n = nonce();
    let oauth = latch_core::oauth1::ProtocolParams {
        callback: Some(CALLBACK),
        timestamp: Some(now()),
        nonce: Some(&n),
        ..latch_core::oauth1::ProtocolParams::new(&client.id, SignatureMethod::HmacSha1)
    };
    written(|w| {
        req.sign(
            &oauth,
            &latch_core::oauth1::Secrets::new(&client.secret, ""),
            w,
        )
        .unwrap()
    })
}
