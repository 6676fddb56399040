//! OpenID Connect against the real `latch serve`:
//!
//! * an independent, strict relying party — openid-client v6 on
//!   oauth4webapi, with panva's `jose` (tests/oidc-rp/, pinned by its
//!   lockfile) — runs discovery, authorization code + PKCE + nonce through
//!   the login page, validates the id_token with the JWK Set, reads
//!   userinfo, refreshes and logs out, for each id_token algorithm, on
//!   SQLite and PostgreSQL, over http and https;
//! * `prompt=none`, `max_age`, key rotation and logout each end to end.

use latch_tests::{
    Backend, Client, Server, backends, browser, hidden_inputs, http, latch, location_params, param,
    test_ca,
};
use serde_json::Value;
use std::path::PathBuf;

const REDIRECT: &str = "http://127.0.0.1:9/callback";
const BYE: &str = "http://127.0.0.1:9/logged-out";

fn rp_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc-rp/run.sh")
}

async fn provider(backend: Backend, tls: bool, alg: &str) -> (Server, Client) {
    provider_with(backend, tls, alg, &[]).await
}

async fn provider_with(backend: Backend, tls: bool, alg: &str, extra: &[&str]) -> (Server, Client) {
    let server = if tls {
        Server::start_tls(backend).await
    } else {
        Server::start_with(backend).await
    };
    let mut client_args = vec![
        "--name",
        "Relying Party",
        "--redirect-uri",
        REDIRECT,
        "--post-logout-redirect-uri",
        BYE,
        "--scope",
        "openid profile email read",
        "--id-token-alg",
        alg,
    ];
    client_args.extend_from_slice(extra);
    let c = server.add_client(&client_args);
    let mut args = vec![
        "user",
        "add",
        "alice",
        "--password",
        "wonderland",
        "--name",
        "Alice Liddell",
        "--email",
        "alice@example.com",
        "--email-verified",
    ];
    args.extend(server.db_args.iter().map(String::as_str));
    latch(&args);
    (server, c)
}

/// Runs the Node relying party; returns its JSON summary.
async fn relying_party(server: &Server, c: &Client, alg: &str, tls: bool, jwt: bool) -> Value {
    let mut cmd = tokio::process::Command::new("bash");
    cmd.arg(rp_script())
        .args(["--issuer", &server.base])
        // `=`: a generated id may start with '-', which a separate
        // argument would make look like a flag (a CI run drew one).
        .arg(format!("--client-id={}", c.id))
        .args(["--redirect-uri", REDIRECT])
        .args(["--username", "alice"])
        .args(["--expect-alg", alg])
        .args(["--post-logout-redirect-uri", BYE])
        .args(["--expect-claim", "name=Alice Liddell"])
        .args(["--expect-claim", "email=alice@example.com"])
        .arg("--prompt-none-check")
        .env("OIDC_RP_CLIENT_SECRET", &c.secret)
        .env("OIDC_RP_PASSWORD", "wonderland");
    if tls {
        cmd.args(["--ca", &test_ca().path.display().to_string()]);
    }
    if jwt {
        cmd.arg("--jwt-access-token");
    }
    let out = cmd.output().await.expect("run the relying party");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert!(
        out.status.success(),
        "openid-client refused Latch ({alg}, {}):\n{stdout}\n{}",
        server.base,
        String::from_utf8_lossy(&out.stderr)
    );
    summary
}

