//! Request parameters and their normalisation (RFC 5849 §3.4.1.3).

use crate::buf::CapacityError;
use crate::form::{self, FormError};
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
        for pair in form::parse(input) {
            let pair = pair?;
            self.push(Param {
                name: pair.name,
                value: pair.value,
            })?;
        }
        Ok(())
    }

    /// Sorts into §3.4.1.3.2 order.
    pub fn sort(&mut self) {
        self.items.sort_unstable_by(Param::cmp_normalized);
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
}
