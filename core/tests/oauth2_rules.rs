//! One test per rule of the OAuth 2.0 server core, named after the rule,
//! run through the public API against the in-memory store.

use chacha20::ChaCha20Rng;
use latch_core::oauth2::{
    AuthorizationRequest, ChallengeMethod, ClientRecord, Done, ErrorCode, Exchange, GrantType,
    GrantTypes, IntrospectionResponse, MAX_REFRESH_GRACE, MemoryStore, Policy, Rejection, Store,
    StoreError, Token, TokenHash, TokenRequest, Write, drive_exchange, finish,
    introspection_endpoint, token_endpoint,
};
use latch_core::{SliceWriter, UnixTime};
use rand_core::SeedableRng;

const T0: UnixTime = UnixTime(1_700_000_000);
const CB: &str = "https://client.example.com/cb";
const CB_ENC: &str = "https%3A%2F%2Fclient.example.com%2Fcb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// `web:web-secret`.
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ=";

type Mem = MemoryStore<8, 32>;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// A generator that has not been used before in this process.
fn fresh_rng() -> ChaCha20Rng {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1000);
    rng(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn store() -> Mem {
    let mut s = Mem::new();
    let all = GrantTypes::ALL;
    for c in [
        ClientRecord::new("web", Some("web-secret"), &[CB], "read write", all),
        ClientRecord::new("spa", None, &[CB], "read write", all),
        ClientRecord::new(
            "legacy",
            None,
            &[CB],
            "read",
            GrantTypes::of(&[GrantType::AuthorizationCode]),
        ),
        ClientRecord::new("tv", None, &[], "read", all),
    ] {
        s.add_client(c.unwrap()).unwrap();
    }
    let mut legacy = s.client("legacy").unwrap();
    legacy.allow_plain_pkce = true;
    s.add_client(legacy).unwrap();
    // "web" is a legacy confidential client exempt from the PKCE
    // requirement (these tests are about the rules around the code);
    // "strict" is a confidential client under the default rule.
    let mut web = s.client("web").unwrap();
    web.allow_no_pkce = true;
    s.add_client(web).unwrap();
    s.add_client(ClientRecord::new("strict", Some("strict-secret"), &[CB], "read", all).unwrap())
        .unwrap();
    s
}

/// RFC 9700 §2.1.1: PKCE from every client by default — a confidential
/// client without the legacy exemption gets no code without a challenge.
#[test]
fn confidential_clients_need_pkce_by_default() {
    let mut s = store();
    assert_eq!(
        authorize(
            &mut s,
            &format!("response_type=code&client_id=strict&redirect_uri={CB_ENC}"),
            T0
        ),
        Err(ErrorCode::InvalidRequest)
    );
    assert!(
        authorize(
            &mut s,
            &format!("response_type=code&client_id=strict&redirect_uri={CB_ENC}&code_challenge={CHALLENGE}&code_challenge_method=S256"),
            T0
        )
        .is_ok()
    );
}

/// Runs the authorization endpoint for `query` and approves as alice;
/// returns the code.
fn authorize(s: &mut Mem, query: &str, now: UnixTime) -> Result<String, ErrorCode> {
    let req = AuthorizationRequest::parse(query.as_bytes()).map_err(|r| r.error().code)?;
    let client = s.client(&req.client_id().map_err(|r| r.error().code)?);
    let valid = req
        .validate(client.as_ref(), &Policy::DEFAULT)
        .map_err(|r| r.error().code)?;
    let approval = valid
        .approve("alice", now, &Policy::DEFAULT, &mut fresh_rng())
        .map_err(|r| r.error().code)?;
    s.apply(&approval.write()).unwrap();
    Ok(approval.code().as_str().to_owned())
}

fn token(s: &mut Mem, auth: Option<&str>, body: &str, now: UnixTime) -> Done {
    token_endpoint(
        s,
        auth,
        body.as_bytes(),
        now,
        &Policy::DEFAULT,
        &mut fresh_rng(),
    )
}

fn code_body(code: &str, extra: &str) -> String {
    format!("grant_type=authorization_code&code={code}&redirect_uri={CB_ENC}{extra}")
}

fn err(d: &Done) -> Option<ErrorCode> {
    d.error().map(|e| e.code)
}

fn spa_code(s: &mut Mem) -> String {
    authorize(
        s,
        &format!(
            "response_type=code&client_id=spa&redirect_uri={CB_ENC}&code_challenge={CHALLENGE}&code_challenge_method=S256"
        ),
        T0,
    )
    .unwrap()
}

fn spa_exchange(s: &mut Mem, code: &str, now: UnixTime) -> Done {
    token(
        s,
        None,
        &code_body(code, &format!("&client_id=spa&code_verifier={VERIFIER}")),
        now,
    )
}

#[test]
fn parameter_sent_twice_is_invalid_request() {
    let mut s = store();
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        "grant_type=client_credentials&scope=read&scope=read",
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::InvalidRequest));
    assert_eq!(d.http_status(), 400);
    // At the authorization endpoint it is redirected back…
    let q = format!("response_type=code&client_id=web&redirect_uri={CB_ENC}&state=a&state=b");
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let web = s.client("web");
    let r = req.validate(web.as_ref(), &Policy::DEFAULT).unwrap_err();
    assert!(matches!(r, Rejection::Redirect(ref e) if e.state.is_none()));
    assert_eq!(r.error().code, ErrorCode::InvalidRequest);
}

