//! Time as the core sees it: a number of seconds handed in by the caller.
//! The core never reads a clock (quinn-proto's `now` argument, smoltcp's
//! `Instant`).

use core::fmt;

/// Seconds since the Unix epoch (1970-01-01T00:00:00Z), as supplied by the
/// caller. OAuth 1.0a timestamps (RFC 5849 §3.3) are in this unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// The time as seconds.
    pub const fn as_secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating at the far future.
    pub const fn saturating_add(self, secs: u64) -> UnixTime {
        UnixTime(self.0.saturating_add(secs))
    }

    /// The distance between two times in seconds, whichever is later.
    pub const fn abs_diff(self, other: UnixTime) -> u64 {
        self.0.abs_diff(other.0)
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
