//! JOSE: signed JSON for id_tokens, JWT access tokens and published keys.
//!
//! | module | what | spec |
//! | --- | --- | --- |
//! | [`jws`] | compact serialization: [`sign_compact`] into a caller buffer, [`Jws::parse`] borrowing from the token | RFC 7515 §3.1, §4.1, §5, §7.1 |
//! | [`es256`] | ECDSA P-256 with SHA-256, fixed 64-byte `r‖s` signatures | RFC 7518 §3.4 |
//! | [`ed25519`] | EdDSA with Ed25519 | RFC 8037 §3.1, RFC 8032 §5.1 |
//! | [`jwk`] | public JWKs and JWK Sets, rendered and parsed; thumbprints | RFC 7517 §4, §5; RFC 7518 §6; RFC 8037 §2; RFC 7638 §3 |
//! | [`claims`] | the registered claims and their checks against `now` | RFC 7519 §4.1, §7.2 |
//!
//! ## What the core does and what the shell does
//!
//! ES256 and EdDSA sign and verify here, with RustCrypto's `p256` and
//! `ed25519-dalek`, without a heap. RS256 needs big-number arithmetic on
//! a heap, so it comes in through the [`Signer`] and [`Verifier`] traits,
//! implemented by the shell (or by an HSM, a KMS, a secure element); the
//! JWS and JWK code treats all three algorithms alike.
//!
//! ## Decisions that refuse input
//!
//! * `alg` must be one of [`Alg`]: `none` (RFC 7518 §3.6) and every other
//!   name are refused ([`JoseError::UnsupportedAlg`]). The verifier is
//!   always told the algorithm and refuses one that does not fit its key
//!   ([`JoseError::KeyMismatch`]), so a token cannot pick its own
//!   algorithm for a key.
//! * A header with `crit` (RFC 7515 §4.1.11) is refused: no extension is
//!   understood. Keys are never taken from the header (`jwk`, `jku`,
//!   `x5c`, `x5u` are ignored); the caller picks one, e.g. by `kid` from a
//!   [`JwkSet`].
//! * Headers, claims and JWKs are checked against the whole JSON grammar
//!   (RFC 8259) before they are read, a member named twice is refused, and
//!   member names must be written without escapes (so that `"\u0063rit"`
//!   cannot hide a `crit`), so two readers of the same signed bytes cannot
//!   disagree about them.
//! * Base64url must be unpadded and canonical (RFC 7515 §2, §C): unused
//!   trailing bits are zero, so one token has one spelling.
//! * Sizes are bounded: [`MAX_JWS_LEN`], [`MAX_HEADER_LEN`],
//!   [`MAX_SIGNATURE_LEN`], [`MAX_RSA_MODULUS_LEN`].

use crate::buf::BufferTooSmall;
use core::fmt;

mod b64;
pub mod claims;
pub mod ed25519;
pub mod es256;
pub mod jwk;
pub mod jws;
#[cfg(any(test, feature = "selftest"))]
pub(crate) mod rfc_vectors;

pub use crate::json::{JsonError, JsonStr};
pub use b64::Base64Url;
pub use claims::{Audience, ClaimsError, MAX_AUDIENCES, RegisteredClaims, Validation};
pub use ed25519::{Ed25519Key, Ed25519PublicKey};
pub use es256::{Es256Key, Es256PublicKey};
pub use jwk::{
    Jwk, JwkSet, KeyVerifier, MAX_RSA_MODULUS_LEN, ParsedJwk, ParsedKey, PublicKey, render_jwk_set,
};
pub use jws::{
    Jws, JwsHeader, MAX_HEADER_LEN, MAX_JWS_LEN, MAX_SIGNATURE_LEN, ParsedHeader, Signer, Verifier,
    sign_compact,
};

/// A JWS algorithm this crate signs or verifies with (RFC 7518 §3.1, RFC
/// 8037 §3.1). There is deliberately no `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3); the shell's
    /// [`Signer`]/[`Verifier`].
    Rs256,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 §3.4); in the core.
    Es256,
    /// EdDSA with Ed25519 (RFC 8037 §3.1); in the core.
    EdDsa,
}

impl Alg {
    /// Every algorithm, in the order metadata documents list them.
    pub const ALL: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The `alg` header parameter value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `s` (case-sensitive, RFC 7515 §4.1.1); `None`
    /// for `none` and for every name not in [`Alg`].
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The same for a JSON string still holding its escapes.
    pub(crate) fn parse_json(s: &JsonStr<'_>) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| s.eq_str(a.as_str()))
    }

