//! The OpenID Connect parameters of an authorization request (OpenID
//! Connect Core 1.0 §3.1.2.1) and the decision they drive (§3.1.2.3,
//! §3.1.2.6): log in, ask for consent, or answer with an error.
//!
//! * `nonce` is kept (at most [`MAX_NONCE`] bytes) and echoed in the
//!   id_token.
//! * `prompt` is a space-separated set of `none`, `login`, `consent`,
//!   `select_account`; `none` with any other value, or an unknown value, is
//!   `invalid_request`.
//! * `max_age` is a non-negative number of seconds; anything else is
//!   `invalid_request`.
//! * `login_hint` prefills the username field (at most [`MAX_LOGIN_HINT`]
//!   bytes; a longer one is ignored, as §3.1.2.1 makes it a hint).
//!
//! [`OidcRequest::next_step`] is the decision: `prompt=login`, or a
//! `max_age` older than the session's `auth_time`, needs a fresh password;
//! `prompt=none` never shows a page — no session is `login_required`, and
//! since Latch asks for consent on every authorization, a session is
//! `consent_required` (§3.1.2.6).

use crate::oauth2::{ErrorCode, OAuthError};
use crate::text::Text;
use crate::time::UnixTime;

/// The longest `nonce` kept.
pub const MAX_NONCE: usize = 255;

/// The longest `login_hint` used.
pub const MAX_LOGIN_HINT: usize = 64;

/// A `nonce` as the client sent it (decoded).
pub type Nonce = heapless::String<MAX_NONCE>;

/// The `prompt` values (§3.1.2.1), as a set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prompt {
    /// `none`: show no page at all.
    pub none: bool,
    /// `login`: ask for the password again, even with a session.
    pub login: bool,
    /// `consent`: ask for consent (Latch always does).
    pub consent: bool,
    /// `select_account`: let the user pick an account (Latch shows the
    /// login form, where another username can be entered).
    pub select_account: bool,
}

impl Prompt {
    /// Parses the space-separated list.
    pub fn parse(value: &str) -> Result<Prompt, OAuthError> {
        let mut p = Prompt::default();
        for v in value.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                _ => return Err(bad("unknown prompt value")),
            }
        }
        if p.none && (p.login || p.consent || p.select_account) {
            return Err(bad("prompt=none cannot be combined with other values"));
        }
        Ok(p)
    }
}

fn bad(description: &'static str) -> OAuthError {
    OAuthError::with(ErrorCode::InvalidRequest, description)
}

/// The OpenID Connect part of a validated authorization request with the
/// `openid` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcRequest {
    /// `nonce`, if sent.
    pub nonce: Option<Nonce>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds, if sent.
    pub max_age: Option<u64>,
    /// `login_hint`, if sent and short enough.
    pub login_hint: Option<heapless::String<MAX_LOGIN_HINT>>,
}

/// What the authorization endpoint does next for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// Show the login + consent form; the approval must carry a password
    /// entered now (a session does not count).
    Login,
    /// The session's user may approve (consent form only).
    Consent,
}

