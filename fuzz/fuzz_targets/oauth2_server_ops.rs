//! Stateful (in the manner of quinn's `fuzz_targets/streams.rs`): a
//! sequence of operations against the authorization server — authorize,
//! redeem codes (again), refresh (and replay rotated refresh tokens, as
//! their client or another, and race two refreshes with one token),
//! client credentials, the device flow (start, poll, approve, deny),
//! revocation, introspection, clock advances and generator outages — run
//! through the core's one-call drivers (the race: the exchange's steps, as
//! the tokio shell runs them) against a `MemoryStore`, with a
//! deterministic generator seeded from the input, a virtual clock, and a
//! refresh grace window picked by the input (0, strict rotation, often).
//!
//! A model (the codes, device codes and tokens handed out, with their
//! family and state) predicts every answer; after every step the store
//! must agree with it. In particular: a code or device code never yields
//! tokens twice; a revoked or rotated-out token is never active; no token
//! is active after its expiry; replaying a rotated refresh token (or a
//! used code) leaves every token of its family inactive — unless the
//! token's own client replays it within the grace window after its first
//! rotation, which yields a new pair and revokes nothing (and a lost race
//! within the window is such a replay); the store remembers the first
//! rotation time; a failing generator changes nothing.
#![no_main]
use arbitrary::Arbitrary;
use latch_core::oauth2::ClientRecord;
use latch_core::oauth2::{
    AuthorizationRequest, BasicCredentials, DeviceStatus, Done, ErrorCode, Exchange, GrantType,
    GrantTypes, IntrospectionResponse, MAX_REFRESH_GRACE, MemoryStore, Policy, Store, TokenHash,
    TokenRecord, TokenRequest, UserCode, device_authorization_endpoint, finish,
    introspection_endpoint, is_active, revocation_endpoint, token_endpoint, verify_user_code,
};
use latch_core::{Text, UnixTime};
use latch_fuzz::{Clock, FuzzRng};
use libfuzzer_sys::fuzz_target;
use std::collections::HashMap;

const CB: &str = "https://client.example.com/cb";
const CB_ENC: &str = "https%3A%2F%2Fclient.example.com%2Fcb";
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// `web:web-secret`.
const WEB_BASIC: &str = "Basic d2ViOndlYi1zZWNyZXQ=";
/// `rs:rs-secret`: a resource server, which may introspect every token.
const RS_BASIC: &str = "Basic cnM6cnMtc2VjcmV0";
const DEVICE_GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code";
const MAX_OPS: usize = 48;

/// Rows per table: more than `MAX_OPS` operations can fill (a race issues
/// two pairs).
type Mem = MemoryStore<4, 128>;

#[derive(Arbitrary, Debug)]
struct Setup {
    seed: u64,
    access_ttl: u16,
    refresh_ttl: Option<u16>,
    code_ttl: u16,
    device_ttl: u16,
    device_interval: u8,
    issue_refresh_tokens: bool,
    require_pkce_for_confidential: bool,
    /// Seconds; values over `MAX_REFRESH_GRACE` exercise the cap.
    refresh_grace: u16,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Authorize {
        web: bool,
        pkce: bool,
        scope: u8,
    },
    RedeemCode {
        which: u8,
        with_verifier: bool,
    },
    RedeemAgain {
        which: u8,
    },
    Refresh {
        which: u8,
    },
    ReuseOldRefresh {
        which: u8,
    },
    /// Another client presents a refresh token (rotated or not).
    RefreshAsOther {
        which: u8,
    },
    /// Two refreshes with one live token, both read before either writes.
    RaceRefresh {
        which: u8,
    },
    ClientCredentials,
    DeviceStart {
        tv: bool,
    },
    DevicePoll {
        which: u8,
        after_secs: u8,
    },
    DeviceApprove {
        which: u8,
        lower_case: bool,
    },
    DeviceDeny {
        which: u8,
    },
    Revoke {
        which: u8,
        as_other: bool,
        hint: bool,
    },
    Introspect {
        which: u8,
    },
    Advance {
        secs: u16,
    },
    /// The generator fails during the next operation.
    RngOutage,
}

#[derive(Arbitrary, Debug)]
struct Input {
    setup: Setup,
    ops: Vec<Op>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Web,
    Spa,
    Tv,
}

