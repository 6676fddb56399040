//! # latch-core
//!
//! The protocol core of Latch: OAuth 1.0a (RFC 5849), OAuth 2.0 (RFC 6749
//! and its companions), JOSE and OpenID Connect, as a sans-IO library that
//! runs the same on a server and on a microcontroller.
//!
//! ## Contract
//!
//! * **`#![no_std]`, no `alloc`.** Every output is written into a buffer the
//!   caller owns (`&mut [u8]`, or any [`Sink`]); every collection has a
//!   capacity fixed by a const generic. Running out of room is an error value
//!   ([`BufferTooSmall`], [`CapacityError`]), never a panic and never a
//!   truncated result.
//! * **No I/O, no clock, no randomness.** Time comes in as [`UnixTime`];
//!   nonces come from the caller; storage (the OAuth1 nonce store) is a trait
//!   the caller implements or a fixed-capacity in-memory table.
//! * **Parsers borrow.** A parsed query string, form body or `Authorization`
//!   header hands out `&'a` slices of its input ([`Text`]); decoding happens
//!   lazily, byte by byte, or into a caller buffer.
//! * **Never panics on input.** The crate denies `unwrap`, `expect`, slice
//!   indexing and unchecked arithmetic outside tests; fuzz targets and
//!   property tests back that up.
//! * **Secrets** are compared in constant time (`subtle`) and never printed by
//!   `Debug`.
//!
//! ## Modules
//!
//! | module | what | spec |
//! | --- | --- | --- |
//! | [`percent`] | percent-encoding and decoding | RFC 5849 §3.6, RFC 3986 §2.1 |
//! | [`form`] | borrowing `application/x-www-form-urlencoded` / query parser | W3C HTML 4.01 §17.13.4, RFC 5849 §3.4.1.3.1 |
//! | [`url`] | absolute-URL splitting and the base string URI | RFC 3986 §3, RFC 5849 §3.4.1.2 |
//! | [`http`] | HTTP/1.1 client framing: request writer, incremental response reader with in-place de-chunking | RFC 9112 §3, §4, §6, §7.1 |
//! | [`oauth1`] | signing, `Authorization` header, provider verification, nonces | RFC 5849 |
//! | [`oauth2`] | authorization server decisions (authorize, token exchange state machine, device flow, introspection, revocation, bearer, metadata) and the device-flow / authorization-code + PKCE client | RFC 6749, 6750, 7009, 7636, 7662, 8414, 8628, 9207, 9700 |
//! | [`jose`] | JWS compact serialization built into and parsed from caller buffers; ES256 and EdDSA signing and verification in the core, RS256 through a [`jose::Signer`]/[`jose::Verifier`] the shell supplies; JWK and JWK Set render/parse; JWK thumbprints; registered JWT claims checked against `now` | RFC 7515, 7517, 7518, 7519, 7638, 8037 |
//! | [`oidc`] | OpenID Provider decisions: `prompt`/`max_age`/`nonce`, id_token claims and `at_hash`, UserInfo claims per scope | OpenID Connect Core 1.0 §3.1, §5 |
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::unreachable,
    )
)]
#![warn(missing_docs)]

mod buf;
pub mod form;
pub mod http;
pub mod jose;
mod json;
pub mod oauth1;
pub mod oauth2;
pub mod oidc;
pub mod percent;
#[cfg(any(test, feature = "selftest"))]
#[doc(hidden)]
pub mod selftest;
mod text;
mod time;
pub mod url;
mod utf8;

pub use buf::{BufferTooSmall, CapacityError, Sink, SliceWriter};
pub use text::{Decoded, Text};
pub use time::UnixTime;

#[cfg(test)]
extern crate std;