#[test]
fn client_credentials_in_header_and_body_is_invalid_request() {
    let mut s = store();
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        "grant_type=client_credentials&client_id=web&client_secret=web-secret",
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::InvalidRequest));
}

#[test]
fn secrets_are_checked_and_basic_failures_get_a_challenge() {
    let mut s = store();
    let ok = token(
        &mut s,
        None,
        "grant_type=client_credentials&client_id=web&client_secret=web-secret",
        T0,
    );
    assert_eq!(ok.http_status(), 200);
    let bad = token(
        &mut s,
        None,
        "grant_type=client_credentials&client_id=web&client_secret=web-secreT",
        T0,
    );
    assert_eq!(err(&bad), Some(ErrorCode::InvalidClient));
    assert!(!bad.needs_basic_challenge());
    // `web:wrong`
    let bad = token(
        &mut s,
        Some("Basic d2ViOndyb25n"),
        "grant_type=client_credentials",
        T0,
    );
    assert_eq!(bad.http_status(), 401);
    assert!(bad.needs_basic_challenge());
    let unknown = token(
        &mut s,
        None,
        "grant_type=client_credentials&client_id=nobody",
        T0,
    );
    assert_eq!(err(&unknown), Some(ErrorCode::InvalidClient));
}

#[test]
fn grant_not_allowed_for_client_is_unauthorized_client() {
    let mut s = store();
    let code = authorize(
        &mut s,
        &format!("response_type=code&client_id=legacy&code_challenge={CHALLENGE}&code_challenge_method=S256"),
        T0,
    )
    .unwrap();
    let d = token(
        &mut s,
        None,
        "grant_type=refresh_token&refresh_token=x&client_id=legacy",
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::UnauthorizedClient));
    // Its code still works, without a refresh token.
    let d = token(
        &mut s,
        None,
        &code_body(
            &code,
            &format!("&client_id=legacy&code_verifier={VERIFIER}"),
        ),
        T0,
    );
    assert_eq!(d.http_status(), 200);
    assert!(d.tokens().unwrap().refresh_token.is_none());
}

#[test]
fn unknown_grant_type_is_unsupported_grant_type() {
    let mut s = store();
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        "grant_type=password&username=a&password=b",
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::UnsupportedGrantType));
}

#[test]
fn code_exchange_succeeds_once() {
    let mut s = store();
    let code = spa_code(&mut s);
    let d = spa_exchange(&mut s, &code, T0);
    assert_eq!(d.http_status(), 200, "{:?}", d.error());
    let t = d.tokens().unwrap();
    assert_eq!(t.scope, "read write");
    assert!(t.refresh_token.is_some());
}

#[test]
fn code_reuse_is_invalid_grant_and_revokes_every_token_from_it() {
    let mut s = store();
    let code = spa_code(&mut s);
    let first = spa_exchange(&mut s, &code, T0);
    assert_eq!(first.http_status(), 200);
    assert_eq!(s.access_tokens().len(), 1);
    assert_eq!(s.refresh_tokens().len(), 1);
    // A refresh in between: the family now has a retired and a new token.
    let rt = first
        .tokens()
        .unwrap()
        .refresh_token
        .as_ref()
        .unwrap()
        .as_str()
        .to_owned();
    let refreshed = token(
        &mut s,
        None,
        &format!("grant_type=refresh_token&refresh_token={rt}&client_id=spa"),
        T0,
    );
    assert_eq!(refreshed.http_status(), 200);
    let second = spa_exchange(&mut s, &code, T0);
    assert_eq!(err(&second), Some(ErrorCode::InvalidGrant));
    assert!(second.reuse_detected() && !first.reuse_detected());
    assert!(
        second
            .writes()
            .iter()
            .any(|w| matches!(w, Write::RevokeFamily { .. }))
    );
    assert!(s.access_tokens().is_empty(), "access tokens revoked");
    assert!(s.refresh_tokens().is_empty(), "refresh tokens revoked");
}

