//! Collecting the named parameters of a query string or form body
//! (RFC 6749 §3.1, §3.2):
//!
//! * unrecognised parameters are ignored;
//! * a parameter sent without a value is treated as omitted;
//! * a recognised parameter sent more than once is an error — reported per
//!   name, because the authorization endpoint must not redirect when the
//!   duplicate is `client_id` or `redirect_uri` but must redirect otherwise.

use super::error::{OAuthError, invalid_request};
use crate::form;
use crate::text::Text;

/// The values of `K` recognised parameters, and which were repeated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Collected<'a, const K: usize> {
    pub(crate) values: [Option<Text<'a>>; K],
    /// Bit `i` set: parameter `i` appeared more than once.
    pub(crate) repeated: u32,
}

impl<'a, const K: usize> Collected<'a, K> {
    pub(crate) fn get(&self, i: usize) -> Option<Text<'a>> {
        self.values.get(i).copied().flatten()
    }

    pub(crate) fn is_repeated(&self, i: usize) -> bool {
        self.repeated & bit(i) != 0
    }

    /// Fails with `invalid_request` if anything was repeated.
    pub(crate) fn no_repeats(self) -> Result<Self, OAuthError> {
        if self.repeated != 0 {
            return Err(invalid_request("a parameter was sent more than once"));
        }
        Ok(self)
    }
}

/// Bit `i` of a 32-bit mask (0 past the end).
fn bit(i: usize) -> u32 {
    u32::try_from(i)
        .ok()
        .and_then(|i| 1u32.checked_shl(i))
        .unwrap_or(0)
}

/// Why a query or form could not be read at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

impl From<Malformed> for OAuthError {
    fn from(_: Malformed) -> Self {
        invalid_request("malformed form or query encoding")
    }
}

/// Collects the parameters called `names` (at most 32) from `input`.
pub(crate) fn collect<'a, const K: usize>(
    input: &'a [u8],
    names: &[&'static str; K],
) -> Result<Collected<'a, K>, Malformed> {
    let mut out = Collected {
        values: [None; K],
        repeated: 0,
    };
    for pair in form::parse(input) {
        let pair = pair.map_err(|_| Malformed)?;
        if pair.value.is_empty() {
            continue;
        }
        // Names are nearly always sent unencoded: compare raw bytes first.
        let index = if pair.name.is_verbatim() {
            names.iter().position(|n| n.as_bytes() == pair.name.raw())
        } else {
            names.iter().position(|n| pair.name.eq_str(n))
        };
        let Some(i) = index else { continue };
        let Some(slot) = out.values.get_mut(i) else {
            continue;
        };
        if slot.replace(pair.value).is_some() {
            out.repeated |= bit(i);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn collects_ignores_unknown_and_empty() {
        let c = collect(b"a=1&x=2&b=&c=3&x=4", &NAMES).unwrap();
        assert!(c.get(0).unwrap().eq_str("1"));
        assert!(c.get(1).is_none());
        assert!(c.get(2).unwrap().eq_str("3"));
        assert_eq!(c.repeated, 0);
    }

    #[test]
    fn repeats_are_recorded_per_name() {
        let c = collect(b"a=1&b=2&a=3&%62=4", &NAMES).unwrap();
        assert!(c.is_repeated(0));
        assert!(c.is_repeated(1));
        assert!(!c.is_repeated(2));
        assert!(c.no_repeats().is_err());
        // A repeat without a value counts as omitted.
        assert_eq!(collect(b"a=1&a=", &NAMES).unwrap().repeated, 0);
    }

    #[test]
    fn malformed_input() {
        assert_eq!(collect(b"a=%zz", &NAMES).unwrap_err(), Malformed);
    }
}
