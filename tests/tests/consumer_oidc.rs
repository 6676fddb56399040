//! Issue 15: the consumer logs users in through an OpenID provider found
//! by discovery, and refuses every id_token OpenID Connect Core §3.1.3.7
//! says to refuse. The provider here is a small in-process one whose token
//! endpoint signs whatever id_token the case asks for (ES256, the core's
//! signer), so each failure is the only thing wrong with its login: a
//! tampered signature, a wrong `aud`, a replayed `nonce`, a mix-up (`iss`
//! of another provider), an expired id_token, an unknown `kid` that stays
//! unknown. Each is refused with a page that names the check, and leaves
//! no login behind. (Against real providers — node-oidc-provider and
//! `latch serve` — see `consumer_e2e.rs`.)

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use latch_consumer::{Consumer, LoggedIn, NoHooks, OidcProvider, Outbound, Protocol, Settings};
use latch_core::jose::{Alg, Es256Key, Jwk, JwsHeader, PublicKey, render_jwk_set, sign_compact};
use latch_tests::browser;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CLIENT: &str = "rp-app";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Case {
    Good,
    TamperedSignature,
    WrongAudience,
    ReplayedNonce,
    MixUp,
    Expired,
    UnknownKid,
    UserinfoOtherSub,
}

#[derive(Default)]
struct OpState {
    issuer: String,
    case: Option<Case>,
    /// The nonce of each authorization request, in order.
    nonces: Vec<String>,
    jwks_fetches: usize,
    /// Refresh grants answered; the access token is `at-{1 + refreshes}`.
    refreshes: usize,
    /// Whether UserInfo refuses the current access token once (as a
    /// provider that revoked it would).
    refuse_once: bool,
}

type Op = Arc<Mutex<OpState>>;

