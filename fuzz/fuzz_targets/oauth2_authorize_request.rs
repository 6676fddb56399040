//! Authorization request (RFC 6749 §4.1.1): `AuthorizationRequest::parse`
//! on arbitrary query bytes, then `validate` against a fixed client. Never
//! panics; parsing fails exactly when the query is malformed; a redirect
//! (error or code) only ever goes to a registered URI and carries the
//! request's `state` and the issuer; an accepted request names a
//! registered URI, the client's own id, a scope within the client's, and
//! PKCE where the client or policy needs it. With `openid` in the scope
//! (OpenID Connect Core §3.1.2.1): the nonce kept is the one sent, `prompt`
//! and `max_age` are well-formed, and the login/consent decision and the
//! approval agree with a model of `prompt`/`max_age`. Input: one selector
//! byte (client, policy, session age), then the query.
#![no_main]
use latch_core::oauth2::{
    AuthorizationRequest, ChallengeMethod, ClientRecord, ErrorCode, GrantType, GrantTypes, Policy,
    Rejection, scope,
};
use latch_core::{Text, UnixTime, form};
use latch_fuzz::{FuzzRng, written};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const ISSUER: &str = "https://server.example.com";
const NOW: UnixTime = UnixTime(1_700_000_000);
const NAMES: [&str; 14] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "request",
    "request_uri",
    "registration",
];

static CLIENTS: LazyLock<[ClientRecord; 3]> = LazyLock::new(|| {
    let confidential = ClientRecord::new(
        "s6BhdRkqt3",
        Some("gX1fBat3bV"),
        &["https://client.example.com/cb"],
        "read write",
        GrantTypes::ALL,
    )
    .unwrap();
    let mut public = ClientRecord::new(
        "s6BhdRkqt3",
        None,
        &[
            "https://client.example.com/cb",
            "https://client.example.com/cb?app=1",
            "http://127.0.0.1:8080/",
            "https://client.example.com/cb2?",
        ],
        "read write dolphin openid profile",
        GrantTypes::ALL,
    )
    .unwrap();
    public.allow_plain_pkce = true;
    let no_code = ClientRecord::new(
        "m%20e",
        Some("s"),
        &["https://m.example/cb?a=b&"],
        "read",
        GrantTypes::of(&[GrantType::ClientCredentials]),
    )
    .unwrap();
    [confidential, public, no_code]
});

/// The parameters a location appends after the registered URI.
fn appended(location: &str, uri: &str) -> Vec<(String, String)> {
    assert!(
        location.starts_with(uri),
        "{location} does not start with {uri}"
    );
    let rest = &location[uri.len()..];
    let rest = rest
        .strip_prefix('?')
        .or_else(|| rest.strip_prefix('&'))
        .unwrap_or(rest);
    form::parse(rest.as_bytes())
        .map(|p| {
            let p = p.expect("a location's own parameters are well-formed");
            let d = |t: Text<'_>| String::from_utf8(t.decoded().collect()).unwrap();
            (d(p.name), d(p.value))
        })
        .collect()
}

fn decoded(t: Option<Text<'_>>) -> Option<String> {
    t.map(|t| String::from_utf8(t.decoded().collect()).unwrap())
}

