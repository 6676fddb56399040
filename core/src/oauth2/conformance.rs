//! The [`Store`] contract as a list of scenarios any store must pass
//! (feature `conformance`; `no_std`, no allocation): [`MemoryStore`], the
//! host's SQLite and PostgreSQL stores, and any future one (a KV on flash,
//! Redis) run the same list.
//!
//! What the contract says (module docs of [`super::store`]):
//! * records come back as stored, whatever their expiry — expiry is the
//!   core's decision — except that [`Store::device_by_user_code`] finds
//!   only a device code unexpired at `now` (the newest if several);
//! * conditional writes are compare-and-set: consuming a code, retiring a
//!   refresh token, deciding and redeeming a device code succeed once, and
//!   a lost one is [`StoreError::Conflict`] (a missing row may be
//!   `Conflict` or [`StoreError::NotFound`]); storing a device code
//!   conflicts only with an *unexpired* device code holding its user code;
//! * revoking a family removes every access and refresh token of it and
//!   nothing else;
//! * [`Store::apply_all`] is all or nothing: when one write fails, none of
//!   the batch is made.
//!
//! Every scenario derives its hashes and user codes from its own number,
//! so one store can run the whole list in sequence. The only set-up a store
//! needs is the client [`client`] registered (with [`CLIENT_SECRET`]).

use super::{
    AccessRecord, ClientRecord, CodeRecord, DeviceRecord, DeviceStatus, FamilyId, GrantKind,
    GrantRecord, GrantTypes, RefreshRecord, Store, StoreError, TokenHash, TokenRecord, UserCode,
    Write, Writes,
};
use crate::UnixTime;

/// The client every store is set up with.
pub const CLIENT_ID: &str = "conformance-client";
/// Its secret.
pub const CLIENT_SECRET: &str = "conformance-secret";
/// Its one redirect URI.
pub const REDIRECT_URI: &str = "https://conformance.example/cb";
/// Its scope.
pub const SCOPE: &str = "read write";

/// The client record a store must hold before the scenarios run.
pub fn client() -> Option<ClientRecord> {
    ClientRecord::new(
        CLIENT_ID,
        Some(CLIENT_SECRET),
        &[REDIRECT_URI],
        SCOPE,
        GrantTypes::ALL,
    )
    .ok()
}

/// A failed expectation: which scenario, which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The scenario's name.
    pub scenario: &'static str,
    /// What was expected.
    pub check: &'static str,
}

impl core::fmt::Display for Failure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}: {}", self.scenario, self.check)
    }
}

/// One scenario of the contract.
#[derive(Clone, Copy)]
pub struct Scenario {
    /// What it checks, in a few words.
    pub name: &'static str,
    run: fn(&mut dyn Store, u8) -> Result<(), &'static str>,
}

impl core::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name)
    }
}

impl Scenario {
    /// Runs the scenario against `store`, with hashes derived from `seed`.
    pub fn run(&self, store: &mut dyn Store, seed: u8) -> Result<(), Failure> {
        (self.run)(store, seed).map_err(|check| Failure {
            scenario: self.name,
            check,
        })
    }
}

/// Every scenario.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "the registered client is found, unknown ones are not",
        run: client_lookup,
    },
    Scenario {
        name: "a code is returned as stored and consumed exactly once",
        run: code_consumed_once,
    },
    Scenario {
        name: "a refresh token is returned as stored and retired exactly once",
        run: refresh_retired_once,
    },
    Scenario {
        name: "a retired refresh token is retired again only within the grace window",
        run: refresh_retired_within_grace,
    },
    Scenario {
        name: "access tokens are found, revoked one by one or by family",
        run: access_and_families,
    },
    Scenario {
        name: "a device code is polled, approved once and redeemed once",
        run: device_approved_and_redeemed,
    },
    Scenario {
        name: "a denied device code cannot be approved or redeemed",
        run: device_denied,
    },
    Scenario {
        name: "a user code belongs to the unexpired device code only",
        run: user_code_expiry,
    },
    Scenario {
        name: "records come back whatever their expiry",
        run: expired_records_are_returned,
    },
    Scenario {
        name: "apply_all is all or nothing",
        run: apply_all_is_atomic,
    },
];

