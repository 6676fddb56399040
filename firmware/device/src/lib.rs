//! # latch-device
//!
//! A device that logs itself in to an OAuth 2.0 server, as a value you
//! feed and poll, in the style of quinn-proto: no I/O, no clock, no heap,
//! no panics on input. Your firmware owns the socket, the timer, the RNG
//! and the flash; [`Device`] says what to do next with [`Device::poll`]:
//!
//! * [`Poll::Save`]: write [`Device::write_record`]'s bytes to flash, then
//!   call [`Device::saved`]. Nothing is sent before a record is saved (or
//!   given up on), so a refresh token the server has just rotated is in
//!   flash before any further request can rotate it again.
//! * [`Poll::Send`]: at `not_before` (if any), write
//!   [`Device::write_request`]'s bytes to a connection to the server, read
//!   the whole answer (`latch_core::http::ResponseReader`) and hand it to
//!   [`Device::handle_response`], which returns what happened
//!   ([`Event`]); a failed exchange goes to [`Device::handle_transport_error`].
//! * [`Poll::Idle`]: logged in and nothing queued: [`Device::call`] a
//!   protected resource, or wait (for [`Device::refresh_due`], say).
//!
//! What it does, each step decided by latch-core:
//!
//! 1. **Discovery** (RFC 8414 §3): one `GET` of the issuer's metadata, the
//!    token and device authorization endpoints kept (and saved); after a
//!    404, a second `GET` of its OpenID Connect Discovery document
//!    ([`Event::MetadataNotFound`]).
//! 2. **Device authorization grant** (RFC 8628): the user code to show
//!    ([`Event::UserCode`]), then polls as `interval` and `slow_down` allow;
//!    a transport failure while polling is retried a few times.
//! 3. **Calls**: [`Call::Bearer`] (RFC 6750 §2.1) — refreshed first when
//!    the core's `TokenSet::needs_refresh` says so, and refreshed and sent
//!    again once on a 401 — and `Call::OAuth1` (RFC 5849 §3, HMAC-SHA1;
//!    feature `oauth1`, on by default: a device that never signs OAuth1
//!    leaves it out and saves about 11 KB of flash, BENCHMARKS.md).
//! 4. **Refresh** (RFC 6749 §6): the new tokens are saved before use; an
//!    `invalid_grant` (the refresh token was revoked, or rotated by an
//!    answer that never reached flash) drops the tokens and starts the
//!    device flow again ([`Event::LoginLost`]).
//!
//! [`Device::restore`] starts from a saved record: with tokens, the device
//! is logged in at once; with endpoints only, it skips discovery.
//!
//! **Saving fails** (a flash error, a full flash): [`Device::saved`] with
//! `false`; the device asks again, up to [`SAVE_ATTEMPTS`] times, then goes
//! on with the tokens in RAM only and [`Device::is_persisted`] turns false
//! — it keeps working, but a reboot before the next successful save needs
//! a new device login (or, within the server's refresh grace window, gets
//! by with the older refresh token in flash).
//!
//! **Capacities** are constants, so the device's RAM is known at build
//! time: tokens and device codes up to [`TOKEN_CAP`] bytes (128: opaque
//! tokens), endpoint URLs up to [`URL_CAP`] (96). A longer value is
//! refused as [`ClientError::Capacity`] and nothing of it is kept. The
//! feature `large-tokens` raises them to 2,048 and 256 for servers that
//! issue signed JWTs (the `Device` grows from 1.1 to 5.0 KB, a record from
//! 476 B to 4.6 KB); give it request and answer buffers to match (the firmware's are
//! 4 and 8 KiB with it).
//!
//! The [`flash`] module (feature `flash`) keeps the record in any
//! `embedded-storage-async` NOR flash through sequential-storage.
//! `examples/login.rs` runs the whole flow against a real server over
//! std's TCP; `latch-firmware` (`firmware/src/app.rs`) is the embassy
//! runner, with TLS.
//!
//! ```
//! use latch_core::UnixTime;
//! use latch_core::http::{ReadStatus, ResponseReader};
//! use latch_device::{Config, Device, Event, Poll};
//!
//! /// Stands in for a TCP (or TLS) connection: sends `request`, answers.
//! fn exchange(request: &[u8], answer: &mut [u8]) -> usize {
//!     let body = if request.starts_with(b"GET /.well-known/") {
//!         r#"{"issuer":"https://as.example","token_endpoint":"https://as.example/token","device_authorization_endpoint":"https://as.example/device"}"#
//!     } else if request.starts_with(b"POST /device ") {
//!         r#"{"device_code":"dc","user_code":"WDJB-MJHT","verification_uri":"https://as.example/device","expires_in":600,"interval":5}"#
//!     } else {
//!         r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}"#
//!     };
//!     let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
//!     answer[..text.len()].copy_from_slice(text.as_bytes());
//!     text.len()
//! }
//!
//! let cfg = Config { issuer: "https://as.example", client_id: "thermostat", client_secret: Some("s3cret"), scope: Some("read") };
//! let mut device = Device::new(&cfg);
//! let (mut now, mut request, mut response, mut flash) = (1000, [0u8; 1024], [0u8; 2048], [0u8; 512]);
//! loop {
//!     match device.poll() {
//!         Poll::Save => {
//!             let n = device.write_record(&mut flash).unwrap(); // to flash
//!             device.saved(n > 0);
//!         }
//!         Poll::Send { not_before } => {
//!             now = not_before.map_or(now, |t| t.as_secs().max(now)); // sleep
//!             let mut random = |b: &mut [u8]| b.fill(7); // the RNG
//!             let n = device.write_request(UnixTime(now), &mut random, &mut request).unwrap();
//!             let mut reader = ResponseReader::new(&mut response);
//!             let got = exchange(&request[..n], reader.spare());
//!             assert_eq!(reader.received(got).unwrap(), ReadStatus::Complete);
//!             match device.handle_response(UnixTime(now), &reader.response().unwrap()).unwrap() {
//!                 Event::UserCode { user_code, verification_uri } => {
//!                     println!("go to {verification_uri} and enter {user_code}")
//!                 }
//!                 _ => {}
//!             }
//!         }
//!         Poll::Idle => break, // logged in, saved: call() something
//!     }
//! }
//! assert!(device.is_logged_in() && device.is_persisted());
//! ```

