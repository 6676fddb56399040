//! The client flows against the server core, driven on a virtual clock
//! (in the manner of quinn's `Pair::drive`): no sockets, no sleeping, the
//! same bytes a real exchange would carry.

use chacha20::ChaCha20Rng;
use latch_core::oauth2::client::{
    AuthCodeConfig, AuthCodeFlow, ClientError, ClientIdentity, DeviceFlow, DevicePending,
    PollOutcome, TokenSet,
};
use latch_core::oauth2::{
    AuthorizationRequest, BearerError, ClientRecord, ErrorCode, GrantType, GrantTypes, MemoryStore,
    Policy, Store, authorize_bearer, device_authorization_endpoint, introspection_endpoint,
    token_endpoint, verify_user_code,
};
use latch_core::{SliceWriter, Text, UnixTime};
use rand_core::SeedableRng;

type Mem = MemoryStore<4, 32>;

/// The server side of the pair: a store, a generator and a policy.
struct Server {
    store: Mem,
    rng: ChaCha20Rng,
    policy: Policy,
}

/// One HTTP exchange: status and body.
type Reply = (u16, Vec<u8>);

impl Server {
    fn new() -> Self {
        let mut store = Mem::new();
        store
            .add_client(
                ClientRecord::new(
                    "tv",
                    None,
                    &[],
                    "ping info",
                    GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
                )
                .unwrap(),
            )
            .unwrap();
        // The web app doubles as the resource server: it may introspect the
        // device's tokens (RFC 7662 §4; other clients see only their own).
        let mut webapp = ClientRecord::new(
            "webapp",
            Some("webapp-secret"),
            &["https://app.example/callback"],
            "ping info",
            GrantTypes::ALL,
        )
        .unwrap();
        webapp.resource_server = true;
        store.add_client(webapp).unwrap();
        Server {
            store,
            rng: ChaCha20Rng::seed_from_u64(7),
            policy: Policy {
                access_token_ttl: 300,
                ..Policy::DEFAULT
            },
        }
    }

    fn device_authorization(&mut self, body: &[u8], now: UnixTime) -> Reply {
        let d = device_authorization_endpoint(
            &mut self.store,
            None,
            body,
            now,
            &self.policy,
            &mut self.rng,
        );
        let mut out = vec![0u8; 1024];
        let n = d.render("https://auth.example/device", &mut out).unwrap();
        out.truncate(n);
        (d.http_status(), out)
    }

    fn token(&mut self, authorization: Option<&str>, body: &[u8], now: UnixTime) -> Reply {
        let d = token_endpoint(
            &mut self.store,
            authorization,
            body,
            now,
            &self.policy,
            &mut self.rng,
        );
        let mut out = vec![0u8; 1024];
        let n = d.render(&mut out).unwrap();
        out.truncate(n);
        (d.http_status(), out)
    }

    fn approve(&mut self, user_code: &str, now: UnixTime) {
        let pending = verify_user_code(&self.store, &Text::plain(user_code), now).unwrap();
        self.store
            .apply(&pending.approve("alice").unwrap())
            .unwrap();
    }
}

