//! What went wrong with a signed request, as the provider reports it.
//!
//! The names are those of the OAuth Problem Reporting extension
//! (`oauth_problem=…`), which providers such as Twitter, Yahoo and Garmin
//! send; the HTTP status follows RFC 5849 §3.2: 400 for malformed,
//! missing, duplicated or unsupported parameters, 401 for bad credentials,
//! signatures, timestamps and nonces.

use core::fmt;

/// Why a provider refused a signed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Problem {
    /// A required parameter is missing (`parameter_absent`, 400).
    ParameterAbsent {
        /// The missing parameter.
        name: &'static str,
    },
    /// A parameter is duplicated, malformed or not allowed here
    /// (`parameter_rejected`, 400).
    ParameterRejected {
        /// The offending parameter, or the part of the request that is malformed.
        name: &'static str,
    },
    /// `oauth_version` is present and not `1.0` (`version_rejected`, 400).
    VersionRejected,
    /// The signature method is unknown or not allowed by the policy
    /// (`signature_method_rejected`, 400).
    SignatureMethodRejected,
    /// The consumer key is not known (`consumer_key_unknown`, 401); reported
    /// by the caller after its lookup.
    ConsumerKeyUnknown,
    /// The token is unknown, expired or of the wrong kind (`token_rejected`,
    /// 401); reported by the caller after its lookup.
    TokenRejected,
    /// The timestamp is outside the accepted window (`timestamp_refused`, 401).
    TimestampRefused,
    /// The nonce was already used with this timestamp, client and token
    /// (`nonce_used`, 401).
    NonceUsed,
    /// The signature does not match (`signature_invalid`, 401).
    SignatureInvalid,
    /// The nonce store is full, so a replay could not be ruled out; the
    /// request is refused rather than risk one (`temporarily_unavailable`, 503).
    NonceStoreFull,
}

impl Problem {
    /// The `oauth_problem` name.
    pub const fn as_str(&self) -> &'static str {
        match self {
            Problem::ParameterAbsent { .. } => "parameter_absent",
            Problem::ParameterRejected { .. } => "parameter_rejected",
            Problem::VersionRejected => "version_rejected",
            Problem::SignatureMethodRejected => "signature_method_rejected",
            Problem::ConsumerKeyUnknown => "consumer_key_unknown",
            Problem::TokenRejected => "token_rejected",
            Problem::TimestampRefused => "timestamp_refused",
            Problem::NonceUsed => "nonce_used",
            Problem::SignatureInvalid => "signature_invalid",
            Problem::NonceStoreFull => "temporarily_unavailable",
        }
    }

    /// The HTTP status to answer with (RFC 5849 §3.2).
    pub const fn http_status(&self) -> u16 {
        match self {
            Problem::ParameterAbsent { .. }
            | Problem::ParameterRejected { .. }
            | Problem::VersionRejected
            | Problem::SignatureMethodRejected => 400,
            Problem::NonceStoreFull => 503,
            _ => 401,
        }
    }

    /// The parameter concerned, for `oauth_parameters_absent` /
    /// `oauth_parameters_rejected`.
    pub const fn parameter(&self) -> Option<&'static str> {
        match self {
            Problem::ParameterAbsent { name } | Problem::ParameterRejected { name } => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parameter() {
            Some(name) => write!(f, "{} ({name})", self.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

impl core::error::Error for Problem {}
