//! Request parameters and their normalisation (RFC 5849 §3.4.1.3).

use crate::buf::CapacityError;
use crate::form::{self, FormError, Pair};
use crate::percent::{self, Mode};
use crate::text::Text;
use core::cmp::Ordering;
use core::fmt;

/// One request parameter: a name and a value, each borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name.
    pub name: Text<'a>,
    /// The value.
    pub value: Text<'a>,
}

impl<'a> Param<'a> {
    /// A parameter given literally (not percent-encoded).
    pub const fn plain(name: &'a str, value: &'a str) -> Self {
        Param {
            name: Text::plain(name),
            value: Text::plain(value),
        }
    }

    /// §3.4.1.3.2 order: by encoded name, then by encoded value.
    pub fn cmp_normalized(&self, other: &Param<'_>) -> Ordering {
        self.name
            .cmp_oauth_encoded(&other.name)
            .then_with(|| self.value.cmp_oauth_encoded(&other.value))
    }
}

/// Why parameters could not be collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParamError {
    /// More parameters than the list holds.
    Capacity(CapacityError),
    /// A query string or form body is malformed.
    Form(FormError),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Capacity(e) => write!(f, "too many parameters: {e}"),
            ParamError::Form(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ParamError {}

impl From<CapacityError> for ParamError {
    fn from(e: CapacityError) -> Self {
        ParamError::Capacity(e)
    }
}

impl From<FormError> for ParamError {
    fn from(e: FormError) -> Self {
        ParamError::Form(e)
    }
}

/// Up to `N` borrowed parameters: the storage the base string is normalised
/// over. Exceeding `N` is [`ParamError::Capacity`].
#[derive(Debug, Clone)]
pub struct ParamList<'a, const N: usize> {
    items: heapless::Vec<Param<'a>, N>,
}

impl<const N: usize> Default for ParamList<'_, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const N: usize> ParamList<'a, N> {
    /// An empty list.
    pub const fn new() -> Self {
        ParamList {
            items: heapless::Vec::new(),
        }
    }

    /// Appends one parameter.
    pub fn push(&mut self, param: Param<'a>) -> Result<(), CapacityError> {
        self.items
            .push(param)
            .map_err(|_| CapacityError { capacity: N })
    }

    /// Appends every pair of a query string or form body, in order.
    pub fn extend_form(&mut self, input: &'a [u8]) -> Result<(), ParamError> {
        for pair in form_pairs(input) {
            let pair = pair?;
            self.push(Param {
                name: pair.name,
                value: pair.value,
            })?;
        }
        Ok(())
    }

    /// Sorts into §3.4.1.3.2 order. A list of at most 16 (by capacity, so
    /// decided when `N` is known) is insertion-sorted: a client signs a
    /// handful of parameters, and the general sort would cost it about
    /// 1.5 KiB of flash it never needs.
    pub fn sort(&mut self) {
        if N <= 16 {
            let items = self.items.as_mut_slice();
            for i in 1..items.len() {
                let mut j = i;
                while let Some(prev) = j.checked_sub(1) {
                    match (items.get(prev), items.get(j)) {
                        (Some(a), Some(b))
                            if Param::cmp_normalized(a, b) == core::cmp::Ordering::Greater => {}
                        _ => break,
                    }
                    items.swap(prev, j);
                    j = prev;
                }
            }
        } else {
            self.items.sort_unstable_by(Param::cmp_normalized);
        }
    }

    /// The parameters.
    pub fn as_slice(&self) -> &[Param<'a>] {
        &self.items
    }

    /// How many parameters the list holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The first parameter named `name`.
    pub fn get(&self, name: &str) -> Option<&Param<'a>> {
        self.items.iter().find(|p| p.name.eq_str(name))
    }
}

/// [`form::parse`], with a fast path for the common case: when the whole
/// input is ASCII and every `%` starts an escape of an ASCII byte, every
/// pair is known valid (it decodes to ASCII, hence UTF-8) from one scan of
/// the whole input, rather than validated pair by pair through the UTF-8
/// checker — a fifth of a 50-parameter request's signing time. Other input
/// goes through `form::parse` itself, with its errors and offsets.
pub(crate) fn form_pairs(input: &[u8]) -> FormPairs<'_> {
    if escapes_ascii_only(input) {
        FormPairs::Fast(input)
    } else {
        FormPairs::Checked(form::parse(input))
    }
}