/// Runs every scenario in turn against one store; how many passed, or the
/// first failure.
pub fn run_all(store: &mut dyn Store) -> Result<usize, Failure> {
    for (i, s) in SCENARIOS.iter().enumerate() {
        s.run(store, u8::try_from(i).unwrap_or(u8::MAX))?;
    }
    Ok(SCENARIOS.len())
}

fn check(ok: bool, what: &'static str) -> Result<(), &'static str> {
    if ok { Ok(()) } else { Err(what) }
}

fn hash(seed: u8, n: u8) -> TokenHash {
    let mut h = [0xC0; 32];
    h[0] = seed;
    h[1] = n;
    TokenHash(h)
}

fn family(seed: u8, n: u8) -> FamilyId {
    let mut f = [0x5A; 16];
    f[0] = seed;
    f[1] = n;
    FamilyId(f)
}

fn text<const N: usize>(s: &str) -> Result<heapless::String<N>, &'static str> {
    heapless::String::try_from(s).map_err(|_| "test text fits")
}

/// A user code unique to `seed` and `n` (RFC 8628 §6.1 alphabet).
fn user_code(seed: u8, n: u8) -> Result<UserCode, &'static str> {
    const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
    let pick = |v: u8| ALPHABET.get(usize::from(v % 20)).copied().unwrap_or(b'B');
    let bytes = [
        pick(seed / 20),
        pick(seed),
        pick(n),
        b'B',
        b'-',
        b'C',
        b'D',
        b'F',
        pick(n / 20),
    ];
    let s = core::str::from_utf8(&bytes).map_err(|_| "user code is ASCII")?;
    UserCode::parse(s).map_err(|_| "user code parses")
}

fn code(seed: u8, n: u8, expires: u64) -> Result<CodeRecord, &'static str> {
    Ok(CodeRecord {
        hash: hash(seed, n),
        client_id: text(CLIENT_ID)?,
        subject: text("alice")?,
        scope: text("read")?,
        redirect_uri: text(REDIRECT_URI)?,
        redirect_uri_sent: true,
        challenge: None,
        issued_at: UnixTime(100),
        expires_at: UnixTime(expires),
        consumed: false,
        oidc: None,
    })
}

fn access(seed: u8, n: u8, fam: FamilyId, expires: u64) -> Result<AccessRecord, &'static str> {
    Ok(AccessRecord {
        hash: hash(seed, n),
        family: fam,
        client_id: text(CLIENT_ID)?,
        subject: Some(text("alice")?),
        scope: text("read write")?,
        issued_at: UnixTime(100),
        expires_at: UnixTime(expires),
    })
}

fn refresh(seed: u8, n: u8, fam: FamilyId) -> Result<RefreshRecord, &'static str> {
    Ok(RefreshRecord {
        hash: hash(seed, n),
        family: fam,
        client_id: text(CLIENT_ID)?,
        subject: Some(text("alice")?),
        scope: text("read")?,
        issued_at: UnixTime(100),
        expires_at: Some(UnixTime(10_000)),
        retired_at: None,
        auth_time: Some(UnixTime(90)),
    })
}

fn device(seed: u8, n: u8, issued: u64, expires: u64) -> Result<DeviceRecord, &'static str> {
    Ok(DeviceRecord {
        hash: hash(seed, n),
        user_code: user_code(seed, n)?,
        client_id: text(CLIENT_ID)?,
        scope: text("read")?,
        issued_at: UnixTime(issued),
        expires_at: UnixTime(expires),
        interval: 5,
        last_poll: None,
        status: DeviceStatus::Pending,
    })
}

fn lost(r: Result<(), StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict | StoreError::NotFound))
}

