//! Proves the OAuth 2.0 hot paths make zero heap allocations: a full
//! authorization-code exchange (authorize, approve, parse the token
//! request, run the exchange against the in-memory store, render the
//! answer) and a device-flow poll (client request, server answer, client
//! reading it). A counting global allocator is armed only on this thread
//! while the closure runs.

// A global allocator cannot be written without `unsafe`; the crate itself
// forbids it.
#![allow(unsafe_code)]

use chacha20::ChaCha20Rng;
use latch_core::oauth2::client::{ClientIdentity, DeviceFlow, PollOutcome};
use latch_core::oauth2::{
    AuthorizationRequest, ClientRecord, GrantType, GrantTypes, MemoryStore, Policy, Store,
    device_authorization_endpoint, token_endpoint, verify_user_code,
};
use latch_core::{SliceWriter, Text, UnixTime};
use rand_core::SeedableRng;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

type Mem = MemoryStore<2, 8>;

fn store() -> Mem {
    let mut s = Mem::new();
    s.add_client(
        ClientRecord::new(
            "s6BhdRkqt3",
            Some("gX1fBat3bV"),
            &["https://client.example.com/cb"],
            "read write",
            GrantTypes::ALL,
        )
        .unwrap(),
    )
    .unwrap();
    s.add_client(
        ClientRecord::new(
            "tv",
            None,
            &[],
            "read",
            GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
        )
        .unwrap(),
    )
    .unwrap();
    s
}

#[test]
fn counter_sees_allocations() {
    let (_, n) = allocations(|| std::hint::black_box(vec![1u8; 64]));
    assert!(n >= 1);
}

#[test]
fn authorization_code_exchange_allocates_nothing() {
    let mut s = store();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let now = UnixTime(1_700_000_000);
    let policy = Policy::DEFAULT;
    let mut location = [0u8; 512];
    let mut body = [0u8; 512];
    let mut response = [0u8; 512];

    let ((status, n), count) = allocations(|| {
        // Authorization endpoint: parse, validate, approve, store, redirect.
        let query = b"response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
        let req = AuthorizationRequest::parse(query).unwrap();
        let client = s.client(&req.client_id().unwrap());
        let valid = req.validate(client.as_ref(), &policy).unwrap();
        let approval = valid.approve("alice", now, &policy, &mut rng).unwrap();
        s.apply(&approval.write()).unwrap();
        let mut w = SliceWriter::new(&mut location);
        approval.write_location("https://server.example.com", &mut w);
        w.finish().unwrap();

        // Token endpoint: the client's request body, parsed and exchanged.
        let mut w = SliceWriter::new(&mut body);
        use latch_core::Sink;
        w.put(b"grant_type=authorization_code&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&code=");
        w.put(approval.code().as_str().as_bytes());
        let body = w.into_written().unwrap();
        let done = token_endpoint(
            &mut s,
            Some("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
            body,
            now,
            &policy,
            &mut rng,
        );
        (done.http_status(), done.render(&mut response).unwrap())
    });
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&response[..n]));
    assert_eq!(count, 0, "the code exchange allocated {count} times");
    assert!(response[..n].starts_with(b"{\"access_token\":\""));
}

#[test]
fn device_flow_poll_allocates_nothing() {
    let mut s = store();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let policy = Policy::DEFAULT;
    let flow = DeviceFlow::new(ClientIdentity::public("tv"), Some("read"));
    let mut req = [0u8; 256];
    let mut resp = [0u8; 512];

    let (outcome, count) = allocations(|| {
        // Device authorization.
        let mut w = SliceWriter::new(&mut req);
        flow.write_request(&mut w);
        let n = w.finish().unwrap();
        let d =
            device_authorization_endpoint(&mut s, None, &req[..n], UnixTime(0), &policy, &mut rng);
        let len = d.render("https://example.com/device", &mut resp).unwrap();
        let mut pending = flow
            .handle_response::<64>(UnixTime(0), d.http_status(), &resp[..len])
            .unwrap();

        // One poll while pending.
        let poll = |s: &mut Mem,
                    at: UnixTime,
                    pending: &latch_core::oauth2::client::DevicePending<'_, 64>,
                    req: &mut [u8],
                    resp: &mut [u8],
                    rng: &mut ChaCha20Rng| {
            let mut w = SliceWriter::new(req);
            pending.write_poll_request(at, &mut w).unwrap();
            let body = w.into_written().unwrap();
            let done = token_endpoint(s, None, body, at, &policy, rng);
            let n = done.render(resp).unwrap();
            (done.http_status(), n)
        };
        let at = pending.poll_timeout();
        let (status, n) = poll(&mut s, at, &pending, &mut req, &mut resp, &mut rng);
        let first = pending
            .handle_poll_response(at, status, &resp[..n])
            .unwrap();
        assert_eq!(first, PollOutcome::Pending);

        // The user approves; the next poll gets the tokens.
        let code = Text::plain(pending.user_code());
        let approval = verify_user_code(&s, &code, at).unwrap();
        s.apply(&approval.approve("bob").unwrap()).unwrap();
        let at = pending.poll_timeout();
        let (status, n) = poll(&mut s, at, &pending, &mut req, &mut resp, &mut rng);
        pending
            .handle_poll_response(at, status, &resp[..n])
            .unwrap()
    });
    assert_eq!(count, 0, "the device flow allocated {count} times");
    let PollOutcome::Authorized(tokens) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(tokens.refresh_token().is_some());
}