fn written(f: impl FnOnce(&mut SliceWriter<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let mut w = SliceWriter::new(&mut buf);
    f(&mut w);
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

fn poll_once(
    server: &mut Server,
    pending: &mut DevicePending<'_, 64>,
    now: UnixTime,
) -> Result<PollOutcome<64>, ClientError> {
    let body = written(|w| pending.write_poll_request(now, w).unwrap());
    let (status, reply) = server.token(None, &body, now);
    pending.handle_poll_response(now, status, &reply)
}

#[test]
fn device_flow_start_to_refresh_on_a_virtual_clock() {
    let mut server = Server::new();
    let identity = ClientIdentity::public("tv");
    let flow = DeviceFlow::new(identity, Some("ping"));
    let mut now = UnixTime(1_000_000);

    // Start.
    let (status, reply) = server.device_authorization(&written(|w| flow.write_request(w)), now);
    let mut pending = flow.handle_response::<64>(now, status, &reply).unwrap();
    assert_eq!(pending.verification_uri(), "https://auth.example/device");
    let user_code = pending.user_code().to_owned();

    // Poll, honouring the interval, until the user approves at +23 s.
    let approve_at = now.saturating_add(23);
    let mut polls = 0;
    let tokens = loop {
        now = pending.poll_timeout();
        if now >= approve_at
            && polls < 100
            && server.store.devices()[0].status == latch_core::oauth2::DeviceStatus::Pending
        {
            server.approve(&user_code, now);
        }
        polls += 1;
        match poll_once(&mut server, &mut pending, now).unwrap() {
            PollOutcome::Pending => assert!(polls < 10),
            PollOutcome::Authorized(t) => break t,
        }
    };
    // Polls at +5, +10, +15, +20 pending; approved before the +25 poll.
    assert_eq!(polls, 5);
    assert_eq!(
        pending.interval(),
        5,
        "an honest client is never slowed down"
    );

    // Use the token.
    let header = String::from_utf8(written(|w| tokens.write_bearer(w))).unwrap();
    let record = authorize_bearer(&server.store, Some(&header), now, Some("ping")).unwrap();
    assert_eq!(record.subject.as_deref(), Some("alice"));
    assert_eq!(
        authorize_bearer(&server.store, Some(&header), now, Some("admin")),
        Err(BearerError::InsufficientScope)
    );

    // Refresh before expiry, three times over.
    let mut tokens: TokenSet<64> = tokens;
    for _ in 0..3 {
        let due = tokens.poll_timeout().unwrap();
        assert_eq!(due, UnixTime(tokens.expires_at().unwrap().0 - 60));
        now = due;
        assert!(tokens.needs_refresh(now) && !tokens.is_expired(now));
        let old_access = tokens.access_token().to_owned();
        let body = written(|w| tokens.write_refresh_request(&identity, w).unwrap());
        let (status, reply) = server.token(None, &body, now);
        tokens.handle_refresh_response(now, status, &reply).unwrap();
        assert_ne!(tokens.access_token(), old_access);
        let header = String::from_utf8(written(|w| tokens.write_bearer(w))).unwrap();
        assert!(authorize_bearer(&server.store, Some(&header), now, None).is_ok());
    }
    // A resource server introspects the device's token.
    let body = format!("token={}", tokens.access_token());
    let d = introspection_endpoint(
        &server.store,
        Some("Basic d2ViYXBwOndlYmFwcC1zZWNyZXQ="),
        body.as_bytes(),
        now,
    );
    let mut out = [0u8; 512];
    let n = d.render(&mut out).unwrap();
    assert!(out[..n].starts_with(br#"{"active":true,"scope":"ping""#));
}

#[test]
fn impatient_device_is_slowed_down_and_keeps_in_step() {
    let mut server = Server::new();
    let flow = DeviceFlow::new(ClientIdentity::public("tv"), None);
    let start = UnixTime(0);
    let (status, reply) = server.device_authorization(&written(|w| flow.write_request(w)), start);
    let mut pending = flow.handle_response::<64>(start, status, &reply).unwrap();
    // Poll properly once, then a client that ignores its own clock polls
    // one second early (forging the time it tells its state machine).
    assert_eq!(
        poll_once(&mut server, &mut pending, UnixTime(5)),
        Ok(PollOutcome::Pending)
    );
    let body = written(|w| pending.write_poll_request(UnixTime(10), w).unwrap());
    let (status, reply) = server.token(None, &body, UnixTime(9));
    assert_eq!(status, 400);
    assert_eq!(
        pending.handle_poll_response(UnixTime(9), status, &reply),
        Ok(PollOutcome::Pending)
    );
    assert_eq!(pending.interval(), 10);
    assert_eq!(
        server.store.devices()[0].interval,
        10,
        "client and server agree"
    );
    // From now on, honouring the new interval is never too fast.
    let at = pending.poll_timeout();
    assert_eq!(
        poll_once(&mut server, &mut pending, at),
        Ok(PollOutcome::Pending)
    );
    assert_eq!(pending.interval(), 10);
    // And the code runs out.
    let mut result = Ok(PollOutcome::Pending);
    while result == Ok(PollOutcome::Pending) {
        let at = pending.poll_timeout();
        result = poll_once(&mut server, &mut pending, at);
    }
    assert_eq!(result, Err(ClientError::Expired));
}

#[test]
fn denied_device_flow_reports_access_denied() {
    let mut server = Server::new();
    let flow = DeviceFlow::new(ClientIdentity::public("tv"), None);
    let (status, reply) =
        server.device_authorization(&written(|w| flow.write_request(w)), UnixTime(0));
    let mut pending = flow
        .handle_response::<64>(UnixTime(0), status, &reply)
        .unwrap();
    let p = verify_user_code(
        &server.store,
        &Text::plain(pending.user_code()),
        UnixTime(1),
    )
    .unwrap();
    server.store.apply(&p.deny()).unwrap();
    assert_eq!(
        poll_once(&mut server, &mut pending, UnixTime(5)),
        Err(ClientError::Server {
            status: 400,
            code: Some(ErrorCode::AccessDenied)
        })
    );
}

#[test]
fn authorization_code_with_pkce_client_against_the_server() {
    let mut server = Server::new();
    let config = AuthCodeConfig {
        identity: ClientIdentity::confidential("webapp", "webapp-secret"),
        authorization_endpoint: "https://auth.example/authorize",
        redirect_uri: "https://app.example/callback",
        scope: Some("ping"),
        issuer: Some("https://auth.example"),
    };
    let now = UnixTime(50_000);
    let pending = AuthCodeFlow::new(config)
        .start(&mut ChaCha20Rng::seed_from_u64(3))
        .unwrap();

    // The browser goes to the authorize URL; the server decides.
    let url = String::from_utf8(written(|w| pending.write_authorize_url(w))).unwrap();
    let query = url.split_once('?').unwrap().1;
    let req = AuthorizationRequest::parse(query.as_bytes()).unwrap();
    let client = server.store.client(&req.client_id().unwrap());
    let valid = req.validate(client.as_ref(), &server.policy).unwrap();
    assert_eq!(valid.scope(), "ping");
    let approval = valid
        .approve("alice", now, &server.policy, &mut server.rng)
        .unwrap();
    server.store.apply(&approval.write()).unwrap();
    let location = String::from_utf8(written(|w| {
        approval.write_location("https://auth.example", w)
    }))
    .unwrap();

    // The browser comes back; the client checks state and iss, exchanges.
    let callback = location.split_once('?').unwrap().1;
    let received = pending.handle_callback::<64>(callback.as_bytes()).unwrap();
    let authorization =
        String::from_utf8(written(|w| assert!(received.write_authorization(w)))).unwrap();
    let body = written(|w| received.write_token_request(w));
    let (status, reply) = server.token(Some(&authorization), &body, now.saturating_add(2));
    let tokens = received
        .handle_token_response(now.saturating_add(2), status, &reply)
        .unwrap();
    assert_eq!(tokens.scope(), Some("ping"));
    assert!(tokens.refresh_token().is_some());

    // The same callback replayed: the code is spent, and reuse revokes.
    let again = AuthCodeFlow::new(config)
        .start(&mut ChaCha20Rng::seed_from_u64(3))
        .unwrap();
    let replay = again.handle_callback::<64>(callback.as_bytes()).unwrap();
    let body = written(|w| replay.write_token_request(w));
    let (status, reply) = server.token(Some(&authorization), &body, now.saturating_add(3));
    assert_eq!(
        replay.handle_token_response(now.saturating_add(3), status, &reply),
        Err(ClientError::Server {
            status: 400,
            code: Some(ErrorCode::InvalidGrant)
        })
    );
    let header = String::from_utf8(written(|w| tokens.write_bearer(w))).unwrap();
    assert_eq!(
        authorize_bearer(&server.store, Some(&header), now, None),
        Err(BearerError::InvalidToken),
        "tokens from a reused code are revoked"
    );
}