impl Who {
    fn id(self) -> &'static str {
        match self {
            Who::Web => "web",
            Who::Spa => "spa",
            Who::Tv => "tv",
        }
    }

    /// The `Authorization` header and the body suffix that authenticate.
    fn auth(self) -> (Option<&'static str>, &'static str) {
        match self {
            Who::Web => (Some(WEB_BASIC), ""),
            Who::Spa => (None, "&client_id=spa"),
            Who::Tv => (None, "&client_id=tv"),
        }
    }

    fn other(self) -> Who {
        match self {
            Who::Web => Who::Spa,
            Who::Spa | Who::Tv => Who::Web,
        }
    }
}

fn store() -> Box<Mem> {
    let mut s = Box::new(Mem::new());
    for c in [
        ClientRecord::new(
            "web",
            Some("web-secret"),
            &[CB],
            "read write",
            GrantTypes::ALL,
        ),
        ClientRecord::new("spa", None, &[CB], "read write", GrantTypes::ALL),
        ClientRecord::new(
            "tv",
            None,
            &[],
            "read",
            GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
        ),
    ] {
        s.add_client(c.unwrap()).unwrap();
    }
    let mut rs = ClientRecord::new("rs", Some("rs-secret"), &[], "", GrantTypes::NONE).unwrap();
    rs.resource_server = true;
    s.add_client(rs).unwrap();
    s
}

#[derive(Debug)]
struct Code {
    code: String,
    hash: TokenHash,
    who: Who,
    pkce: bool,
    expires_at: UnixTime,
    family: usize,
    yielded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    Refresh,
}

#[derive(Debug)]
struct Issued {
    token: String,
    hash: TokenHash,
    kind: Kind,
    who: Who,
    family: usize,
    expires_at: Option<UnixTime>,
    /// Access token revoked on its own (RFC 7009).
    revoked: bool,
    /// Refresh token used once already: when first.
    rotated: Option<UnixTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DevState {
    Pending,
    Approved,
    Denied,
    Redeemed,
}

#[derive(Debug)]
struct Device {
    device_code: String,
    hash: TokenHash,
    user_code: UserCode,
    who: Who,
    expires_at: UnixTime,
    interval: u32,
    last_poll: Option<UnixTime>,
    state: DevState,
    family: usize,
}

struct Model {
    policy: Policy,
    /// The grace window the model expects the core to apply.
    grace: u64,
    codes: Vec<Code>,
    tokens: Vec<Issued>,
    devices: Vec<Device>,
    /// Per family: revoked.
    families: Vec<bool>,
}

impl Model {
    fn new_family(&mut self) -> usize {
        self.families.push(false);
        self.families.len() - 1
    }

    /// Whether the store still holds the token's row.
    fn present(&self, t: &Issued) -> bool {
        !self.families[t.family] && !t.revoked
    }

    /// Whether the token must introspect active at `now`.
    fn live(&self, t: &Issued, now: UnixTime) -> bool {
        self.present(t) && t.rotated.is_none() && t.expires_at.is_none_or(|e| now < e)
    }

    /// Whether its client presenting the rotated-out `t` at `now` is
    /// within the grace window (strictly before first rotation + grace).
    fn in_grace(&self, t: &Issued, now: UnixTime) -> bool {
        t.rotated
            .is_some_and(|at| self.grace > 0 && now < at.saturating_add(self.grace))
    }

    /// Records what a successful exchange handed out.
    fn issued(&mut self, done: &Done, who: Who, family: usize, now: UnixTime, refresh: bool) {
        let t = done.tokens().expect("tokens expected");
        assert_eq!(t.expires_in, self.policy.access_token_ttl);
        assert_eq!(
            t.refresh_token.is_some(),
            refresh,
            "refresh token issued: {refresh}"
        );
        self.tokens.push(Issued {
            token: t.access_token.as_str().to_owned(),
            hash: t.access_token.hash(),
            kind: Kind::Access,
            who,
            family,
            expires_at: Some(now.saturating_add(self.policy.access_token_ttl)),
            revoked: false,
            rotated: None,
        });
        if let Some(r) = &t.refresh_token {
            self.tokens.push(Issued {
                token: r.as_str().to_owned(),
                hash: r.hash(),
                kind: Kind::Refresh,
                who,
                family,
                expires_at: self.policy.refresh_token_ttl.map(|t| now.saturating_add(t)),
                revoked: false,
                rotated: None,
            });
        }
    }

