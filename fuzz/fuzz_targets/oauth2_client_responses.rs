//! The client's JSON parsers (RFC 6749 §5.1/§5.2 token and error
//! responses, RFC 8628 §3.2 device authorization response, RFC 7662 §2.2
//! introspection, RFC 8414 metadata and discovery) on arbitrary bytes: never panic, and
//! every string they hand out unescapes consistently (`decode`,
//! `unescaped`, `eq_str`, `to_heapless` agree; verbatim strings are their
//! raw text). The same bytes, read as structured input, drive the
//! server's renderers for the same documents: render → parse → equal, and
//! a too-small buffer reports exactly the size needed. Discovery and the
//! server's metadata parser read the same documents two ways (a member
//! walker, a serde derive): a document either accepts, the other does
//! not call malformed.
#![no_main]
use arbitrary::{Arbitrary, Unstructured};
use latch_core::oauth2::client::{
    ClientError, DeviceAuthorizationResponse, Discovery, ErrorResponse, IntrospectionDocument,
    TokenResponse,
};
use latch_core::oauth2::{
    AccessRecord, ClientId, DeviceIssued, ErrorCode, FamilyId, IntrospectionResponse, IssuedTokens,
    JsonStr, Metadata, MetadataDocument, OAuthError, RefreshRecord, Scope, Subject, Token,
    TokenHash, TokenRecord, UserCode,
};
use latch_core::{BufferTooSmall, UnixTime};
use latch_fuzz::FuzzRng;
use libfuzzer_sys::fuzz_target;

fn check_str(s: &JsonStr<'_>) {
    let bytes: Vec<u8> = s.unescaped().collect();
    let mut buf = vec![0u8; s.raw().len()];
    let decoded = s.decode(&mut buf).expect("unescaping never grows the text");
    assert_eq!(decoded.as_bytes(), bytes);
    assert!(s.eq_str(decoded));
    if decoded.len() <= 4096 {
        assert_eq!(s.to_heapless::<4096>().unwrap().as_str(), decoded);
    }
    if s.is_verbatim() {
        assert_eq!(decoded, s.raw());
    }
    assert_eq!(s.is_empty(), s.raw().is_empty());
}

fn check_opt(s: &Option<JsonStr<'_>>) {
    if let Some(s) = s {
        check_str(s);
    }
}

/// RFC 8414 discovery of `issuer` reading `body`: what it accepts is what
/// the document says, each endpoint a usable URL.
fn discover(issuer: &str, body: &[u8]) -> Result<(String, String), ClientError> {
    let d = Discovery::new(issuer)?;
    // The openid-configuration fallback (after a 404) reads a document
    // exactly as RFC 8414's is read.
    let read = d.handle_response::<4096>(200, body);
    let openid = d.after(404).expect("a 404 falls back");
    assert_eq!(openid.handle_response::<4096>(200, body), read);
    assert!(openid.after(404).is_none());
    let e = read?;
    let (token, device) = e.as_text();
    // The server's parser reads every field, so it may refuse what
    // discovery skips (a list of the wrong type, or over its capacity);
    // where it reads the document, both read the same endpoints.
    if let Ok(doc) = MetadataDocument::parse(body) {
        assert!(doc.issuer.eq_str(issuer));
        assert!(doc.token_endpoint.eq_str(token));
        assert!(
            doc.device_authorization_endpoint
                .expect("device endpoint")
                .eq_str(device)
        );
    }
    assert!(e.token().is_ok() && e.device_authorization().is_ok());
    Ok((token.to_owned(), device.to_owned()))
}

fn parse_all(data: &[u8]) {
    let discovered = discover("https://server.example.com", data);
    // The other way round: the discovery reader (a member walker over the
    // three fields it reads) refuses as malformed nothing the server's
    // serde-derived metadata parser (every field) accepts.
    if MetadataDocument::parse(data).is_ok() {
        assert!(
            !matches!(discovered, Err(ClientError::Malformed(_))),
            "{discovered:?}"
        );
    }
    if let Ok(r) = TokenResponse::parse(data) {
        check_str(&r.access_token);
        check_str(&r.token_type);
        check_opt(&r.refresh_token);
        check_opt(&r.scope);
        let _ = r.is_bearer();
    }
    if let Ok(r) = ErrorResponse::parse(data) {
        check_str(&r.error);
        check_opt(&r.error_description);
        check_opt(&r.error_uri);
        if let Some(code) = r.code() {
            assert!(r.error.eq_str(code.as_str()));
        }
    }
    if let Ok(r) = DeviceAuthorizationResponse::parse(data) {
        check_str(&r.device_code);
        check_str(&r.user_code);
        check_str(&r.verification_uri);
        check_opt(&r.verification_uri_complete);
    }
    if let Ok(r) = IntrospectionDocument::parse(data) {
        for s in [r.scope, r.client_id, r.username, r.token_type, r.sub] {
            check_opt(&s);
        }
    }
    if let Ok(r) = MetadataDocument::parse(data) {
        check_str(&r.issuer);
        check_str(&r.token_endpoint);
        for s in [
            r.authorization_endpoint,
            r.device_authorization_endpoint,
            r.introspection_endpoint,
            r.revocation_endpoint,
        ] {
            check_opt(&s);
        }
        for list in [
            &r.scopes_supported,
            &r.response_types_supported,
            &r.grant_types_supported,
            &r.code_challenge_methods_supported,
            &r.token_endpoint_auth_methods_supported,
        ] {
            assert!(list.as_slice().len() <= 16);
            list.as_slice().iter().for_each(check_str);
        }
    }
}