#![no_std]

#[cfg(test)]
extern crate std;

#[cfg(feature = "flash")]
pub mod flash;
mod record;

pub use record::{RECORD_CAP, TOKEN_CAP, URL_CAP};

use core::fmt;
#[cfg(feature = "oauth1")]
use latch_core::http::{Authorization, ClientRequest};
use latch_core::http::{Method, RequestError, Response};
#[cfg(feature = "oauth1")]
use latch_core::oauth1::{self, ProtocolParams, Secrets, SignError, SignatureMethod};
use latch_core::oauth2::ErrorCode;
use latch_core::oauth2::client::{
    ClientError, ClientIdentity, DeviceFlow, DevicePending, Discovery, Endpoints, PollOutcome,
    TokenSet, WellKnown,
};
use latch_core::url::Url;
use latch_core::{BufferTooSmall, UnixTime};

/// A failed save is asked for again this many times in all.
pub const SAVE_ATTEMPTS: u8 = 3;
/// A transport failure while polling is retried this many times.
pub const POLL_RETRIES: u8 = 3;
/// Room for one request body (and the OAuth1 header), bytes: a refresh
/// token and the grant's other fields (512 with the default capacities).
const SCRATCH: usize = TOKEN_CAP + 384;

/// Who the device is and which server it logs in to.
#[derive(Clone, Copy)]
pub struct Config<'c> {
    /// The issuer (RFC 8414 §2), e.g. `https://auth.example`: discovery
    /// fetches its metadata; every endpoint must be on the same origin,
    /// since the device holds one connection target.
    pub issuer: &'c str,
    /// `client_id`, which is also the OAuth1 consumer key.
    pub client_id: &'c str,
    /// `client_secret` (`client_secret_basic`), also the OAuth1 consumer
    /// secret; `None` for a public client.
    pub client_secret: Option<&'c str>,
    /// Scope asked for in the device authorization request.
    pub scope: Option<&'c str>,
}

