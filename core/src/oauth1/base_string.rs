//! The signature base string (RFC 5849 §3.4.1), streamed.
//!
//! `METHOD & enc(base-uri) & enc(normalised-params)`, where the normalised
//! parameters (§3.4.1.3.2) are `enc(name)=enc(value)` joined by `&` in sorted
//! order — so every parameter byte is encoded twice. Both encodings happen
//! in one pass, straight into the sink (a MAC, in practice); the string never
//! exists in memory as a whole.

use super::params::Param;
use crate::buf::Sink;
use crate::percent;
use crate::text::Text;
use crate::url::Url;
use core::cmp::Ordering;

/// A sink adapter that §3.6-encodes everything written through it.
struct Encoding<'s, S: Sink + ?Sized>(&'s mut S);

impl<S: Sink + ?Sized> Sink for Encoding<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        percent::encode_into(bytes, self.0);
    }
}

/// A small staging buffer in front of a sink, written with fixed-size
/// stores (a byte, or the five of `%25XX`): a variable-length copy per input
/// byte compiles to a `memcpy` call per byte, which was a third of a large
/// request's signing time.
const CHUNK_LEN: usize = 128;

struct Chunk<'s, S: Sink + ?Sized + 's> {
    sink: &'s mut S,
    buf: [u8; CHUNK_LEN],
    len: usize,
}

impl<'s, S: Sink + ?Sized + 's> Chunk<'s, S> {
    const LEN: usize = CHUNK_LEN;

    fn new(sink: &'s mut S) -> Self {
        Chunk {
            sink,
            buf: [0; CHUNK_LEN],
            len: 0,
        }
    }

    #[inline]
    fn room(&mut self, n: usize) {
        if self.len.saturating_add(n) > Self::LEN {
            self.sink.put(self.buf.get(..self.len).unwrap_or(&[]));
            self.len = 0;
        }
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.room(1);
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
        }
        self.len = self.len.saturating_add(1);
    }

    /// `enc(enc(b))` for a byte that is not unreserved: `%25XX`.
    #[inline]
    fn escaped_twice(&mut self, b: u8) {
        self.room(5);
        let [_, hi, lo] = percent::escape(b);
        let end = self.len.saturating_add(5);
        if let Some(dst) = self
            .buf
            .get_mut(self.len..end)
            .and_then(|d| <&mut [u8; 5]>::try_from(d).ok())
        {
            *dst = [b'%', b'2', b'5', hi, lo];
        }
        self.len = end;
    }

    fn finish(self) {
        self.sink.put(self.buf.get(..self.len).unwrap_or(&[]));
    }
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b.wrapping_sub(b'0')),
        b'a'..=b'f' => Some(b.wrapping_sub(b'a').wrapping_add(10)),
        b'A'..=b'F' => Some(b.wrapping_sub(b'A').wrapping_add(10)),
        _ => None,
    }
}

/// For encoded text that decoding changes (so it is percent-encoded text a
/// parser validated): whether its `+` decodes to a space (form encoding) or
/// stays a `+` (RFC 3986). Asked of the decoder at the first `+`, whose
/// decoded position is its raw one less two for every `%XX` before it.
fn plus_is_space(text: &Text<'_>) -> bool {
    let raw = text.raw();
    let Some(pos) = raw.iter().position(|&b| b == b'+') else {
        return false;
    };
    let escapes = raw
        .get(..pos)
        .unwrap_or(&[])
        .iter()
        .filter(|&&b| b == b'%')
        .count();
    let index = pos.saturating_sub(escapes.saturating_mul(2));
    text.decoded().nth(index) == Some(b' ')
}