/// The OpenID part of an accepted request against a model.
fn check_openid(v: &latch_core::oauth2::ValidAuthorization<'_>, query: &[u8], selector: u8) {
    use latch_core::oidc::Step;
    let Some(o) = v.oidc() else {
        assert!(!scope::contains(v.scope(), "openid"));
        return;
    };
    assert!(scope::contains(v.scope(), "openid"));
    for unsupported in ["request", "request_uri", "registration"] {
        assert_eq!(latch_fuzz::count_sent(query, unsupported), 0);
    }
    let sent = |n: &str| latch_fuzz::sent_value(query, n).map(|b| String::from_utf8(b).unwrap());
    assert_eq!(o.nonce.as_deref().map(str::to_owned), sent("nonce"));
    let prompt = sent("prompt").unwrap_or_default();
    let words: Vec<&str> = prompt.split(' ').filter(|w| !w.is_empty()).collect();
    assert_eq!(o.prompt.none, words.contains(&"none"));
    assert_eq!(o.prompt.login, words.contains(&"login"));
    assert!(!o.prompt.none || words.iter().all(|w| *w == "none"));
    assert_eq!(
        o.max_age,
        sent("max_age").map(|m| m.parse::<u64>().unwrap())
    );
    // A session that started `age` seconds ago, or none.
    let age = u64::from(selector >> 4) * 40;
    let session = (selector & 2 == 0).then(|| UnixTime(NOW.0 - age));
    let too_old = |t: UnixTime| o.prompt.login || o.max_age.is_some_and(|m| NOW.0 - t.0 > m);
    match (v.next_step(session, NOW), session) {
        (Ok(Step::Login), s) => assert!(!o.prompt.none && s.is_none_or(too_old)),
        (Ok(Step::Consent), Some(t)) => assert!(!o.prompt.none && !too_old(t)),
        (Ok(Step::Consent), None) => panic!("consent without a session"),
        (Err(r), s) => {
            assert!(o.prompt.none, "only prompt=none refuses to show a page");
            let code = r.error().code;
            match s {
                Some(t) if !too_old(t) => assert_eq!(code, ErrorCode::ConsentRequired),
                _ => assert_eq!(code, ErrorCode::LoginRequired),
            }
        }
    }
    // Approving with a login older than the request allows is refused.
    if let Some(t) = session {
        let mut rng = FuzzRng::new(u64::from(selector));
        let r = v.approve_at("alice", t, NOW, &Policy::DEFAULT, &mut rng);
        assert_eq!(r.is_ok(), t == NOW || !too_old(t));
        if let Ok(a) = r {
            let g = a.record().oidc.as_ref().unwrap();
            assert_eq!(g.auth_time, t);
            assert_eq!(g.nonce, o.nonce);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, query)) = data.split_first() else {
        return;
    };
    let parsed = AuthorizationRequest::parse(query);
    assert_eq!(parsed.is_ok(), form::validate(query).is_ok());
    let Ok(req) = parsed else { return };
    let client = &CLIENTS[usize::from(selector % 3)];
    let policy = Policy {
        require_pkce_for_confidential: selector & 4 != 0,
        ..Policy::DEFAULT
    };
    let lookup = match selector & 8 {
        0 => Some(client),
        _ => None,
    };
    let count = |name: &str| latch_fuzz::count_sent(query, name);
    let state = (count("state") == 1).then(|| latch_fuzz::sent_value(query, "state").unwrap());
    let state = state.map(|s| String::from_utf8(s).unwrap());

    match req.validate(lookup, &policy) {
        Ok(v) => {
            assert!(lookup.is_some());
            assert_eq!(v.client_id(), client.client_id.as_str());
            assert!(
                client
                    .redirect_uris
                    .iter()
                    .any(|u| latch_core::oauth2::redirect_uri_matches(u, v.redirect_uri()))
            );
            match latch_fuzz::sent_value(query, "redirect_uri") {
                Some(sent) => assert_eq!(sent, v.redirect_uri().as_bytes()),
                None => assert_eq!(client.redirect_uris.len(), 1),
            }
            for name in NAMES {
                assert!(count(name) <= 1, "{name} repeated yet accepted");
            }
            assert_eq!(
                latch_fuzz::sent_value(query, "response_type").as_deref(),
                Some(&b"code"[..])
            );
            assert!(client.grant_types.contains(GrantType::AuthorizationCode));
            assert!(scope::is_valid(v.scope()));
            assert!(scope::is_subset(v.scope(), &client.scope));
            match v.challenge() {
                None => assert!(
                    !client.is_public()
                        && (!policy.require_pkce_for_confidential || client.allow_no_pkce)
                ),
                Some(ch) => {
                    assert!(ch.method == ChallengeMethod::S256 || client.allow_plain_pkce);
                }
            }
            assert_eq!(decoded(v.state()), state);
            check_openid(&v, query, selector);

            let mut rng = FuzzRng::new(u64::from(selector));
            let approval = v.approve("alice", NOW, &policy, &mut rng).unwrap();
            assert_eq!(approval.record().hash, approval.code().hash());
            assert_eq!(
                approval.record().expires_at,
                NOW.saturating_add(policy.effective_code_ttl())
            );
            let location = written(|w| approval.write_location(ISSUER, w));
            let location = String::from_utf8(location).unwrap();
            let params = appended(&location, v.redirect_uri());
            let mut expected = vec![("code".to_owned(), approval.code().as_str().to_owned())];
            expected.extend(state.clone().map(|s| ("state".to_owned(), s)));
            expected.push(("iss".to_owned(), ISSUER.to_owned()));
            assert_eq!(params, expected);

            let Rejection::Redirect(denied) = v.deny() else {
                panic!("deny must redirect")
            };
            assert_eq!(denied.error.code, ErrorCode::AccessDenied);
            assert_eq!(denied.redirect_uri.as_str(), v.redirect_uri());
        }
        Err(Rejection::Redirect(r)) => {
            // Only after the client and its redirect URI were established.
            assert!(lookup.is_some());
            assert!(
                client
                    .redirect_uris
                    .iter()
                    .any(|u| latch_core::oauth2::redirect_uri_matches(u, &r.redirect_uri))
            );
            assert_eq!(count("client_id"), 1);
            assert!(count("redirect_uri") <= 1);
            assert_eq!(decoded(r.state), state);
            let location = written(|w| r.write_location(ISSUER, w));
            let location = String::from_utf8(location).unwrap();
            let params = appended(&location, &r.redirect_uri);
            assert_eq!(
                params[0],
                ("error".to_owned(), r.error.code.as_str().to_owned())
            );
            assert_eq!(
                params.last().unwrap(),
                &("iss".to_owned(), ISSUER.to_owned())
            );
            let echoed = params.iter().find(|(n, _)| n == "state").map(|(_, v)| v);
            assert_eq!(echoed, state.as_ref());
        }
        // Nothing in the request could be trusted: no redirect at all.
        Err(Rejection::ErrorPage(_)) => {}
    }
});