const CODES: [ErrorCode; 16] = [
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
];
const DESCRIPTIONS: [&str; 3] = [
    "a parameter was sent more than once",
    "quote \" backslash \\ newline \n tab \t bell \u{7} é 𝄞",
    "",
];

#[derive(Arbitrary, Debug)]
enum Render<'a> {
    Tokens {
        access: [u8; 32],
        expires_in: u64,
        refresh: Option<[u8; 32]>,
        scope: &'a str,
    },
    Error {
        code: u8,
        description: Option<u8>,
    },
    Device {
        device_code: [u8; 32],
        user_code_seed: u64,
        expires_in: u64,
        interval: u32,
        uri: &'a str,
    },
    Introspection {
        active: Option<bool>,
        client_id: &'a str,
        subject: Option<&'a str>,
        scope: &'a str,
        iat: u64,
        exp: u64,
        refresh_expires: bool,
    },
    Metadata {
        issuer: &'a str,
        authorization: &'a str,
        token: &'a str,
        device: Option<&'a str>,
        introspection: Option<&'a str>,
        revocation: Option<&'a str>,
        scopes: Vec<&'a str>,
    },
}

/// Renders with a buffer that is too small, then with exactly the size
/// that reported.
fn render(f: impl Fn(&mut [u8]) -> Result<usize, BufferTooSmall>) -> Vec<u8> {
    let BufferTooSmall { required } = f(&mut []).expect_err("nothing renders into 0 bytes");
    let mut out = vec![0u8; required];
    let n = f(&mut out).expect("the reported size suffices");
    assert_eq!(n, required, "reported size is not exact");
    if required > 0 {
        assert_eq!(
            f(&mut out[..required - 1]),
            Err(BufferTooSmall { required })
        );
    }
    out
}

fn eq_opt(parsed: Option<JsonStr<'_>>, want: Option<&str>) {
    match (parsed, want) {
        (Some(p), Some(w)) => assert!(p.eq_str(w), "{p:?} != {w:?}"),
        (None, None) => {}
        (p, w) => panic!("{p:?} != {w:?}"),
    }
}

