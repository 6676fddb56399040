//! [`Text`]: a parameter name or value borrowed from its source, still in the
//! encoding it arrived in, decoded lazily.

use crate::buf::{BufferTooSmall, CapacityError, Sink};
use crate::percent::{self, Decode, DecodeError, Encode, Mode};
use core::cmp::Ordering;
use core::fmt;

/// A piece of text borrowed from a request: either plain (given by the
/// caller as it is) or still percent-encoded as it appeared in a query
/// string, form body or `Authorization` header.
///
/// Encoded text handed out by this crate's parsers has been validated: it
/// decodes without error to UTF-8.
#[derive(Clone, Copy)]
pub struct Text<'a> {
    raw: &'a [u8],
    kind: Kind,
    /// Every raw byte is unreserved (§3.6): decoding and encoding both
    /// leave the text as it is. Computed once, it lets sorting, comparing and
    /// writing work on the raw slice.
    simple: bool,
}

/// Whether every byte is unreserved (RFC 5849 §3.6).
const fn all_unreserved(raw: &[u8]) -> bool {
    let mut rest = raw;
    while let [b, tail @ ..] = rest {
        if !percent::is_unreserved(*b) {
            return false;
        }
        rest = tail;
    }
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    Encoded(Mode),
}

impl<'a> Text<'a> {
    /// Text taken literally.
    pub const fn plain(s: &'a str) -> Self {
        Text {
            raw: s.as_bytes(),
            kind: Kind::Plain,
            simple: all_unreserved(s.as_bytes()),
        }
    }

    /// Percent-encoded text, validated here.
    pub fn encoded(raw: &'a [u8], mode: Mode) -> Result<Self, DecodeError> {
        let simple = all_unreserved(raw);
        if !simple {
            percent::validate(raw, mode)?;
        }
        Ok(Text {
            raw,
            kind: Kind::Encoded(mode),
            simple,
        })
    }

    /// Percent-encoded text whose "all unreserved" flag the caller computed
    /// while scanning it; validation is the caller's job too.
    pub(crate) const fn encoded_prescanned(raw: &'a [u8], mode: Mode, simple: bool) -> Self {
        Text {
            raw,
            kind: Kind::Encoded(mode),
            simple,
        }
    }

    /// The bytes as they appeared in the source.
    pub const fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether the decoded text is empty.
    pub const fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Whether the text is made of unreserved characters only, so that its
    /// raw, decoded and §3.6-encoded forms are the same bytes.
    pub const fn is_simple(&self) -> bool {
        self.simple
    }

    /// Whether decoding leaves the raw bytes as they are.
    pub fn is_verbatim(&self) -> bool {
        if self.simple {
            return true;
        }
        match self.kind {
            Kind::Plain => true,
            Kind::Encoded(Mode::Strict) => !self.raw.contains(&b'%'),
            Kind::Encoded(Mode::Form) => !self.raw.iter().any(|&b| b == b'%' || b == b'+'),
        }
    }