    /// After every step: the store agrees with the model.
    fn check(&self, s: &Mem, now: UnixTime) {
        let mut rows: HashMap<[u8; 32], TokenRecord> = HashMap::new();
        for a in s.access_tokens() {
            rows.insert(a.hash.0, TokenRecord::Access(a.clone()));
        }
        for r in s.refresh_tokens() {
            rows.insert(r.hash.0, TokenRecord::Refresh(r.clone()));
        }
        for t in &self.tokens {
            let row = rows.get(&t.hash.0);
            assert_eq!(row.is_some(), self.present(t), "row presence of {t:?}");
            let active = row.is_some_and(|r| is_active(r, now));
            assert_eq!(active, self.live(t, now), "activity of {t:?} at {now}");
            if self.families[t.family] || t.rotated.is_some() || t.revoked {
                assert!(!active, "revoked or rotated token active: {t:?}");
            }
            if let Some(TokenRecord::Refresh(r)) = row {
                assert_eq!(r.retired_at, t.rotated, "first rotation time of {t:?}");
            }
            if t.expires_at.is_some_and(|e| now >= e) {
                assert!(!active, "expired token active: {t:?}");
            }
        }
        for c in &self.codes {
            let row = s.codes().iter().find(|r| r.hash == c.hash).unwrap();
            assert_eq!(row.consumed, c.yielded, "code consumed: {c:?}");
        }
        for d in &self.devices {
            let row = s.devices().iter().find(|r| r.hash == d.hash).unwrap();
            let state = match row.status {
                DeviceStatus::Pending => DevState::Pending,
                DeviceStatus::Approved(_) => DevState::Approved,
                DeviceStatus::Denied => DevState::Denied,
                DeviceStatus::Redeemed => DevState::Redeemed,
            };
            assert_eq!(state, d.state, "device state: {d:?}");
            assert_eq!(row.interval, d.interval);
            assert_eq!(row.last_poll, d.last_poll);
        }
    }
}

fn pick(len: usize, which: u8) -> Option<usize> {
    (len > 0).then(|| usize::from(which) % len)
}

fn code_of(done: &Done) -> Option<ErrorCode> {
    done.error().map(|e| e.code)
}

fn rendered(done: &Done) {
    let mut out = [0u8; 1024];
    done.render(&mut out).expect("token responses fit in 1 KiB");
}

struct World {
    store: Box<Mem>,
    model: Model,
    rng: FuzzRng,
    clock: Clock,
}

impl World {
    fn token(&mut self, who: Who, body: &str) -> Done {
        let (header, suffix) = who.auth();
        let body = format!("{body}{suffix}");
        let policy = self.model.policy;
        let done = token_endpoint(
            &mut *self.store,
            header,
            body.as_bytes(),
            self.clock.now(),
            &policy,
            &mut self.rng,
        );
        rendered(&done);
        done
    }

    fn authorize(&mut self, web: bool, pkce: bool, scope: u8) {
        let who = if web { Who::Web } else { Who::Spa };
        let scope = match scope % 4 {
            0 => "",
            1 => "&scope=read",
            2 => "&scope=read%20write",
            _ => "&scope=admin",
        };
        let challenge = if pkce {
            format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")
        } else {
            String::new()
        };
        let query = format!(
            "response_type=code&client_id={}&redirect_uri={CB_ENC}&state=xyz{scope}{challenge}",
            who.id()
        );
        let policy = self.model.policy;
        let req = AuthorizationRequest::parse(query.as_bytes()).unwrap();
        let client = self.store.client(who.id());
        let valid = req.validate(client.as_ref(), &policy);
        let expect_valid = !scope.ends_with("admin")
            && (pkce || (who == Who::Web && !policy.require_pkce_for_confidential));
        assert_eq!(valid.is_ok(), expect_valid, "{query}: {:?}", valid.err());
        let Ok(valid) = valid else { return };
        let now = self.clock.now();
        let approval = valid.approve("alice", now, &policy, &mut self.rng);
        let Ok(approval) = approval else {
            assert!(self.rng.failing, "approval failed with a working generator");
            return;
        };
        assert!(!self.rng.failing, "approval succeeded without randomness");
        self.store.apply(&approval.write()).unwrap();
        let family = self.model.new_family();
        self.model.codes.push(Code {
            code: approval.code().as_str().to_owned(),
            hash: approval.code().hash(),
            who,
            pkce,
            expires_at: now.saturating_add(policy.effective_code_ttl()),
            family,
            yielded: false,
        });
    }

