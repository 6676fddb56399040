//! The HTTP-date of a `Date` header (RFC 9110 §5.6.7, §6.6.1), read as
//! [`UnixTime`]: how a device with no calendar of its own learns the time
//! from the server it talks to.
//!
//! Only the preferred form, IMF-fixdate, is read:
//!
//! ```text
//! IMF-fixdate = day-name "," SP day SP month SP year SP hour ":" minute ":" second SP "GMT"
//!               Sun, 06 Nov 1994 08:49:37 GMT
//! ```
//!
//! exactly 29 bytes, names case-sensitive, two-digit day, four-digit year.
//! RFC 9110 gives `day-name`, `day`, `month`, `year` and `time-of-day` the
//! semantics of RFC 5322 §3.3, under which a date-time "MUST be
//! semantically valid": the day-of-week is the one the date implies, the
//! day-of-month exists in that month of that year, and the time of day is
//! within 00:00:00–23:59:60. So `Mon, 06 Nov 1994 …` (a Sunday), `31 Apr`
//! and `29 Feb 2027` are refused rather than read as some other instant. A
//! leap second is accepted only where one can fall, `23:59:60`, and reads
//! as the next day's `00:00:00`, as POSIX time (and so [`UnixTime`])
//! counts it. Years before 1970 are refused ([`UnixTime`] does not reach
//! them); years run to 9999, four digits.
//!
//! Every other instant therefore has exactly one accepted spelling, and
//! formatting the value read gives back the input — the property the
//! tests and the `http_date` fuzz target check.
//!
//! ## The obsolete forms are refused
//!
//! RFC 9110 §5.6.7 says a recipient that parses a timestamp MUST accept
//! the two obsolete forms too (RFC 850's `Sunday, 06-Nov-94 08:49:37 GMT`
//! and asctime's `Sun Nov  6 08:49:37 1994`), while every sender MUST
//! generate IMF-fixdate. This parser departs from that on purpose, for the
//! caller it has — a device setting its only clock from a server's answer:
//!
//! * an RFC 850 date has a two-digit year, which §5.6.7 resolves against
//!   the current time (a year "more than 50 years in the future" is the
//!   previous century's) — exactly what a device without a clock does not
//!   know, and the core is never told;
//! * asctime carries no zone at all, and nothing current sends either form;
//! * a refused date leaves the device's clock unset, which the firmware
//!   reports ("no usable Date"), where a misread one would set it wrong,
//!   and every OAuth1 timestamp and token expiry after it with it.
//!
//! The same reasoning refuses a self-contradictory date rather than
//! following §5.6.7's advice to be "robust in parsing timestamps": a
//! weekday that contradicts its date means the source is broken, and
//! neither half can be trusted to set a clock.
//!
//! A caller that must read dates from arbitrary old servers needs a
//! lenient parser with its own notion of "now"; this is not one.

use crate::time::UnixTime;

/// `day-name`s, indexed by days since 1970-01-01 (a Thursday) plus 4,
/// modulo 7.
const DAY_NAMES: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];

/// `month` names, January first.
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Reads an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110
/// §5.6.7) as seconds since the Unix epoch. Never panics.
///
/// `None` for anything else: the obsolete RFC 850 and asctime forms (an
/// RFC 850 year cannot be read without knowing the current time, which is
/// what a device reading its server's `Date` is trying to learn), a
/// weekday the date does not fall on or a day the month does not have
/// (RFC 5322 §3.3: a date-time MUST be semantically valid), a second `60`
/// anywhere but `23:59:60` (a leap second, read as the next midnight, as
/// POSIX time counts it), and years before 1970 or past 9999. So every
/// accepted instant has one spelling, the one a formatter writes.
///
/// ```
/// use latch_core::UnixTime;
/// use latch_core::http::parse_http_date;
///
/// // RFC 9110 §5.6.7's example.
/// assert_eq!(
///     parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT"),
///     Some(UnixTime(784_111_777))
/// );
/// // The obsolete RFC 850 form, and a weekday the date does not fall on.
/// assert_eq!(parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"), None);
/// assert_eq!(parse_http_date(b"Mon, 06 Nov 1994 08:49:37 GMT"), None);
/// ```
pub fn parse_http_date(value: &[u8]) -> Option<UnixTime> {
    let &[
        w1,
        w2,
        w3,
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
    ] = value
    else {
        return None;
    };
    let day = decimal(&[d1, d2])?;
    let year = decimal(&[y1, y2, y3, y4])?;
    let (hour, minute, second) = (
        decimal(&[h1, h2])?,
        decimal(&[n1, n2])?,
        decimal(&[s1, s2])?,
    );
    let month = MONTHS.iter().position(|m| **m == [m1, m2, m3])?;
    let leap_second = second == 60 && hour == 23 && minute == 59;
    if year < 1970
        || day == 0
        || day > days_in_month(year, month)?
        || hour > 23
        || minute > 59
        || (second > 59 && !leap_second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day)?;
    let weekday = usize::try_from(days.checked_add(4)?.checked_rem(7)?).ok()?;
    if **DAY_NAMES.get(weekday)? != [w1, w2, w3] {
        return None;
    }
    let secs = days
        .checked_mul(86_400)?
        .checked_add(hour.checked_mul(3600)?)?
        .checked_add(minute.checked_mul(60)?)?
        .checked_add(second)?;
    Some(UnixTime(secs))
}

