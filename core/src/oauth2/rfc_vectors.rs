//! The RFCs' own example requests and responses, end to end through the
//! server core and the in-memory store: RFC 6749 §4.1, §4.4, §5.1, §5.2,
//! §6; RFC 8628 §3.2, §3.5; RFC 7662 §2.2; RFC 7636 Appendix B (alone,
//! through the token endpoint and through the client). (More vectors sit
//! beside the code they test: §2.3.1's Basic header in `client_auth`,
//! §4.1.1's authorization request in `authorize`, RFC 8414 in `metadata`,
//! RFC 6750 in `bearer`.)
//!
//! `no_std` checks (see [`crate::selftest`]): `cargo test` runs each as its
//! own test, and `mcu-tests/` runs the same list on an emulated Cortex-M.

#![allow(
    clippy::result_large_err,
    reason = "a Failure carries its description inline (no heap); only the failing path moves it"
)]

use super::client::{
    AuthCodeConfig, AuthCodePending, ClientIdentity, DeviceFlow, IntrospectionDocument,
    TokenResponse, TokenSet,
};
use super::*;
use crate::buf::SliceWriter;
use crate::selftest::{
    Failure, OrFail, VectorRng, declare_checks, ensure, ensure_eq, rendered, text,
};
use crate::time::UnixTime;

declare_checks! {
    rfc6749_4_1_3_token_request_and_5_1_response,
    rfc6749_4_1_authorization_code_flow,
    rfc6749_4_4_client_credentials,
    rfc6749_5_2_error_response,
    rfc6749_6_refresh_request,
    rfc8628_3_5_poll_responses,
    rfc8628_3_2_device_authorization_round_trip,
    rfc7662_2_2_round_trip,
    rfc7636_appendix_b_challenge,
    rfc7636_appendix_b_through_the_token_endpoint,
    rfc7636_appendix_b_through_the_client,
}

const ISSUER: &str = "https://server.example.com";
const BASIC: &str = "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW";
/// RFC 7636 Appendix B's verifier and its S256 challenge.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

type Mem = MemoryStore<4, 16>;

/// Empties `s` and registers the examples' clients: RFC 6749's
/// confidential `s6BhdRkqt3` and RFC 8628's public `1406020730`. (Filled in
/// place: a store is 40 KiB, too big to pass around by value on an MCU.)
fn fill(s: &mut Mem) -> Result<(), Failure> {
    *s = Mem::new();
    let mut legacy = ClientRecord::new(
        "s6BhdRkqt3",
        Some("gX1fBat3bV"),
        &["https://client.example.com/cb"],
        "read write",
        GrantTypes::ALL,
    )
    .or_fail("ClientRecord::new")?;
    // RFC 6749's examples predate PKCE: a legacy confidential client.
    legacy.allow_no_pkce = true;
    s.add_client(legacy).or_fail("add_client")?;
    s.add_client(
        ClientRecord::new(
            "1406020730",
            None,
            &[],
            "read",
            GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
        )
        .or_fail("ClientRecord::new")?,
    )
    .or_fail("add_client")?;
    Ok(())
}

fn code_record(code: &str, now: UnixTime) -> Result<CodeRecord, Failure> {
    Ok(CodeRecord {
        hash: TokenHash::of(code.as_bytes()),
        client_id: "s6BhdRkqt3".try_into().or_fail("client id")?,
        subject: "alice".try_into().or_fail("subject")?,
        scope: "read".try_into().or_fail("scope")?,
        redirect_uri: "https://client.example.com/cb"
            .try_into()
            .or_fail("redirect URI")?,
        redirect_uri_sent: true,
        challenge: None,
        issued_at: now,
        expires_at: now.saturating_add(600),
        consumed: false,
        oidc: None,
    })
}

/// RFC 6749 §4.1.3's literal token request for §4.1.2's literal code, and
/// a §5.1-shaped answer.
fn rfc6749_4_1_3_token_request_and_5_1_response() -> Result<(), Failure> {
    let now = UnixTime(1_700_000_000);
    let mut s = Mem::new();
    fill(&mut s)?;
    s.apply(&Write::StoreCode(code_record(
        "SplxlOBeZQQYbYS6WxSbIA",
        now,
    )?))
    .or_fail("store the code")?;
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
        now,
        &Policy::DEFAULT,
        &mut VectorRng(1),
    );
    ensure_eq!(d.http_status(), 200, "{:?}", d.error());
    ensure_eq!(
        RESPONSE_HEADERS,
        [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    );
    let t = d.tokens().or_fail("tokens")?;
    let refresh = t.refresh_token.as_ref().or_fail("a refresh token")?;
    let json = rendered(|o| d.render(o))?;
    let want = text::<512>(format_args!(
        r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3600,"refresh_token":"{}","scope":"read"}}"#,
        t.access_token.as_str(),
        refresh.as_str()
    ))?;
    ensure_eq!(json, want);
    // What was stored is hashes, never the tokens.
    ensure_eq!(
        s.access_tokens()
            .first()
            .or_fail("a stored access token")?
            .hash,
        t.access_token.hash()
    );
    ensure_eq!(
        s.refresh_tokens()
            .first()
            .or_fail("a stored refresh token")?
            .hash,
        refresh.hash()
    );
    ensure!(s.codes().first().or_fail("the stored code")?.consumed);
    // The client reads it back.
    let parsed = TokenResponse::parse(json.as_bytes()).or_fail("TokenResponse::parse")?;
    ensure!(parsed.access_token.eq_str(t.access_token.as_str()));
    ensure!(parsed.is_bearer());
    Ok(())
}

