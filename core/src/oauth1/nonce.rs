//! Nonce replay protection (RFC 5849 §3.3): a nonce may be used once per
//! timestamp, client credentials and token.
//!
//! The core reduces that combination to a 128-bit [`NonceKey`] (a truncated
//! SHA-256, so a store never holds the nonce or the credentials themselves)
//! and asks a [`NonceStore`] to record it. A key only needs remembering while
//! its timestamp could still be accepted: the verifier tells the store when
//! that stops (`forget_after`), and the store may drop it from then on.

use crate::buf::Sink;
use crate::text::Text;
use crate::time::UnixTime;
use crate::url::write_decimal;
use core::fmt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The fingerprint of one (client, token, timestamp, nonce) combination.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NonceKey(pub [u8; 16]);

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceKey(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

struct HashSink(Sha256);

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

impl NonceKey {
    /// The key for a request. Each part is §3.6-encoded and separated by `&`
    /// (which encoding never produces), so distinct combinations cannot
    /// collide by concatenation; an absent token differs from an empty one.
    pub fn new(
        consumer_key: &Text<'_>,
        token: Option<&Text<'_>>,
        timestamp: u64,
        nonce: &Text<'_>,
    ) -> Self {
        let mut h = HashSink(Sha256::new());
        consumer_key.write_oauth_encoded(&mut h);
        h.put(b"&");
        if let Some(token) = token {
            h.put(b"=");
            token.write_oauth_encoded(&mut h);
        }
        h.put(b"&");
        let mut digits = [0u8; 20];
        h.put(write_decimal(timestamp, &mut digits));
        h.put(b"&");
        nonce.write_oauth_encoded(&mut h);
        let digest = h.0.finalize();
        let mut key = [0u8; 16];
        if let Some(src) = digest.get(..16) {
            key.copy_from_slice(src);
        }
        NonceKey(key)
    }
}

/// Why a nonce was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NonceError {
    /// Seen before, and not yet forgotten.
    Replayed,
    /// No room to remember it.
    Full,
}

/// Remembers nonce keys until they can no longer be replayed.
///
/// The tokio shell implements this over its database (a unique key plus an
/// expiry column); firmware and tests use [`MemoryNonceStore`].
pub trait NonceStore {
    /// Records `key`, which may be forgotten once `now > forget_after`.
    /// Fails with [`NonceError::Replayed`] if it is already recorded.
    fn check_and_record(
        &mut self,
        key: &NonceKey,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<(), NonceError>;
}

/// A fixed table of `N` nonce keys; expired entries are reused.
#[derive(Debug, Clone)]
pub struct MemoryNonceStore<const N: usize> {
    slots: [Option<(NonceKey, UnixTime)>; N],
}

impl<const N: usize> Default for MemoryNonceStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MemoryNonceStore<N> {
    /// An empty table.
    pub const fn new() -> Self {
        MemoryNonceStore { slots: [None; N] }
    }

    /// How many keys are remembered (expired ones included until reused).
    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.is_some()).count()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<const N: usize> NonceStore for MemoryNonceStore<N> {
    fn check_and_record(
        &mut self,
        key: &NonceKey,
        forget_after: UnixTime,
        now: UnixTime,
    ) -> Result<(), NonceError> {
        let mut free = None;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            match slot {
                Some((k, until)) if *until >= now => {
                    if bool::from(k.0.ct_eq(&key.0)) {
                        return Err(NonceError::Replayed);
                    }
                }
                _ => {
                    *slot = None;
                    free.get_or_insert(i);
                }
            }
        }
        let slot = free
            .and_then(|i| self.slots.get_mut(i))
            .ok_or(NonceError::Full)?;
        *slot = Some((*key, forget_after));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ck: &str, token: Option<&str>, ts: u64, nonce: &str) -> NonceKey {
        let token = token.map(Text::plain);
        NonceKey::new(&Text::plain(ck), token.as_ref(), ts, &Text::plain(nonce))
    }

    #[test]
    fn scoped_by_client_token_and_timestamp() {
        let base = key("ck", Some("t"), 1, "n");
        assert_ne!(base, key("ck2", Some("t"), 1, "n"));
        assert_ne!(base, key("ck", Some("t2"), 1, "n"));
        assert_ne!(base, key("ck", None, 1, "n"));
        assert_ne!(key("ck", None, 1, "n"), key("ck", Some(""), 1, "n"));
        assert_ne!(base, key("ck", Some("t"), 2, "n"));
        assert_ne!(key("a", None, 1, "bc"), key("ab", None, 1, "c"));
        assert_eq!(base, key("ck", Some("t"), 1, "n"));
    }

    #[test]
    fn replay_refused_until_forgotten() {
        let mut store = MemoryNonceStore::<2>::new();
        let k = key("ck", None, 100, "n1");
        assert_eq!(
            store.check_and_record(&k, UnixTime(400), UnixTime(100)),
            Ok(())
        );
        assert_eq!(
            store.check_and_record(&k, UnixTime(400), UnixTime(399)),
            Err(NonceError::Replayed)
        );
        assert_eq!(
            store.check_and_record(&k, UnixTime(400), UnixTime(400)),
            Err(NonceError::Replayed)
        );
        // Past forget_after the slot is free again.
        assert_eq!(
            store.check_and_record(&k, UnixTime(700), UnixTime(401)),
            Ok(())
        );
    }

    #[test]
    fn full_table_is_an_error() {
        let mut store = MemoryNonceStore::<2>::new();
        let now = UnixTime(10);
        for n in ["a", "b"] {
            store
                .check_and_record(&key("ck", None, 10, n), UnixTime(20), now)
                .unwrap();
        }
        assert_eq!(
            store.check_and_record(&key("ck", None, 10, "c"), UnixTime(20), now),
            Err(NonceError::Full)
        );
        assert_eq!(store.len(), 2);
        // Expired entries make room.
        assert_eq!(
            store.check_and_record(&key("ck", None, 30, "c"), UnixTime(40), UnixTime(21)),
            Ok(())
        );
    }
}
