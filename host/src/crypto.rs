//! What the server keeps of secrets (DESIGN.md): passwords as argon2id
//! hashes; tokens and codes as SHA-256 (they only need comparing); client
//! secrets and OAuth1 token secrets — which HMAC verification needs back —
//! in an XChaCha20-Poly1305 box under the configured key, bound to the row
//! they belong to (the row id is the associated data, so a box copied to
//! another row does not open).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64ct::{Base64, Encoding};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Why a secret could not be sealed, opened or hashed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The OS RNG failed.
    #[error("cannot read the OS random number generator")]
    Rng,
    /// A box did not open: wrong key, wrong row or tampered.
    #[error("stored secret does not decrypt with the configured key")]
    Open,
    /// Password hashing failed.
    #[error("password hashing failed")]
    Hash,
}

/// Seals and opens secrets at rest.
#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<redacted>)")
    }
}

impl SecretBox {
    /// A box keyed with `key`.
    pub fn new(key: &[u8; 32]) -> Self {
        SecretBox {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// Encrypts `secret` for the row `row_id`: base64 of nonce ‖ ciphertext.
    pub fn seal(&self, row_id: &str, secret: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|_| CryptoError::Rng)?;
        let ct = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: row_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(Base64::encode_string(&out))
    }

    /// Decrypts a box sealed for `row_id`.
    pub fn open(&self, row_id: &str, sealed: &str) -> Result<String, CryptoError> {
        let bytes = Base64::decode_vec(sealed).map_err(|_| CryptoError::Open)?;
        if bytes.len() < 24 {
            return Err(CryptoError::Open);
        }
        let (nonce, ct) = bytes.split_at(24);
        let pt = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: row_id.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)?;
        String::from_utf8(pt).map_err(|_| CryptoError::Open)
    }
}

/// argon2id (the crate's defaults: 19 MiB, 2 passes) with a random salt, as a
/// PHC string.
pub fn hash_password(password: &str) -> Result<String, CryptoError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| CryptoError::Rng)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| CryptoError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| CryptoError::Hash)
}

/// Whether `password` matches a stored PHC hash (constant time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Lower-case hex of the core's [`TokenHash`](latch_core::oauth2::TokenHash)
/// (SHA-256, time-led for ordered tokens): how tokens, codes and session
/// ids are stored and looked up.
pub fn token_hash(token: &str) -> String {
    hex::encode(latch_core::oauth2::TokenHash::of(token.as_bytes()).0)
}

/// Whether two strings are equal, compared in constant time (for values
/// an attacker may probe, such as a token's subject).
pub fn ct_eq_str(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_round_trips_and_is_bound_to_its_row() {
        let b = SecretBox::new(&[7; 32]);
        let sealed = b.seal("client-1", "s3cret").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_ne!(
            sealed,
            b.seal("client-1", "s3cret").unwrap(),
            "fresh nonce each time"
        );
        assert_eq!(b.open("client-1", &sealed).unwrap(), "s3cret");
        assert_eq!(b.open("client-2", &sealed), Err(CryptoError::Open));
        assert_eq!(
            SecretBox::new(&[8; 32]).open("client-1", &sealed),
            Err(CryptoError::Open)
        );
        assert_eq!(b.open("client-1", "AAAA"), Err(CryptoError::Open));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        // FIPS 180-2 "abc".
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A 43-character token issued before ordered ones: its stored row
        // (hex SHA-256, as earlier versions wrote it) is still found.
        let legacy = latch_core::oauth2::Token::from_bytes(&[9; 32]);
        assert_eq!(
            token_hash(legacy.as_str()),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(legacy.as_str()))
        );
        // An ordered token hashes as the core stores it: the operator's
        // `token revoke` finds the row the server wrote.
        let t = latch_core::oauth2::Token::ordered_from_bytes(
            latch_core::UnixTime(1_800_000_000),
            &[9; 32],
        );
        assert_eq!(token_hash(t.as_str()), hex::encode(t.hash().0));
        assert!(token_hash(t.as_str()).starts_with("006b49d200"));
    }
}
