//! The authorization server's tunables: lifetimes, the device-flow
//! polling interval and the refresh grace window. Every endpoint takes a
//! [`Policy`]; it is `Copy` so the state machines keep their own.

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
    /// The refresh grace window, seconds (0, the default: strict rotation).
    /// For this long after a refresh token is rotated, the client it was
    /// issued to may present it again and gets a new token pair in the
    /// same family, for a device or SPA that lost the first answer; after
    /// it, presenting it again is reuse and revokes the family (RFC 9700
    /// §4.14.2). Capped at [`MAX_REFRESH_GRACE`]; see
    /// [`effective_refresh_grace`](Self::effective_refresh_grace).
    pub refresh_grace: u64,
}

/// The longest an authorization code may live (RFC 6749 §4.1.2).
pub const MAX_CODE_TTL: u64 = 600;

/// The longest refresh grace window: five minutes, enough for a client's
/// retries with backoff over a flaky network (Ory Hydra's limit without a
/// reuse count). Longer would let a stolen rotated-out token mint tokens
/// for that long without tripping reuse detection.
pub const MAX_REFRESH_GRACE: u64 = 300;

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
        refresh_grace: 0,
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

    /// The refresh grace window actually applied:
    /// [`refresh_grace`](Self::refresh_grace) capped at
    /// [`MAX_REFRESH_GRACE`].
    pub const fn effective_refresh_grace(&self) -> u64 {
        if self.refresh_grace > MAX_REFRESH_GRACE {
            MAX_REFRESH_GRACE
        } else {
            self.refresh_grace
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

    #[test]
    fn refresh_grace_is_off_by_default_and_capped() {
        assert_eq!(Policy::DEFAULT.effective_refresh_grace(), 0);
        let p = Policy {
            refresh_grace: u64::MAX,
            ..Policy::DEFAULT
        };
        assert_eq!(p.effective_refresh_grace(), MAX_REFRESH_GRACE);
        let p = Policy {
            refresh_grace: 30,
            ..Policy::DEFAULT
        };
        assert_eq!(p.effective_refresh_grace(), 30);
    }
}
