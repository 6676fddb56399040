//! The RFCs' own example requests and responses, end to end through the
//! server core and the in-memory store: RFC 6749 §4.1, §4.4, §5.1, §5.2,
//! §6; RFC 8628 §3.2, §3.5; RFC 7662 §2.2; RFC 7636 Appendix B. (More
//! vectors sit beside the code they test: §2.3.1's Basic header in
//! `client_auth`, §4.1.1's authorization request in `authorize`, RFC 8414 in
//! `metadata`, RFC 6750 in `bearer`.)

use super::client::{DeviceFlow, IntrospectionDocument, TokenResponse, TokenSet};
use super::token_material::test_rng::TestRng;
use super::*;
use crate::buf::SliceWriter;
use crate::time::UnixTime;
use std::string::String;

const ISSUER: &str = "https://server.example.com";
const BASIC: &str = "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW";

type Mem = MemoryStore<4, 16>;

fn store() -> Mem {
    let mut s = Mem::new();
    s.add_client(
        ClientRecord::new(
            "s6BhdRkqt3",
            Some("gX1fBat3bV"),
            &["https://client.example.com/cb"],
            "read write",
            GrantTypes::ALL,
        )
        .unwrap(),
    )
    .unwrap();
    s.add_client(
        ClientRecord::new(
            "1406020730",
            None,
            &[],
            "read",
            GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
        )
        .unwrap(),
    )
    .unwrap();
    s
}

fn body(render: impl FnOnce(&mut [u8]) -> Result<usize, crate::BufferTooSmall>) -> String {
    let mut out = [0u8; 1024];
    let n = render(&mut out).unwrap();
    String::from_utf8(out[..n].to_vec()).unwrap()
}

fn code_record(code: &str, now: UnixTime) -> CodeRecord {
    CodeRecord {
        hash: TokenHash::of(code.as_bytes()),
        client_id: "s6BhdRkqt3".try_into().unwrap(),
        subject: "alice".try_into().unwrap(),
        scope: "read".try_into().unwrap(),
        redirect_uri: "https://client.example.com/cb".try_into().unwrap(),
        redirect_uri_sent: true,
        challenge: None,
        issued_at: now,
        expires_at: now.saturating_add(600),
        consumed: false,
    }
}

/// RFC 6749 §4.1.3's literal token request for §4.1.2's literal code, and
/// a §5.1-shaped answer.
#[test]
fn rfc6749_4_1_3_token_request_and_5_1_response() {
    let now = UnixTime(1_700_000_000);
    let mut s = store();
    s.apply(&Write::StoreCode(code_record(
        "SplxlOBeZQQYbYS6WxSbIA",
        now,
    )))
    .unwrap();
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
        now,
        &Policy::DEFAULT,
        &mut TestRng(1),
    );
    assert_eq!(d.http_status(), 200, "{:?}", d.error());
    assert_eq!(
        RESPONSE_HEADERS,
        [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    );
    let t = d.tokens().unwrap();
    let json = body(|o| d.render(o));
    assert_eq!(
        json,
        std::format!(
            r#"{{"access_token":"{}","token_type":"Bearer","expires_in":3600,"refresh_token":"{}","scope":"read"}}"#,
            t.access_token.as_str(),
            t.refresh_token.as_ref().unwrap().as_str()
        )
    );
    // What was stored is hashes, never the tokens.
    assert_eq!(s.access_tokens()[0].hash, t.access_token.hash());
    assert_eq!(
        s.refresh_tokens()[0].hash,
        t.refresh_token.as_ref().unwrap().hash()
    );
    assert!(s.codes()[0].consumed);
    // The client reads it back.
    let parsed = TokenResponse::parse(json.as_bytes()).unwrap();
    assert!(parsed.access_token.eq_str(t.access_token.as_str()));
    assert!(parsed.is_bearer());
}

