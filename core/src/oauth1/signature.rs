//! Signature methods (RFC 5849 §3.4.2 HMAC-SHA1, §3.4.3 PLAINTEXT, and
//! HMAC-SHA256 as widely deployed) and the signing key (§3.4.2):
//! `enc(consumer_secret) & enc(token_secret)`.
//!
//! The key is streamed too: up to the hash's 64-byte block it is kept in a
//! zero-padded block (which is exactly how HMAC pads it); past that it is
//! hashed as it arrives, which is how HMAC shortens long keys (RFC 2104 §2).

use crate::buf::{Sink, Staged, digest_update::Update};
use crate::percent;
use crate::text::Text;
use base64ct::{Base64, Encoding as _};
use core::fmt;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How a request is signed (`oauth_signature_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SignatureMethod {
    /// `HMAC-SHA1` (§3.4.2).
    HmacSha1,
    /// `HMAC-SHA256`: §3.4.2 with SHA-256.
    HmacSha256,
    /// `PLAINTEXT` (§3.4.4): the key itself; only over TLS.
    Plaintext,
}

impl SignatureMethod {
    /// The protocol name.
    pub const fn as_str(self) -> &'static str {
        match self {
            SignatureMethod::HmacSha1 => "HMAC-SHA1",
            SignatureMethod::HmacSha256 => "HMAC-SHA256",
            SignatureMethod::Plaintext => "PLAINTEXT",
        }
    }

    /// The method with this protocol name (exact, case-sensitive).
    pub fn from_name(name: &Text<'_>) -> Option<Self> {
        [
            SignatureMethod::HmacSha1,
            SignatureMethod::HmacSha256,
            SignatureMethod::Plaintext,
        ]
        .into_iter()
        .find(|m| name.eq_str(m.as_str()))
    }
}

impl fmt::Display for SignatureMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two shared secrets a signature is keyed with. `Debug` never shows
/// them.
#[derive(Clone, Copy, Default)]
pub struct Secrets<'a> {
    /// The client (consumer) secret.
    pub consumer_secret: &'a str,
    /// The token secret; empty when there is no token yet.
    pub token_secret: &'a str,
}

impl<'a> Secrets<'a> {
    /// Secrets for a request made with a token.
    pub const fn new(consumer_secret: &'a str, token_secret: &'a str) -> Self {
        Secrets {
            consumer_secret,
            token_secret,
        }
    }

    /// Streams the key `enc(consumer_secret)&enc(token_secret)`.
    pub(crate) fn write_key<S: Sink + ?Sized>(&self, sink: &mut S) {
        percent::encode_into(self.consumer_secret.as_bytes(), sink);
        sink.put(b"&");
        percent::encode_into(self.token_secret.as_bytes(), sink);
    }
}

impl fmt::Debug for Secrets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("consumer_secret", &"<redacted>")
            .field("token_secret", &"<redacted>")
            .finish()
    }
}

const BLOCK: usize = 64;

/// Collects an HMAC key: kept in a zero-padded block while it fits, hashed
/// once it does not.
struct KeyBlock<D: Digest + Default> {
    block: [u8; BLOCK],
    len: usize,
    hasher: Option<D>,
}

impl<D: Digest + Default> KeyBlock<D> {
    fn new() -> Self {
        KeyBlock {
            block: [0; BLOCK],
            len: 0,
            hasher: None,
        }
    }

    /// The HMAC key block K' of RFC 2104 (before the ipad/opad XOR).
    fn finish(mut self) -> [u8; BLOCK] {
        if let Some(h) = self.hasher.take() {
            let digest = h.finalize();
            let mut block = [0u8; BLOCK];
            let n = digest.len().min(BLOCK);
            if let (Some(dst), Some(src)) = (block.get_mut(..n), digest.get(..n)) {
                dst.copy_from_slice(src);
            }
            block
        } else {
            self.block
        }
    }
}

impl<D: Digest + Default> Sink for KeyBlock<D> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(h) = self.hasher.as_mut() {
            h.update(bytes);
            return;
        }
        let end = self.len.saturating_add(bytes.len());
        if let Some(dst) = self.block.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
            self.len = end;
        } else {
            let mut h = D::default();
            h.update(self.block.get(..self.len).unwrap_or(&[]));
            h.update(bytes);
            self.hasher = Some(h);
            self.block = [0; BLOCK];
        }
    }
}

struct MacUpdate<M: Mac>(M);

impl<M: Mac> Update for MacUpdate<M> {
    fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

struct DigestUpdate<D: Digest>(D);

impl<D: Digest> Update for DigestUpdate<D> {
    fn update(&mut self, bytes: &[u8]) {
        Digest::update(&mut self.0, bytes);
    }
}

/// A computed HMAC signature.
#[derive(Clone, Copy)]
pub(crate) enum Digested {
    Sha1([u8; 20]),
    Sha256([u8; 32]),
}

impl Digested {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            Digested::Sha1(d) => d,
            Digested::Sha256(d) => d,
        }
    }

    /// The base64 form sent as `oauth_signature` (28 or 44 characters).
    pub(crate) fn base64<'b>(&self, buf: &'b mut [u8; 44]) -> &'b [u8] {
        match Base64::encode(self.as_bytes(), buf) {
            Ok(s) => s.as_bytes(),
            Err(_) => &[],
        }
    }
}

fn hmac_with<D, F>(secrets: &Secrets<'_>, feed: F) -> hmac::digest::Output<Hmac<D>>
where
    D: Digest + Default + hmac::EagerHash,
    Hmac<D>: KeyInit + Mac,
    F: FnOnce(&mut dyn Sink),
{
    hmac_keyed::<D, _, _>(|key| secrets.write_key(key), feed)
}

/// HMAC over the bytes `feed` streams, keyed with the bytes `write_key`
/// streams (collected in a [`KeyBlock`]).
fn hmac_keyed<D, K, F>(write_key: K, feed: F) -> hmac::digest::Output<Hmac<D>>
where
    D: Digest + Default + hmac::EagerHash,
    Hmac<D>: KeyInit + Mac,
    K: FnOnce(&mut KeyBlock<D>),
    F: FnOnce(&mut dyn Sink),
{
    let mut key = KeyBlock::<D>::new();
    write_key(&mut key);
    let block = key.finish();
    let mac = <Hmac<D> as KeyInit>::new_from_slice(&block);
    // A 64-byte key is valid for every HMAC; `new_from_slice` cannot fail.
    let mac = match mac {
        Ok(m) => m,
        Err(_) => <Hmac<D> as KeyInit>::new(&Default::default()),
    };
    let mut staged = Staged::new(MacUpdate(mac));
    feed(&mut staged);
    staged.into_inner().0.finalize().into_bytes()
}

/// Computes an HMAC signature over the bytes `feed` streams.
pub(crate) fn hmac_sign(
    method: SignatureMethod,
    secrets: &Secrets<'_>,
    feed: impl FnOnce(&mut dyn Sink),
) -> Option<Digested> {
    let mut out20 = [0u8; 20];
    let mut out32 = [0u8; 32];
    match method {
        SignatureMethod::HmacSha1 => {
            out20.copy_from_slice(hmac_with::<Sha1, _>(secrets, feed).as_slice());
            Some(Digested::Sha1(out20))
        }
        SignatureMethod::HmacSha256 => {
            out32.copy_from_slice(hmac_with::<Sha256, _>(secrets, feed).as_slice());
            Some(Digested::Sha256(out32))
        }
        SignatureMethod::Plaintext => None,
    }
}

/// HMAC of raw key and data bytes through the same streamed key block and
/// staged MAC as a signature, both fed in uneven pieces: for RFC 2202 and
/// RFC 4231, whose keys are arbitrary bytes rather than encoded secrets.
#[cfg(any(test, feature = "selftest"))]
pub(crate) fn hmac_raw(method: SignatureMethod, key: &[u8], data: &[u8]) -> Option<Digested> {
    fn run<D>(key: &[u8], data: &[u8]) -> hmac::digest::Output<Hmac<D>>
    where
        D: Digest + Default + hmac::EagerHash,
        Hmac<D>: KeyInit + Mac,
    {
        hmac_keyed::<D, _, _>(
            |k| key.chunks(7).for_each(|piece| k.put(piece)),
            |sink| data.chunks(5).for_each(|piece| sink.put(piece)),
        )
    }
    let mut out20 = [0u8; 20];
    let mut out32 = [0u8; 32];
    match method {
        SignatureMethod::HmacSha1 => {
            out20.copy_from_slice(run::<Sha1>(key, data).as_slice());
            Some(Digested::Sha1(out20))
        }
        SignatureMethod::HmacSha256 => {
            out32.copy_from_slice(run::<Sha256>(key, data).as_slice());
            Some(Digested::Sha256(out32))
        }
        SignatureMethod::Plaintext => None,
    }
}

/// Checks a received `oauth_signature` (still percent-encoded) against the
/// expected one, in constant time with respect to the secrets.
pub(crate) fn signature_matches(
    method: SignatureMethod,
    secrets: &Secrets<'_>,
    received: &Text<'_>,
    feed: impl FnOnce(&mut dyn Sink),
) -> bool {
    match hmac_sign(method, secrets, feed) {
        Some(expected) => {
            // base64 of a 32-byte MAC is 44 characters; anything longer is wrong.
            let mut b64 = [0u8; 48];
            let mut n = 0usize;
            for b in received.decoded() {
                match b64.get_mut(n) {
                    Some(slot) => *slot = b,
                    None => return false,
                }
                n = n.saturating_add(1);
            }
            let mut raw = [0u8; 36];
            let Some(b64) = b64.get(..n) else {
                return false;
            };
            match Base64::decode(b64, &mut raw) {
                Ok(got) => bool::from(got.ct_eq(expected.as_bytes())),
                Err(_) => false,
            }
        }
        None => {
            // PLAINTEXT: compare SHA-256 digests of both sides so the
            // comparison is fixed-size and constant-time.
            let mut expected = Staged::new(DigestUpdate(Sha256::new()));
            secrets.write_key(&mut expected);
            let expected = expected.into_inner().0.finalize();
            bool::from(sha256_decoded(received).ct_eq(expected.as_slice()))
        }
    }
}

/// SHA-256 of a text's decoded bytes, streamed through a small chunk.
pub(crate) fn sha256_decoded(t: &Text<'_>) -> [u8; 32] {
    let mut h = Staged::new(DigestUpdate(Sha256::new()));
    let mut chunk = [0u8; 64];
    let mut len = 0usize;
    for b in t.decoded() {
        if len == chunk.len() {
            h.put(&chunk);
            len = 0;
        }
        if let Some(slot) = chunk.get_mut(len) {
            *slot = b;
            len = len.saturating_add(1);
        }
    }
    h.put(chunk.get(..len).unwrap_or(&[]));
    h.into_inner().0.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 2202 and RFC 4231 (HMAC-SHA1/-SHA256 through `hmac_raw`) are in
    // `crate::oauth1::rfc_vectors`, shared with the MCU self-test.

    #[test]
    fn key_of_exactly_one_block_is_not_hashed() {
        // 64-byte key: used as is (RFC 2104); must equal the plain HMAC.
        let key = [0x61u8; 64];
        let got = hmac_raw(SignatureMethod::HmacSha1, &key, b"x").unwrap();
        let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&key).unwrap();
        mac.update(b"x");
        assert_eq!(got.as_bytes(), mac.finalize().into_bytes().as_slice());
    }

    #[test]
    fn secrets_debug_is_redacted() {
        let s = Secrets::new("hunter2", "tok-secret");
        let shown = std::format!("{s:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok-secret"),
            "{shown}"
        );
    }
}