impl OidcRequest {
    /// Parses the OpenID parameters (each already checked for repeats by
    /// the caller).
    pub fn parse(
        nonce: Option<Text<'_>>,
        prompt: Option<Text<'_>>,
        max_age: Option<Text<'_>>,
        login_hint: Option<Text<'_>>,
    ) -> Result<OidcRequest, OAuthError> {
        let nonce = match nonce {
            None => None,
            Some(n) => Some(
                n.to_heapless::<MAX_NONCE>()
                    .map_err(|_| bad("nonce too long"))?,
            ),
        };
        let prompt = match prompt {
            None => Prompt::default(),
            Some(p) => {
                let p: heapless::String<64> =
                    p.to_heapless().map_err(|_| bad("unknown prompt value"))?;
                Prompt::parse(&p)?
            }
        };
        let max_age = match max_age {
            None => None,
            Some(m) => {
                let m: heapless::String<20> = m.to_heapless().map_err(|_| bad("bad max_age"))?;
                if m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("max_age must be a number of seconds"));
                }
                Some(m.parse::<u64>().map_err(|_| bad("bad max_age"))?)
            }
        };
        let login_hint = login_hint.and_then(|h| h.to_heapless().ok());
        Ok(OidcRequest {
            nonce,
            prompt,
            max_age,
            login_hint,
        })
    }

    /// Whether a session authenticated at `auth_time` is too old for this
    /// request at `now` (`prompt=login`, or `max_age` exceeded).
    pub fn needs_fresh_login(&self, auth_time: UnixTime, now: UnixTime) -> bool {
        self.prompt.login
            || self
                .max_age
                .is_some_and(|max| now.0.saturating_sub(auth_time.0) > max)
    }

    /// The decision for the page (GET) given the session's `auth_time`
    /// (`None`: no session): see the module docs.
    pub fn next_step(&self, session: Option<UnixTime>, now: UnixTime) -> Result<Step, OAuthError> {
        match session {
            None if self.prompt.none => Err(OAuthError::with(
                ErrorCode::LoginRequired,
                "no login session",
            )),
            Some(t) if self.prompt.none && self.needs_fresh_login(t, now) => Err(OAuthError::with(
                ErrorCode::LoginRequired,
                "the login session is too old",
            )),
            Some(_) if self.prompt.none => Err(OAuthError::with(
                ErrorCode::ConsentRequired,
                "consent is asked for on every authorization",
            )),
            None => Ok(Step::Login),
            Some(t) if self.needs_fresh_login(t, now) => Ok(Step::Login),
            Some(_) => Ok(Step::Consent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::percent::Mode;

    fn t(s: &str) -> Option<Text<'_>> {
        Some(Text::encoded(s.as_bytes(), Mode::Form).unwrap())
    }

    #[test]
    fn prompt_values() {
        assert_eq!(Prompt::parse("").unwrap(), Prompt::default());
        let p = Prompt::parse("login consent").unwrap();
        assert!(p.login && p.consent && !p.none);
        assert_eq!(
            Prompt::parse("none login").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        assert!(Prompt::parse("sometimes").is_err());
    }

    #[test]
    fn parse_and_bounds() {
        let r = OidcRequest::parse(t("n-0S6_WzA2Mj"), t("login"), t("300"), t("alice")).unwrap();
        assert_eq!(r.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
        assert_eq!(r.max_age, Some(300));
        assert_eq!(r.login_hint.as_deref(), Some("alice"));
        assert!(OidcRequest::parse(None, None, t("-1"), None).is_err());
        assert!(OidcRequest::parse(None, None, t("1e3"), None).is_err());
        assert!(OidcRequest::parse(None, None, t("99999999999999999999"), None).is_err());
        let long = "n".repeat(MAX_NONCE + 1);
        assert!(OidcRequest::parse(t(&long), None, None, None).is_err());
        let hint = "h".repeat(MAX_LOGIN_HINT + 1);
        let r = OidcRequest::parse(None, None, None, t(&hint)).unwrap();
        assert_eq!(r.login_hint, None);
    }

    #[test]
    fn decisions() {
        let now = UnixTime(10_000);
        let plain = OidcRequest::parse(None, None, None, None).unwrap();
        assert_eq!(plain.next_step(None, now), Ok(Step::Login));
        assert_eq!(plain.next_step(Some(UnixTime(0)), now), Ok(Step::Consent));

        let none = OidcRequest::parse(None, t("none"), None, None).unwrap();
        assert_eq!(
            none.next_step(None, now).unwrap_err().code,
            ErrorCode::LoginRequired
        );
        assert_eq!(
            none.next_step(Some(UnixTime(9_000)), now).unwrap_err().code,
            ErrorCode::ConsentRequired
        );

        let login = OidcRequest::parse(None, t("login"), None, None).unwrap();
        assert_eq!(login.next_step(Some(now), now), Ok(Step::Login));

        let aged = OidcRequest::parse(None, None, t("60"), None).unwrap();
        assert_eq!(
            aged.next_step(Some(UnixTime(9_940)), now),
            Ok(Step::Consent)
        );
        assert_eq!(aged.next_step(Some(UnixTime(9_939)), now), Ok(Step::Login));
        let aged_none = OidcRequest::parse(None, t("none"), t("60"), None).unwrap();
        assert_eq!(
            aged_none
                .next_step(Some(UnixTime(1)), now)
                .unwrap_err()
                .code,
            ErrorCode::LoginRequired
        );
        // max_age=0 is prompt=login.
        let zero = OidcRequest::parse(None, None, t("0"), None).unwrap();
        assert_eq!(zero.next_step(Some(UnixTime(9_999)), now), Ok(Step::Login));
        assert_eq!(zero.next_step(Some(now), now), Ok(Step::Consent));
    }
}
