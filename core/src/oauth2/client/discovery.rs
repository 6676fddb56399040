//! Finding a server's endpoints from its authorization server metadata
//! (RFC 8414 §3): one `GET` of the well-known document, whose `issuer` must
//! be exactly the issuer asked about (§3.3, against a server that answers
//! for another), and the endpoints a device client needs kept in
//! fixed-capacity strings.
//!
//! The well-known URL inserts `/.well-known/oauth-authorization-server`
//! between the issuer's authority and its path (§3.1): issuer
//! `https://as.example/tenant` → `https://as.example/.well-known/oauth-authorization-server/tenant`.
//! Only the fields read here are parsed; every other member is skipped.
//!
//! A server without that document (Auth0, Entra ID and other OpenID
//! Providers publish only OpenID Connect Discovery 1.0's) answers 404;
//! [`Discovery::after`] then gives the discovery of the same issuer's
//! `openid-configuration`, which OIDC Discovery §4.1 appends to the
//! issuer's path: `https://as.example/tenant/.well-known/openid-configuration`.
//! RFC 8414 §5 keeps that document compatible (the same members, the same
//! issuer check, OIDC Discovery §4.3). Only a 404 falls back: any other
//! status is the server's answer.

use super::{ClientError, error_from, own};
use crate::buf::{Sink, SliceWriter};
use crate::http::{Authorization, ClientRequest, Method};
use crate::json::JsonStr;
use crate::url::{Scheme, Url};
use core::fmt;

/// The path segment RFC 8414 §3.1 registers.
const WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// The path OpenID Connect Discovery 1.0 §4.1 appends to the issuer.
const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// Which metadata document a [`Discovery`] fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WellKnown {
    /// RFC 8414 §3.1's `oauth-authorization-server`, tried first.
    OAuthAuthorizationServer,
    /// OpenID Connect Discovery 1.0 §4.1's `openid-configuration`.
    OpenIdConfiguration,
}

/// Why an issuer or an endpoint URL is refused.
fn url_error(_: crate::url::UrlError) -> ClientError {
    ClientError::InvalidUrl
}

/// Discovery for one issuer.
#[derive(Debug, Clone, Copy)]
pub struct Discovery<'c> {
    issuer: &'c str,
    url: Url<'c>,
    document: WellKnown,
}

impl<'c> Discovery<'c> {
    /// Discovery of `issuer`: an absolute `http`/`https` URL without query
    /// or fragment (RFC 8414 §2). Otherwise [`ClientError::InvalidUrl`].
    pub fn new(issuer: &'c str) -> Result<Self, ClientError> {
        let url = Url::parse(issuer).map_err(url_error)?;
        if url.query.is_some() || issuer.contains('#') {
            return Err(ClientError::InvalidUrl);
        }
        Ok(Discovery {
            issuer,
            url,
            document: WellKnown::OAuthAuthorizationServer,
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &'c str {
        self.issuer
    }

    /// The document this discovery fetches.
    pub fn document(&self) -> WellKnown {
        self.document
    }

    /// The same issuer's discovery from `document`.
    pub fn of(self, document: WellKnown) -> Self {
        Discovery { document, ..self }
    }

    /// What to fetch after an answer of `status` that
    /// [`handle_response`](Self::handle_response) refused: the
    /// `openid-configuration` after a 404 for RFC 8414's document, else
    /// nothing (the refusal stands).
    pub fn after(&self, status: u16) -> Option<Self> {
        (status == 404 && self.document == WellKnown::OAuthAuthorizationServer)
            .then_some(self.of(WellKnown::OpenIdConfiguration))
    }

    /// The `GET` of the metadata document, its URL written into `buf`.
    pub fn request<'b>(&self, buf: &'b mut [u8]) -> Result<ClientRequest<'b>, ClientError> {
        let Url {
            scheme, host, port, ..
        } = self.url;
        let path = self.url.path.trim_end_matches('/');
        let mut w = SliceWriter::new(buf);
        for part in [scheme.as_str(), "://", host] {
            w.put(part.as_bytes());
        }
        if let Some(p) = port {
            let mut digits = [0u8; 20];
            w.put(b":");
            w.put(crate::url::write_decimal(u64::from(p), &mut digits));
        }
        match self.document {
            WellKnown::OAuthAuthorizationServer => {
                w.put(WELL_KNOWN.as_bytes());
                w.put(path.as_bytes());
            }
            WellKnown::OpenIdConfiguration => {
                w.put(path.as_bytes());
                w.put(OPENID_CONFIGURATION.as_bytes());
            }
        }
        let text = w.into_written()?;
        let text = core::str::from_utf8(text).map_err(|_| ClientError::InvalidUrl)?;
        Ok(ClientRequest {
            method: Method::Get,
            url: Url::parse(text).map_err(url_error)?,
            authorization: Authorization::None,
            form: None,
        })
    }

