//! # latch-host
//!
//! The tokio shell around [`latch_core`]: the `latch` command-line tool and,
//! as later issues land, the authorization server and the axum integration.
//! The shell moves bytes and reads clocks and RNGs; every protocol decision
//! is made by the core.

pub mod admin;
pub mod config;
pub mod consumer;
pub mod crypto;
pub mod db;
pub mod keys;
pub mod server;
pub mod sign;
pub mod signing;
pub mod store;
