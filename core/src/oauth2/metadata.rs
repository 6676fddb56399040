//! Authorization server metadata (RFC 8414 §2, §3.2): the document served
//! at `/.well-known/oauth-authorization-server`, rendered by the server
//! ([`Metadata::render`]) and read by clients ([`MetadataDocument::parse`])
//! to find the endpoints.
//!
//! [`Metadata::new`] fills in what this core implements: response type
//! `code`, the four grant types, PKCE `S256`, client authentication
//! `client_secret_basic`, `client_secret_post` and `none`, and
//! `authorization_response_iss_parameter_supported` (RFC 9207 §3).

use super::client_auth::AuthMethod;
use super::json::{self, JsonError, JsonStr, JsonStrList};
use super::store::GrantType;
use crate::buf::BufferTooSmall;

const GRANT_TYPES: [&str; 4] = [
    GrantType::AuthorizationCode.as_str(),
    GrantType::RefreshToken.as_str(),
    GrantType::ClientCredentials.as_str(),
    GrantType::DeviceCode.as_str(),
];
const AUTH_METHODS: [&str; 3] = [
    AuthMethod::ClientSecretBasic.as_str(),
    AuthMethod::ClientSecretPost.as_str(),
    AuthMethod::None.as_str(),
];
const CONFIDENTIAL_AUTH_METHODS: [&str; 2] = [
    AuthMethod::ClientSecretBasic.as_str(),
    AuthMethod::ClientSecretPost.as_str(),
];

/// The server's metadata document (§2). Absent optional endpoints are left
/// out.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Metadata<'a> {
    /// `issuer`: the server's identifier, an `https` URL without query or
    /// fragment.
    pub issuer: &'a str,
    /// `authorization_endpoint`.
    pub authorization_endpoint: &'a str,
    /// `token_endpoint`.
    pub token_endpoint: &'a str,
    /// `device_authorization_endpoint` (RFC 8628 §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_authorization_endpoint: Option<&'a str>,
    /// `introspection_endpoint` (RFC 7662 §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub introspection_endpoint: Option<&'a str>,
    /// `revocation_endpoint` (RFC 7009 §4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<&'a str>,
    /// `scopes_supported`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub scopes_supported: &'a [&'a str],
    /// `response_types_supported`.
    pub response_types_supported: &'a [&'a str],
    /// `grant_types_supported`.
    pub grant_types_supported: &'a [&'a str],
    /// `code_challenge_methods_supported` (RFC 7636 §6.2 via RFC 8414).
    pub code_challenge_methods_supported: &'a [&'a str],
    /// `token_endpoint_auth_methods_supported`.
    pub token_endpoint_auth_methods_supported: &'a [&'a str],
    /// `introspection_endpoint_auth_methods_supported`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub introspection_endpoint_auth_methods_supported: &'a [&'a str],
    /// `revocation_endpoint_auth_methods_supported`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub revocation_endpoint_auth_methods_supported: &'a [&'a str],
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    pub authorization_response_iss_parameter_supported: bool,
    /// `userinfo_endpoint` (OpenID Connect Discovery 1.0 §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<&'a str>,
    /// `jwks_uri` (RFC 8414 §2, Discovery §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<&'a str>,
    /// `end_session_endpoint` (OpenID RP-Initiated Logout 1.0 §2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<&'a str>,
    /// `subject_types_supported` (Discovery §3).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub subject_types_supported: &'a [&'a str],
    /// `id_token_signing_alg_values_supported` (Discovery §3).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub id_token_signing_alg_values_supported: &'a [&'a str],
    /// `claims_supported` (Discovery §3).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub claims_supported: &'a [&'a str],
    /// `response_modes_supported` (Discovery §3).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub response_modes_supported: &'a [&'a str],
    /// `claims_parameter_supported`: Latch does not take a `claims`
    /// parameter (Discovery §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims_parameter_supported: Option<bool>,
    /// `request_parameter_supported`: no request objects (Discovery §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_parameter_supported: Option<bool>,
    /// `request_uri_parameter_supported` (Discovery §3; its default is
    /// `true`, so `false` is said out loud).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri_parameter_supported: Option<bool>,
}