impl fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// A call to a protected resource on the issuer's origin.
#[derive(Clone, Copy)]
pub enum Call<'a> {
    /// With the bearer token.
    Bearer {
        /// `GET` or `POST` (without a body).
        method: Method,
        /// The absolute URL.
        url: &'a str,
    },
    /// Signed with OAuth 1.0a HMAC-SHA1, consumer credentials = the
    /// client's id and secret, with these token credentials (feature
    /// `oauth1`, on by default).
    #[cfg(feature = "oauth1")]
    OAuth1 {
        /// `GET` or `POST` (without a body).
        method: Method,
        /// The absolute URL (also the base string URI, RFC 5849 §3.4.1.2).
        url: &'a str,
        /// `oauth_token`.
        token: &'a str,
        /// The token secret.
        token_secret: &'a str,
    },
}

impl fmt::Debug for Call<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Call::Bearer { method, url } => write!(f, "Bearer {} {url}", method.as_str()),
            #[cfg(feature = "oauth1")]
            Call::OAuth1 { method, url, .. } => write!(f, "OAuth1 {} {url}", method.as_str()),
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// Save [`Device::write_record`] to flash, then [`Device::saved`].
    Save,
    /// Send [`Device::write_request`] once `not_before` has come.
    Send {
        /// Not before this time; `None`: now.
        not_before: Option<UnixTime>,
    },
    /// Logged in, nothing to send: [`Device::call`] something.
    Idle,
}

/// What an answer meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'r> {
    /// The issuer has no RFC 8414 metadata (404): its OpenID Connect
    /// Discovery 1.0 document (`openid-configuration`) is fetched next
    /// (RFC 8414 §5).
    MetadataNotFound,
    /// The endpoints are known (and queued for saving).
    Discovered,
    /// Show this to the user (RFC 8628 §3.3).
    UserCode {
        /// The code to enter.
        user_code: &'r str,
        /// Where to enter it.
        verification_uri: &'r str,
    },
    /// Not approved yet; the next poll is at [`Poll::Send`]'s time.
    Pending,
    /// The user approved; the device has tokens.
    LoggedIn,
    /// The tokens were refreshed.
    Refreshed,
    /// The refresh token is no longer good (`invalid_grant`): the tokens
    /// are dropped and the device flow starts again. A queued call stays
    /// queued.
    LoginLost,
    /// The answer to [`Device::call`], whatever its status (a 401 has
    /// already been refreshed and retried once when it could be).
    Answer {
        /// HTTP status.
        status: u16,
        /// The body.
        body: &'r [u8],
    },
}

/// Why a step failed. The device stays usable unless the doc says
/// otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DeviceError {
    /// The server refused (device flow denied or expired, a bad client, a
    /// document that is not metadata…). Ends the login: start a new
    /// [`Device`].
    OAuth(ClientError),
    /// The OAuth1 call could not be signed (a bad URL, say).
    #[cfg(feature = "oauth1")]
    Sign(SignError),
    /// A request did not fit its buffer or was refused by the writer.
    Request(RequestError),
    /// A scratch or record buffer was too small.
    Buffer(BufferTooSmall),
    /// An endpoint or call URL is not on the issuer's origin.
    Origin,
    /// [`Device::write_request`] while [`Device::poll`] says something
    /// else (save first, or nothing to send).
    NothingToSend,
    /// The exchange failed (a transport error outside polling, or polling
    /// failed [`POLL_RETRIES`] times); the caller knows why.
    Transport,
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::OAuth(ClientError::Server {
                code: Some(code), ..
            }) => f.write_str(code.as_str()),
            DeviceError::OAuth(ClientError::Capacity) => {
                f.write_str("a token, code or URL longer than the device holds")
            }
            DeviceError::OAuth(e) => e.fmt(f),
            #[cfg(feature = "oauth1")]
            DeviceError::Sign(e) => e.fmt(f),
            DeviceError::Request(e) => e.fmt(f),
            DeviceError::Buffer(e) => e.fmt(f),
            DeviceError::Origin => f.write_str("URL is not on the issuer's origin"),
            DeviceError::NothingToSend => f.write_str("no request to send now"),
            DeviceError::Transport => f.write_str("the exchange with the server failed"),
        }
    }
}