#[test]
fn code_expires_after_at_most_ten_minutes() {
    let mut s = store();
    let long = Policy {
        code_ttl: 3600,
        ..Policy::DEFAULT
    };
    let q = format!(
        "response_type=code&client_id=spa&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let valid = req.validate(s.client("spa").as_ref(), &long).unwrap();
    let approval = valid.approve("alice", T0, &long, &mut rng(1)).unwrap();
    assert_eq!(approval.record().expires_at, T0.saturating_add(600));
    s.apply(&approval.write()).unwrap();
    let code = approval.code().as_str().to_owned();
    let late = token(
        &mut s,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=spa&code_verifier={VERIFIER}"
        ),
        T0.saturating_add(600),
    );
    assert_eq!(err(&late), Some(ErrorCode::InvalidGrant));
    let in_time = token(
        &mut s,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=spa&code_verifier={VERIFIER}"
        ),
        T0.saturating_add(599),
    );
    assert_eq!(in_time.http_status(), 200);
}

#[test]
fn redirect_uri_must_equal_the_authorization_requests() {
    let mut s = store();
    let code = authorize(
        &mut s,
        &format!("response_type=code&client_id=web&redirect_uri={CB_ENC}"),
        T0,
    )
    .unwrap();
    let missing = token(
        &mut s,
        Some(WEB_BASIC),
        &format!("grant_type=authorization_code&code={code}"),
        T0,
    );
    assert_eq!(err(&missing), Some(ErrorCode::InvalidGrant));
    let other = token(
        &mut s,
        Some(WEB_BASIC),
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb2"
        ),
        T0,
    );
    assert_eq!(err(&other), Some(ErrorCode::InvalidGrant));
    let ok = token(&mut s, Some(WEB_BASIC), &code_body(&code, ""), T0);
    assert_eq!(ok.http_status(), 200);
}

#[test]
fn redirect_mismatch_never_redirects() {
    let s = store();
    let q = "response_type=code&client_id=web&redirect_uri=https%3A%2F%2Fevil.example%2Fcb&state=x";
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let web = s.client("web");
    let r = req.validate(web.as_ref(), &Policy::DEFAULT).unwrap_err();
    assert!(matches!(r, Rejection::ErrorPage(_)));
    assert_eq!(r.http_status(), 400);
}

#[test]
fn unknown_client_never_redirects() {
    let q = format!("response_type=code&client_id=ghost&redirect_uri={CB_ENC}");
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let r = req.validate(None, &Policy::DEFAULT).unwrap_err();
    assert!(matches!(r, Rejection::ErrorPage(_)));
}

#[test]
fn public_clients_must_use_pkce() {
    let mut s = store();
    assert_eq!(
        authorize(&mut s, "response_type=code&client_id=spa", T0),
        Err(ErrorCode::InvalidRequest)
    );
    // A code stored without a challenge (say, by an older server) is still
    // refused at the token endpoint.
    authorize(
        &mut s,
        &format!("response_type=code&client_id=web&redirect_uri={CB_ENC}"),
        T0,
    )
    .unwrap();
    let mut rec = s.codes()[0].clone();
    rec.client_id = "spa".try_into().unwrap();
    rec.hash = TokenHash::of(b"spa-code");
    s.apply(&Write::StoreCode(rec)).unwrap();
    let d = token(&mut s, None, &code_body("spa-code", "&client_id=spa"), T0);
    assert_eq!(err(&d), Some(ErrorCode::InvalidGrant));
}

#[test]
fn pkce_downgrade_rejected() {
    let mut s = store();
    // plain, by default or by name, for a client not allowed it.
    for q in [
        format!("response_type=code&client_id=spa&code_challenge={VERIFIER}"),
        format!(
            "response_type=code&client_id=spa&code_challenge={VERIFIER}&code_challenge_method=plain"
        ),
    ] {
        assert_eq!(authorize(&mut s, &q, T0), Err(ErrorCode::InvalidRequest));
    }
    // A verifier for a code issued without a challenge (RFC 9700 §4.8.2).
    let code = authorize(
        &mut s,
        &format!("response_type=code&client_id=web&redirect_uri={CB_ENC}"),
        T0,
    )
    .unwrap();
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        &code_body(&code, &format!("&code_verifier={VERIFIER}")),
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::InvalidGrant));
}

