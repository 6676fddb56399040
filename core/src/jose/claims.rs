//! The registered JWT claims (RFC 7519 §4.1) and their checks (§7.2 step
//! 10, OpenID Connect Core §3.1.3.7 items 2, 3, 9, 10).
//!
//! [`RegisteredClaims::parse`] reads `iss`, `sub`, `aud`, `exp`, `nbf`,
//! `iat`, `jti` from a JWT's decoded payload, borrowing; other claims are
//! ignored (a protocol that needs more, such as OpenID Connect's `nonce`,
//! parses them beside these). [`RegisteredClaims::validate`] checks them
//! against a [`Validation`]: time comes in as `now`, the core has no
//! clock.
//!
//! * NumericDate (§2) values must be non-negative integers; a fraction or
//!   an exponent is refused as malformed (no issuer in practice sends
//!   one, and reading it would need floating point on a microcontroller).
//! * `aud` is a string or an array of up to [`MAX_AUDIENCES`] strings
//!   (§4.1.3).
//! * Times compare with `leeway` seconds of allowance for clock skew
//!   (§4.1.4, §4.1.5): the token is expired once `now ≥ exp + leeway`,
//!   not yet valid while `now + leeway < nbf`, and issued in the future
//!   when `iat > now + leeway`.

use super::JoseError;
use crate::json::{self, JsonStr, JsonStrList};
use crate::time::UnixTime;
use core::fmt;
use serde::de::{self, Deserialize};

/// The most `aud` entries read.
pub const MAX_AUDIENCES: usize = 8;

