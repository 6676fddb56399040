//! OAuth 2.0 against a real `latch serve`, driven by an independent client
//! implementation — the `oauth2` crate (oauth2-rs) — with endpoints found
//! through the RFC 8414 metadata document, and the HTML form driven as a
//! browser would. Runs on SQLite and, when available, PostgreSQL.

use latch_tests::{
    Backend, Client, Server, backends, browser, hidden_inputs, location_params, param,
};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, DeviceAuthorizationUrl,
    EndpointNotSet, EndpointSet, IntrospectionUrl, PkceCodeChallenge, RedirectUrl, RevocationUrl,
    Scope, StandardDeviceAuthorizationResponse, StandardRevocableToken, TokenIntrospectionResponse,
    TokenResponse, TokenUrl,
};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

type Full =
    oauth2::basic::BasicClient<EndpointSet, EndpointSet, EndpointSet, EndpointSet, EndpointSet>;

fn http() -> latch_tests::OAuth2Http {
    latch_tests::OAuth2Http::default()
}

async fn metadata(server: &Server) -> Value {
    let m: Value = latch_tests::http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(m["issuer"], server.base.as_str());
    m
}

fn url(m: &Value, k: &str) -> String {
    m[k].as_str()
        .unwrap_or_else(|| panic!("metadata lacks {k}: {m}"))
        .to_owned()
}

