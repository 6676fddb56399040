//! Client authentication at the token, device authorization,
//! introspection and revocation endpoints (RFC 6749 §2.3), and the client
//! side's `Authorization: Basic` header.
//!
//! * `client_secret_basic` (§2.3.1): `Authorization: Basic` with the
//!   base64 of `client_id ":" client_secret`, each first
//!   `application/x-www-form-urlencoded`-encoded (Appendix B). The base64
//!   is decoded into a caller-supplied scratch buffer, which the returned
//!   [`BasicCredentials`] borrow; padding may be omitted.
//! * `client_secret_post` (§2.3.1): `client_id` and `client_secret` in the
//!   form body.
//! * `none` (public clients, §2.1 and §3.2.1): `client_id` only.
//!
//! A secret in both the header and the body, or a body `client_id` that
//! differs from the header's, is `invalid_request` ("more than one
//! mechanism", §5.2); a body `client_id` equal to the header's is tolerated,
//! as many client libraries send it. Secrets are compared as SHA-256
//! digests in constant time; a confidential client that sends no secret, a
//! public client that sends one, a wrong secret and an unknown client are
//! all `invalid_client` with one and the same description
//! ([`AUTHENTICATION_FAILED`]), so the answer does not tell which client ids
//! exist or how they authenticate.

use super::error::{OAuthError, invalid_client, invalid_request};
use super::store::{ClientId, ClientRecord};
use super::token_material::TokenHash;
use crate::UnixTime;
use crate::buf::Sink;
use crate::percent::{self, Mode};
use crate::text::Text;
use base64ct::{Base64, Base64Unpadded, Encoding as _};

/// How a client authenticated (RFC 7591 §2 `token_endpoint_auth_method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AuthMethod {
    /// HTTP Basic with the client secret.
    ClientSecretBasic,
    /// `client_secret` in the form body.
    ClientSecretPost,
    /// No secret: a public client.
    None,
}

impl AuthMethod {
    /// The registered method name.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }
}

/// The decoded `client_id` and `client_secret` of an `Authorization:
/// Basic` header, borrowed from the caller's scratch buffer.
#[derive(Clone, Copy)]
pub struct BasicCredentials<'a> {
    /// The client identifier (still form-encoded).
    pub client_id: Text<'a>,
    /// The client secret (still form-encoded).
    pub client_secret: Text<'a>,
}

impl core::fmt::Debug for BasicCredentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

const MALFORMED_BASIC: OAuthError = invalid_client("malformed Basic credentials");

/// The one answer to every failed client authentication.
pub(crate) const AUTHENTICATION_FAILED: OAuthError = invalid_client("client authentication failed");

impl<'a> BasicCredentials<'a> {
    /// Parses an `Authorization` header value of the `Basic` scheme.
    /// `scratch` needs room for the decoded credentials (three quarters of
    /// the base64 length). Failures are `invalid_client`.
    pub fn parse(header_value: &str, scratch: &'a mut [u8]) -> Result<Self, OAuthError> {
        let token = basic_token(header_value).ok_or(MALFORMED_BASIC)?;
        // Padding is optional: choose the decoder by whether it is there.
        let decoded: &'a [u8] = if token.len() % 4 == 0 {
            Base64::decode(token, scratch)
        } else {
            Base64Unpadded::decode(token, scratch)
        }
        .map_err(|_| MALFORMED_BASIC)?;
        let colon = decoded
            .iter()
            .position(|&b| b == b':')
            .ok_or(MALFORMED_BASIC)?;
        let (id, rest) = decoded.split_at(colon);
        let secret = rest.get(1..).unwrap_or(&[]);
        if id.is_empty() {
            return Err(MALFORMED_BASIC);
        }
        Ok(BasicCredentials {
            client_id: Text::encoded(id, Mode::Form).map_err(|_| MALFORMED_BASIC)?,
            client_secret: Text::encoded(secret, Mode::Form).map_err(|_| MALFORMED_BASIC)?,
        })
    }

    /// Parses the `Authorization` header if it uses the `Basic` scheme;
    /// `None` when there is no header or it uses another scheme.
    pub fn from_header(
        authorization: Option<&str>,
        scratch: &'a mut [u8],
    ) -> Result<Option<Self>, OAuthError> {
        match authorization {
            Some(v) if is_basic(v) => Self::parse(v, scratch).map(Some),
            _ => Ok(None),
        }
    }
}