/// The id_token signing algorithms the core can use: RS256 (through the
/// shell's signer), ES256 and EdDSA.
pub const ID_TOKEN_ALGS: [&str; 3] = ["RS256", "ES256", "EdDSA"];

impl<'a> Metadata<'a> {
    /// Metadata for a server at `issuer` with the given endpoints,
    /// advertising what the core implements (see the module docs).
    pub const fn new(
        issuer: &'a str,
        authorization_endpoint: &'a str,
        token_endpoint: &'a str,
    ) -> Self {
        Metadata {
            issuer,
            authorization_endpoint,
            token_endpoint,
            device_authorization_endpoint: None,
            introspection_endpoint: None,
            revocation_endpoint: None,
            scopes_supported: &[],
            response_types_supported: &["code"],
            grant_types_supported: &GRANT_TYPES,
            code_challenge_methods_supported: &["S256"],
            token_endpoint_auth_methods_supported: &AUTH_METHODS,
            introspection_endpoint_auth_methods_supported: &CONFIDENTIAL_AUTH_METHODS,
            revocation_endpoint_auth_methods_supported: &AUTH_METHODS,
            authorization_response_iss_parameter_supported: true,
            userinfo_endpoint: None,
            jwks_uri: None,
            end_session_endpoint: None,
            subject_types_supported: &[],
            id_token_signing_alg_values_supported: &[],
            claims_supported: &[],
            response_modes_supported: &[],
            claims_parameter_supported: None,
            request_parameter_supported: None,
            request_uri_parameter_supported: None,
        }
    }

    /// The same document for an OpenID Provider (OpenID Connect Discovery
    /// 1.0 §3): UserInfo, JWK Set and logout endpoints, `public` subjects,
    /// [`ID_TOKEN_ALGS`], [`crate::oidc::CLAIMS_SUPPORTED`], the `query`
    /// response mode, and no `claims`/`request`/`request_uri` parameters.
    pub const fn with_openid(
        self,
        userinfo_endpoint: &'a str,
        jwks_uri: &'a str,
        end_session_endpoint: &'a str,
    ) -> Self {
        Metadata {
            userinfo_endpoint: Some(userinfo_endpoint),
            jwks_uri: Some(jwks_uri),
            end_session_endpoint: Some(end_session_endpoint),
            subject_types_supported: &["public"],
            id_token_signing_alg_values_supported: &ID_TOKEN_ALGS,
            claims_supported: &crate::oidc::CLAIMS_SUPPORTED,
            response_modes_supported: &["query"],
            claims_parameter_supported: Some(false),
            request_parameter_supported: Some(false),
            request_uri_parameter_supported: Some(false),
            ..self
        }
    }

    /// Writes the JSON document.
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        json::render(self, out)
    }
}

