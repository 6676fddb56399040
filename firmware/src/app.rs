//! What the device does, the same on Linux and on the MCU, as a state
//! machine in the core's style: [`Device::poll_timeout`] says when the next
//! request may go, [`Device::prepare`] writes it, [`Device::handle_response`]
//! reads the answer and moves on. [`run`] is the only async code: one
//! sleep and one HTTP exchange per step. Every protocol decision is
//! latch-core's; this module only sequences them.
//!
//! 1. The OAuth 2.0 device authorization grant (RFC 8628): show
//!    `user_code` and `verification_uri`, poll the token endpoint as the
//!    core's [`DevicePending`] allows (`interval`, `slow_down`). A
//!    transport failure while polling is retried, a few times.
//! 2. `GET /api/ping` with the bearer token (RFC 6750 §2.1); the answer
//!    must be `{"ping":"pong"}`.
//! 3. A refresh (RFC 6749 §6) when the core's [`TokenSet::poll_timeout`]
//!    says it is due (shortly before expiry) — or at once when a bearer
//!    call gets 401 — then `GET /api/ping` again.
//! 4. `GET /api/ping` signed with OAuth 1.0a HMAC-SHA1 (RFC 5849 §3) with
//!    the consumer credentials (the client's id and secret) and the token
//!    credentials from the configuration.
//!
//! Endpoint paths are Latch's (DESIGN.md, and the server's RFC 8414
//! metadata); a device for another server would read them from its
//! metadata document instead.

use crate::config::Config;
use crate::http::{HttpClient, NetError, Request};
use embassy_time::Timer;
use latch_core::http::{HttpError, Response};
use latch_core::oauth1::{self, ProtocolParams, Secrets, SignError, SignatureMethod};
use latch_core::oauth2::client::{
    ClientError, ClientIdentity, DeviceFlow, DevicePending, PollOutcome, TokenSet,
};
use latch_core::{BufferTooSmall, Sink, SliceWriter, UnixTime};

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
const POLL_RETRIES: u8 = 3;

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
    /// A request did not fit its buffer.
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

/// Which bearer call this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// The first, right after the device flow.
    First,
    /// The one after the refresh.
    AfterRefresh,
}

/// Where the device is.
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the state lives once, in the task"
)]
enum State<'c> {
    /// Ask for a device code.
    Authorize,
    /// Wait for the user, polling.
    Poll {
        pending: DevicePending<'c, TOKEN_CAP>,
        failures: u8,
        /// After a transport failure: not before this.
        retry_at: Option<UnixTime>,
    },
    /// A bearer call.
    Ping {
        tokens: TokenSet<TOKEN_CAP>,
        call: Call,
        refreshed_on_401: bool,
    },
    /// A refresh, at `due` (or at once); then the bearer call `then`.
    Refresh {
        tokens: TokenSet<TOKEN_CAP>,
        due: Option<UnixTime>,
        then: Call,
    },
    /// The OAuth1-signed call, with these token credentials.
    OAuth1 {
        token: &'c str,
        token_secret: &'c str,
    },
    /// Every step succeeded.
    Done,
}

/// The device's job as a value: fed answers, asked for requests.
pub struct Device<'c> {
    cfg: &'c Config<'c>,
    identity: ClientIdentity<'c>,
    state: State<'c>,
}

impl<'c> Device<'c> {
    /// A device about to start the device flow.
    pub fn new(cfg: &'c Config<'c>) -> Self {
        Device {
            cfg,
            identity: ClientIdentity::confidential(cfg.client_id, cfg.client_secret),
            state: State::Authorize,
        }
    }

    /// Whether every step has succeeded.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// When the next request may be sent; `None` for now.
    pub fn poll_timeout(&self) -> Option<UnixTime> {
        match &self.state {
            State::Poll {
                pending, retry_at, ..
            } => Some(pending.poll_timeout().max(retry_at.unwrap_or(UnixTime(0)))),
            State::Refresh { due, .. } => *due,
            _ => None,
        }
    }