    /// The signature's length when the algorithm fixes it: 64 bytes for
    /// ES256 (`r‖s`, RFC 7518 §3.4) and EdDSA (RFC 8032 §5.1.6); `None`
    /// for RS256, whose signature is as long as the modulus.
    pub const fn signature_len(self) -> Option<usize> {
        match self {
            Alg::Rs256 => None,
            Alg::Es256 | Alg::EdDsa => Some(64),
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Alg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a JOSE operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum JoseError {
    /// Not well-formed: not three parts, bad base64url, not JSON, a
    /// required member missing or of the wrong type, a member repeated, a
    /// key of the wrong length.
    Malformed,
    /// `alg` is `none`, unknown, or has no implementation here (RS256
    /// verification of a parsed JWK is the shell's).
    UnsupportedAlg,
    /// The header names critical extensions (`crit`, RFC 7515 §4.1.11);
    /// none is understood, so the JWS must be refused.
    UnsupportedCritical,
    /// A key type or curve this crate does not handle (`oct`, `P-384`,
    /// `X25519`, …). A [`JwkSet`] skips such keys instead.
    UnsupportedKey,
    /// Over a fixed limit: [`MAX_JWS_LEN`], [`MAX_HEADER_LEN`],
    /// [`MAX_SIGNATURE_LEN`], [`MAX_RSA_MODULUS_LEN`], a [`JwkSet`]'s
    /// capacity.
    TooLarge,
    /// The output buffer is too small; says how big it must be.
    BufferTooSmall(BufferTooSmall),
    /// The signature does not verify.
    BadSignature,
    /// The key does not fit the algorithm: a signer for another `alg` than
    /// the header's, a JWK whose `alg` contradicts its `kty`, a verifier
    /// asked about another algorithm.
    KeyMismatch,
    /// Key material that is not a key: a point not on P-256, a scalar out
    /// of range, a small-order Ed25519 point, an RSA modulus under 2048
    /// bits or with leading zero octets.
    InvalidKey,
    /// The claims are not acceptable.
    Claims(ClaimsError),
    /// The signer failed (an HSM, a KMS or a secure element said no).
    Signer,
    /// The random number generator failed.
    Rng,
}

impl fmt::Display for JoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoseError::Malformed => f.write_str("malformed JOSE object"),
            JoseError::UnsupportedAlg => f.write_str("unsupported JWS algorithm"),
            JoseError::UnsupportedCritical => f.write_str("unsupported critical header parameter"),
            JoseError::UnsupportedKey => f.write_str("unsupported key type or curve"),
            JoseError::TooLarge => f.write_str("JOSE object over a size limit"),
            JoseError::BufferTooSmall(e) => fmt::Display::fmt(e, f),
            JoseError::BadSignature => f.write_str("signature does not verify"),
            JoseError::KeyMismatch => f.write_str("key does not fit the algorithm"),
            JoseError::InvalidKey => f.write_str("invalid key material"),
            JoseError::Claims(e) => write!(f, "claims refused: {e}"),
            JoseError::Signer => f.write_str("signer failed"),
            JoseError::Rng => f.write_str("random number generator failed"),
        }
    }
}

impl core::error::Error for JoseError {}

impl From<BufferTooSmall> for JoseError {
    fn from(e: BufferTooSmall) -> Self {
        JoseError::BufferTooSmall(e)
    }
}

impl From<ClaimsError> for JoseError {
    fn from(e: ClaimsError) -> Self {
        JoseError::Claims(e)
    }
}

impl From<JsonError> for JoseError {
    fn from(_: JsonError) -> Self {
        JoseError::Malformed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alg_names_round_trip_and_none_is_refused() {
        for a in Alg::ALL {
            assert_eq!(Alg::parse(a.as_str()), Some(a));
            assert_eq!(std::format!("{a}"), a.as_str());
        }
        for bad in [
            "none", "None", "", "HS256", "es256", "ES256 ", "RS384", "EDDSA",
        ] {
            assert_eq!(Alg::parse(bad), None, "{bad}");
        }
        assert_eq!(
            Alg::parse_json(&JsonStr::new(r"E\u0053256").unwrap()),
            Some(Alg::Es256)
        );
        assert_eq!(Alg::Es256.signature_len(), Some(64));
        assert_eq!(Alg::Rs256.signature_len(), None);
    }

    #[test]
    fn errors_display() {
        let e = JoseError::BufferTooSmall(BufferTooSmall { required: 9 });
        assert!(std::format!("{e}").contains('9'));
        let c = JoseError::from(ClaimsError::Missing("exp"));
        assert!(std::format!("{c}").contains("exp"));
    }
}