async fn client(server: &Server, c: &Client) -> Full {
    let m = metadata(server).await;
    let base = BasicClient::new(ClientId::new(c.id.clone()));
    let base = if c.secret.is_empty() {
        base
    } else {
        base.set_client_secret(ClientSecret::new(c.secret.clone()))
    };
    base.set_auth_uri(AuthUrl::new(url(&m, "authorization_endpoint")).unwrap())
        .set_token_uri(TokenUrl::new(url(&m, "token_endpoint")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(url(&m, "device_authorization_endpoint")).unwrap(),
        )
        .set_introspection_url(IntrospectionUrl::new(url(&m, "introspection_endpoint")).unwrap())
        .set_revocation_url(RevocationUrl::new(url(&m, "revocation_endpoint")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

/// A server (over TLS with `tls`) with the Photo App client and alice.
async fn setup(backend: Backend, tls: bool) -> (Server, Client) {
    let server = if tls {
        Server::start_tls(backend).await
    } else {
        Server::start_with(backend).await
    };
    let c = server.add_client(&[
        "--name",
        "Photo App",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "read write",
    ]);
    server.add_user("alice", "wonderland");
    (server, c)
}

/// Opens the authorize URL in a browser, logs in, approves; returns the
/// callback's query parameters.
async fn consent(auth_url: &str, decision: &str) -> Vec<(String, String)> {
    let b = browser();
    let page = b.get(auth_url).send().await.unwrap();
    assert_eq!(page.status(), 200, "consent page");
    let html = page.text().await.unwrap();
    assert!(html.contains("Photo App"));
    let action = auth_url.split('?').next().unwrap();
    let mut fields = hidden_inputs(&html);
    fields.push(("username".into(), "alice".into()));
    fields.push(("password".into(), "wonderland".into()));
    fields.push(("decision".into(), decision.into()));
    let resp = b.post(action).form(&fields).send().await.unwrap();
    assert_eq!(
        resp.status(),
        303,
        "a credential POST answers 303 (RFC 9700 §4.12)"
    );
    location_params(&resp)
}

async fn introspect(server: &Server, c: &Client, token: &str) -> Value {
    let m = metadata(server).await;
    latch_tests::http()
        .post(url(&m, "introspection_endpoint"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn code_flow(server: &Server, c: &Client) -> (String, String) {
    let client = client(server, c).await;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".into()))
        .set_pkce_challenge(challenge)
        .url();
    let q = consent(auth_url.as_str(), "approve").await;
    assert_eq!(param(&q, "state"), Some(state.secret().as_str()));
    assert_eq!(param(&q, "iss"), Some(server.base.as_str()), "RFC 9207 iss");
    let code = param(&q, "code").unwrap().to_owned();
    let token = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .unwrap();
    assert_eq!(token.scopes().unwrap()[0].as_str(), "read");
    (
        token.access_token().secret().clone(),
        token.refresh_token().unwrap().secret().clone(),
    )
}

#[tokio::test]
async fn authorization_code_with_pkce_refresh_introspection_revocation() {
    for backend in backends() {
        authorization_code_with_pkce_refresh_introspection_revocation_on(
            setup(backend, false).await,
        )
        .await;
    }
}

/// The same against `latch serve --tls-cert --tls-key` (test CA).
#[tokio::test]
async fn authorization_code_with_pkce_refresh_introspection_revocation_over_https() {
    for backend in backends() {
        authorization_code_with_pkce_refresh_introspection_revocation_on(
            setup(backend, true).await,
        )
        .await;
    }
}

async fn authorization_code_with_pkce_refresh_introspection_revocation_on(
    (server, c): (Server, Client),
) {
    let (access, refresh) = code_flow(&server, &c).await;

    // The access token works on the protected resources.
    let info: Value = latch_tests::http()
        .get(server.url("/api/info"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["user"], "alice");
    assert_eq!(info["scope"], "read");

    let i = introspect(&server, &c, &access).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["client_id"], c.id.as_str());

    // Refresh rotates.
    let client = client(&server, &c).await;
    let rt = oauth2::RefreshToken::new(refresh.clone());
    let second = client
        .exchange_refresh_token(&rt)
        .request_async(&http())
        .await
        .unwrap();
    let new_refresh = second.refresh_token().unwrap().secret().clone();
    assert_ne!(new_refresh, refresh);
    assert_eq!(
        introspect(&server, &c, &refresh).await["active"],
        false,
        "rotated out"
    );

    // Reusing the old refresh token revokes the whole family — even a
    // token the resource server has just accepted.
    let r = latch_tests::http()
        .get(server.url("/api/ping"))
        .bearer_auth(second.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let reuse = client
        .exchange_refresh_token(&rt)
        .request_async(&http())
        .await;
    assert!(
        matches!(reuse, Err(oauth2::RequestTokenError::ServerResponse(ref e)) if e.error().as_ref() == "invalid_grant")
    );
    assert_eq!(
        introspect(&server, &c, second.access_token().secret()).await["active"],
        false
    );
    assert_eq!(introspect(&server, &c, &new_refresh).await["active"], false);
    assert_eq!(introspect(&server, &c, &access).await["active"], false);

    // Revocation, of a token the server has just accepted (and cached).
    let (access, _) = code_flow(&server, &c).await;
    let r = latch_tests::http()
        .get(server.url("/api/ping"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let revocable = StandardRevocableToken::AccessToken(oauth2::AccessToken::new(access.clone()));
    if server.base.starts_with("https://") {
        // Over TLS oauth2-rs revokes it itself.
        client
            .revoke_token(revocable)
            .expect("https revocation endpoint")
            .request_async(&http())
            .await
            .expect("revoked");
    } else {
        // oauth2-rs refuses to revoke over plain http (RFC 7009 §2 wants
        // TLS), so this one request is made by hand.
        assert!(client.revoke_token(revocable).is_err());
        let r = latch_tests::http()
            .post(url(&metadata(&server).await, "revocation_endpoint"))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[
                ("token", access.as_str()),
                ("token_type_hint", "access_token"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let introspected = client
        .introspect(&oauth2::AccessToken::new(access.clone()))
        .request_async(&http())
        .await
        .unwrap();
    assert!(!introspected.active());
    let r = latch_tests::http()
        .get(server.url("/api/ping"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn client_credentials_and_bearer_ping() {
    for backend in backends() {
        client_credentials_and_bearer_ping_on(setup(backend, false).await).await;
    }
}

/// The same against `latch serve --tls-cert --tls-key` (test CA).
#[tokio::test]
async fn client_credentials_and_bearer_ping_over_https() {
    for backend in backends() {
        client_credentials_and_bearer_ping_on(setup(backend, true).await).await;
    }
}

async fn client_credentials_and_bearer_ping_on((server, c): (Server, Client)) {
    let client = client(&server, &c).await;
    let token = client
        .exchange_client_credentials()
        .add_scope(Scope::new("write".into()))
        .request_async(&http())
        .await
        .unwrap();
    assert!(token.refresh_token().is_none());
    let r = latch_tests::http()
        .get(server.url("/api/ping"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "{\"ping\":\"pong\"}");
    let info: Value = latch_tests::http()
        .get(server.url("/api/info"))
        .bearer_auth(token.access_token().secret())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["user"], Value::Null);
    assert_eq!(info["scope"], "write");
    // A wrong secret is invalid_client with a Basic challenge.
    let wrong = BasicClient::new(ClientId::new(c.id.clone()))
        .set_client_secret(ClientSecret::new("wrong".into()))
        .set_token_uri(TokenUrl::new(server.url("/oauth2/token")).unwrap());
    let r = latch_tests::http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some("wrong"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let _: &BasicClient<
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointSet,
    > = &wrong;
}

#[tokio::test]
async fn device_flow() {
    for backend in backends() {
        device_flow_on(setup(backend, false).await).await;
    }
}

/// The same against `latch serve --tls-cert --tls-key` (test CA).
#[tokio::test]
async fn device_flow_over_https() {
    for backend in backends() {
        device_flow_on(setup(backend, true).await).await;
    }
}

async fn device_flow_on((server, c): (Server, Client)) {
    let client = client(&server, &c).await;
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("read".into()))
        .request_async(&http())
        .await
        .unwrap();
    let user_code = details.user_code().secret().clone();
    assert_eq!(user_code.len(), 9, "XXXX-XXXX");
    // The user approves on the verification page, typing the code in
    // lower case and without the dash; step 2 names the client and the
    // scope before anything is approved.
    let (step2, status, done) = latch_tests::verify_device(
        &browser(),
        details.verification_uri().as_str(),
        &user_code.replace('-', "").to_lowercase(),
        ("alice", "wonderland"),
        "approve",
    )
    .await;
    assert!(
        step2.contains("Photo App") && step2.contains("<li>read</li>"),
        "{step2}"
    );
    assert_eq!(status, 200);
    assert!(done.contains("Device connected"));
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&http(), tokio::time::sleep, None)
        .await
        .unwrap();
    let i = introspect(&server, &c, token.access_token().secret()).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["username"].as_str().or(i["sub"].as_str()), Some("alice"));
}

/// RFC 9700 rules over HTTP: code reuse revokes, PKCE downgrade and
/// redirect mismatch are refused (the latter never redirects), polling a
/// device code too fast is slow_down, and concurrent redemptions of one
/// code yield exactly one token.
#[tokio::test]
async fn security_rules_over_http() {
    for backend in backends() {
        let (server, c) = setup(backend, false).await;
        let m = metadata(&server).await;
        let token_url = url(&m, "token_endpoint");
        let auth_url = url(&m, "authorization_endpoint");
        let post = |body: Vec<(&'static str, String)>| {
            let (id, secret, url) = (c.id.clone(), c.secret.clone(), token_url.clone());
            async move {
                let r = latch_tests::http()
                    .post(url)
                    .basic_auth(id, Some(secret))
                    .form(&body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap())
            }
        };

        // Redirect URI not registered: an error page, never a redirect.
        let b = browser();
        let r = b
            .get(format!(
                "{auth_url}?response_type=code&client_id={}&redirect_uri=https://evil.example/cb",
                c.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        // Unknown client: the same.
        let r = b
            .get(format!("{auth_url}?response_type=code&client_id=nobody"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
        // Valid client, bad scope: redirected with the error and state.
        let r = b
            .get(format!(
                "{auth_url}?response_type=code&client_id={}&scope=admin&state=xyz",
                c.id
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        let q = location_params(&r);
        assert_eq!(param(&q, "error"), Some("invalid_scope"));
        assert_eq!(param(&q, "state"), Some("xyz"));

        // A code issued with S256 cannot be redeemed without the verifier,
        // and only once.
        let client = client(&server, &c).await;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (u, _) = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let q = consent(u.as_str(), "approve").await;
        let code = param(&q, "code").unwrap().to_owned();
        let (status, body) = post(vec![
            ("grant_type", "authorization_code".into()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.into()),
        ])
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "PKCE downgrade"
        );

        // Two concurrent redemptions of a fresh code: exactly one wins.
        let (challenge, verifier2) = PkceCodeChallenge::new_random_sha256();
        let (u, _) = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let q = consent(u.as_str(), "approve").await;
        let code2 = param(&q, "code").unwrap().to_owned();
        let redeem = || {
            post(vec![
                ("grant_type", "authorization_code".into()),
                ("code", code2.clone()),
                ("redirect_uri", REDIRECT.into()),
                ("code_verifier", verifier2.secret().clone()),
            ])
        };
        let results = futures::future::join_all((0..8).map(|_| redeem())).await;
        let wins: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(
            wins.len(),
            1,
            "exactly one redemption succeeds: {results:?}"
        );
        // The reuse revoked what the winner got.
        let winner = wins[0]["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            introspect(&server, &c, &winner).await["active"],
            false,
            "code reuse revokes"
        );
        let _ = verifier;

        // Denied consent: access_denied.
        let (challenge, _) = PkceCodeChallenge::new_random_sha256();
        let (u, state) = client
            .authorize_url(CsrfToken::new_random)
            .set_pkce_challenge(challenge)
            .url();
        let q = consent(u.as_str(), "deny").await;
        assert_eq!(param(&q, "error"), Some("access_denied"));
        assert_eq!(param(&q, "state"), Some(state.secret().as_str()));

        // Device polling too fast: slow_down.
        let d: Value = latch_tests::http()
            .post(url(&m, "device_authorization_endpoint"))
            .basic_auth(&c.id, Some(&c.secret))
            .form(&[("scope", "read")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let dc = d["device_code"].as_str().unwrap().to_owned();
        let poll = || {
            post(vec![
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:device_code".into(),
                ),
                ("device_code", dc.clone()),
            ])
        };
        let (s1, b1) = poll().await;
        let (s2, b2) = poll().await;
        assert_eq!(
            (s1, b1["error"].as_str()),
            (400, Some("authorization_pending"))
        );
        assert_eq!((s2, b2["error"].as_str()), (400, Some("slow_down")));
    }
}
