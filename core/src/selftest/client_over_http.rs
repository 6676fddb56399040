//! The device's whole conversation as one check, with the RFCs' examples
//! as the server's side: the requests the client flows hand out whole
//! ([`ClientRequest`]), written into the firmware's buffers (1 KiB
//! request, 2 KiB response, 512-byte scratch) and compared byte for byte,
//! and the answers read a few bytes at a time — the synchronous core work
//! between socket reads, so that `mcu-tests/` reports how deep it takes a
//! Cortex-M4's stack.
//!
//! 1. RFC 8628 §3.1's device authorization request, behind RFC 6749
//!    §2.3.1's `client_secret_basic` header; §3.2's answer, chunked and read
//!    a few bytes at a time, with the `Date` (RFC 9110 §6.6.1) that sets
//!    the device's clock.
//! 2. Three §3.4 polls: `authorization_pending`, `slow_down` (the interval
//!    grows by 5 s, §3.5), then RFC 6749 §5.1's token response.
//! 3. RFC 6749 §6's refresh request when [`TokenSet::poll_timeout`] says,
//!    answered with RFC 6750 §4's token response.
//! 4. `GET /api/ping` with RFC 6750 §2.1's `Authorization: Bearer` header.
//! 5. The same call signed with OAuth 1.0a HMAC-SHA1 (RFC 5849 §3.4.2)
//!    with §1.2's consumer and token credentials.
//!
//! Client: RFC 6749's confidential `s6BhdRkqt3` throughout, as the firmware
//! uses one identity for every request (RFC 8628's example client
//! `1406020730` is public, with no secret for a Basic header), so the
//! §3.1 and §3.4 bodies carry its `client_id`.

#![allow(
    clippy::result_large_err,
    reason = "a Failure carries its description inline (no heap); only the failing path moves it"
)]

use crate::http::{
    Authorization, ClientRequest, Method, ReadStatus, Response, ResponseReader, parse_http_date,
};
use crate::oauth1::{self, AuthorizationHeader, ProtocolParams, Secrets, SignatureMethod};
use crate::oauth2::client::{
    ClientError, ClientIdentity, DeviceFlow, DevicePending, PollOutcome, TokenSet,
};
use crate::selftest::{Failure, OrFail, declare_checks, ensure, ensure_eq, fail};
use crate::time::UnixTime;
use crate::url::Url;

declare_checks! {
    rfc8628_client_over_http,
}

/// firmware/src/buffers.rs's `REQUEST_BUF`.
const REQUEST_BUF: usize = 1024;
/// firmware/src/buffers.rs's `RESPONSE_BUF`.
const RESPONSE_BUF: usize = 2048;
/// latch-device's request scratch.
const SCRATCH: usize = 512;
/// latch-device's `TOKEN_CAP`.
const TOKEN_CAP: usize = 128;

/// The authorization server's endpoints, on the host the RFCs' examples
/// name.
const DEVICE_URL: &str = "https://server.example.com/device_authorization";
const TOKEN_URL: &str = "https://server.example.com/token";
/// The protected resource, where the firmware's tests find it.
const PING_URL: &str = "http://192.168.69.1:8080/api/ping";

fn url(text: &str) -> Result<Url<'_>, Failure> {
    Url::parse(text).or_fail("the URL")
}

/// The `Date` of the first answer, `Tue, 01 Dec 2026 08:05:26 GMT`
/// (`calendar.timegm`).
const T0: u64 = 1_796_112_326;

/// RFC 8628 §3.1's request, with RFC 6749 §2.3.1's Basic credentials.
const DEVICE_REQUEST: &[u8] = concat!(
    "POST /device_authorization HTTP/1.1\r\n",
    "Host: server.example.com\r\n",
    "Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\n",
    "Content-Type: application/x-www-form-urlencoded\r\n",
    "Accept: application/json\r\n",
    "Connection: close\r\n",
    "Content-Length: 40\r\n",
    "\r\n",
    "client_id=s6BhdRkqt3&scope=example_scope",
)
.as_bytes();