    /// Hands the next request to `out` (the HTTP client's `prepare`, which
    /// writes it into its buffer). `host` is the server's authority as sent
    /// in `Host`; `random` fills OAuth1 nonces.
    #[inline(never)]
    pub fn prepare(
        &self,
        now: UnixTime,
        host: &str,
        random: &mut dyn FnMut(&mut [u8]),
        out: &mut dyn FnMut(&Request<'_>) -> Result<(), NetError>,
    ) -> Result<(), AppError> {
        let mut scratch = [0u8; 512];
        let identity = self.identity;
        let basic = |s: &mut SliceWriter<'_>| {
            identity.write_authorization(s);
        };
        let post = |body| Request {
            method: "POST",
            path: TOKEN,
            authorization: Some(&basic),
            form: Some(body),
        };
        match &self.state {
            State::Authorize => {
                let flow = DeviceFlow::new(identity, self.cfg.scope);
                let body = write_body(&mut scratch, |w| {
                    flow.write_request(w);
                    Ok(())
                })?;
                out(&Request {
                    path: DEVICE_AUTHORIZATION,
                    ..post(body)
                })?;
            }
            State::Poll { pending, .. } => {
                let body = write_body(&mut scratch, |w| pending.write_poll_request(now, w))?;
                out(&post(body))?;
            }
            State::Refresh { tokens, .. } => {
                let body =
                    write_body(&mut scratch, |w| tokens.write_refresh_request(&identity, w))?;
                out(&post(body))?;
            }
            State::Ping { tokens, .. } => {
                let bearer = |s: &mut SliceWriter<'_>| tokens.write_bearer(s);
                out(&get(&bearer))?;
            }
            State::OAuth1 {
                token,
                token_secret,
            } => {
                let header =
                    self.sign_ping(now, host, (token, token_secret), &mut scratch, random)?;
                let write = |s: &mut SliceWriter<'_>| s.put(header);
                out(&get(&write))?;
            }
            State::Done => return Err(NetError::Request.into()),
        }
        Ok(())
    }

    /// The OAuth1 `Authorization` header for `GET /api/ping` (RFC 5849
    /// §3.1), written into `scratch`.
    fn sign_ping<'s>(
        &self,
        now: UnixTime,
        host: &str,
        (token, token_secret): (&str, &str),
        scratch: &'s mut [u8; 512],
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<&'s [u8], AppError> {
        // The base string URI is what the server sees: http, Host, path.
        // It and the header share the scratch buffer.
        let (url_buf, header) = scratch.split_at_mut(128);
        let mut w = SliceWriter::new(url_buf);
        for part in ["http://", host, PING] {
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
        let oauth = ProtocolParams {
            token: Some(token),
            timestamp: Some(now.as_secs()),
            nonce: Some(core::str::from_utf8(&hex).unwrap_or_default()),
            ..ProtocolParams::new(self.cfg.client_id, SignatureMethod::HmacSha1)
        };
        let secrets = Secrets::new(self.cfg.client_secret, token_secret);
        let len = oauth1::Request::<2>::new("GET", url)?.sign_to_slice(&oauth, &secrets, header)?;
        Ok(header.get(..len).unwrap_or_default())
    }

    /// Reads the answer to the request [`prepare`](Self::prepare) wrote,
    /// received at `now`, and moves to the next step. Each state has its
    /// own out-of-line handler: a state is up to a kilobyte, and the MCU's
    /// stack then holds the temporaries of one handler, not of all.
    pub fn handle_response(&mut self, now: UnixTime, resp: &Response<'_>) -> Result<(), AppError> {
        let (status, body) = (resp.status(), resp.body());
        match &self.state {
            State::Authorize => self.on_device_authorization(now, status, body),
            State::Poll { .. } => self.on_poll(now, status, body),
            State::Ping { .. } => self.on_ping(now, status, body),
            State::Refresh { .. } => self.on_refresh(now, status, body),
            State::OAuth1 { .. } if status == 200 && body == PONG => {
                info!("oauth1 call ok");
                self.state = State::Done;
                Ok(())
            }
            State::OAuth1 { .. } => Err(AppError::Resource(status)),
            State::Done => Ok(()),
        }
    }

