//! What the device does, the same on Linux and on the MCU: a thin runner
//! around [`latch_device::Device`], which makes every decision. One loop
//! does what the device polls for — save the record to flash, or sleep
//! until a request may go, send it, feed back the answer — and a short
//! script queues the calls:
//!
//! 1. `GET` the resource (default `/api/ping`) with the bearer token; the
//!    answer must be `{"ping":"pong"}`.
//! 2. Sleep until the tokens are due for a refresh, then the same call:
//!    the device refreshes first (and saves the new tokens before the
//!    call goes out).
//! 3. The same call signed with OAuth 1.0a, with the configured token
//!    credentials (feature `oauth1`, in the default build).
//!
//! Before that, whatever the device needs: discovery and the device flow on
//! a first boot, nothing on a boot with a saved login.

use crate::config::Config;
use crate::http::{HttpClient, NetError};
use embassy_time::Timer;
use embedded_storage_async::nor_flash::NorFlash;
use latch_core::http::{HttpError, Method};
use latch_device::flash::TokenFlash;
use latch_device::{Call, Device, DeviceError, Event, Poll, RECORD_CAP};

/// What the resource answers.
const PONG: &[u8] = br#"{"ping":"pong"}"#;

/// Why the device gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(target_os = "none", derive(defmt::Format))]
pub enum AppError {
    /// The network or HTTP failed.
    Net(NetError),
    /// The device refused or the server said no.
    Device(DeviceError),
    /// A protected resource answered with this status, or not with pong.
    Resource(u16),
    /// The device's clock is not set (no `Date` from the server).
    NoClock,
}

impl core::fmt::Display for AppError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AppError::Net(e) => e.fmt(f),
            AppError::Device(e) => e.fmt(f),
            AppError::Resource(status) => write!(f, "protected resource answered HTTP {status}"),
            AppError::NoClock => f.write_str("clock not set"),
        }
    }
}

impl From<DeviceError> for AppError {
    fn from(e: DeviceError) -> Self {
        AppError::Device(e)
    }
}

/// The device and what it runs on.
struct Runner<'r, 'c, 'h, S: NorFlash> {
    device: Device<'c>,
    http: &'r mut HttpClient<'h>,
    store: &'r mut TokenFlash<S>,
    random: &'r mut dyn FnMut(&mut [u8]),
    /// The last answer was a refresh (for the power-cut test hook).
    just_refreshed: bool,
}

impl<S: NorFlash> Runner<'_, '_, '_, S> {
    /// Runs the device until it is idle; the answer to the queued call, if
    /// one was queued.
    async fn until_idle(&mut self) -> Result<Option<u16>, AppError> {
        let mut answer = None;
        loop {
            match self.device.poll() {
                Poll::Idle => return Ok(answer),
                Poll::Save => self.save().await,
                Poll::Send { not_before } => {
                    if let Some(t) = not_before {
                        Timer::at(self.http.clock.instant_of(t)).await;
                    }
                    if let Some(status) = self.exchange().await? {
                        answer = Some(status);
                    }
                }
            }
        }
    }

    /// Saves the record; a failure is reported to the device, which asks
    /// again or goes on unpersisted.
    async fn save(&mut self) {
        #[cfg(target_os = "linux")]
        if core::mem::take(&mut self.just_refreshed) {
            crate::linux::power_cut_hook();
        }
        let mut record = [0u8; RECORD_CAP];
        let ok = match self.device.write_record(&mut record) {
            Ok(n) => match record.get(..n) {
                Some(r) => self.store.save(r).await.is_ok(),
                None => false,
            },
            Err(_) => false,
        };
        if !ok {
            warn!("saving the login to flash failed");
        }
        self.device.saved(ok);
        if !self.device.is_persisted() {
            warn!("login not persisted: a reboot needs a new device login");
        }
    }

    /// One request and its answer; the status of a call's answer.
    async fn exchange(&mut self) -> Result<Option<u16>, AppError> {
        let now = self.http.clock.now();
        let len = self
            .device
            .write_request(now, self.random, self.http.request_buf())?;
        let mut outcome: Result<Option<u16>, AppError> =
            Err(AppError::Net(NetError::Http(HttpError::Truncated)));
        let device = &mut self.device;
        let just_refreshed = &mut self.just_refreshed;
        let sent = self
            .http
            .send(len, &mut *self.random, &mut |resp, now| {
                outcome = on_answer(device, resp, now, just_refreshed);
            })
            .await;
        match sent {
            Ok(()) => {
                if !self.http.clock.is_set() {
                    return Err(AppError::NoClock);
                }
                outcome
            }
            Err(e) => match self.device.handle_transport_error(self.http.clock.now()) {
                Ok(()) => {
                    warn!("poll failed ({}); trying again", e);
                    Ok(None)
                }
                Err(_) => Err(AppError::Net(e)),
            },
        }
    }
}

