//! Property tests for `latch_core::http`: a response read in any split of
//! its bytes is read exactly as in one piece, and as it was generated
//! (status, fields, de-chunked body, leftovers); a smaller buffer can only
//! add `ResponseTooLarge`; arbitrary bytes never panic and are split-blind
//! too; and the request writer either refuses a field or writes one that
//! parses back to itself.

use latch_core::SliceWriter;
use latch_core::http::{HttpError, ReadStatus, RequestWriter, ResponseReader};
use proptest::prelude::*;

/// Header fields, owned, in order.
type Fields = Vec<(String, Vec<u8>)>;

/// What reading came to, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Read {
    status: u16,
    reason: String,
    fields: Fields,
    body: Vec<u8>,
    leftover: Vec<u8>,
    keep_alive: bool,
}

/// Feeds `input` cut at `cuts` (offsets, any order, clamped), each piece
/// also clamped to what `spare` holds, then EOF if still partial.
fn feed(input: &[u8], cap: usize, head: bool, cuts: &[usize]) -> Result<Read, HttpError> {
    let mut buf = vec![0u8; cap];
    let mut r = if head {
        ResponseReader::for_head(&mut buf)
    } else {
        ResponseReader::new(&mut buf)
    };
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(input.len())).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut at = 0;
    let mut status = ReadStatus::Partial;
    for cut in cuts {
        while at < cut {
            let spare = r.spare();
            if spare.is_empty() {
                // Full and complete: the rest would be leftover that does
                // not fit (a full, incomplete reader has already failed).
                break;
            }
            let n = (cut - at).min(spare.len());
            spare[..n].copy_from_slice(&input[at..at + n]);
            at += n;
            status = r.received(n)?;
        }
    }
    if status == ReadStatus::Partial {
        status = r.received(0)?;
    }
    assert_eq!(status, ReadStatus::Complete);
    assert_eq!(
        r.received(0),
        Ok(ReadStatus::Complete),
        "EOF after Complete"
    );
    let resp = r.response().expect("Complete means a response");
    Ok(Read {
        status: resp.status(),
        reason: resp.reason().to_owned(),
        fields: resp
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect(),
        body: resp.body().to_vec(),
        leftover: r.leftover().to_vec(),
        keep_alive: resp.keep_alive(),
    })
}

/// A read into a smaller buffer agrees with one into a large enough one,
/// or ran out of room; its leftover is what of the other's fitted.
fn same_or_too_large(small: &Result<Read, HttpError>, big: &Result<Read, HttpError>) -> bool {
    match (small, big) {
        (Err(HttpError::ResponseTooLarge), _) => true,
        (Ok(s), Ok(b)) => {
            let Read { leftover, .. } = s;
            b.leftover.starts_with(leftover)
                && Read {
                    leftover: b.leftover.clone(),
                    ..s.clone()
                } == *b
        }
        (s, b) => s == b,
    }
}

#[derive(Debug, Clone)]
enum Framing {
    Length,
    /// Chunk sizes (cycled over the body, 0 taken as 1), an extension per
    /// chunk, trailer fields.
    Chunked {
        sizes: Vec<usize>,
        ext: Vec<Option<String>>,
        upper_hex: bool,
        trailers: Vec<(String, String)>,
    },
    Close,
}

#[derive(Debug, Clone)]
struct Case {
    interim: Vec<u16>,
    status: u16,
    reason: String,
    fields: Vec<(String, String)>,
    /// Per-letter case flips of every field name.
    case_seed: u64,
    framing: Framing,
    body: Vec<u8>,
    /// The start of a next response (not with `Close`).
    next: Vec<u8>,
    cuts: Vec<usize>,
}

