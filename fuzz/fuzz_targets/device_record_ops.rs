//! latch-device's saved record and its steps on arbitrary input: a device
//! restored from any bytes (a corrupted flash) never panics, sends only to
//! the issuer's origin, and hands out a record that restores to the same
//! state; then arbitrary answers drive it, and every record it writes
//! along the way restores again.
#![no_main]
use arbitrary::Arbitrary;
use latch_core::UnixTime;
use latch_core::http::{Method, ReadStatus, ResponseReader};
use latch_device::{Call, Config, Device, Poll, RECORD_CAP};
use libfuzzer_sys::fuzz_target;

const CFG: Config<'static> = Config {
    issuer: "https://as.example",
    client_id: "s6BhdRkqt3",
    client_secret: Some("gX1fBat3bV"),
    scope: Some("read"),
};

/// The fuzz input: a record as flash might hold it, then the steps.
/// `fuzz/make_device_seeds.py` writes seeds in this encoding (arbitrary
/// 1.5's); `cargo +nightly-2026-05-20 fuzz fmt device_record_ops FILE` prints one.
#[derive(Arbitrary, Debug)]
struct Input<'a> {
    record: &'a [u8],
    steps: Vec<Step<'a>>,
}

#[derive(Arbitrary, Debug)]
enum Step<'a> {
    Answer {
        status: u16,
        body: &'a [u8],
        at: u32,
    },
    Transport {
        at: u32,
    },
    Saved(bool),
    Call {
        oauth1: bool,
    },
}

fn same_record(d: &Device<'_>) {
    let mut rec = [0u8; RECORD_CAP];
    let n = d
        .write_record(&mut rec)
        .expect("RECORD_CAP holds every record");
    if n == 0 {
        return;
    }
    let again = Device::restore(&CFG, &rec[..n]);
    let mut rec2 = [0u8; RECORD_CAP];
    let m = again.write_record(&mut rec2).expect("fits");
    assert_eq!(rec[..n], rec2[..m], "a record restores to itself");
    assert_eq!(again.is_logged_in(), d.is_logged_in());
}

/// Whether a request's `Host` is the issuer's: the host compared without
/// regard to case (RFC 3986 §3.2.2), the default port written or not.
fn to_the_issuer(request: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(request) else {
        return false;
    };
    let mut hosts = text.split("\r\n").filter_map(|l| l.strip_prefix("Host: "));
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => {
            let host = host.strip_suffix(":443").unwrap_or(host);
            host.eq_ignore_ascii_case("as.example")
        }
        _ => false,
    }
}

fn run(record: &[u8], steps: Vec<Step<'_>>) {
    let mut d = Device::restore(&CFG, record);
    same_record(&d);
    for step in steps.into_iter().take(32) {
        let mut out = [0u8; 1024];
        let mut random = |b: &mut [u8]| b.fill(7);
        match step {
            Step::Answer { status, body, at } => {
                let now = UnixTime(u64::from(at));
                if matches!(d.poll(), Poll::Send { .. })
                    && let Ok(n) = d.write_request(now, &mut random, &mut out)
                {
                    assert!(to_the_issuer(&out[..n]), "only to the issuer");
                }
                let head = format!(
                    "HTTP/1.1 {} X\r\nContent-Length: {}\r\n\r\n",
                    status.clamp(100, 599),
                    body.len()
                );
                let mut buf = vec![0u8; head.len() + body.len() + 1];
                let mut r = ResponseReader::new(&mut buf);
                let spare = r.spare();
                spare[..head.len()].copy_from_slice(head.as_bytes());
                spare[head.len()..head.len() + body.len()].copy_from_slice(body);
                if let Ok(ReadStatus::Complete) = r.received(head.len() + body.len())
                    && let Some(resp) = r.response()
                {
                    let _ = d.handle_response(now, &resp);
                }
            }
            Step::Transport { at } => {
                let _ = d.handle_transport_error(UnixTime(u64::from(at)));
            }
            Step::Saved(ok) => {
                if d.poll() == Poll::Save {
                    same_record(&d);
                }
                d.saved(ok);
            }
            Step::Call { oauth1 } => d.call(if oauth1 {
                Call::OAuth1 {
                    method: Method::Get,
                    url: "https://as.example/r",
                    token: "t",
                    token_secret: "s",
                }
            } else {
                Call::Bearer {
                    method: Method::Get,
                    url: "https://as.example/r",
                }
            }),
        }
    }
}

fuzz_target!(|input: Input<'_>| run(input.record, input.steps));
