//! The claims a scope releases (OpenID Connect Core 1.0 §5.1, §5.4) and
//! the UserInfo response (§5.3.2).
//!
//! `sub` always; `profile` → `preferred_username`, `name`; `email` →
//! `email`, `email_verified`. A claim the user does not have is left out
//! (§5.3.2: "If a Claim is not returned, that Claim Name SHOULD be
//! omitted"), except `email_verified`, which accompanies an `email`.

use crate::buf::BufferTooSmall;
use crate::oauth2::scope;

/// Every claim Latch can release, for the discovery document's
/// `claims_supported`.
pub const CLAIMS_SUPPORTED: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "preferred_username",
    "name",
    "email",
    "email_verified",
];

/// The scopes OpenID Connect defines that Latch serves, for
/// `scopes_supported`.
pub const OIDC_SCOPES: [&str; 3] = ["openid", "profile", "email"];

/// What the store knows about a user.
#[derive(Debug, Clone, Copy)]
pub struct UserClaims<'a> {
    /// The public subject identifier.
    pub sub: &'a str,
    /// The username (`preferred_username`).
    pub username: &'a str,
    /// The full name, if known.
    pub name: Option<&'a str>,
    /// The e-mail address, if known.
    pub email: Option<&'a str>,
    /// Whether the address was verified.
    pub email_verified: bool,
}

#[derive(serde::Serialize)]
struct Body<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

impl UserClaims<'_> {
    /// Writes the UserInfo JSON for a token with `granted` scope.
    pub fn render(&self, granted: &str, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let profile = scope::contains(granted, "profile");
        let email = scope::contains(granted, "email") && self.email.is_some();
        crate::oauth2::render_json(
            &Body {
                sub: self.sub,
                preferred_username: profile.then_some(self.username),
                name: if profile { self.name } else { None },
                email: if email { self.email } else { None },
                email_verified: email.then_some(self.email_verified),
            },
            out,
        )
    }
}

/// Whether a token with `granted` scope may read UserInfo (§5.3: the
/// access token must have been issued for an OpenID request).
pub fn may_read_userinfo(granted: &str) -> bool {
    scope::contains(granted, "openid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(c: &UserClaims<'_>, scope: &str) -> std::string::String {
        let mut buf = [0u8; 256];
        let n = c.render(scope, &mut buf).unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn scopes_release_claims() {
        let c = UserClaims {
            sub: "u-1",
            username: "alice",
            name: Some("Alice Liddell"),
            email: Some("alice@example.com"),
            email_verified: true,
        };
        assert_eq!(render(&c, "openid"), r#"{"sub":"u-1"}"#);
        assert_eq!(
            render(&c, "openid profile"),
            r#"{"sub":"u-1","preferred_username":"alice","name":"Alice Liddell"}"#
        );
        assert_eq!(
            render(&c, "openid email"),
            r#"{"sub":"u-1","email":"alice@example.com","email_verified":true}"#
        );
        let bare = UserClaims {
            name: None,
            email: None,
            ..c
        };
        assert_eq!(
            render(&bare, "openid profile email"),
            r#"{"sub":"u-1","preferred_username":"alice"}"#
        );
        assert!(may_read_userinfo("read openid"));
        assert!(!may_read_userinfo("read"));
    }
}
