//! What the device does, the same on Linux and on the MCU. Every protocol
//! decision is latch-core's; this module only moves bytes between the
//! core's flows and [`HttpClient`], and sleeps until the core's
//! `poll_timeout`s.
//!
//! 1. The OAuth 2.0 device authorization grant (RFC 8628): show
//!    `user_code` and `verification_uri`, poll the token endpoint as the
//!    core's [`DevicePending`] allows (`interval`, `slow_down`).
//! 2. `GET /api/ping` with the bearer token (RFC 6750 §2.1); check the
//!    answer is `{"ping":"pong"}`.
//! 3. Refresh when the core's [`TokenSet::poll_timeout`] says it is due
//!    (shortly before expiry), or at once on a 401, and call again.
//! 4. `GET /api/ping` signed with OAuth 1.0a HMAC-SHA1 (RFC 5849 §3) with
//!    the consumer credentials (the client's id and secret) and the token
//!    credentials from the configuration.
//!
//! Endpoint paths are Latch's (DESIGN.md, and the server's RFC 8414
//! metadata); a device that must talk to another server would read them
//! from its metadata document instead.

use crate::config::Config;
use crate::http::{HttpClient, NetError, Request};
use embassy_time::{Duration, Timer};
use latch_core::oauth1::{self, ProtocolParams, Secrets, SignError, SignatureMethod};
use latch_core::oauth2::client::{
    ClientError, ClientIdentity, DeviceFlow, DevicePending, PollOutcome, TokenSet,
};
use latch_core::{BufferTooSmall, Sink, SliceWriter};

/// The device authorization endpoint (RFC 8628 §3.1).
const DEVICE_AUTHORIZATION: &str = "/oauth2/device_authorization";
/// The token endpoint (RFC 6749 §3.2).
const TOKEN: &str = "/oauth2/token";
/// The protected resource.
const PING: &str = "/api/ping";
/// What it answers.
const PONG: &[u8] = br#"{"ping":"pong"}"#;
/// Longest token or device code the device keeps, bytes.
pub const TOKEN_CAP: usize = 128;
/// A transport failure while polling is retried this many times.
const POLL_RETRIES: u32 = 3;

/// Why the device gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(target_os = "none", derive(defmt::Format))]
pub enum AppError {
    /// The network or HTTP failed.
    Net(NetError),
    /// The authorization server said no, or answered nonsense.
    OAuth(ClientError),
    /// The OAuth1 request could not be signed.
    Sign(SignError),
    /// A protected resource answered with this status, or not with pong.
    Resource(u16),
    /// A request body did not fit its buffer.
    Buffer(BufferTooSmall),
    /// The device's clock is not set (no `Date` from the server).
    NoClock,
}

impl core::fmt::Display for AppError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AppError::Net(e) => e.fmt(f),
            AppError::OAuth(ClientError::Server {
                code: Some(code), ..
            }) => f.write_str(code.as_str()),
            AppError::OAuth(e) => e.fmt(f),
            AppError::Sign(e) => e.fmt(f),
            AppError::Resource(status) => write!(f, "protected resource answered HTTP {status}"),
            AppError::Buffer(e) => e.fmt(f),
            AppError::NoClock => f.write_str("clock not set"),
        }
    }
}

impl From<NetError> for AppError {
    fn from(e: NetError) -> Self {
        AppError::Net(e)
    }
}
impl From<ClientError> for AppError {
    fn from(e: ClientError) -> Self {
        AppError::OAuth(e)
    }
}
impl From<SignError> for AppError {
    fn from(e: SignError) -> Self {
        AppError::Sign(e)
    }
}
impl From<BufferTooSmall> for AppError {
    fn from(e: BufferTooSmall) -> Self {
        AppError::Buffer(e)
    }
}

/// The one buffer every request body (and the OAuth1 header) is written
/// into: the steps run one after another, so they share it.
type Scratch = [u8; 512];

