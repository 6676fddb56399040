//! Percent-encoding as OAuth 1.0a defines it (RFC 5849 §3.6) and
//! percent-decoding (RFC 3986 §2.1), with the `+`-is-space rule of
//! `application/x-www-form-urlencoded` as an option.
//!
//! Encoding leaves exactly the unreserved characters `A-Z a-z 0-9 - . _ ~`
//! alone and writes every other byte as `%XX` with upper-case hex digits.
//! Decoding is strict: a `%` not followed by two hex digits is an error, and
//! so is a decoded value that is not UTF-8 (RFC 5849 §3.6: text is UTF-8).

use crate::buf::{BufferTooSmall, Sink, SliceWriter};
use crate::utf8::Utf8Validator;
use core::fmt;

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Whether `b` is left as it is by §3.6 encoding.
#[inline]
pub const fn is_unreserved(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~')
}

/// The `%XX` escape of a byte, upper-case hex.
#[inline]
pub(crate) fn escape(b: u8) -> [u8; 3] {
    let hi = HEX_UPPER.get(usize::from(b >> 4)).copied().unwrap_or(b'0');
    let lo = HEX_UPPER
        .get(usize::from(b & 0x0F))
        .copied()
        .unwrap_or(b'0');
    [b'%', hi, lo]
}

/// Streams the §3.6 encoding of `input` into `sink`, writing runs of
/// unreserved bytes in one piece.
pub fn encode_into<S: Sink + ?Sized>(input: &[u8], sink: &mut S) {
    let mut rest = input;
    while !rest.is_empty() {
        let run = rest
            .iter()
            .position(|&b| !is_unreserved(b))
            .unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(run);
        if !plain.is_empty() {
            sink.put(plain);
        }
        match tail.split_first() {
            Some((&b, after)) => {
                sink.put(&escape(b));
                rest = after;
            }
            None => rest = tail,
        }
    }
}

/// The length of the §3.6 encoding of `input`.
pub fn encoded_len(input: &[u8]) -> usize {
    input
        .iter()
        .map(|&b| if is_unreserved(b) { 1usize } else { 3 })
        .fold(0usize, usize::saturating_add)
}

/// Writes the §3.6 encoding of `input` into `out`; returns its length.
pub fn encode_to_slice(input: &[u8], out: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = SliceWriter::new(out);
    encode_into(input, &mut w);
    w.finish()
}

/// An iterator over the §3.6 encoding of a byte iterator.
#[derive(Debug, Clone)]
pub struct Encode<I> {
    inner: I,
    pending: [u8; 2],
    pending_len: u8,
}

impl<I: Iterator<Item = u8>> Encode<I> {
    /// Encodes the bytes `inner` yields.
    pub fn new(inner: I) -> Self {
        Encode {
            inner,
            pending: [0; 2],
            pending_len: 0,
        }
    }
}

impl<I: Iterator<Item = u8>> Iterator for Encode<I> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        match self.pending_len {
            2 => {
                self.pending_len = 1;
                return Some(self.pending[0]);
            }
            1 => {
                self.pending_len = 0;
                return Some(self.pending[1]);
            }
            _ => {}
        }
        let b = self.inner.next()?;
        if is_unreserved(b) {
            Some(b)
        } else {
            let [pct, hi, lo] = escape(b);
            self.pending = [hi, lo];
            self.pending_len = 2;
            Some(pct)
        }
    }
}

/// How `+` is read while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Mode {
    /// RFC 3986: `+` is a literal plus sign (used for `Authorization` header
    /// values, RFC 5849 §3.5.1).
    Strict,
    /// `application/x-www-form-urlencoded`: `+` is a space (form bodies and,
    /// per RFC 5849 §3.4.1.3.1, query strings).
    Form,
}

/// Why decoding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DecodeError {
    /// A `%` at this byte offset is not followed by two hex digits.
    InvalidEscape {
        /// Offset of the `%` in the input.
        offset: usize,
    },
    /// The decoded bytes are not UTF-8.
    InvalidUtf8,
    /// The caller's output buffer is too small.
    BufferTooSmall(BufferTooSmall),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::InvalidEscape { offset } => {
                write!(f, "invalid percent-encoding at byte {offset}")
            }
            DecodeError::InvalidUtf8 => f.write_str("decoded text is not UTF-8"),
            DecodeError::BufferTooSmall(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for DecodeError {}

#[inline]
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(b.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(b.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

/// Decodes the escape that starts `input` (which begins with `%`).
#[inline]
fn escape_at(input: &[u8]) -> Option<u8> {
    match input {
        [b'%', h, l, ..] => Some((hex_val(*h)? << 4) | hex_val(*l)?),
        _ => None,
    }
}

/// Checks that `input` decodes cleanly in `mode`: every `%` starts a valid
/// escape and the decoded bytes are UTF-8.
pub fn validate(input: &[u8], mode: Mode) -> Result<(), DecodeError> {
    // Fast path: plain ASCII without escapes decodes to itself.
    if input.iter().all(|&b| b < 0x80 && b != b'%') {
        return Ok(());
    }
    let _ = mode; // `+` decodes to ASCII either way; UTF-8 validity is unaffected.
    let mut utf8 = Utf8Validator::new();
    let mut i = 0usize;
    while let Some(rest) = input.get(i..) {
        let Some(&b) = rest.first() else { break };
        let (byte, step) = if b == b'%' {
            match escape_at(rest) {
                Some(v) => (v, 3),
                None => return Err(DecodeError::InvalidEscape { offset: i }),
            }
        } else {
            (b, 1)
        };
        if !utf8.push(byte) {
            return Err(DecodeError::InvalidUtf8);
        }
        i = i.saturating_add(step);
    }
    if utf8.is_complete() {
        Ok(())
    } else {
        Err(DecodeError::InvalidUtf8)
    }
}

/// Decodes `input` into `out` and returns the text; `out` must hold at most
/// `input.len()` bytes.
pub fn decode_to_slice<'o>(
    input: &[u8],
    mode: Mode,
    out: &'o mut [u8],
) -> Result<&'o str, DecodeError> {
    validate(input, mode)?;
    let mut w = SliceWriter::new(out);
    for b in Decode::new(input, mode) {
        w.put(&[b]);
    }
    let bytes = w.into_written().map_err(DecodeError::BufferTooSmall)?;
    core::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8)
}