    #[inline(never)]
    fn on_device_authorization(
        &mut self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<(), AppError> {
        let pending =
            DeviceFlow::new(self.identity, self.cfg.scope).handle_response(now, status, body)?;
        info!(
            "user_code={} verification_uri={}",
            pending.user_code(),
            pending.verification_uri()
        );
        self.state = State::Poll {
            pending,
            failures: 0,
            retry_at: None,
        };
        Ok(())
    }

    #[inline(never)]
    fn on_poll(&mut self, now: UnixTime, status: u16, body: &[u8]) -> Result<(), AppError> {
        let State::Poll {
            pending, retry_at, ..
        } = &mut self.state
        else {
            return Ok(());
        };
        match pending.handle_poll_response(now, status, body)? {
            PollOutcome::Pending => {
                *retry_at = None;
                info!(
                    "authorization pending; next poll in {} s",
                    pending.interval()
                );
            }
            PollOutcome::Authorized(tokens) => {
                info!(
                    "device flow: authorized, {} ms after start",
                    embassy_time::Instant::now().as_millis()
                );
                self.state = State::Ping {
                    tokens,
                    call: Call::First,
                    refreshed_on_401: false,
                };
            }
        }
        Ok(())
    }

    #[inline(never)]
    fn on_ping(&mut self, now: UnixTime, status: u16, body: &[u8]) -> Result<(), AppError> {
        let State::Ping {
            tokens,
            call,
            refreshed_on_401,
        } = &self.state
        else {
            return Ok(());
        };
        let pong = status == 200 && body == PONG;
        match (status, *call) {
            (200, Call::First) if pong => {
                info!("bearer call ok");
                match tokens.poll_timeout() {
                    Some(due) => {
                        info!(
                            "refresh due in {} s",
                            due.as_secs().saturating_sub(now.as_secs())
                        );
                        self.start_refresh(Some(due), Call::AfterRefresh);
                    }
                    None => {
                        warn!("no refresh token or no expiry: nothing to refresh");
                        self.state = self.after_bearer_calls();
                    }
                }
            }
            (200, Call::AfterRefresh) if pong => {
                info!("bearer call after refresh ok");
                self.state = self.after_bearer_calls();
            }
            (401, then) if !*refreshed_on_401 && tokens.refresh_token().is_some() => {
                info!("bearer token refused (401); refreshing");
                self.start_refresh(None, then);
            }
            (200, _) => return Err(AppError::Resource(502)),
            _ => return Err(AppError::Resource(status)),
        }
        Ok(())
    }

    #[inline(never)]
    fn on_refresh(&mut self, now: UnixTime, status: u16, body: &[u8]) -> Result<(), AppError> {
        let State::Refresh { tokens, then, .. } = &mut self.state else {
            return Ok(());
        };
        tokens.handle_refresh_response(now, status, body)?;
        info!("refresh ok");
        let then = *then;
        if let State::Refresh { tokens, .. } = core::mem::replace(&mut self.state, State::Done) {
            self.state = State::Ping {
                tokens,
                call: then,
                refreshed_on_401: true,
            };
        }
        Ok(())
    }

    /// Ping → Refresh, moving the tokens once.
    fn start_refresh(&mut self, due: Option<UnixTime>, then: Call) {
        if let State::Ping { tokens, .. } = core::mem::replace(&mut self.state, State::Done) {
            self.state = State::Refresh { tokens, due, then };
        }
    }

    /// The OAuth1 call if the device has token credentials, else done.
    fn after_bearer_calls(&self) -> State<'c> {
        match self.cfg.oauth1_token {
            Some((token, token_secret)) => State::OAuth1 {
                token,
                token_secret,
            },
            None => State::Done,
        }
    }

    /// The exchange failed on the way at `now`: polling tries again a few
    /// times, an interval later; any other step gives up.
    pub fn handle_transport_error(&mut self, now: UnixTime, e: NetError) -> Result<(), AppError> {
        match &mut self.state {
            State::Poll {
                pending,
                failures,
                retry_at,
            } if *failures < POLL_RETRIES => {
                *failures += 1;
                *retry_at = Some(now.saturating_add(pending.interval()));
                warn!("poll failed ({}); trying again", e);
                Ok(())
            }
            _ => Err(e.into()),
        }
    }
}

