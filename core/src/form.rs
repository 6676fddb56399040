//! A borrowing parser for `application/x-www-form-urlencoded` text: form
//! bodies and query strings (W3C HTML 4.01 §17.13.4; RFC 5849 §3.4.1.3.1
//! reads the query component the same way, so `+` is a space in both).
//!
//! Pairs are separated by `&`; a pair without `=` has an empty value; empty
//! pairs (`a=1&&b=2`) are skipped; repeated names and empty values are kept,
//! in order. Every name and value is checked as it is reached: a malformed
//! `%` escape or decoded bytes that are not UTF-8 end the iteration with an
//! error carrying the byte offset.

use crate::percent::{DecodeError, Mode};
use crate::text::Text;
use core::fmt;

/// Why a form or query string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FormError {
    /// A `%` at this offset is not followed by two hex digits.
    InvalidEscape {
        /// Byte offset in the whole input.
        offset: usize,
    },
    /// The name or value starting at this offset does not decode to UTF-8.
    InvalidUtf8 {
        /// Byte offset in the whole input.
        offset: usize,
    },
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::InvalidEscape { offset } => {
                write!(f, "invalid percent-encoding at byte {offset}")
            }
            FormError::InvalidUtf8 { offset } => {
                write!(f, "text at byte {offset} does not decode to UTF-8")
            }
        }
    }
}

impl core::error::Error for FormError {}

/// One `name=value` pair, both still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair<'a> {
    /// The name.
    pub name: Text<'a>,
    /// The value (empty when the pair had no `=`).
    pub value: Text<'a>,
}

/// Parses `input` lazily; see the module docs.
pub fn parse(input: &[u8]) -> Pairs<'_> {
    Pairs {
        rest: input,
        offset: 0,
        failed: false,
    }
}

/// Checks a whole form or query string; returns how many pairs it holds.
pub fn validate(input: &[u8]) -> Result<usize, FormError> {
    parse(input).try_fold(0usize, |n, pair| pair.map(|_| n.saturating_add(1)))
}

/// The pairs of a form or query string, in order. Fused after an error.
#[derive(Debug, Clone)]
pub struct Pairs<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

fn checked(raw: &[u8], base: usize) -> Result<Text<'_>, FormError> {
    Text::encoded(raw, Mode::Form).map_err(|e| match e {
        DecodeError::InvalidEscape { offset } => FormError::InvalidEscape {
            offset: base.saturating_add(offset),
        },
        _ => FormError::InvalidUtf8 { offset: base },
    })
}

impl<'a> Iterator for Pairs<'a> {
    type Item = Result<Pair<'a>, FormError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let end = self
                .rest
                .iter()
                .position(|&b| b == b'&')
                .unwrap_or(self.rest.len());
            let (segment, tail) = self.rest.split_at(end);
            let start = self.offset;
            // Skip the separator, if any.
            self.rest = tail.get(1..).unwrap_or(&[]);
            self.offset = start.saturating_add(end).saturating_add(1);
            if segment.is_empty() {
                continue;
            }
            let (name, value, value_start) = match segment.iter().position(|&b| b == b'=') {
                Some(eq) => {
                    let (n, v) = segment.split_at(eq);
                    (
                        n,
                        v.get(1..).unwrap_or(&[]),
                        start.saturating_add(eq).saturating_add(1),
                    )
                }
                None => (segment, &[][..], start.saturating_add(end)),
            };
            let pair = checked(name, start).and_then(|name| {
                Ok(Pair {
                    name,
                    value: checked(value, value_start)?,
                })
            });
            if pair.is_err() {
                self.failed = true;
            }
            return Some(pair);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(input: &str) -> heapless::Vec<(heapless::String<32>, heapless::String<32>), 16> {
        parse(input.as_bytes())
            .map(|p| {
                let p = p.unwrap();
                let mut nb = [0u8; 32];
                let mut vb = [0u8; 32];
                (
                    heapless::String::try_from(p.name.decode(&mut nb).unwrap()).unwrap(),
                    heapless::String::try_from(p.value.decode(&mut vb).unwrap()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn rfc5849_query_and_body() {
        // §3.4.1.3.1: query "b5=%3D%253D&a3=a&c%40=&a2=r%20b", body "c2&a3=2+q".
        let q = pairs("b5=%3D%253D&a3=a&c%40=&a2=r%20b");
        assert_eq!(q.len(), 4);
        assert_eq!((q[0].0.as_str(), q[0].1.as_str()), ("b5", "=%3D"));
        assert_eq!((q[2].0.as_str(), q[2].1.as_str()), ("c@", ""));
        assert_eq!((q[3].0.as_str(), q[3].1.as_str()), ("a2", "r b"));
        let b = pairs("c2&a3=2+q");
        assert_eq!((b[0].0.as_str(), b[0].1.as_str()), ("c2", ""));
        assert_eq!((b[1].0.as_str(), b[1].1.as_str()), ("a3", "2 q"));
    }

    #[test]
    fn repeated_keys_and_empty_segments() {
        let p = pairs("a=x%20y&&a=x%21y&=&b=");
        assert_eq!(p.len(), 4);
        assert_eq!((p[0].0.as_str(), p[0].1.as_str()), ("a", "x y"));
        assert_eq!((p[1].0.as_str(), p[1].1.as_str()), ("a", "x!y"));
        assert_eq!((p[2].0.as_str(), p[2].1.as_str()), ("", ""));
        assert_eq!((p[3].0.as_str(), p[3].1.as_str()), ("b", ""));
    }

    #[test]
    fn errors_carry_offsets() {
        assert_eq!(
            validate(b"a=1&b=%2"),
            Err(FormError::InvalidEscape { offset: 6 })
        );
        assert_eq!(
            validate(b"a=1&%zz=2"),
            Err(FormError::InvalidEscape { offset: 4 })
        );
        assert_eq!(
            validate(b"a=1&b=%FF"),
            Err(FormError::InvalidUtf8 { offset: 6 })
        );
        assert_eq!(validate(b"a=%E3%80%81"), Ok(1));
        let mut it = parse(b"a=%&b=1");
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none(), "iteration stops after an error");
    }

    proptest! {
        #[test]
        fn never_panics_and_agrees_with_validate(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let n = parse(&bytes).filter(|p| p.is_ok()).count();
            match validate(&bytes) {
                Ok(count) => prop_assert_eq!(count, n),
                Err(_) => prop_assert!(parse(&bytes).any(|p| p.is_err())),
            }
        }
    }
}