fn client_lookup(s: &mut dyn Store, _: u8) -> Result<(), &'static str> {
    let want = client().ok_or("the test client fits")?;
    let got = s
        .client(CLIENT_ID)
        .ok_or("the registered client is found")?;
    check(got.client_id == want.client_id, "client_id as registered")?;
    check(
        got.secret_hash
            .is_some_and(|h| want.secret_hash.is_some_and(|w| h.ct_eq(&w))),
        "the secret's SHA-256 as registered",
    )?;
    check(got.redirect_uris == want.redirect_uris, "redirect URIs")?;
    check(got.scope == want.scope, "scope")?;
    check(s.client("no-such-client").is_none(), "unknown client")
}

fn code_consumed_once(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let c = code(seed, 1, 700)?;
    s.apply(&Write::StoreCode(c.clone()))
        .map_err(|_| "store a code")?;
    let found = s.grant(GrantKind::AuthorizationCode, &c.hash);
    check(
        found == Some(GrantRecord::AuthorizationCode(c.clone())),
        "the code comes back as stored",
    )?;
    check(
        s.grant(GrantKind::RefreshToken, &c.hash).is_none(),
        "a code is not a refresh token",
    )?;
    let consume = Write::ConsumeCode { hash: c.hash };
    check(s.apply(&consume).is_ok(), "the first consume succeeds")?;
    check(
        s.apply(&consume) == Err(StoreError::Conflict),
        "the second consume is a conflict",
    )?;
    match s.grant(GrantKind::AuthorizationCode, &c.hash) {
        Some(GrantRecord::AuthorizationCode(after)) => {
            check(after.consumed, "the code reads consumed")?;
        }
        _ => return Err("the consumed code is still found"),
    }
    check(
        lost(s.apply(&Write::ConsumeCode {
            hash: hash(seed, 99),
        })),
        "consuming an unknown code fails",
    )
}

fn refresh_retired_once(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let r = refresh(seed, 1, family(seed, 1))?;
    s.apply(&Write::StoreRefreshToken(r.clone()))
        .map_err(|_| "store a refresh token")?;
    check(
        s.grant(GrantKind::RefreshToken, &r.hash) == Some(GrantRecord::RefreshToken(r.clone())),
        "the refresh token comes back as stored",
    )?;
    check(
        s.token(&r.hash) == Some(TokenRecord::Refresh(r.clone())),
        "token() finds the refresh token",
    )?;
    let retire = Write::RetireRefreshToken {
        hash: r.hash,
        at: UnixTime(200),
        grace: 0,
    };
    check(s.apply(&retire).is_ok(), "the first retire succeeds")?;
    check(
        s.apply(&retire) == Err(StoreError::Conflict),
        "the second retire is a conflict",
    )?;
    match s.grant(GrantKind::RefreshToken, &r.hash) {
        Some(GrantRecord::RefreshToken(after)) => check(
            after.retired_at == Some(UnixTime(200)),
            "the token reads retired, at the time of the retire",
        ),
        _ => Err("the retired token is still found"),
    }
}

/// The grace window ([`Write::RetireRefreshToken`]'s `grace`): retiring
/// again succeeds strictly before `retired_at + grace` and keeps the first
/// time; at it, after it, and with no window, it is a conflict.
fn refresh_retired_within_grace(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let r = refresh(seed, 1, family(seed, 1))?;
    s.apply(&Write::StoreRefreshToken(r.clone()))
        .map_err(|_| "store a refresh token")?;
    let retire = |at: u64, grace: u64| Write::RetireRefreshToken {
        hash: r.hash,
        at: UnixTime(at),
        grace,
    };
    check(
        s.apply(&retire(200, 10)).is_ok(),
        "the first retire succeeds",
    )?;
    check(
        s.apply(&retire(209, 10)).is_ok(),
        "a retire within the window succeeds",
    )?;
    check(
        s.apply(&retire(199, 10)).is_ok(),
        "a retire from before the first one is within the window",
    )?;
    check(
        s.apply(&retire(205, 0)) == Err(StoreError::Conflict),
        "without a window a retired token conflicts",
    )?;
    check(
        s.apply(&retire(210, 10)) == Err(StoreError::Conflict),
        "at the end of the window it conflicts",
    )?;
    check(
        s.apply(&retire(u64::MAX, 10)) == Err(StoreError::Conflict),
        "long after the window it conflicts",
    )?;
    match s.grant(GrantKind::RefreshToken, &r.hash) {
        Some(GrantRecord::RefreshToken(after)) => check(
            after.retired_at == Some(UnixTime(200)),
            "the first retirement time is kept",
        )?,
        _ => return Err("the retired token is still found"),
    }
    check(
        lost(s.apply(&Write::RetireRefreshToken {
            hash: hash(seed, 99),
            at: UnixTime(200),
            grace: 10,
        })),
        "retiring an unknown token fails, window or not",
    )
}