#[test]
fn plain_pkce_only_for_clients_configured_for_it() {
    let mut s = store();
    let code = authorize(
        &mut s,
        &format!("response_type=code&client_id=legacy&code_challenge={VERIFIER}"),
        T0,
    )
    .unwrap();
    assert_eq!(
        s.codes()[0].challenge.as_ref().unwrap().method,
        ChallengeMethod::Plain
    );
    // The client loses the permission before exchanging: refused.
    let mut legacy = s.client("legacy").unwrap();
    legacy.allow_plain_pkce = false;
    s.add_client(legacy.clone()).unwrap();
    let d = token(
        &mut s,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=legacy&code_verifier={VERIFIER}"
        ),
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::InvalidGrant));
    legacy.allow_plain_pkce = true;
    s.add_client(legacy).unwrap();
    let d = token(
        &mut s,
        None,
        &format!(
            "grant_type=authorization_code&code={code}&client_id=legacy&code_verifier={VERIFIER}"
        ),
        T0,
    );
    assert_eq!(d.http_status(), 200);
}

#[test]
fn wrong_or_missing_verifier_is_invalid_grant() {
    let mut s = store();
    let code = spa_code(&mut s);
    for extra in [
        "&client_id=spa".to_owned(),
        "&client_id=spa&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK".to_owned(),
        "&client_id=spa&code_verifier=short".to_owned(),
    ] {
        let d = token(&mut s, None, &code_body(&code, &extra), T0);
        assert_eq!(err(&d), Some(ErrorCode::InvalidGrant), "{extra}");
    }
    assert_eq!(spa_exchange(&mut s, &code, T0).http_status(), 200);
}

#[test]
fn code_of_another_client_is_invalid_grant() {
    let mut s = store();
    let code = spa_code(&mut s);
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        &code_body(&code, &format!("&code_verifier={VERIFIER}")),
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::InvalidGrant));
}

fn refresh(s: &mut Mem, rt: &str, extra: &str) -> Done {
    token(
        s,
        None,
        &format!("grant_type=refresh_token&refresh_token={rt}&client_id=spa{extra}"),
        T0,
    )
}

#[test]
fn refresh_rotates_the_refresh_token() {
    let mut s = store();
    let code = spa_code(&mut s);
    let first = spa_exchange(&mut s, &code, T0);
    let rt1 = first.tokens().unwrap().refresh_token.clone().unwrap();
    let second = refresh(&mut s, rt1.as_str(), "");
    let rt2 = second.tokens().unwrap().refresh_token.clone().unwrap();
    assert_ne!(rt1, rt2);
    let third = refresh(&mut s, rt2.as_str(), "");
    assert_eq!(third.http_status(), 200);
}

#[test]
fn refresh_reuse_revokes_family() {
    let mut s = store();
    let code = spa_code(&mut s);
    let first = spa_exchange(&mut s, &code, T0);
    let rt1 = first.tokens().unwrap().refresh_token.clone().unwrap();
    let second = refresh(&mut s, rt1.as_str(), "");
    let rt2 = second.tokens().unwrap().refresh_token.clone().unwrap();
    // Another, unrelated family survives.
    let other_code = spa_code(&mut s);
    assert_eq!(spa_exchange(&mut s, &other_code, T0).http_status(), 200);
    assert!(!second.reuse_detected());
    let reuse = refresh(&mut s, rt1.as_str(), "");
    assert_eq!(err(&reuse), Some(ErrorCode::InvalidGrant));
    assert!(reuse.reuse_detected());
    let after = refresh(&mut s, rt2.as_str(), "");
    assert!(
        !after.reuse_detected(),
        "an unknown token is not a reuse: its family is gone already"
    );
    assert_eq!(
        err(&after),
        Some(ErrorCode::InvalidGrant),
        "the whole family is gone"
    );
    assert_eq!(
        s.access_tokens().len(),
        1,
        "only the other family's token is left"
    );
}

#[test]
fn refresh_scope_may_only_narrow() {
    let mut s = store();
    let code = spa_code(&mut s);
    let first = spa_exchange(&mut s, &code, T0);
    let rt = first.tokens().unwrap().refresh_token.clone().unwrap();
    let wider = refresh(&mut s, rt.as_str(), "&scope=read%20admin");
    assert_eq!(err(&wider), Some(ErrorCode::InvalidScope));
    let narrower = refresh(&mut s, rt.as_str(), "&scope=read");
    assert_eq!(narrower.tokens().unwrap().scope, "read");
    // The new refresh token keeps the original grant's scope.
    let rt2 = narrower.tokens().unwrap().refresh_token.clone().unwrap();
    let back = refresh(&mut s, rt2.as_str(), "&scope=write");
    assert_eq!(back.tokens().unwrap().scope, "write");
}

