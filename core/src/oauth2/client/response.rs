//! Borrowing parsers for the server's JSON answers: the token response
//! (RFC 6749 §5.1), the error response (§5.2), the device authorization
//! response (RFC 8628 §3.2) and the introspection response (RFC 7662
//! §2.2). Unknown fields are ignored; a repeated field is malformed; a
//! required one that is missing or `null` is malformed, an optional one
//! that is `null` is absent. Each is a table of the members it reads for
//! `json::parse_members`, one walker for all of them, not a serde
//! derive each (see there why).

use super::super::error::ErrorCode;
use super::super::json::{self, JsonError, JsonStr, Kind, Member};

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, Copy)]
pub struct TokenResponse<'a> {
    /// `access_token`.
    pub access_token: JsonStr<'a>,
    /// `token_type` (compared case-insensitively, RFC 6749 §5.1).
    pub token_type: JsonStr<'a>,
    /// `expires_in`, seconds.
    pub expires_in: Option<u64>,
    /// `refresh_token`.
    pub refresh_token: Option<JsonStr<'a>>,
    /// `scope`.
    pub scope: Option<JsonStr<'a>>,
}

impl<'a> TokenResponse<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        const MEMBERS: &[Member] = &[
            ("access_token", 0, Kind::Str),
            ("token_type", 1, Kind::Str),
            ("expires_in", 2, Kind::Uint),
            ("refresh_token", 3, Kind::Str),
            ("scope", 4, Kind::Str),
        ];
        let (mut access_token, mut token_type) = (None, None);
        let (mut expires_in, mut refresh_token, mut scope) = (None, None, None);
        json::parse_members(body, MEMBERS, &mut |slot, v| match slot {
            0 => access_token = v.str(),
            1 => token_type = v.str(),
            2 => expires_in = v.uint(),
            3 => refresh_token = v.str(),
            _ => scope = v.str(),
        })?;
        Ok(TokenResponse {
            access_token: access_token.ok_or(JsonError::Malformed)?,
            token_type: token_type.ok_or(JsonError::Malformed)?,
            expires_in,
            refresh_token,
            scope,
        })
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
#[derive(Debug, Clone, Copy)]
pub struct ErrorResponse<'a> {
    /// `error`.
    pub error: JsonStr<'a>,
    /// `error_description`.
    pub error_description: Option<JsonStr<'a>>,
    /// `error_uri`.
    pub error_uri: Option<JsonStr<'a>>,
}

impl<'a> ErrorResponse<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        const MEMBERS: &[Member] = &[
            ("error", 0, Kind::Str),
            ("error_description", 1, Kind::Str),
            ("error_uri", 2, Kind::Str),
        ];
        let (mut error, mut error_description, mut error_uri) = (None, None, None);
        json::parse_members(body, MEMBERS, &mut |slot, v| match slot {
            0 => error = v.str(),
            1 => error_description = v.str(),
            _ => error_uri = v.str(),
        })?;
        Ok(ErrorResponse {
            error: error.ok_or(JsonError::Malformed)?,
            error_description,
            error_uri,
        })
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
#[derive(Debug, Clone, Copy)]
pub struct DeviceAuthorizationResponse<'a> {
    /// `device_code`.
    pub device_code: JsonStr<'a>,
    /// `user_code`.
    pub user_code: JsonStr<'a>,
    /// `verification_uri` (`verification_url`, as some servers spell it,
    /// is accepted too).
    pub verification_uri: JsonStr<'a>,
    /// `verification_uri_complete`.
    pub verification_uri_complete: Option<JsonStr<'a>>,
    /// `expires_in`, seconds.
    pub expires_in: u64,
    /// `interval`, seconds (5 when absent).
    pub interval: Option<u32>,
}

impl<'a> DeviceAuthorizationResponse<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        const MEMBERS: &[Member] = &[
            ("device_code", 0, Kind::Str),
            ("user_code", 1, Kind::Str),
            ("verification_uri", 2, Kind::Str),
            ("verification_url", 2, Kind::Str),
            ("verification_uri_complete", 3, Kind::Str),
            ("expires_in", 4, Kind::Uint),
            ("interval", 5, Kind::Uint),
        ];
        let (mut device_code, mut user_code, mut verification_uri) = (None, None, None);
        let (mut complete, mut expires_in, mut interval) = (None, None, None);
        json::parse_members(body, MEMBERS, &mut |slot, v| match slot {
            0 => device_code = v.str(),
            1 => user_code = v.str(),
            2 => verification_uri = v.str(),
            3 => complete = v.str(),
            4 => expires_in = v.uint(),
            _ => interval = v.uint(),
        })?;
        Ok(DeviceAuthorizationResponse {
            device_code: device_code.ok_or(JsonError::Malformed)?,
            user_code: user_code.ok_or(JsonError::Malformed)?,
            verification_uri: verification_uri.ok_or(JsonError::Malformed)?,
            verification_uri_complete: complete,
            expires_in: expires_in.ok_or(JsonError::Malformed)?,
            interval: interval
                .map(u32::try_from)
                .transpose()
                .map_err(|_| JsonError::Malformed)?,
        })
    }
}