fn access_and_families(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let (f1, f2) = (family(seed, 1), family(seed, 2));
    let a1 = access(seed, 1, f1, 5_000)?;
    let a2 = access(seed, 2, f1, 5_000)?;
    let a3 = access(seed, 3, f2, 5_000)?;
    let r1 = refresh(seed, 4, f1)?;
    let r2 = refresh(seed, 5, f2)?;
    for w in [
        Write::StoreAccessToken(a1.clone()),
        Write::StoreAccessToken(a2.clone()),
        Write::StoreAccessToken(a3.clone()),
        Write::StoreRefreshToken(r1.clone()),
        Write::StoreRefreshToken(r2.clone()),
    ] {
        s.apply(&w).map_err(|_| "store tokens")?;
    }
    check(
        s.token(&a1.hash) == Some(TokenRecord::Access(a1.clone())),
        "an access token comes back as stored",
    )?;
    check(
        s.grant(GrantKind::RefreshToken, &a1.hash).is_none(),
        "an access token is not a grant",
    )?;
    s.apply(&Write::RevokeAccessToken { hash: a2.hash })
        .map_err(|_| "revoke one access token")?;
    check(s.token(&a2.hash).is_none(), "the revoked token is gone")?;
    check(s.token(&a1.hash).is_some(), "its sibling stays")?;
    s.apply(&Write::RevokeFamily { family: f1 })
        .map_err(|_| "revoke a family")?;
    check(
        s.token(&a1.hash).is_none(),
        "the family's access token is gone",
    )?;
    check(
        s.token(&r1.hash).is_none() && s.grant(GrantKind::RefreshToken, &r1.hash).is_none(),
        "the family's refresh token is gone",
    )?;
    check(
        s.token(&a3.hash).is_some() && s.token(&r2.hash).is_some(),
        "another family is untouched",
    )
}

fn device_approved_and_redeemed(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let d = device(seed, 1, 100, 700)?;
    s.apply(&Write::StoreDevice(d.clone()))
        .map_err(|_| "store a device code")?;
    check(
        s.grant(GrantKind::DeviceCode, &d.hash) == Some(GrantRecord::DeviceCode(d.clone())),
        "the device code comes back as stored",
    )?;
    check(
        s.device_by_user_code(&d.user_code, UnixTime(200)) == Some(d.clone()),
        "found by its user code",
    )?;
    s.apply(&Write::RecordDevicePoll {
        hash: d.hash,
        at: UnixTime(150),
        interval: 10,
    })
    .map_err(|_| "record a poll")?;
    match s.grant(GrantKind::DeviceCode, &d.hash) {
        Some(GrantRecord::DeviceCode(p)) => check(
            p.last_poll == Some(UnixTime(150)) && p.interval == 10,
            "the poll and the new interval are kept",
        )?,
        _ => return Err("the polled device code is found"),
    }
    let approve = Write::ApproveDevice {
        hash: d.hash,
        subject: text("alice")?,
    };
    check(s.apply(&approve).is_ok(), "the first approval succeeds")?;
    check(
        s.apply(&approve) == Err(StoreError::Conflict),
        "a second approval is a conflict",
    )?;
    check(
        s.apply(&Write::DenyDevice { hash: d.hash }) == Err(StoreError::Conflict),
        "denying an approved code is a conflict",
    )?;
    match s.grant(GrantKind::DeviceCode, &d.hash) {
        Some(GrantRecord::DeviceCode(p)) => check(
            p.status == DeviceStatus::Approved(text("alice")?),
            "approved by alice",
        )?,
        _ => return Err("the approved device code is found"),
    }
    let redeem = Write::RedeemDevice { hash: d.hash };
    check(s.apply(&redeem).is_ok(), "the first redemption succeeds")?;
    check(
        s.apply(&redeem) == Err(StoreError::Conflict),
        "a second redemption is a conflict",
    )?;
    match s.grant(GrantKind::DeviceCode, &d.hash) {
        Some(GrantRecord::DeviceCode(p)) => check(p.status == DeviceStatus::Redeemed, "redeemed"),
        _ => Err("the redeemed device code is found"),
    }
}

