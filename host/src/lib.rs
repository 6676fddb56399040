//! # latch-host
//!
//! The tokio shell around [`latch_core`]: the `latch` command-line tool, the
//! authorization server (`server`), its administration (`admin`, `audit`)
//! and the consumer side (`consumer`).
//! The shell moves bytes and reads clocks and RNGs; every protocol decision
//! is made by the core.

pub mod admin;
pub mod audit;
pub mod config;
pub mod crypto;
pub mod invalidate;
pub mod keys;
pub mod server;
pub mod sign;
pub mod signing;
pub mod storage;
