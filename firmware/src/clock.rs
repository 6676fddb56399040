//! Wall-clock time for the protocol core, from embassy's monotonic clock
//! plus an offset: `UnixTime` for OAuth1 timestamps, token expiry and
//! device-flow polling, and the way back to an `embassy_time::Instant` to
//! sleep until a `poll_timeout`.
//!
//! The Linux build sets the offset from the system clock at start. A
//! microcontroller has no calendar, so the MCU build sets it from the
//! `Date` header (RFC 9110 §6.6.1) of the server's first answer, read by
//! `latch_core::http::parse_http_date`: the
//! device's clock then agrees with the server's to within a second, which
//! is what the OAuth1 timestamp window (±300 s) and token expiry need.

use embassy_time::{Duration, Instant};
use latch_core::UnixTime;

/// Monotonic time plus the Unix time of boot.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Unix seconds at `Instant` zero.
    boot: u64,
}

impl Clock {
    /// A clock whose `now()` is `unix_now` at this moment.
    pub fn set(unix_now: u64) -> Self {
        Clock {
            boot: unix_now.saturating_sub(Instant::now().as_secs()),
        }
    }

    /// Whether the clock has been set (a clock at boot = 0 has not).
    pub fn is_set(&self) -> bool {
        self.boot != 0
    }

    /// A clock that is not set yet.
    pub const fn unset() -> Self {
        Clock { boot: 0 }
    }

    /// The time now.
    pub fn now(&self) -> UnixTime {
        UnixTime(self.boot.saturating_add(Instant::now().as_secs()))
    }

    /// The monotonic instant at which `now()` reaches `t` (now, if past).
    pub fn instant_of(&self, t: UnixTime) -> Instant {
        let secs = t.as_secs().saturating_sub(self.boot);
        Instant::from_secs(0) + Duration::from_secs(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_clock_counts_from_the_time_given() {
        assert!(!Clock::unset().is_set());
        let c = Clock::set(1_796_112_326);
        assert!(c.is_set());
        let now = c.now().as_secs();
        assert!((1_796_112_326..1_796_112_328).contains(&now), "{now}");
        // The instant for a time already reached is not in the future, and
        // one 10 s ahead is 10 s after it.
        let at = c.instant_of(UnixTime(now));
        assert!(at <= Instant::now());
        assert_eq!(
            c.instant_of(UnixTime(now + 10)) - at,
            Duration::from_secs(10)
        );
        // Before boot saturates to boot.
        assert_eq!(c.instant_of(UnixTime(0)), Instant::from_secs(0));
    }
}