impl core::error::Error for DeviceError {}

impl From<ClientError> for DeviceError {
    fn from(e: ClientError) -> Self {
        DeviceError::OAuth(e)
    }
}
#[cfg(feature = "oauth1")]
impl From<SignError> for DeviceError {
    fn from(e: SignError) -> Self {
        DeviceError::Sign(e)
    }
}
impl From<RequestError> for DeviceError {
    fn from(e: RequestError) -> Self {
        DeviceError::Request(e)
    }
}
impl From<BufferTooSmall> for DeviceError {
    fn from(e: BufferTooSmall) -> Self {
        DeviceError::Buffer(e)
    }
}

/// Where the login is.
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the state lives once, in the caller's task"
)]
enum Login<'c> {
    /// Fetch the metadata from this document.
    Discover(WellKnown),
    /// Ask for a device code.
    Authorize,
    /// Wait for the user.
    Poll {
        pending: DevicePending<'c, TOKEN_CAP>,
        failures: u8,
        retry_at: Option<UnixTime>,
    },
    /// Logged in.
    Ready(TokenSet<TOKEN_CAP>),
}

/// What goes out next when logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outgoing {
    /// Nothing queued.
    Nothing,
    /// A refresh, then the queued call (if any).
    Refresh,
    /// The queued call.
    Call,
}

/// The device: see the [crate docs](crate).
pub struct Device<'c> {
    cfg: &'c Config<'c>,
    endpoints: Option<Endpoints<URL_CAP>>,
    login: Login<'c>,
    call: Option<Call<'c>>,
    /// The queued call got a 401 and was refreshed for already.
    retried: bool,
    /// The refresh in flight was for a 401 (else because it was due).
    refreshing: bool,
    unsaved: bool,
    save_failures: u8,
    persisted: bool,
}

impl<'c> Device<'c> {
    /// A device with nothing stored: it starts with discovery.
    pub fn new(cfg: &'c Config<'c>) -> Self {
        Device {
            cfg,
            endpoints: None,
            login: Login::Discover(WellKnown::OAuthAuthorizationServer),
            call: None,
            retried: false,
            refreshing: false,
            unsaved: false,
            save_failures: 0,
            persisted: true,
        }
    }

    /// A device resuming from a record [`write_record`](Self::write_record)
    /// wrote (read back from flash). A record that does not parse, or
    /// whose endpoints are not on the issuer's origin, is ignored: the
    /// device starts from discovery. Whether the record was used is
    /// [`is_logged_in`](Self::is_logged_in) / [`endpoints`](Self::endpoints).
    pub fn restore(cfg: &'c Config<'c>, record: &[u8]) -> Self {
        let mut device = Device::new(cfg);
        if let Some((endpoints, tokens)) = record::read(record)
            && device.same_origin_endpoints(&endpoints).is_ok()
        {
            device.endpoints = Some(endpoints);
            device.login = match tokens {
                Some(t) => Login::Ready(t),
                None => Login::Authorize,
            };
        }
        device
    }

    /// The endpoints in use, once known.
    pub fn endpoints(&self) -> Option<&Endpoints<URL_CAP>> {
        self.endpoints.as_ref()
    }

