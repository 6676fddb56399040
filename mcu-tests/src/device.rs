//! latch-device's `Device` — the code the firmware runs — through a whole
//! conversation with canned answers, in the firmware's buffers (1 KiB
//! request, 2 KiB response, the record for flash): discovery, the device
//! flow with a `slow_down`, the record saved and restored as after a
//! reboot, a bearer call refused with 401 then refreshed and resent, and
//! an OAuth1-signed call. Its stack figure is the firmware's steps' own.

use latch_core::UnixTime;
use latch_core::http::{Method, ReadStatus, ResponseReader};
use latch_device::{Call, Config, Device, Poll, RECORD_CAP};

const CFG: Config<'static> = Config {
    issuer: "http://192.168.69.1:8080",
    client_id: "s6BhdRkqt3",
    client_secret: Some("gX1fBat3bV"),
    scope: Some("read"),
};
const PING: &str = "http://192.168.69.1:8080/api/ping";

/// The request the device writes must start with `start`; its answer is
/// `raw` (an HTTP response), read 7 bytes at a time.
fn step(
    d: &mut Device<'_>,
    now: u64,
    start: &[u8],
    raw: &[u8],
    response: &mut [u8; 2048],
) -> Result<(), &'static str> {
    let mut request = [0u8; 1024];
    let mut random = |b: &mut [u8]| b.fill(7);
    let n = d
        .write_request(UnixTime(now), &mut random, &mut request)
        .map_err(|_| "write_request")?;
    if !request.get(..n).is_some_and(|r| r.starts_with(start)) {
        return Err("the request is not the expected one");
    }
    let mut reader = ResponseReader::new(response);
    let mut rest = raw;
    loop {
        let spare = reader.spare();
        let k = rest.len().min(spare.len()).min(7);
        let (now_part, later) = rest.split_at_checked(k).ok_or("split")?;
        spare.get_mut(..k).ok_or("spare")?.copy_from_slice(now_part);
        rest = later;
        if reader
            .received(k)
            .map_err(|_| "the answer does not parse")?
            == ReadStatus::Complete
        {
            break;
        }
    }
    let resp = reader.response().ok_or("complete")?;
    d.handle_response(UnixTime(now), &resp)
        .map(|_| ())
        .map_err(|_| "the device refused the answer")
}

/// `status` and a JSON `body` as an HTTP answer in `out`; its length.
fn json(status: &str, body: &str, out: &mut [u8; 512]) -> usize {
    let mut n = 0;
    let mut digits = [0u8; 8];
    let mut len = body.len();
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (len % 10) as u8;
        len /= 10;
        if len == 0 {
            break;
        }
    }
    for part in [
        b"HTTP/1.1 ".as_slice(),
        status.as_bytes(),
        b"\r\nDate: Tue, 01 Dec 2026 08:05:26 GMT\r\nContent-Length: ",
        &digits[d..],
        b"\r\n\r\n",
        body.as_bytes(),
    ] {
        out[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    n
}

/// The conversation.
pub fn conversation() -> Result<(), &'static str> {
    let mut response = [0u8; 2048];
    let mut raw = [0u8; 512];
    let mut d = Device::new(&CFG);
    let n = json(
        "200 OK",
        r#"{"issuer":"http://192.168.69.1:8080","token_endpoint":"http://192.168.69.1:8080/oauth2/token","device_authorization_endpoint":"http://192.168.69.1:8080/oauth2/device_authorization"}"#,
        &mut raw,
    );
    step(
        &mut d,
        1000,
        b"GET /.well-known/oauth-authorization-server HTTP/1.1\r\n",
        &raw[..n],
        &mut response,
    )?;
    if d.poll() != Poll::Save {
        return Err("the endpoints are saved first");
    }
    d.saved(true);
    let n = json(
        "200 OK",
        r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800,"interval":5}"#,
        &mut raw,
    );
    step(&mut d, 1000, b"POST /oauth2/device_authorization HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\n", &raw[..n], &mut response)?;
    let n = json("400 Bad Request", r#"{"error":"slow_down"}"#, &mut raw);
    step(
        &mut d,
        1005,
        b"POST /oauth2/token HTTP/1.1\r\n",
        &raw[..n],
        &mut response,
    )?;
    if d.poll()
        != (Poll::Send {
            not_before: Some(UnixTime(1015)),
        })
    {
        return Err("slow_down adds 5 s (RFC 8628 3.5)");
    }
    let n = json(
        "200 OK",
        r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}"#,
        &mut raw,
    );
    step(
        &mut d,
        1015,
        b"POST /oauth2/token HTTP/1.1\r\n",
        &raw[..n],
        &mut response,
    )?;

    // Saved, then a reboot: the restored device is logged in.
    let mut record = [0u8; RECORD_CAP];
    let len = d.write_record(&mut record).map_err(|_| "write_record")?;
    d.saved(true);
    let mut d = Device::restore(&CFG, record.get(..len).ok_or("record")?);
    if !d.is_logged_in() || d.poll() != Poll::Idle {
        return Err("the restored device is logged in and idle");
    }

    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    let n = json("401 Unauthorized", "", &mut raw);
    step(&mut d, 1016, b"GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Bearer 2YotnFZFEjr1zCsicMWpAA\r\n", &raw[..n], &mut response)?;
    let n = json(
        "200 OK",
        r#"{"access_token":"mF_9.B5f-4.1JqM","token_type":"Bearer","expires_in":3600,"refresh_token":"8xLOxBtZp8"}"#,
        &mut raw,
    );
    step(
        &mut d,
        1016,
        b"POST /oauth2/token HTTP/1.1\r\n",
        &raw[..n],
        &mut response,
    )?;
    d.saved(true);
    let n = json("200 OK", r#"{"ping":"pong"}"#, &mut raw);
    step(&mut d, 1017, b"GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Bearer mF_9.B5f-4.1JqM\r\n", &raw[..n], &mut response)?;

    d.call(Call::OAuth1 {
        method: Method::Get,
        url: PING,
        token: "nnch734d00sl2jdk",
        token_secret: "pfkkdhi9sl3r4s00",
    });
    // The signature computed apart with Python's hmac (latch-device's unit test).
    step(&mut d, 5000, b"GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: OAuth oauth_consumer_key=\"s6BhdRkqt3\", oauth_nonce=\"07070707070707070707070707070707\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"5000\", oauth_token=\"nnch734d00sl2jdk\", oauth_signature=\"CDxKdKUouZlyjCsI26kHQhAxlCA%3D\"\r\n", &raw[..n], &mut response)?;
    match d.poll() {
        Poll::Idle if d.is_persisted() => Ok(()),
        _ => Err("idle and persisted at the end"),
    }
}
