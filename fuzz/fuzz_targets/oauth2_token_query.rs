//! Introspection and revocation requests (RFC 7662 §2.1, RFC 7009 §2.1):
//! `TokenQuery::parse` without and with `Basic` credentials, then
//! `introspection_endpoint` and `revocation_endpoint` against a store
//! holding the RFC example tokens. Never panics; the shared client rules
//! hold (no repeats, no credentials in two places); an accepted query
//! carries the sent `token` and a hint only if it is a known one; an
//! active answer is the record of exactly the sent token, unexpired, and
//! renders a §2.2 body the client parser reads back; after a successful
//! revocation the same query introspects inactive; a refused revocation
//! changes nothing; only the token's own (confidential) client or the
//! resource server `rs` ever sees a token active (RFC 7662 §4). Input:
//! `HEADER '\n' BODY`.
#![no_main]
use latch_core::UnixTime;
use latch_core::oauth2::client::IntrospectionDocument;
use latch_core::oauth2::{
    AccessRecord, ClientRecord, FamilyId, GrantTypes, IntrospectionResponse, MemoryStore,
    RefreshRecord, Store, TokenHash, TokenQuery, TokenRecord, TokenTypeHint, Write,
    introspection_endpoint, is_active, revocation_endpoint,
};
use latch_fuzz::{basic_roundtrip, check_client_request, sent_value, split_header};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 4] = ["token", "token_type_hint", "client_id", "client_secret"];
/// Inside the lifetime of RFC 7662 §2.2's example token.
const NOW: UnixTime = UnixTime(1_419_350_300);

type Mem = MemoryStore<3, 4>;

fn access(token: &str, family: u8, client: &str, exp: u64) -> Write {
    Write::StoreAccessToken(AccessRecord {
        hash: TokenHash::of(token.as_bytes()),
        family: FamilyId([family; 16]),
        client_id: client.try_into().unwrap(),
        subject: Some("jdoe".try_into().unwrap()),
        scope: "read write dolphin".try_into().unwrap(),
        issued_at: UnixTime(1_419_350_238),
        expires_at: UnixTime(exp),
    })
}

fn store() -> Mem {
    let mut s = Mem::new();
    let mut rs = ClientRecord::new("rs", Some("rs-secret"), &[], "", GrantTypes::NONE).unwrap();
    rs.resource_server = true;
    s.add_client(rs).unwrap();
    for c in [
        ClientRecord::new(
            "s6BhdRkqt3",
            Some("gX1fBat3bV"),
            &[],
            "read",
            GrantTypes::ALL,
        ),
        ClientRecord::new("l238j323ds-23ij4", None, &[], "read", GrantTypes::ALL),
    ] {
        s.add_client(c.unwrap()).unwrap();
    }
    // RFC 7662 §2.2, RFC 6749 §5.1 and RFC 7009 §2.1's tokens; one expired.
    for w in [
        access("mF_9.B5f-4.1JqM", 1, "l238j323ds-23ij4", 1_419_356_238),
        access("2YotnFZFEjr1zCsicMWpAA", 2, "s6BhdRkqt3", 1_419_356_238),
        access("expired", 2, "s6BhdRkqt3", 1_419_350_000),
        Write::StoreRefreshToken(RefreshRecord {
            hash: TokenHash::of(b"45ghiukldjahdnhzdauz"),
            family: FamilyId([2; 16]),
            client_id: "s6BhdRkqt3".try_into().unwrap(),
            subject: Some("jdoe".try_into().unwrap()),
            scope: "read".try_into().unwrap(),
            issued_at: UnixTime(1_419_350_238),
            expires_at: None,
            retired_at: None,
            auth_time: None,
        }),
    ] {
        s.apply(&w).unwrap();
    }
    s
}

fn rows(s: &Mem) -> (usize, usize) {
    (s.access_tokens().len(), s.refresh_tokens().len())
}

fn check(body: &[u8], q: &TokenQuery<'_>) {
    let sent = sent_value(body, "token").expect("token is required");
    assert_eq!(q.token.decoded().collect::<Vec<u8>>(), sent);
    let hint = sent_value(body, "token_type_hint");
    match q.hint {
        Some(TokenTypeHint::AccessToken) => assert_eq!(hint.as_deref(), Some(&b"access_token"[..])),
        Some(TokenTypeHint::RefreshToken) => {
            assert_eq!(hint.as_deref(), Some(&b"refresh_token"[..]))
        }
        None => assert!(!matches!(
            hint.as_deref(),
            Some(b"access_token" | b"refresh_token")
        )),
    }
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = split_header(data);
    let without = TokenQuery::parse(body, None);
    check_client_request(body, None, &NAMES, without.as_ref().map(|q| &q.client));
    if let Ok(q) = &without {
        check(body, q);
    }
    // Who the introspection endpoint will take the caller to be.
    let mut caller = without
        .as_ref()
        .ok()
        .map(|q| q.client.client_id().to_owned());
    let mut scratch = [0u8; 4096];
    if let Some(basic) = header.and_then(|h| basic_roundtrip(h, &mut scratch)) {
        let with = TokenQuery::parse(body, Some(basic));
        check_client_request(body, Some(&basic), &NAMES, with.as_ref().map(|q| &q.client));
        if let Ok(q) = &with {
            check(body, q);
        }
        caller = with.as_ref().ok().map(|q| q.client.client_id().to_owned());
    }
    let may_see = |client: &str| {
        caller.as_deref() == Some("rs")
            || (caller.as_deref() == Some(client) && client != "l238j323ds-23ij4")
    };

    let mut s = store();
    let sent = sent_value(body, "token");
    let d = introspection_endpoint(&s, header, body, NOW);
    let mut out = [0u8; 1024];
    let n = d.render(&mut out).unwrap();
    match d.response() {
        Some(IntrospectionResponse::Active(rec)) => {
            let sent = sent.as_deref().expect("active without a token");
            let (hash, client) = match rec {
                TokenRecord::Access(a) => (a.hash, &a.client_id),
                TokenRecord::Refresh(r) => (r.hash, &r.client_id),
            };
            assert_eq!(hash, TokenHash::of(sent));
            assert!(is_active(rec, NOW));
            assert!(may_see(client), "{caller:?} saw {client}'s token");
            let doc = IntrospectionDocument::parse(&out[..n]).unwrap();
            assert!(doc.active);
            assert!(doc.client_id.unwrap().eq_str(client));
        }
        Some(IntrospectionResponse::Inactive) => {
            assert_eq!(&out[..n], br#"{"active":false}"#);
            if let Some(sent) = sent.as_deref() {
                let rec = s.token(&TokenHash::of(sent));
                assert!(rec.is_none_or(|r| {
                    let client = match &r {
                        TokenRecord::Access(a) => a.client_id.clone(),
                        TokenRecord::Refresh(r) => r.client_id.clone(),
                    };
                    !is_active(&r, NOW) || !may_see(&client)
                }));
            }
        }
        None => assert_ne!(d.http_status(), 200),
    }

    let before = rows(&s);
    let r = revocation_endpoint(&mut s, header, body, NOW);
    if r.http_status() == 200 {
        let again = introspection_endpoint(&s, header, body, NOW);
        assert!(
            !matches!(again.response(), Some(IntrospectionResponse::Active(_))),
            "a revoked token is still active"
        );
    } else {
        assert_eq!(rows(&s), before, "a refused revocation changed the store");
    }
});