/// A policy with a refresh grace window of `grace` seconds.
fn grace(grace: u64) -> Policy {
    Policy {
        refresh_grace: grace,
        ..Policy::DEFAULT
    }
}

/// The refresh grant for `client_id` (a public client) at `now`.
fn refresh_as(s: &mut Mem, client_id: &str, rt: &Token, now: UnixTime, policy: &Policy) -> Done {
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={client_id}",
        rt.as_str()
    );
    token_endpoint(s, None, body.as_bytes(), now, policy, &mut fresh_rng())
}

/// The new (access token, refresh token) of a successful refresh.
fn pair(d: &Done) -> (Token, Token) {
    let t = d
        .tokens()
        .unwrap_or_else(|| panic!("tokens: {:?}", d.error()));
    (t.access_token.clone(), t.refresh_token.clone().unwrap())
}

/// Whether `token` introspects active for a resource server at `now`.
fn introspects_active(s: &mut Mem, token: &Token, now: UnixTime) -> bool {
    if s.client("rs").is_none() {
        let mut rs = ClientRecord::new("rs", Some("rs-secret"), &[], "", GrantTypes::NONE).unwrap();
        rs.resource_server = true;
        s.add_client(rs).unwrap();
    }
    let body = format!("token={}", token.as_str());
    // `rs:rs-secret`.
    let d = introspection_endpoint(s, Some("Basic cnM6cnMtc2VjcmV0"), body.as_bytes(), now);
    matches!(d.response(), Some(IntrospectionResponse::Active(_)))
}

/// A fresh spa grant refreshed once at T0 under `policy`: (the rotated-out
/// refresh token, the successor pair).
fn rotated_once(s: &mut Mem, policy: &Policy) -> (Token, (Token, Token)) {
    let code = spa_code(s);
    let first = spa_exchange(s, &code, T0);
    let rt1 = first.tokens().unwrap().refresh_token.clone().unwrap();
    let second = refresh_as(s, "spa", &rt1, T0, policy);
    assert!(!second.reuse_detected());
    (rt1, pair(&second))
}

/// Issue 17 (Hydra's and Keycloak's grace period): within the window the
/// client that lost the answer to a refresh presents the rotated-out token
/// again and gets another new pair in the same family; nothing is revoked,
/// the first successor and the new pair both work, and the old token
/// still introspects inactive.
#[test]
fn refresh_within_the_grace_window_issues_a_new_pair_and_keeps_the_family() {
    let policy = grace(30);
    let mut s = store();
    let (rt1, (at2, rt2)) = rotated_once(&mut s, &policy);
    let replay = refresh_as(&mut s, "spa", &rt1, T0.saturating_add(29), &policy);
    assert_eq!(replay.http_status(), 200, "{:?}", replay.error());
    assert!(!replay.reuse_detected());
    assert!(
        !replay
            .writes()
            .iter()
            .any(|w| matches!(w, Write::RevokeFamily { .. })),
        "nothing is revoked"
    );
    let (at3, rt3) = pair(&replay);
    assert_ne!(rt3, rt2, "a new refresh token, not the successor again");
    assert_eq!(replay.tokens().unwrap().scope, "read write");
    let now = T0.saturating_add(29);
    assert!(
        !introspects_active(&mut s, &rt1, now),
        "the old token is retired"
    );
    for live in [&at2, &rt2, &at3, &rt3] {
        assert!(introspects_active(&mut s, live, now), "{live:?} is live");
    }
    let old = s
        .refresh_tokens()
        .iter()
        .find(|r| r.hash == rt1.hash())
        .unwrap();
    assert_eq!(old.retired_at, Some(T0), "the window is not extended");
    // Both the first successor and the grace pair's refresh token rotate.
    let a = refresh_as(&mut s, "spa", &rt2, now, &policy);
    assert_eq!(a.http_status(), 200, "{:?}", a.error());
    let b = refresh_as(&mut s, "spa", &rt3, now, &policy);
    assert_eq!(b.http_status(), 200, "{:?}", b.error());
    // The window is counted from the first rotation: a replay at its end
    // is reuse, however recently the last grace refresh was.
    let late = refresh_as(&mut s, "spa", &rt1, T0.saturating_add(30), &policy);
    assert_eq!(err(&late), Some(ErrorCode::InvalidGrant));
    assert!(late.reuse_detected());
}