fn flip_case(name: &str, seed: &mut u64) -> String {
    name.chars()
        .map(|c| {
            *seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if *seed >> 63 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}"
}

fn value() -> impl Strategy<Value = String> {
    // Field values: visible ASCII with inner spaces and tabs, no edges.
    prop_oneof![
        Just(String::new()),
        "[!-~]([ \t!-~]{0,20}[!-~])?",
        Just("Bearer realm=\"latch\", error=\"invalid_token\"".to_owned()),
    ]
}

const RESERVED: [&str; 3] = ["content-length", "transfer-encoding", "connection"];

fn case() -> impl Strategy<Value = Case> {
    let framing = prop_oneof![
        Just(Framing::Length),
        (
            prop::collection::vec(0usize..40, 1..6),
            prop::collection::vec(
                prop::option::of(prop_oneof![
                    Just(";a".to_owned()),
                    Just(" ; name=value".to_owned()),
                    Just(";q=\"quoted ; \\\"text\\\"\"".to_owned()),
                ]),
                1..4
            ),
            any::<bool>(),
            prop::collection::vec((token(), value()), 0..3),
        )
            .prop_map(|(sizes, ext, upper_hex, trailers)| Framing::Chunked {
                sizes,
                ext,
                upper_hex,
                trailers,
            }),
        Just(Framing::Close),
    ];
    (
        prop::collection::vec(prop::sample::select(vec![100u16, 102, 103]), 0..3),
        prop::sample::select(vec![200u16, 201, 204, 304, 400, 401, 404, 500, 599]),
        "[A-Za-z ]{0,12}",
        prop::collection::vec((token(), value()), 0..8),
        any::<u64>(),
        framing,
        prop::collection::vec(any::<u8>(), 0..300),
        prop_oneof![
            Just(Vec::new()),
            Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
            prop::collection::vec(any::<u8>(), 1..20),
        ],
        prop::collection::vec(0usize..2000, 0..12),
    )
        .prop_map(
            |(interim, status, reason, fields, case_seed, framing, body, next, cuts)| {
                let fields = fields
                    .into_iter()
                    .filter(|(n, _)| !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(n)))
                    .collect();
                Case {
                    interim,
                    status,
                    reason,
                    fields,
                    case_seed,
                    framing,
                    body,
                    next,
                    cuts,
                }
            },
        )
}

impl Case {
    fn no_body(&self) -> bool {
        matches!(self.status, 204 | 304)
    }

