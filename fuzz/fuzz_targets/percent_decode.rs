//! Percent-decoding: never panics; whatever decodes re-encodes (RFC 5849
//! §3.6) to text that decodes to the same string.
#![no_main]
use latch_core::percent::{Mode, decode_to_slice, encode_to_slice};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (mode, input) = match data.split_first() {
        Some((m, rest)) if m & 1 == 1 => (Mode::Form, rest),
        Some((_, rest)) => (Mode::Strict, rest),
        None => return,
    };
    let mut decoded = [0u8; 4096];
    let Ok(text) = decode_to_slice(input, mode, &mut decoded) else {
        return;
    };
    assert!(text.len() <= input.len());
    let mut encoded = [0u8; 3 * 4096];
    let n = encode_to_slice(text.as_bytes(), &mut encoded).expect("3x room always suffices");
    let mut again = [0u8; 4096];
    let back =
        decode_to_slice(&encoded[..n], Mode::Strict, &mut again).expect("own encoding decodes");
    assert_eq!(back, text);
});