/// §3.2's answer, a line per chunk, with the `Date` the device sets its
/// clock from.
const DEVICE_RESPONSE: &[u8] = concat!(
    "HTTP/1.1 200 OK\r\n",
    "Date: Tue, 01 Dec 2026 08:05:26 GMT\r\n",
    "Content-Type: application/json\r\n",
    "Cache-Control: no-store\r\n",
    "Transfer-Encoding: chunked\r\n",
    "\r\n",
    "2\r\n{\n\r\n",
    "3e\r\n  \"device_code\": \"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS\",\n\r\n",
    "1c\r\n  \"user_code\": \"WDJB-MJHT\",\n\r\n",
    "34\r\n  \"verification_uri\": \"https://example.com/device\",\n\r\n",
    "1f\r\n  \"verification_uri_complete\":\n\r\n",
    "38\r\n      \"https://example.com/device?user_code=WDJB-MJHT\",\n\r\n",
    "16\r\n  \"expires_in\": 1800,\n\r\n",
    "10\r\n  \"interval\": 5\n\r\n",
    "1\r\n}\r\n",
    "0\r\n\r\n",
)
.as_bytes();

/// §3.4's poll (every poll is the same bytes).
const POLL_REQUEST: &[u8] = concat!(
    "POST /token HTTP/1.1\r\n",
    "Host: server.example.com\r\n",
    "Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\n",
    "Content-Type: application/x-www-form-urlencoded\r\n",
    "Accept: application/json\r\n",
    "Connection: close\r\n",
    "Content-Length: 140\r\n",
    "\r\n",
    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
    "&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
    "&client_id=s6BhdRkqt3",
)
.as_bytes();

/// §3.5 `authorization_pending`.
const PENDING_RESPONSE: &[u8] = concat!(
    "HTTP/1.1 400 Bad Request\r\n",
    "Content-Type: application/json\r\n",
    "Cache-Control: no-store\r\n",
    "Content-Length: 33\r\n",
    "\r\n",
    "{\"error\":\"authorization_pending\"}",
)
.as_bytes();

/// §3.5 `slow_down`, chunked.
const SLOW_DOWN_RESPONSE: &[u8] = concat!(
    "HTTP/1.1 400 Bad Request\r\n",
    "Content-Type: application/json\r\n",
    "Cache-Control: no-store\r\n",
    "Transfer-Encoding: chunked\r\n",
    "\r\n",
    "15\r\n{\"error\":\"slow_down\"}\r\n",
    "0\r\n\r\n",
)
.as_bytes();

/// RFC 6749 §5.1's token response body, but with `token_type` `Bearer`
/// where the RFC has `example` (which a Bearer client refuses: checked
/// below).
const TOKEN_RESPONSE: &[u8] = concat!(
    "HTTP/1.1 200 OK\r\n",
    "Content-Type: application/json;charset=UTF-8\r\n",
    "Cache-Control: no-store\r\n",
    "Pragma: no-cache\r\n",
    "Content-Length: 174\r\n",
    "\r\n",
    "{\n",
    "  \"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\n",
    "  \"token_type\":\"Bearer\",\n",
    "  \"expires_in\":3600,\n",
    "  \"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\",\n",
    "  \"example_parameter\":\"example_value\"\n",
    "}",
)
.as_bytes();

/// RFC 6749 §5.1's body exactly as printed.
const TOKEN_BODY_EXAMPLE_TYPE: &[u8] = concat!(
    "{\n",
    "  \"access_token\":\"2YotnFZFEjr1zCsicMWpAA\",\n",
    "  \"token_type\":\"example\",\n",
    "  \"expires_in\":3600,\n",
    "  \"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\",\n",
    "  \"example_parameter\":\"example_value\"\n",
    "}",
)
.as_bytes();

/// RFC 6749 §6's refresh request.
const REFRESH_REQUEST: &[u8] = concat!(
    "POST /token HTTP/1.1\r\n",
    "Host: server.example.com\r\n",
    "Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\n",
    "Content-Type: application/x-www-form-urlencoded\r\n",
    "Accept: application/json\r\n",
    "Connection: close\r\n",
    "Content-Length: 61\r\n",
    "\r\n",
    "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
)
.as_bytes();

/// RFC 6750 §4's token response, chunked a line per chunk.
const REFRESH_RESPONSE: &[u8] = concat!(
    "HTTP/1.1 200 OK\r\n",
    "Content-Type: application/json;charset=UTF-8\r\n",
    "Cache-Control: no-store\r\n",
    "Pragma: no-cache\r\n",
    "Transfer-Encoding: chunked\r\n",
    "\r\n",
    "2\r\n{\n\r\n",
    "24\r\n  \"access_token\":\"mF_9.B5f-4.1JqM\",\n\r\n",
    "19\r\n  \"token_type\":\"Bearer\",\n\r\n",
    "15\r\n  \"expires_in\":3600,\n\r\n",
    "2b\r\n  \"refresh_token\":\"tGzv3JOkF0XG5Qx2TlKWIA\"\n\r\n",
    "1\r\n}\r\n",
    "0\r\n\r\n",
)
.as_bytes();

