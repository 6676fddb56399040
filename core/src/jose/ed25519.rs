//! EdDSA with Ed25519 (RFC 8037 §3.1, RFC 8032 §5.1), with
//! `ed25519-dalek`.
//!
//! * Keys are the 32-byte seed (RFC 8032 §5.1.5; a JWK's `d`, RFC 8037
//!   §2) and the 32-byte encoded point (its `x`).
//! * Verification is `verify_strict`: besides RFC 8032 §5.1.7 it refuses
//!   small-order public keys and `R` values and non-canonical `S`, so a
//!   signature cannot be valid for more than one key or be malleated.
//!   Public keys of small order are refused already when made.

use super::{Alg, JoseError, Signer, Verifier};
use crate::buf::BufferTooSmall;
use core::fmt;
use ed25519_dalek::Signer as _;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use rand_core::TryCryptoRng;

/// An Ed25519 private key that signs EdDSA.
///
/// `Debug` shows only the public key; the seed is wiped from memory when
/// the key is dropped.
#[derive(Clone)]
pub struct Ed25519Key {
    key: SigningKey,
}

impl Ed25519Key {
    /// The key with this seed (RFC 8032 §5.1.5). Every 32 bytes are one.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Ed25519Key {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The same as [`Ed25519Key::from_seed`].
    pub fn from_bytes(seed: &[u8; 32]) -> Self {
        Ed25519Key::from_seed(seed)
    }

    /// The key in a PKCS#8 `PrivateKeyInfo` or `OneAsymmetricKey` (RFC
    /// 8410 §7), DER-encoded: what `openssl genpkey -algorithm ed25519
    /// -outform DER` writes. A public key inside must match.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JoseError> {
        use ed25519_dalek::pkcs8::DecodePrivateKey as _;
        SigningKey::from_pkcs8_der(der)
            .map(|key| Ed25519Key { key })
            .map_err(|_| JoseError::InvalidKey)
    }

    /// A new key: a seed of 32 bytes from `rng`.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, JoseError> {
        let mut seed = [0u8; 32];
        rng.try_fill_bytes(&mut seed).map_err(|_| JoseError::Rng)?;
        let key = Ed25519Key::from_seed(&seed);
        seed.fill(0);
        Ok(key)
    }

    /// The seed, to store the key. Keep it secret, wipe it when done.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> Ed25519PublicKey {
        Ed25519PublicKey {
            key: self.key.verifying_key(),
        }
    }

    /// The 64-byte signature of `message` (RFC 8032 §5.1.6).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        let sig: Signature = self.key.sign(message);
        sig.to_bytes()
    }
}

impl Signer for Ed25519Key {
    fn alg(&self) -> Alg {
        Alg::EdDsa
    }

    fn sign(&mut self, signing_input: &[u8], out: &mut [u8]) -> Result<usize, JoseError> {
        let dst = out.get_mut(..64).ok_or(BufferTooSmall { required: 64 })?;
        dst.copy_from_slice(&self.sign_bytes(signing_input));
        Ok(64)
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Key")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key that verifies EdDSA: a valid point of large
/// order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519PublicKey {
    key: VerifyingKey,
}

impl Ed25519PublicKey {
    /// The key encoded as `x` (RFC 8032 §5.1.2). Bytes that are not a
    /// point, and points of small order, are [`JoseError::InvalidKey`].
    pub fn from_bytes(x: &[u8; 32]) -> Result<Self, JoseError> {
        match VerifyingKey::from_bytes(x) {
            Ok(key) if !key.is_weak() => Ok(Ed25519PublicKey { key }),
            _ => Err(JoseError::InvalidKey),
        }
    }

    /// The encoded point.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The encoded point, borrowed.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.key.as_bytes()
    }

    /// Checks a 64-byte signature of `message` (strictly; see the module
    /// notes).
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        let sig = Signature::from_slice(signature).map_err(|_| JoseError::BadSignature)?;
        self.key
            .verify_strict(message, &sig)
            .map_err(|_| JoseError::BadSignature)
    }
}

impl Verifier for Ed25519PublicKey {
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if alg != Alg::EdDsa {
            return Err(JoseError::KeyMismatch);
        }
        self.verify_bytes(signing_input, signature)
    }
}

impl fmt::Debug for Ed25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ed25519PublicKey")
            .field(&super::es256::Hex(self.as_bytes()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selftest::VectorRng;

    #[test]
    fn sign_verify_and_refusals() {
        let mut k = Ed25519Key::generate(&mut VectorRng(9)).unwrap();
        let p = k.public();
        let mut sig = [0u8; 64];
        assert_eq!(k.sign(b"msg", &mut sig), Ok(64));
        assert_eq!(p.verify(Alg::EdDsa, b"msg", &sig), Ok(()));
        assert_eq!(
            p.verify(Alg::Es256, b"msg", &sig),
            Err(JoseError::KeyMismatch)
        );
        assert_eq!(
            p.verify(Alg::EdDsa, b"msh", &sig),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            p.verify(Alg::EdDsa, b"msg", &sig[..63]),
            Err(JoseError::BadSignature)
        );
        // S + L (non-canonical S) must be refused.
        let mut high = sig;
        high[63] |= 0x80;
        assert_eq!(
            p.verify(Alg::EdDsa, b"msg", &high),
            Err(JoseError::BadSignature)
        );
        assert_eq!(Ed25519PublicKey::from_bytes(&p.to_bytes()), Ok(p));
        assert_eq!(Ed25519Key::from_bytes(&k.to_bytes()).public(), p);
        let shown = std::format!("{k:?}");
        let secret: std::string::String = k
            .to_bytes()
            .iter()
            .map(|b| std::format!("{b:02x}"))
            .collect();
        assert!(
            !shown.contains(&secret) && shown.contains("Ed25519PublicKey"),
            "{shown}"
        );
    }

    #[test]
    fn small_order_and_invalid_points_are_refused() {
        // The identity (0, 1) and a point of order 2 (0, -1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            Ed25519PublicKey::from_bytes(&identity).err(),
            Some(JoseError::InvalidKey)
        );
        let mut minus_one = [0xFFu8; 32];
        minus_one[0] = 0xEC;
        minus_one[31] = 0x7F;
        assert_eq!(
            Ed25519PublicKey::from_bytes(&minus_one).err(),
            Some(JoseError::InvalidKey)
        );
        // y = 2 is not on the curve.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert_eq!(
            Ed25519PublicKey::from_bytes(&two).err(),
            Some(JoseError::InvalidKey)
        );
    }

    #[test]
    fn pkcs8_seed_and_mismatched_public_key() {
        // RFC 8410 §10.3's private key.
        let der: [u8; 48] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20, 0xd4, 0xee, 0x72, 0xdb, 0xf9, 0x13, 0x58, 0x4a, 0xd5, 0xb6, 0xd8, 0xf1,
            0xf7, 0x69, 0xf8, 0xad, 0x3a, 0xfe, 0x7c, 0x28, 0xcb, 0xf1, 0xd4, 0xfb, 0xe0, 0x97,
            0xa8, 0x8f, 0x44, 0x75, 0x58, 0x42,
        ];
        let k = Ed25519Key::from_pkcs8_der(&der).unwrap();
        assert_eq!(k.to_bytes()[..], der[16..]);
        assert_eq!(
            Ed25519Key::from_pkcs8_der(&der[..47]).err(),
            Some(JoseError::InvalidKey)
        );
    }
}
