//! Brute-force limits (DESIGN.md "Limits"), an HTTP concern of the shell.
//!
//! Each limit counts **failures** for a key in a fixed window that starts
//! at the key's first failure: once a key has `max` failures in its window,
//! every further attempt is refused with 429 and `Retry-After` until the
//! window ends ("for the rest of the window"). A correct attempt is never
//! counted, and a refused attempt does no work (no argon2, no lookup).
//!
//! | limit | key | default |
//! | --- | --- | --- |
//! | failed passwords | username | 5 per 15 min |
//! | failed passwords | client address | 20 per 15 min |
//! | wrong user codes | client address | 5 per minute |
//! | failed client authentications | `client_id` | 10 per minute |
//!
//! Why not governor: its GCRA replenishes one cell per `period / burst`,
//! so "5 per 15 minutes" would admit a sixth failure after 3 minutes;
//! DESIGN.md's rule is a window. The counters live in a bounded
//! quick_cache (100,000 keys per limit), so a flood of distinct keys
//! evicts old ones instead of growing memory.
//!
//! The client address is the socket's peer, unless the peer is one of
//! `[limits] trusted_proxies`: then it is the right-most `X-Forwarded-For`
//! entry that is not a trusted proxy.

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// One limit: at most `max` failures per key in a `window`.
#[derive(Debug)]
pub struct FailureWindow {
    /// The `limit` label of `latch_rate_limited_total`.
    name: &'static str,
    max: u32,
    window: Duration,
    seen: quick_cache::sync::Cache<String, (Instant, u32)>,
}

impl FailureWindow {
    /// A limit of `max` failures per `window`, called `name` in the metrics.
    pub fn new(name: &'static str, max: u32, window: Duration) -> Self {
        FailureWindow {
            name,
            max,
            window,
            seen: quick_cache::sync::Cache::new(100_000),
        }
    }

    /// `Some(retry_after)` while `key` is over its limit. Every caller then
    /// refuses the attempt, so this is where refusals are counted
    /// ([`super::metrics::rate_limited`]).
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let (start, count) = self.seen.get(key)?;
        let elapsed = start.elapsed();
        if elapsed >= self.window {
            self.seen.remove(key);
            return None;
        }
        let refused = (count >= self.max).then(|| self.window - elapsed);
        if refused.is_some() {
            super::metrics::rate_limited(self.name);
        }
        refused
    }

    /// Counts a failure for `key`.
    pub fn fail(&self, key: &str) {
        let now = Instant::now();
        let next = match self.seen.get(key) {
            Some((start, count)) if start.elapsed() < self.window => {
                (start, count.saturating_add(1))
            }
            _ => (now, 1),
        };
        self.seen.insert(key.to_owned(), next);
    }
}