    fn redeem(&mut self, i: usize, with_verifier: bool) {
        let (code, who, pkce, expires_at, family, yielded) = {
            let c = &self.model.codes[i];
            (
                c.code.clone(),
                c.who,
                c.pkce,
                c.expires_at,
                c.family,
                c.yielded,
            )
        };
        let verifier = if with_verifier {
            format!("&code_verifier={VERIFIER}")
        } else {
            String::new()
        };
        let body =
            format!("grant_type=authorization_code&code={code}&redirect_uri={CB_ENC}{verifier}");
        let outage = self.rng.failing;
        let done = self.token(who, &body);
        let now = self.clock.now();
        if outage {
            assert_eq!(code_of(&done), Some(ErrorCode::TemporarilyUnavailable));
            return;
        }
        if yielded {
            assert!(done.tokens().is_none(), "a code yielded tokens twice");
            assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
            // RFC 6749 §4.1.2: every token issued from the code is revoked.
            self.model.families[family] = true;
            return;
        }
        if now >= expires_at || with_verifier != pkce {
            assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
            return;
        }
        assert_eq!(code_of(&done), None, "redemption of a fresh code failed");
        let refresh = self.model.policy.issue_refresh_tokens;
        self.model.issued(&done, who, family, now, refresh);
        self.model.codes[i].yielded = true;
    }

    fn refresh(&mut self, i: usize) {
        let (token, who, family, expires_at, rotated) = {
            let t = &self.model.tokens[i];
            (t.token.clone(), t.who, t.family, t.expires_at, t.rotated)
        };
        let present = self.model.present(&self.model.tokens[i]);
        let outage = self.rng.failing;
        let done = self.token(
            who,
            &format!("grant_type=refresh_token&refresh_token={token}"),
        );
        let now = self.clock.now();
        if outage {
            assert_eq!(code_of(&done), Some(ErrorCode::TemporarilyUnavailable));
            return;
        }
        if !present {
            assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
            return;
        }
        if rotated.is_some() && !self.model.in_grace(&self.model.tokens[i], now) {
            assert!(
                done.tokens().is_none(),
                "a rotated refresh token yielded tokens after the grace window"
            );
            assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
            assert!(done.reuse_detected());
            // RFC 9700 §4.14.2: the whole family goes.
            self.model.families[family] = true;
            return;
        }
        if expires_at.is_some_and(|e| now >= e) {
            assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
            assert!(!done.reuse_detected());
            return;
        }
        assert_eq!(
            code_of(&done),
            None,
            "refresh with a live token (or within the grace window) failed"
        );
        assert!(!done.reuse_detected());
        // Within the window the first rotation time stays.
        self.model.tokens[i].rotated.get_or_insert(now);
        self.model.issued(&done, who, family, now, true);
    }

    /// Another client presents refresh token `i`: refused, nothing changes
    /// (not even within the grace window; it proves nothing about the
    /// owner's copy).
    fn refresh_as_other(&mut self, i: usize) {
        let (token, who) = {
            let t = &self.model.tokens[i];
            (t.token.clone(), t.who)
        };
        let outage = self.rng.failing;
        let done = self.token(
            who.other(),
            &format!("grant_type=refresh_token&refresh_token={token}"),
        );
        if outage {
            assert_eq!(code_of(&done), Some(ErrorCode::TemporarilyUnavailable));
            return;
        }
        assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
        assert!(done.writes().is_empty(), "a foreign refresh token wrote");
    }

    /// Runs one token request through the exchange's steps against the
    /// store as it is now, without making the writes.
    fn read_only_exchange(&mut self, who: Who, body: &str) -> Done {
        let (header, suffix) = who.auth();
        let body = format!("{body}{suffix}");
        let mut scratch = [0u8; 128];
        let basic = BasicCredentials::from_header(header, &mut scratch).unwrap();
        let req = TokenRequest::parse(body.as_bytes(), basic).unwrap();
        let policy = self.model.policy;
        let mut ex = Exchange::start(req, self.clock.now(), &policy, &mut self.rng);
        loop {
            ex = match ex {
                Exchange::NeedClient(n) => {
                    let c = self.store.client(n.client_id());
                    n.provide_client(c.as_ref())
                }
                Exchange::NeedGrant(g) => {
                    let rec = self.store.grant(g.kind(), g.hash());
                    return g.provide_grant(rec.as_ref());
                }
                Exchange::Done(d) => return d,
            }
        }
    }

