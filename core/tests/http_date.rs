//! Property tests for `latch_core::http::parse_http_date` against an
//! independent IMF-fixdate formatter written here (years and months
//! counted off one by one, not Hinnant's `days_from_civil` the parser
//! uses): every instant from 1970 to the end of 9999 formats to a date
//! that parses back to it, and any mutation of a valid date either is
//! refused or parses to an instant that formats back to exactly the
//! mutated text (one spelling per instant; a leap second `23:59:60` is
//! the only instant with two).

use latch_core::UnixTime;
use latch_core::http::parse_http_date;
use proptest::prelude::*;

/// 9999-12-31T23:59:59Z, the last instant with a four-digit year.
const MAX: u64 = 253_402_300_799;

const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn is_leap(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn month_days(year: u64, month: usize) -> u64 {
    match month {
        1 if is_leap(year) => 29,
        1 => 28,
        3 | 5 | 8 | 10 => 30,
        _ => 31,
    }
}

/// `t` as an IMF-fixdate, by counting whole years, then whole months, off
/// the days since the epoch; the weekday from 1970-01-01 being a Thursday.
fn format(t: u64) -> String {
    let (mut days, secs) = (t / 86_400, t % 86_400);
    let weekday = DAY_NAMES[((days + 4) % 7) as usize];
    let mut year = 1970;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let mut month = 0;
    while days >= month_days(year, month) {
        days -= month_days(year, month);
        month += 1;
    }
    format!(
        "{weekday}, {:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        days + 1,
        MONTHS[month],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// What an accepted `input` must be: the formatting of its value, or a
/// leap second — `23:59:60` reads as the next midnight, one second after
/// the `23:59:59` spelled the same way.
fn assert_canonical(input: &[u8], t: UnixTime) {
    let text = std::str::from_utf8(input).expect("an accepted date is ASCII");
    match text.strip_suffix("23:59:60 GMT") {
        Some(date) => {
            assert!(t.as_secs() > 0, "{text}");
            assert_eq!(format(t.as_secs() - 1), format!("{date}23:59:59 GMT"));
        }
        None => assert_eq!(format(t.as_secs()), text),
    }
}

#[test]
fn the_reference_formatter_agrees_with_the_vectors() {
    // The same instants as the unit tests, cross-checked with Python's
    // calendar.timegm.
    assert_eq!(format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(format(1_835_481_599), "Tue, 29 Feb 2028 23:59:59 GMT");
    assert_eq!(format(1_796_112_326), "Tue, 01 Dec 2026 08:05:26 GMT");
    assert_eq!(format(MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
}

#[test]
fn the_edges_round_trip() {
    for t in [
        0,
        1,
        86_399,
        86_400,
        951_782_400,
        4_107_542_400,
        MAX - 1,
        MAX,
    ] {
        let s = format(t);
        assert_eq!(parse_http_date(s.as_bytes()), Some(UnixTime(t)), "{s}");
    }
    // One second past 9999 would need a fifth digit.
    assert_eq!(parse_http_date(b"Sat, 01 Jan 10000 00:00:00 GMT"), None);
}

/// One edit to a date's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite the byte at this position (modulo the length).
    Set(usize, u8),
    /// Overwrite with a digit: the likeliest edits to stay well-formed.
    Digit(usize, u8),
    /// Remove a byte.
    Remove(usize),
    /// Insert a byte.
    Insert(usize, u8),
    /// Swap two bytes.
    Swap(usize, usize),
    /// Another day name.
    DayName(usize),
    /// Another month name.
    Month(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), 0u8..10).prop_map(|(i, d)| Mutation::Digit(i, b'0' + d)),
        (any::<usize>(), 0u8..10).prop_map(|(i, d)| Mutation::Digit(i, b'0' + d)),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
        (0..DAY_NAMES.len()).prop_map(Mutation::DayName),
        (0..MONTHS.len()).prop_map(Mutation::Month),
    ]
}

fn apply(date: &mut Vec<u8>, m: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *m {
        Mutation::Set(i, b) | Mutation::Digit(i, b) => {
            if !date.is_empty() {
                let i = at(i, date.len());
                date[i] = b;
            }
        }
        Mutation::Remove(i) => {
            if !date.is_empty() {
                date.remove(at(i, date.len()));
            }
        }
        Mutation::Insert(i, b) => date.insert(at(i, date.len() + 1), b),
        Mutation::Swap(i, j) => {
            if !date.is_empty() {
                let n = date.len();
                date.swap(at(i, n), at(j, n));
            }
        }
        Mutation::DayName(d) => {
            if date.len() >= 3 {
                date[..3].copy_from_slice(DAY_NAMES[d].as_bytes());
            }
        }
        Mutation::Month(m) => {
            if date.len() >= 11 {
                date[8..11].copy_from_slice(MONTHS[m].as_bytes());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn every_instant_round_trips(t in 0..=MAX) {
        let s = format(t);
        prop_assert_eq!(parse_http_date(s.as_bytes()), Some(UnixTime(t)), "{}", s);
    }

    #[test]
    fn a_mutated_date_is_canonical_or_refused(
        t in 0..=MAX,
        edits in proptest::collection::vec(mutation(), 1..4),
    ) {
        let mut date = format(t).into_bytes();
        for m in &edits {
            apply(&mut date, m);
        }
        if let Some(parsed) = parse_http_date(&date) {
            assert_canonical(&date, parsed);
        }
    }

    #[test]
    fn arbitrary_bytes_are_canonical_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        if let Some(parsed) = parse_http_date(&bytes) {
            assert_canonical(&bytes, parsed);
        }
    }

    /// Leap seconds: `23:59:60` on any valid day reads as the next
    /// midnight.
    #[test]
    fn a_leap_second_is_the_next_midnight(day in 0..MAX / 86_400) {
        let last = day * 86_400 + 86_399;
        let s = format(last).replace("23:59:59", "23:59:60");
        prop_assert_eq!(parse_http_date(s.as_bytes()), Some(UnixTime(last + 1)), "{}", s);
    }
}