/// An introspection response (RFC 7662 §2.2).
#[derive(Debug, Clone, Copy, Default)]
pub struct IntrospectionDocument<'a> {
    /// `active`.
    pub active: bool,
    /// `scope`.
    pub scope: Option<JsonStr<'a>>,
    /// `client_id`.
    pub client_id: Option<JsonStr<'a>>,
    /// `username`.
    pub username: Option<JsonStr<'a>>,
    /// `token_type`.
    pub token_type: Option<JsonStr<'a>>,
    /// `exp`.
    pub exp: Option<u64>,
    /// `iat`.
    pub iat: Option<u64>,
    /// `sub`.
    pub sub: Option<JsonStr<'a>>,
}

impl<'a> IntrospectionDocument<'a> {
    /// Parses a body.
    pub fn parse(body: &'a [u8]) -> Result<Self, JsonError> {
        const MEMBERS: &[Member] = &[
            ("active", 0, Kind::Bool),
            ("scope", 1, Kind::Str),
            ("client_id", 2, Kind::Str),
            ("username", 3, Kind::Str),
            ("token_type", 4, Kind::Str),
            ("exp", 5, Kind::Uint),
            ("iat", 6, Kind::Uint),
            ("sub", 7, Kind::Str),
        ];
        let mut doc = IntrospectionDocument::default();
        let mut active = None;
        json::parse_members(body, MEMBERS, &mut |slot, v| match slot {
            0 => active = v.bool(),
            1 => doc.scope = v.str(),
            2 => doc.client_id = v.str(),
            3 => doc.username = v.str(),
            4 => doc.token_type = v.str(),
            5 => doc.exp = v.uint(),
            6 => doc.iat = v.uint(),
            _ => doc.sub = v.str(),
        })?;
        doc.active = active.ok_or(JsonError::Malformed)?;
        Ok(doc)
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
            br#"["a","b"]"#,
            br#"{"access_token":null,"token_type":"b"}"#,
            br#"{"access_token":"a","token_type":"b","expires_in":-1}"#,
            br#"{"access_token":"a","token_type":"b","expires_in":1.5}"#,
            br#"{"access_token":"a","token_type":"b","expires_in":"60"}"#,
            br#"{"access_token":"a","token_type":"b","scope":null,"scope":"x"}"#,
            br#"{"access_token":"a","token_type":"b","expires_in":18446744073709551616}"#,
        ] {
            assert_eq!(
                TokenResponse::parse(body).err(),
                Some(JsonError::Malformed),
                "{:?}",
                core::str::from_utf8(body)
            );
        }
    }

    /// What each document reads and skips: unknown members of any shape
    /// are skipped, `null` is an absent optional member, a name and its
    /// alias together are a repeated member, and a `u32` member past
    /// `u32::MAX` is malformed.
    #[test]
    fn members_read_and_skipped() {
        let r = TokenResponse::parse(
            br#"{"x":{"y":[1,{"z":null}]},"token_type":"Bearer","access_token":"a\u0041",
                "refresh_token":null,"expires_in":18446744073709551615,"n":-2.5e3,"t":true}"#,
        )
        .unwrap();
        assert!(r.access_token.eq_str("aA"));
        assert_eq!(r.access_token.raw(), "a\\u0041");
        assert!(r.is_bearer());
        assert_eq!(r.expires_in, Some(u64::MAX));
        assert!(r.refresh_token.is_none() && r.scope.is_none());

        let device = |extra: &str| {
            let body =
                std::format!(r#"{{"device_code":"d","user_code":"u","expires_in":60{extra}}}"#);
            DeviceAuthorizationResponse::parse(body.as_bytes()).map(|r| {
                (
                    r.verification_uri.raw().len(),
                    r.interval,
                    r.verification_uri_complete.is_some(),
                )
            })
        };
        assert_eq!(device(r#","verification_uri":"v""#), Ok((1, None, false)));
        assert_eq!(
            device(r#","verification_url":"vv","interval":4294967295"#),
            Ok((2, Some(u32::MAX), false))
        );
        assert_eq!(
            device(r#","verification_uri":"v","verification_uri_complete":null"#),
            Ok((1, None, false))
        );
        for bad in [
            "",
            r#","verification_uri":"v","verification_url":"v""#,
            r#","verification_uri":"v","interval":4294967296"#,
            r#","verification_uri":"v","interval":true"#,
        ] {
            assert_eq!(device(bad), Err(JsonError::Malformed), "{bad}");
        }

        let e = ErrorResponse::parse(br#"{"error_uri":"u","error":"slow_down","e":[]}"#).unwrap();
        assert_eq!(e.code(), Some(ErrorCode::SlowDown));
        assert!(e.error_uri.unwrap().eq_str("u") && e.error_description.is_none());
        assert!(ErrorResponse::parse(br#"{"error":null}"#).is_err());

        let i = IntrospectionDocument::parse(br#"{"active":false,"exp":null}"#).unwrap();
        assert!(!i.active && i.exp.is_none());
        assert!(IntrospectionDocument::parse(br#"{"active":"true"}"#).is_err());
        assert!(IntrospectionDocument::parse(br#"{"scope":"a"}"#).is_err());
    }
}
