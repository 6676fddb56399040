//! A byte-at-a-time UTF-8 validator (RFC 3629 §4), for checking decoded
//! percent-encoded text without a buffer to hold it.

/// Validates a stream of bytes as UTF-8: rejects overlong forms, surrogates
/// and code points above U+10FFFF, as `core::str::from_utf8` does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Utf8Validator {
    need: u8,
    lower: u8,
    upper: u8,
}

impl Utf8Validator {
    pub(crate) const fn new() -> Self {
        Utf8Validator {
            need: 0,
            lower: 0x80,
            upper: 0xBF,
        }
    }

    /// Feeds one byte; `false` if the stream is no longer valid UTF-8.
    pub(crate) fn push(&mut self, b: u8) -> bool {
        if self.need == 0 {
            let (need, lower, upper) = match b {
                0x00..=0x7F => return true,
                0xC2..=0xDF => (1, 0x80, 0xBF),
                0xE0 => (2, 0xA0, 0xBF),
                0xE1..=0xEC | 0xEE..=0xEF => (2, 0x80, 0xBF),
                0xED => (2, 0x80, 0x9F),
                0xF0 => (3, 0x90, 0xBF),
                0xF1..=0xF3 => (3, 0x80, 0xBF),
                0xF4 => (3, 0x80, 0x8F),
                _ => return false,
            };
            self.need = need;
            self.lower = lower;
            self.upper = upper;
            true
        } else {
            if b < self.lower || b > self.upper {
                return false;
            }
            self.need = self.need.saturating_sub(1);
            self.lower = 0x80;
            self.upper = 0xBF;
            true
        }
    }

    /// Whether the stream ended on a character boundary.
    pub(crate) fn is_complete(&self) -> bool {
        self.need == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn validate(bytes: &[u8]) -> bool {
        let mut v = Utf8Validator::new();
        bytes.iter().all(|&b| v.push(b)) && v.is_complete()
    }

    #[test]
    fn known_cases() {
        assert!(validate("héllo €𝄞".as_bytes()));
        assert!(!validate(&[0xC0, 0x80])); // overlong NUL
        assert!(!validate(&[0xED, 0xA0, 0x80])); // surrogate
        assert!(!validate(&[0xF4, 0x90, 0x80, 0x80])); // > U+10FFFF
        assert!(!validate(&[0xE2, 0x82])); // truncated
    }

    proptest! {
        #[test]
        fn agrees_with_core(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(validate(&bytes), core::str::from_utf8(&bytes).is_ok());
        }
    }
}
