//! Borrowing parsers for the server's JSON answers: the token response
//! (RFC 6749 §5.1), the error response (§5.2), the device authorization
//! response (RFC 8628 §3.2) and the introspection response (RFC 7662
//! §2.2). Unknown fields are ignored; a repeated field is malformed.

use super::super::error::ErrorCode;
use super::super::json::{self, JsonError, JsonStr};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct TokenResponse<'a> {
    /// `access_token`.
    #[serde(borrow)]
    pub access_token: JsonStr<'a>,
    /// `token_type` (compared case-insensitively, RFC 6749 §5.1).
    #[serde(borrow)]
    pub token_type: JsonStr<'a>,
    /// `expires_in`, seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// `refresh_token`.
    #[serde(borrow, default)]
    pub refresh_token: Option<JsonStr<'a>>,
    /// `scope`.
    #[serde(borrow, default)]
    pub scope: Option<JsonStr<'a>>,
}

impl<'a> TokenResponse<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        json::parse(body)
    }

    /// Whether `token_type` is `Bearer` (in any case).
    pub fn is_bearer(&self) -> bool {
        let mut buf = [0u8; 6];
        self.token_type
            .decode(&mut buf)
            .is_ok_and(|t| t.eq_ignore_ascii_case("bearer"))
    }
}

/// An error response (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct ErrorResponse<'a> {
    /// `error`.
    #[serde(borrow)]
    pub error: JsonStr<'a>,
    /// `error_description`.
    #[serde(borrow, default)]
    pub error_description: Option<JsonStr<'a>>,
    /// `error_uri`.
    #[serde(borrow, default)]
    pub error_uri: Option<JsonStr<'a>>,
}

impl<'a> ErrorResponse<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        json::parse(body)
    }

    /// The error code, if it is one this crate knows.
    pub fn code(&self) -> Option<ErrorCode> {
        let mut buf = [0u8; 32];
        self.error
            .decode(&mut buf)
            .ok()
            .and_then(ErrorCode::from_name)
    }
}

/// A device authorization response (RFC 8628 §3.2).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct DeviceAuthorizationResponse<'a> {
    /// `device_code`.
    #[serde(borrow)]
    pub device_code: JsonStr<'a>,
    /// `user_code`.
    #[serde(borrow)]
    pub user_code: JsonStr<'a>,
    /// `verification_uri` (`verification_url`, as some servers spell it,
    /// is accepted too).
    #[serde(borrow, alias = "verification_url")]
    pub verification_uri: JsonStr<'a>,
    /// `verification_uri_complete`.
    #[serde(borrow, default)]
    pub verification_uri_complete: Option<JsonStr<'a>>,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// `interval`, seconds (5 when absent).
    #[serde(default)]
    pub interval: Option<u32>,
}

impl<'a> DeviceAuthorizationResponse<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        json::parse(body)
    }
}

/// An introspection response (RFC 7662 §2.2).
#[derive(Debug, Clone, Copy, serde::Deserialize)]
pub struct IntrospectionDocument<'a> {
    /// `active`.
    pub active: bool,
    /// `scope`.
    #[serde(borrow, default)]
    pub scope: Option<JsonStr<'a>>,
    /// `client_id`.
    #[serde(borrow, default)]
    pub client_id: Option<JsonStr<'a>>,
    /// `username`.
    #[serde(borrow, default)]
    pub username: Option<JsonStr<'a>>,
    /// `token_type`.
    #[serde(borrow, default)]
    pub token_type: Option<JsonStr<'a>>,
    /// `exp`.
    #[serde(default)]
    pub exp: Option<u64>,
    /// `iat`.
    #[serde(default)]
    pub iat: Option<u64>,
    /// `sub`.
    #[serde(borrow, default)]
    pub sub: Option<JsonStr<'a>>,
}

impl<'a> IntrospectionDocument<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        json::parse(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6749 §5.1's example.
    #[test]
    fn rfc6749_5_1_example() {
        let body = br#"{
       "access_token":"2YotnFZFEjr1zCsicMWpAA",
       "token_type":"example",
       "expires_in":3600,
       "refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA",
       "example_parameter":"example_value"
     }"#;
        let r = TokenResponse::parse(body).unwrap();
        assert!(r.access_token.eq_str("2YotnFZFEjr1zCsicMWpAA"));
        assert!(r.token_type.eq_str("example"));
        assert!(!r.is_bearer());
        assert_eq!(r.expires_in, Some(3600));
        assert!(r.refresh_token.unwrap().eq_str("tGzv3JOkF0XG5Qx2TlKWIA"));
        assert!(r.scope.is_none());
    }

    /// RFC 6749 §5.2's example.
    #[test]
    fn rfc6749_5_2_example() {
        let e = ErrorResponse::parse(br#"{"error":"invalid_request"}"#).unwrap();
        assert_eq!(e.code(), Some(ErrorCode::InvalidRequest));
        let e = ErrorResponse::parse(br#"{"error":"made_up","error_description":"x\ny"}"#).unwrap();
        assert_eq!(e.code(), None);
        assert!(e.error_description.unwrap().eq_str("x\ny"));
    }

    /// RFC 8628 §3.2's example.
    #[test]
    fn rfc8628_3_2_example() {
        let body = br#"{
        "device_code": "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS",
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://example.com/device",
        "verification_uri_complete":
            "https://example.com/device?user_code=WDJB-MJHT",
        "expires_in": 1800,
        "interval": 5
      }"#;
        let r = DeviceAuthorizationResponse::parse(body).unwrap();
        assert!(
            r.device_code
                .eq_str("GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS")
        );
        assert!(r.user_code.eq_str("WDJB-MJHT"));
        assert!(r.verification_uri.eq_str("https://example.com/device"));
        assert_eq!(r.expires_in, 1800);
        assert_eq!(r.interval, Some(5));
        // Google's spelling, with escaped slashes.
        let r = DeviceAuthorizationResponse::parse(
            br#"{"device_code":"d","user_code":"u","verification_url":"https:\/\/g.co\/device","expires_in":1}"#,
        )
        .unwrap();
        assert!(r.verification_uri.eq_str("https://g.co/device"));
        assert_eq!(r.interval, None);
    }

    /// RFC 7662 §2.2's example.
    #[test]
    fn rfc7662_2_2_example() {
        let body = br#"{
      "active": true,
      "client_id": "l238j323ds-23ij4",
      "username": "jdoe",
      "scope": "read write dolphin",
      "sub": "Z5O3upPC88QrAjx00dis",
      "aud": "https://protected.example.net/resource",
      "iss": "https://server.example.com/",
      "exp": 1419356238,
      "iat": 1419350238,
      "extension_field": "twenty-seven"
     }"#;
        let r = IntrospectionDocument::parse(body).unwrap();
        assert!(r.active);
        assert!(r.scope.unwrap().eq_str("read write dolphin"));
        assert_eq!(r.exp, Some(1419356238));
        assert!(r.sub.unwrap().eq_str("Z5O3upPC88QrAjx00dis"));
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            &b""[..],
            b"{",
            b"[]",
            br#"{"access_token":"a"}"#,
            br#"{"access_token":"a","token_type":"b","access_token":"c"}"#,
            br#"{"access_token":"a\q","token_type":"b"}"#,
            br#"{"access_token":1,"token_type":"b"}"#,
            br#"{"access_token":"a","token_type":"b"} x"#,
        ] {
            assert!(
                TokenResponse::parse(body).is_err(),
                "{:?}",
                core::str::from_utf8(body)
            );
        }
    }
}