/// Writes a body into `scratch`; the bytes written.
fn write_body(
    scratch: &mut Scratch,
    f: impl FnOnce(&mut SliceWriter<'_>) -> Result<(), ClientError>,
) -> Result<&[u8], AppError> {
    let mut w = SliceWriter::new(scratch);
    f(&mut w)?;
    let len = w.finish()?;
    Ok(scratch.get(..len).unwrap_or_default())
}

/// Runs the four steps; `Ok` when all succeeded. `random` fills a buffer
/// from the platform's RNG (OAuth1 nonces).
pub async fn run(
    http: &mut HttpClient<'_>,
    cfg: &Config<'_>,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<(), AppError> {
    let identity = ClientIdentity::confidential(cfg.client_id, cfg.client_secret);
    let mut scratch: Scratch = [0; 512];

    let started = embassy_time::Instant::now();
    let mut tokens = device_flow(http, &mut scratch, identity, cfg.scope).await?;
    info!(
        "device flow: authorized after {} ms",
        started.elapsed().as_millis()
    );

    ping_with_refresh(http, &mut scratch, identity, &mut tokens).await?;
    info!("bearer call ok");

    // Refresh when due (the core says when: shortly before expiry).
    match tokens.poll_timeout() {
        Some(due) => {
            info!(
                "refresh due in {} s",
                due.as_secs().saturating_sub(http.clock.now().as_secs())
            );
            Timer::at(http.clock.instant_of(due)).await;
            refresh(http, &mut scratch, identity, &mut tokens).await?;
            info!("refresh ok");
        }
        None => warn!("no refresh token or no expiry: nothing to refresh"),
    }
    ping_with_refresh(http, &mut scratch, identity, &mut tokens).await?;
    info!("bearer call after refresh ok");

    if let Some((token, token_secret)) = cfg.oauth1_token {
        oauth1_ping(http, &mut scratch, cfg, token, token_secret, random).await?;
        info!("oauth1 call ok");
    }
    Ok(())
}

/// RFC 8628 §3.1–§3.5.
async fn device_flow(
    http: &mut HttpClient<'_>,
    scratch: &mut Scratch,
    identity: ClientIdentity<'_>,
    scope: Option<&str>,
) -> Result<TokenSet<TOKEN_CAP>, AppError> {
    let flow = DeviceFlow::new(identity, scope);
    let body = write_body(scratch, |w| {
        flow.write_request(w);
        Ok(())
    })?;
    let basic = |s: &mut SliceWriter<'_>| {
        identity.write_authorization(s);
    };
    let req = Request {
        method: "POST",
        path: DEVICE_AUTHORIZATION,
        authorization: Some(&basic),
        form: Some(body),
    };
    let mut pending: DevicePending<'_, TOKEN_CAP> = http
        .exchange(&req, |r, now| {
            flow.handle_response(now, r.status(), r.body())
        })
        .await??;
    if !http.clock.is_set() {
        return Err(AppError::NoClock);
    }
    info!(
        "user_code={} verification_uri={}",
        pending.user_code(),
        pending.verification_uri()
    );

    let mut failures = 0;
    loop {
        Timer::at(http.clock.instant_of(pending.poll_timeout())).await;
        let now = http.clock.now();
        let body = write_body(scratch, |w| pending.write_poll_request(now, w))?;
        let req = Request {
            method: "POST",
            path: TOKEN,
            authorization: Some(&basic),
            form: Some(body),
        };
        let outcome = http
            .exchange(&req, |r, now| {
                pending.handle_poll_response(now, r.status(), r.body())
            })
            .await;
        match outcome {
            Ok(Ok(PollOutcome::Authorized(tokens))) => return Ok(tokens),
            Ok(Ok(PollOutcome::Pending)) => {
                info!(
                    "authorization pending; next poll in {} s",
                    pending.interval()
                );
            }
            Ok(Err(e)) => return Err(e.into()),
            Err(e) if failures < POLL_RETRIES => {
                failures += 1;
                warn!("poll failed ({}); trying again", e);
                Timer::after(Duration::from_secs(pending.interval())).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// RFC 6749 §6.
async fn refresh(
    http: &mut HttpClient<'_>,
    scratch: &mut Scratch,
    identity: ClientIdentity<'_>,
    tokens: &mut TokenSet<TOKEN_CAP>,
) -> Result<(), AppError> {
    let body = write_body(scratch, |w| tokens.write_refresh_request(&identity, w))?;
    let basic = |s: &mut SliceWriter<'_>| {
        identity.write_authorization(s);
    };
    let req = Request {
        method: "POST",
        path: TOKEN,
        authorization: Some(&basic),
        form: Some(body),
    };
    http.exchange(&req, |r, now| {
        tokens.handle_refresh_response(now, r.status(), r.body())
    })
    .await??;
    Ok(())
}

/// `GET /api/ping` with the bearer token; the answer's status.
async fn ping(http: &mut HttpClient<'_>, tokens: &TokenSet<TOKEN_CAP>) -> Result<u16, AppError> {
    let bearer = |s: &mut SliceWriter<'_>| tokens.write_bearer(s);
    let req = Request {
        method: "GET",
        path: PING,
        authorization: Some(&bearer),
        form: None,
    };
    Ok(http.exchange(&req, pong_status).await?)
}

/// A ping; on 401 (expired or revoked early) one refresh and one retry.
async fn ping_with_refresh(
    http: &mut HttpClient<'_>,
    scratch: &mut Scratch,
    identity: ClientIdentity<'_>,
    tokens: &mut TokenSet<TOKEN_CAP>,
) -> Result<(), AppError> {
    match ping(http, tokens).await? {
        200 => return Ok(()),
        401 => info!("bearer token refused (401); refreshing"),
        status => return Err(AppError::Resource(status)),
    }
    refresh(http, scratch, identity, tokens).await?;
    match ping(http, tokens).await? {
        200 => Ok(()),
        status => Err(AppError::Resource(status)),
    }
}

/// 200 only with the expected body; anything else is its status (or 502
/// for a 200 with the wrong body).
fn pong_status(r: &latch_core::http::Response<'_>, _now: latch_core::UnixTime) -> u16 {
    match r.status() {
        200 if r.body() == PONG => 200,
        200 => 502,
        s => s,
    }
}

/// `GET /api/ping` signed with OAuth 1.0a HMAC-SHA1 (RFC 5849 §3.1).
async fn oauth1_ping(
    http: &mut HttpClient<'_>,
    scratch: &mut Scratch,
    cfg: &Config<'_>,
    token: &str,
    token_secret: &str,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<(), AppError> {
    // The base string URI is what the server sees: http, Host, path. It
    // and the header share the scratch buffer.
    let (url_buf, header) = scratch.split_at_mut(128);
    let mut w = SliceWriter::new(url_buf);
    for part in ["http://", http.host(), PING] {
        w.put(part.as_bytes());
    }
    let len = w.finish()?;
    let url = core::str::from_utf8(url_buf.get(..len).unwrap_or_default()).unwrap_or_default();
    // 128 bits of nonce, hex: unreserved characters, nothing to encode.
    let mut raw = [0u8; 16];
    random(&mut raw);
    let mut hex = [0u8; 32];
    for (pair, b) in hex.chunks_exact_mut(2).zip(raw) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        pair.copy_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
    let nonce = core::str::from_utf8(&hex).unwrap_or_default();

    let oauth = ProtocolParams {
        token: Some(token),
        timestamp: Some(http.clock.now().as_secs()),
        nonce: Some(nonce),
        ..ProtocolParams::new(cfg.client_id, SignatureMethod::HmacSha1)
    };
    let secrets = Secrets::new(cfg.client_secret, token_secret);
    let len = oauth1::Request::<2>::new("GET", url)?.sign_to_slice(&oauth, &secrets, header)?;
    let value = header.get(..len).unwrap_or_default();
    let write = |s: &mut SliceWriter<'_>| s.put(value);
    let req = Request {
        method: "GET",
        path: PING,
        authorization: Some(&write),
        form: None,
    };
    match http.exchange(&req, pong_status).await? {
        200 => Ok(()),
        status => Err(AppError::Resource(status)),
    }
}