/// Why claims were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ClaimsError {
    /// `iss` is not the expected issuer.
    Issuer,
    /// The expected audience is not in `aud`.
    Audience,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` has not come yet (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// A claim that [`Validation`] requires is absent: its name.
    Missing(&'static str),
}

impl fmt::Display for ClaimsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimsError::Issuer => f.write_str("unexpected issuer"),
            ClaimsError::Audience => f.write_str("not an audience of the token"),
            ClaimsError::Expired => f.write_str("token expired"),
            ClaimsError::NotYetValid => f.write_str("token not yet valid"),
            ClaimsError::IssuedInFuture => f.write_str("token issued in the future"),
            ClaimsError::Missing(name) => write!(f, "claim {name} missing"),
        }
    }
}

impl core::error::Error for ClaimsError {}

/// `aud` (RFC 7519 §4.1.3): one string or an array of strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Audience<'a> {
    list: JsonStrList<'a, MAX_AUDIENCES>,
    array: bool,
}

impl<'a> Audience<'a> {
    /// The audiences.
    pub fn as_slice(&self) -> &[JsonStr<'a>] {
        self.list.as_slice()
    }

    /// Whether `aud` names `audience`.
    pub fn contains(&self, audience: &str) -> bool {
        self.list.contains(audience)
    }

    /// Whether `aud` was an array (even of one).
    pub const fn is_array(&self) -> bool {
        self.array
    }

    /// The single audience when there is exactly one (OpenID Connect Core
    /// §3.1.3.7 item 4 asks for `azp` otherwise).
    pub fn single(&self) -> Option<JsonStr<'a>> {
        match self.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Audience<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> de::Visitor<'de> for V<'a> {
            type Value = Audience<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, raw: &'de str) -> Result<Self::Value, E> {
                let one = JsonStr::new(raw).map_err(|_| E::custom("invalid string escape"))?;
                let mut list = JsonStrList::default();
                list.push(one)
                    .map_err(|_| E::custom("too many audiences"))?;
                Ok(Audience { list, array: false })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut list = JsonStrList::default();
                while let Some(s) = seq.next_element::<JsonStr<'a>>()? {
                    list.push(s)
                        .map_err(|_| de::Error::custom("too many audiences"))?;
                }
                Ok(Audience { list, array: true })
            }
        }
        // serde-json-core has no `deserialize_any`; its
        // `deserialize_ignored_any` dispatches on the value's first byte
        // (a string to `visit_borrowed_str`, an array to `visit_seq`,
        // anything else to `visit_unit`, which refuses), which is the
        // "string or array" choice needed here. The tests pin this.
        d.deserialize_ignored_any(V(core::marker::PhantomData))
    }
}

/// The registered claims of a JWT (RFC 7519 §4.1), borrowed from its
/// decoded payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
pub struct RegisteredClaims<'a> {
    /// `iss` (§4.1.1).
    #[serde(borrow, default)]
    pub iss: Option<JsonStr<'a>>,
    /// `sub` (§4.1.2).
    #[serde(borrow, default)]
    pub sub: Option<JsonStr<'a>>,
    /// `aud` (§4.1.3).
    #[serde(borrow, default)]
    pub aud: Option<Audience<'a>>,
    /// `exp` (§4.1.4), seconds since the epoch.
    #[serde(default)]
    pub exp: Option<u64>,
    /// `nbf` (§4.1.5).
    #[serde(default)]
    pub nbf: Option<u64>,
    /// `iat` (§4.1.6).
    #[serde(default)]
    pub iat: Option<u64>,
    /// `jti` (§4.1.7).
    #[serde(borrow, default)]
    pub jti: Option<JsonStr<'a>>,
}

/// What [`RegisteredClaims::validate`] requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validation<'a> {
    /// The issuer `iss` must be (compared exactly), or `None` not to check.
    pub issuer: Option<&'a str>,
    /// An audience `aud` must contain, or `None` not to check.
    pub audience: Option<&'a str>,
    /// Seconds of allowance for clock skew.
    pub leeway: u64,
    /// The current time.
    pub now: UnixTime,
    /// Whether a token without `exp` is refused.
    pub require_exp: bool,
}

impl<'a> Validation<'a> {
    /// Checks time only, at `now`, with no leeway, `exp` required.
    pub const fn new(now: UnixTime) -> Self {
        Validation {
            issuer: None,
            audience: None,
            leeway: 0,
            now,
            require_exp: true,
        }
    }
}

impl<'a> RegisteredClaims<'a> {
    /// Reads the claims from a JWT payload (a JSON object; RFC 7519 §7.2
    /// step 10). Errors: [`JoseError::Malformed`] for anything that is not
    /// a JSON object, a registered claim of the wrong type, a claim given
    /// twice, more than [`MAX_AUDIENCES`] audiences.
    pub fn parse(payload: &'a [u8]) -> Result<Self, JoseError> {
        Ok(json::parse_strict(payload)?)
    }

    /// Checks the claims against `v`: issuer, audience, then `exp`, `nbf`,
    /// `iat`.
    pub fn validate(&self, v: &Validation<'_>) -> Result<(), ClaimsError> {
        if let Some(issuer) = v.issuer {
            let iss = self.iss.ok_or(ClaimsError::Missing("iss"))?;
            if !iss.eq_str(issuer) {
                return Err(ClaimsError::Issuer);
            }
        }
        if let Some(audience) = v.audience {
            let aud = self.aud.ok_or(ClaimsError::Missing("aud"))?;
            if !aud.contains(audience) {
                return Err(ClaimsError::Audience);
            }
        }
        let now = v.now.as_secs();
        match self.exp {
            Some(exp) if now >= exp.saturating_add(v.leeway) => return Err(ClaimsError::Expired),
            None if v.require_exp => return Err(ClaimsError::Missing("exp")),
            _ => {}
        }
        if self
            .nbf
            .is_some_and(|nbf| now.saturating_add(v.leeway) < nbf)
        {
            return Err(ClaimsError::NotYetValid);
        }
        if self
            .iat
            .is_some_and(|iat| iat > now.saturating_add(v.leeway))
        {
            return Err(ClaimsError::IssuedInFuture);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = UnixTime(1_300_819_000);

    fn v() -> Validation<'static> {
        Validation {
            issuer: Some("joe"),
            audience: Some("client"),
            ..Validation::new(NOW)
        }
    }

    #[test]
    fn parse_forms() {
        let c = RegisteredClaims::parse(
            br#"{"iss":"joe","sub":"a\u0062c","aud":"client","exp":1300819380,"nbf":0,"iat":1300819000,"jti":"j","extra":{"deep":[1,2.5e3]}}"#,
        )
        .unwrap();
        assert!(c.iss.unwrap().eq_str("joe"));
        assert!(c.sub.unwrap().eq_str("abc"));
        let aud = c.aud.unwrap();
        assert!(!aud.is_array() && aud.contains("client"));
        assert!(aud.single().unwrap().eq_str("client"));
        assert_eq!(
            (c.exp, c.nbf, c.iat),
            (Some(1_300_819_380), Some(0), Some(1_300_819_000))
        );
        let c = RegisteredClaims::parse(br#"{"aud":["a","client"]}"#).unwrap();
        let aud = c.aud.unwrap();
        assert!(aud.is_array() && aud.contains("client") && aud.single().is_none());
        assert_eq!(
            RegisteredClaims::parse(b"{}").unwrap(),
            RegisteredClaims::default()
        );
        let c = RegisteredClaims::parse(br#"{"aud":null,"exp":null}"#).unwrap();
        assert_eq!((c.aud, c.exp), (None, None));
        for bad in [
            &br#"{"exp":1.5}"#[..],
            br#"{"exp":-1}"#,
            br#"{"exp":1e9}"#,
            br#"{"exp":"1"}"#,
            br#"{"exp":18446744073709551616}"#,
            br#"{"aud":1}"#,
            br#"{"aud":{"a":1}}"#,
            br#"{"aud":[1]}"#,
            br#"{"aud":["1","2","3","4","5","6","7","8","9"]}"#,
            br#"{"iss":"a","iss":"b"}"#,
            br#"{"iss":"a"} {"#,
            br#"["iss"]"#,
            b"",
        ] {
            assert_eq!(
                RegisteredClaims::parse(bad).err(),
                Some(JoseError::Malformed),
                "{}",
                std::string::String::from_utf8_lossy(bad)
            );
        }
    }

    fn claims(json: &str) -> RegisteredClaims<'_> {
        RegisteredClaims::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn each_refusal() {
        let ok = r#"{"iss":"joe","aud":["x","client"],"exp":1300819380,"iat":1300819000,"nbf":1300819000}"#;
        assert_eq!(claims(ok).validate(&v()), Ok(()));
        for (json, want) in [
            (
                r#"{"iss":"jo","aud":"client","exp":1300819380}"#,
                ClaimsError::Issuer,
            ),
            (
                r#"{"aud":"client","exp":1300819380}"#,
                ClaimsError::Missing("iss"),
            ),
            (
                r#"{"iss":"joe","aud":"other","exp":1300819380}"#,
                ClaimsError::Audience,
            ),
            (
                r#"{"iss":"joe","aud":[],"exp":1300819380}"#,
                ClaimsError::Audience,
            ),
            (
                r#"{"iss":"joe","exp":1300819380}"#,
                ClaimsError::Missing("aud"),
            ),
            (
                r#"{"iss":"joe","aud":"client"}"#,
                ClaimsError::Missing("exp"),
            ),
            (
                r#"{"iss":"joe","aud":"client","exp":1300819000}"#,
                ClaimsError::Expired,
            ),
            (
                r#"{"iss":"joe","aud":"client","exp":1300819380,"nbf":1300819001}"#,
                ClaimsError::NotYetValid,
            ),
            (
                r#"{"iss":"joe","aud":"client","exp":1300819380,"iat":1300819001}"#,
                ClaimsError::IssuedInFuture,
            ),
        ] {
            assert_eq!(claims(json).validate(&v()), Err(want), "{json}");
        }
        let optional = Validation {
            require_exp: false,
            ..Validation::new(NOW)
        };
        assert_eq!(claims("{}").validate(&optional), Ok(()));
        assert_eq!(
            claims("{}").validate(&Validation::new(NOW)),
            Err(ClaimsError::Missing("exp"))
        );
    }

    #[test]
    fn leeway_edges() {
        let exp = NOW.as_secs() + 10;
        let with = |leeway: u64, now: u64| Validation {
            leeway,
            ..Validation::new(UnixTime(now))
        };
        let c = claims(r#"{"exp":1300819010,"nbf":1300819010,"iat":1300819010}"#);
        // exp: valid strictly before exp + leeway.
        assert_eq!(
            c.validate(&with(0, exp - 1)).err(),
            Some(ClaimsError::NotYetValid)
        );
        let only_exp = claims(r#"{"exp":1300819010}"#);
        assert_eq!(only_exp.validate(&with(0, exp - 1)), Ok(()));
        assert_eq!(only_exp.validate(&with(0, exp)), Err(ClaimsError::Expired));
        assert_eq!(only_exp.validate(&with(5, exp + 4)), Ok(()));
        assert_eq!(
            only_exp.validate(&with(5, exp + 5)),
            Err(ClaimsError::Expired)
        );
        assert_eq!(only_exp.validate(&with(u64::MAX, u64::MAX - 1)), Ok(()));
        // nbf: valid from nbf - leeway on.
        let nbf = claims(r#"{"exp":1300829010,"nbf":1300819010}"#);
        assert_eq!(nbf.validate(&with(0, exp)), Ok(()));
        assert_eq!(
            nbf.validate(&with(0, exp - 1)),
            Err(ClaimsError::NotYetValid)
        );
        assert_eq!(nbf.validate(&with(3, exp - 3)), Ok(()));
        assert_eq!(
            nbf.validate(&with(3, exp - 4)),
            Err(ClaimsError::NotYetValid)
        );
        // iat: up to now + leeway.
        let iat = claims(r#"{"exp":1300829010,"iat":1300819010}"#);
        assert_eq!(iat.validate(&with(0, exp)), Ok(()));
        assert_eq!(
            iat.validate(&with(0, exp - 1)),
            Err(ClaimsError::IssuedInFuture)
        );
        assert_eq!(iat.validate(&with(1, exp - 1)), Ok(()));
        assert_eq!(iat.validate(&with(u64::MAX, 0)), Ok(()));
        assert_eq!(c.validate(&with(0, exp)), Err(ClaimsError::Expired));
    }
}
