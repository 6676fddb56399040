//! OpenID Connect through the server core's state machines: the
//! authorization request's `nonce`/`prompt`/`max_age`, the code that
//! remembers them, and the id_token claims the token endpoint decides
//! (OpenID Connect Core 1.0 §3.1.2, §3.1.3.3, §12.2).

use chacha20::ChaCha20Rng;
use latch_core::UnixTime;
use latch_core::jose::Alg;
use latch_core::oauth2::{
    AuthorizationRequest, ClientRecord, ErrorCode, GrantTypes, MemoryStore, Policy, Rejection,
    Store, s256_challenge, token_endpoint,
};
use latch_core::oidc::{Step, at_hash};
use rand_core::SeedableRng;

type Mem = MemoryStore<4, 32>;

const VERIFIER: &str = "dBjftJeZ4CVP-mJ0kZoqH8Ivo-7Zt8zVQ9LGEOzvb9M";

fn store() -> Mem {
    let mut s = Mem::new();
    s.add_client(
        ClientRecord::new(
            "rp",
            Some("rp-secret"),
            &["https://rp.example/cb"],
            "openid profile email read",
            GrantTypes::ALL,
        )
        .unwrap(),
    )
    .unwrap();
    s
}

fn query(extra: &str) -> String {
    let ch = s256_challenge(VERIFIER.as_bytes());
    format!(
        "response_type=code&client_id=rp&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_challenge={}&code_challenge_method=S256&state=s{extra}",
        std::str::from_utf8(&ch).unwrap()
    )
}

/// Approves `q` as alice (password entered at `auth_time`) and redeems the
/// code; returns the token endpoint's answer.
fn code_flow(s: &mut Mem, q: &str, auth_time: UnixTime, now: UnixTime) -> latch_core::oauth2::Done {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let client = s.client("rp").unwrap();
    let valid = req.validate(Some(&client), &Policy::DEFAULT).unwrap();
    let approval = valid
        .approve_at("alice", auth_time, now, &Policy::DEFAULT, &mut rng)
        .unwrap();
    s.apply(&approval.write()).unwrap();
    let body = format!(
        "grant_type=authorization_code&code={}&redirect_uri=https%3A%2F%2Frp.example%2Fcb&code_verifier={VERIFIER}",
        approval.code().as_str()
    );
    token_endpoint(
        s,
        Some("Basic cnA6cnAtc2VjcmV0"),
        body.as_bytes(),
        now,
        &Policy::DEFAULT,
        &mut rng,
    )
}

#[test]
fn openid_code_gets_id_token_claims_and_refresh_keeps_auth_time() {
    let mut s = store();
    let now = UnixTime(1_700_000_000);
    let done = code_flow(
        &mut s,
        &query("&scope=openid%20profile&nonce=n-0S6_WzA2Mj"),
        UnixTime(now.0 - 30),
        now,
    );
    assert_eq!(done.http_status(), 200);
    let tokens = done.tokens().unwrap();
    let id = tokens
        .id_token
        .as_ref()
        .expect("openid scope gets an id_token");
    assert_eq!(id.subject.as_str(), "alice");
    assert_eq!(id.audience.as_str(), "rp");
    assert_eq!(id.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    assert_eq!(id.auth_time, UnixTime(now.0 - 30));
    assert_eq!(id.issued_at, now);
    assert_eq!(id.expires_at, UnixTime(now.0 + 3600));
    assert_eq!(
        id.at_hash,
        at_hash(Alg::Rs256, tokens.access_token.as_str())
    );
    assert_eq!(id.alg, Alg::Rs256);
    let refresh = tokens.refresh_token.clone().unwrap();

    // A refresh issues a new id_token: same user and auth_time, no nonce.
    let later = UnixTime(now.0 + 100);
    let body = format!(
        "grant_type=refresh_token&refresh_token={}",
        refresh.as_str()
    );
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let done = token_endpoint(
        &mut s,
        Some("Basic cnA6cnAtc2VjcmV0"),
        body.as_bytes(),
        later,
        &Policy::DEFAULT,
        &mut rng,
    );
    assert_eq!(done.http_status(), 200);
    let t = done.tokens().unwrap();
    let id2 = t.id_token.as_ref().expect("refresh of an OpenID grant");
    assert_eq!(id2.subject.as_str(), "alice");
    assert_eq!(id2.nonce, None);
    assert_eq!(id2.auth_time, UnixTime(now.0 - 30));
    assert_eq!(id2.issued_at, later);
    assert_eq!(id2.at_hash, at_hash(Alg::Rs256, t.access_token.as_str()));

    // Narrowing the scope to drop openid: no id_token.
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&scope=profile",
        t.refresh_token.as_ref().unwrap().as_str()
    );
    let done = token_endpoint(
        &mut s,
        Some("Basic cnA6cnAtc2VjcmV0"),
        body.as_bytes(),
        later,
        &Policy::DEFAULT,
        &mut rng,
    );
    assert_eq!(done.http_status(), 200);
    assert!(done.tokens().unwrap().id_token.is_none());
}

#[test]
fn plain_oauth_gets_no_id_token() {
    let mut s = store();
    let now = UnixTime(1_700_000_000);
    let done = code_flow(&mut s, &query("&scope=read&nonce=ignored"), now, now);
    assert_eq!(done.http_status(), 200);
    assert!(done.tokens().unwrap().id_token.is_none());
    let mut buf = [0u8; 1024];
    let n = done.render(&mut buf).unwrap();
    assert!(!std::str::from_utf8(&buf[..n]).unwrap().contains("id_token"));
}

