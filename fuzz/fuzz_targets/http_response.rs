//! The HTTP/1.1 response reader (RFC 9112 §4, §6.3, §7.1) on arbitrary
//! bytes: never panics, and reading the bytes in the pieces the input
//! chooses gives exactly what reading them at once gives (a buffer half the
//! size may only add `ResponseTooLarge`). A complete response keeps its
//! promises: leftovers are the input's tail, a `HEAD` answer has no body, a
//! `Content-Length` body has that length, lookups find the first field.
//!
//! Input: one control byte (`0x40`: the request was `HEAD`; low four bits:
//! how many piece-size bytes follow), those piece sizes (cycled; none
//! means 1, 5, 17, 64), then the response bytes. The seeds are real
//! responses behind a `0` (or `@` for `HEAD`).
#![no_main]
use latch_core::http::{HttpError, ReadStatus, ResponseReader};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Read {
    status: u16,
    reason: String,
    minor: u8,
    fields: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    leftover: Vec<u8>,
    keep_alive: bool,
}

/// Reads `input` in pieces cycling through `pieces`, each clamped to the
/// spare room, then EOF if still partial; stops feeding once complete and
/// full (the rest would be leftover that does not fit).
fn read(input: &[u8], cap: usize, head: bool, pieces: &[usize]) -> Result<Read, HttpError> {
    let mut buf = vec![0u8; cap];
    let mut r = if head {
        ResponseReader::for_head(&mut buf)
    } else {
        ResponseReader::new(&mut buf)
    };
    let mut rest = input;
    let mut status = ReadStatus::Partial;
    for &piece in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let spare = r.spare();
        if spare.is_empty() {
            assert_eq!(
                status,
                ReadStatus::Complete,
                "full and partial without an error"
            );
            break;
        }
        let n = piece.clamp(1, rest.len()).min(spare.len());
        spare[..n].copy_from_slice(&rest[..n]);
        rest = &rest[n..];
        status = r.received(n)?;
        assert_eq!(r.response().is_some(), status == ReadStatus::Complete);
    }
    if status == ReadStatus::Partial {
        status = r.received(0)?;
    }
    assert_eq!(status, ReadStatus::Complete);
    assert_eq!(r.received(0), Ok(ReadStatus::Complete));
    let resp = r.response().expect("complete");
    let fields: Vec<(String, Vec<u8>)> = resp
        .headers()
        .map(|(n, v)| (n.to_owned(), v.to_vec()))
        .collect();
    for (name, _) in &fields {
        let first = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice());
        assert_eq!(resp.header(&name.to_ascii_uppercase()), first);
    }
    let out = Read {
        status: resp.status(),
        reason: resp.reason().to_owned(),
        minor: resp.minor_version(),
        fields,
        body: resp.body().to_vec(),
        leftover: r.leftover().to_vec(),
        keep_alive: resp.keep_alive(),
    };
    // Starting over must not panic, whatever the leftovers hold.
    let _ = r.next_response(false);
    let _ = r.received(0);
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let head = control & 0x40 != 0;
    let k = usize::from(control & 0x0F).min(rest.len());
    let (sizes, input) = rest.split_at(k);
    let pieces: Vec<usize> = if sizes.is_empty() {
        vec![1, 5, 17, 64]
    } else {
        sizes.iter().map(|&s| usize::from(s)).collect()
    };

    let cap = input.len() + 1;
    let once = read(input, cap, head, &[usize::MAX]);
    let split = read(input, cap, head, &pieces);
    assert_eq!(split, once, "split reading differs");

    let small = read(input, input.len() / 2 + 1, head, &pieces);
    match (&small, &once) {
        (Err(HttpError::ResponseTooLarge), _) => {}
        (Ok(s), Ok(o)) => {
            assert!(o.leftover.starts_with(&s.leftover));
            let s = Read {
                leftover: o.leftover.clone(),
                ..s.clone()
            };
            assert_eq!(&s, o, "small buffer differs");
        }
        (s, o) => assert_eq!(s, o, "small buffer differs"),
    }

    if let Ok(r) = &once {
        assert!((200..=599).contains(&r.status));
        assert!(r.minor <= 1);
        assert!(input.ends_with(&r.leftover), "leftover is the input's tail");
        assert!(r.body.len() + r.leftover.len() <= input.len());
        if r.minor == 0 {
            assert!(!r.keep_alive);
        }
        let length = r
            .fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if head || r.status == 204 || r.status == 304 {
            assert!(r.body.is_empty());
        } else if let Some(length) = length {
            assert_eq!(r.body.len(), length);
        }
    }
});
