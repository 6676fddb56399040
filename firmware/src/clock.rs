//! Wall-clock time for the protocol core, from embassy's monotonic clock
//! plus an offset: `UnixTime` for OAuth1 timestamps, token expiry and
//! device-flow polling, and the way back to an `embassy_time::Instant` to
//! sleep until a `poll_timeout`.
//!
//! The Linux build sets the offset from the system clock at start. A
//! microcontroller has no calendar, so the MCU build sets it from the
//! `Date` header (RFC 9110 §6.6.1) of the server's first answer: the
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

/// Reads an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110
/// §5.6.7, the form every current server sends) as Unix seconds. The
/// obsolete RFC 850 and asctime forms are refused: the clock then stays
/// unset and the caller says so, rather than guessing.
pub fn parse_http_date(value: &[u8]) -> Option<u64> {
    let [
        _,
        _,
        _,
        b',',
        b' ',
        d1,
        d2,
        b' ',
        m1,
        m2,
        m3,
        b' ',
        y1,
        y2,
        y3,
        y4,
        b' ',
        h1,
        h2,
        b':',
        n1,
        n2,
        b':',
        s1,
        s2,
        b' ',
        b'G',
        b'M',
        b'T',
    ] = *value
    else {
        return None;
    };
    let num = |digits: &[u8]| -> Option<u64> {
        digits.iter().try_fold(0u64, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u64::from(d - b'0'))
        })
    };
    let day = num(&[d1, d2])?;
    let year = num(&[y1, y2, y3, y4])?;
    let (hour, min, sec) = (num(&[h1, h2])?, num(&[n1, n2])?, num(&[s1, s2])?);
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let month = MONTHS.iter().position(|m| **m == [m1, m2, m3])? as u64 + 1;
    if !(1..=31).contains(&day) || year < 1970 || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date, year ≥ 1970
/// (H. Hinnant's `days_from_civil`, unsigned since the year is bounded).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdate() {
        // RFC 9110 §5.6.7's example.
        assert_eq!(
            parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date(b"Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(1_835_481_599)
        );
        assert_eq!(
            parse_http_date(b"Tue, 01 Dec 2026 08:05:26 GMT"),
            Some(1_796_112_326)
        );
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            &b"Sunday, 06-Nov-94 08:49:37 GMT"[..],
            b"Sun Nov  6 08:49:37 1994",
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 06 Foo 1994 08:49:37 GMT",
            b"Sun, 32 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:49:37 GMT",
            b"Sun, 06 Nov 1969 08:49:37 GMT",
            b"Sun, 0x Nov 1994 08:49:37 GMT",
            b"",
        ] {
            assert_eq!(
                parse_http_date(bad),
                None,
                "{:?}",
                core::str::from_utf8(bad)
            );
        }
    }
}