#[test]
fn the_token_body_carries_the_signed_id_token() {
    let mut s = store();
    let now = UnixTime(1_700_000_000);
    let done = code_flow(&mut s, &query("&scope=openid"), now, now);
    let t = done.tokens().unwrap();
    let mut buf = [0u8; 1024];
    let n = t.render_with(None, Some("h.p.s"), &mut buf).unwrap();
    let body = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(body.ends_with(r#","id_token":"h.p.s"}"#), "{body}");
}

fn step(q: &str, session: Option<UnixTime>, now: UnixTime) -> Result<Step, ErrorCode> {
    let s = store();
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let client = s.client("rp").unwrap();
    let valid = req.validate(Some(&client), &Policy::DEFAULT).unwrap();
    valid.next_step(session, now).map_err(|r| {
        assert!(
            matches!(r, Rejection::Redirect(_)),
            "errors go back to the client"
        );
        r.error().code
    })
}

#[test]
fn prompt_and_max_age_decisions() {
    let now = UnixTime(10_000);
    let openid = query("&scope=openid");
    assert_eq!(step(&openid, None, now), Ok(Step::Login));
    assert_eq!(step(&openid, Some(UnixTime(1)), now), Ok(Step::Consent));
    let none = query("&scope=openid&prompt=none");
    assert_eq!(step(&none, None, now), Err(ErrorCode::LoginRequired));
    assert_eq!(step(&none, Some(now), now), Err(ErrorCode::ConsentRequired));
    let login = query("&scope=openid&prompt=login");
    assert_eq!(step(&login, Some(now), now), Ok(Step::Login));
    let aged = query("&scope=openid&max_age=60");
    assert_eq!(step(&aged, Some(UnixTime(9_000)), now), Ok(Step::Login));
    assert_eq!(step(&aged, Some(UnixTime(9_950)), now), Ok(Step::Consent));
    // Without openid the OpenID parameters are ignored (OAuth 2.0 only).
    assert_eq!(
        step(&query("&scope=read&prompt=none"), None, now),
        Ok(Step::Login)
    );
    // Request objects and registration are not supported, and say so.
    for (extra, code) in [
        (
            "&request=eyJhbGciOiJub25lIn0.e30.",
            ErrorCode::RequestNotSupported,
        ),
        (
            "&request_uri=https%3A%2F%2Frp.example%2Fr",
            ErrorCode::RequestUriNotSupported,
        ),
        ("&registration=%7B%7D", ErrorCode::RegistrationNotSupported),
    ] {
        let q = query(&format!("&scope=openid{extra}"));
        let s = store();
        let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
        let client = s.client("rp").unwrap();
        let err = req.validate(Some(&client), &Policy::DEFAULT).unwrap_err();
        assert_eq!(err.error().code, code);
        assert!(matches!(err, Rejection::Redirect(_)));
    }
    // A malformed prompt is an error redirect.
    let req_q = query("&scope=openid&prompt=none%20login");
    let s = store();
    let req = AuthorizationRequest::parse(req_q.as_bytes()).unwrap();
    let client = s.client("rp").unwrap();
    let err = req.validate(Some(&client), &Policy::DEFAULT).unwrap_err();
    assert_eq!(err.error().code, ErrorCode::InvalidRequest);
    assert!(matches!(err, Rejection::Redirect(_)));
}

#[test]
fn an_old_login_cannot_approve_a_max_age_request() {
    let s = store();
    let now = UnixTime(10_000);
    let q = query("&scope=openid&max_age=60");
    let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
    let client = s.client("rp").unwrap();
    let valid = req.validate(Some(&client), &Policy::DEFAULT).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let err = valid
        .approve_at("alice", UnixTime(9_000), now, &Policy::DEFAULT, &mut rng)
        .unwrap_err();
    assert_eq!(err.error().code, ErrorCode::LoginRequired);
    let ok = valid
        .approve_at("alice", now, now, &Policy::DEFAULT, &mut rng)
        .unwrap();
    assert_eq!(ok.record().oidc.as_ref().unwrap().auth_time, now);
}

/// RFC 9068: a JWT client gets access token claims; binding the signed
/// token re-keys the stored record by the JWT's hash and recomputes the
/// id_token's `at_hash` over it.
#[test]
fn jwt_access_token_claims_and_binding() {
    let mut s = Mem::new();
    let mut c = ClientRecord::new(
        "rp",
        Some("rp-secret"),
        &["https://rp.example/cb"],
        "openid profile email read",
        GrantTypes::ALL,
    )
    .unwrap();
    c.jwt_access_tokens = true;
    c.id_token_alg = Alg::EdDsa;
    s.add_client(c).unwrap();
    let now = UnixTime(1_700_000_000);
    // (token_endpoint makes the writes itself; a shell binds first.)
    let mut done = code_flow(&mut s, &query("&scope=openid%20read"), now, now);
    let t = done.tokens().unwrap().clone();
    let claims = t.jwt_access_token.clone().expect("a JWT client");
    assert_eq!(claims.subject.as_deref(), Some("alice"));
    assert_eq!(claims.scope.as_str(), "openid read");
    assert_eq!(claims.jti.len(), 43);
    assert_eq!(claims.auth_time, Some(now));
    let id = t.id_token.clone().unwrap();
    assert_eq!(id.alg, Alg::EdDsa);
    assert_eq!(id.at_hash, at_hash(Alg::EdDsa, t.access_token.as_str()));

    done.bind_access_token("header.payload.signature");
    let stored = done
        .writes()
        .iter()
        .find_map(|w| match w {
            latch_core::oauth2::Write::StoreAccessToken(a) => Some(a.hash),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        stored,
        latch_core::oauth2::TokenHash::of(b"header.payload.signature")
    );
    assert_eq!(
        done.tokens().unwrap().id_token.as_ref().unwrap().at_hash,
        at_hash(Alg::EdDsa, "header.payload.signature")
    );
}
