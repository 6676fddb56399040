//! The token request (RFC 6749 §3.2, §4.1.3, §4.4.2, §6; RFC 7636 §4.5;
//! RFC 8628 §3.4), parsed from the form body and the optional
//! `Authorization: Basic` header.
//!
//! Checks made here, before any storage is consulted: the body is
//! well-formed; no recognised parameter is repeated (`invalid_request`,
//! §3.2); `grant_type` is present (`invalid_request`) and known
//! (`unsupported_grant_type`); the client presented itself in exactly one
//! way ([`ClientCredentials::resolve`]); the grant's required parameters
//! are present (`invalid_request`).

use super::client_auth::{BasicCredentials, ClientCredentials};
use super::error::{ErrorCode, OAuthError, invalid_request};
use super::params;
use super::store::GrantType;
use crate::text::Text;

/// The grant-specific part of a token request.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum GrantRequest<'a> {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5).
    AuthorizationCode {
        /// `code`.
        code: Text<'a>,
        /// `redirect_uri`, if sent.
        redirect_uri: Option<Text<'a>>,
        /// `code_verifier`, if sent.
        code_verifier: Option<Text<'a>>,
    },
    /// `grant_type=refresh_token` (RFC 6749 §6).
    RefreshToken {
        /// `refresh_token`.
        refresh_token: Text<'a>,
        /// `scope`, if sent: may only narrow.
        scope: Option<Text<'a>>,
    },
    /// `grant_type=client_credentials` (RFC 6749 §4.4.2).
    ClientCredentials {
        /// `scope`, if sent.
        scope: Option<Text<'a>>,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:device_code`
    /// (RFC 8628 §3.4).
    DeviceCode {
        /// `device_code`.
        device_code: Text<'a>,
    },
}

impl GrantRequest<'_> {
    /// The grant type.
    pub fn grant_type(&self) -> GrantType {
        match self {
            GrantRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            GrantRequest::RefreshToken { .. } => GrantType::RefreshToken,
            GrantRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            GrantRequest::DeviceCode { .. } => GrantType::DeviceCode,
        }
    }
}

/// A parsed token request.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    /// What is asked for.
    pub grant: GrantRequest<'a>,
    /// Who asks.
    pub client: ClientCredentials<'a>,
}

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

impl<'a> TokenRequest<'a> {
    /// Parses a token request body, with the client's `Authorization:
    /// Basic` credentials if it sent them (see
    /// [`BasicCredentials::from_header`]).
    pub fn parse(body: &'a [u8], basic: Option<BasicCredentials<'a>>) -> Result<Self, OAuthError> {
        let p = params::collect(body, &NAMES)?.no_repeats()?;
        let grant_type = p.get(0).ok_or(invalid_request("grant_type is required"))?;
        let grant_type = GrantType::from_text(&grant_type)
            .ok_or(OAuthError::new(ErrorCode::UnsupportedGrantType))?;
        let client = ClientCredentials::resolve(basic, p.get(7), p.get(8))?;
        let required = |i: usize, what: &'static str| p.get(i).ok_or(invalid_request(what));
        let grant = match grant_type {
            GrantType::AuthorizationCode => GrantRequest::AuthorizationCode {
                code: required(1, "code is required")?,
                redirect_uri: p.get(2),
                code_verifier: p.get(3),
            },
            GrantType::RefreshToken => GrantRequest::RefreshToken {
                refresh_token: required(4, "refresh_token is required")?,
                scope: p.get(5),
            },
            GrantType::ClientCredentials => GrantRequest::ClientCredentials { scope: p.get(5) },
            GrantType::DeviceCode => GrantRequest::DeviceCode {
                device_code: required(6, "device_code is required")?,
            },
        };
        Ok(TokenRequest { grant, client })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::client_auth::AuthMethod;

    fn code(e: Result<TokenRequest<'_>, OAuthError>) -> ErrorCode {
        e.unwrap_err().code
    }

    /// RFC 6749 §4.1.3's example body, with §2.3.1's Basic header.
    #[test]
    fn rfc6749_4_1_3_example() {
        let mut scratch = [0u8; 64];
        let basic =
            BasicCredentials::from_header(Some("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"), &mut scratch)
                .unwrap();
        let r = TokenRequest::parse(
            b"grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
            basic,
        )
        .unwrap();
        assert_eq!(r.client.client_id(), "s6BhdRkqt3");
        assert_eq!(r.client.method(), AuthMethod::ClientSecretBasic);
        let GrantRequest::AuthorizationCode {
            code, redirect_uri, ..
        } = r.grant
        else {
            panic!("{:?}", r.grant)
        };
        assert!(code.eq_str("SplxlOBeZQQYbYS6WxSbIA"));
        assert!(
            redirect_uri
                .unwrap()
                .eq_str("https://client.example.com/cb")
        );
    }

    /// RFC 6749 §6's example and §4.4.2's.
    #[test]
    fn rfc6749_refresh_and_client_credentials_examples() {
        let mut scratch = [0u8; 64];
        let basic =
            BasicCredentials::parse("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut scratch).ok();
        let r = TokenRequest::parse(
            b"grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA",
            basic,
        )
        .unwrap();
        assert!(
            matches!(r.grant, GrantRequest::RefreshToken { refresh_token, scope: None } if refresh_token.eq_str("tGzv3JOkF0XG5Qx2TlKWIA"))
        );
        let r = TokenRequest::parse(b"grant_type=client_credentials", basic).unwrap();
        assert_eq!(r.grant.grant_type(), GrantType::ClientCredentials);
    }

    /// RFC 8628 §3.4's example.
    #[test]
    fn rfc8628_3_4_example() {
        let r = TokenRequest::parse(
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730",
            None,
        )
        .unwrap();
        assert_eq!(r.client.method(), AuthMethod::None);
        assert_eq!(r.grant.grant_type(), GrantType::DeviceCode);
    }

    #[test]
    fn duplicate_parameter_is_invalid_request() {
        assert_eq!(
            code(TokenRequest::parse(
                b"grant_type=client_credentials&client_id=a&client_id=a",
                None
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(TokenRequest::parse(
                b"grant_type=refresh_token&grant_type=refresh_token&refresh_token=x&client_id=a",
                None
            )),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn grant_type_problems() {
        assert_eq!(
            code(TokenRequest::parse(b"client_id=a", None)),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(TokenRequest::parse(
                b"grant_type=password&client_id=a",
                None
            )),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            code(TokenRequest::parse(
                b"grant_type=authorization_code&client_id=a",
                None
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(TokenRequest::parse(b"grant_type=%zz", None)),
            ErrorCode::InvalidRequest
        );
    }
}