/// An iterator over the decoded bytes of `input`.
///
/// It does not report errors: a `%` that does not start a valid escape is
/// yielded as a literal `%`. Run [`validate`] first where that matters
/// (every [`Text`](crate::Text) handed out by a parser already was).
#[derive(Debug, Clone)]
pub struct Decode<'a> {
    rest: &'a [u8],
    mode: Mode,
}

impl<'a> Decode<'a> {
    /// Decodes `input` in `mode`.
    pub fn new(input: &'a [u8], mode: Mode) -> Self {
        Decode { rest: input, mode }
    }
}

impl Iterator for Decode<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        let (&b, after) = self.rest.split_first()?;
        match b {
            b'%' => match (escape_at(self.rest), self.rest.get(3..)) {
                (Some(v), Some(tail)) => {
                    self.rest = tail;
                    Some(v)
                }
                _ => {
                    self.rest = after;
                    Some(b'%')
                }
            },
            b'+' if self.mode == Mode::Form => {
                self.rest = after;
                Some(b' ')
            }
            _ => {
                self.rest = after;
                Some(b)
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rest.len().div_ceil(3), Some(self.rest.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc(s: &str) -> heapless::String<256> {
        let mut buf = [0u8; 256];
        let n = encode_to_slice(s.as_bytes(), &mut buf).unwrap();
        heapless::String::try_from(core::str::from_utf8(&buf[..n]).unwrap()).unwrap()
    }

    // RFC 5849 §3.6 and the examples of §3.4.1.3.2.
    #[test]
    fn rfc5849_encoding_examples() {
        assert_eq!(enc("r b"), "r%20b");
        assert_eq!(enc("=%3D"), "%3D%253D");
        assert_eq!(enc("c@"), "c%40");
        assert_eq!(
            enc("http://printer.example.com/ready"),
            "http%3A%2F%2Fprinter.example.com%2Fready"
        );
        assert_eq!(enc("AZaz09-._~"), "AZaz09-._~");
        assert_eq!(enc("+*!'()"), "%2B%2A%21%27%28%29");
        assert_eq!(enc("é"), "%C3%A9");
        assert_eq!(enc("\u{3001}"), "%E3%80%81");
    }

    #[test]
    fn encode_reports_required_size() {
        let mut buf = [0u8; 4];
        assert_eq!(
            encode_to_slice(b"a b", &mut buf),
            Err(BufferTooSmall { required: 5 })
        );
        assert_eq!(encoded_len(b"a b"), 5);
    }

    #[test]
    fn decode_modes() {
        let mut buf = [0u8; 32];
        assert_eq!(
            decode_to_slice(b"a+b%20c", Mode::Form, &mut buf),
            Ok("a b c")
        );
        assert_eq!(
            decode_to_slice(b"a+b%20c", Mode::Strict, &mut buf),
            Ok("a+b c")
        );
        assert_eq!(
            decode_to_slice(b"%e3%80%81", Mode::Strict, &mut buf),
            Ok("\u{3001}")
        );
    }

    #[test]
    fn decode_rejects_malformed() {
        let mut buf = [0u8; 32];
        assert_eq!(
            decode_to_slice(b"ab%2", Mode::Strict, &mut buf),
            Err(DecodeError::InvalidEscape { offset: 2 })
        );
        assert_eq!(
            decode_to_slice(b"%zz", Mode::Form, &mut buf),
            Err(DecodeError::InvalidEscape { offset: 0 })
        );
        assert_eq!(
            decode_to_slice(b"%C3", Mode::Form, &mut buf),
            Err(DecodeError::InvalidUtf8)
        );
        assert_eq!(
            decode_to_slice(b"%FF", Mode::Form, &mut buf),
            Err(DecodeError::InvalidUtf8)
        );
        let mut small = [0u8; 2];
        assert_eq!(
            decode_to_slice(b"abc", Mode::Form, &mut small),
            Err(DecodeError::BufferTooSmall(BufferTooSmall { required: 3 }))
        );
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(s in "\\PC*") {
            let mut enc_buf = [0u8; 1024];
            let n = encode_to_slice(s.as_bytes(), &mut enc_buf).unwrap();
            let encoded = &enc_buf[..n];
            prop_assert!(encoded.iter().all(|&b| is_unreserved(b) || b == b'%'));
            prop_assert_eq!(n, encoded_len(s.as_bytes()));
            let iter: heapless::Vec<u8, 1024> = Encode::new(s.bytes()).collect();
            prop_assert_eq!(&iter[..], encoded);
            let mut dec_buf = [0u8; 1024];
            prop_assert_eq!(decode_to_slice(encoded, Mode::Strict, &mut dec_buf), Ok(s.as_str()));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = [0u8; 64];
            for mode in [Mode::Strict, Mode::Form] {
                let checked = decode_to_slice(&bytes, mode, &mut buf).is_ok();
                prop_assert_eq!(checked, validate(&bytes, mode).is_ok());
                prop_assert!(Decode::new(&bytes, mode).count() <= bytes.len());
            }
        }
    }
}
