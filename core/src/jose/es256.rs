//! ES256: ECDSA over P-256 with SHA-256 (RFC 7518 §3.4), with RustCrypto's
//! `p256`.
//!
//! * Signatures are the fixed 64 bytes `r‖s`, each big-endian and padded
//!   to 32 bytes (§3.4), not the DER that X.509 and TLS use.
//! * Signing is deterministic (RFC 6979 §3.2 nonces, as `p256` does it):
//!   the same key and input give the same signature, and no random number
//!   generator is needed at signing time.
//! * Public keys are checked to be on the curve when they are made
//!   ([`Es256PublicKey::from_xy`]), so a JWK with a bogus point is refused
//!   before any signature is checked against it.

use super::{Alg, JoseError, Signer, Verifier};
use crate::buf::BufferTooSmall;
use core::fmt;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::FromSec1Point as _;
use p256::{AffinePoint, Sec1Point};
use rand_core::TryCryptoRng;

/// A P-256 private key that signs ES256.
///
/// `Debug` shows only the public key; the scalar is wiped from memory when
/// the key is dropped (`p256` zeroizes it).
#[derive(Clone)]
pub struct Es256Key {
    key: SigningKey,
}

impl Es256Key {
    /// The key whose secret scalar is `d` (32 bytes big-endian, SEC 1
    /// §2.3.6; a JWK's `d`, RFC 7518 §6.2.2.1). Zero and values ≥ the group
    /// order are [`JoseError::InvalidKey`].
    pub fn from_bytes(d: &[u8; 32]) -> Result<Self, JoseError> {
        SigningKey::from_slice(d)
            .map(|key| Es256Key { key })
            .map_err(|_| JoseError::InvalidKey)
    }

    /// The key in a PKCS#8 `PrivateKeyInfo` (RFC 5208 §5, RFC 5915 inside),
    /// DER-encoded: what `openssl genpkey -algorithm EC -pkeyopt
    /// ec_paramgen_curve:P-256 -outform DER` writes.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, JoseError> {
        use p256::pkcs8::DecodePrivateKey as _;
        SigningKey::from_pkcs8_der(der)
            .map(|key| Es256Key { key })
            .map_err(|_| JoseError::InvalidKey)
    }

    /// A new key from `rng` (rejection sampling, FIPS 186-5 §A.2.2: draws
    /// of 32 bytes until one is a valid scalar; more than eight draws is
    /// taken as a broken generator).
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Self, JoseError> {
        for _ in 0..8 {
            let mut d = [0u8; 32];
            rng.try_fill_bytes(&mut d).map_err(|_| JoseError::Rng)?;
            let key = Es256Key::from_bytes(&d);
            d.fill(0);
            if let Ok(key) = key {
                return Ok(key);
            }
        }
        Err(JoseError::Rng)
    }

    /// The secret scalar `d`, to store the key. Keep it secret, wipe it
    /// when done.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The public key.
    pub fn public(&self) -> Es256PublicKey {
        Es256PublicKey::from_verifying_key(*self.key.verifying_key())
    }

    /// The 64-byte `r‖s` signature of `message` (RFC 7518 §3.4).
    pub fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        let sig: Signature = self.key.sign(message);
        sig.to_bytes().into()
    }
}

impl Signer for Es256Key {
    fn alg(&self) -> Alg {
        Alg::Es256
    }

    fn sign(&mut self, signing_input: &[u8], out: &mut [u8]) -> Result<usize, JoseError> {
        let dst = out.get_mut(..64).ok_or(BufferTooSmall { required: 64 })?;
        dst.copy_from_slice(&self.sign_bytes(signing_input));
        Ok(64)
    }
}

impl fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Es256Key")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// A P-256 public key that verifies ES256: a point known to be on the
/// curve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Es256PublicKey {
    key: VerifyingKey,
    x: [u8; 32],
    y: [u8; 32],
}

impl Es256PublicKey {
    /// The point `(x, y)`, each coordinate 32 bytes big-endian (a JWK's
    /// `x` and `y`, RFC 7518 §6.2.1.2–3). A point not on P-256 (or the
    /// identity) is [`JoseError::InvalidKey`].
    pub fn from_xy(x: &[u8; 32], y: &[u8; 32]) -> Result<Self, JoseError> {
        let point = Sec1Point::from_affine_coordinates(x.into(), y.into(), false);
        let affine: Option<AffinePoint> = AffinePoint::from_sec1_point(&point).into();
        let key = affine
            .and_then(|a| VerifyingKey::from_affine(a).ok())
            .ok_or(JoseError::InvalidKey)?;
        Ok(Es256PublicKey { key, x: *x, y: *y })
    }

    fn from_verifying_key(key: VerifyingKey) -> Self {
        let point = key.to_sec1_point(false);
        let mut x = [0u8; 32];
        let mut y = [0u8; 32];
        if let (Some(px), Some(py)) = (point.x(), point.y()) {
            x.copy_from_slice(px);
            y.copy_from_slice(py);
        }
        Es256PublicKey { key, x, y }
    }

    /// The x coordinate, 32 bytes big-endian.
    pub const fn x(&self) -> &[u8; 32] {
        &self.x
    }

    /// The y coordinate, 32 bytes big-endian.
    pub const fn y(&self) -> &[u8; 32] {
        &self.y
    }