    /// The bytes on the wire, the fields of the final head as sent, and
    /// where that head ends.
    fn render(&self) -> (Vec<u8>, Fields, usize) {
        let mut seed = self.case_seed;
        let mut out = Vec::new();
        for code in &self.interim {
            out.extend_from_slice(format!("HTTP/1.1 {code} Interim\r\n").as_bytes());
            if *code == 103 {
                out.extend_from_slice(b"Link: </a.css>; rel=preload\r\n");
            }
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("HTTP/1.1 {} {}\r\n", self.status, self.reason).as_bytes());
        let mut fields: Vec<(String, String)> = self
            .fields
            .iter()
            .map(|(n, v)| (flip_case(n, &mut seed), v.clone()))
            .collect();
        let body = if self.no_body() { &[][..] } else { &self.body };
        match &self.framing {
            Framing::Length => fields.push((
                flip_case("content-length", &mut seed),
                body.len().to_string(),
            )),
            Framing::Chunked { .. } if !self.no_body() => fields.push((
                flip_case("transfer-encoding", &mut seed),
                "chunked".to_owned(),
            )),
            _ => {}
        }
        for (n, v) in &fields {
            out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        let head_end = out.len();
        match &self.framing {
            _ if self.no_body() => {}
            Framing::Length | Framing::Close => out.extend_from_slice(body),
            Framing::Chunked {
                sizes,
                ext,
                upper_hex,
                trailers,
            } => {
                let mut rest = body;
                let mut i = 0;
                while !rest.is_empty() {
                    let n = sizes[i % sizes.len()].clamp(1, rest.len());
                    let size = if *upper_hex {
                        format!("{n:X}")
                    } else {
                        format!("{n:x}")
                    };
                    let e = ext[i % ext.len()].as_deref().unwrap_or("");
                    out.extend_from_slice(format!("{size}{e}\r\n").as_bytes());
                    out.extend_from_slice(&rest[..n]);
                    out.extend_from_slice(b"\r\n");
                    rest = &rest[n..];
                    i += 1;
                }
                out.extend_from_slice(b"0\r\n");
                for (n, v) in trailers {
                    out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
                }
                out.extend_from_slice(b"\r\n");
            }
        }
        let fields = fields
            .into_iter()
            .map(|(n, v)| (n, v.into_bytes()))
            .collect();
        (out, fields, head_end)
    }

    fn leftover(&self) -> &[u8] {
        if matches!(self.framing, Framing::Close) && !self.no_body() {
            &[]
        } else {
            &self.next
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_split_reads_what_was_sent(case in case()) {
        let (wire, fields, _) = case.render();
        let leftover = case.leftover();
        let mut input = wire.clone();
        input.extend_from_slice(leftover);
        let cap = input.len() + 1;

        let once = feed(&input, cap, false, &[]).expect("a generated response reads");
        let expected_body: &[u8] = if case.no_body() { &[] } else { &case.body };
        prop_assert_eq!(once.status, case.status);
        prop_assert_eq!(&once.reason, &case.reason);
        prop_assert_eq!(&once.fields, &fields);
        prop_assert_eq!(&once.body, expected_body);
        prop_assert_eq!(&once.leftover, leftover);
        let closes = matches!(case.framing, Framing::Close) && !case.no_body();
        prop_assert_eq!(once.keep_alive, !closes);

        let split = feed(&input, cap, false, &case.cuts);
        prop_assert_eq!(split.as_ref(), Ok(&once));
        let bytewise: Vec<usize> = (0..input.len()).collect();
        let bytewise = feed(&input, cap, false, &bytewise);
        prop_assert_eq!(bytewise.as_ref(), Ok(&once));

        // Any smaller buffer: the same (with what leftover fits), or out
        // of room.
        for cap in [wire.len() / 2, wire.len() - 1, (wire.len() - 1).saturating_sub(expected_body.len() / 2).max(1)] {
            let small = feed(&input, cap, false, &case.cuts);
            prop_assert!(same_or_too_large(&small, &Ok(once.clone())), "cap {}: {:?}", cap, small);
        }
    }

    #[test]
    fn header_lookup_is_case_insensitive(case in case(), probe_seed in any::<u64>()) {
        let (wire, fields, _) = case.render();
        let mut buf = vec![0u8; wire.len() + 1];
        let mut r = ResponseReader::new(&mut buf);
        r.spare()[..wire.len()].copy_from_slice(&wire);
        let mut status = r.received(wire.len()).unwrap();
        if status == ReadStatus::Partial {
            status = r.received(0).unwrap();
        }
        prop_assert_eq!(status, ReadStatus::Complete);
        let resp = r.response().unwrap();
        let mut seed = probe_seed;
        for (name, _) in &fields {
            let first = fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_slice());
            prop_assert_eq!(resp.header(&flip_case(name, &mut seed)), first);
        }
    }

    #[test]
    fn head_responses_have_no_body(case in case()) {
        let (wire, fields, head_end) = case.render();
        // A HEAD answer carries the same head and nothing after it.
        let head = &wire[..head_end];
        let got = feed(head, head.len() + 1, true, &case.cuts).unwrap();
        prop_assert_eq!(got.status, case.status);
        prop_assert!(got.body.is_empty());
        prop_assert!(got.leftover.is_empty());
        prop_assert_eq!(&got.fields, &fields);
        prop_assert!(got.keep_alive);
    }

    #[test]
    fn arbitrary_bytes_are_split_blind(
        input in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            // Mostly valid prefixes with noise after them.
            (
                prop::sample::select(vec![
                    &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
                    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n",
                    b"HTTP/1.0 200 OK\r\n\r\n",
                ]),
                prop::collection::vec(
                    prop_oneof![any::<u8>(), prop::sample::select(b"0123456789abcdefABCDEF;=\" \t\r\n:".to_vec())],
                    0..120
                ),
            )
                .prop_map(|(head, tail)| [head, &tail[..]].concat()),
        ],
        cuts in prop::collection::vec(0usize..400, 0..16),
        head in any::<bool>(),
    ) {
        let cap = input.len() + 1;
        let once = feed(&input, cap, head, &[]);
        prop_assert_eq!(&feed(&input, cap, head, &cuts), &once);
        let small = feed(&input, input.len() / 2 + 1, head, &cuts);
        prop_assert!(same_or_too_large(&small, &once), "{:?} vs {:?}", small, once);
    }

    #[test]
    fn request_fields_are_refused_or_round_trip(
        name in prop_oneof![token(), "\\PC{0,8}", Just("Host".to_owned())],
        value in prop_oneof![value(), "\\PC{0,16}", "[ -~\r\n\t\0]{0,16}"],
        target in prop_oneof![Just("/api/ping".to_owned()), "/[!-~]{0,20}", "\\PC{0,12}"],
        body in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut buf = [0u8; 512];
        let mut out = SliceWriter::new(&mut buf);
        let Ok(mut req) = RequestWriter::new(&mut out, "POST", &target, "latch.test:8080") else {
            prop_assert!(!target.starts_with('/') || target.bytes().any(|b| !(0x21..=0x7e).contains(&b) || b == b'#'));
            return Ok(());
        };
        let accepted = req.header(&name, &value).is_ok();
        req.finish(&body);
        let bytes = out.into_written().unwrap();

        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut parsed = httparse::Request::new(&mut headers);
        let httparse::Status::Complete(len) = parsed.parse(bytes).unwrap() else {
            panic!("incomplete request");
        };
        prop_assert_eq!(parsed.method, Some("POST"));
        prop_assert_eq!(parsed.path, Some(target.as_str()));
        prop_assert_eq!(&bytes[len..], &body[..]);
        let names: Vec<&str> = parsed.headers.iter().map(|h| h.name).collect();
        if accepted {
            prop_assert_eq!(names.len(), 3);
            prop_assert_eq!(parsed.headers[1].name, name.as_str());
            // httparse trims the value's edges; the writer does not.
            prop_assert_eq!(parsed.headers[1].value, value.trim_matches([' ', '\t']).as_bytes());
        } else {
            prop_assert_eq!(names, vec!["Host", "Content-Length"]);
        }
        let length = body.len().to_string();
        prop_assert_eq!(parsed.headers.last().unwrap().value, length.as_bytes());
    }
}