fn key() -> Es256Key {
    Es256Key::from_bytes(&[0x11; 32]).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn metadata(State(op): State<Op>) -> Response {
    let iss = op.lock().unwrap().issuer.clone();
    axum::Json(serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/authorize"),
        "token_endpoint": format!("{iss}/token"),
        "userinfo_endpoint": format!("{iss}/userinfo"),
        "jwks_uri": format!("{iss}/jwks"),
        "id_token_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    }))
    .into_response()
}

async fn jwks(State(op): State<Op>) -> Response {
    op.lock().unwrap().jwks_fetches += 1;
    let public = key().public();
    let jwk = Jwk::new(PublicKey::Ec {
        x: *public.x(),
        y: *public.y(),
    })
    .with_kid("k1");
    let mut out = vec![0u8; 1024];
    let n = render_jwk_set(&[jwk], &mut out).unwrap();
    out.truncate(n);
    ([("content-type", "application/json")], out).into_response()
}

/// Approves at once: back to the client with a code.
async fn authorize(State(op): State<Op>, Query(q): Query<HashMap<String, String>>) -> Response {
    op.lock()
        .unwrap()
        .nonces
        .push(q.get("nonce").cloned().unwrap_or_default());
    let to = format!(
        "{}?code=the-code&state={}",
        q["redirect_uri"],
        url::form_urlencoded::byte_serialize(q["state"].as_bytes()).collect::<String>()
    );
    Redirect::to(&to).into_response()
}

async fn token(State(op): State<Op>, body: String) -> Response {
    if body.contains("grant_type=refresh_token") {
        let mut s = op.lock().unwrap();
        let expected = format!("refresh_token=rt-{}", s.refreshes + 1);
        if !body.contains(&expected) {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"error": "invalid_grant"})),
            )
                .into_response();
        }
        s.refreshes += 1;
        return axum::Json(serde_json::json!({
            "access_token": format!("at-{}", s.refreshes + 1),
            "refresh_token": format!("rt-{}", s.refreshes + 1),
            "token_type": "Bearer",
            "expires_in": 300,
        }))
        .into_response();
    }
    let (iss, case, nonce) = {
        let s = op.lock().unwrap();
        let case = s.case.unwrap_or(Case::Good);
        let nonce = if case == Case::ReplayedNonce {
            s.nonces[s.nonces.len() - 2].clone()
        } else {
            s.nonces.last().cloned().unwrap_or_default()
        };
        (s.issuer.clone(), case, nonce)
    };
    let t = now();
    let claims = serde_json::json!({
        "iss": if case == Case::MixUp { "https://other-provider.example".to_owned() } else { iss },
        "sub": "user-1",
        "aud": if case == Case::WrongAudience { "another-app" } else { CLIENT },
        "nonce": nonce,
        "iat": if case == Case::Expired { t - 3600 } else { t },
        "exp": if case == Case::Expired { t - 600 } else { t + 300 },
    });
    let kid = if case == Case::UnknownKid {
        "rotated-away"
    } else {
        "k1"
    };
    let mut out = vec![0u8; 4096];
    let n = sign_compact(
        &JwsHeader {
            alg: Alg::Es256,
            kid: Some(kid),
            typ: Some("JWT"),
        },
        claims.to_string().as_bytes(),
        &mut key(),
        &mut out,
    )
    .unwrap();
    let mut id_token = String::from_utf8(out[..n].to_vec()).unwrap();
    if case == Case::TamperedSignature {
        // One character inside the signature (not the last, whose unused
        // bits would make the base64url non-canonical: malformed, not
        // forged).
        let at = id_token.len() - 10;
        let flipped = if &id_token[at..=at] == "A" { "B" } else { "A" };
        id_token.replace_range(at..=at, flipped);
    }
    axum::Json(serde_json::json!({
        "access_token": "at-1",
        "refresh_token": "rt-1",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(op): State<Op>, headers: axum::http::HeaderMap) -> Response {
    let (current, refuse) = {
        let mut s = op.lock().unwrap();
        let refuse = std::mem::take(&mut s.refuse_once);
        (format!("Bearer at-{}", s.refreshes + 1), refuse)
    };
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if refuse || presented != current {
        return (axum::http::StatusCode::UNAUTHORIZED, "").into_response();
    }
    let other = op.lock().unwrap().case == Some(Case::UserinfoOtherSub);
    axum::Json(serde_json::json!({
        "sub": if other { "user-2" } else { "user-1" },
        "name": "Alice Example",
    }))
    .into_response()
}

/// Calls the provider's UserInfo with the session's token, through the
/// consumer's API client; its status.
async fn call_userinfo(
    State(c): State<Arc<Consumer>>,
    axum::Extension(issuer): axum::Extension<Issuer>,
    session: latch_consumer::Session,
) -> Response {
    let client = c.api(&session).await.expect("logged in");
    let url = format!("{}/userinfo", issuer.0);
    let r = client.get(&url).await.unwrap();
    axum::http::StatusCode::from_u16(r.status().as_u16())
        .unwrap()
        .into_response()
}

/// The provider's issuer URL, for the app's handlers.
#[derive(Clone)]
struct Issuer(String);

/// The provider and the app, both on loopback; returns the app's URL and
/// the provider's state.
async fn start() -> (String, Op) {
    let op: Op = Arc::default();
    let op_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", op_listener.local_addr().unwrap());
    op.lock().unwrap().issuer = issuer.clone();
    let provider = axum::Router::new()
        .route("/.well-known/openid-configuration", get(metadata))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/token", post(token))
        .route("/userinfo", get(userinfo))
        .with_state(op.clone());
    tokio::spawn(async move { axum::serve(op_listener, provider).await.unwrap() });

    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = format!("http://{}", app_listener.local_addr().unwrap());
    let discovered = OidcProvider::discover(&issuer, None, &Outbound::default())
        .await
        .expect("discovery");
    let consumer = Consumer::new(
        Settings {
            client_id: CLIENT.into(),
            client_secret: "rp-secret".into(),
            protocol: Protocol::OpenIdConnect(Box::new(discovered)),
            callback_url: format!("{app}/callback"),
            identity: latch_consumer::IdentityApi::default(),
            session_key: [3; 32],
            secure_cookies: false,
            allowed_users: None,
            outbound: Outbound::default(),
        },
        NoHooks,
    )
    .unwrap();
    let router = axum::Router::new()
        .route(
            "/private",
            get(|who: LoggedIn| async move { format!("{} ({})", who.user, who.subject) }),
        )
        .route("/userinfo", get(call_userinfo))
        .with_state(consumer.clone())
        .merge(consumer.router())
        .layer(axum::Extension(Issuer(issuer.clone())))
        .layer(consumer.session_layer(Consumer::memory_store()));
    tokio::spawn(async move { axum::serve(app_listener, router).await.unwrap() });
    (app, op)
}

/// The session id a response sets, if it sets one.
fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers().get_all("set-cookie").iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let rest = v.strip_prefix("latch_consumer_session=")?;
        Some(rest.split(';').next()?.to_owned())
    })
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// One login through the provider; the callback's response.
async fn log_in(b: &reqwest::Client, app: &str) -> reqwest::Response {
    let r = b
        .get(format!("{app}/login?next=/private"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let at_provider = location(&r);
    let r = b.get(&at_provider).send().await.unwrap();
    assert_eq!(r.status(), 303, "the provider approves");
    let callback = location(&r);
    assert!(
        callback.starts_with(&format!("{app}/callback?")),
        "{callback}"
    );
    b.get(&callback).send().await.unwrap()
}

#[tokio::test]
async fn an_openid_login_validates_the_id_token_and_reads_userinfo() {
    let (app, op) = start().await;
    let b = browser();
    let r = log_in(&b, &app).await;
    assert_eq!(r.status(), 302);
    assert_eq!(location(&r), "/private");
    let page = b.get(format!("{app}/private")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.text().await.unwrap(), "Alice Example (user-1)");
    // No fixation: the session id the login started under is not the one
    // the user is logged in under, and the old one names no login.
    let fresh = browser();
    let r = fresh
        .get(format!("{app}/login?next=/private"))
        .send()
        .await
        .unwrap();
    let before = session_cookie(&r).expect("a session for the pending login");
    let r = fresh.get(location(&r)).send().await.unwrap();
    let r = fresh.get(location(&r)).send().await.unwrap();
    assert_eq!(r.status(), 302, "logged in");
    let after = session_cookie(&r).expect("the session cookie is set anew at login");
    assert_ne!(before, after, "the session id was rotated");
    let old = reqwest::Client::new()
        .get(format!("{app}/private"))
        .header("cookie", format!("latch_consumer_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401, "the pre-login id is not logged in");
    let s = op.lock().unwrap();
    assert_eq!(s.nonces.len(), 2, "two logins");
    assert_eq!(s.nonces[0].len(), 43, "a 256-bit nonce was sent");
    assert_ne!(s.nonces[0], s.nonces[1], "a fresh nonce per login");
    assert_eq!(s.jwks_fetches, 1, "the JWK Set was kept");
}

#[tokio::test]
async fn each_bad_id_token_is_refused_and_nothing_is_stored() {
    let cases = [
        (Case::TamperedSignature, "signature does not verify"),
        (Case::WrongAudience, "not for this application"),
        (Case::ReplayedNonce, "nonce is not this login"),
        (Case::MixUp, "issued by another provider"),
        (Case::Expired, "has expired"),
        (Case::UnknownKid, "signing key is not in the provider"),
        (Case::UserinfoOtherSub, "UserInfo"),
    ];
    for (case, says) in cases {
        let (app, op) = start().await;
        let b = browser();
        // A good login first, so that a replayed nonce has one to replay
        // and the JWK Set is already kept.
        assert_eq!(log_in(&b, &app).await.status(), 302, "{case:?}");
        let logout_page = b.get(format!("{app}/logout")).send().await.unwrap();
        let fields = latch_tests::hidden_inputs(&logout_page.text().await.unwrap());
        let out = b
            .post(format!("{app}/logout"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(out.status(), 303, "{case:?}");
        let fetches_before = op.lock().unwrap().jwks_fetches;

        op.lock().unwrap().case = Some(case);
        let r = log_in(&b, &app).await;
        assert_eq!(r.status(), 400, "{case:?}");
        let page = r.text().await.unwrap();
        assert!(page.contains("Login failed"), "{case:?}: {page}");
        let page = page.replace("&#x27;", "'");
        assert!(page.contains(says), "{case:?}: {page}");
        let private = b.get(format!("{app}/private")).send().await.unwrap();
        assert_eq!(private.status(), 401, "{case:?}: nothing stored");
        let fetched = op.lock().unwrap().jwks_fetches - fetches_before;
        let expected = if case == Case::UnknownKid { 1 } else { 0 };
        assert_eq!(
            fetched, expected,
            "{case:?}: JWK Set refetched once only for an unknown kid"
        );
    }
}

/// Issue 15, item 4: a token the provider refuses (401) is refreshed once
/// and the call sent again; the new tokens are sealed into the session,
/// so the next call uses them without another refresh, and a rotated
/// refresh token is never presented twice.
#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_kept() {
    let (app, op) = start().await;
    let b = browser();
    assert_eq!(log_in(&b, &app).await.status(), 302);
    let call = || async {
        b.get(format!("{app}/userinfo"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(call().await, 200);
    assert_eq!(op.lock().unwrap().refreshes, 0);
    op.lock().unwrap().refuse_once = true;
    assert_eq!(call().await, 200, "refreshed and sent again");
    assert_eq!(op.lock().unwrap().refreshes, 1);
    assert_eq!(call().await, 200, "the session holds at-2");
    assert_eq!(op.lock().unwrap().refreshes, 1, "no second refresh");
    op.lock().unwrap().refuse_once = true;
    assert_eq!(call().await, 200, "refreshed with rt-2, the rotated one");
    assert_eq!(op.lock().unwrap().refreshes, 2);
}
