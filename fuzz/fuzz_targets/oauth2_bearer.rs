//! `Authorization: Bearer` (RFC 6750 §2.1): `BearerToken::from_header` on
//! arbitrary header values. Never panics; an accepted token is a non-empty
//! b64token (no spaces), is the header's tail after the scheme, hashes to
//! `TokenHash::of(token)`, reads back from `Bearer <token>`, and passes
//! `authorize_bearer` exactly when it is the stored token; `Missing` means
//! the header is not the Bearer scheme, `InvalidRequest` that it is. The
//! `WWW-Authenticate` challenge (§3) never panics and quotes only safe
//! text.
#![no_main]
use latch_core::UnixTime;
use latch_core::oauth2::{
    AccessRecord, BearerError, BearerToken, FamilyId, MemoryStore, Store, TokenHash, Write,
    authorize_bearer,
};
use latch_fuzz::written;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

const KNOWN: &str = "mF_9.B5f-4.1JqM";
const NOW: UnixTime = UnixTime(1_419_350_300);

static STORE: LazyLock<MemoryStore<1, 1>> = LazyLock::new(|| {
    let mut s = MemoryStore::new();
    s.apply(&Write::StoreAccessToken(AccessRecord {
        hash: TokenHash::of(KNOWN.as_bytes()),
        family: FamilyId([1; 16]),
        client_id: "s6BhdRkqt3".try_into().unwrap(),
        subject: None,
        scope: "read".try_into().unwrap(),
        issued_at: UnixTime(0),
        expires_at: UnixTime(u64::MAX),
    }))
    .unwrap();
    s
});

/// `Bearer`, then the end or a space: the header is meant for this scheme.
fn is_bearer_scheme(h: &[u8]) -> bool {
    h.len() >= 6 && h[..6].eq_ignore_ascii_case(b"Bearer") && h.get(6).is_none_or(|&b| b == b' ')
}

fuzz_target!(|data: &[u8]| {
    let Ok(h) = std::str::from_utf8(data) else {
        return;
    };
    let result = BearerToken::from_header(Some(h));
    match result {
        Ok(t) => {
            let s = t.as_str();
            assert!(!s.is_empty() && !s.contains(' '));
            let body = s.trim_end_matches('=');
            assert!(!body.is_empty());
            assert!(
                body.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
            );
            assert!(is_bearer_scheme(h.as_bytes()) && h.len() > 6);
            assert!(h.ends_with(s) && h[6..h.len() - s.len()].bytes().all(|b| b == b' '));
            assert_eq!(t.hash(), TokenHash::of(s.as_bytes()));
            let again = format!("Bearer {s}");
            assert_eq!(
                BearerToken::from_header(Some(&again)).map(|t| t.as_str()),
                Ok(s)
            );
            let access = authorize_bearer(&*STORE, Some(h), NOW, None);
            assert_eq!(access.is_ok(), s == KNOWN);
        }
        Err(BearerError::Missing) => assert!(!is_bearer_scheme(h.as_bytes())),
        Err(BearerError::InvalidRequest) => assert!(is_bearer_scheme(h.as_bytes())),
        Err(e) => panic!("the header alone cannot be {e:?}"),
    }

    for e in [
        BearerError::Missing,
        BearerError::InvalidRequest,
        BearerError::InvalidToken,
        BearerError::InsufficientScope,
    ] {
        let c = written(|w| e.write_challenge(Some(h), Some(h), w));
        let c = String::from_utf8(c).expect("challenges are text");
        assert!(c.starts_with("Bearer"));
        let safe = h
            .bytes()
            .all(|b| b != b'"' && b != b'\\' && (0x20..0x7F).contains(&b));
        assert_eq!(c.contains("realm=\""), safe, "{c}");
        if safe {
            assert!(c.contains(&format!("realm=\"{h}\"")));
        }
    }
});