fn device_denied(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let d = device(seed, 1, 100, 700)?;
    s.apply(&Write::StoreDevice(d.clone()))
        .map_err(|_| "store a device code")?;
    check(
        s.apply(&Write::RedeemDevice { hash: d.hash }) == Err(StoreError::Conflict),
        "a pending code cannot be redeemed",
    )?;
    check(
        s.apply(&Write::DenyDevice { hash: d.hash }).is_ok(),
        "the denial succeeds",
    )?;
    check(
        s.apply(&Write::ApproveDevice {
            hash: d.hash,
            subject: text("alice")?,
        }) == Err(StoreError::Conflict),
        "a denied code cannot be approved",
    )?;
    check(
        s.apply(&Write::RedeemDevice { hash: d.hash }) == Err(StoreError::Conflict),
        "a denied code cannot be redeemed",
    )?;
    check(
        lost(s.apply(&Write::ApproveDevice {
            hash: hash(seed, 99),
            subject: text("alice")?,
        })),
        "approving an unknown code fails",
    )
}

fn user_code_expiry(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let first = device(seed, 1, 100, 700)?;
    s.apply(&Write::StoreDevice(first.clone()))
        .map_err(|_| "store a device code")?;
    check(
        s.device_by_user_code(&first.user_code, UnixTime(699)) == Some(first.clone()),
        "found until it expires",
    )?;
    check(
        s.device_by_user_code(&first.user_code, UnixTime(700))
            .is_none(),
        "an expired device code is not found by its user code",
    )?;
    let mut clash = device(seed, 2, 300, 900)?;
    clash.user_code = first.user_code;
    check(
        s.apply(&Write::StoreDevice(clash)) == Err(StoreError::Conflict),
        "an unexpired device code keeps its user code",
    )?;
    check(
        s.grant(GrantKind::DeviceCode, &hash(seed, 2)).is_none(),
        "the refused device code was not stored",
    )?;
    let mut later = device(seed, 3, 800, 1_400)?;
    later.user_code = first.user_code;
    check(
        s.apply(&Write::StoreDevice(later.clone())).is_ok(),
        "an expired device code frees its user code",
    )?;
    check(
        s.device_by_user_code(&first.user_code, UnixTime(900)) == Some(later),
        "the user code now names the newer device code",
    )
}

fn expired_records_are_returned(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let c = code(seed, 1, 150)?;
    let a = access(seed, 2, family(seed, 1), 150)?;
    s.apply(&Write::StoreCode(c.clone()))
        .map_err(|_| "store a code")?;
    s.apply(&Write::StoreAccessToken(a.clone()))
        .map_err(|_| "store an access token")?;
    check(
        s.grant(GrantKind::AuthorizationCode, &c.hash).is_some(),
        "an expired code is still returned (the core answers invalid_grant)",
    )?;
    check(
        s.token(&a.hash).is_some(),
        "an expired access token is still returned (the core answers inactive)",
    )
}