    /// The decoded bytes, one at a time.
    pub fn decoded(&self) -> Decoded<'a> {
        Decoded(match self.kind {
            Kind::Plain => DecodedInner::Plain(self.raw.iter()),
            Kind::Encoded(mode) => DecodedInner::Encoded(Decode::new(self.raw, mode)),
        })
    }

    /// The decoded text: borrowed from the source when decoding changes
    /// nothing, otherwise decoded into `buf`.
    pub fn decode<'s>(&'s self, buf: &'s mut [u8]) -> Result<&'s str, BufferTooSmall> {
        if let (true, Ok(s)) = (self.is_verbatim(), core::str::from_utf8(self.raw)) {
            return Ok(s);
        }
        let mode = match self.kind {
            Kind::Plain => Mode::Strict,
            Kind::Encoded(mode) => mode,
        };
        match percent::decode_to_slice(self.raw, mode, buf) {
            Ok(s) => Ok(s),
            Err(DecodeError::BufferTooSmall(e)) => Err(e),
            // Validated text cannot fail otherwise; report the worst case.
            Err(_) => Err(BufferTooSmall {
                required: self.raw.len(),
            }),
        }
    }

    /// The decoded text copied into a fixed-capacity string; longer text is
    /// a [`CapacityError`]. (Decoded text that is not UTF-8 — impossible for
    /// text from this crate's parsers, which validate it — is refused with
    /// the same error rather than guessed at.)
    pub fn to_heapless<const N: usize>(&self) -> Result<heapless::String<N>, CapacityError> {
        let mut bytes = heapless::Vec::<u8, N>::new();
        for b in self.decoded() {
            bytes.push(b).map_err(|_| CapacityError { capacity: N })?;
        }
        // Validated and plain texts decode to UTF-8; anything else is refused
        // rather than guessed at.
        heapless::String::from_utf8(bytes).map_err(|_| CapacityError { capacity: N })
    }

    /// Whether the decoded text equals `s`.
    pub fn eq_str(&self, s: &str) -> bool {
        if self.is_verbatim() {
            return self.raw == s.as_bytes();
        }
        self.decoded().eq(s.bytes())
    }

    /// Whether the decoded text starts with `prefix`.
    pub fn starts_with(&self, prefix: &str) -> bool {
        let mut d = self.decoded();
        prefix.bytes().all(|p| d.next() == Some(p))
    }

    /// The RFC 5849 §3.6 encoding of the decoded text, one byte at a time.
    pub fn oauth_encoded(&self) -> Encode<Decoded<'a>> {
        Encode::new(self.decoded())
    }

    /// Streams the RFC 5849 §3.6 encoding of the decoded text into `sink`.
    pub fn write_oauth_encoded<S: Sink + ?Sized>(&self, sink: &mut S) {
        if self.simple {
            sink.put(self.raw);
            return;
        }
        if self.is_verbatim() {
            percent::encode_into(self.raw, sink);
            return;
        }
        let mut chunk = [0u8; 64];
        let mut len = 0usize;
        for b in self.decoded() {
            let escaped;
            let piece: &[u8] = if percent::is_unreserved(b) {
                core::slice::from_ref(&b)
            } else {
                escaped = percent::escape(b);
                &escaped
            };
            if len.saturating_add(piece.len()) > chunk.len() {
                sink.put(chunk.get(..len).unwrap_or(&[]));
                len = 0;
            }
            let end = len.saturating_add(piece.len());
            if let Some(dst) = chunk.get_mut(len..end) {
                dst.copy_from_slice(piece);
                len = end;
            }
        }
        sink.put(chunk.get(..len).unwrap_or(&[]));
    }

    /// Orders two texts by their §3.6 encodings, byte by byte — the order of
    /// RFC 5849 §3.4.1.3.2 parameter normalisation.
    pub fn cmp_oauth_encoded(&self, other: &Text<'_>) -> Ordering {
        if self.simple && other.simple {
            return self.raw.cmp(other.raw);
        }
        self.oauth_encoded().cmp(other.oauth_encoded())
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = core::str::from_utf8(self.raw).unwrap_or("<not UTF-8>");
        match self.kind {
            Kind::Plain => f.debug_tuple("Text::Plain").field(&shown).finish(),
            Kind::Encoded(mode) => f
                .debug_tuple("Text::Encoded")
                .field(&mode)
                .field(&shown)
                .finish(),
        }
    }
}

/// Two texts are equal when they decode to the same bytes.
impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.decoded().eq(other.decoded())
    }
}

impl Eq for Text<'_> {}

/// The decoded bytes of a [`Text`].
#[derive(Debug, Clone)]
pub struct Decoded<'a>(DecodedInner<'a>);

#[derive(Debug, Clone)]
enum DecodedInner<'a> {
    Plain(core::slice::Iter<'a, u8>),
    Encoded(Decode<'a>),
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    #[inline]
    fn next(&mut self) -> Option<u8> {
        match &mut self.0 {
            DecodedInner::Plain(it) => it.next().copied(),
            DecodedInner::Encoded(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_borrows_when_verbatim() {
        let t = Text::encoded(b"abc", Mode::Form).unwrap();
        let mut buf = [0u8; 0];
        assert_eq!(t.decode(&mut buf), Ok("abc"));
    }

    #[test]
    fn decode_uses_buffer_when_needed() {
        let t = Text::encoded(b"a+b%21", Mode::Form).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(t.decode(&mut buf), Ok("a b!"));
        let mut small = [0u8; 2];
        assert!(t.decode(&mut small).is_err());
        assert!(t.eq_str("a b!"));
        assert!(!t.eq_str("a+b!"));
    }

    #[test]
    fn equality_is_on_decoded_text() {
        let a = Text::encoded(b"r%20b", Mode::Strict).unwrap();
        let b = Text::encoded(b"r+b", Mode::Form).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Text::plain("r b"));
    }

    #[test]
    fn oauth_encoding_of_form_text() {
        let t = Text::encoded(b"2+q", Mode::Form).unwrap();
        let v: heapless::Vec<u8, 16> = t.oauth_encoded().collect();
        assert_eq!(&v[..], b"2%20q");
        let mut w = heapless::Vec::<u8, 16>::new();
        struct V<'v>(&'v mut heapless::Vec<u8, 16>);
        impl Sink for V<'_> {
            fn put(&mut self, b: &[u8]) {
                self.0.extend_from_slice(b).unwrap();
            }
        }
        t.write_oauth_encoded(&mut V(&mut w));
        assert_eq!(&w[..], b"2%20q");
    }

    #[test]
    fn normalisation_order_is_on_encoded_bytes() {
        // '/' (0x2F) sorts after '-' raw, but its encoding "%2F" sorts before.
        let slash = Text::plain("/");
        let dash = Text::plain("-");
        assert_eq!(slash.cmp_oauth_encoded(&dash), Ordering::Less);
        assert_eq!(
            Text::plain("a").cmp_oauth_encoded(&Text::plain("a2")),
            Ordering::Less
        );
    }
}