/// At `retired_at + grace` and after, presenting the rotated-out token is
/// reuse as with strict rotation (RFC 9700 §4.14.2): `invalid_grant`, and
/// the family, successors included, is revoked.
#[test]
fn refresh_reuse_at_and_after_the_grace_window_revokes_family() {
    for delay in [30, 31, 86_400] {
        let policy = grace(30);
        let mut s = store();
        let (rt1, (at2, rt2)) = rotated_once(&mut s, &policy);
        let now = T0.saturating_add(delay);
        let reuse = refresh_as(&mut s, "spa", &rt1, now, &policy);
        assert_eq!(
            err(&reuse),
            Some(ErrorCode::InvalidGrant),
            "after {delay} s"
        );
        assert!(reuse.reuse_detected(), "after {delay} s");
        assert!(!introspects_active(&mut s, &at2, now));
        let after = refresh_as(&mut s, "spa", &rt2, now, &policy);
        assert_eq!(
            err(&after),
            Some(ErrorCode::InvalidGrant),
            "the family is gone"
        );
        assert!(s.access_tokens().is_empty() && s.refresh_tokens().is_empty());
    }
}

/// The window is only for the client the token was issued to: another
/// client presenting it is refused as ever (`invalid_grant`, and nothing
/// revoked — it proves nothing about the owner's copy).
#[test]
fn refresh_grace_is_for_the_same_client_only() {
    let policy = grace(30);
    let mut s = store();
    let (rt1, (_, rt2)) = rotated_once(&mut s, &policy);
    let now = T0.saturating_add(1);
    let other = refresh_as(&mut s, "tv", &rt1, now, &policy);
    assert_eq!(err(&other), Some(ErrorCode::InvalidGrant));
    assert!(!other.reuse_detected());
    assert!(other.writes().is_empty());
    assert_eq!(
        refresh_as(&mut s, "spa", &rt2, now, &policy).http_status(),
        200
    );
}

/// Grace 0 (the default) is strict rotation: a replay even in the same
/// second is reuse.
#[test]
fn refresh_grace_zero_is_strict_rotation() {
    assert_eq!(Policy::DEFAULT.refresh_grace, 0);
    let policy = grace(0);
    let mut s = store();
    let (rt1, (_, rt2)) = rotated_once(&mut s, &policy);
    let reuse = refresh_as(&mut s, "spa", &rt1, T0, &policy);
    assert_eq!(err(&reuse), Some(ErrorCode::InvalidGrant));
    assert!(reuse.reuse_detected());
    assert_eq!(
        err(&refresh_as(&mut s, "spa", &rt2, T0, &policy)),
        Some(ErrorCode::InvalidGrant)
    );
}

/// The window is capped at [`MAX_REFRESH_GRACE`] whatever the policy says.
#[test]
fn refresh_grace_is_capped() {
    let policy = grace(u64::MAX);
    let mut s = store();
    let (rt1, _) = rotated_once(&mut s, &policy);
    let inside = refresh_as(
        &mut s,
        "spa",
        &rt1,
        T0.saturating_add(MAX_REFRESH_GRACE - 1),
        &policy,
    );
    assert_eq!(inside.http_status(), 200);
    let outside = refresh_as(
        &mut s,
        "spa",
        &rt1,
        T0.saturating_add(MAX_REFRESH_GRACE),
        &policy,
    );
    assert!(outside.reuse_detected());
}

/// An expired token is refused within the window too (no revocation: an
/// expired token proves nothing).
#[test]
fn refresh_grace_does_not_outlive_the_token() {
    let policy = Policy {
        refresh_token_ttl: Some(100),
        ..grace(30)
    };
    let mut s = store();
    let code = spa_code(&mut s);
    let first = token_endpoint(
        &mut s,
        None,
        code_body(&code, &format!("&client_id=spa&code_verifier={VERIFIER}")).as_bytes(),
        T0,
        &policy,
        &mut fresh_rng(),
    );
    let rt1 = first.tokens().unwrap().refresh_token.clone().unwrap();
    let at = T0.saturating_add(90);
    let (_, rt2) = pair(&refresh_as(&mut s, "spa", &rt1, at, &policy));
    let expired = refresh_as(&mut s, "spa", &rt1, T0.saturating_add(100), &policy);
    assert_eq!(err(&expired), Some(ErrorCode::InvalidGrant));
    assert!(!expired.reuse_detected());
    assert_eq!(
        refresh_as(&mut s, "spa", &rt2, T0.saturating_add(100), &policy).http_status(),
        200
    );
}