    /// Two refreshes with live token `i`, both read before either writes:
    /// the first write wins; with a grace window the second's conditional
    /// retirement succeeds too (a lost answer's retry, concurrent), without
    /// one it conflicts and the conflict answer revokes the family.
    fn race_refresh(&mut self, i: usize) {
        let (token, who, family, expires_at) = {
            let t = &self.model.tokens[i];
            (t.token.clone(), t.who, t.family, t.expires_at)
        };
        let present = self.model.present(&self.model.tokens[i]);
        let outage = self.rng.failing;
        let body = format!("grant_type=refresh_token&refresh_token={token}");
        let a = self.read_only_exchange(who, &body);
        let b = self.read_only_exchange(who, &body);
        let a = finish(&mut *self.store, a);
        let b = finish(&mut *self.store, b);
        rendered(&a);
        rendered(&b);
        let now = self.clock.now();
        if outage {
            assert_eq!(code_of(&a), Some(ErrorCode::TemporarilyUnavailable));
            assert_eq!(code_of(&b), Some(ErrorCode::TemporarilyUnavailable));
            return;
        }
        if !present || expires_at.is_some_and(|e| now >= e) {
            assert_eq!(code_of(&a), Some(ErrorCode::InvalidGrant));
            assert_eq!(code_of(&b), Some(ErrorCode::InvalidGrant));
            assert!(!a.reuse_detected() && !b.reuse_detected());
            return;
        }
        assert_eq!(code_of(&a), None, "the race's winner failed");
        self.model.tokens[i].rotated = Some(now);
        self.model.issued(&a, who, family, now, true);
        if self.model.grace > 0 {
            assert_eq!(
                code_of(&b),
                None,
                "the race's loser failed within the window"
            );
            assert!(!b.reuse_detected());
            self.model.issued(&b, who, family, now, true);
        } else {
            assert_eq!(code_of(&b), Some(ErrorCode::InvalidGrant));
            assert!(b.reuse_detected(), "a lost race is reuse without a window");
            self.model.families[family] = true;
        }
    }

    fn client_credentials(&mut self) {
        let outage = self.rng.failing;
        let done = self.token(Who::Web, "grant_type=client_credentials");
        if outage {
            assert_eq!(code_of(&done), Some(ErrorCode::TemporarilyUnavailable));
            return;
        }
        assert_eq!(code_of(&done), None);
        let family = self.model.new_family();
        let now = self.clock.now();
        self.model.issued(&done, Who::Web, family, now, false);
    }

    fn device_start(&mut self, tv: bool) {
        let who = if tv { Who::Tv } else { Who::Spa };
        let body = format!("client_id={}&scope=read", who.id());
        let policy = self.model.policy;
        let now = self.clock.now();
        let outage = self.rng.failing;
        let done = device_authorization_endpoint(
            &mut *self.store,
            None,
            body.as_bytes(),
            now,
            &policy,
            &mut self.rng,
        );
        let Some(issued) = done.issued() else {
            assert!(outage, "device authorization failed: {:?}", done.error());
            assert_eq!(done.http_status(), 503);
            return;
        };
        assert!(!outage);
        let family = self.model.new_family();
        self.model.devices.push(Device {
            device_code: issued.device_code.as_str().to_owned(),
            hash: issued.device_code.hash(),
            user_code: issued.user_code,
            who,
            expires_at: now.saturating_add(policy.device_code_ttl),
            interval: policy.device_interval,
            last_poll: None,
            state: DevState::Pending,
            family,
        });
    }