/// RFC 6749 §4.1 whole: §4.1.1's request, approval, §4.1.2's redirect,
/// §4.1.3's exchange of the issued code.
fn rfc6749_4_1_authorization_code_flow() -> Result<(), Failure> {
    let now = UnixTime(1_700_000_000);
    let mut s = Mem::new();
    fill(&mut s)?;
    let query = b"response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb";
    let req = AuthorizationRequest::parse(query).or_fail("AuthorizationRequest::parse")?;
    let client = s.client(&req.client_id().or_fail("client_id")?);
    let valid = req
        .validate(client.as_ref(), &Policy::DEFAULT)
        .or_fail("validate")?;
    let approval = valid
        .approve("alice", now, &Policy::DEFAULT, &mut VectorRng(7))
        .or_fail("approve")?;
    s.apply(&approval.write()).or_fail("store the code")?;
    let location = rendered(|o| {
        let mut w = SliceWriter::new(o);
        approval.write_location(ISSUER, &mut w);
        w.finish()
    })?;
    let code = approval.code().as_str();
    let want = text::<256>(format_args!(
        "https://client.example.com/cb?code={code}&state=xyz&iss=https%3A%2F%2Fserver.example.com"
    ))?;
    ensure_eq!(location, want);
    let token_body = text::<256>(format_args!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb"
    ))?;
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        token_body.as_bytes(),
        now.saturating_add(5),
        &Policy::DEFAULT,
        &mut VectorRng(8),
    );
    ensure_eq!(d.http_status(), 200, "{:?}", d.error());
    ensure_eq!(d.tokens().or_fail("tokens")?.scope, "read write");
    Ok(())
}

/// RFC 6749 §4.4.2's request and §4.4.3's answer (no refresh token).
fn rfc6749_4_4_client_credentials() -> Result<(), Failure> {
    let mut s = Mem::new();
    fill(&mut s)?;
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=client_credentials",
        UnixTime(0),
        &Policy::DEFAULT,
        &mut VectorRng(2),
    );
    ensure_eq!(d.http_status(), 200, "{:?}", d.error());
    let json = rendered(|o| d.render(o))?;
    let t = TokenResponse::parse(json.as_bytes()).or_fail("TokenResponse::parse")?;
    ensure!(t.refresh_token.is_none(), "{json}");
    ensure_eq!(t.expires_in, Some(3600));
    ensure!(t.scope.or_fail("scope")?.eq_str("read write"), "{json}");
    Ok(())
}

/// RFC 6749 §5.2's example body, and the statuses of §5.2.
fn rfc6749_5_2_error_response() -> Result<(), Failure> {
    ensure_eq!(
        rendered(|o| OAuthError::new(ErrorCode::InvalidRequest).render(o))?,
        r#"{"error":"invalid_request"}"#
    );
    ensure_eq!(
        rendered(|o| OAuthError::with(ErrorCode::InvalidGrant, "code expired").render(o))?,
        r#"{"error":"invalid_grant","error_description":"code expired"}"#
    );
    // invalid_client after HTTP Basic: 401 with a challenge.
    let mut s = Mem::new();
    fill(&mut s)?;
    let d = token_endpoint(
        &mut s,
        Some("Basic czZCaGRSa3F0Mzp3cm9uZw=="),
        b"grant_type=client_credentials",
        UnixTime(0),
        &Policy::DEFAULT,
        &mut VectorRng(3),
    );
    ensure_eq!(d.http_status(), 401);
    ensure!(d.needs_basic_challenge());
    Ok(())
}

