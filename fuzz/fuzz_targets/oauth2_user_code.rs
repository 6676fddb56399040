//! Device user codes (RFC 8628 §6.1): `UserCode::parse` / `parse_bytes`
//! on what a user might type, and the verification page's
//! `DeviceVerification::start` on the same text form-encoded. Never
//! panics; the parsers agree with each other and with a reference
//! (ignore `-` and space, upper-case, eight letters of the alphabet); a
//! parsed code's `display()` (and its lower-case, spaced-out forms)
//! parses back to the same code.
#![no_main]
use latch_core::oauth2::{
    DeviceVerification, USER_CODE_ALPHABET, USER_CODE_LEN, UserCode, UserCodeError,
};
use latch_core::{Text, percent::Mode};
use libfuzzer_sys::fuzz_target;

fn reference(input: &[u8]) -> Result<Vec<u8>, UserCodeError> {
    let mut out = Vec::new();
    for &b in input {
        if b == b'-' || b == b' ' {
            continue;
        }
        let up = b.to_ascii_uppercase();
        if !USER_CODE_ALPHABET.contains(&up) {
            return Err(UserCodeError::InvalidCharacter);
        }
        if out.len() == USER_CODE_LEN {
            return Err(UserCodeError::WrongLength);
        }
        out.push(up);
    }
    if out.len() == USER_CODE_LEN {
        Ok(out)
    } else {
        Err(UserCodeError::WrongLength)
    }
}

fuzz_target!(|data: &[u8]| {
    let parsed = UserCode::parse_bytes(data.iter().copied());
    assert_eq!(
        parsed.map(|c| c.as_str().as_bytes().to_vec()),
        reference(data)
    );
    if let Ok(s) = std::str::from_utf8(data) {
        assert_eq!(UserCode::parse(s), parsed);
    }
    if let Ok(t) = Text::encoded(data, Mode::Form) {
        let decoded: Vec<u8> = t.decoded().collect();
        let started = DeviceVerification::start(&t).map(|n| *n.user_code());
        assert_eq!(started.ok(), UserCode::parse_bytes(decoded).ok());
    }
    let Ok(code) = parsed else { return };
    let shown = code.display();
    assert_eq!(shown.as_str().len(), USER_CODE_LEN + 1);
    assert_eq!(&shown.as_str()[4..5], "-");
    assert_eq!(UserCode::parse(shown.as_str()), Ok(code));
    assert_eq!(UserCode::parse(code.as_str()), Ok(code));
    assert_eq!(UserCode::parse(&shown.as_str().to_lowercase()), Ok(code));
    let spaced: String = code.as_str().chars().flat_map(|c| [c, ' ']).collect();
    assert_eq!(UserCode::parse(&spaced), Ok(code));
});