/// Feeds an answer to the device and logs what it meant.
#[inline(never)]
fn on_answer(
    device: &mut Device<'_>,
    resp: &latch_core::http::Response<'_>,
    now: latch_core::UnixTime,
    just_refreshed: &mut bool,
) -> Result<Option<u16>, AppError> {
    *just_refreshed = false;
    match device.handle_response(now, resp)? {
        Event::MetadataNotFound => info!("no RFC 8414 metadata; trying openid-configuration"),
        Event::Discovered => info!("endpoints discovered"),
        Event::UserCode {
            user_code,
            verification_uri,
        } => info!(
            "user_code={} verification_uri={}",
            user_code, verification_uri
        ),
        Event::Pending => {}
        Event::LoggedIn => info!(
            "device flow: authorized, {} ms after start",
            embassy_time::Instant::now().as_millis()
        ),
        Event::Refreshed => {
            info!("refresh ok");
            *just_refreshed = true;
        }
        Event::LoginLost => info!("stored login refused (invalid_grant); device flow again"),
        Event::Answer { status, body } => {
            if status == 200 && body != PONG {
                return Err(AppError::Resource(502));
            }
            return Ok(Some(status));
        }
    }
    Ok(None)
}

/// Runs the steps to the end: `Ok` when all succeeded. `random` fills a
/// buffer from the platform's RNG; `store` holds the saved login.
pub async fn run<S: NorFlash>(
    http: &mut HttpClient<'_>,
    store: &mut TokenFlash<S>,
    cfg: &Config<'_>,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<(), AppError> {
    let device = match store.load().await {
        Ok(Some(saved)) => Device::restore(&cfg.device, saved),
        Ok(None) => Device::new(&cfg.device),
        Err(_) => {
            warn!("flash unreadable; starting without a saved login");
            Device::new(&cfg.device)
        }
    };
    match (device.is_logged_in(), device.endpoints().is_some()) {
        (true, _) => info!("resumed: logged in with the stored tokens"),
        (false, true) => info!("resumed: stored endpoints, no login"),
        (false, false) => info!("no stored login"),
    }
    let started = embassy_time::Instant::now();
    let mut r = Runner {
        device,
        http,
        store,
        random,
        just_refreshed: false,
    };
    r.until_idle().await?;

    let ping = Call::Bearer {
        method: Method::Get,
        url: cfg.resource,
    };
    r.device.call(ping);
    expect_pong(r.until_idle().await?)?;
    info!("bearer call ok");
    match r.device.refresh_due() {
        Some(due) => {
            let now = r.http.clock.now();
            info!(
                "refresh due in {} s",
                due.as_secs().saturating_sub(now.as_secs())
            );
            Timer::at(r.http.clock.instant_of(due)).await;
            r.device.call(ping);
            expect_pong(r.until_idle().await?)?;
            info!("bearer call after refresh ok");
        }
        None => warn!("no refresh token or no expiry: nothing to refresh"),
    }
    #[cfg(feature = "oauth1")]
    if let Some((token, token_secret)) = cfg.oauth1_token {
        r.device.call(Call::OAuth1 {
            method: Method::Get,
            url: cfg.resource,
            token,
            token_secret,
        });
        expect_pong(r.until_idle().await?)?;
        info!("oauth1 call ok");
    }
    #[cfg(not(feature = "oauth1"))]
    if cfg.oauth1_token.is_some() {
        warn!("built without the oauth1 feature: no OAuth1-signed call");
    }
    info!("all steps in {} ms", started.elapsed().as_millis());
    Ok(())
}

fn expect_pong(status: Option<u16>) -> Result<(), AppError> {
    match status {
        Some(200) => Ok(()),
        Some(s) => Err(AppError::Resource(s)),
        None => Err(AppError::Resource(0)),
    }
}
