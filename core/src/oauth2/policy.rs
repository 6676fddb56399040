//! The authorization server's tunables: lifetimes and the device-flow
//! polling interval. Every endpoint takes a [`Policy`]; it is `Copy` so the
//! state machines keep their own.

/// Lifetimes and rules the server applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Policy {
    /// Access token lifetime, seconds (`expires_in`).
    pub access_token_ttl: u64,
    /// Refresh token lifetime, seconds; `None` for no expiry. Each rotation
    /// starts a new lifetime.
    pub refresh_token_ttl: Option<u64>,
    /// Authorization code lifetime, seconds. Capped at 600 (RFC 6749
    /// §4.1.2: "a maximum authorization code lifetime of 10 minutes").
    pub code_ttl: u64,
    /// Device code lifetime, seconds (RFC 8628 §3.2 `expires_in`).
    pub device_code_ttl: u64,
    /// Initial device polling interval, seconds (RFC 8628 §3.2 `interval`,
    /// default 5).
    pub device_interval: u32,
    /// Issue refresh tokens with the `authorization_code` and device grants
    /// to clients allowed the `refresh_token` grant. `client_credentials`
    /// never gets one (RFC 6749 §4.4.3).
    pub issue_refresh_tokens: bool,
    /// Require PKCE from confidential clients too (RFC 9700 §2.1.1; the
    /// default). Public clients always need it; a confidential client
    /// registered with [`ClientRecord::allow_no_pkce`] is exempt.
    ///
    /// [`ClientRecord::allow_no_pkce`]: super::store::ClientRecord::allow_no_pkce
    pub require_pkce_for_confidential: bool,
}

/// The longest an authorization code may live (RFC 6749 §4.1.2).
pub const MAX_CODE_TTL: u64 = 600;

impl Policy {
    /// One-hour access tokens, 30-day refresh tokens with rotation,
    /// 10-minute codes and device codes, a 5-second device interval, PKCE
    /// required from every client (RFC 9700 §2.1.1).
    pub const DEFAULT: Policy = Policy {
        access_token_ttl: 3600,
        refresh_token_ttl: Some(2_592_000),
        code_ttl: MAX_CODE_TTL,
        device_code_ttl: 600,
        device_interval: 5,
        issue_refresh_tokens: true,
        require_pkce_for_confidential: true,
    };

    /// The code lifetime actually applied: [`code_ttl`](Self::code_ttl)
    /// capped at [`MAX_CODE_TTL`].
    pub const fn effective_code_ttl(&self) -> u64 {
        if self.code_ttl > MAX_CODE_TTL {
            MAX_CODE_TTL
        } else {
            self.code_ttl
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lifetime_is_capped_at_ten_minutes() {
        let p = Policy {
            code_ttl: 3600,
            ..Policy::DEFAULT
        };
        assert_eq!(p.effective_code_ttl(), 600);
        let p = Policy {
            code_ttl: 60,
            ..Policy::DEFAULT
        };
        assert_eq!(p.effective_code_ttl(), 60);
    }
}