/// RFC 6750 §2.1's header, on the device's call.
const BEARER_REQUEST: &[u8] = concat!(
    "GET /api/ping HTTP/1.1\r\n",
    "Host: 192.168.69.1:8080\r\n",
    "Authorization: Bearer mF_9.B5f-4.1JqM\r\n",
    "Accept: application/json\r\n",
    "Connection: close\r\n",
    "\r\n",
)
.as_bytes();

/// The protected resource's answer.
const PONG_RESPONSE: &[u8] = concat!(
    "HTTP/1.1 200 OK\r\n",
    "Content-Type: application/json\r\n",
    "Content-Length: 15\r\n",
    "\r\n",
    "{\"ping\":\"pong\"}",
)
.as_bytes();

/// What the resource answers.
const PONG: &[u8] = br#"{"ping":"pong"}"#;

/// RFC 5849 §1.2's credentials.
const CONSUMER_KEY: &str = "dpf43f3p2l4k3l03";
const CONSUMER_SECRET: &str = "kd94hf93k423kf44";
const TOKEN: &str = "nnch734d00sl2jdk";
const TOKEN_SECRET: &str = "pfkkdhi9sl3r4s00";
/// A nonce shaped like the firmware's (16 random bytes in hex): here the
/// bytes 0 to 15.
const NONCE: &str = "000102030405060708090a0b0c0d0e0f";
/// The HMAC-SHA1 signature of `GET http://192.168.69.1:8080/api/ping` with
/// the credentials above, [`NONCE`] and timestamp 1796115886 (T0 + 3560,
/// when the refresh falls due), computed apart from this crate with
/// Python's `urllib.parse.quote`, `hmac`, `hashlib.sha1` and
/// `base64.b64encode` over the base string
/// `GET&http%3A%2F%2F192.168.69.1%3A8080%2Fapi%2Fping&oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3D000102030405060708090a0b0c0d0e0f%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1796115886%26oauth_token%3Dnnch734d00sl2jdk`
/// and key `kd94hf93k423kf44&pfkkdhi9sl3r4s00`.
const SIGNATURE: &str = "ztg0em1X0VvYZDbrpN8ETVSmP6M=";

/// The firmware's `HttpClient` with the socket replaced by the expected
/// request bytes and the answer to hand back.
struct Link<'b> {
    request: &'b mut [u8; REQUEST_BUF],
    response: &'b mut [u8; RESPONSE_BUF],
    /// The device's clock: unset until the first `Date`.
    clock: Option<UnixTime>,
}

impl Link<'_> {
    /// Writes `req` and checks it is `sent` (its byte strings one after the
    /// other); reads `answer` in pieces of at most `piece` bytes; sets the
    /// clock from its `Date` if unset; hands the response to `handle` with
    /// the time.
    fn exchange<R>(
        &mut self,
        req: &ClientRequest<'_>,
        sent: &[&[u8]],
        answer: &[u8],
        piece: usize,
        handle: impl FnOnce(&Response<'_>, UnixTime) -> R,
    ) -> Result<R, Failure> {
        let Link {
            request,
            response,
            clock,
        } = self;
        let wrote = req.write_to(&mut request[..]).or_fail("the request fits")?;
        ensure_concatenation(wrote, sent)?;

        let mut reader = ResponseReader::new(&mut response[..]);
        let mut rest = answer;
        loop {
            let spare = reader.spare();
            ensure!(!spare.is_empty(), "the answer does not fit");
            let n = rest.len().min(spare.len()).min(piece);
            let (now, later) = rest.split_at_checked(n).or_fail("a piece")?;
            spare
                .get_mut(..n)
                .or_fail("spare room")?
                .copy_from_slice(now);
            rest = later;
            if reader.received(n).or_fail("received")? == ReadStatus::Complete {
                break;
            }
            ensure!(n > 0, "the answer ended before it was complete");
        }
        let resp = reader.response().or_fail("a complete response")?;
        if clock.is_none() {
            *clock = resp.header("date").and_then(parse_http_date);
        }
        let now = clock.or_fail("the clock is set")?;
        Ok(handle(&resp, now))
    }

    fn now(&self) -> Result<UnixTime, Failure> {
        self.clock.or_fail("the clock is set")
    }
}