    fn device_poll(&mut self, i: usize) {
        let (code, who, expires_at, state, family, interval, last_poll) = {
            let d = &self.model.devices[i];
            (
                d.device_code.clone(),
                d.who,
                d.expires_at,
                d.state,
                d.family,
                d.interval,
                d.last_poll,
            )
        };
        let outage = self.rng.failing;
        let done = self.token(
            who,
            &format!("grant_type={DEVICE_GRANT}&device_code={code}"),
        );
        let now = self.clock.now();
        if outage {
            assert_eq!(code_of(&done), Some(ErrorCode::TemporarilyUnavailable));
            return;
        }
        if now >= expires_at {
            assert_eq!(code_of(&done), Some(ErrorCode::ExpiredToken));
            return;
        }
        match state {
            DevState::Redeemed => {
                assert!(
                    done.tokens().is_none(),
                    "a device code yielded tokens twice"
                );
                assert_eq!(code_of(&done), Some(ErrorCode::InvalidGrant));
                self.model.families[family] = true;
            }
            DevState::Denied => assert_eq!(code_of(&done), Some(ErrorCode::AccessDenied)),
            DevState::Approved => {
                assert_eq!(code_of(&done), None, "approved device code refused");
                let refresh = self.model.policy.issue_refresh_tokens;
                self.model.issued(&done, who, family, now, refresh);
                self.model.devices[i].state = DevState::Redeemed;
            }
            DevState::Pending => {
                let too_soon =
                    last_poll.is_some_and(|last| now < last.saturating_add(u64::from(interval)));
                let d = &mut self.model.devices[i];
                d.last_poll = Some(now);
                if too_soon {
                    assert_eq!(code_of(&done), Some(ErrorCode::SlowDown));
                    d.interval = interval.saturating_add(5);
                } else {
                    assert_eq!(code_of(&done), Some(ErrorCode::AuthorizationPending));
                }
            }
        }
    }

    fn device_decide(&mut self, i: usize, approve: bool, lower_case: bool) {
        let d = &self.model.devices[i];
        let shown = d.user_code.display();
        let typed = if lower_case {
            shown.as_str().to_lowercase()
        } else {
            shown.as_str().to_owned()
        };
        let now = self.clock.now();
        let pending = verify_user_code(&*self.store, &Text::plain(&typed), now);
        // An expired device code is not found by its user code any more
        // (`Store::device_by_user_code` at `now`): unknown, `invalid_grant`.
        let expected = if now >= d.expires_at {
            Err(ErrorCode::InvalidGrant)
        } else if d.state != DevState::Pending {
            Err(ErrorCode::InvalidGrant)
        } else {
            Ok(())
        };
        assert_eq!(pending.as_ref().map(|_| ()).map_err(|e| e.code), expected);
        let Ok(pending) = pending else { return };
        assert_eq!(pending.client_id(), d.who.id());
        let write = if approve {
            pending.approve("alice").unwrap()
        } else {
            pending.deny()
        };
        self.store.apply(&write).unwrap();
        self.model.devices[i].state = if approve {
            DevState::Approved
        } else {
            DevState::Denied
        };
    }

    fn revoke(&mut self, i: usize, as_other: bool, hint: bool) {
        let t = &self.model.tokens[i];
        let caller = if as_other { t.who.other() } else { t.who };
        let (header, suffix) = caller.auth();
        let hint = match (hint, t.kind) {
            (false, _) => "",
            (true, Kind::Access) => "&token_type_hint=access_token",
            (true, Kind::Refresh) => "&token_type_hint=refresh_token",
        };
        let body = format!("token={}{hint}{suffix}", t.token);
        let present = self.model.present(t);
        let (kind, family) = (t.kind, t.family);
        let owner = t.who;
        let done = revocation_endpoint(&mut *self.store, header, body.as_bytes(), self.clock.now());
        if present && caller != owner {
            let e = done.error().map(|e| e.code);
            assert_eq!(
                e,
                Some(ErrorCode::UnauthorizedClient),
                "foreign token revoked"
            );
            return;
        }
        assert_eq!(done.http_status(), 200, "{:?}", done.error());
        if present {
            match kind {
                Kind::Access => self.model.tokens[i].revoked = true,
                // RFC 7009 §2.1: the refresh token's whole family.
                Kind::Refresh => self.model.families[family] = true,
            }
        }
    }