/// RFC 6749 §4.1 whole: §4.1.1's request, approval, §4.1.2's redirect,
/// §4.1.3's exchange of the issued code.
#[test]
fn rfc6749_4_1_authorization_code_flow() {
    let now = UnixTime(1_700_000_000);
    let mut s = store();
    let query = b"response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb";
    let req = AuthorizationRequest::parse(query).unwrap();
    let client = s.client(&req.client_id().unwrap());
    let valid = req.validate(client.as_ref(), &Policy::DEFAULT).unwrap();
    let approval = valid
        .approve("alice", now, &Policy::DEFAULT, &mut TestRng(7))
        .unwrap();
    s.apply(&approval.write()).unwrap();
    let location = body(|o| {
        let mut w = SliceWriter::new(o);
        approval.write_location(ISSUER, &mut w);
        w.finish()
    });
    let code = approval.code().as_str();
    assert_eq!(
        location,
        std::format!(
            "https://client.example.com/cb?code={code}&state=xyz&iss=https%3A%2F%2Fserver.example.com"
        )
    );
    let token_body = std::format!(
        "grant_type=authorization_code&code={code}&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb"
    );
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        token_body.as_bytes(),
        now.saturating_add(5),
        &Policy::DEFAULT,
        &mut TestRng(8),
    );
    assert_eq!(d.http_status(), 200);
    assert_eq!(d.tokens().unwrap().scope, "read write");
}

/// RFC 6749 §4.4.2's request and §4.4.3's answer (no refresh token).
#[test]
fn rfc6749_4_4_client_credentials() {
    let mut s = store();
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=client_credentials",
        UnixTime(0),
        &Policy::DEFAULT,
        &mut TestRng(2),
    );
    assert_eq!(d.http_status(), 200);
    let json = body(|o| d.render(o));
    let t = TokenResponse::parse(json.as_bytes()).unwrap();
    assert!(t.refresh_token.is_none());
    assert_eq!(t.expires_in, Some(3600));
    assert!(t.scope.unwrap().eq_str("read write"));
}

/// RFC 6749 §5.2's example body, and the statuses of §5.2.
#[test]
fn rfc6749_5_2_error_response() {
    assert_eq!(
        body(|o| OAuthError::new(ErrorCode::InvalidRequest).render(o)),
        r#"{"error":"invalid_request"}"#
    );
    assert_eq!(
        body(|o| OAuthError::with(ErrorCode::InvalidGrant, "code expired").render(o)),
        r#"{"error":"invalid_grant","error_description":"code expired"}"#
    );
    // invalid_client after HTTP Basic: 401 with a challenge.
    let mut s = store();
    let d = token_endpoint(
        &mut s,
        Some("Basic czZCaGRSa3F0Mzp3cm9uZw=="),
        b"grant_type=client_credentials",
        UnixTime(0),
        &Policy::DEFAULT,
        &mut TestRng(3),
    );
    assert_eq!(d.http_status(), 401);
    assert!(d.needs_basic_challenge());
}

/// RFC 6749 §6's literal refresh request.
#[test]
fn rfc6749_6_refresh_request() {
    let mut s = store();
    s.apply(&Write::StoreRefreshToken(RefreshRecord {
        hash: TokenHash::of(b"tGzv3JOkF0XG5Qx2TlKWIA"),
        family: FamilyId([3; 16]),
        client_id: "s6BhdRkqt3".try_into().unwrap(),
        subject: Some("alice".try_into().unwrap()),
        scope: "read write".try_into().unwrap(),
        issued_at: UnixTime(0),
        expires_at: None,
        retired: false,
    }))
    .unwrap();
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
        UnixTime(100),
        &Policy::DEFAULT,
        &mut TestRng(4),
    );
    assert_eq!(d.http_status(), 200);
    let t = d.tokens().unwrap();
    assert!(
        t.refresh_token.is_some(),
        "rotation issues a new refresh token"
    );
    assert!(s.refresh_tokens()[0].retired);
    assert_eq!(s.refresh_tokens()[1].family, FamilyId([3; 16]));
}

fn device_store(status: DeviceStatus, last_poll: Option<UnixTime>) -> Mem {
    let mut s = store();
    s.apply(&Write::StoreDevice(DeviceRecord {
        hash: TokenHash::of(b"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"),
        user_code: UserCode::parse("WDJB-MJHT").unwrap(),
        client_id: "1406020730".try_into().unwrap(),
        scope: "read".try_into().unwrap(),
        issued_at: UnixTime(0),
        expires_at: UnixTime(1800),
        interval: 5,
        last_poll,
        status,
    }))
    .unwrap();
    s
}

const POLL: &[u8] = b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730";

fn poll(s: &mut Mem, now: u64) -> (u16, String) {
    let d = token_endpoint(
        s,
        None,
        POLL,
        UnixTime(now),
        &Policy::DEFAULT,
        &mut TestRng(now),
    );
    (d.http_status(), body(|o| d.render(o)))
}

