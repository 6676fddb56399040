//! Stateful: the device-flow client (RFC 8628 §3), `DeviceFlow` →
//! `DevicePending`, fed an arbitrary device authorization response, then
//! arbitrary poll responses (raw bytes, or well-formed `authorization_pending`,
//! `slow_down`, errors and token responses) on a virtual clock that waits
//! or not. Never panics; a model of the interval (the one told, plus 5 s
//! per `slow_down`) predicts `interval()` and `poll_timeout()` exactly:
//! the client never asks to poll earlier than the interval it was told
//! after its last answer, `write_poll_request` refuses until then
//! (`TooEarly`) and after expiry (`Expired`), and the poll body names the
//! device code it was given.
#![no_main]
use arbitrary::Arbitrary;
use latch_core::form;
use latch_core::oauth2::ErrorCode;
use latch_core::oauth2::client::{
    ClientError, ClientIdentity, DeviceFlow, ErrorResponse, PollOutcome, TokenResponse,
};
use latch_fuzz::{Clock, VecSink, written};
use libfuzzer_sys::fuzz_target;

/// Device code and token capacity.
const N: usize = 64;

/// `s` as a JSON string literal.
fn json(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[derive(Arbitrary, Debug)]
enum Start<'a> {
    Raw {
        status: u16,
        body: &'a [u8],
    },
    Built {
        device_code: &'a str,
        user_code: &'a str,
        uri: &'a str,
        complete: Option<&'a str>,
        expires_in: u32,
        interval: Option<u8>,
        google: bool,
    },
}

#[derive(Arbitrary, Debug)]
enum Answer<'a> {
    Pending,
    SlowDown,
    Expired,
    Denied,
    Error(&'a str),
    Tokens {
        access: &'a str,
        refresh: Option<&'a str>,
        expires_in: Option<u32>,
        bearer: bool,
    },
    Raw {
        status: u16,
        body: &'a [u8],
    },
}