/// Whether a header value uses the `Basic` scheme (case-insensitive).
pub fn is_basic(header_value: &str) -> bool {
    let b = header_value.as_bytes();
    b.get(..5).is_some_and(|s| s.eq_ignore_ascii_case(b"Basic"))
        && matches!(b.get(5), None | Some(b' ' | b'\t'))
}

fn basic_token(header_value: &str) -> Option<&str> {
    if !is_basic(header_value) {
        return None;
    }
    let token = header_value.get(5..)?.trim_matches([' ', '\t']);
    (!token.is_empty()).then_some(token)
}

/// Who the client says it is, and how it proves it, collected from the
/// header and body of one request.
#[derive(Clone)]
pub struct ClientCredentials<'a> {
    client_id: ClientId,
    secret: Option<Text<'a>>,
    method: AuthMethod,
}

impl core::fmt::Debug for ClientCredentials<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .finish()
    }
}

impl<'a> ClientCredentials<'a> {
    /// Combines the header credentials and the body's `client_id` /
    /// `client_secret`; see the module docs.
    pub fn resolve(
        basic: Option<BasicCredentials<'a>>,
        body_client_id: Option<Text<'a>>,
        body_client_secret: Option<Text<'a>>,
    ) -> Result<Self, OAuthError> {
        let decode_id = |t: &Text<'_>| -> Result<ClientId, OAuthError> {
            t.to_heapless().map_err(|_| AUTHENTICATION_FAILED)
        };
        match (basic, body_client_id, body_client_secret) {
            (Some(_), _, Some(_)) => Err(invalid_request(
                "client credentials in both the header and the body",
            )),
            (Some(b), body_id, None) => {
                if body_id.is_some_and(|id| id != b.client_id) {
                    return Err(invalid_request(
                        "client_id in the body differs from the Authorization header",
                    ));
                }
                Ok(ClientCredentials {
                    client_id: decode_id(&b.client_id)?,
                    secret: Some(b.client_secret),
                    method: AuthMethod::ClientSecretBasic,
                })
            }
            (None, Some(id), secret) => Ok(ClientCredentials {
                client_id: decode_id(&id)?,
                secret,
                method: if secret.is_some() {
                    AuthMethod::ClientSecretPost
                } else {
                    AuthMethod::None
                },
            }),
            (None, None, Some(_)) => Err(invalid_request("client_secret without client_id")),
            (None, None, None) => Err(invalid_client("no client authentication")),
        }
    }

    /// The client identifier, to look the client up by.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How the client authenticated.
    pub fn method(&self) -> AuthMethod {
        self.method
    }

    /// Checks the credentials against the client's record at `now`
    /// (constant-time secret comparison; a rotated-out secret counts only
    /// before its [`PreviousSecret::until`]). `None` — no such client — is
    /// `invalid_client`.
    ///
    /// [`PreviousSecret::until`]: super::PreviousSecret::until
    pub fn authenticate(
        &self,
        client: Option<&ClientRecord>,
        now: UnixTime,
    ) -> Result<(), OAuthError> {
        let Some(client) = client else {
            return Err(AUTHENTICATION_FAILED);
        };
        if client.client_id != self.client_id {
            return Err(AUTHENTICATION_FAILED);
        }
        match (&client.secret_hash, self.secret) {
            (None, None) => Ok(()),
            (Some(expected), Some(presented)) => {
                let presented = TokenHash::of_text(&presented);
                // While an old secret is in its grace period both
                // comparisons run: the time taken does not tell which
                // secret matched.
                let current = presented.ct_eq(expected);
                let previous = client
                    .previous_secret
                    .filter(|p| now < p.until)
                    .is_some_and(|p| presented.ct_eq(&p.hash));
                if current | previous {
                    Ok(())
                } else {
                    Err(AUTHENTICATION_FAILED)
                }
            }
            _ => Err(AUTHENTICATION_FAILED),
        }
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64(i: u8) -> u8 {
    BASE64.get(usize::from(i & 63)).copied().unwrap_or(b'A')
}

/// Streams standard base64 (with padding) into a sink.
struct Base64Sink<'s, S: Sink + ?Sized> {
    out: &'s mut S,
    carry: [u8; 3],
    len: usize,
}