/// RFC 6749 §6's literal refresh request.
fn rfc6749_6_refresh_request() -> Result<(), Failure> {
    let mut s = Mem::new();
    fill(&mut s)?;
    s.apply(&Write::StoreRefreshToken(RefreshRecord {
        hash: TokenHash::of(b"tGzv3JOkF0XG5Qx2TlKWIA"),
        family: FamilyId([3; 16]),
        client_id: "s6BhdRkqt3".try_into().or_fail("client id")?,
        subject: Some("alice".try_into().or_fail("subject")?),
        scope: "read write".try_into().or_fail("scope")?,
        issued_at: UnixTime(0),
        expires_at: None,
        retired_at: None,
        auth_time: None,
    }))
    .or_fail("store the refresh token")?;
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
        UnixTime(100),
        &Policy::DEFAULT,
        &mut VectorRng(4),
    );
    ensure_eq!(d.http_status(), 200, "{:?}", d.error());
    let t = d.tokens().or_fail("tokens")?;
    ensure!(
        t.refresh_token.is_some(),
        "rotation issues a new refresh token"
    );
    let stored = s.refresh_tokens();
    ensure!(stored.first().or_fail("the old refresh token")?.retired_at == Some(UnixTime(100)));
    ensure_eq!(
        stored.get(1).or_fail("the new refresh token")?.family,
        FamilyId([3; 16])
    );
    Ok(())
}

/// [`fill`], plus §3.2's device code in `status`.
fn fill_device(s: &mut Mem, status: DeviceStatus) -> Result<(), Failure> {
    fill(s)?;
    s.apply(&Write::StoreDevice(DeviceRecord {
        hash: TokenHash::of(b"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"),
        user_code: UserCode::parse("WDJB-MJHT").or_fail("UserCode::parse")?,
        client_id: "1406020730".try_into().or_fail("client id")?,
        scope: "read".try_into().or_fail("scope")?,
        issued_at: UnixTime(0),
        expires_at: UnixTime(1800),
        interval: 5,
        last_poll: None,
        status,
    }))
    .or_fail("store the device code")
}

const POLL: &[u8] = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730";

/// §3.4's poll at `now`: the status and the body.
fn poll(s: &mut Mem, now: u64) -> Result<(u16, heapless::String<1024>), Failure> {
    let d = token_endpoint(
        s,
        None,
        POLL,
        UnixTime(now),
        &Policy::DEFAULT,
        &mut VectorRng(now),
    );
    Ok((d.http_status(), rendered(|o| d.render(o))?))
}

/// A poll at `now` answers 400 with `body`.
fn poll_refused(s: &mut Mem, now: u64, body: &str) -> Result<(), Failure> {
    let (status, json) = poll(s, now)?;
    ensure_eq!((status, json.as_str()), (400, body), "poll at {now}");
    Ok(())
}