    /// Reads the document: the endpoints, each up to `N` bytes. Errors: the
    /// server's status, [`ClientError::Malformed`],
    /// [`ClientError::IssuerMismatch`] (§3.3),
    /// [`ClientError::MissingEndpoint`] without a
    /// `device_authorization_endpoint`, [`ClientError::InvalidUrl`] for an
    /// endpoint that is not an absolute URL with the issuer's scheme (an
    /// `https` issuer's endpoints are `https` too), or
    /// [`ClientError::Capacity`].
    pub fn handle_response<const N: usize>(
        &self,
        status: u16,
        body: &[u8],
    ) -> Result<Endpoints<N>, ClientError> {
        if status != 200 {
            return Err(error_from(status, body));
        }
        let doc = Document::parse(body)?;
        if !doc.issuer.eq_str(self.issuer) {
            return Err(ClientError::IssuerMismatch);
        }
        let device = doc
            .device_authorization_endpoint
            .ok_or(ClientError::MissingEndpoint)?;
        let endpoints = Endpoints {
            token: own(&doc.token_endpoint)?,
            device_authorization: own(&device)?,
        };
        for url in [endpoints.token(), endpoints.device_authorization()] {
            let url = url?;
            if self.url.scheme == Scheme::Https && url.scheme != Scheme::Https {
                return Err(ClientError::InvalidUrl);
            }
        }
        Ok(endpoints)
    }
}

/// The members read from the document.
struct Document<'a> {
    issuer: JsonStr<'a>,
    token_endpoint: JsonStr<'a>,
    device_authorization_endpoint: Option<JsonStr<'a>>,
}

impl<'a> Document<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, crate::json::JsonError> {
        use crate::json::{JsonError, Kind, Member};
        const MEMBERS: &[Member] = &[
            ("issuer", 0, Kind::Str),
            ("token_endpoint", 1, Kind::Str),
            ("device_authorization_endpoint", 2, Kind::Str),
        ];
        let (mut issuer, mut token, mut device) = (None, None, None);
        crate::json::parse_members(body, MEMBERS, &mut |slot, v| match slot {
            0 => issuer = v.str(),
            1 => token = v.str(),
            _ => device = v.str(),
        })?;
        Ok(Document {
            issuer: issuer.ok_or(JsonError::Malformed)?,
            token_endpoint: token.ok_or(JsonError::Malformed)?,
            device_authorization_endpoint: device,
        })
    }
}

/// The endpoints a device client uses, kept (in RAM, or in flash between
/// boots) as text of up to `N` bytes each.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoints<const N: usize> {
    token: heapless::String<N>,
    device_authorization: heapless::String<N>,
}

impl<const N: usize> fmt::Debug for Endpoints<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("token", &self.token.as_str())
            .field("device_authorization", &self.device_authorization.as_str())
            .finish()
    }
}

