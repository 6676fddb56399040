//! Base64url without padding (RFC 7515 §2, RFC 4648 §5), as JOSE uses it:
//! checked without a buffer while parsing, decoded into the caller's
//! buffer on demand, encoded straight into an output slice or a [`Sink`].
//!
//! Only canonical text is accepted: no `=`, no length of the form 4k+1,
//! and the unused low bits of the last character are zero (RFC 4648
//! §3.5), so every byte string has exactly one spelling and a JWS cannot
//! be altered without changing what it decodes to.

use super::JoseError;
use crate::buf::{BufferTooSmall, Sink};
use base64ct::{Base64UrlUnpadded, Encoding as _};
use core::fmt;

/// The value of a base64url character, or `None`.
const fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c.wrapping_sub(b'A')),
        b'a'..=b'z' => Some(c.wrapping_sub(b'a').wrapping_add(26)),
        b'0'..=b'9' => Some(c.wrapping_sub(b'0').wrapping_add(52)),
        b'-' => Some(62),
        b'_' => Some(63),
        _ => None,
    }
}

/// Checks that `text` is canonical unpadded base64url and returns the
/// length it decodes to.
pub(crate) fn check(text: &[u8]) -> Result<usize, JoseError> {
    let mut last = 0u8;
    for &c in text {
        last = sextet(c).ok_or(JoseError::Malformed)?;
    }
    // Bits of the last character that carry no data: 4 after 2 chars, 2
    // after 3 (RFC 4648 §3.5).
    let unused_mask = match text.len() % 4 {
        0 => 0,
        2 => 0b1111,
        3 => 0b11,
        _ => return Err(JoseError::Malformed),
    };
    if last & unused_mask != 0 {
        return Err(JoseError::Malformed);
    }
    Ok(decoded_len(text.len()))
}

/// How many bytes `len` characters of valid unpadded base64url decode to.
pub(crate) const fn decoded_len(len: usize) -> usize {
    let whole = (len / 4).saturating_mul(3);
    whole.saturating_add(match len % 4 {
        2 => 1,
        3 => 2,
        _ => 0,
    })
}

/// How many characters `len` bytes encode to (saturating).
pub(crate) const fn encoded_len(len: usize) -> usize {
    let whole = (len / 3).saturating_mul(4);
    whole.saturating_add(match len % 3 {
        1 => 2,
        2 => 3,
        _ => 0,
    })
}

/// Decodes checked text into `out`.
pub(crate) fn decode<'b>(text: &[u8], out: &'b mut [u8]) -> Result<&'b [u8], JoseError> {
    let required = decoded_len(text.len());
    let dst = out
        .get_mut(..required)
        .ok_or(JoseError::BufferTooSmall(BufferTooSmall { required }))?;
    Base64UrlUnpadded::decode(text, dst).map_err(|_| JoseError::Malformed)
}

/// Decodes checked text of exactly `N` bytes.
pub(crate) fn decode_array<const N: usize>(text: &[u8]) -> Result<[u8; N], JoseError> {
    if decoded_len(text.len()) != N {
        return Err(JoseError::Malformed);
    }
    let mut out = [0u8; N];
    decode(text, &mut out)?;
    Ok(out)
}

/// Encodes `bytes` into the start of `out`, returning the length.
pub(crate) fn encode(bytes: &[u8], out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let required = encoded_len(bytes.len());
    let dst = out.get_mut(..required).ok_or(BufferTooSmall { required })?;
    Base64UrlUnpadded::encode(bytes, dst)
        .map(str::len)
        .map_err(|_| BufferTooSmall { required })
}

/// Encodes `bytes` into a [`Sink`], 48 bytes (64 characters) at a time.
pub(crate) fn encode_to(bytes: &[u8], sink: &mut impl Sink) {
    let mut text = [0u8; 64];
    for chunk in bytes.chunks(48) {
        if let Ok(s) = Base64UrlUnpadded::encode(chunk, &mut text) {
            sink.put(s.as_bytes());
        }
    }
}