/// Writes `enc(enc(text))`: unreserved bytes as they are, every other
/// decoded byte `b` as `%25XX`. Works on the raw bytes, decoding `%XX` and
/// `+` in place, rather than through the byte-at-a-time decoder.
fn put_double_encoded<S: Sink + ?Sized>(text: &Text<'_>, sink: &mut S) {
    if text.is_simple() {
        sink.put(text.raw());
        return;
    }
    let raw = text.raw();
    // Verbatim: the decoded bytes are the raw ones (plain text, or encoded
    // text without escapes). Otherwise it is validated encoded text.
    let verbatim = text.is_verbatim();
    let plus_space = !verbatim && plus_is_space(text);
    let mut out = Chunk::new(sink);
    let mut rest = raw;
    while let Some((&b, after)) = rest.split_first() {
        if super::params::is_unreserved(b) {
            out.byte(b);
            rest = after;
            continue;
        }
        let decoded = match (verbatim, b, after) {
            (false, b'%', [h, l, tail @ ..]) => match (hex_val(*h), hex_val(*l)) {
                (Some(h), Some(l)) => {
                    rest = tail;
                    (h << 4) | l
                }
                _ => {
                    rest = after;
                    b
                }
            },
            (false, b'+', _) if plus_space => {
                rest = after;
                b' '
            }
            _ => {
                rest = after;
                b
            }
        };
        if super::params::is_unreserved(decoded) {
            out.byte(decoded);
        } else {
            out.escaped_twice(decoded);
        }
    }
    out.finish();
}

/// Streams the base string for `method` and `url` over the parameters of
/// `a` and `b` merged, each already sorted by [`Param::cmp_normalized`].
///
/// `a` is typically the query and body parameters, `b` the protocol
/// parameters; neither may contain `oauth_signature` (§3.4.1.3.1).
pub fn write_base_string<S: Sink + ?Sized>(
    sink: &mut S,
    method: &str,
    url: &Url<'_>,
    a: &[Param<'_>],
    b: &[Param<'_>],
) {
    let mut upper = [0u8; 16];
    for piece in method.as_bytes().chunks(upper.len()) {
        let dst = upper.get_mut(..piece.len()).unwrap_or(&mut []);
        dst.copy_from_slice(piece);
        dst.make_ascii_uppercase();
        percent::encode_into(dst, sink);
    }
    sink.put(b"&");
    url.write_base_uri(&mut Encoding(&mut *sink));
    sink.put(b"&");

    let (mut a, mut b) = (a, b);
    let mut first = true;
    loop {
        let next = match (a.split_first(), b.split_first()) {
            (Some((pa, ra)), Some((pb, rb))) => {
                if pa.cmp_normalized(pb) != Ordering::Greater {
                    a = ra;
                    pa
                } else {
                    b = rb;
                    pb
                }
            }
            (Some((pa, ra)), None) => {
                a = ra;
                pa
            }
            (None, Some((pb, rb))) => {
                b = rb;
                pb
            }
            (None, None) => break,
        };
        if !first {
            sink.put(b"%26");
        }
        first = false;
        put_double_encoded(&next.name, sink);
        sink.put(b"%3D");
        put_double_encoded(&next.value, sink);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::Mode;
    use std::vec::Vec;

    /// The definition, byte by byte through the decoder.
    fn reference(text: &Text<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        for b in text.decoded() {
            if percent::is_unreserved(b) {
                out.push(b);
            } else {
                let [_, hi, lo] = percent::escape(b);
                out.extend_from_slice(&[b'%', b'2', b'5', hi, lo]);
            }
        }
        out
    }

    struct Collect(Vec<u8>);
    impl Sink for Collect {
        fn put(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
    }

    fn check(text: Text<'_>) {
        let mut got = Collect(Vec::new());
        put_double_encoded(&text, &mut got);
        assert_eq!(
            got.0,
            reference(&text),
            "{:?}",
            core::str::from_utf8(text.raw())
        );
    }

    #[test]
    fn double_encoding_matches_the_decoder() {
        let long = "a%20b+c/".repeat(40);
        let samples = [
            "",
            "abc",
            "a+b",
            "a%2Bb+c",
            "%41%7e%7E+",
            "caf%C3%A9 ok",
            "100%25+sure%21",
            "x+%2B+y",
            "+++",
            "%2B",
            "!*'();:@&=$,/?#[]",
            long.as_str(),
        ];
        for s in samples {
            check(Text::plain(s));
            for mode in [Mode::Strict, Mode::Form] {
                if let Ok(t) = Text::encoded(s.as_bytes(), mode) {
                    check(t);
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn double_encoding_matches_the_decoder_for_any_text(
            s in "([a-zA-Z0-9+ %!*~._/-]|%[0-9a-fA-F]{2}|é){0,40}"
        ) {
            check(Text::plain(&s));
            for mode in [Mode::Strict, Mode::Form] {
                if let Ok(t) = Text::encoded(s.as_bytes(), mode) {
                    check(t);
                }
            }
        }
    }
}
