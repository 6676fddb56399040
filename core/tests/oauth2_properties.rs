//! Properties of the OAuth 2.0 core: every rendered response parses back
//! to what was rendered, and arbitrary bytes into every parser and
//! endpoint never panic.

use chacha20::ChaCha20Rng;
use latch_core::oauth2::client::{
    AuthCodeConfig, AuthCodePending, ClientIdentity, DeviceAuthorizationResponse, DeviceFlow,
    ErrorResponse, IntrospectionDocument, TokenResponse, TokenSet,
};
use latch_core::oauth2::{
    AccessRecord, AuthorizationRequest, BasicCredentials, BearerToken, ClientRecord,
    DeviceAuthorizationRequest, DeviceIssued, ErrorCode, FamilyId, GrantTypes,
    IntrospectionResponse, IssuedTokens, MemoryStore, Metadata, MetadataDocument, OAuthError,
    Policy, RefreshRecord, Scope, Store, Token, TokenHash, TokenQuery, TokenRecord, TokenRequest,
    UserCode, device_authorization_endpoint, introspection_endpoint, revocation_endpoint,
    token_endpoint, verify_user_code,
};
use latch_core::{Text, UnixTime};
use proptest::prelude::*;
use rand_core::SeedableRng;

/// Strings that stress JSON escaping: quotes, backslashes, slashes,
/// control characters, non-ASCII, astral planes.
fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._~:/?#=&-]{0,24}",
        "[\"\\\\/\\x00-\\x1f\\x7f]{0,8}",
        "\\PC{0,12}",
        Just("\u{1F600}\u{3001}é".to_owned()),
    ]
}