/// A `GET /api/ping` with this `Authorization` header value.
fn get<'r>(authorization: &'r dyn Fn(&mut SliceWriter<'_>)) -> Request<'r> {
    Request {
        method: "GET",
        path: PING,
        authorization: Some(authorization),
        form: None,
    }
}

/// Writes a body into `scratch`; the bytes written.
fn write_body(
    scratch: &mut [u8; 512],
    f: impl FnOnce(&mut SliceWriter<'_>) -> Result<(), ClientError>,
) -> Result<&[u8], AppError> {
    let mut w = SliceWriter::new(scratch);
    f(&mut w)?;
    let len = w.finish()?;
    Ok(scratch.get(..len).unwrap_or_default())
}

/// Runs the steps to the end: `Ok` when all succeeded. `random` fills a
/// buffer from the platform's RNG.
pub async fn run(
    http: &mut HttpClient<'_>,
    cfg: &Config<'_>,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<(), AppError> {
    let mut device = Device::new(cfg);
    let started = embassy_time::Instant::now();
    while !device.is_done() {
        if let Some(t) = device.poll_timeout() {
            Timer::at(http.clock.instant_of(t)).await;
        }
        let host = http.host();
        device.prepare(http.clock.now(), host, random, &mut |req| http.prepare(req))?;
        let mut outcome = Err(AppError::Net(NetError::Http(HttpError::Truncated)));
        let sent = http
            .send(&mut |resp, now| outcome = device.handle_response(now, resp))
            .await;
        match sent {
            Ok(()) => outcome?,
            Err(e) => device.handle_transport_error(http.clock.now(), e)?,
        }
        if !http.clock.is_set() {
            return Err(AppError::NoClock);
        }
    }
    info!("all steps in {} ms", started.elapsed().as_millis());
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The device's steps fed canned answers on a virtual clock: what it
    //! sends, when, and where it goes next.
    use super::*;
    use crate::config::parse_endpoint;
    use latch_core::http::{ReadStatus, ResponseReader};
    use latch_core::oauth2::ErrorCode;

    const HOST: &str = "192.168.69.1:8080";
    /// RFC 6749's example client (`Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW`).
    fn cfg() -> Config<'static> {
        Config {
            server: parse_endpoint(HOST).unwrap(),
            host: HOST,
            client_id: "s6BhdRkqt3",
            client_secret: "gX1fBat3bV",
            scope: Some("read"),
            oauth1_token: Some(("nnch734d00sl2jdk", "pfkkdhi9sl3r4s00")),
        }
    }

    /// The request the device sends at `now`, as text.
    fn request(d: &Device<'_>, now: u64) -> String {
        let mut text = String::new();
        let mut random = |b: &mut [u8]| b.fill(7);
        d.prepare(UnixTime(now), HOST, &mut random, &mut |req| {
            let mut buf = [0u8; 1024];
            let n = crate::http::write_request(&mut buf, HOST, req)?;
            text = String::from_utf8(buf[..n].to_vec()).unwrap();
            Ok(())
        })
        .unwrap();
        text
    }

    /// Feeds the device an HTTP answer received at `now`.
    fn answer(d: &mut Device<'_>, now: u64, status: &str, body: &str) -> Result<(), AppError> {
        let raw = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let mut buf = [0u8; 2048];
        let mut r = ResponseReader::new(&mut buf);
        r.spare()[..raw.len()].copy_from_slice(raw.as_bytes());
        assert_eq!(r.received(raw.len()).unwrap(), ReadStatus::Complete);
        d.handle_response(UnixTime(now), &r.response().unwrap())
    }

    const DEVICE: &str = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800,"interval":5}"#;
    const TOKENS: &str = r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}"#;
    const REFRESHED: &str = r#"{"access_token":"mF_9.B5f-4.1JqM","token_type":"Bearer","expires_in":3600,"refresh_token":"8xLOxBtZp8"}"#;
    const PONG_BODY: &str = r#"{"ping":"pong"}"#;

    #[test]
    fn every_step_in_order() {
        let cfg = cfg();
        let mut d = Device::new(&cfg);
        assert_eq!(d.poll_timeout(), None);
        let r = request(&d, 1000);
        assert!(r.starts_with("POST /oauth2/device_authorization HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\n"), "{r}");
        assert!(
            r.ends_with("\r\n\r\nclient_id=s6BhdRkqt3&scope=read"),
            "{r}"
        );

        // RFC 8628 §3.2: poll after `interval`; slow_down adds 5 s.
        answer(&mut d, 1000, "200 OK", DEVICE).unwrap();
        assert_eq!(d.poll_timeout(), Some(UnixTime(1005)));
        let r = request(&d, 1005);
        assert!(r.starts_with("POST /oauth2/token HTTP/1.1\r\n"), "{r}");
        assert!(r.ends_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=s6BhdRkqt3"), "{r}");
        answer(&mut d, 1005, "400 Bad Request", r#"{"error":"slow_down"}"#).unwrap();
        assert_eq!(d.poll_timeout(), Some(UnixTime(1015)));
        answer(&mut d, 1015, "200 OK", TOKENS).unwrap();

        // A bearer call, refused: one refresh at once, then the call again.
        assert_eq!(d.poll_timeout(), None);
        let r = request(&d, 1016);
        assert!(r.starts_with("GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Bearer 2YotnFZFEjr1zCsicMWpAA\r\n"), "{r}");
        answer(&mut d, 1016, "401 Unauthorized", "").unwrap();
        assert_eq!(d.poll_timeout(), None);
        let r = request(&d, 1016);
        assert!(
            r.ends_with("\r\n\r\ngrant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA"),
            "{r}"
        );
        answer(&mut d, 1016, "200 OK", REFRESHED).unwrap();
        assert!(request(&d, 1017).contains("Authorization: Bearer mF_9.B5f-4.1JqM\r\n"));
        answer(&mut d, 1017, "200 OK", PONG_BODY).unwrap();

        // The refresh is due 60 s before expiry; then the second call.
        assert_eq!(d.poll_timeout(), Some(UnixTime(1016 + 3600 - 60)));
        assert!(request(&d, 4556).ends_with("refresh_token=8xLOxBtZp8"));
        answer(&mut d, 4556, "200 OK", TOKENS).unwrap();
        answer(&mut d, 4557, "200 OK", PONG_BODY).unwrap();

        // The OAuth1 call; its signature computed independently with
        // Python's hmac over the RFC 5849 §3.4.1 base string.
        let r = request(&d, 5000);
        assert!(r.starts_with("GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: OAuth oauth_consumer_key=\"s6BhdRkqt3\", oauth_nonce=\"07070707070707070707070707070707\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"5000\", oauth_token=\"nnch734d00sl2jdk\", oauth_signature=\"CDxKdKUouZlyjCsI26kHQhAxlCA%3D\"\r\n"), "{r}");
        assert!(!d.is_done());
        answer(&mut d, 5000, "200 OK", PONG_BODY).unwrap();
        assert!(d.is_done());
    }

    #[test]
    fn refusals_end_the_run() {
        let cfg = cfg();
        let mut d = Device::new(&cfg);
        answer(&mut d, 0, "200 OK", DEVICE).unwrap();
        assert_eq!(
            answer(&mut d, 5, "400 Bad Request", r#"{"error":"access_denied"}"#),
            Err(AppError::OAuth(ClientError::Server {
                status: 400,
                code: Some(ErrorCode::AccessDenied)
            }))
        );

        // A second 401 after the refresh is not refreshed again; a 200
        // that is not pong is not success.
        let mut d = Device::new(&cfg);
        answer(&mut d, 0, "200 OK", DEVICE).unwrap();
        answer(&mut d, 5, "200 OK", TOKENS).unwrap();
        answer(&mut d, 6, "401 Unauthorized", "").unwrap();
        answer(&mut d, 6, "200 OK", REFRESHED).unwrap();
        assert_eq!(
            answer(&mut d, 7, "401 Unauthorized", ""),
            Err(AppError::Resource(401))
        );
        let mut d = Device::new(&cfg);
        answer(&mut d, 0, "200 OK", DEVICE).unwrap();
        answer(&mut d, 5, "200 OK", TOKENS).unwrap();
        assert_eq!(
            answer(&mut d, 6, "200 OK", "{}"),
            Err(AppError::Resource(502))
        );
    }

    #[test]
    fn failed_polls_are_retried_an_interval_later_a_few_times() {
        let cfg = cfg();
        let mut d = Device::new(&cfg);
        answer(&mut d, 0, "200 OK", DEVICE).unwrap();
        for i in 0..3u64 {
            let now = 5 + 5 * i;
            d.handle_transport_error(UnixTime(now), NetError::Io)
                .unwrap();
            assert_eq!(d.poll_timeout(), Some(UnixTime(now + 5)));
        }
        assert_eq!(
            d.handle_transport_error(UnixTime(20), NetError::Io),
            Err(AppError::Net(NetError::Io))
        );
        // Outside polling, a transport failure ends the run at once.
        let mut d = Device::new(&cfg);
        assert_eq!(
            d.handle_transport_error(UnixTime(0), NetError::Connect),
            Err(AppError::Net(NetError::Connect))
        );
    }
}