/// Base64url text borrowed from a parsed document, known to be canonical
/// and unpadded (for example an RSA JWK's `n` and `e`, RFC 7518 §6.3.1).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Base64Url<'a>(&'a str);

impl<'a> Base64Url<'a> {
    /// Checks `text`.
    pub fn new(text: &'a str) -> Result<Self, JoseError> {
        check(text.as_bytes())?;
        Ok(Base64Url(text))
    }

    /// The text as it appeared.
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// How many bytes it decodes to.
    pub const fn decoded_len(&self) -> usize {
        decoded_len(self.0.len())
    }

    /// The decoded bytes, written into the start of `out`.
    pub fn decode<'b>(&self, out: &'b mut [u8]) -> Result<&'b [u8], JoseError> {
        decode(self.0.as_bytes(), out)
    }

    /// The first decoded byte (`None` when empty), without a buffer.
    pub(crate) fn first_byte(&self) -> Option<u8> {
        let mut it = self.0.bytes().filter_map(sextet);
        let hi = it.next()?;
        let lo = it.next()?;
        Some(hi.wrapping_shl(2) | lo.wrapping_shr(4))
    }
}

impl fmt::Debug for Base64Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Base64Url").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_text_only() {
        assert_eq!(check(b""), Ok(0));
        assert_eq!(check(b"AQAB"), Ok(3));
        assert_eq!(check(b"eyJhbGciOiJFUzI1NiJ9"), Ok(15));
        for bad in [
            &b"A"[..],
            b"AQAB=",
            b"AQ==",
            b"AB",
            b"AAB",
            b"a+bc",
            b"a/bc",
            b"ab c",
        ] {
            assert_eq!(check(bad), Err(JoseError::Malformed), "{bad:?}");
        }
        assert_eq!(check(b"AA"), Ok(1));
        assert_eq!(check(b"AAE"), Ok(2));
        let mut out = [0u8; 3];
        assert_eq!(decode(b"AQAB", &mut out), Ok(&[1u8, 0, 1][..]));
        let mut small = [0u8; 2];
        assert_eq!(
            decode(b"AQAB", &mut small),
            Err(JoseError::BufferTooSmall(BufferTooSmall { required: 3 }))
        );
        assert_eq!(Base64Url::new("AQAB").unwrap().first_byte(), Some(1));
        assert_eq!(Base64Url::new("").unwrap().first_byte(), None);
        assert!(Base64Url::new("AQA=").is_err());
    }

    proptest! {
        #[test]
        fn encode_check_decode_agree(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut text = [0u8; 300];
            let n = encode(&bytes, &mut text).unwrap();
            prop_assert_eq!(n, encoded_len(bytes.len()));
            prop_assert_eq!(check(&text[..n]), Ok(bytes.len()));
            let mut back = [0u8; 200];
            prop_assert_eq!(decode(&text[..n], &mut back).unwrap(), &bytes[..]);
            let mut streamed = heapless::Vec::<u8, 300>::new();
            struct V<'v>(&'v mut heapless::Vec<u8, 300>);
            impl Sink for V<'_> {
                fn put(&mut self, b: &[u8]) {
                    self.0.extend_from_slice(b).unwrap();
                }
            }
            encode_to(&bytes, &mut V(&mut streamed));
            prop_assert_eq!(&streamed[..], &text[..n]);
            let b = Base64Url::new(core::str::from_utf8(&text[..n]).unwrap()).unwrap();
            prop_assert_eq!(b.first_byte(), bytes.first().copied());
            if n > 0 {
                prop_assert!(encode(&bytes, &mut text[..n - 1]).is_err());
            }
        }

        #[test]
        fn check_matches_base64ct(text in "[A-Za-z0-9_=+/-]{0,40}") {
            let mut out = [0u8; 40];
            let ours = check(text.as_bytes()).is_ok();
            let theirs = Base64UrlUnpadded::decode(text.as_bytes(), &mut out).is_ok();
            prop_assert_eq!(ours, theirs);
        }
    }
}