fn apply_all_is_atomic(s: &mut dyn Store, seed: u8) -> Result<(), &'static str> {
    let c = code(seed, 1, 700)?;
    s.apply(&Write::StoreCode(c.clone()))
        .map_err(|_| "store a code")?;
    s.apply(&Write::ConsumeCode { hash: c.hash })
        .map_err(|_| "consume it")?;
    let fresh = access(seed, 2, family(seed, 1), 5_000)?;
    let batch = Writes::two(
        Write::StoreAccessToken(fresh.clone()),
        Write::ConsumeCode { hash: c.hash },
    );
    check(
        s.apply_all(&batch) == Err(StoreError::Conflict),
        "a batch with a lost conditional write fails as a conflict",
    )?;
    check(
        s.token(&fresh.hash).is_none(),
        "and none of its writes is made",
    )?;
    let ok = Writes::two(
        Write::StoreAccessToken(fresh.clone()),
        Write::StoreRefreshToken(refresh(seed, 3, family(seed, 1))?),
    );
    check(s.apply_all(&ok).is_ok(), "a good batch succeeds")?;
    check(
        s.token(&fresh.hash).is_some() && s.token(&hash(seed, 3)).is_some(),
        "and all of its writes are made",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::MemoryStore;

    #[test]
    fn memory_store_passes_every_scenario() {
        let mut s = MemoryStore::<2, 64>::new();
        s.add_client(client().unwrap()).unwrap();
        assert_eq!(run_all(&mut s), Ok(SCENARIOS.len()));
    }

    /// The list can fail: stores with each of the disagreements issue 17
    /// found are caught.
    #[test]
    fn broken_stores_fail() {
        struct Broken<F: Fn(&Write) -> bool> {
            inner: MemoryStore<2, 64>,
            /// Writes this store makes without checking their condition.
            blind: F,
            /// Finds expired user codes too.
            stale_user_codes: bool,
        }
        impl<F: Fn(&Write) -> bool> Store for Broken<F> {
            fn client(&self, id: &str) -> Option<ClientRecord> {
                self.inner.client(id)
            }
            fn grant(&self, kind: GrantKind, hash: &TokenHash) -> Option<GrantRecord> {
                self.inner.grant(kind, hash)
            }
            fn token(&self, hash: &TokenHash) -> Option<TokenRecord> {
                self.inner.token(hash)
            }
            fn device_by_user_code(&self, code: &UserCode, now: UnixTime) -> Option<DeviceRecord> {
                let now = if self.stale_user_codes {
                    UnixTime(0)
                } else {
                    now
                };
                self.inner.device_by_user_code(code, now)
            }
            fn apply(&mut self, w: &Write) -> Result<(), StoreError> {
                let r = self.inner.apply(w);
                if (self.blind)(w) { Ok(()) } else { r }
            }
            fn apply_all(&mut self, writes: &Writes) -> Result<(), StoreError> {
                writes.iter().try_for_each(|w| self.apply(w))
            }
        }
        let run = |blind: fn(&Write) -> bool, stale_user_codes: bool| {
            let mut s = Broken {
                inner: MemoryStore::new(),
                blind,
                stale_user_codes,
            };
            s.inner.add_client(client().unwrap()).unwrap();
            run_all(&mut s).unwrap_err().scenario
        };
        assert_eq!(
            run(|w| matches!(w, Write::ConsumeCode { .. }), false),
            "a code is returned as stored and consumed exactly once"
        );
        assert_eq!(
            run(|w| matches!(w, Write::StoreDevice(_)), false),
            "a user code belongs to the unexpired device code only"
        );
        assert_eq!(
            run(|_| false, true),
            "a user code belongs to the unexpired device code only"
        );
    }

    #[test]
    fn user_codes_are_distinct_per_seed_and_number() {
        let mut seen = heapless::Vec::<UserCode, 64>::new();
        for seed in 0..8u8 {
            for n in 1..4u8 {
                let c = user_code(seed, n).unwrap();
                assert!(!seen.contains(&c), "{seed} {n}");
                seen.push(c).unwrap();
            }
        }
    }
}
