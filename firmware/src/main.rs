//! # latch-firmware
//!
//! Latch's embassy shell: a device that logs itself in. The same crate
//! builds for Linux, over a TAP device (embassy's std platform and
//! embassy-net-tuntap), and for an STM32F767ZI (NUCLEO-F767ZI: on-chip
//! Ethernet MAC, DHCP), choosing by target:
//!
//! ```sh
//! cargo build                                            # Linux, TAP
//! cargo build --release --target thumbv7em-none-eabihf   # the MCU
//! cargo build --release --target thumbv7em-none-eabihf --no-default-features  # size baseline
//! cargo build --release --target thumbv7em-none-eabihf --no-default-features --features oauth  # no TLS
//! ```
//!
//! What the device does is [`app`], a thin runner around the sans-IO
//! `latch_device::Device` (`firmware/device`): discovery, the OAuth 2.0
//! device flow, a bearer call, a refresh, an OAuth1-signed call, and the
//! login kept in flash (sequential-storage) so a reboot resumes it — all
//! decided by latch-device and latch-core — over TLS 1.3 ([`tls`],
//! embedded-tls) when the issuer is `https`. No heap: every buffer is in
//! [`buffers::Buffers`] or in the task's future, which embassy keeps in a
//! static task pool.
//!
//! Without the `oauth` feature the firmware is the size baseline: the same
//! network stack, buffers and one plain TCP request, no latch-core.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

// First, so that its macros are in scope everywhere below.
#[macro_use]
mod fmt;

mod buffers;
mod config;

#[cfg(feature = "oauth")]
mod app;
#[cfg(not(feature = "oauth"))]
mod baseline;
#[cfg(feature = "oauth")]
mod clock;
#[cfg(feature = "oauth")]
mod http;
#[cfg(feature = "tls")]
mod tls;

#[cfg(all(target_os = "linux", feature = "oauth"))]
mod file_flash;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "none")]
mod mcu;

use crate::buffers::Buffers;
use crate::config::Config;
use embassy_net::Stack;

/// Runs the device's job once the network is up; whether it succeeded.
/// `unix_now` is the wall clock if the platform has one (else the first
/// `Date` header sets it).
#[cfg(feature = "oauth")]
pub async fn device_main<S: embedded_storage_async::nor_flash::NorFlash>(
    stack: Stack<'static>,
    cfg: Config<'static>,
    unix_now: Option<u64>,
    bufs: &'static mut Buffers,
    store: &mut latch_device::flash::TokenFlash<S>,
    random: &mut dyn FnMut(&mut [u8]),
) -> bool {
    stack.wait_config_up().await;
    info!("network up; issuer {}", cfg.device.issuer);
    let clock = unix_now.map_or(clock::Clock::unset(), clock::Clock::set);
    let client = http::HttpClient::new(stack, cfg.server, clock, bufs);
    #[cfg(feature = "tls")]
    let client = match cfg.tls {
        Some(settings) => client.with_tls(settings),
        None => client,
    };
    let mut client = client;
    match app::run(&mut client, store, &cfg, random).await {
        Ok(()) => {
            info!("done: every step succeeded");
            true
        }
        Err(e) => {
            error!("failed: {}", e);
            false
        }
    }
}

/// The baseline's job: one plain request.
#[cfg(not(feature = "oauth"))]
pub async fn device_main(
    stack: Stack<'static>,
    cfg: Config<'static>,
    _unix_now: Option<u64>,
    bufs: &'static mut Buffers,
    _random: &mut dyn FnMut(&mut [u8]),
) -> bool {
    stack.wait_config_up().await;
    info!("network up; server {}", cfg.host);
    match baseline::run(stack, &cfg, bufs).await {
        Ok(n) => {
            info!("done: {} bytes received", n);
            true
        }
        Err(()) => {
            error!("failed: request did not complete");
            false
        }
    }
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}