/// openid-client completes the whole flow against Latch, for every
/// id_token algorithm: its own validation of discovery, the authorization
/// response, the id_token (signature by `kid` from the JWK Set, `iss`,
/// `aud`, `exp`, `iat`, `nonce`), `at_hash`, userinfo, refresh (same
/// `sub`, no `nonce`), RP-initiated logout, and `prompt=none` before login
/// and after logout (`login_required`). One client gets RFC 9068 JWT
/// access tokens, which panva's `jose` verifies against the JWK Set
/// (`typ: at+jwt`, `iss`, `aud`, `sub`, `client_id`, `scope`, `jti`).
#[tokio::test]
async fn openid_client_logs_in_on_every_backend_and_algorithm() {
    for backend in backends() {
        for (alg, tls, jwt) in [
            ("RS256", false, false),
            ("ES256", true, true),
            ("EdDSA", false, false),
        ] {
            let extra: &[&str] = if jwt {
                &["--access-token-format", "jwt"]
            } else {
                &[]
            };
            let (server, c) = provider_with(backend, tls, alg, extra).await;
            let s = relying_party(&server, &c, alg, tls, jwt).await;
            assert_eq!(s["ok"], true, "{s}");
            assert_eq!(s["id_token_alg"], alg);
            assert_eq!(s["at_hash"], true);
            assert_eq!(s["refresh_id_token_nonce"], "absent");
            assert_eq!(s["logout"], "redirect");
            let sub = s["sub"].as_str().unwrap();
            assert_ne!(sub, "alice", "sub is opaque, not the username");
            assert_eq!(s["userinfo"]["sub"], sub);
            assert_eq!(s["userinfo"]["preferred_username"], "alice");
            assert_eq!(s["userinfo"]["email_verified"], true);
            if jwt {
                assert!(
                    s["steps"]
                        .as_array()
                        .unwrap()
                        .contains(&"jwt_access_token".into())
                );
            }
        }
    }
}

