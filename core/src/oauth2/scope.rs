//! Scope strings (RFC 6749 §3.3):
//!
//! ```text
//! scope       = scope-token *( SP scope-token )
//! scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
//! ```
//!
//! The order of tokens does not matter; a requested scope is acceptable
//! when every token in it is one of the allowed tokens. Scopes are held in
//! fixed-capacity strings of [`MAX_SCOPE`] bytes.

use super::error::{OAuthError, invalid_scope};
use crate::text::Text;

/// Capacity of a stored scope string.
pub const MAX_SCOPE: usize = 256;

/// A scope string of at most [`MAX_SCOPE`] bytes.
pub type Scope = heapless::String<MAX_SCOPE>;

const fn is_scope_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// Whether `s` follows the §3.3 grammar (single spaces between non-empty
/// tokens, no leading or trailing space).
pub fn is_valid(s: &str) -> bool {
    !s.is_empty()
        && s.split(' ')
            .all(|t| !t.is_empty() && t.bytes().all(is_scope_char))
}

/// The tokens of a scope string.
pub fn tokens(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|t| !t.is_empty())
}

/// Whether `scope` contains `token`.
pub fn contains(scope: &str, token: &str) -> bool {
    tokens(scope).any(|t| t == token)
}

/// Whether every token of `requested` is in `allowed`.
pub fn is_subset(requested: &str, allowed: &str) -> bool {
    tokens(requested).all(|t| contains(allowed, t))
}

/// Decodes a requested scope, checks it against `allowed`, and returns it;
/// `None` (the parameter was absent) yields `allowed` itself
/// (RFC 6749 §3.3's "pre-defined default value").
pub(crate) fn narrow(requested: Option<&Text<'_>>, allowed: &str) -> Result<Scope, OAuthError> {
    let Some(requested) = requested else {
        return Scope::try_from(allowed).map_err(|_| invalid_scope("scope too long"));
    };
    let s: Scope = requested
        .to_heapless()
        .map_err(|_| invalid_scope("scope too long"))?;
    if !is_valid(&s) {
        return Err(invalid_scope("malformed scope"));
    }
    if !is_subset(&s, allowed) {
        return Err(invalid_scope("scope exceeds what is allowed"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::Mode;

    #[test]
    fn grammar() {
        assert!(is_valid("read"));
        assert!(is_valid("read write:all !#[]"));
        assert!(!is_valid(""));
        assert!(!is_valid("read  write"));
        assert!(!is_valid(" read"));
        assert!(!is_valid("read "));
        assert!(!is_valid("a\"b"));
        assert!(!is_valid("a\\b"));
        assert!(!is_valid("é"));
    }

    #[test]
    fn subsets() {
        assert!(is_subset("read", "read write"));
        assert!(is_subset("write read", "read write"));
        assert!(!is_subset("read admin", "read write"));
        assert!(!is_subset("rea", "read"));
    }

    #[test]
    fn narrowing() {
        let t = Text::encoded(b"read", Mode::Form).unwrap();
        assert_eq!(narrow(Some(&t), "read write").unwrap(), "read");
        assert_eq!(narrow(None, "read write").unwrap(), "read write");
        let t = Text::encoded(b"read+admin", Mode::Form).unwrap();
        assert_eq!(
            narrow(Some(&t), "read write").unwrap_err().code,
            super::super::ErrorCode::InvalidScope
        );
    }
}
