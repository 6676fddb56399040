//! What the session store keeps of a login that is a secret, sealed with
//! XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`): a random 192-bit
//! nonce per value, the session key's name (`latch.login`,
//! `latch.pending`) as associated data so one kind cannot stand in for
//! the other, base64url(nonce || ciphertext || tag) as text.

use base64ct::{Base64UrlUnpadded, Encoding};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const NONCE: usize = 24;

/// `plain` sealed under `key` for `purpose`.
pub(crate) fn seal(key: &[u8; 32], purpose: &str, plain: &[u8]) -> String {
    let mut nonce = [0u8; NONCE];
    if getrandom::fill(&mut nonce).is_err() {
        // No randomness: nothing safe to do.
        std::process::abort();
    }
    let cipher = XChaCha20Poly1305::new(key.into());
    let Ok(sealed) = cipher.encrypt(
        XNonce::from_slice(&nonce),
        Payload {
            msg: plain,
            aad: purpose.as_bytes(),
        },
    ) else {
        // Only inputs beyond 2^38 bytes fail; a session value is not one.
        std::process::abort();
    };
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Base64UrlUnpadded::encode_string(&out)
}

/// The plaintext, if `text` was sealed under `key` for `purpose`.
pub(crate) fn open(key: &[u8; 32], purpose: &str, text: &str) -> Option<Vec<u8>> {
    let raw = Base64UrlUnpadded::decode_vec(text).ok()?;
    let (nonce, sealed) = raw.split_at_checked(NONCE)?;
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: purpose.as_bytes(),
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_only_under_its_key_and_purpose() {
        let key = [7u8; 32];
        let sealed = seal(&key, "latch.login", b"{\"token\":\"t\"}");
        assert!(!sealed.contains("token"));
        assert_eq!(
            open(&key, "latch.login", &sealed).as_deref(),
            Some(&b"{\"token\":\"t\"}"[..])
        );
        assert_eq!(open(&[8u8; 32], "latch.login", &sealed), None);
        assert_eq!(open(&key, "latch.pending", &sealed), None);
        // A flipped bit anywhere fails the tag.
        let mut raw = Base64UrlUnpadded::decode_vec(&sealed).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        assert_eq!(
            open(&key, "latch.login", &Base64UrlUnpadded::encode_string(&raw)),
            None
        );
        assert_eq!(open(&key, "latch.login", "short"), None);
        assert_eq!(open(&key, "latch.login", "not base64!"), None);
        // Two seals of the same value differ (fresh nonce).
        assert_ne!(sealed, seal(&key, "latch.login", b"{\"token\":\"t\"}"));
    }
}
