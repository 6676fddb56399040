//! Device authorization request (RFC 8628 §3.1): `DeviceAuthorizationRequest::parse`
//! without and with `Basic` credentials, then the whole endpoint
//! (`device_authorization_endpoint`) against a small `MemoryStore`. Never
//! panics; repeated parameters and credentials in both places never parse;
//! a 200 comes only from a request that parses, stores exactly one device
//! record under the device code's hash, renders a §3.2 body that the
//! client parser reads back field for field, and its user code is found
//! again by `verify_user_code`; an error stores nothing. Input:
//! `HEADER '\n' BODY`.
#![no_main]
use latch_core::oauth2::client::DeviceAuthorizationResponse;
use latch_core::oauth2::{
    BasicCredentials, ClientRecord, DeviceAuthorizationRequest, GrantType, GrantTypes, MemoryStore,
    Policy, UserCode, device_authorization_endpoint, scope, verify_user_code,
};
use latch_core::{Text, UnixTime};
use latch_fuzz::{FuzzRng, basic_roundtrip, check_client_request, split_header};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 3] = ["client_id", "client_secret", "scope"];
const NOW: UnixTime = UnixTime(1_700_000_000);
const VERIFICATION_URI: &str = "https://example.com/device";

fn store() -> MemoryStore<3, 2> {
    let mut s = MemoryStore::new();
    for c in [
        ClientRecord::new(
            "1406020730",
            None,
            &[],
            "read write",
            GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
        ),
        ClientRecord::new(
            "s6BhdRkqt3",
            Some("gX1fBat3bV"),
            &[],
            "read",
            GrantTypes::ALL,
        ),
        ClientRecord::new(
            "web",
            None,
            &["https://web.example/cb"],
            "read",
            GrantTypes::of(&[GrantType::AuthorizationCode]),
        ),
    ] {
        s.add_client(c.unwrap()).unwrap();
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = split_header(data);
    let without = DeviceAuthorizationRequest::parse(body, None);
    check_client_request(body, None, &NAMES, without.as_ref().map(|r| &r.client));
    let mut scratch = [0u8; 4096];
    let basic: Option<BasicCredentials<'_>> = header.and_then(|h| basic_roundtrip(h, &mut scratch));
    let parsed = match basic {
        Some(b) => {
            let with = DeviceAuthorizationRequest::parse(body, Some(b));
            check_client_request(body, Some(&b), &NAMES, with.as_ref().map(|r| &r.client));
            with
        }
        None => without,
    };

    let mut s = store();
    let policy = Policy::DEFAULT;
    let mut rng = FuzzRng::new(data.len() as u64);
    let done = device_authorization_endpoint(&mut s, header, body, NOW, &policy, &mut rng);
    let Some(issued) = done.issued() else {
        assert!(
            s.devices().is_empty(),
            "a refused request stored a device code"
        );
        assert_ne!(done.http_status(), 200);
        return;
    };
    assert_eq!(done.http_status(), 200);
    let request = parsed.expect("a 200 from a request that does not parse");
    let [record] = s.devices() else {
        panic!("expected one device record, found {}", s.devices().len())
    };
    assert_eq!(record.hash, issued.device_code.hash());
    assert_eq!(record.user_code, issued.user_code);
    assert_eq!(record.client_id.as_str(), request.client.client_id());
    assert_eq!(
        record.expires_at,
        NOW.saturating_add(policy.device_code_ttl)
    );
    assert!(scope::is_subset(
        &record.scope,
        store_scope(&record.client_id)
    ));

    let shown = issued.user_code.display();
    assert_eq!(UserCode::parse(shown.as_str()), Ok(issued.user_code));
    let pending = verify_user_code(&s, &Text::plain(shown.as_str()), NOW).unwrap();
    assert_eq!(pending.client_id(), record.client_id.as_str());

    let mut out = [0u8; 1024];
    let n = done.render(VERIFICATION_URI, &mut out).unwrap();
    let r = DeviceAuthorizationResponse::parse(&out[..n]).unwrap();
    assert!(r.device_code.eq_str(issued.device_code.as_str()));
    assert!(r.user_code.eq_str(shown.as_str()));
    assert!(r.verification_uri.eq_str(VERIFICATION_URI));
    let complete = format!("{VERIFICATION_URI}?user_code={shown}");
    assert!(r.verification_uri_complete.unwrap().eq_str(&complete));
    assert_eq!(r.expires_in, policy.device_code_ttl);
    assert_eq!(r.interval, Some(policy.device_interval));
});

fn store_scope(client_id: &str) -> &'static str {
    match client_id {
        "1406020730" => "read write",
        _ => "read",
    }
}