impl<const N: usize> Endpoints<N> {
    /// Endpoints kept from an earlier discovery (or configured): each must
    /// be an absolute `http`/`https` URL of up to `N` bytes.
    pub fn restore(token: &str, device_authorization: &str) -> Result<Self, ClientError> {
        for url in [token, device_authorization] {
            Url::parse(url).map_err(url_error)?;
        }
        let text = |t: &str| heapless::String::try_from(t).map_err(|_| ClientError::Capacity);
        Ok(Endpoints {
            token: text(token)?,
            device_authorization: text(device_authorization)?,
        })
    }

    /// `token_endpoint`, split.
    pub fn token(&self) -> Result<Url<'_>, ClientError> {
        Url::parse(&self.token).map_err(url_error)
    }

    /// `device_authorization_endpoint` (RFC 8628 §4), split.
    pub fn device_authorization(&self) -> Result<Url<'_>, ClientError> {
        Url::parse(&self.device_authorization).map_err(url_error)
    }

    /// The two URLs as text: token, device authorization.
    pub fn as_text(&self) -> (&str, &str) {
        (&self.token, &self.device_authorization)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(issuer: &str) -> std::string::String {
        target_of(issuer, WellKnown::OAuthAuthorizationServer)
    }

    fn target_of(issuer: &str, document: WellKnown) -> std::string::String {
        let mut buf = [0u8; 128];
        let mut out = [0u8; 256];
        let d = Discovery::new(issuer).unwrap().of(document);
        let req = d.request(&mut buf).unwrap();
        let bytes = req.write_to(&mut out).unwrap();
        let text = core::str::from_utf8(bytes).unwrap();
        text.lines().take(2).collect::<std::vec::Vec<_>>().join("|")
    }

    #[test]
    fn the_well_known_url_goes_between_authority_and_path() {
        // RFC 8414 §3.1's example.
        assert_eq!(
            target("https://example.com/issuer1"),
            "GET /.well-known/oauth-authorization-server/issuer1 HTTP/1.1|Host: example.com"
        );
        assert_eq!(
            target("http://192.168.69.1:8080"),
            "GET /.well-known/oauth-authorization-server HTTP/1.1|Host: 192.168.69.1:8080"
        );
        assert_eq!(
            target("https://as.example/"),
            "GET /.well-known/oauth-authorization-server HTTP/1.1|Host: as.example"
        );
        for bad in [
            "as.example",
            "https://as.example/?q",
            "https://as.example/#f",
            "ftp://x",
        ] {
            assert_eq!(
                Discovery::new(bad).err(),
                Some(ClientError::InvalidUrl),
                "{bad}"
            );
        }
    }

    #[test]
    fn openid_configuration_is_appended_to_the_issuers_path_after_a_404() {
        // OpenID Connect Discovery 1.0 §4.1's examples.
        let oidc = WellKnown::OpenIdConfiguration;
        assert_eq!(
            target_of("https://example.com", oidc),
            "GET /.well-known/openid-configuration HTTP/1.1|Host: example.com"
        );
        assert_eq!(
            target_of("https://example.com/issuer1/", oidc),
            "GET /issuer1/.well-known/openid-configuration HTTP/1.1|Host: example.com"
        );
        let d = Discovery::new("https://example.com/issuer1").unwrap();
        assert_eq!(d.document(), WellKnown::OAuthAuthorizationServer);
        let next = d.after(404).unwrap();
        assert_eq!(next.document(), oidc);
        assert_eq!(next.issuer(), "https://example.com/issuer1");
        // Only a 404, and only once.
        for status in [400, 401, 403, 500, 200] {
            assert!(d.after(status).is_none(), "{status}");
        }
        assert!(next.after(404).is_none());
        // The same document and issuer check.
        let doc = DOC.replace("https://server.example.com", "https://example.com/issuer1");
        let e = next.handle_response::<96>(200, doc.as_bytes()).unwrap();
        assert_eq!(e.as_text().0, "https://example.com/issuer1/token");
        assert_eq!(
            next.handle_response::<96>(200, DOC.as_bytes()),
            Err(ClientError::IssuerMismatch)
        );
    }

    /// RFC 8414 §3.2's example response, with RFC 8628 §4's member.
    const DOC: &str = r#"{
        "issuer": "https://server.example.com",
        "authorization_endpoint": "https://server.example.com/authorize",
        "token_endpoint": "https://server.example.com/token",
        "device_authorization_endpoint": "https://server.example.com/device_authorization",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "userinfo_endpoint": "https://server.example.com/connect/userinfo",
        "jwks_uri": "https://server.example.com/jwks.json",
        "registration_endpoint": "https://server.example.com/connect/register",
        "scopes_supported": ["openid", "profile", "email", "address", "phone", "offline_access"],
        "response_types_supported": ["code", "code token"],
        "service_documentation": "http://server.example.com/service_documentation.html",
        "ui_locales_supported": ["en-US", "en-GB", "en-CA", "fr-FR", "fr-CA"]
    }"#;

    #[test]
    fn reads_the_endpoints_and_checks_the_issuer() {
        let d = Discovery::new("https://server.example.com").unwrap();
        let e = d.handle_response::<96>(200, DOC.as_bytes()).unwrap();
        assert_eq!(
            e.as_text(),
            (
                "https://server.example.com/token",
                "https://server.example.com/device_authorization"
            )
        );
        assert_eq!(e.token().unwrap().path, "/token");
        assert_eq!(
            Endpoints::<96>::restore(e.as_text().0, e.as_text().1),
            Ok(e)
        );

        // Mix-up (§3.3): a document for another issuer, even a prefix.
        for issuer in ["https://server.example.com/", "https://evil.example"] {
            let d = Discovery::new(issuer).unwrap();
            assert_eq!(
                d.handle_response::<96>(200, DOC.as_bytes()),
                Err(ClientError::IssuerMismatch),
                "{issuer}"
            );
        }
        let no_device = DOC.replace("\"device_authorization_endpoint\"", "\"x\"");
        assert_eq!(
            d_for().handle_response::<96>(200, no_device.as_bytes()),
            Err(ClientError::MissingEndpoint)
        );
        let downgraded = DOC.replace(
            "https://server.example.com/token",
            "http://server.example.com/token",
        );
        assert_eq!(
            d_for().handle_response::<96>(200, downgraded.as_bytes()),
            Err(ClientError::InvalidUrl)
        );
        assert_eq!(
            d_for().handle_response::<16>(200, DOC.as_bytes()),
            Err(ClientError::Capacity)
        );
        assert_eq!(
            d_for().handle_response::<96>(404, b""),
            Err(ClientError::Status(404))
        );
        assert!(matches!(
            d_for().handle_response::<96>(200, b"{\"issuer\":1}"),
            Err(ClientError::Malformed(_))
        ));
        // Only the three members read are parsed: the others may be of
        // any shape (the server's full metadata parser refuses these).
        let odd = DOC.replacen(
            '{',
            r#"{"scopes_supported":5,"grant_types_supported":{"a":[1]},"#,
            1,
        );
        assert!(crate::oauth2::MetadataDocument::parse(odd.as_bytes()).is_err());
        assert_eq!(
            d_for()
                .handle_response::<96>(200, odd.as_bytes())
                .map(|e| e.as_text().0.len()),
            Ok("https://server.example.com/token".len())
        );
        // A repeated one is malformed.
        let twice = DOC.replacen(
            '{',
            r#"{"token_endpoint":"https://server.example.com/t","#,
            1,
        );
        assert!(matches!(
            d_for().handle_response::<96>(200, twice.as_bytes()),
            Err(ClientError::Malformed(_))
        ));
        assert_eq!(
            Endpoints::<96>::restore("/token", "https://a/b"),
            Err(ClientError::InvalidUrl)
        );
    }

    fn d_for() -> Discovery<'static> {
        Discovery::new("https://server.example.com").unwrap()
    }
}