/// Two refreshes with one live token, read before either writes: with a
/// grace window the loser's retirement write succeeds (the token was
/// retired within the window), so both get a pair and the family lives;
/// without one the loser conflicts, and the conflict answer revokes the
/// family.
#[test]
fn concurrent_refreshes_within_the_grace_window_both_succeed() {
    for window in [0, 2] {
        let policy = grace(window);
        let mut s = store();
        let code = spa_code(&mut s);
        let first = spa_exchange(&mut s, &code, T0);
        let rt1 = first.tokens().unwrap().refresh_token.clone().unwrap();
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id=spa",
            rt1.as_str()
        );
        let run = |s: &Mem, now: UnixTime| {
            let req = TokenRequest::parse(body.as_bytes(), None).unwrap();
            let Exchange::NeedClient(n) = Exchange::start(req, now, &policy, &mut fresh_rng())
            else {
                panic!()
            };
            let Exchange::NeedGrant(g) = n.provide_client(s.client("spa").as_ref()) else {
                panic!()
            };
            let rec = s.grant(g.kind(), g.hash());
            g.provide_grant(rec.as_ref())
        };
        // The loser read the token a second before the winner did.
        let b = run(&s, T0.saturating_add(9));
        let a = run(&s, T0.saturating_add(10));
        assert_eq!((a.http_status(), b.http_status()), (200, 200));
        let a = finish(&mut s, a);
        assert_eq!(a.http_status(), 200);
        let b = finish(&mut s, b);
        let (_, rt_a) = pair(&a);
        if window == 0 {
            assert_eq!(err(&b), Some(ErrorCode::InvalidGrant));
            assert!(b.reuse_detected(), "a lost race is reuse without a window");
            assert!(s.access_tokens().is_empty() && s.refresh_tokens().is_empty());
        } else {
            assert_eq!(b.http_status(), 200, "{:?}", b.error());
            assert!(!b.reuse_detected());
            let (_, rt_b) = pair(&b);
            let now = T0.saturating_add(10);
            let old = s
                .refresh_tokens()
                .iter()
                .find(|r| r.hash == rt1.hash())
                .unwrap();
            assert_eq!(old.retired_at, Some(now), "the winner's retirement time");
            for rt in [rt_a, rt_b] {
                assert_eq!(
                    refresh_as(&mut s, "spa", &rt, now, &policy).http_status(),
                    200
                );
            }
        }
    }
}

#[test]
fn client_credentials_is_for_confidential_clients_only() {
    let mut s = store();
    let d = token(
        &mut s,
        None,
        "grant_type=client_credentials&client_id=spa",
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::UnauthorizedClient));
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        "grant_type=client_credentials&scope=read",
        T0,
    );
    assert_eq!(d.tokens().unwrap().scope, "read");
    assert!(d.tokens().unwrap().refresh_token.is_none());
    let d = token(
        &mut s,
        Some(WEB_BASIC),
        "grant_type=client_credentials&scope=admin",
        T0,
    );
    assert_eq!(err(&d), Some(ErrorCode::InvalidScope));
}

fn device(s: &mut Mem) -> (String, String) {
    let d = latch_core::oauth2::device_authorization_endpoint(
        s,
        None,
        b"client_id=tv",
        T0,
        &Policy::DEFAULT,
        &mut rng(99),
    );
    let issued = d.issued().unwrap();
    (
        issued.device_code.as_str().to_owned(),
        issued.user_code.as_str().to_owned(),
    )
}

fn poll(s: &mut Mem, device_code: &str, at: u64) -> Done {
    token(
        s,
        None,
        &format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code={device_code}&client_id=tv"
        ),
        T0.saturating_add(at),
    )
}

#[test]
fn device_poll_before_approval_is_authorization_pending() {
    let mut s = store();
    let (dc, _) = device(&mut s);
    assert_eq!(
        err(&poll(&mut s, &dc, 5)),
        Some(ErrorCode::AuthorizationPending)
    );
    assert_eq!(
        err(&poll(&mut s, &dc, 10)),
        Some(ErrorCode::AuthorizationPending)
    );
}

#[test]
fn slow_down_grows_the_interval_by_five_seconds() {
    let mut s = store();
    let (dc, _) = device(&mut s);
    assert_eq!(
        err(&poll(&mut s, &dc, 5)),
        Some(ErrorCode::AuthorizationPending)
    );
    assert_eq!(err(&poll(&mut s, &dc, 7)), Some(ErrorCode::SlowDown));
    assert_eq!(s.devices()[0].interval, 10);
    // 10 s after the last poll is fine again; 9 s is not.
    assert_eq!(err(&poll(&mut s, &dc, 16)), Some(ErrorCode::SlowDown));
    assert_eq!(s.devices()[0].interval, 15);
    assert_eq!(
        err(&poll(&mut s, &dc, 31)),
        Some(ErrorCode::AuthorizationPending)
    );
    assert_eq!(s.devices()[0].interval, 15);
}

