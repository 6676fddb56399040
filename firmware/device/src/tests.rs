//! The device fed canned answers on a virtual clock: what it sends, when,
//! what it saves, and where it goes next.

use super::*;
use latch_core::http::{ReadStatus, ResponseReader};
use std::format;
use std::string::String;
use std::vec::Vec;

const ISSUER: &str = "http://192.168.69.1:8080";
const PING: &str = "http://192.168.69.1:8080/api/ping";

/// RFC 6749's example client (`Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW`).
fn cfg() -> Config<'static> {
    Config {
        issuer: ISSUER,
        client_id: "s6BhdRkqt3",
        client_secret: Some("gX1fBat3bV"),
        scope: Some("read"),
    }
}

const METADATA: &str = r#"{"issuer":"http://192.168.69.1:8080","token_endpoint":"http://192.168.69.1:8080/oauth2/token","device_authorization_endpoint":"http://192.168.69.1:8080/oauth2/device_authorization","scopes_supported":["read"]}"#;
const DEVICE: &str = r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","expires_in":1800,"interval":5}"#;
const TOKENS: &str = r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA"}"#;
const REFRESHED: &str = r#"{"access_token":"mF_9.B5f-4.1JqM","token_type":"Bearer","expires_in":3600,"refresh_token":"8xLOxBtZp8"}"#;
const PONG: &str = r#"{"ping":"pong"}"#;