/// Byte classes for the fast path.
const UNRESERVED: u8 = 0;
const OTHER: u8 = 1;
const AMPERSAND: u8 = 2;
const EQUALS: u8 = 3;

/// The class of every byte, looked up rather than matched (twice as fast
/// in the pair scan). Built at compile time, so the indexing cannot fail at
/// run time.
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
static CLASS: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0u8;
    loop {
        if percent::is_unreserved(b) {
            t[b as usize] = UNRESERVED;
        }
        if b == u8::MAX {
            break;
        }
        b += 1;
    }
    t[b'&' as usize] = AMPERSAND;
    t[b'=' as usize] = EQUALS;
    t
};

#[inline]
fn class(b: u8) -> u8 {
    CLASS.get(usize::from(b)).copied().unwrap_or(OTHER)
}

/// [`percent::is_unreserved`] by table look-up, for the per-byte loops.
#[inline]
pub(crate) fn is_unreserved(b: u8) -> bool {
    class(b) == UNRESERVED
}

/// Whether `input` is ASCII and every `%` is followed by two hex digits
/// encoding a byte below 0x80. Eight bytes at a time: a word with a high
/// bit set is not ASCII, and a `%` is found as a zero byte of the word
/// XOR `%%%%%%%%` (the lowest one so flagged is exact).
fn escapes_ascii_only(input: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const PERCENTS: u64 = 0x2525_2525_2525_2525;
    let escape_ok = |at: usize| matches!(input.get(at..), Some([_, b'0'..=b'7', lo, ..]) if lo.is_ascii_hexdigit());
    let mut i = 0usize;
    while let Some(word) = input
        .get(i..i.saturating_add(8))
        .and_then(|w| <[u8; 8]>::try_from(w).ok())
    {
        let w = u64::from_le_bytes(word);
        if w & HIGH != 0 {
            return false;
        }
        let x = w ^ PERCENTS;
        let percents = x.wrapping_sub(ONES) & !x & HIGH;
        if percents == 0 {
            i = i.saturating_add(8);
            continue;
        }
        let at = i.saturating_add((percents.trailing_zeros() / 8) as usize);
        if !escape_ok(at) {
            return false;
        }
        i = at.saturating_add(3);
    }
    while let Some(&b) = input.get(i) {
        if !b.is_ascii() || (b == b'%' && !escape_ok(i)) {
            return false;
        }
        i = i.saturating_add(if b == b'%' { 3 } else { 1 });
    }
    true
}