#[test]
fn device_code_expires_with_expired_token() {
    let mut s = store();
    let (dc, _) = device(&mut s);
    assert_eq!(err(&poll(&mut s, &dc, 600)), Some(ErrorCode::ExpiredToken));
}

#[test]
fn device_denied_is_access_denied() {
    let mut s = store();
    let (dc, uc) = device(&mut s);
    let pending =
        latch_core::oauth2::verify_user_code(&s, &latch_core::Text::plain(&uc), T0).unwrap();
    s.apply(&pending.deny()).unwrap();
    assert_eq!(err(&poll(&mut s, &dc, 5)), Some(ErrorCode::AccessDenied));
}

#[test]
fn device_approved_issues_tokens_once() {
    let mut s = store();
    let (dc, uc) = device(&mut s);
    let typed = format!("{}-{}", &uc[..4], &uc[4..]).to_lowercase();
    let pending =
        latch_core::oauth2::verify_user_code(&s, &latch_core::Text::plain(&typed), T0).unwrap();
    assert_eq!(pending.scope(), "read");
    s.apply(&pending.approve("bob").unwrap()).unwrap();
    let d = poll(&mut s, &dc, 5);
    assert_eq!(d.http_status(), 200);
    assert_eq!(s.access_tokens()[0].subject.as_deref(), Some("bob"));
    let again = poll(&mut s, &dc, 20);
    assert_eq!(err(&again), Some(ErrorCode::InvalidGrant));
    assert!(s.access_tokens().is_empty(), "reuse revokes the tokens");
}

#[test]
fn a_lost_race_counts_as_reuse() {
    // Two requests read the same unused code; the first to write wins.
    let mut s = store();
    let code = spa_code(&mut s);
    let body = code_body(&code, &format!("&client_id=spa&code_verifier={VERIFIER}"));
    let run = |s: &Mem, seed| {
        let req = TokenRequest::parse(body.as_bytes(), None).unwrap();
        let Exchange::NeedClient(n) = Exchange::start(req, T0, &Policy::DEFAULT, &mut rng(seed))
        else {
            panic!()
        };
        let Exchange::NeedGrant(g) = n.provide_client(s.client("spa").as_ref()) else {
            panic!()
        };
        let rec = s.grant(g.kind(), g.hash());
        g.provide_grant(rec.as_ref())
    };
    let a = run(&s, 1);
    let b = run(&s, 2);
    assert_eq!(a.http_status(), 200);
    assert_eq!(b.http_status(), 200);
    let a = finish(&mut s, a);
    assert_eq!(a.http_status(), 200);
    assert_eq!(s.apply_all(b.writes()), Err(StoreError::Conflict));
    let b = b.conflict();
    assert_eq!(b.error().unwrap().code, ErrorCode::InvalidGrant);
    s.apply_all(b.writes()).unwrap();
    assert!(s.access_tokens().is_empty());
}

#[test]
fn failing_rng_is_temporarily_unavailable() {
    struct Broken;
    #[derive(Debug)]
    struct E;
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("e")
        }
    }
    impl std::error::Error for E {}
    impl rand_core::TryRng for Broken {
        type Error = E;
        fn try_next_u32(&mut self) -> Result<u32, E> {
            Err(E)
        }
        fn try_next_u64(&mut self) -> Result<u64, E> {
            Err(E)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), E> {
            Err(E)
        }
    }
    impl rand_core::TryCryptoRng for Broken {}
    let mut s = store();
    let req = TokenRequest::parse(b"grant_type=client_credentials", None);
    assert!(req.is_err(), "no client at all");
    let req = TokenRequest::parse(
        b"grant_type=client_credentials&client_id=web&client_secret=web-secret",
        None,
    )
    .unwrap();
    let d = drive_exchange(
        &mut s,
        Exchange::start(req, T0, &Policy::DEFAULT, &mut Broken),
    );
    assert_eq!(d.http_status(), 503);
}

#[test]
fn responses_render_into_caller_buffers_and_report_size() {
    let mut s = store();
    let d = token(&mut s, Some(WEB_BASIC), "grant_type=client_credentials", T0);
    let mut big = [0u8; 512];
    let n = d.render(&mut big).unwrap();
    let mut small = [0u8; 20];
    assert_eq!(
        d.render(&mut small),
        Err(latch_core::BufferTooSmall { required: n })
    );
    let mut w = SliceWriter::new(&mut big);
    latch_core::oauth2::write_basic_authorization("web", "web-secret", &mut w);
    assert_eq!(w.into_written().unwrap(), WEB_BASIC.as_bytes());
}