/// RFC 8628 §3.4's literal poll and §3.5's answers.
#[test]
fn rfc8628_3_5_poll_responses() {
    let mut s = device_store(DeviceStatus::Pending, None);
    assert_eq!(
        poll(&mut s, 10),
        (400, r#"{"error":"authorization_pending"}"#.into())
    );
    assert_eq!(poll(&mut s, 12), (400, r#"{"error":"slow_down"}"#.into()));
    assert_eq!(s.devices()[0].interval, 10);
    let mut s = device_store(DeviceStatus::Denied, None);
    assert_eq!(
        poll(&mut s, 10),
        (400, r#"{"error":"access_denied"}"#.into())
    );
    let mut s = device_store(DeviceStatus::Pending, None);
    assert_eq!(
        poll(&mut s, 1800),
        (400, r#"{"error":"expired_token"}"#.into())
    );
    let mut s = device_store(DeviceStatus::Approved("alice".try_into().unwrap()), None);
    let (status, json) = poll(&mut s, 20);
    assert_eq!(status, 200);
    let t = TokenSet::<64>::from_response(UnixTime(20), status, json.as_bytes()).unwrap();
    assert!(t.refresh_token().is_some());
    assert_eq!(t.scope(), Some("read"));
}

/// RFC 8628 §3.1–§3.2 through the client: the client's request is what the
/// server parses, and the server's answer is what the client reads.
#[test]
fn rfc8628_3_2_device_authorization_response_round_trip() {
    let mut s = store();
    let flow = DeviceFlow::new(client::ClientIdentity::public("1406020730"), Some("read"));
    let mut req = [0u8; 128];
    let mut w = SliceWriter::new(&mut req);
    flow.write_request(&mut w);
    let n = w.finish().unwrap();
    let d = device_authorization_endpoint(
        &mut s,
        None,
        &req[..n],
        UnixTime(0),
        &Policy::DEFAULT,
        &mut TestRng(5),
    );
    let json = body(|o| d.render("https://example.com/device", o));
    let pending = flow
        .handle_response::<64>(UnixTime(0), d.http_status(), json.as_bytes())
        .unwrap();
    assert_eq!(
        pending.user_code(),
        d.issued().unwrap().user_code.display().as_str()
    );
    assert_eq!(pending.interval(), 5);
    assert_eq!(
        pending.verification_uri_complete(),
        Some(
            std::format!(
                "https://example.com/device?user_code={}",
                pending.user_code()
            )
            .as_str()
        )
    );
}

/// RFC 7662 §2.2: an active answer parses back to the same fields.
#[test]
fn rfc7662_2_2_round_trip() {
    let rec = AccessRecord {
        hash: TokenHash::of(b"mF_9.B5f-4.1JqM"),
        family: FamilyId([1; 16]),
        client_id: "l238j323ds-23ij4".try_into().unwrap(),
        subject: Some("jdoe".try_into().unwrap()),
        scope: "read write dolphin".try_into().unwrap(),
        issued_at: UnixTime(1419350238),
        expires_at: UnixTime(1419356238),
    };
    let r = IntrospectionResponse::Active(TokenRecord::Access(rec));
    let json = body(|o| r.render(o));
    let doc = IntrospectionDocument::parse(json.as_bytes()).unwrap();
    assert!(doc.active);
    assert!(doc.client_id.unwrap().eq_str("l238j323ds-23ij4"));
    assert!(doc.username.unwrap().eq_str("jdoe"));
    assert_eq!(doc.exp, Some(1419356238));
    assert_eq!(doc.iat, Some(1419350238));
}

/// RFC 7636 Appendix B, through the whole server: a public client's code
/// exchanged with the appendix's verifier.
#[test]
fn rfc7636_appendix_b_through_the_token_endpoint() {
    let now = UnixTime(1000);
    let mut s = store();
    let mut rec = code_record("code-b", now);
    rec.challenge = Some(PkceChallenge {
        method: ChallengeMethod::S256,
        value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
            .try_into()
            .unwrap(),
    });
    s.apply(&Write::StoreCode(rec)).unwrap();
    let d = token_endpoint(
        &mut s,
        Some(BASIC),
        b"grant_type=authorization_code&code=code-b&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        now,
        &Policy::DEFAULT,
        &mut TestRng(6),
    );
    assert_eq!(d.http_status(), 200, "{:?}", d.error());
}