impl<S: Sink + ?Sized> Base64Sink<'_, S> {
    fn emit(&mut self) {
        let [a, b, c] = self.carry;
        let quad = [
            b64(a >> 2),
            b64(((a & 3) << 4) | (b >> 4)),
            b64(((b & 15) << 2) | (c >> 6)),
            b64(c),
        ];
        match self.len {
            3 => self.out.put(&quad),
            2 => self.out.put(&[quad[0], quad[1], quad[2], b'=']),
            1 => self.out.put(&[quad[0], quad[1], b'=', b'=']),
            _ => {}
        }
        self.carry = [0; 3];
        self.len = 0;
    }

    fn finish(mut self) {
        self.emit();
    }
}

impl<S: Sink + ?Sized> Sink for Base64Sink<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.carry.get_mut(self.len) {
                *slot = b;
                self.len = self.len.saturating_add(1);
            }
            if self.len == 3 {
                self.emit();
            }
        }
    }
}

/// Writes `Basic <base64(enc(client_id):enc(client_secret))>` — the
/// client side of `client_secret_basic` (RFC 6749 §2.3.1).
pub fn write_basic_authorization<S: Sink + ?Sized>(
    client_id: &str,
    client_secret: &str,
    sink: &mut S,
) {
    sink.put(b"Basic ");
    let mut b = Base64Sink {
        out: sink,
        carry: [0; 3],
        len: 0,
    };
    percent::encode_into(client_id.as_bytes(), &mut b);
    b.put(b":");
    percent::encode_into(client_secret.as_bytes(), &mut b);
    b.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;
    use crate::oauth2::store::GrantTypes;

    fn header(id: &str, secret: &str) -> std::string::String {
        let mut buf = [0u8; 256];
        let mut w = SliceWriter::new(&mut buf);
        write_basic_authorization(id, secret, &mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// Hardening item 2: an unknown client, a wrong secret, a missing
    /// secret and a secret from a public client get the same answer.
    #[test]
    fn client_auth_same_error_for_unknown_client_and_wrong_secret() {
        let confidential =
            ClientRecord::new("app", Some("right"), &[], "read", GrantTypes::ALL).unwrap();
        let public = ClientRecord::new("spa", None, &[], "read", GrantTypes::ALL).unwrap();
        let creds = |id: &'static str, secret: Option<&'static str>| {
            ClientCredentials::resolve(None, Some(Text::plain(id)), secret.map(Text::plain))
                .unwrap()
        };
        let render = |e: OAuthError| {
            let mut buf = [0u8; 256];
            let n = e.render(&mut buf).unwrap();
            buf[..n].to_vec()
        };
        let outcomes = [
            creds("ghost", Some("x")).authenticate(None, UnixTime(0)),
            creds("app", Some("wrong")).authenticate(Some(&confidential), UnixTime(0)),
            creds("app", None).authenticate(Some(&confidential), UnixTime(0)),
            creds("spa", Some("x")).authenticate(Some(&public), UnixTime(0)),
        ];
        let first = render(outcomes[0].unwrap_err());
        for o in outcomes {
            assert_eq!(render(o.unwrap_err()), first);
        }
        assert!(
            creds("app", Some("right"))
                .authenticate(Some(&confidential), UnixTime(0))
                .is_ok()
        );
        assert!(
            creds("spa", None)
                .authenticate(Some(&public), UnixTime(0))
                .is_ok()
        );
    }

    /// RFC 6749 §2.3.1's example header: `s6BhdRkqt3` / `gX1fBat3bV`.
    #[test]
    fn rfc6749_basic_example() {
        assert_eq!(
            header("s6BhdRkqt3", "gX1fBat3bV"),
            "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"
        );
        let mut scratch = [0u8; 64];
        let c =
            BasicCredentials::parse("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut scratch).unwrap();
        assert!(c.client_id.eq_str("s6BhdRkqt3"));
        assert!(c.client_secret.eq_str("gX1fBat3bV"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let h = header("a:b é", "p%ss:wörd+");
        let mut scratch = [0u8; 128];
        let c = BasicCredentials::parse(&h, &mut scratch).unwrap();
        assert!(c.client_id.eq_str("a:b é"));
        assert!(c.client_secret.eq_str("p%ss:wörd+"));
        // Unpadded base64 and odd scheme case are accepted.
        let mut scratch = [0u8; 64];
        assert!(BasicCredentials::parse("basic   YTpi", &mut scratch).is_ok());
        assert!(BasicCredentials::parse("BASIC YTpiYw", &mut scratch).is_ok());
        for bad in [
            "Basic",
            "Basic ",
            "Basicx YTpi",
            "Basic YWJj",
            "Basic Ojpi",
            "Basic !!!",
        ] {
            assert_eq!(
                BasicCredentials::parse(bad, &mut scratch).unwrap_err().code,
                crate::oauth2::ErrorCode::InvalidClient,
                "{bad}"
            );
        }
        let mut tiny = [0u8; 2];
        assert!(BasicCredentials::parse("Basic YTpi", &mut tiny).is_err());
        assert!(
            BasicCredentials::from_header(Some("Bearer x"), &mut scratch)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn credentials_in_header_and_body_is_invalid_request() {
        let mut scratch = [0u8; 64];
        let basic =
            BasicCredentials::parse("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW", &mut scratch).ok();
        let secret = Text::plain("gX1fBat3bV");
        let e = ClientCredentials::resolve(basic, None, Some(secret)).unwrap_err();
        assert_eq!(e.code, crate::oauth2::ErrorCode::InvalidRequest);
        let e = ClientCredentials::resolve(basic, Some(Text::plain("other")), None).unwrap_err();
        assert_eq!(e.code, crate::oauth2::ErrorCode::InvalidRequest);
        let ok = ClientCredentials::resolve(basic, Some(Text::plain("s6BhdRkqt3")), None).unwrap();
        assert_eq!(ok.method(), AuthMethod::ClientSecretBasic);
        assert_eq!(
            ClientCredentials::resolve(None, None, None)
                .unwrap_err()
                .code,
            crate::oauth2::ErrorCode::InvalidClient
        );
    }

    #[test]
    fn secrets_are_checked() {
        let conf =
            ClientRecord::new("s6BhdRkqt3", Some("gX1fBat3bV"), &[], "", GrantTypes::ALL).unwrap();
        let public = ClientRecord::new("s6BhdRkqt3", None, &[], "", GrantTypes::ALL).unwrap();
        let id = Some(Text::plain("s6BhdRkqt3"));
        let good = ClientCredentials::resolve(None, id, Some(Text::plain("gX1fBat3bV"))).unwrap();
        let bad = ClientCredentials::resolve(None, id, Some(Text::plain("gX1fBat3bW"))).unwrap();
        let none = ClientCredentials::resolve(None, id, None).unwrap();
        assert_eq!(good.method(), AuthMethod::ClientSecretPost);
        assert_eq!(good.authenticate(Some(&conf), UnixTime(0)), Ok(()));
        assert!(bad.authenticate(Some(&conf), UnixTime(0)).is_err());
        assert!(none.authenticate(Some(&conf), UnixTime(0)).is_err());
        assert_eq!(none.authenticate(Some(&public), UnixTime(0)), Ok(()));
        assert!(good.authenticate(Some(&public), UnixTime(0)).is_err());
        assert!(good.authenticate(None, UnixTime(0)).is_err());
    }

    /// After `rotate-secret --grace`, the old secret works until the
    /// grace period ends and never after; the new one works throughout.
    #[test]
    fn a_rotated_out_secret_counts_only_within_its_grace() {
        let mut conf =
            ClientRecord::new("s6BhdRkqt3", Some("new-secret"), &[], "", GrantTypes::ALL).unwrap();
        conf.previous_secret = Some(crate::oauth2::PreviousSecret {
            hash: TokenHash::of(b"gX1fBat3bV"),
            until: UnixTime(1_000),
        });
        let id = Some(Text::plain("s6BhdRkqt3"));
        let old = ClientCredentials::resolve(None, id, Some(Text::plain("gX1fBat3bV"))).unwrap();
        let new = ClientCredentials::resolve(None, id, Some(Text::plain("new-secret"))).unwrap();
        let wrong = ClientCredentials::resolve(None, id, Some(Text::plain("gX1fBat3bW"))).unwrap();
        assert_eq!(old.authenticate(Some(&conf), UnixTime(999)), Ok(()));
        assert!(old.authenticate(Some(&conf), UnixTime(1_000)).is_err());
        assert_eq!(new.authenticate(Some(&conf), UnixTime(999)), Ok(()));
        assert_eq!(new.authenticate(Some(&conf), UnixTime(5_000)), Ok(()));
        assert!(wrong.authenticate(Some(&conf), UnixTime(0)).is_err());
        let mut shown = heapless::String::<512>::new();
        core::fmt::write(&mut shown, format_args!("{conf:?}")).unwrap();
        assert!(
            !shown.contains("hash") && shown.contains("until"),
            "{shown}"
        );
    }
}
