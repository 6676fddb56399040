//! The whole device flow against a real server, over std's TCP (plain
//! HTTP, loopback only: a device build would put TLS under the same
//! bytes), with the record kept in a file:
//!
//! ```sh
//! cargo run -p latch-device --example login -- http://127.0.0.1:8080 CLIENT_ID SECRET state.bin
//! ```
//!
//! Prints the user code, waits for the approval, then calls
//! `/api/ping` with the token; a second run resumes from `state.bin`.

use latch_core::UnixTime;
use latch_core::http::{Method, ReadStatus, ResponseReader};
use latch_device::{Call, Config, Device, Event, Poll, RECORD_CAP};
use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Writes the record (it holds tokens: owner-only) in place of the last,
/// through a temporary file and a rename, so a crash leaves one or the
/// other.
fn save(path: &str, record: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = format!("{path}.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(record)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [issuer, id, secret, state] = args.as_slice() else {
        eprintln!("usage: login ISSUER CLIENT_ID CLIENT_SECRET STATE_FILE");
        std::process::exit(2)
    };
    let addr = issuer
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let cfg = Config {
        issuer,
        client_id: id,
        client_secret: Some(secret),
        scope: None,
    };
    let saved = std::fs::read(state).unwrap_or_default();
    let mut device = Device::restore(&cfg, &saved);
    let ping = format!("{}/api/ping", issuer.trim_end_matches('/'));
    let (mut request, mut response) = ([0u8; 1024], [0u8; 2048]);
    let mut called = false;
    loop {
        match device.poll() {
            Poll::Save => {
                let mut record = [0u8; RECORD_CAP];
                let n = device.write_record(&mut record)?;
                device.saved(save(state, &record[..n]).is_ok());
            }
            Poll::Idle if called => return Ok(()),
            Poll::Idle => {
                device.call(Call::Bearer {
                    method: Method::Get,
                    url: &ping,
                });
                called = true;
            }
            Poll::Send { not_before } => {
                if let Some(t) = not_before {
                    std::thread::sleep(Duration::from_secs(t.as_secs().saturating_sub(now())));
                }
                let mut random = |b: &mut [u8]| b.fill(now() as u8); // use a real RNG on a device
                let n = device.write_request(UnixTime(now()), &mut random, &mut request)?;
                let mut conn = std::net::TcpStream::connect(&addr)?;
                conn.write_all(&request[..n])?;
                let mut reader = ResponseReader::new(&mut response);
                loop {
                    let got = conn.read(reader.spare())?;
                    if reader.received(got)? == ReadStatus::Complete {
                        break;
                    }
                }
                let resp = reader.response().ok_or("incomplete answer")?;
                match device.handle_response(UnixTime(now()), &resp)? {
                    Event::UserCode {
                        user_code,
                        verification_uri,
                    } => {
                        println!("open {verification_uri} and enter {user_code}")
                    }
                    Event::Answer { status, body } => {
                        println!("{status} {}", String::from_utf8_lossy(body))
                    }
                    other => println!("{other:?}"),
                }
            }
        }
    }
}