/// Every limit the server applies.
#[derive(Debug)]
pub struct Limits {
    /// Failed passwords per username.
    pub login_user: FailureWindow,
    /// Failed passwords per client address.
    pub login_addr: FailureWindow,
    /// Wrong user codes per client address.
    pub user_code_addr: FailureWindow,
    /// Failed client authentications per `client_id`.
    pub client_auth: FailureWindow,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The numbers behind [`Limits`] (DESIGN.md's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Failed passwords per username per `login_window`.
    pub failed_logins_per_user: u32,
    /// Failed passwords per address per `login_window`.
    pub failed_logins_per_address: u32,
    /// The login window.
    pub login_window: Duration,
    /// Wrong user codes per address per `user_code_window`.
    pub wrong_user_codes_per_address: u32,
    /// The user-code window.
    pub user_code_window: Duration,
    /// Failed client authentications per client per `client_auth_window`.
    pub failed_client_auths: u32,
    /// The client-authentication window.
    pub client_auth_window: Duration,
    /// Trusted proxies (addresses or CIDR blocks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            failed_logins_per_user: 5,
            failed_logins_per_address: 20,
            login_window: Duration::from_secs(15 * 60),
            wrong_user_codes_per_address: 5,
            user_code_window: Duration::from_secs(60),
            failed_client_auths: 10,
            client_auth_window: Duration::from_secs(60),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Limits {
    /// The limits for these settings.
    pub fn new(s: &LimitSettings) -> Self {
        Limits {
            login_user: FailureWindow::new("login_user", s.failed_logins_per_user, s.login_window),
            login_addr: FailureWindow::new(
                "login_addr",
                s.failed_logins_per_address,
                s.login_window,
            ),
            user_code_addr: FailureWindow::new(
                "user_code",
                s.wrong_user_codes_per_address,
                s.user_code_window,
            ),
            client_auth: FailureWindow::new(
                "client_auth",
                s.failed_client_auths,
                s.client_auth_window,
            ),
            trusted_proxies: s.trusted_proxies.clone(),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }

    /// The client's address: the peer, or behind trusted proxies the
    /// right-most untrusted `X-Forwarded-For` entry.
    pub fn client_addr(&self, peer: Option<IpAddr>, headers: &axum::http::HeaderMap) -> String {
        let Some(peer) = peer else {
            return "unknown".into();
        };
        if !self.trusted(peer) {
            return peer.to_string();
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .collect();
        forwarded
            .iter()
            .rev()
            .find(|ip| !self.trusted(**ip))
            .copied()
            .unwrap_or(peer)
            .to_string()
    }
}

/// The socket peer's address, when the server knows it (an extractor that
/// never fails: in-process tests have no socket).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A 429 for a page: the wait in words, and `Retry-After`.
pub fn too_many_page(wait: Duration, what: &str) -> axum::response::Response {
    let mut r = super::http::html(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        super::pages::error(
            "Too many attempts",
            &format!(
                "Too many {what}. For your account's safety, try again in {} minute{}.",
                minutes(wait),
                if minutes(wait) == 1 { "" } else { "s" }
            ),
        ),
    );
    if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after(wait)) {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    r
}

/// A 429 for an API: an RFC 6749-style error body and `Retry-After`.
pub fn too_many_json(wait: Duration) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut r = (
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "too many failed client authentications; retry later",
        })),
    )
        .into_response();
    let h = r.headers_mut();
    if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after(wait)) {
        h.insert(axum::http::header::RETRY_AFTER, v);
    }
    h.insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// Whole minutes, rounded up, for the words on a 429 page.
pub fn minutes(d: Duration) -> u64 {
    d.as_secs().div_ceil(60).max(1)
}

/// `Retry-After` in whole seconds, rounded up (RFC 9110 §10.2.3).
pub fn retry_after(d: Duration) -> String {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0))
        .max(1)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_blocks_after_max_failures_until_it_ends() {
        let w = FailureWindow::new("test", 3, Duration::from_millis(300));
        for _ in 0..3 {
            assert!(w.blocked("k").is_none());
            w.fail("k");
        }
        let left = w.blocked("k").expect("blocked after 3");
        assert!(left <= Duration::from_millis(300));
        assert!(w.blocked("other").is_none(), "keys are separate");
        std::thread::sleep(Duration::from_millis(320));
        assert!(w.blocked("k").is_none(), "the window ended");
        w.fail("k");
        assert!(w.blocked("k").is_none(), "a new window counts from one");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = Limits::new(&LimitSettings {
            trusted_proxies: vec![
                "10.0.0.0/8".parse().unwrap(),
                "192.0.2.1/32".parse().unwrap(),
            ],
            ..LimitSettings::default()
        });
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.1.1.1".parse().unwrap(),
        );
        let direct: IpAddr = "198.51.100.50".parse().unwrap();
        assert_eq!(
            l.client_addr(Some(direct), &h),
            "198.51.100.50",
            "spoofed header ignored"
        );
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            l.client_addr(Some(proxy), &h),
            "198.51.100.7",
            "right-most untrusted"
        );
        assert_eq!(
            l.client_addr(Some(proxy), &axum::http::HeaderMap::new()),
            "10.0.0.2"
        );
        assert_eq!(retry_after(Duration::from_millis(1500)), "2");
        assert_eq!(minutes(Duration::from_secs(61)), 2);
    }
}