/// RFC 8628 §3.4's literal poll and §3.5's answers.
fn rfc8628_3_5_poll_responses() -> Result<(), Failure> {
    let mut s = Mem::new();
    fill_device(&mut s, DeviceStatus::Pending)?;
    poll_refused(&mut s, 10, r#"{"error":"authorization_pending"}"#)?;
    poll_refused(&mut s, 12, r#"{"error":"slow_down"}"#)?;
    ensure_eq!(s.devices().first().or_fail("the device")?.interval, 10);
    fill_device(&mut s, DeviceStatus::Denied)?;
    poll_refused(&mut s, 10, r#"{"error":"access_denied"}"#)?;
    fill_device(&mut s, DeviceStatus::Pending)?;
    poll_refused(&mut s, 1800, r#"{"error":"expired_token"}"#)?;
    let alice = "alice".try_into().or_fail("subject")?;
    fill_device(&mut s, DeviceStatus::Approved(alice))?;
    let (status, json) = poll(&mut s, 20)?;
    ensure_eq!(status, 200, "{json}");
    let t = TokenSet::<64>::from_response(UnixTime(20), status, json.as_bytes())
        .or_fail("TokenSet::from_response")?;
    ensure!(t.refresh_token().is_some(), "{json}");
    ensure_eq!(t.scope(), Some("read"));
    Ok(())
}

/// RFC 8628 §3.1–§3.2 through the client: the client's request is what the
/// server parses, and the server's answer is what the client reads.
fn rfc8628_3_2_device_authorization_round_trip() -> Result<(), Failure> {
    let mut s = Mem::new();
    fill(&mut s)?;
    let flow = DeviceFlow::new(ClientIdentity::public("1406020730"), Some("read"));
    let mut req = [0u8; 128];
    let mut w = SliceWriter::new(&mut req);
    flow.write_request(&mut w);
    let request = w.into_written().or_fail("the device request")?;
    let d = device_authorization_endpoint(
        &mut s,
        None,
        request,
        UnixTime(0),
        &Policy::DEFAULT,
        &mut VectorRng(5),
    );
    let json = rendered(|o| d.render("https://example.com/device", o))?;
    let pending = flow
        .handle_response::<64>(UnixTime(0), d.http_status(), json.as_bytes())
        .or_fail("handle_response")?;
    ensure_eq!(
        pending.user_code(),
        d.issued()
            .or_fail("an issued device code")?
            .user_code
            .display()
            .as_str()
    );
    ensure_eq!(pending.interval(), 5);
    let complete = text::<128>(format_args!(
        "https://example.com/device?user_code={}",
        pending.user_code()
    ))?;
    ensure_eq!(pending.verification_uri_complete(), Some(complete.as_str()));
    Ok(())
}

/// RFC 7662 §2.2: an active answer parses back to the same fields.
fn rfc7662_2_2_round_trip() -> Result<(), Failure> {
    let rec = AccessRecord {
        hash: TokenHash::of(b"mF_9.B5f-4.1JqM"),
        family: FamilyId([1; 16]),
        client_id: "l238j323ds-23ij4".try_into().or_fail("client id")?,
        subject: Some("jdoe".try_into().or_fail("subject")?),
        scope: "read write dolphin".try_into().or_fail("scope")?,
        issued_at: UnixTime(1419350238),
        expires_at: UnixTime(1419356238),
    };
    let r = IntrospectionResponse::Active(TokenRecord::Access(rec));
    let json = rendered(|o| r.render(o))?;
    let doc =
        IntrospectionDocument::parse(json.as_bytes()).or_fail("IntrospectionDocument::parse")?;
    ensure!(doc.active, "{json}");
    ensure!(
        doc.client_id
            .or_fail("client_id")?
            .eq_str("l238j323ds-23ij4"),
        "{json}"
    );
    ensure!(doc.username.or_fail("username")?.eq_str("jdoe"), "{json}");
    ensure_eq!(doc.exp, Some(1419356238));
    ensure_eq!(doc.iat, Some(1419350238));
    Ok(())
}

/// RFC 7636 Appendix B: the verifier's octets, its text and its S256
/// challenge.
fn rfc7636_appendix_b_challenge() -> Result<(), Failure> {
    ensure_eq!(
        core::str::from_utf8(&s256_challenge(VERIFIER.as_bytes())),
        Ok(CHALLENGE)
    );
    ensure!(pkce::verify(
        ChallengeMethod::S256,
        CHALLENGE.as_bytes(),
        VERIFIER.as_bytes()
    ));
    let v = CodeVerifier::new(VERIFIER).or_fail("CodeVerifier::new")?;
    ensure_eq!(core::str::from_utf8(&v.challenge()), Ok(CHALLENGE));
    // Appendix B's octets of the verifier's random value.
    let octets = [
        116u8, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37,
        77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    ensure_eq!(Token::from_bytes(&octets).as_str(), VERIFIER);
    Ok(())
}

/// RFC 7636 Appendix B, through the whole server: a public client's code
/// exchanged with the appendix's verifier.
fn rfc7636_appendix_b_through_the_token_endpoint() -> Result<(), Failure> {
    let now = UnixTime(1000);
    let mut s = Mem::new();
    fill(&mut s)?;
    let mut rec = code_record("code-b", now)?;
    rec.challenge = Some(PkceChallenge {
        method: ChallengeMethod::S256,
        value: CHALLENGE.try_into().or_fail("challenge")?,
    });
    s.apply(&Write::StoreCode(rec)).or_fail("store the code")?;
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=authorization_code&code=code-b&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        now,
        &Policy::DEFAULT,
        &mut VectorRng(6),
    );
    ensure_eq!(d.http_status(), 200, "{:?}", d.error());
    Ok(())
}

/// RFC 6749 §4.1.1 and §4.1.3 as the client writes them, with RFC 7636
/// Appendix B's verifier.
fn rfc7636_appendix_b_through_the_client() -> Result<(), Failure> {
    const CONFIG: AuthCodeConfig<'static> = AuthCodeConfig {
        identity: ClientIdentity::public("s6BhdRkqt3"),
        authorization_endpoint: "https://server.example.com/authorize",
        redirect_uri: "https://client.example.com/cb",
        scope: None,
        issuer: Some("https://server.example.com"),
    };
    let p = AuthCodePending::restore(CONFIG, "xyz", VERIFIER).or_fail("restore")?;
    ensure_eq!(
        rendered(|o| {
            let mut w = SliceWriter::new(o);
            p.write_authorize_url(&mut w);
            w.finish()
        })?,
        "https://server.example.com/authorize?response_type=code&client_id=s6BhdRkqt3&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&state=xyz&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
    );
    let r = p
        .handle_callback::<64>(
            b"code=SplxlOBeZQQYbYS6WxSbIA&state=xyz&iss=https%3A%2F%2Fserver.example.com",
        )
        .or_fail("handle_callback")?;
    ensure_eq!(
        rendered(|o| {
            let mut w = SliceWriter::new(o);
            r.write_token_request(&mut w);
            w.finish()
        })?,
        "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=s6BhdRkqt3"
    );
    let mut none = SliceWriter::new(&mut []);
    ensure!(
        !r.write_authorization(&mut none),
        "a public client sends no Authorization header"
    );
    Ok(())
}