/// The request the device sends at `now`, as text.
fn request(d: &mut Device<'_>, now: u64) -> String {
    let mut random = |b: &mut [u8]| b.fill(7);
    // Room for a bearer header or a refresh body of TOKEN_CAP bytes.
    let mut buf = std::vec![0u8; 1024 + TOKEN_CAP];
    let n = d
        .write_request(UnixTime(now), &mut random, &mut buf)
        .unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

/// Feeds an answer received at `now`; the event, as text.
fn answer(d: &mut Device<'_>, now: u64, status: &str, body: &str) -> Result<String, DeviceError> {
    let raw = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut buf = std::vec![0u8; 2048 + TOKEN_CAP];
    let mut r = ResponseReader::new(&mut buf);
    r.spare()[..raw.len()].copy_from_slice(raw.as_bytes());
    assert_eq!(r.received(raw.len()).unwrap(), ReadStatus::Complete);
    let resp = r.response().unwrap();
    d.handle_response(UnixTime(now), &resp).map(|e| match e {
        Event::Answer { status, body } => {
            format!("Answer {status} {}", String::from_utf8_lossy(body))
        }
        other => format!("{other:?}"),
    })
}

/// Saves the pending record into `flash`.
fn save(d: &mut Device<'_>, flash: &mut Vec<u8>) {
    assert_eq!(d.poll(), Poll::Save);
    let mut buf = [0u8; RECORD_CAP];
    let n = d.write_record(&mut buf).unwrap();
    *flash = buf[..n].to_vec();
    d.saved(true);
}

/// A new device that has discovered [`METADATA`] (saved into `flash`) and
/// got [`DEVICE`]'s user code at `now`: its first poll is due.
fn user_code_shown<'c>(cfg: &'c Config<'c>, flash: &mut Vec<u8>, now: u64) -> Device<'c> {
    let mut d = Device::new(cfg);
    request(&mut d, now);
    answer(&mut d, now, "200 OK", METADATA).unwrap();
    save(&mut d, flash);
    request(&mut d, now);
    answer(&mut d, now, "200 OK", DEVICE).unwrap();
    d
}

/// A device that has discovered and logged in at 1015 with [`TOKENS`].
fn logged_in<'c>(cfg: &'c Config<'c>, flash: &mut Vec<u8>) -> Device<'c> {
    let mut d = user_code_shown(cfg, flash, 1000);
    request(&mut d, 1005);
    assert_eq!(answer(&mut d, 1015, "200 OK", TOKENS).unwrap(), "LoggedIn");
    save(&mut d, flash);
    d
}

#[test]
fn discovery_device_flow_calls_refresh_and_oauth1_in_order() {
    let cfg = cfg();
    let mut d = Device::new(&cfg);
    let mut flash = Vec::new();
    assert_eq!(d.poll(), Poll::Send { not_before: None });
    let r = request(&mut d, 1000);
    assert!(
        r.starts_with(
            "GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: 192.168.69.1:8080\r\n"
        ),
        "{r}"
    );
    assert!(!r.contains("Authorization"), "{r}");
    assert_eq!(
        answer(&mut d, 1000, "200 OK", METADATA).unwrap(),
        "Discovered"
    );
    // The endpoints go to flash before anything else is sent.
    let mut buf = [0u8; 1024];
    assert_eq!(
        d.write_request(UnixTime(1000), &mut |_| {}, &mut buf),
        Err(DeviceError::NothingToSend)
    );
    save(&mut d, &mut flash);
    assert!(Device::restore(&cfg, &flash).endpoints().is_some());

    let r = request(&mut d, 1000);
    assert!(r.starts_with("POST /oauth2/device_authorization HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\nContent-Type: application/x-www-form-urlencoded\r\n"), "{r}");
    assert!(
        r.ends_with("\r\n\r\nclient_id=s6BhdRkqt3&scope=read"),
        "{r}"
    );
    assert_eq!(
        answer(&mut d, 1000, "200 OK", DEVICE).unwrap(),
        r#"UserCode { user_code: "WDJB-MJHT", verification_uri: "https://example.com/device" }"#
    );

    // RFC 8628 §3.5: poll after `interval`; slow_down adds 5 s.
    assert_eq!(
        d.poll(),
        Poll::Send {
            not_before: Some(UnixTime(1005))
        }
    );
    let r = request(&mut d, 1005);
    assert!(r.starts_with("POST /oauth2/token HTTP/1.1\r\n"), "{r}");
    assert!(r.ends_with("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=s6BhdRkqt3"), "{r}");
    assert_eq!(
        answer(&mut d, 1005, "400 Bad Request", r#"{"error":"slow_down"}"#).unwrap(),
        "Pending"
    );
    assert_eq!(
        d.poll(),
        Poll::Send {
            not_before: Some(UnixTime(1015))
        }
    );
    request(&mut d, 1015);
    assert_eq!(answer(&mut d, 1015, "200 OK", TOKENS).unwrap(), "LoggedIn");
    save(&mut d, &mut flash);
    assert_eq!(d.poll(), Poll::Idle);
    assert_eq!(d.refresh_due(), Some(UnixTime(1015 + 3600 - 60)));

    // A bearer call, refused: one refresh at once, saved, then the call again.
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    let r = request(&mut d, 1016);
    assert!(r.starts_with("GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: Bearer 2YotnFZFEjr1zCsicMWpAA\r\n"), "{r}");
    assert_eq!(
        answer(&mut d, 1016, "401 Unauthorized", "").unwrap(),
        "Pending"
    );
    let r = request(&mut d, 1016);
    assert!(
        r.ends_with("\r\n\r\ngrant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA"),
        "{r}"
    );
    assert_eq!(
        answer(&mut d, 1016, "200 OK", REFRESHED).unwrap(),
        "Refreshed"
    );
    save(&mut d, &mut flash);
    let r = request(&mut d, 1017);
    assert!(
        r.contains("Authorization: Bearer mF_9.B5f-4.1JqM\r\n"),
        "{r}"
    );
    // A second 401 for the same call is the caller's to judge.
    assert_eq!(
        answer(&mut d, 1017, "401 Unauthorized", "").unwrap(),
        "Answer 401 "
    );
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    request(&mut d, 1017);
    assert_eq!(
        answer(&mut d, 1017, "200 OK", PONG).unwrap(),
        format!("Answer 200 {PONG}")
    );

    // Due: the next bearer call refreshes first (60 s before expiry).
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    assert!(request(&mut d, 1016 + 3600 - 61).contains("Bearer mF_9"));
    answer(&mut d, 4555, "200 OK", PONG).unwrap();
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    assert!(request(&mut d, 4556).ends_with("refresh_token=8xLOxBtZp8"));
    assert_eq!(answer(&mut d, 4556, "200 OK", TOKENS).unwrap(), "Refreshed");
    save(&mut d, &mut flash);
    assert!(request(&mut d, 4557).contains("Bearer 2YotnFZFEjr1zCsicMWpAA"));
    answer(&mut d, 4557, "200 OK", PONG).unwrap();

    #[cfg(feature = "oauth1")]
    {
        // The OAuth1 call; its signature computed independently with Python's
        // hmac over the RFC 5849 §3.4.1 base string.
        d.call(Call::OAuth1 {
            method: Method::Get,
            url: PING,
            token: "nnch734d00sl2jdk",
            token_secret: "pfkkdhi9sl3r4s00",
        });
        let r = request(&mut d, 5000);
        assert!(r.starts_with("GET /api/ping HTTP/1.1\r\nHost: 192.168.69.1:8080\r\nAuthorization: OAuth oauth_consumer_key=\"s6BhdRkqt3\", oauth_nonce=\"07070707070707070707070707070707\", oauth_signature_method=\"HMAC-SHA1\", oauth_timestamp=\"5000\", oauth_token=\"nnch734d00sl2jdk\", oauth_signature=\"CDxKdKUouZlyjCsI26kHQhAxlCA%3D\"\r\n"), "{r}");
        assert_eq!(
            answer(&mut d, 5000, "200 OK", PONG).unwrap(),
            format!("Answer 200 {PONG}")
        );
    }
    assert_eq!(d.poll(), Poll::Idle);
    assert!(d.is_persisted());
}

#[test]
fn a_reboot_resumes_from_the_record() {
    let cfg = cfg();
    let mut flash = Vec::new();
    let _ = logged_in(&cfg, &mut flash);
    let mut d = Device::restore(&cfg, &flash);
    assert!(d.is_logged_in());
    assert_eq!(d.poll(), Poll::Idle, "no discovery, no device flow");
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    assert!(request(&mut d, 1100).contains("Bearer 2YotnFZFEjr1zCsicMWpAA"));

    // Endpoints only: straight to the device flow.
    let mut d = Device::new(&cfg);
    request(&mut d, 0);
    answer(&mut d, 0, "200 OK", METADATA).unwrap();
    save(&mut d, &mut flash);
    let mut d = Device::restore(&cfg, &flash);
    assert!(!d.is_logged_in());
    assert!(request(&mut d, 0).starts_with("POST /oauth2/device_authorization "));

    // Garbage, or another server's endpoints: from discovery.
    for record in [&b"LD\x01\xff"[..], b""] {
        let mut d = Device::restore(&cfg, record);
        assert!(request(&mut d, 0).starts_with("GET /.well-known/"));
    }
    let other = Config {
        issuer: "http://10.0.0.1:8080",
        ..cfg
    };
    let mut d = Device::restore(&other, &flash);
    assert!(d.endpoints().is_none());
    assert!(request(&mut d, 0).starts_with("GET /.well-known/"));
}

#[test]
fn a_dead_refresh_token_starts_the_device_flow_again() {
    let cfg = cfg();
    let mut flash = Vec::new();
    let mut d = logged_in(&cfg, &mut flash);
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    request(&mut d, 5000); // expired: refresh first
    assert_eq!(
        answer(
            &mut d,
            5000,
            "400 Bad Request",
            r#"{"error":"invalid_grant"}"#
        )
        .unwrap(),
        "LoginLost"
    );
    // The dead tokens leave flash before anything else happens.
    save(&mut d, &mut flash);
    assert!(!Device::restore(&cfg, &flash).is_logged_in());
    assert!(request(&mut d, 5000).starts_with("POST /oauth2/device_authorization "));
    answer(&mut d, 5000, "200 OK", DEVICE).unwrap();
    request(&mut d, 5005);
    answer(&mut d, 5005, "200 OK", REFRESHED).unwrap();
    save(&mut d, &mut flash);
    // The queued call goes out with the new token.
    assert!(request(&mut d, 5006).contains("Bearer mF_9.B5f-4.1JqM"));

    // Any other refusal of a refresh is an error, not a new login.
    let mut d = logged_in(&cfg, &mut flash);
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    request(&mut d, 5000);
    assert_eq!(
        answer(
            &mut d,
            5000,
            "401 Unauthorized",
            r#"{"error":"invalid_client"}"#
        ),
        Err(DeviceError::OAuth(ClientError::Server {
            status: 401,
            code: Some(ErrorCode::InvalidClient)
        }))
    );
}

#[test]
fn failed_saves_are_retried_then_the_device_goes_on_unpersisted() {
    let cfg = cfg();
    let mut flash = Vec::new();
    let mut d = logged_in(&cfg, &mut flash);
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    request(&mut d, 5000);
    answer(&mut d, 5000, "200 OK", REFRESHED).unwrap();
    for _ in 1..SAVE_ATTEMPTS {
        assert_eq!(d.poll(), Poll::Save);
        d.saved(false);
        assert!(!d.is_persisted());
    }
    assert_eq!(d.poll(), Poll::Save);
    d.saved(false);
    // Given up: the call goes out with the tokens in RAM.
    assert_eq!(d.poll(), Poll::Send { not_before: None });
    assert!(!d.is_persisted());
    assert!(request(&mut d, 5001).contains("Bearer mF_9.B5f-4.1JqM"));
    // Flash still has the older login.
    assert!(Device::restore(&cfg, &flash).is_logged_in());
    answer(&mut d, 5001, "200 OK", PONG).unwrap();
    // The next change is saved again, and a good save ends the degraded state.
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    request(&mut d, 9000);
    answer(&mut d, 9000, "200 OK", TOKENS).unwrap();
    save(&mut d, &mut flash);
    assert!(d.is_persisted());
}

#[test]
fn polling_survives_a_few_transport_failures_and_nothing_leaves_the_origin() {
    let cfg = cfg();
    let mut flash = Vec::new();
    let mut d = user_code_shown(&cfg, &mut flash, 0);
    for i in 0..u64::from(POLL_RETRIES) {
        let now = 5 + 5 * i;
        d.handle_transport_error(UnixTime(now)).unwrap();
        assert_eq!(
            d.poll(),
            Poll::Send {
                not_before: Some(UnixTime(now + 5))
            }
        );
    }
    assert_eq!(
        d.handle_transport_error(UnixTime(20)),
        Err(DeviceError::Transport)
    );
    // Discovery that names another origin is refused.
    let mut d = Device::new(&cfg);
    request(&mut d, 0);
    let elsewhere = METADATA.replace("8080/oauth2/token", "8081/oauth2/token");
    assert_eq!(
        answer(&mut d, 0, "200 OK", &elsewhere),
        Err(DeviceError::Origin)
    );
    let wrong_issuer = METADATA.replacen("192.168.69.1:8080", "192.168.69.9:8080", 1);
    assert_eq!(
        answer(&mut d, 0, "200 OK", &wrong_issuer),
        Err(DeviceError::OAuth(ClientError::IssuerMismatch))
    );
    // So is a call elsewhere.
    let mut d = logged_in(&cfg, &mut flash);
    d.call(Call::Bearer {
        method: Method::Get,
        url: "https://192.168.69.1:8080/api/ping",
    });
    let mut buf = [0u8; 1024];
    assert_eq!(
        d.write_request(UnixTime(1100), &mut |_| {}, &mut buf),
        Err(DeviceError::Origin)
    );
    // A denied device flow ends the login with the server's code.
    let mut d = user_code_shown(&cfg, &mut flash, 0);
    let denied = answer(&mut d, 5, "400 Bad Request", r#"{"error":"access_denied"}"#).unwrap_err();
    assert_eq!(format!("{denied}"), "access_denied");
}

#[test]
fn hot_paths_fit_small_buffers_or_say_so() {
    let cfg = cfg();
    let mut flash = Vec::new();
    let mut d = logged_in(&cfg, &mut flash);
    d.call(Call::Bearer {
        method: Method::Get,
        url: PING,
    });
    let mut small = [0u8; 64];
    assert_eq!(
        d.write_request(UnixTime(1100), &mut |_| {}, &mut small),
        Err(DeviceError::Request(RequestError::BufferTooSmall))
    );
    let mut tiny = [0u8; 8];
    assert!(matches!(
        d.write_record(&mut tiny),
        Err(DeviceError::Buffer(_))
    ));
}

/// What a server sends past the device's capacities (a JWT access token,
/// a long endpoint URL) is an error value with a clear message; up to the
/// capacity it is taken.
#[test]
fn values_past_the_capacities_are_refused_with_a_clear_error() {
    let cfg = cfg();
    let long_endpoint = format!("{ISSUER}/{}", "p".repeat(URL_CAP - ISSUER.len()));
    let metadata = |token_endpoint: &str| {
        format!(
            r#"{{"issuer":"{ISSUER}","token_endpoint":"{token_endpoint}","device_authorization_endpoint":"{ISSUER}/d"}}"#
        )
    };
    let mut d = Device::new(&cfg);
    request(&mut d, 1000);
    let refused = answer(&mut d, 1000, "200 OK", &metadata(&long_endpoint)).unwrap_err();
    assert_eq!(refused, DeviceError::OAuth(ClientError::Capacity));
    assert_eq!(
        format!("{refused}"),
        "a token, code or URL longer than the device holds"
    );
    let mut d = Device::new(&cfg);
    request(&mut d, 1000);
    let fits = &long_endpoint[..URL_CAP];
    assert_eq!(
        answer(&mut d, 1000, "200 OK", &metadata(fits)).unwrap(),
        "Discovered"
    );
    assert_eq!(d.endpoints().unwrap().as_text().0, fits);

    let tokens = |len: usize| {
        format!(
            r#"{{"access_token":"{}","token_type":"Bearer","expires_in":60}}"#,
            "a".repeat(len)
        )
    };
    let mut flash = Vec::new();
    for (len, taken) in [(TOKEN_CAP + 1, false), (TOKEN_CAP, true)] {
        let mut d = user_code_shown(&cfg, &mut flash, 1000);
        request(&mut d, 1005);
        let got = answer(&mut d, 1005, "200 OK", &tokens(len));
        if taken {
            assert_eq!(got.unwrap(), "LoggedIn");
        } else {
            assert_eq!(got, Err(DeviceError::OAuth(ClientError::Capacity)));
            assert!(!d.is_logged_in());
        }
    }
}

#[test]
fn the_origin_is_compared_as_rfc_6454_does() {
    // The host without regard to case (RFC 3986 §3.2.2) and the default
    // port written or not are the same origin; the fuzz target
    // device_record_ops found the first, the device accepted it, and its
    // request goes to the same server.
    let cfg = Config {
        issuer: "https://as.example",
        ..cfg()
    };
    let metadata = r#"{"issuer":"https://as.example","token_endpoint":"https://AS.Example:443/token","device_authorization_endpoint":"https://as.example/device"}"#;
    let mut d = Device::new(&cfg);
    assert!(request(&mut d, 0).contains("\r\nHost: as.example\r\n"));
    assert_eq!(answer(&mut d, 0, "200 OK", metadata).unwrap(), "Discovered");
    let mut flash = Vec::new();
    save(&mut d, &mut flash);
    request(&mut d, 0);
    answer(&mut d, 0, "200 OK", DEVICE).unwrap();
    let poll = request(&mut d, 5);
    assert!(poll.starts_with("POST /token HTTP/1.1\r\n"), "{poll}");
    assert!(poll.contains("\r\nHost: AS.Example:443\r\n"), "{poll}");
    // Another port is another origin; plain http under an https issuer is
    // refused by discovery before that.
    for (other, refused) in [
        ("https://as.example:8443/token", DeviceError::Origin),
        (
            "http://as.example/token",
            DeviceError::OAuth(ClientError::InvalidUrl),
        ),
    ] {
        let mut d = Device::new(&cfg);
        request(&mut d, 0);
        let metadata = metadata.replace("https://AS.Example:443/token", other);
        assert_eq!(
            answer(&mut d, 0, "200 OK", &metadata),
            Err(refused),
            "{other}"
        );
    }
}

/// An issuer with only OpenID Connect Discovery's document (RFC 8414 §5):
/// after the 404, the device asks for `openid-configuration` and reads the
/// same members; a 404 there too ends the login with that status.
#[test]
fn a_404_for_rfc_8414_metadata_falls_back_to_openid_configuration() {
    let cfg = cfg();
    let mut d = Device::new(&cfg);
    assert!(
        request(&mut d, 0).starts_with("GET /.well-known/oauth-authorization-server HTTP/1.1\r\n")
    );
    assert_eq!(
        answer(&mut d, 0, "404 Not Found", "").unwrap(),
        "MetadataNotFound"
    );
    assert_eq!(d.poll(), Poll::Send { not_before: None }, "nothing to save");
    assert!(request(&mut d, 0).starts_with("GET /.well-known/openid-configuration HTTP/1.1\r\n"));
    assert_eq!(answer(&mut d, 0, "200 OK", METADATA).unwrap(), "Discovered");
    assert_eq!(
        d.endpoints().unwrap().as_text().0,
        "http://192.168.69.1:8080/oauth2/token"
    );

    let mut d = Device::new(&cfg);
    request(&mut d, 0);
    answer(&mut d, 0, "404 Not Found", "").unwrap();
    request(&mut d, 0);
    assert_eq!(
        answer(&mut d, 0, "404 Not Found", ""),
        Err(DeviceError::OAuth(ClientError::Status(404)))
    );
    // Any other status is the server's answer: no second document.
    let mut d = Device::new(&cfg);
    request(&mut d, 0);
    assert_eq!(
        answer(&mut d, 0, "500 Internal Server Error", ""),
        Err(DeviceError::OAuth(ClientError::Status(500)))
    );
}