    /// Checks a 64-byte `r‖s` signature of `message`.
    pub fn verify_bytes(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if signature.len() != 64 {
            return Err(JoseError::BadSignature);
        }
        let sig = Signature::from_slice(signature).map_err(|_| JoseError::BadSignature)?;
        self.key
            .verify(message, &sig)
            .map_err(|_| JoseError::BadSignature)
    }
}

impl Verifier for Es256PublicKey {
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if alg != Alg::Es256 {
            return Err(JoseError::KeyMismatch);
        }
        self.verify_bytes(signing_input, signature)
    }
}

impl fmt::Debug for Es256PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Es256PublicKey")
            .field("x", &Hex(&self.x))
            .field("y", &Hex(&self.y))
            .finish()
    }
}

/// Bytes shown as hex.
pub(crate) struct Hex<'b>(pub(crate) &'b [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selftest::VectorRng;

    /// RFC 6979 Appendix A.2.5's P-256 key.
    const X: [u8; 32] = [
        0xC9, 0xAF, 0xA9, 0xD8, 0x45, 0xBA, 0x75, 0x16, 0x6B, 0x5C, 0x21, 0x57, 0x67, 0xB1, 0xD6,
        0x93, 0x4E, 0x50, 0xC3, 0xDB, 0x36, 0xE8, 0x9B, 0x12, 0x7B, 0x8A, 0x62, 0x2B, 0x12, 0x0F,
        0x67, 0x21,
    ];

    #[test]
    fn scalar_range_is_checked() {
        assert_eq!(
            Es256Key::from_bytes(&[0; 32]).err(),
            Some(JoseError::InvalidKey)
        );
        assert_eq!(
            Es256Key::from_bytes(&[0xFF; 32]).err(),
            Some(JoseError::InvalidKey)
        );
        let k = Es256Key::from_bytes(&X).unwrap();
        assert_eq!(k.to_bytes(), X);
    }

    #[test]
    fn points_off_the_curve_are_refused() {
        let k = Es256Key::from_bytes(&X).unwrap().public();
        assert!(Es256PublicKey::from_xy(k.x(), k.y()).is_ok());
        let mut y = *k.y();
        y[31] ^= 1;
        assert_eq!(
            Es256PublicKey::from_xy(k.x(), &y).err(),
            Some(JoseError::InvalidKey)
        );
        assert_eq!(
            Es256PublicKey::from_xy(&[0; 32], &[0; 32]).err(),
            Some(JoseError::InvalidKey)
        );
    }

    #[test]
    fn sign_verify_deterministic() {
        let mut k = Es256Key::generate(&mut VectorRng(5)).unwrap();
        let p = k.public();
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        assert_eq!(k.sign(b"msg", &mut a), Ok(64));
        assert_eq!(k.sign(b"msg", &mut b), Ok(64));
        assert_eq!(a, b, "RFC 6979 signatures are deterministic");
        assert_eq!(p.verify(Alg::Es256, b"msg", &a), Ok(()));
        assert_eq!(
            p.verify(Alg::EdDsa, b"msg", &a),
            Err(JoseError::KeyMismatch)
        );
        assert_eq!(
            p.verify(Alg::Es256, b"msh", &a),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            p.verify(Alg::Es256, b"msg", &a[..63]),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            p.verify(Alg::Es256, b"msg", &[0; 64]),
            Err(JoseError::BadSignature)
        );
        let mut small = [0u8; 63];
        assert!(matches!(
            k.sign(b"msg", &mut small),
            Err(JoseError::BufferTooSmall(_))
        ));
        let shown = std::format!("{k:?}");
        let secret: std::string::String = k
            .to_bytes()
            .iter()
            .map(|b| std::format!("{b:02x}"))
            .collect();
        assert!(
            !shown.contains(&secret) && shown.contains("Es256PublicKey"),
            "{shown}"
        );
    }

    #[test]
    fn pkcs8_der() {
        // PrivateKeyInfo { v1, { id-ecPublicKey, prime256v1 },
        // ECPrivateKey { 1, d } } with RFC 6979's d and no public key.
        let mut der = std::vec![
            0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
            0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27,
            0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
        ];
        der.extend_from_slice(&X);
        let k = Es256Key::from_pkcs8_der(&der).unwrap();
        assert_eq!(k.to_bytes(), X);
        // Another curve's OID (secp256k1, 1.3.132.0.10) is refused.
        let mut k1 = der.clone();
        k1.splice(16..26, [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]);
        k1[1] -= 3;
        k1[6] -= 3;
        assert_eq!(
            Es256Key::from_pkcs8_der(&k1).err(),
            Some(JoseError::InvalidKey)
        );
        assert_eq!(
            Es256Key::from_pkcs8_der(&der[..60]).err(),
            Some(JoseError::InvalidKey)
        );
    }

    #[test]
    fn generate_survives_out_of_range_draws_and_reports_a_dead_rng() {
        struct Ff(usize);
        impl rand_core::TryRng for Ff {
            type Error = core::convert::Infallible;
            fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
                Ok(u32::MAX)
            }
            fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
                Ok(u64::MAX)
            }
            fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
                // 0xFF… is above the order; after `self.0` draws, 0x01….
                let v = if self.0 == 0 { 1 } else { 0xFF };
                self.0 = self.0.saturating_sub(1);
                dst.fill(v);
                Ok(())
            }
        }
        impl rand_core::TryCryptoRng for Ff {}
        assert!(Es256Key::generate(&mut Ff(3)).is_ok());
        assert_eq!(Es256Key::generate(&mut Ff(100)).err(), Some(JoseError::Rng));
    }
}
