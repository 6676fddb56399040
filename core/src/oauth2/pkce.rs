//! Proof Key for Code Exchange (RFC 7636).
//!
//! * A verifier is 43–128 characters from `[A-Z a-z 0-9 - . _ ~]` (§4.1);
//!   [`CodeVerifier::generate`] makes one from 32 random bytes (43
//!   characters, as §4.1 recommends).
//! * The `S256` challenge is `BASE64URL(SHA256(ASCII(verifier)))` (§4.2);
//!   `plain` is the verifier itself and is accepted only for clients
//!   configured to allow it (RFC 9700 §2.1.1: S256 is the one to use).
//! * A challenge is 43–128 characters of the same alphabet (§4.2, §4.3);
//!   `code_challenge_method` defaults to `plain` when absent (§4.3), which
//!   is why a client that may not use `plain` must name `S256`.
//! * Verification (§4.6) compares in constant time.

use super::error::RngError;
use super::token_material::Token;
use crate::text::Text;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use core::fmt;
use rand_core::TryCryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The longest verifier or challenge (§4.1, §4.2).
pub const MAX_LEN: usize = 128;
/// The shortest verifier or challenge.
pub const MIN_LEN: usize = 43;

/// `code_challenge_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChallengeMethod {
    /// `S256`: SHA-256 of the verifier, base64url (§4.2).
    S256,
    /// `plain`: the verifier itself (§4.2); only where a client allows it.
    Plain,
}

impl ChallengeMethod {
    /// The protocol name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }

    /// The method with this name (exact, case-sensitive, as §4.3 spells
    /// them).
    pub fn from_text(t: &Text<'_>) -> Option<Self> {
        if t.eq_str("S256") {
            Some(ChallengeMethod::S256)
        } else if t.eq_str("plain") {
            Some(ChallengeMethod::Plain)
        } else {
            None
        }
    }
}

/// Whether `b` may appear in a verifier or challenge (§4.1).
pub const fn is_pkce_char(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~')
}

/// Whether `s` is a well-formed verifier or challenge: 43–128 characters
/// of the §4.1 alphabet.
pub fn is_well_formed(s: &[u8]) -> bool {
    (MIN_LEN..=MAX_LEN).contains(&s.len()) && s.iter().all(|&b| is_pkce_char(b))
}

/// The S256 challenge of `verifier`: 43 base64url characters.
pub fn s256_challenge(verifier: &[u8]) -> [u8; 43] {
    let digest: [u8; 32] = Sha256::digest(verifier).into();
    let mut out = [0u8; 43];
    // 32 bytes always encode to exactly 43 characters.
    let _ = Base64UrlUnpadded::encode(&digest, &mut out);
    out
}

/// Checks `verifier` against a stored challenge (§4.6), in constant time.
/// A malformed verifier never matches.
pub fn verify(method: ChallengeMethod, challenge: &[u8], verifier: &[u8]) -> bool {
    if !is_well_formed(verifier) {
        return false;
    }
    match method {
        ChallengeMethod::S256 => bool::from(s256_challenge(verifier).as_slice().ct_eq(challenge)),
        ChallengeMethod::Plain => bool::from(verifier.ct_eq(challenge)),
    }
}

/// A client's code verifier. `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(heapless::String<MAX_LEN>);

/// A verifier that is not 43–128 characters of the §4.1 alphabet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MalformedVerifier;

impl fmt::Display for MalformedVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PKCE verifier must be 43-128 characters of [A-Za-z0-9-._~]")
    }
}

impl core::error::Error for MalformedVerifier {}

impl CodeVerifier {
    /// A fresh verifier: 32 random bytes, base64url (§4.1).
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, RngError> {
        let t = Token::generate(rng)?;
        Ok(CodeVerifier(
            heapless::String::try_from(t.as_str()).unwrap_or_default(),
        ))
    }

    /// A verifier given as text (for example restored from a session).
    pub fn new(s: &str) -> Result<Self, MalformedVerifier> {
        if !is_well_formed(s.as_bytes()) {
            return Err(MalformedVerifier);
        }
        heapless::String::try_from(s)
            .map(CodeVerifier)
            .map_err(|_| MalformedVerifier)
    }

    /// The verifier, to send as `code_verifier`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its S256 challenge, to send as `code_challenge`.
    pub fn challenge(&self) -> [u8; 43] {
        s256_challenge(self.0.as_bytes())
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::token_material::test_rng::TestRng;

    // RFC 7636 Appendix B is in `crate::oauth2::rfc_vectors`, shared with
    // the MCU self-test.

    #[test]
    fn wrong_or_malformed_verifiers_fail() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = s256_challenge(verifier.as_bytes());
        assert!(!verify(
            ChallengeMethod::S256,
            &challenge,
            b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK"
        ));
        assert!(!verify(ChallengeMethod::S256, &challenge, b"short"));
        assert!(!verify(
            ChallengeMethod::Plain,
            verifier.as_bytes(),
            b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+"
        ));
        assert!(verify(
            ChallengeMethod::Plain,
            verifier.as_bytes(),
            verifier.as_bytes()
        ));
        assert!(is_well_formed(&[b'a'; 128]));
        assert!(!is_well_formed(&[b'a'; 129]));
        assert!(!is_well_formed(&[b'a'; 42]));
        assert_eq!(CodeVerifier::new("x y"), Err(MalformedVerifier));
    }

    #[test]
    fn generated_verifiers_are_well_formed() {
        let v = CodeVerifier::generate(&mut TestRng(9)).unwrap();
        assert!(is_well_formed(v.as_str().as_bytes()));
        assert!(!std::format!("{v:?}").contains(v.as_str()));
    }
}