/// The value of a run of ASCII digits; `None` if any byte is not one.
fn decimal(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, &d| {
        let digit = d
            .is_ascii_digit()
            .then(|| u64::from(d.wrapping_sub(b'0')))?;
        acc.checked_mul(10)?.checked_add(digit)
    })
}

/// Whether `year` is a Gregorian leap year.
fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// How many days month `month` (0 = January) of `year` has.
fn days_in_month(year: u64, month: usize) -> Option<u64> {
    const DAYS: [u64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let days = *DAYS.get(month)?;
    Some(if month == 1 && is_leap(year) {
        29
    } else {
        days
    })
}

/// Days from 1970-01-01 to a proleptic Gregorian date, year ≥ 1970, month
/// 0-based, day 1-based (H. Hinnant's `days_from_civil`, in unsigned
/// arithmetic since the year is bounded below).
fn days_from_civil(year: u64, month: usize, day: u64) -> Option<u64> {
    let month = u64::try_from(month).ok()?;
    // The year as counted from March, so that a leap day ends it.
    let y = if month < 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y.checked_div(400)?;
    let yoe = y.checked_sub(era.checked_mul(400)?)?;
    // Months since March: Mar = 0, …, Feb = 11.
    let mp = month.checked_add(10)?.checked_rem(12)?;
    let doy = mp
        .checked_mul(153)?
        .checked_add(2)?
        .checked_div(5)?
        .checked_add(day)?
        .checked_sub(1)?;
    let doe = yoe
        .checked_mul(365)?
        .checked_add(yoe.checked_div(4)?)?
        .checked_sub(yoe.checked_div(100)?)?
        .checked_add(doy)?;
    era.checked_mul(146_097)?
        .checked_add(doe)?
        .checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<u64> {
        parse_http_date(s.as_bytes()).map(UnixTime::as_secs)
    }

    /// Cross-checked with Python's `calendar.timegm`.
    #[test]
    fn imf_fixdate() {
        // RFC 9110 §5.6.7's example.
        assert_eq!(at("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(at("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(at("Tue, 29 Feb 2028 23:59:59 GMT"), Some(1_835_481_599));
        assert_eq!(at("Tue, 01 Dec 2026 08:05:26 GMT"), Some(1_796_112_326));
        assert_eq!(at("Fri, 31 Dec 9999 23:59:59 GMT"), Some(253_402_300_799));
        // 2000 is a leap year (divisible by 400).
        assert_eq!(at("Tue, 29 Feb 2000 12:00:00 GMT"), Some(951_825_600));
    }

    #[test]
    fn leap_second_is_the_next_midnight() {
        // 2016-12-31T23:59:60Z, a real leap second.
        assert_eq!(at("Sat, 31 Dec 2016 23:59:60 GMT"), Some(1_483_228_800));
        assert_eq!(at("Sun, 01 Jan 2017 00:00:00 GMT"), Some(1_483_228_800));
        // Nowhere else.
        assert_eq!(at("Sat, 31 Dec 2016 23:58:60 GMT"), None);
        assert_eq!(at("Sat, 31 Dec 2016 22:59:60 GMT"), None);
        assert_eq!(at("Sat, 31 Dec 2016 23:59:61 GMT"), None);
    }

    #[test]
    fn obsolete_and_malformed_forms_are_refused() {
        for bad in [
            // RFC 9110 §5.6.7's obsolete examples.
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            // Near misses of the fixed form.
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 gmt",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun,  6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ",
            " Sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 +0000",
            "Sun, 06 Nov 1994 08.49.37 GMT",
            "Sun, 0x Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:3- GMT",
            "Sun, 06 Nov +994 08:49:37 GMT",
            // Out of range.
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:60:37 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn dates_must_be_semantically_valid() {
        for bad in [
            // 06 Nov 1994 is a Sunday.
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sat, 06 Nov 1994 08:49:37 GMT",
            // Days that do not exist.
            "Mon, 31 Apr 2028 00:00:00 GMT",
            "Mon, 29 Feb 2027 00:00:00 GMT",
            "Thu, 29 Feb 2100 00:00:00 GMT",
            "Mon, 30 Feb 2028 00:00:00 GMT",
        ] {
            assert_eq!(at(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_month_starts_where_the_last_ended() {
        // Walk 2027–2028 (one common, one leap year) day by day: each day's
        // midnight is 86 400 s after the one before.
        let mut expected = at("Fri, 01 Jan 2027 00:00:00 GMT").unwrap();
        for year in [2027u64, 2028] {
            for (m, name) in MONTHS.iter().enumerate() {
                for day in 1..=days_in_month(year, m).unwrap() {
                    let weekday = DAY_NAMES[((expected / 86_400 + 4) % 7) as usize];
                    let s = std::format!(
                        "{}, {day:02} {} {year} 00:00:00 GMT",
                        core::str::from_utf8(weekday).unwrap(),
                        core::str::from_utf8(*name).unwrap()
                    );
                    assert_eq!(at(&s), Some(expected), "{s}");
                    expected += 86_400;
                }
            }
        }
    }
}