/// A metadata document as a client reads it; strings borrow from the body.
/// Lists hold up to 16 entries.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct MetadataDocument<'a> {
    /// `issuer`.
    #[serde(borrow)]
    pub issuer: JsonStr<'a>,
    /// `authorization_endpoint` (absent for device-only servers).
    #[serde(borrow, default)]
    pub authorization_endpoint: Option<JsonStr<'a>>,
    /// `token_endpoint`.
    #[serde(borrow)]
    pub token_endpoint: JsonStr<'a>,
    /// `device_authorization_endpoint`.
    #[serde(borrow, default)]
    pub device_authorization_endpoint: Option<JsonStr<'a>>,
    /// `introspection_endpoint`.
    #[serde(borrow, default)]
    pub introspection_endpoint: Option<JsonStr<'a>>,
    /// `revocation_endpoint`.
    #[serde(borrow, default)]
    pub revocation_endpoint: Option<JsonStr<'a>>,
    /// `scopes_supported`.
    #[serde(borrow, default)]
    pub scopes_supported: JsonStrList<'a, 16>,
    /// `response_types_supported`.
    #[serde(borrow, default)]
    pub response_types_supported: JsonStrList<'a, 16>,
    /// `grant_types_supported`.
    #[serde(borrow, default)]
    pub grant_types_supported: JsonStrList<'a, 16>,
    /// `code_challenge_methods_supported`.
    #[serde(borrow, default)]
    pub code_challenge_methods_supported: JsonStrList<'a, 16>,
    /// `token_endpoint_auth_methods_supported`.
    #[serde(borrow, default)]
    pub token_endpoint_auth_methods_supported: JsonStrList<'a, 16>,
    /// `authorization_response_iss_parameter_supported`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl<'a> MetadataDocument<'a> {
    /// Parses a metadata document; unknown fields are ignored.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        json::parse(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8414 §3.2's example, in this server's shape.
    #[test]
    fn rfc8414_document() {
        let m = Metadata {
            device_authorization_endpoint: Some("https://server.example.com/device"),
            introspection_endpoint: Some("https://server.example.com/introspect"),
            revocation_endpoint: Some("https://server.example.com/revoke"),
            scopes_supported: &["openid", "profile", "email"],
            ..Metadata::new(
                "https://server.example.com",
                "https://server.example.com/authorize",
                "https://server.example.com/token",
            )
        };
        let mut out = [0u8; 2048];
        let n = m.render(&mut out).unwrap();
        let body = core::str::from_utf8(&out[..n]).unwrap();
        assert!(body.starts_with(
            r#"{"issuer":"https://server.example.com","authorization_endpoint":"https://server.example.com/authorize","token_endpoint":"https://server.example.com/token","device_authorization_endpoint":"https://server.example.com/device""#
        ));
        assert!(body.contains(r#""code_challenge_methods_supported":["S256"]"#));
        assert!(body.contains(r#""grant_types_supported":["authorization_code","refresh_token","client_credentials","urn:ietf:params:oauth:grant-type:device_code"]"#));
        assert!(body.contains(r#""token_endpoint_auth_methods_supported":["client_secret_basic","client_secret_post","none"]"#));
        let doc = MetadataDocument::parse(&out[..n]).unwrap();
        assert!(doc.issuer.eq_str("https://server.example.com"));
        assert!(
            doc.device_authorization_endpoint
                .unwrap()
                .eq_str("https://server.example.com/device")
        );
        assert!(doc.code_challenge_methods_supported.contains("S256"));
        assert!(doc.scopes_supported.contains("email"));
        assert!(doc.authorization_response_iss_parameter_supported);
        let mut small = [0u8; 16];
        assert_eq!(m.render(&mut small), Err(BufferTooSmall { required: n }));
    }

    /// RFC 8414 §3.2's own example document parses (unknown fields
    /// ignored, escaped slashes unescaped).
    #[test]
    fn rfc8414_3_2_example_parses() {
        let body = br#"{
         "issuer":
           "https://server.example.com",
         "authorization_endpoint":
           "https://server.example.com/authorize",
         "token_endpoint":
           "https:\/\/server.example.com\/token",
         "token_endpoint_auth_methods_supported":
           ["client_secret_basic", "private_key_jwt"],
         "token_endpoint_auth_signing_alg_values_supported":
           ["RS256", "ES256"],
         "userinfo_endpoint":
           "https://server.example.com/userinfo",
         "jwks_uri":
           "https://server.example.com/jwks.json",
         "registration_endpoint":
           "https://server.example.com/register",
         "scopes_supported":
           ["openid", "profile", "email", "address",
            "phone", "offline_access"],
         "response_types_supported":
           ["code", "code token"],
         "service_documentation":
           "http://server.example.com/service_documentation.html",
         "ui_locales_supported":
           ["en-US", "en-GB", "en-CA", "fr-FR", "fr-CA"]
        }"#;
        let doc = MetadataDocument::parse(body).unwrap();
        assert!(
            doc.token_endpoint
                .eq_str("https://server.example.com/token")
        );
        assert!(
            doc.token_endpoint_auth_methods_supported
                .contains("private_key_jwt")
        );
        assert_eq!(doc.scopes_supported.as_slice().len(), 6);
        assert!(doc.device_authorization_endpoint.is_none());
    }
}