/// RFC 9068 access tokens from `[oauth2] access_token_format = "jwt"`:
/// the token is a JWS with `typ: at+jwt` and the RFC's claims; Latch's own
/// resources and introspection accept it; once revoked, Latch refuses it
/// at once (an offline resource server would only learn at `exp`).
#[tokio::test]
async fn jwt_access_tokens_are_accepted_and_revocable() {
    let server = Server::start_configured(
        Backend::Sqlite,
        false,
        "[oauth2]\naccess_token_format = \"jwt\"\n",
    )
    .await;
    let svc = server.add_client(&["--name", "Service", "--scope", "read"]);
    let opaque = server.add_client(&[
        "--name",
        "Legacy",
        "--scope",
        "read",
        "--access-token-format",
        "opaque",
    ]);
    let token = |c: Client| {
        let u = server.url("/oauth2/token");
        async move {
            http()
                .post(u)
                .basic_auth(&c.id, Some(&c.secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["access_token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(
        token(opaque).await.split('.').count(),
        1,
        "opaque for Legacy"
    );
    let jwt = token(svc.clone()).await;
    let header = jwt_part(&jwt, 0);
    let claims = jwt_part(&jwt, 1);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], server.base.as_str());
    assert_eq!(claims["client_id"], svc.id.as_str());
    assert_eq!(
        claims["sub"],
        svc.id.as_str(),
        "client_credentials: sub is the client"
    );
    assert_eq!(claims["scope"], "read");
    assert!(claims["jti"].as_str().unwrap().len() == 43);
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());

    let info = |t: String| {
        let u = server.url("/api/info");
        async move {
            http()
                .get(u)
                .bearer_auth(t)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(info(jwt.clone()).await, 200);
    let introspect = http()
        .post(server.url("/oauth2/introspect"))
        .basic_auth(&svc.id, Some(&svc.secret))
        .form(&[("token", jwt.as_str())])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(introspect["active"], true);
    // A JWT with a flipped signature byte is not a token Latch issued.
    let mut forged = jwt.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(info(String::from_utf8(forged).unwrap()).await, 401);

    let revoked = http()
        .post(server.url("/oauth2/revoke"))
        .basic_auth(&svc.id, Some(&svc.secret))
        .form(&[("token", jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        info(jwt.clone()).await,
        401,
        "revocation is honoured at once"
    );
}

async fn discovery(server: &Server) -> Value {
    http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn authorize_url(server: &Server, c: &Client, extra: &str) -> String {
    let challenge =
        latch_core::oauth2::s256_challenge(b"a-verifier-of-enough-length-for-pkce-0123456789");
    format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope=openid&state=st&nonce=nn&code_challenge={}&code_challenge_method=S256{extra}",
        server.url("/oauth2/authorize"),
        c.id,
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        std::str::from_utf8(&challenge).unwrap()
    )
}

/// Logs alice in on the consent page of `url` with `b`; returns the
/// redirect's query.
async fn log_in(b: &reqwest::Client, url: &str, password: bool) -> Vec<(String, String)> {
    let page = b.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let mut fields = hidden_inputs(&html);
    if password {
        assert!(html.contains("name=\"password\""), "asks for the password");
        fields.push(("username".into(), "alice".into()));
        fields.push(("password".into(), "wonderland".into()));
    } else {
        assert!(!html.contains("name=\"password\""), "consent only: {html}");
    }
    fields.push(("decision".into(), "approve".into()));
    let action = url.split('?').next().unwrap();
    let resp = b.post(action).form(&fields).send().await.unwrap();
    assert_eq!(resp.status(), 303);
    location_params(&resp)
}

/// `prompt=none`: no session → `login_required`; a session → Latch asks
/// for consent every time, so `consent_required`; both on the redirect
/// with `state` and `iss`. `prompt=login` and `max_age=0` ask for the
/// password again although a session exists, and `auth_time` moves.
#[tokio::test]
async fn prompt_none_prompt_login_and_max_age() {
    let (server, c) = provider(Backend::Sqlite, false, "RS256").await;
    let b = browser();
    let none = authorize_url(&server, &c, "&prompt=none");
    let resp = b.get(&none).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let q = location_params(&resp);
    assert_eq!(param(&q, "error"), Some("login_required"));
    assert_eq!(param(&q, "state"), Some("st"));
    assert_eq!(param(&q, "iss"), Some(server.base.as_str()));

    let q = log_in(&b, &authorize_url(&server, &c, ""), true).await;
    assert!(param(&q, "code").is_some());
    let resp = b.get(&none).send().await.unwrap();
    let q = location_params(&resp);
    assert_eq!(param(&q, "error"), Some("consent_required"));

    // With the session: consent only; with prompt=login or max_age=0 the
    // password again.
    let q = log_in(&b, &authorize_url(&server, &c, ""), false).await;
    assert!(param(&q, "code").is_some());
    for extra in ["&prompt=login", "&max_age=0"] {
        // max_age counts whole seconds: let one pass since the last login.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let url = authorize_url(&server, &c, extra);
        // Submitting without a password is refused although a session exists.
        let page = b.get(&url).send().await.unwrap().text().await.unwrap();
        let mut fields = hidden_inputs(&page);
        fields.push(("decision".into(), "approve".into()));
        let action = url.split('?').next().unwrap();
        let resp = b.post(action).form(&fields).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{extra}: a session does not count");
        let q = log_in(&b, &url, true).await;
        assert!(param(&q, "code").is_some(), "{extra}");
    }
    // A malformed prompt goes back to the client as invalid_request.
    let resp = b
        .get(authorize_url(&server, &c, "&prompt=none%20login"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location_params(&resp), "error"),
        Some("invalid_request")
    );
}

/// Redeems a code for tokens with the client's secret.
async fn redeem(server: &Server, c: &Client, code: &str) -> Value {
    http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "a-verifier-of-enough-length-for-pkce-0123456789",
            ),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn jwt_part(jwt: &str, i: usize) -> Value {
    use base64ct::Encoding;
    let part = jwt.split('.').nth(i).unwrap();
    serde_json::from_slice(&base64ct::Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

/// `latch keys rotate` with a zero delay while the server runs: the JWK Set
/// publishes both keys, new id_tokens carry the new `kid`, and an id_token
/// signed by the old key still verifies against the published set; with
/// the default delay the new key is published but does not sign yet.
#[tokio::test]
async fn key_rotation_refuses_no_token() {
    let server =
        Server::start_configured(Backend::Sqlite, false, "[oauth2]\nkey_rotation_delay = 0\n")
            .await;
    let c = server.add_client(&[
        "--name",
        "RP",
        "--redirect-uri",
        REDIRECT,
        "--scope",
        "openid",
        "--id-token-alg",
        "ES256",
    ]);
    server.add_user("alice", "wonderland");
    let jwks = |server: &Server| {
        let u = server.url("/oauth2/jwks");
        async move {
            http()
                .get(u)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let b = browser();
    let q = log_in(&b, &authorize_url(&server, &c, ""), true).await;
    let old = redeem(&server, &c, param(&q, "code").unwrap()).await;
    let old_id = old["id_token"].as_str().unwrap().to_owned();
    let old_kid = jwt_part(&old_id, 0)["kid"].as_str().unwrap().to_owned();
    let before = jwks(&server).await;
    assert_eq!(before["keys"].as_array().unwrap().len(), 3, "{before}");

    let mut args = vec!["keys", "rotate"];
    args.extend(server.db_args.iter().map(String::as_str));
    let kids: Vec<String> = latch(&args).lines().map(str::to_owned).collect();
    assert_eq!(kids.len(), 3);
    // The running server picks the rotation up within its reload period.
    let mut new_kid = String::new();
    for _ in 0..30 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let q = log_in(&b, &authorize_url(&server, &c, ""), false).await;
        let t = redeem(&server, &c, param(&q, "code").unwrap()).await;
        new_kid = jwt_part(t["id_token"].as_str().unwrap(), 0)["kid"]
            .as_str()
            .unwrap()
            .to_owned();
        if new_kid != old_kid {
            break;
        }
    }
    assert!(kids.contains(&new_kid), "signed with a rotated key");
    let after = jwks(&server).await;
    let published: Vec<&str> = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(published.len(), 6, "old and new keys: {after}");
    assert!(
        published.contains(&old_kid.as_str()),
        "old key still published"
    );
    // The old id_token still verifies against the published set (by kid).
    let jwk = after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == old_kid.as_str())
        .unwrap();
    assert!(
        verify_es256(&old_id, jwk),
        "old token verifies after rotation"
    );
}

fn verify_es256(jwt: &str, jwk: &Value) -> bool {
    use base64ct::Encoding;
    let b = |k: &str| {
        base64ct::Base64UrlUnpadded::decode_vec(jwk[k].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let key = latch_core::jose::Es256PublicKey::from_xy(&b("x"), &b("y")).unwrap();
    let jws = latch_core::jose::Jws::parse(jwt.as_bytes()).unwrap();
    jws.verify(&key).is_ok()
}

/// RP-initiated logout: an unregistered `post_logout_redirect_uri` is an
/// error page (never a redirect); without a hint the signed-in user is
/// asked to confirm; with this user's id_token as the hint the session
/// ends at once; afterwards the consent page asks for the password.
#[tokio::test]
async fn rp_initiated_logout() {
    let (server, c) = provider(Backend::Sqlite, false, "RS256").await;
    let d = discovery(&server).await;
    let end = d["end_session_endpoint"].as_str().unwrap().to_owned();
    assert_eq!(end, server.url("/oauth2/logout"));
    let b = browser();
    let q = log_in(&b, &authorize_url(&server, &c, ""), true).await;
    let t = redeem(&server, &c, param(&q, "code").unwrap()).await;
    let id_token = t["id_token"].as_str().unwrap().to_owned();

    let evil = format!(
        "{end}?client_id={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
        c.id
    );
    let resp = b.get(&evil).send().await.unwrap();
    assert_eq!(resp.status(), 400, "unregistered destination");

    // No hint: a confirmation form, the session is still there.
    let ask = format!(
        "{end}?client_id={}&post_logout_redirect_uri={}&state=bye",
        c.id,
        url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>()
    );
    let page = b.get(&ask).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign out"));
    let q = log_in(&b, &authorize_url(&server, &c, ""), false).await;
    assert!(param(&q, "code").is_some(), "still signed in");

    // The hint names this session's user: signed out at once.
    let hinted = format!(
        "{end}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=bye",
        url::form_urlencoded::byte_serialize(BYE.as_bytes()).collect::<String>()
    );
    let resp = b.get(&hinted).send().await.unwrap();
    assert_eq!(resp.status(), 302, "redirect after logout");
    let to = resp.headers()["location"].to_str().unwrap();
    assert_eq!(to, format!("{BYE}?state=bye"));
    let page = b
        .get(authorize_url(&server, &c, ""))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("name=\"password\""), "the session is gone");
    // A forged hint is refused.
    let forged = format!("{end}?id_token_hint={}x", &id_token[..id_token.len() - 1]);
    assert_eq!(b.get(&forged).send().await.unwrap().status(), 400);
}

/// The Rust relying party: the `openidconnect` crate (ramosbugs) discovers
/// Latch, builds the authorization URL with PKCE and a nonce, exchanges the
/// code, verifies the id_token with its own verifier (signature from the
/// JWK Set, `iss`, `aud`, `exp`, `nonce`, `at_hash`), and reads userinfo.
#[tokio::test]
async fn openidconnect_crate_logs_in() {
    use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
    use openidconnect::{
        AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
        IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope,
        TokenResponse,
    };
    for backend in backends() {
        let (server, c) = provider(backend, true, "RS256").await;
        let http = latch_tests::OAuth2Http::default();
        let meta = CoreProviderMetadata::discover_async(
            IssuerUrl::new(server.base.clone()).unwrap(),
            &http,
        )
        .await
        .expect("discovery");
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(c.id.clone()),
            Some(ClientSecret::new(c.secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("profile".into()))
            .add_scope(Scope::new("email".into()))
            .set_pkce_challenge(challenge)
            .url();
        let q = log_in(&browser(), url.as_str(), true).await;
        assert_eq!(param(&q, "state"), Some(state.secret().as_str()));
        let token = client
            .exchange_code(AuthorizationCode::new(param(&q, "code").unwrap().into()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("token response");
        let id_token = token.id_token().expect("an id_token");
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &nonce)
            .expect("openidconnect verifies the id_token");
        let expected = AccessTokenHash::from_token(
            token.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .unwrap();
        assert_eq!(claims.access_token_hash(), Some(&expected));
        assert!(claims.auth_time().is_some());
        let sub = claims.subject().clone();
        assert_ne!(sub.as_str(), "alice");
        let info: openidconnect::core::CoreUserInfoClaims = client
            .user_info(token.access_token().clone(), Some(sub.clone()))
            .unwrap()
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(info.subject(), &sub);
        assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));
        assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.com"));
    }
}

/// UserInfo's errors are RFC 6750 challenges: no token is 401 with
/// `WWW-Authenticate: Bearer`; a token without `openid` is 403
/// `insufficient_scope`; a client_credentials token (no user) is 401
/// `invalid_token`. POST is served like GET. Discovery names the endpoint
/// and the document is the same at both well-known paths.
#[tokio::test]
async fn userinfo_errors_and_discovery() {
    let (server, c) = provider(Backend::Sqlite, false, "RS256").await;
    let d = discovery(&server).await;
    let oauth: Value = http()
        .get(server.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(d, oauth, "one document at both paths");
    assert_eq!(d["userinfo_endpoint"], server.url("/oauth2/userinfo"));
    assert_eq!(d["jwks_uri"], server.url("/oauth2/jwks"));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256", "ES256", "EdDSA"])
    );
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"openid".into())
    );
    let userinfo = server.url("/oauth2/userinfo");

    let none = http().get(&userinfo).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );

    let cc: Value = http()
        .post(server.url("/oauth2/token"))
        .basic_auth(&c.id, Some(&c.secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r = http()
        .get(&userinfo)
        .bearer_auth(cc["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "no user behind a client_credentials token");
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // A user's token without openid: insufficient_scope.
    let b = browser();
    let url = authorize_url(&server, &c, "").replace("scope=openid", "scope=read");
    let q = log_in(&b, &url, true).await;
    let t = redeem(&server, &c, param(&q, "code").unwrap()).await;
    assert!(t.get("id_token").is_none(), "no openid, no id_token");
    let r = http()
        .post(&userinfo)
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );

    // With openid: POST answers the claims.
    let q = log_in(&b, &authorize_url(&server, &c, ""), false).await;
    let t = redeem(&server, &c, param(&q, "code").unwrap()).await;
    let r = http()
        .post(&userinfo)
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let claims: Value = r.json().await.unwrap();
    assert_eq!(
        claims["sub"],
        jwt_part(t["id_token"].as_str().unwrap(), 1)["sub"]
    );
    // Scope openid only: no profile or email claims.
    assert!(claims.get("preferred_username").is_none() && claims.get("email").is_none());
}