    /// Whether the device holds tokens.
    pub fn is_logged_in(&self) -> bool {
        matches!(self.login, Login::Ready(_))
    }

    /// Whether everything the device holds is in flash (false after
    /// [`SAVE_ATTEMPTS`] failed saves, until the next good one).
    pub fn is_persisted(&self) -> bool {
        self.persisted && !self.unsaved
    }

    /// When the tokens are due for a refresh, if they can be refreshed.
    pub fn refresh_due(&self) -> Option<UnixTime> {
        match &self.login {
            Login::Ready(t) => t.poll_timeout(),
            _ => None,
        }
    }

    /// Queues a call, sent once logged in (replacing one still queued).
    pub fn call(&mut self, call: Call<'c>) {
        self.call = Some(call);
        self.retried = false;
    }

    /// What to do next.
    pub fn poll(&self) -> Poll {
        if self.unsaved {
            return Poll::Save;
        }
        let not_before = match &self.login {
            Login::Poll {
                pending, retry_at, ..
            } => Some(pending.poll_timeout().max(retry_at.unwrap_or(UnixTime(0)))),
            Login::Ready(_) if self.call.is_none() => return Poll::Idle,
            _ => None,
        };
        Poll::Send { not_before }
    }

    /// Writes the record to save into `out` (at least [`RECORD_CAP`]
    /// bytes); its length, 0 when there is nothing to save yet.
    pub fn write_record(&self, out: &mut [u8]) -> Result<usize, DeviceError> {
        let Some(endpoints) = &self.endpoints else {
            return Ok(0);
        };
        let tokens = match &self.login {
            Login::Ready(t) => Some(t),
            _ => None,
        };
        record::write(endpoints, tokens, out).ok_or(DeviceError::Buffer(BufferTooSmall {
            required: RECORD_CAP,
        }))
    }

    /// Whether the record was saved (see the crate docs for what a failure
    /// does).
    pub fn saved(&mut self, ok: bool) {
        if ok {
            self.unsaved = false;
            self.save_failures = 0;
            self.persisted = true;
            return;
        }
        self.save_failures = self.save_failures.saturating_add(1);
        if self.save_failures >= SAVE_ATTEMPTS {
            self.unsaved = false;
            self.save_failures = 0;
            self.persisted = false;
        }
    }

    fn changed(&mut self) {
        self.unsaved = true;
        self.save_failures = 0;
    }

    /// What a logged-in device sends next at `now`.
    fn outgoing(&self, now: UnixTime) -> Outgoing {
        let Login::Ready(tokens) = &self.login else {
            return Outgoing::Nothing;
        };
        match self.call {
            None => Outgoing::Nothing,
            Some(Call::Bearer { .. }) if tokens.needs_refresh(now) => Outgoing::Refresh,
            Some(_) if self.refreshing => Outgoing::Refresh,
            Some(_) => Outgoing::Call,
        }
    }

