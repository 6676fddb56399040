//! `parse_http_date` (RFC 9110 §5.6.7, IMF-fixdate only) on arbitrary
//! bytes: never panics, and whatever it accepts is the one spelling of the
//! instant it returns — formatting the value gives back the input — except
//! a leap second, `23:59:60`, which reads as the next midnight.
#![no_main]
use latch_core::http::parse_http_date;
use latch_fuzz::imf_fixdate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(t) = parse_http_date(data) else {
        return;
    };
    let text = std::str::from_utf8(data).expect("an accepted date is ASCII");
    match text.strip_suffix("23:59:60 GMT") {
        Some(date) => assert_eq!(imf_fixdate(t.as_secs() - 1), format!("{date}23:59:59 GMT")),
        None => assert_eq!(imf_fixdate(t.as_secs()), text),
    }
});