fn bounded<const N: usize>(s: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

fn render(f: impl FnOnce(&mut [u8]) -> Result<usize, latch_core::BufferTooSmall>) -> Vec<u8> {
    let mut buf = vec![0u8; 8192];
    let n = f(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

const CODES: [ErrorCode; 21] = [
    ErrorCode::InvalidRequest,
    ErrorCode::InvalidClient,
    ErrorCode::InvalidGrant,
    ErrorCode::UnauthorizedClient,
    ErrorCode::UnsupportedGrantType,
    ErrorCode::InvalidScope,
    ErrorCode::AccessDenied,
    ErrorCode::UnsupportedResponseType,
    ErrorCode::ServerError,
    ErrorCode::TemporarilyUnavailable,
    ErrorCode::AuthorizationPending,
    ErrorCode::SlowDown,
    ErrorCode::ExpiredToken,
    ErrorCode::InvalidToken,
    ErrorCode::InsufficientScope,
    ErrorCode::UnsupportedTokenType,
    ErrorCode::LoginRequired,
    ErrorCode::ConsentRequired,
    ErrorCode::RequestNotSupported,
    ErrorCode::RequestUriNotSupported,
    ErrorCode::RegistrationNotSupported,
];

fn store() -> MemoryStore<2, 8> {
    let mut s = MemoryStore::new();
    s.add_client(
        ClientRecord::new(
            "c",
            Some("s"),
            &["https://c.example/cb"],
            "a b",
            GrantTypes::ALL,
        )
        .unwrap(),
    )
    .unwrap();
    s.add_client(
        ClientRecord::new("p", None, &["https://c.example/cb"], "a", GrantTypes::ALL).unwrap(),
    )
    .unwrap();
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn token_response_round_trips(
        a in any::<[u8; 32]>(),
        r in prop::option::of(any::<[u8; 32]>()),
        expires_in in any::<u64>(),
        scope in tricky(),
    ) {
        let issued = IssuedTokens {
            access_token: Token::from_bytes(&a),
            expires_in,
            refresh_token: r.map(|r| Token::from_bytes(&r)),
            scope: bounded::<256>(&scope),
            id_token: None,
            jwt_access_token: None,
        };
        let body = render(|o| issued.render(o));
        let parsed = TokenResponse::parse(&body).unwrap();
        prop_assert!(parsed.access_token.eq_str(issued.access_token.as_str()));
        prop_assert!(parsed.is_bearer());
        prop_assert_eq!(parsed.expires_in, Some(expires_in));
        prop_assert_eq!(
            parsed.refresh_token.map(|t| t.to_heapless::<64>().unwrap()),
            issued.refresh_token.as_ref().map(|t| heapless::String::try_from(t.as_str()).unwrap())
        );
        let scope_back = parsed.scope.map(|s| s.to_heapless::<256>().unwrap()).unwrap_or_default();
        prop_assert_eq!(scope_back, issued.scope.clone());
        // And the client's token set holds the same.
        let set = TokenSet::<64>::from_response(UnixTime(5), 200, &body).unwrap();
        prop_assert_eq!(set.access_token(), issued.access_token.as_str());
        prop_assert_eq!(set.expires_at(), Some(UnixTime(5).saturating_add(expires_in)));
    }

    #[test]
    fn error_response_round_trips(i in 0usize..16, described in any::<bool>()) {
        let code = CODES[i];
        let e = if described {
            OAuthError::with(code, "a \"quoted\" \\ description\n")
        } else {
            OAuthError::new(code)
        };
        let body = render(|o| e.render(o));
        let parsed = ErrorResponse::parse(&body).unwrap();
        prop_assert_eq!(parsed.code(), Some(code));
        prop_assert_eq!(
            parsed.error_description.map(|d| d.to_heapless::<64>().unwrap()),
            e.description.map(|d| heapless::String::try_from(d).unwrap())
        );
    }

    #[test]
    fn device_authorization_response_round_trips(
        dc in any::<[u8; 32]>(),
        seed in any::<u64>(),
        expires_in in any::<u64>(),
        interval in any::<u32>(),
        uri in tricky(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let issued = DeviceIssued {
            device_code: Token::from_bytes(&dc),
            user_code: UserCode::generate(&mut rng).unwrap(),
            expires_in,
            interval,
        };
        let body = render(|o| issued.render(&uri, o));
        let parsed = DeviceAuthorizationResponse::parse(&body).unwrap();
        prop_assert!(parsed.device_code.eq_str(issued.device_code.as_str()));
        prop_assert!(parsed.user_code.eq_str(issued.user_code.display().as_str()));
        prop_assert_eq!(UserCode::parse(&parsed.user_code.to_heapless::<16>().unwrap()), Ok(issued.user_code));
        prop_assert!(parsed.verification_uri.eq_str(&uri));
        prop_assert_eq!(parsed.expires_in, expires_in);
        prop_assert_eq!(parsed.interval, Some(interval));
    }

    #[test]
    fn introspection_response_round_trips(
        access in any::<bool>(),
        client in tricky(),
        subject in prop::option::of(tricky()),
        scope in tricky(),
        issued_at in any::<u64>(),
        expires_at in any::<u64>(),
        active in any::<bool>(),
    ) {
        let hash = TokenHash::of(b"t");
        let record = if access {
            TokenRecord::Access(AccessRecord {
                hash,
                family: FamilyId([0; 16]),
                client_id: bounded(&client),
                subject: subject.as_deref().map(bounded),
                scope: bounded::<256>(&scope),
                issued_at: UnixTime(issued_at),
                expires_at: UnixTime(expires_at),
            })
        } else {
            TokenRecord::Refresh(RefreshRecord {
                hash,
                family: FamilyId([0; 16]),
                client_id: bounded(&client),
                subject: subject.as_deref().map(bounded),
                scope: bounded::<256>(&scope),
                issued_at: UnixTime(issued_at),
                expires_at: Some(UnixTime(expires_at)),
                retired_at: None,
                auth_time: None,
            })
        };
        let response = if active { IntrospectionResponse::Active(record.clone()) } else { IntrospectionResponse::Inactive };
        let body = render(|o| response.render(o));
        let doc = IntrospectionDocument::parse(&body).unwrap();
        prop_assert_eq!(doc.active, active);
        if active {
            let (client_id, subj, sc) = match &record {
                TokenRecord::Access(a) => (&a.client_id, &a.subject, &a.scope),
                TokenRecord::Refresh(r) => (&r.client_id, &r.subject, &r.scope),
            };
            prop_assert!(doc.client_id.unwrap().eq_str(client_id));
            prop_assert!(doc.scope.unwrap().eq_str(sc));
            prop_assert_eq!(doc.sub.map(|s| s.to_heapless::<64>().unwrap()), subj.clone());
            prop_assert_eq!(doc.exp, Some(expires_at));
            prop_assert_eq!(doc.iat, Some(issued_at));
            prop_assert_eq!(doc.token_type.is_some(), access);
        } else {
            prop_assert!(doc.client_id.is_none() && doc.scope.is_none());
        }
    }

    #[test]
    fn metadata_round_trips(
        issuer in tricky(),
        endpoint in tricky(),
        device in prop::option::of(tricky()),
        scopes in prop::collection::vec(tricky(), 0..16),
    ) {
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let m = Metadata {
            device_authorization_endpoint: device.as_deref(),
            scopes_supported: &scopes,
            ..Metadata::new(&issuer, &endpoint, &endpoint)
        };
        let body = render(|o| m.render(o));
        let doc = MetadataDocument::parse(&body).unwrap();
        prop_assert!(doc.issuer.eq_str(&issuer));
        prop_assert!(doc.token_endpoint.eq_str(&endpoint));
        prop_assert!(doc.authorization_endpoint.unwrap().eq_str(&endpoint));
        prop_assert_eq!(doc.device_authorization_endpoint.is_some(), device.is_some());
        prop_assert_eq!(doc.scopes_supported.as_slice().len(), scopes.len());
        for (parsed, given) in doc.scopes_supported.as_slice().iter().zip(&scopes) {
            prop_assert!(parsed.eq_str(given));
        }
        prop_assert!(doc.code_challenge_methods_supported.contains("S256"));
    }

    #[test]
    fn request_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let mut scratch = [0u8; 256];
        let basic = format!("Basic {text}");
        let _ = BasicCredentials::parse(&basic, &mut scratch);
        let _ = BasicCredentials::parse(&text, &mut scratch);
        let _ = TokenRequest::parse(&bytes, None);
        let _ = DeviceAuthorizationRequest::parse(&bytes, None);
        let _ = TokenQuery::parse(&bytes, None);
        let _ = BearerToken::from_header(Some(&text));
        let _ = BearerToken::from_header(Some(&format!("Bearer {text}")));
        let _ = UserCode::parse(&text);
        let s = store();
        if let Ok(req) = AuthorizationRequest::parse(&bytes) {
            let client = req.client_id().ok().and_then(|id| s.client(&id));
            if let Ok(v) = req.validate(client.as_ref(), &Policy::DEFAULT) {
                let _ = v.approve("u", UnixTime(0), &Policy::DEFAULT, &mut ChaCha20Rng::seed_from_u64(0));
            }
        }
        if let Ok(t) = Text::encoded(&bytes, latch_core::percent::Mode::Form) {
            let _ = verify_user_code(&s, &t, UnixTime(0));
        }
    }

    #[test]
    fn endpoints_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        header in prop::option::of("(Basic |Bearer |)[ -~]{0,40}"),
        now in any::<u64>(),
    ) {
        let mut s = store();
        let mut rng = ChaCha20Rng::seed_from_u64(now);
        let d = token_endpoint(&mut s, header.as_deref(), &bytes, UnixTime(now), &Policy::DEFAULT, &mut rng);
        let mut out = [0u8; 512];
        prop_assert!(d.render(&mut out).is_ok());
        prop_assert!(d.http_status() >= 200);
        let d = device_authorization_endpoint(&mut s, header.as_deref(), &bytes, UnixTime(now), &Policy::DEFAULT, &mut rng);
        let _ = d.render("https://x/device", &mut out);
        let d = introspection_endpoint(&s, header.as_deref(), &bytes, UnixTime(now));
        let _ = d.render(&mut out);
        let d = revocation_endpoint(&mut s, header.as_deref(), &bytes, UnixTime(now));
        let _ = d.render(&mut out);
    }

    /// Structured form bodies with the real parameter names reach deeper.
    #[test]
    fn token_endpoint_never_panics_on_plausible_forms(
        pairs in prop::collection::vec((
            prop::sample::select(vec!["grant_type", "code", "redirect_uri", "code_verifier", "refresh_token", "scope", "device_code", "client_id", "client_secret", "x"]),
            prop::sample::select(vec!["authorization_code", "refresh_token", "client_credentials", "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code", "c", "p", "s", "a", "a+b", "%zz", "", "https%3A%2F%2Fc.example%2Fcb"]),
        ), 0..8),
        now in 0u64..2000,
    ) {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let body = body.join("&");
        let mut s = store();
        let d = token_endpoint(&mut s, None, body.as_bytes(), UnixTime(now), &Policy::DEFAULT, &mut ChaCha20Rng::seed_from_u64(now));
        let mut out = [0u8; 512];
        prop_assert!(d.render(&mut out).is_ok());
    }

    #[test]
    fn response_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), status in any::<u16>()) {
        let _ = TokenResponse::parse(&bytes);
        let _ = ErrorResponse::parse(&bytes);
        let _ = DeviceAuthorizationResponse::parse(&bytes);
        let _ = IntrospectionDocument::parse(&bytes);
        let _ = MetadataDocument::parse(&bytes);
        let _ = TokenSet::<64>::from_response(UnixTime(0), status, &bytes);
        let _ = DeviceFlow::new(ClientIdentity::public("c"), None).handle_response::<64>(UnixTime(0), status, &bytes);
        let config = AuthCodeConfig {
            identity: ClientIdentity::public("c"),
            authorization_endpoint: "https://s/a",
            redirect_uri: "https://c/cb",
            scope: None,
            issuer: Some("https://s"),
        };
        let p = AuthCodePending::restore(config, "xyz", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        let _ = p.handle_callback::<64>(&bytes);
    }

    /// JSON-shaped noise: the deserializer's deeper paths.
    #[test]
    fn json_shaped_noise_never_panics(
        parts in prop::collection::vec(prop::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud834", "null", "true", "1", "-1", "1.5e3",
            "\"access_token\"", "\"token_type\"", "\"expires_in\"", "\"error\"", "\"interval\"",
            "\"device_code\"", "\"user_code\"", "\"verification_uri\"", "\"active\"", "\"issuer\"",
            "\"scopes_supported\"", "\"x\"", " ", "\"a\\\"b\"",
        ]), 0..40),
    ) {
        let body = parts.concat();
        let b = body.as_bytes();
        let _ = TokenResponse::parse(b);
        let _ = ErrorResponse::parse(b);
        let _ = DeviceAuthorizationResponse::parse(b);
        let _ = IntrospectionDocument::parse(b);
        let _ = MetadataDocument::parse(b);
    }

    /// The refresh grace window (issue 17): a refresh token retired at
    /// `retired_at`, presented by its client `delay` seconds later (or
    /// earlier: a concurrent rotation), yields a new pair exactly when
    /// the effective window is open — `grace > 0` and `now <
    /// retired_at + grace`, saturating — and the family (here: a live
    /// successor) survives; otherwise it is reuse and the family is gone.
    #[test]
    fn refresh_grace_window_decides_reuse(
        grace in prop_oneof![Just(0u64), 1u64..=400, Just(u64::MAX)],
        retired_at in prop_oneof![0u64..2000, (u64::MAX - 2000)..=u64::MAX],
        delay in -5i64..600,
    ) {
        let mut s = store();
        let family = FamilyId([7; 16]);
        let record = |hash: TokenHash, retired_at: Option<u64>| RefreshRecord {
            hash,
            family,
            client_id: bounded("p"),
            subject: Some(bounded("alice")),
            scope: bounded("a"),
            issued_at: UnixTime(0),
            expires_at: None,
            retired_at: retired_at.map(UnixTime),
            auth_time: None,
        };
        let old = TokenHash::of(b"old-refresh-token");
        let successor = TokenHash::of(b"successor");
        s.apply(&latch_core::oauth2::Write::StoreRefreshToken(record(old, Some(retired_at)))).unwrap();
        s.apply(&latch_core::oauth2::Write::StoreRefreshToken(record(successor, None))).unwrap();
        let now = retired_at.saturating_add_signed(delay);
        let policy = Policy { refresh_grace: grace, ..Policy::DEFAULT };
        let window = grace.min(latch_core::oauth2::MAX_REFRESH_GRACE);
        let open = window > 0 && now < retired_at.saturating_add(window);
        let d = token_endpoint(
            &mut s,
            None,
            b"grant_type=refresh_token&refresh_token=old-refresh-token&client_id=p",
            UnixTime(now),
            &policy,
            &mut ChaCha20Rng::seed_from_u64(now),
        );
        prop_assert_eq!(d.http_status() == 200, open, "{:?}", d.error());
        prop_assert_eq!(d.reuse_detected(), !open);
        let successor_live = s.token(&successor).is_some_and(|r| latch_core::oauth2::is_active(&r, UnixTime(now)));
        prop_assert_eq!(successor_live, open);
        let old_row = s.token(&old);
        if open {
            prop_assert_eq!(s.refresh_tokens().len(), 3);
            prop_assert!(matches!(old_row, Some(TokenRecord::Refresh(r)) if r.retired_at == Some(UnixTime(retired_at))));
        } else {
            prop_assert!(old_row.is_none() && s.refresh_tokens().is_empty() && s.access_tokens().is_empty());
        }
    }
}

#[test]
fn stored_scope_type_is_bounded() {
    // A compile-time reminder of the capacity the properties rely on.
    let s: Scope = bounded(&"x".repeat(1000));
    assert_eq!(s.len(), 256);
}