/// Fails unless `bytes` is `parts` one after the other.
fn ensure_concatenation(bytes: &[u8], parts: &[&[u8]]) -> Result<(), Failure> {
    fn shown(b: &[u8]) -> &str {
        core::str::from_utf8(b).unwrap_or("<not UTF-8>")
    }
    let mut rest = bytes;
    for part in parts {
        match rest.strip_prefix(*part) {
            Some(after) => rest = after,
            None => fail!(
                "wrote\n  {:?}\nexpected there\n  {:?}",
                shown(rest),
                shown(part)
            ),
        }
    }
    ensure!(rest.is_empty(), "wrote more: {:?}", shown(rest));
    Ok(())
}

/// The firmware's check of the resource's answer.
fn pong_status(r: &Response<'_>, _now: UnixTime) -> u16 {
    match r.status() {
        200 if r.body() == PONG => 200,
        200 => 502,
        s => s,
    }
}

/// One poll at the time the flow allows (the firmware sleeps until then).
fn poll(
    http: &mut Link<'_>,
    scratch: &mut [u8; SCRATCH],
    pending: &mut DevicePending<'_, TOKEN_CAP>,
    answer: &[u8],
    piece: usize,
) -> Result<PollOutcome<TOKEN_CAP>, Failure> {
    http.clock = Some(pending.poll_timeout());
    let now = http.now()?;
    let req = pending
        .poll_request(now, url(TOKEN_URL)?, scratch)
        .or_fail("poll_request")?;
    http.exchange(&req, &[POLL_REQUEST], answer, piece, |r, now| {
        pending.handle_poll_response(now, r.status(), r.body())
    })?
    .or_fail("handle_poll_response")
}