    /// Introspects token `i` as the web client (which sees only its own
    /// tokens, RFC 7662 §4) and as the resource server (which sees all).
    fn introspect(&mut self, i: usize) {
        let t = &self.model.tokens[i];
        let body = format!("token={}", t.token);
        let now = self.clock.now();
        let live = self.model.live(t, now);
        for (caller, sees) in [(WEB_BASIC, t.who == Who::Web), (RS_BASIC, true)] {
            let done = introspection_endpoint(&*self.store, Some(caller), body.as_bytes(), now);
            let response = done
                .response()
                .expect("introspection by an authenticated confidential client");
            match response {
                IntrospectionResponse::Active(rec) => {
                    assert!(
                        live && sees,
                        "introspected active but must not be: {t:?} at {now} by {caller}"
                    );
                    let client = match rec {
                        TokenRecord::Access(a) => &a.client_id,
                        TokenRecord::Refresh(r) => &r.client_id,
                    };
                    assert_eq!(client.as_str(), t.who.id());
                }
                IntrospectionResponse::Inactive => {
                    assert!(
                        !(live && sees),
                        "introspected inactive but is live: {t:?} at {now} by {caller}"
                    )
                }
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Authorize { web, pkce, scope } => self.authorize(web, pkce, scope),
            Op::RedeemCode {
                which,
                with_verifier,
            } => {
                if let Some(i) = pick(self.model.codes.len(), which) {
                    self.redeem(i, with_verifier);
                }
            }
            Op::RedeemAgain { which } => {
                let used: Vec<usize> = (0..self.model.codes.len())
                    .filter(|&i| self.model.codes[i].yielded)
                    .collect();
                if let Some(j) = pick(used.len(), which) {
                    let pkce = self.model.codes[used[j]].pkce;
                    self.redeem(used[j], pkce);
                }
            }
            Op::Refresh { which } | Op::ReuseOldRefresh { which } | Op::RaceRefresh { which } => {
                let old = matches!(op, Op::ReuseOldRefresh { .. });
                let candidates: Vec<usize> = (0..self.model.tokens.len())
                    .filter(|&i| {
                        let t = &self.model.tokens[i];
                        t.kind == Kind::Refresh && t.rotated.is_some() == old
                    })
                    .collect();
                if let Some(j) = pick(candidates.len(), which) {
                    if let Op::RaceRefresh { .. } = op {
                        self.race_refresh(candidates[j]);
                    } else {
                        self.refresh(candidates[j]);
                    }
                }
            }
            Op::RefreshAsOther { which } => {
                let candidates: Vec<usize> = (0..self.model.tokens.len())
                    .filter(|&i| self.model.tokens[i].kind == Kind::Refresh)
                    .collect();
                if let Some(j) = pick(candidates.len(), which) {
                    self.refresh_as_other(candidates[j]);
                }
            }
            Op::ClientCredentials => self.client_credentials(),
            Op::DeviceStart { tv } => self.device_start(tv),
            Op::DevicePoll { which, after_secs } => {
                self.clock.advance(u64::from(after_secs));
                if let Some(i) = pick(self.model.devices.len(), which) {
                    self.device_poll(i);
                }
            }
            Op::DeviceApprove { which, lower_case } => {
                if let Some(i) = pick(self.model.devices.len(), which) {
                    self.device_decide(i, true, lower_case);
                }
            }
            Op::DeviceDeny { which } => {
                if let Some(i) = pick(self.model.devices.len(), which) {
                    self.device_decide(i, false, false);
                }
            }
            Op::Revoke {
                which,
                as_other,
                hint,
            } => {
                if let Some(i) = pick(self.model.tokens.len(), which) {
                    self.revoke(i, as_other, hint);
                }
            }
            Op::Introspect { which } => {
                if let Some(i) = pick(self.model.tokens.len(), which) {
                    self.introspect(i);
                }
            }
            Op::Advance { secs } => self.clock.advance(u64::from(secs)),
            Op::RngOutage => {}
        }
    }
}

fuzz_target!(|input: Input| {
    let s = &input.setup;
    let policy = Policy {
        access_token_ttl: u64::from(s.access_ttl),
        refresh_token_ttl: s.refresh_ttl.map(u64::from),
        code_ttl: u64::from(s.code_ttl),
        device_code_ttl: u64::from(s.device_ttl),
        device_interval: u32::from(s.device_interval),
        issue_refresh_tokens: s.issue_refresh_tokens,
        require_pkce_for_confidential: s.require_pkce_for_confidential,
        refresh_grace: u64::from(s.refresh_grace),
    };
    let mut w = World {
        store: store(),
        model: Model {
            policy,
            grace: u64::from(s.refresh_grace).min(MAX_REFRESH_GRACE),
            codes: Vec::new(),
            tokens: Vec::new(),
            devices: Vec::new(),
            families: Vec::new(),
        },
        rng: FuzzRng::new(s.seed),
        clock: Clock::new(),
    };
    let mut outage = false;
    for op in input.ops.iter().take(MAX_OPS) {
        if let Op::RngOutage = op {
            outage = true;
            continue;
        }
        w.rng.failing = std::mem::take(&mut outage);
        w.apply(op);
        w.model.check(&w.store, w.clock.now());
    }
});
