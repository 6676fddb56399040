//! Signed cookies: the login session and the CSRF token.
//!
//! * `latch_session` = `base64url(user) . expires . base64url(HMAC)`, where
//!   the HMAC-SHA256 (session key) covers `"session" | user | expires`.
//! * `latch_csrf` is 128 random bits, set on the first page view; each form
//!   carries `HMAC(session key, "csrf" | cookie)`, checked in constant time on
//!   POST (double-submit, bound to the server key). Cookies are `HttpOnly`,
//!   `SameSite=Lax`, `Path=/`, and when the issuer is https also `Secure`
//!   and named with the `__Host-` prefix (RFC 6265bis §4.1.3.2), so that a
//!   sibling host cannot plant or overwrite them.

use axum::http::HeaderMap;
use base64ct::{Base64UrlUnpadded, Encoding};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Session lifetime (seconds).
pub const SESSION_TTL: u64 = 8 * 3600;
/// The session cookie's name.
pub const SESSION_COOKIE: &str = "latch_session";
/// The CSRF cookie's name.
pub const CSRF_COOKIE: &str = "latch_csrf";

fn mac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut m =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        m.update(&(p.len() as u64).to_be_bytes());
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// How the server's cookies are named and flagged: [`CookiePolicy::secure`]
/// when the issuer is https.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    /// `Secure` and `__Host-`-prefixed.
    pub secure: bool,
}

impl CookiePolicy {
    /// The session cookie's name.
    pub fn session(self) -> &'static str {
        if self.secure {
            "__Host-latch_session"
        } else {
            SESSION_COOKIE
        }
    }

    /// The CSRF cookie's name.
    pub fn csrf(self) -> &'static str {
        if self.secure {
            "__Host-latch_csrf"
        } else {
            CSRF_COOKIE
        }
    }

    /// A `Set-Cookie` value under this policy.
    pub fn set(self, name: &str, value: &str, max_age: u64) -> String {
        set_cookie(name, value, max_age, self.secure)
    }
}

/// A cookie value from the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A session cookie value for `user` until `expires`.
pub fn session_value(key: &[u8; 32], user: &str, expires: u64) -> String {
    let exp = expires.to_string();
    let tag = mac(key, &[b"session", user.as_bytes(), exp.as_bytes()]);
    format!(
        "{}.{exp}.{}",
        Base64UrlUnpadded::encode_string(user.as_bytes()),
        Base64UrlUnpadded::encode_string(&tag)
    )
}

/// The user of a valid, unexpired session cookie.
pub fn session_user(key: &[u8; 32], value: &str, now: u64) -> Option<String> {
    let mut it = value.split('.');
    let (user, exp, tag) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let user = String::from_utf8(Base64UrlUnpadded::decode_vec(user).ok()?).ok()?;
    let tag = Base64UrlUnpadded::decode_vec(tag).ok()?;
    let expected = mac(key, &[b"session", user.as_bytes(), exp.as_bytes()]);
    if !bool::from(tag.ct_eq(&expected)) {
        return None;
    }
    (exp.parse::<u64>().ok()? >= now).then_some(user)
}

/// The form token for a CSRF cookie value.
pub fn csrf_token(key: &[u8; 32], cookie: &str) -> String {
    Base64UrlUnpadded::encode_string(&mac(key, &[b"csrf", cookie.as_bytes()]))
}

/// Whether a submitted form token matches the CSRF cookie.
pub fn csrf_ok(key: &[u8; 32], cookie: Option<&str>, token: &str) -> bool {
    match cookie {
        Some(c) if !c.is_empty() => {
            bool::from(csrf_token(key, c).as_bytes().ct_eq(token.as_bytes()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_round_trip_and_tamper() {
        let key = [1u8; 32];
        let v = session_value(&key, "alice", 100);
        assert_eq!(session_user(&key, &v, 99).as_deref(), Some("alice"));
        assert_eq!(session_user(&key, &v, 101), None, "expired");
        assert_eq!(session_user(&[2u8; 32], &v, 99), None, "other key");
        let forged = v.replacen("100", "999", 1);
        assert_eq!(session_user(&key, &forged, 99), None, "expiry is signed");
        let other = session_value(&key, "bob", 100);
        let spliced = format!(
            "{}.{}",
            v.split('.').next().unwrap(),
            other.split_once('.').unwrap().1
        );
        assert_eq!(session_user(&key, &spliced, 99), None, "user is signed");
    }

    #[test]
    fn csrf_binds_token_to_cookie() {
        let key = [1u8; 32];
        let t = csrf_token(&key, "cookie-a");
        assert!(csrf_ok(&key, Some("cookie-a"), &t));
        assert!(!csrf_ok(&key, Some("cookie-b"), &t));
        assert!(!csrf_ok(&key, None, &t));
        assert!(!csrf_ok(&key, Some(""), &csrf_token(&key, "")));
    }

    #[test]
    fn https_cookies_are_secure_and_host_prefixed() {
        let tls = CookiePolicy { secure: true };
        assert!(tls.session().starts_with("__Host-") && tls.csrf().starts_with("__Host-"));
        let v = tls.set(tls.session(), "x", 60);
        assert!(v.contains("; Secure") && v.contains("Path=/") && !v.contains("Domain"));
        let plain = CookiePolicy { secure: false };
        assert_eq!(plain.session(), SESSION_COOKIE);
        assert!(!plain.set(plain.csrf(), "x", 60).contains("Secure"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            axum::http::header::COOKIE,
            "a=1; latch_csrf=xyz".parse().unwrap(),
        );
        h.append(axum::http::header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "b"), Some("2"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