impl Answer<'_> {
    fn bytes(&self) -> (u16, Vec<u8>) {
        let error = |code: &str| (400, format!("{{\"error\":{}}}", json(code)).into_bytes());
        match self {
            Answer::Pending => error("authorization_pending"),
            Answer::SlowDown => error("slow_down"),
            Answer::Expired => error("expired_token"),
            Answer::Denied => error("access_denied"),
            Answer::Error(code) => error(code),
            Answer::Tokens {
                access,
                refresh,
                expires_in,
                bearer,
            } => {
                let mut b = format!(
                    "{{\"access_token\":{},\"token_type\":\"{}\"",
                    json(access),
                    if *bearer { "Bearer" } else { "mac" }
                );
                if let Some(r) = refresh {
                    b.push_str(&format!(",\"refresh_token\":{}", json(r)));
                }
                if let Some(e) = expires_in {
                    b.push_str(&format!(",\"expires_in\":{e}"));
                }
                b.push('}');
                (200, b.into_bytes())
            }
            Answer::Raw { status, body } => (*status, body.to_vec()),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Step<'a> {
    Wait(u16),
    Poll {
        /// Wait until `poll_timeout()` first (plus up to 2 s).
        patient: bool,
        late: u8,
        /// Hand the answer in even when the client refused to poll.
        force: bool,
        answer: Answer<'a>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    confidential: bool,
    start: Start<'a>,
    steps: Vec<Step<'a>>,
}

fuzz_target!(|i: Input<'_>| {
    let identity = if i.confidential {
        ClientIdentity::confidential("tv", "tv-secret")
    } else {
        ClientIdentity::public("tv")
    };
    let flow = DeviceFlow::new(identity, Some("read"));
    let request = written(|w| flow.write_request(w));
    assert_eq!(
        latch_fuzz::sent_value(&request, "client_id").as_deref(),
        Some(&b"tv"[..])
    );

    let mut clock = Clock::new();
    let (status, body) = match &i.start {
        Start::Raw { status, body } => (*status, body.to_vec()),
        Start::Built {
            device_code,
            user_code,
            uri,
            complete,
            expires_in,
            interval,
            google,
        } => {
            let mut b = format!(
                "{{\"device_code\":{},\"user_code\":{},\"{}\":{},\"expires_in\":{expires_in}",
                json(device_code),
                json(user_code),
                if *google {
                    "verification_url"
                } else {
                    "verification_uri"
                },
                json(uri)
            );
            if let Some(c) = complete {
                b.push_str(&format!(",\"verification_uri_complete\":{}", json(c)));
            }
            if let Some(n) = interval {
                b.push_str(&format!(",\"interval\":{n}"));
            }
            b.push('}');
            (200, b.into_bytes())
        }
    };
    let t0 = clock.now();
    let pending = flow.handle_response::<N>(t0, status, &body);
    if let Start::Built {
        device_code,
        user_code,
        uri,
        complete,
        ..
    } = &i.start
    {
        let fits = device_code.len() <= N
            && user_code.len() <= 32
            && uri.len() <= 256
            && complete.is_none_or(|c| c.len() <= 288);
        match &pending {
            Ok(_) => assert!(fits),
            Err(e) => assert!(!fits && *e == ClientError::Capacity, "{e:?}"),
        }
    }
    let Ok(mut pending) = pending else { return };
    if status != 200 {
        panic!("a {status} answer started the flow");
    }
    let told = latch_core::oauth2::client::DeviceAuthorizationResponse::parse(&body).unwrap();
    let device_code = told.device_code.to_heapless::<N>().unwrap();
    let expires_at = t0.saturating_add(told.expires_in);
    assert_eq!(pending.expires_at(), expires_at);
    assert!(told.user_code.eq_str(pending.user_code()));
    assert!(told.verification_uri.eq_str(pending.verification_uri()));

    // The model: the interval the server asked for, and the time of the
    // last answer it counts from.
    let mut interval = told.interval.map_or(5, u64::from);
    let mut last = t0;
    for step in &i.steps {
        assert_eq!(pending.interval(), interval);
        assert_eq!(pending.poll_timeout(), last.saturating_add(interval));
        assert!(pending.poll_timeout() >= last.saturating_add(told.interval.map_or(5, u64::from)));
        let (patient, late, force, answer) = match step {
            Step::Wait(s) => {
                clock.advance(u64::from(*s));
                continue;
            }
            Step::Poll {
                patient,
                late,
                force,
                answer,
            } => (*patient, *late, *force, answer),
        };
        if patient {
            clock.advance_to(pending.poll_timeout());
            clock.advance(u64::from(late % 3));
        }
        let now = clock.now();
        let mut sink = VecSink::default();
        let wrote = pending.write_poll_request(now, &mut sink);
        let expected = if now >= expires_at {
            Err(ClientError::Expired)
        } else if now < pending.poll_timeout() {
            Err(ClientError::TooEarly)
        } else {
            Ok(())
        };
        assert_eq!(wrote, expected);
        if wrote.is_ok() {
            let body = &sink.0;
            assert_eq!(
                latch_fuzz::sent_value(body, "grant_type").as_deref(),
                Some(&b"urn:ietf:params:oauth:grant-type:device_code"[..])
            );
            assert_eq!(
                latch_fuzz::sent_value(body, "device_code").unwrap_or_default(),
                device_code.as_bytes()
            );
            assert!(form::validate(body).is_ok());
        } else if !force {
            continue;
        }

        let (status, body) = answer.bytes();
        let outcome = pending.handle_poll_response(now, status, &body);
        if status == 200 {
            // A token answer ends the flow or fails; the schedule stays.
            match (&outcome, TokenResponse::parse(&body)) {
                (Ok(PollOutcome::Authorized(t)), Ok(r)) => {
                    assert!(r.is_bearer());
                    assert!(r.access_token.eq_str(t.access_token()));
                    return;
                }
                (Ok(PollOutcome::Pending), _) => panic!("a 200 answer left the flow pending"),
                (Ok(_), Err(e)) => panic!("tokens from a malformed body: {e:?}"),
                (Err(e), Ok(r)) => {
                    let fits = |s: Option<latch_core::oauth2::JsonStr<'_>>, cap: usize| {
                        s.is_none_or(|s| s.unescaped().count() <= cap)
                    };
                    assert!(
                        !r.is_bearer()
                            || !fits(Some(r.access_token), N)
                            || !fits(r.refresh_token, N)
                            || !fits(r.scope, 256),
                        "a good token response refused: {e:?}"
                    );
                    continue;
                }
                (Err(_), Err(_)) => continue,
            }
        }
        let code = ErrorResponse::parse(&body).ok().and_then(|e| e.code());
        match code {
            Some(ErrorCode::AuthorizationPending | ErrorCode::SlowDown) => {
                if code == Some(ErrorCode::SlowDown) {
                    interval = interval.saturating_add(5);
                }
                last = now;
                let next = now.saturating_add(interval);
                if next >= expires_at {
                    assert_eq!(outcome, Err(ClientError::Expired));
                } else {
                    assert_eq!(outcome, Ok(PollOutcome::Pending));
                }
            }
            Some(ErrorCode::ExpiredToken) => assert_eq!(outcome, Err(ClientError::Expired)),
            Some(c) => assert_eq!(
                outcome,
                Err(ClientError::Server {
                    status,
                    code: Some(c)
                })
            ),
            None => assert!(outcome.is_err()),
        }
    }
});
