//! Logging that compiles to `defmt` on the MCU and to `log` on Linux: the
//! rest of the firmware says `info!`, `warn!` and `error!` and never knows
//! which. defmt takes `{=str}`-free `{}` placeholders for types that are
//! `defmt::Format`; everything logged here is a `&str`, an integer or a
//! core error enum (all `Format` with latch-core's `defmt` feature), so
//! one format string serves both.

#![allow(unused_macros)]

#[cfg(target_os = "none")]
macro_rules! info {
    ($($t:tt)*) => { defmt::info!($($t)*) };
}
#[cfg(target_os = "none")]
macro_rules! warn {
    ($($t:tt)*) => { defmt::warn!($($t)*) };
}
#[cfg(target_os = "none")]
macro_rules! error {
    ($($t:tt)*) => { defmt::error!($($t)*) };
}

#[cfg(not(target_os = "none"))]
macro_rules! info {
    ($($t:tt)*) => { log::info!($($t)*) };
}
#[cfg(not(target_os = "none"))]
macro_rules! warn {
    ($($t:tt)*) => { log::warn!($($t)*) };
}
#[cfg(not(target_os = "none"))]
macro_rules! error {
    ($($t:tt)*) => { log::error!($($t)*) };
}