/// RFC 8628 §3.1–§3.5, RFC 6749 §5.1 and §6, RFC 6750 §2.1 and RFC 5849
/// §3.4.2 as the device runs them, over HTTP/1.1 framing.
fn rfc8628_client_over_http() -> Result<(), Failure> {
    let mut request = [0u8; REQUEST_BUF];
    let mut response = [0u8; RESPONSE_BUF];
    let mut scratch = [0u8; SCRATCH];
    let mut http = Link {
        request: &mut request,
        response: &mut response,
        clock: None,
    };
    let identity = ClientIdentity::confidential("s6BhdRkqt3", "gX1fBat3bV");

    // 1. Device authorization (§3.1, §3.2).
    let flow = DeviceFlow::new(identity, Some("example_scope"));
    let mut body = [0u8; SCRATCH];
    let req = flow
        .request(url(DEVICE_URL)?, &mut body)
        .or_fail("DeviceFlow::request")?;
    let mut pending: DevicePending<'_, TOKEN_CAP> = http
        .exchange(&req, &[DEVICE_REQUEST], DEVICE_RESPONSE, 7, |r, now| {
            flow.handle_response(now, r.status(), r.body())
        })?
        .or_fail("handle_response")?;
    ensure_eq!(http.clock, Some(UnixTime(T0)), "the clock, from Date");
    ensure_eq!(pending.user_code(), "WDJB-MJHT");
    ensure_eq!(pending.verification_uri(), "https://example.com/device");
    ensure_eq!(
        pending.verification_uri_complete(),
        Some("https://example.com/device?user_code=WDJB-MJHT")
    );
    ensure_eq!(pending.expires_at(), UnixTime(T0 + 1800));
    ensure_eq!(pending.interval(), 5);
    ensure_eq!(pending.poll_timeout(), UnixTime(T0 + 5));

    // 2. Polls (§3.4, §3.5).
    let outcome = poll(&mut http, &mut scratch, &mut pending, PENDING_RESPONSE, 3)?;
    ensure!(outcome == PollOutcome::Pending, "authorization_pending");
    ensure_eq!(pending.interval(), 5);
    ensure_eq!(pending.poll_timeout(), UnixTime(T0 + 10));
    let outcome = poll(&mut http, &mut scratch, &mut pending, SLOW_DOWN_RESPONSE, 5)?;
    ensure!(outcome == PollOutcome::Pending, "slow_down");
    ensure_eq!(pending.interval(), 10, "slow_down adds 5 seconds");
    ensure_eq!(pending.poll_timeout(), UnixTime(T0 + 20));
    let outcome = poll(&mut http, &mut scratch, &mut pending, TOKEN_RESPONSE, 11)?;
    let PollOutcome::Authorized(mut tokens) = outcome else {
        fail!("the third poll is not authorized");
    };
    ensure_eq!(tokens.access_token(), "2YotnFZFEjr1zCsicMWpAA");
    ensure_eq!(tokens.refresh_token(), Some("tGzv3JOkF0XG5Qx2TlKWIA"));
    ensure_eq!(tokens.expires_at(), Some(UnixTime(T0 + 20 + 3600)));
    // §5.1's own `token_type` is not one this client can use.
    ensure_eq!(
        TokenSet::<TOKEN_CAP>::from_response(UnixTime(T0), 200, TOKEN_BODY_EXAMPLE_TYPE),
        Err(ClientError::UnsupportedTokenType)
    );

    // 3. Refresh (RFC 6749 §6) when due: a minute before expiry.
    http.clock = Some(tokens.poll_timeout().or_fail("a refresh falls due")?);
    ensure_eq!(http.clock, Some(UnixTime(T0 + 3560)));
    let req = tokens
        .refresh_request(identity, url(TOKEN_URL)?, &mut scratch)
        .or_fail("refresh_request")?;
    ensure_eq!(
        req.form,
        Some(&b"grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA"[..])
    );
    http.exchange(&req, &[REFRESH_REQUEST], REFRESH_RESPONSE, 13, |r, now| {
        tokens.handle_refresh_response(now, r.status(), r.body())
    })?
    .or_fail("handle_refresh_response")?;
    ensure_eq!(tokens.access_token(), "mF_9.B5f-4.1JqM");
    ensure_eq!(tokens.refresh_token(), Some("tGzv3JOkF0XG5Qx2TlKWIA"));
    ensure_eq!(tokens.expires_at(), Some(UnixTime(T0 + 3560 + 3600)));

    // 4. The bearer call (RFC 6750 §2.1).
    let req = tokens.bearer_request(Method::Get, url(PING_URL)?);
    let status = http.exchange(&req, &[BEARER_REQUEST], PONG_RESPONSE, 2, pong_status)?;
    ensure_eq!(status, 200);

    // 5. The OAuth1-signed call (RFC 5849 §3.1), as latch-device signs it.
    let now = http.now()?;
    let header = &mut scratch;
    let oauth = ProtocolParams {
        token: Some(TOKEN),
        timestamp: Some(now.as_secs()),
        nonce: Some(NONCE),
        ..ProtocolParams::new(CONSUMER_KEY, SignatureMethod::HmacSha1)
    };
    let secrets = Secrets::new(CONSUMER_SECRET, TOKEN_SECRET);
    let len = oauth1::Request::<2>::new("GET", PING_URL)
        .or_fail("oauth1::Request::new")?
        .sign_to_slice(&oauth, &secrets, header)
        .or_fail("sign_to_slice")?;
    let value = header.get(..len).or_fail("the header")?;
    ensure_signed(value, now)?;
    let req = ClientRequest {
        method: Method::Get,
        url: url(PING_URL)?,
        authorization: Authorization::Value(value),
        form: None,
    };
    let sent: [&[u8]; 3] = [
        b"GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: ",
        value,
        b"\r\nAccept: application/json\r\nConnection: close\r\n\r\n",
    ];
    let status = http.exchange(&req, &sent, PONG_RESPONSE, 9, pong_status)?;
    ensure_eq!(status, 200);
    Ok(())
}

/// The OAuth1 header carries §1.2's consumer and token, the nonce, the
/// timestamp `now` and [`SIGNATURE`].
fn ensure_signed(value: &[u8], now: UnixTime) -> Result<(), Failure> {
    let value = core::str::from_utf8(value).or_fail("the header is UTF-8")?;
    let h = AuthorizationHeader::parse(value).or_fail("AuthorizationHeader::parse")?;
    ensure_eq!(now, UnixTime(1_796_115_886), "the timestamp signed");
    let mut digits = [0u8; 20];
    let timestamp = core::str::from_utf8(crate::url::write_decimal(now.as_secs(), &mut digits))
        .or_fail("the timestamp")?;
    for (name, want) in [
        ("oauth_consumer_key", CONSUMER_KEY),
        ("oauth_token", TOKEN),
        ("oauth_nonce", NONCE),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", timestamp),
        ("oauth_signature", SIGNATURE),
    ] {
        let text = h.get(name).or_fail(name)?;
        let mut buf = [0u8; 64];
        let got = text.decode(&mut buf).or_fail("decode")?;
        ensure_eq!(got, want, "{}", name);
    }
    Ok(())
}