fn roundtrip(r: Render<'_>) {
    match r {
        Render::Tokens {
            access,
            expires_in,
            refresh,
            scope,
        } => {
            let Ok(scope) = Scope::try_from(scope) else {
                return;
            };
            let t = IssuedTokens {
                access_token: Token::from_bytes(&access),
                expires_in,
                refresh_token: refresh.map(|r| Token::from_bytes(&r)),
                scope,
                id_token: None,
                jwt_access_token: None,
            };
            let body = render(|out| t.render(out));
            let p = TokenResponse::parse(&body).expect("own token response parses");
            assert!(p.access_token.eq_str(t.access_token.as_str()));
            assert!(p.is_bearer());
            assert_eq!(p.expires_in, Some(expires_in));
            eq_opt(p.refresh_token, t.refresh_token.as_ref().map(Token::as_str));
            eq_opt(p.scope, (!t.scope.is_empty()).then_some(t.scope.as_str()));
        }
        Render::Error { code, description } => {
            let code = CODES[usize::from(code) % CODES.len()];
            let e = match description {
                Some(d) => {
                    OAuthError::with(code, DESCRIPTIONS[usize::from(d) % DESCRIPTIONS.len()])
                }
                None => OAuthError::new(code),
            };
            let body = render(|out| e.render(out));
            let p = ErrorResponse::parse(&body).expect("own error response parses");
            assert_eq!(p.code(), Some(code));
            eq_opt(p.error_description, e.description);
            assert!(p.error_uri.is_none());
        }
        Render::Device {
            device_code,
            user_code_seed,
            expires_in,
            interval,
            uri,
        } => {
            let issued = DeviceIssued {
                device_code: Token::from_bytes(&device_code),
                user_code: UserCode::generate(&mut FuzzRng::new(user_code_seed)).unwrap(),
                expires_in,
                interval,
            };
            let body = render(|out| issued.render(uri, out));
            let p = DeviceAuthorizationResponse::parse(&body).expect("own device response parses");
            let shown = issued.user_code.display();
            assert!(p.device_code.eq_str(issued.device_code.as_str()));
            assert!(p.user_code.eq_str(shown.as_str()));
            assert!(p.verification_uri.eq_str(uri));
            let sep = if uri.contains('?') { '&' } else { '?' };
            let complete = format!("{uri}{sep}user_code={shown}");
            eq_opt(
                p.verification_uri_complete,
                (complete.len() <= 288).then_some(&complete),
            );
            assert_eq!(p.expires_in, expires_in);
            assert_eq!(p.interval, Some(interval));
        }
        Render::Introspection {
            active,
            client_id,
            subject,
            scope,
            iat,
            exp,
            refresh_expires,
        } => {
            let (Ok(client_id), Ok(scope)) =
                (ClientId::try_from(client_id), Scope::try_from(scope))
            else {
                return;
            };
            let Ok(subject) = subject.map(Subject::try_from).transpose() else {
                return;
            };
            let (hash, family) = (TokenHash([7; 32]), FamilyId([7; 16]));
            let response = match active {
                None => IntrospectionResponse::Inactive,
                Some(false) => IntrospectionResponse::Active(TokenRecord::Access(AccessRecord {
                    hash,
                    family,
                    client_id,
                    subject,
                    scope,
                    issued_at: UnixTime(iat),
                    expires_at: UnixTime(exp),
                })),
                Some(true) => IntrospectionResponse::Active(TokenRecord::Refresh(RefreshRecord {
                    hash,
                    family,
                    client_id,
                    subject,
                    scope,
                    issued_at: UnixTime(iat),
                    expires_at: refresh_expires.then_some(UnixTime(exp)),
                    retired_at: None,
                    auth_time: None,
                })),
            };
            let body = render(|out| response.render(out));
            let p = IntrospectionDocument::parse(&body).expect("own introspection parses");
            let IntrospectionResponse::Active(rec) = &response else {
                assert!(!p.active);
                assert_eq!(&body[..], br#"{"active":false}"#);
                return;
            };
            assert!(p.active);
            let (client, subject, scope, iat, exp, token_type) = match rec {
                TokenRecord::Access(a) => (
                    &a.client_id,
                    &a.subject,
                    &a.scope,
                    a.issued_at,
                    Some(a.expires_at),
                    Some("Bearer"),
                ),
                TokenRecord::Refresh(r) => (
                    &r.client_id,
                    &r.subject,
                    &r.scope,
                    r.issued_at,
                    r.expires_at,
                    None,
                ),
            };
            eq_opt(p.client_id, Some(client));
            eq_opt(p.scope, Some(scope));
            eq_opt(p.username, subject.as_deref());
            eq_opt(p.sub, subject.as_deref());
            eq_opt(p.token_type, token_type);
            assert_eq!(p.iat, Some(iat.as_secs()));
            assert_eq!(p.exp, exp.map(UnixTime::as_secs));
        }
        Render::Metadata {
            issuer,
            authorization,
            token,
            device,
            introspection,
            revocation,
            mut scopes,
        } => {
            scopes.truncate(16);
            let m = Metadata {
                device_authorization_endpoint: device,
                introspection_endpoint: introspection,
                revocation_endpoint: revocation,
                scopes_supported: &scopes,
                ..Metadata::new(issuer, authorization, token)
            };
            let body = render(|out| m.render(out));
            let p = MetadataDocument::parse(&body).expect("own metadata parses");
            assert!(p.issuer.eq_str(issuer));
            eq_opt(p.authorization_endpoint, Some(authorization));
            assert!(p.token_endpoint.eq_str(token));
            eq_opt(p.device_authorization_endpoint, device);
            eq_opt(p.introspection_endpoint, introspection);
            eq_opt(p.revocation_endpoint, revocation);
            let got: Vec<String> = p
                .scopes_supported
                .as_slice()
                .iter()
                .map(|s| s.to_heapless::<4096>().unwrap().as_str().to_owned())
                .collect();
            assert_eq!(got, scopes);
            assert!(p.code_challenge_methods_supported.contains("S256"));
            assert!(p.response_types_supported.contains("code"));
            assert_eq!(p.grant_types_supported.as_slice().len(), 4);
            assert!(p.authorization_response_iss_parameter_supported);
            match discover(issuer, &body) {
                Ok((t, d)) => assert_eq!((t.as_str(), Some(d.as_str())), (token, device)),
                Err(ClientError::MissingEndpoint) => assert!(device.is_none()),
                Err(_) => {}
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    parse_all(data);
    if let Ok(r) = Render::arbitrary(&mut Unstructured::new(data)) {
        roundtrip(r);
    }
});
