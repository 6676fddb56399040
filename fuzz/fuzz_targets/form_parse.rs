//! Form / query parsing: never panics; a parsed form, re-encoded, parses to
//! the same pairs.
#![no_main]
use latch_core::{form, percent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(count) = form::validate(data) else {
        return;
    };
    let mut rebuilt = Vec::new();
    for pair in form::parse(data) {
        let pair = pair.expect("validated");
        if !rebuilt.is_empty() {
            rebuilt.push(b'&');
        }
        let name: Vec<u8> = pair.name.decoded().collect();
        let value: Vec<u8> = pair.value.decoded().collect();
        let mut buf = vec![0u8; 3 * name.len().max(value.len())];
        let n = percent::encode_to_slice(&name, &mut buf).unwrap();
        rebuilt.extend_from_slice(&buf[..n]);
        rebuilt.push(b'=');
        let n = percent::encode_to_slice(&value, &mut buf).unwrap();
        rebuilt.extend_from_slice(&buf[..n]);
    }
    // Empty names with empty values vanish only if they were empty segments;
    // re-encoding keeps every pair, so counts and contents must agree.
    assert_eq!(form::validate(&rebuilt), Ok(count));
    for (a, b) in form::parse(data).zip(form::parse(&rebuilt)) {
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(a.name, b.name);
        assert_eq!(a.value, b.value);
    }
});