/// The pairs of a query string or form body: see [`form_pairs`].
pub(crate) enum FormPairs<'a> {
    /// The rest of input already known valid.
    Fast(&'a [u8]),
    Checked(form::Pairs<'a>),
}

impl<'a> Iterator for FormPairs<'a> {
    type Item = Result<Pair<'a>, FormError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = match self {
            FormPairs::Checked(p) => return p.next(),
            FormPairs::Fast(rest) => rest,
        };
        loop {
            if rest.is_empty() {
                return None;
            }
            // One pass over the pair: where it ends, where its first `=`
            // is, and whether name and value are all unreserved.
            let mut end = rest.len();
            let mut eq = None;
            let mut name_simple = true;
            let mut value_simple = true;
            for (i, &b) in rest.iter().enumerate() {
                match class(b) {
                    UNRESERVED => {}
                    AMPERSAND => {
                        end = i;
                        break;
                    }
                    EQUALS if eq.is_none() => eq = Some(i),
                    _ => {
                        if eq.is_none() {
                            name_simple = false;
                        } else {
                            value_simple = false;
                        }
                    }
                }
            }
            let (segment, tail) = rest.split_at(end);
            *rest = tail.get(1..).unwrap_or(&[]);
            if segment.is_empty() {
                continue;
            }
            let (name, value) = match eq {
                Some(eq) => {
                    let (n, v) = segment.split_at(eq);
                    (n, v.get(1..).unwrap_or(&[]))
                }
                None => (segment, &[][..]),
            };
            return Some(Ok(Pair {
                name: Text::encoded_prescanned(name, Mode::Form, name_simple),
                value: Text::encoded_prescanned(value, Mode::Form, value_simple),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_an_error() {
        let mut l = ParamList::<'_, 2>::new();
        assert_eq!(
            l.extend_form(b"a=1&b=2&c=3"),
            Err(ParamError::Capacity(CapacityError { capacity: 2 }))
        );
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn sorts_by_encoded_name_then_value() {
        // §3.4.1.3.2: a=x%20y sorts before a=x%21y.
        let mut l = ParamList::<'_, 8>::new();
        l.extend_form(b"a=x%21y&a=x%20y&a2=1&a=").unwrap();
        l.sort();
        let names: heapless::Vec<&[u8], 8> = l.as_slice().iter().map(|p| p.value.raw()).collect();
        assert_eq!(&names[..], &[&b""[..], b"x%20y", b"x%21y", b"1"]);
    }

    proptest::proptest! {
        /// The insertion sort of short lists and the general sort of long
        /// ones agree.
        #[test]
        fn small_and_large_lists_sort_alike(
            pairs in proptest::collection::vec(("[a-c%0-9]{0,3}", "[a-c%0-9 ]{0,3}"), 0..16)
        ) {
            let body: std::string::String = pairs
                .iter()
                .map(|(n, v)| std::format!("{n}={v}"))
                .collect::<std::vec::Vec<_>>()
                .join("&");
            let (mut small, mut large) = (ParamList::<'_, 16>::new(), ParamList::<'_, 64>::new());
            let (a, b) = (small.extend_form(body.as_bytes()), large.extend_form(body.as_bytes()));
            proptest::prop_assert_eq!(a.is_ok(), b.is_ok());
            if a.is_ok() {
                small.sort();
                large.sort();
                // Equal up to encoding (`a` and `%61` sort as one), in order.
                proptest::prop_assert_eq!(small.len(), large.len());
                for (x, y) in small.as_slice().iter().zip(large.as_slice()) {
                    proptest::prop_assert_eq!(Param::cmp_normalized(x, y), core::cmp::Ordering::Equal);
                }
                for w in small.as_slice().windows(2) {
                    proptest::prop_assert!(Param::cmp_normalized(&w[0], &w[1]) != core::cmp::Ordering::Greater);
                }
            }
        }
    }

    fn both(input: &[u8]) -> (std::vec::Vec<Result<Pair<'_>, FormError>>, bool) {
        let fast = matches!(form_pairs(input), FormPairs::Fast(_));
        let got: std::vec::Vec<_> = form_pairs(input).collect();
        let want: std::vec::Vec<_> = form::parse(input).collect();
        assert_eq!(got.len(), want.len(), "{input:?}");
        for (g, w) in got.iter().zip(&want) {
            match (g, w) {
                (Ok(g), Ok(w)) => {
                    assert_eq!(g.name.raw(), w.name.raw());
                    assert_eq!(g.value.raw(), w.value.raw());
                    assert_eq!(g.name.is_simple(), w.name.is_simple());
                    assert_eq!(g.value.is_simple(), w.value.is_simple());
                    assert!(g.name.decoded().eq(w.name.decoded()));
                    assert!(g.value.decoded().eq(w.value.decoded()));
                }
                (g, w) => assert_eq!(g, w),
            }
        }
        (got, fast)
    }

    #[test]
    fn fast_pairs_are_the_checked_pairs() {
        for input in [
            &b""[..],
            b"&&",
            b"a",
            b"a=",
            b"=b",
            b"a=1&&b=2&",
            b"a=x+y%20z&b=%7E%41",
            b"a==b&c=%2B",
            b"status=Hello+Ladies+%2B+Gentlemen%2C+a+signed+OAuth+request%21",
            b"abcdef%41%42%43%44%45%46%47%48%49%4A%4B",
            b"abcdefg%41&h=%20",
        ] {
            assert!(both(input).1, "{input:?} should take the fast path");
        }
        // Non-ASCII, bad escapes and escapes of non-ASCII bytes are checked.
        for input in [
            &b"a=%C3%A9"[..],
            b"a=%zz",
            b"a=%4",
            b"a=\xc3\xa9",
            b"a=%80",
            b"abcdefgh%41%42%43%4",
            b"abcdefgh%41%42%43xy%zz",
            b"abcdefg%41bcdefgh\xc3\xa9",
        ] {
            assert!(!both(input).1, "{input:?} should be checked");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_pairs_match_form_parse(s in "([a-z0-9=&+~%!*. -]|%[0-9a-fA-F]{2}|é){0,30}") {
            both(s.as_bytes());
        }
    }
}