    /// Writes the next request into `out` for sending at `now`; its
    /// length. `random` fills OAuth1 nonces.
    #[inline(never)]
    pub fn write_request(
        &mut self,
        now: UnixTime,
        random: &mut dyn FnMut(&mut [u8]),
        out: &mut [u8],
    ) -> Result<usize, DeviceError> {
        #[cfg(not(feature = "oauth1"))]
        let _ = random;
        if self.unsaved {
            return Err(DeviceError::NothingToSend);
        }
        let mut scratch = [0u8; SCRATCH];
        let identity = self.identity();
        let req = match (&self.login, &self.endpoints) {
            (Login::Discover(document), _) => Discovery::new(self.cfg.issuer)?
                .of(*document)
                .request(&mut scratch)?,
            (Login::Authorize, Some(e)) => DeviceFlow::new(identity, self.cfg.scope)
                .request(e.device_authorization()?, &mut scratch)?,
            (Login::Poll { pending, .. }, Some(e)) => {
                pending.poll_request(now, e.token()?, &mut scratch)?
            }
            (Login::Ready(tokens), Some(e)) => match self.outgoing(now) {
                Outgoing::Nothing => return Err(DeviceError::NothingToSend),
                Outgoing::Refresh => {
                    self.refreshing = true;
                    tokens.refresh_request(identity, e.token()?, &mut scratch)?
                }
                Outgoing::Call => match self.call {
                    Some(Call::Bearer { method, url }) => {
                        tokens.bearer_request(method, self.on_origin(url)?)
                    }
                    #[cfg(feature = "oauth1")]
                    Some(Call::OAuth1 {
                        method,
                        url,
                        token,
                        token_secret,
                    }) => {
                        let header = self.sign(
                            now,
                            method,
                            url,
                            (token, token_secret),
                            &mut scratch,
                            random,
                        )?;
                        ClientRequest {
                            method,
                            url: self.on_origin(url)?,
                            authorization: Authorization::Value(header),
                            form: None,
                        }
                    }
                    None => return Err(DeviceError::NothingToSend),
                },
            },
            (_, None) => return Err(DeviceError::NothingToSend),
        };
        Ok(req.write_to(out)?.len())
    }

