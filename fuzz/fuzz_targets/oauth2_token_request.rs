//! Token request (RFC 6749 §3.2, §4.1.3, §4.4.2, §6; RFC 8628 §3.4):
//! `TokenRequest::parse` of a form body, without and with the `Basic`
//! credentials of an arbitrary header. Never panics; a recognised
//! parameter sent twice never parses (checked with the core's form
//! parser); credentials in both header and body never parse; an accepted
//! request has the grant type, the grant's required parameter and the
//! client the body and header named; `Basic` credentials written again
//! parse to the same pair. Input: `HEADER '\n' BODY` (no newline: body
//! only).
#![no_main]
use latch_core::oauth2::{GrantRequest, TokenRequest};
use latch_fuzz::{basic_roundtrip, check_client_request, sent_value, split_header};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 9] = [
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "device_code",
    "client_id",
    "client_secret",
];

fn check(body: &[u8], r: &Result<TokenRequest<'_>, latch_core::oauth2::OAuthError>) {
    let Ok(r) = r else { return };
    let grant_type = sent_value(body, "grant_type").expect("grant_type is required");
    assert_eq!(grant_type, r.grant.grant_type().as_str().as_bytes());
    let required = |name: &str, t: &latch_core::Text<'_>| {
        assert_eq!(sent_value(body, name), Some(t.decoded().collect()));
    };
    match &r.grant {
        GrantRequest::AuthorizationCode { code, .. } => required("code", code),
        GrantRequest::RefreshToken { refresh_token, .. } => {
            required("refresh_token", refresh_token)
        }
        GrantRequest::DeviceCode { device_code } => required("device_code", device_code),
        GrantRequest::ClientCredentials { .. } => {}
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let (header, body) = split_header(data);
    let without = TokenRequest::parse(body, None);
    check_client_request(body, None, &NAMES, without.as_ref().map(|r| &r.client));
    check(body, &without);
    let Some(header) = header else { return };
    let mut scratch = [0u8; 4096];
    let Some(basic) = basic_roundtrip(header, &mut scratch) else {
        return;
    };
    let with = TokenRequest::parse(body, Some(basic));
    check_client_request(body, Some(&basic), &NAMES, with.as_ref().map(|r| &r.client));
    check(body, &with);
});