    /// The `Authorization: OAuth …` value for a call (RFC 5849 §3.5.1).
    #[cfg(feature = "oauth1")]
    fn sign<'s>(
        &self,
        now: UnixTime,
        method: Method,
        url: &str,
        (token, token_secret): (&str, &str),
        scratch: &'s mut [u8; SCRATCH],
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<&'s [u8], DeviceError> {
        // 128 bits of nonce, hex: unreserved characters, nothing to encode.
        let mut raw = [0u8; 16];
        random(&mut raw);
        let mut hex = [0u8; 32];
        for (pair, b) in hex.chunks_exact_mut(2).zip(raw) {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            let hi = DIGITS.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
            let lo = DIGITS.get(usize::from(b & 15)).copied().unwrap_or(b'0');
            pair.copy_from_slice(&[hi, lo]);
        }
        let oauth = ProtocolParams {
            token: Some(token),
            timestamp: Some(now.as_secs()),
            nonce: Some(core::str::from_utf8(&hex).unwrap_or_default()),
            ..ProtocolParams::new(self.cfg.client_id, SignatureMethod::HmacSha1)
        };
        let secrets = Secrets::new(self.cfg.client_secret.unwrap_or(""), token_secret);
        let len = oauth1::Request::<2>::new(method.as_str(), url)?
            .sign_to_slice(&oauth, &secrets, scratch)?;
        Ok(scratch.get(..len).unwrap_or_default())
    }

    /// Reads the answer to the request [`write_request`](Self::write_request)
    /// wrote, received at `now`.
    pub fn handle_response<'s>(
        &'s mut self,
        now: UnixTime,
        resp: &'s Response<'_>,
    ) -> Result<Event<'s>, DeviceError> {
        let (status, body) = (resp.status(), resp.body());
        match &mut self.login {
            Login::Discover(document) => {
                let discovery = Discovery::new(self.cfg.issuer)?.of(*document);
                if let Some(next) = discovery.after(status) {
                    *document = next.document();
                    return Ok(Event::MetadataNotFound);
                }
                let endpoints = discovery.handle_response(status, body)?;
                self.same_origin_endpoints(&endpoints)?;
                self.endpoints = Some(endpoints);
                self.login = Login::Authorize;
                self.changed();
                Ok(Event::Discovered)
            }
            Login::Authorize => self.on_device_authorization(now, status, body),
            Login::Poll { .. } => self.on_poll(now, status, body),
            Login::Ready(_) if self.refreshing => self.on_refresh(now, status, body),
            Login::Ready(tokens) => {
                let bearer = matches!(self.call, Some(Call::Bearer { .. }));
                if status == 401 && bearer && !self.retried && tokens.refresh_token().is_some() {
                    // RFC 6750 §3.1 invalid_token: refresh once, send again.
                    self.retried = true;
                    self.refreshing = true;
                    return Ok(Event::Pending);
                }
                self.call = None;
                self.retried = false;
                Ok(Event::Answer { status, body })
            }
        }
    }

    #[inline(never)]
    fn on_device_authorization(
        &mut self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<Event<'_>, DeviceError> {
        let pending =
            DeviceFlow::new(self.identity(), self.cfg.scope).handle_response(now, status, body)?;
        self.login = Login::Poll {
            pending,
            failures: 0,
            retry_at: None,
        };
        match &self.login {
            Login::Poll { pending, .. } => Ok(Event::UserCode {
                user_code: pending.user_code(),
                verification_uri: pending.verification_uri(),
            }),
            _ => Ok(Event::Pending),
        }
    }

    #[inline(never)]
    fn on_poll<'r>(
        &mut self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<Event<'r>, DeviceError> {
        let Login::Poll {
            pending, retry_at, ..
        } = &mut self.login
        else {
            return Ok(Event::Pending);
        };
        match pending.handle_poll_response(now, status, body)? {
            PollOutcome::Pending => {
                *retry_at = None;
                Ok(Event::Pending)
            }
            PollOutcome::Authorized(tokens) => {
                self.login = Login::Ready(tokens);
                self.changed();
                Ok(Event::LoggedIn)
            }
        }
    }

    #[inline(never)]
    fn on_refresh<'r>(
        &mut self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<Event<'r>, DeviceError> {
        self.refreshing = false;
        let Login::Ready(tokens) = &mut self.login else {
            return Ok(Event::Pending);
        };
        match tokens.handle_refresh_response(now, status, body) {
            Ok(()) => {
                self.changed();
                Ok(Event::Refreshed)
            }
            Err(ClientError::Server {
                code: Some(ErrorCode::InvalidGrant),
                ..
            }) => {
                self.login = Login::Authorize;
                self.retried = false;
                self.changed();
                Ok(Event::LoginLost)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The exchange failed on the way at `now`: polling tries again a few
    /// times, an interval later; any other step returns the error (and may
    /// be tried again by calling [`poll`](Self::poll)).
    pub fn handle_transport_error(&mut self, now: UnixTime) -> Result<(), DeviceError> {
        self.refreshing = false;
        match &mut self.login {
            Login::Poll {
                pending,
                failures,
                retry_at,
            } if *failures < POLL_RETRIES => {
                *failures = failures.saturating_add(1);
                *retry_at = Some(now.saturating_add(pending.interval()));
                Ok(())
            }
            _ => Err(DeviceError::Transport),
        }
    }

    /// `url`, split, if it is on the issuer's origin (scheme, host, port;
    /// RFC 6454 §4): the device holds one connection target, so it sends
    /// nothing anywhere else.
    fn on_origin<'u>(&self, url: &'u str) -> Result<Url<'u>, DeviceError> {
        let issuer = Url::parse(self.cfg.issuer).map_err(|_| ClientError::InvalidUrl)?;
        let url = Url::parse(url).map_err(|_| DeviceError::Origin)?;
        let same = url.scheme == issuer.scheme
            && url.host.eq_ignore_ascii_case(issuer.host)
            && url.effective_port() == issuer.effective_port();
        if same {
            Ok(url)
        } else {
            Err(DeviceError::Origin)
        }
    }

    fn same_origin_endpoints(&self, e: &Endpoints<URL_CAP>) -> Result<(), DeviceError> {
        let (token, device) = e.as_text();
        self.on_origin(token)?;
        self.on_origin(device)?;
        Ok(())
    }

    fn identity(&self) -> ClientIdentity<'c> {
        ClientIdentity {
            client_id: self.cfg.client_id,
            client_secret: self.cfg.client_secret,
        }
    }
}

#[cfg(test)]
mod tests;
