//! Signing a request as a client (RFC 5849 §3.1–§3.5.1).
//!
//! ```
//! use latch_core::oauth1::{ProtocolParams, Request, Secrets, SignatureMethod};
//!
//! // RFC 5849 §1.2: the photo request.
//! let mut req = Request::<8>::new("GET", "http://photos.example.net/photos?file=vacation.jpg&size=original")?;
//! let oauth = ProtocolParams {
//!     token: Some("nnch734d00sl2jdk"),
//!     timestamp: Some(137131202),
//!     nonce: Some("chapoH"),
//!     realm: Some("Photos"),
//!     ..ProtocolParams::new("dpf43f3p2l4k3l03", SignatureMethod::HmacSha1)
//! };
//! let secrets = Secrets::new("kd94hf93k423kf44", "pfkkdhi9sl3r4s00");
//! let mut out = [0u8; 512];
//! let n = req.sign_to_slice(&oauth, &secrets, &mut out)?;
//! let header = core::str::from_utf8(&out[..n]).unwrap();
//! assert!(header.ends_with("oauth_signature=\"MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D\""));
//! # Ok::<(), latch_core::oauth1::SignError>(())
//! ```

use super::base_string::write_base_string;
use super::header::{realm_is_writable, write_authorization};
use super::params::{Param, ParamError, ParamList};
use super::signature::{Secrets, SignatureMethod, hmac_sign};
use crate::buf::{BufferTooSmall, Sink, SliceWriter};
use crate::text::Text;
use crate::url::{Url, UrlError, write_decimal};
use core::fmt;

/// Why a request could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SignError {
    /// The URL is not an absolute `http`/`https` URL.
    Url(UrlError),
    /// The query or form body is malformed, or there are more parameters
    /// than the request's capacity.
    Params(ParamError),
    /// The method is empty or not an HTTP token.
    InvalidMethod,
    /// The realm contains `"`, `\` or a control character.
    InvalidRealm,
    /// HMAC methods need both `oauth_timestamp` and `oauth_nonce` (§3.1).
    MissingTimestampOrNonce,
    /// The output buffer is too small.
    BufferTooSmall(BufferTooSmall),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Url(e) => e.fmt(f),
            SignError::Params(e) => e.fmt(f),
            SignError::InvalidMethod => f.write_str("HTTP method must be a non-empty token"),
            SignError::InvalidRealm => {
                f.write_str("realm must not contain '\"', '\\' or control characters")
            }
            SignError::MissingTimestampOrNonce => {
                f.write_str("HMAC signatures need oauth_timestamp and oauth_nonce")
            }
            SignError::BufferTooSmall(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for SignError {}

impl From<UrlError> for SignError {
    fn from(e: UrlError) -> Self {
        SignError::Url(e)
    }
}

impl From<ParamError> for SignError {
    fn from(e: ParamError) -> Self {
        SignError::Params(e)
    }
}

/// The protocol parameters a client sends (§3.1), given literally (they are
/// encoded when written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolParams<'a> {
    /// `realm` (§3.5.1): sent in the header, never signed.
    pub realm: Option<&'a str>,
    /// `oauth_consumer_key`.
    pub consumer_key: &'a str,
    /// `oauth_token`; absent while requesting temporary credentials.
    pub token: Option<&'a str>,
    /// `oauth_signature_method`.
    pub signature_method: SignatureMethod,
    /// `oauth_timestamp`, seconds since the epoch; may be omitted only with
    /// PLAINTEXT.
    pub timestamp: Option<u64>,
    /// `oauth_nonce`; may be omitted only with PLAINTEXT.
    pub nonce: Option<&'a str>,
    /// `oauth_callback` (§2.1), for temporary credentials.
    pub callback: Option<&'a str>,
    /// `oauth_verifier` (§2.3), for token credentials.
    pub verifier: Option<&'a str>,
    /// Whether to send the optional `oauth_version="1.0"`.
    pub version: bool,
}

impl<'a> ProtocolParams<'a> {
    /// Parameters with only the consumer key and method set.
    pub const fn new(consumer_key: &'a str, signature_method: SignatureMethod) -> Self {
        ProtocolParams {
            realm: None,
            consumer_key,
            token: None,
            signature_method,
            timestamp: None,
            nonce: None,
            callback: None,
            verifier: None,
            version: false,
        }
    }
}

/// An HTTP request about to be signed: method, URL and up to `N` query and
/// body parameters, all borrowed.
#[derive(Debug, Clone)]
pub struct Request<'a, const N: usize> {
    method: &'a str,
    url: Url<'a>,
    params: ParamList<'a, N>,
    sorted: bool,
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl<'a, const N: usize> Request<'a, N> {
    /// A request for `method` and the absolute `url`; the URL's query
    /// parameters are collected (§3.4.1.3.1).
    pub fn new(method: &'a str, url: &'a str) -> Result<Self, SignError> {
        if !is_token(method) {
            return Err(SignError::InvalidMethod);
        }
        let url = Url::parse(url)?;
        let mut params = ParamList::new();
        if let Some(q) = url.query {
            params.extend_form(q.as_bytes())?;
        }
        Ok(Request {
            method,
            url,
            params,
            sorted: false,
        })
    }

    /// Adds the parameters of an `application/x-www-form-urlencoded` body
    /// (§3.4.1.3.1: only a single-part form body is signed).
    pub fn form_body(&mut self, body: &'a [u8]) -> Result<&mut Self, SignError> {
        self.params.extend_form(body)?;
        self.sorted = false;
        Ok(self)
    }

    /// Adds one body parameter given literally (not encoded).
    pub fn param(&mut self, name: &'a str, value: &'a str) -> Result<&mut Self, SignError> {
        self.params
            .push(Param::plain(name, value))
            .map_err(|e| SignError::Params(e.into()))?;
        self.sorted = false;
        Ok(self)
    }

    /// The request's query and body parameters.
    pub fn params(&self) -> &[Param<'a>] {
        self.params.as_slice()
    }

    fn sort(&mut self) {
        if !self.sorted {
            self.params.sort();
            self.sorted = true;
        }
    }

    /// Streams the §3.4.1 signature base string for `oauth` into `sink`.
    pub fn write_base_string<S: Sink + ?Sized>(
        &mut self,
        oauth: &ProtocolParams<'_>,
        sink: &mut S,
    ) -> Result<(), SignError> {
        self.sort();
        let mut ts = [0u8; 20];
        let protocol = protocol_params(oauth, &mut ts);
        write_base_string(
            sink,
            self.method,
            &self.url,
            self.params.as_slice(),
            protocol.as_slice(),
        );
        Ok(())
    }

    /// Signs the request and streams the `Authorization` header value
    /// (`OAuth …`) into `sink`.
    pub fn sign<S: Sink + ?Sized>(
        &mut self,
        oauth: &ProtocolParams<'_>,
        secrets: &Secrets<'_>,
        sink: &mut S,
    ) -> Result<(), SignError> {
        if oauth.realm.is_some_and(|r| !realm_is_writable(r)) {
            return Err(SignError::InvalidRealm);
        }
        let method = oauth.signature_method;
        if method != SignatureMethod::Plaintext
            && (oauth.timestamp.is_none() || oauth.nonce.is_none())
        {
            return Err(SignError::MissingTimestampOrNonce);
        }
        self.sort();
        let mut ts = [0u8; 20];
        let protocol = protocol_params(oauth, &mut ts);
        let (http_method, url, params) = (self.method, &self.url, self.params.as_slice());
        let digest = hmac_sign(method, secrets, |mac| {
            write_base_string(mac, http_method, url, params, protocol.as_slice());
        });
        let mut b64 = [0u8; 44];
        let encoded = digest.as_ref().map(|d| d.base64(&mut b64));
        let signature = |out: &mut dyn Sink| match encoded {
            Some(b64) => out.put(b64),
            None => secrets.write_key(out),
        };
        write_authorization(sink, oauth.realm, protocol.as_slice(), &signature);
        Ok(())
    }

    /// Signs the request and writes the `Authorization` header value into
    /// `out`; returns its length.
    pub fn sign_to_slice(
        &mut self,
        oauth: &ProtocolParams<'_>,
        secrets: &Secrets<'_>,
        out: &mut [u8],
    ) -> Result<usize, SignError> {
        let mut w = SliceWriter::new(out);
        self.sign(oauth, secrets, &mut w)?;
        w.finish().map_err(SignError::BufferTooSmall)
    }
}

/// The protocol parameters in §3.4.1.3.2 order: their names are fixed, and
/// listed here already sorted.
fn protocol_params<'p>(oauth: &ProtocolParams<'p>, ts_buf: &'p mut [u8; 20]) -> ParamList<'p, 8> {
    let timestamp = oauth
        .timestamp
        .map(|t| core::str::from_utf8(write_decimal(t, ts_buf)).unwrap_or("0"));
    // The names as constants: their "all unreserved" scan runs at compile time.
    const NAMES: [Text<'static>; 8] = [
        Text::plain("oauth_callback"),
        Text::plain("oauth_consumer_key"),
        Text::plain("oauth_nonce"),
        Text::plain("oauth_signature_method"),
        Text::plain("oauth_timestamp"),
        Text::plain("oauth_token"),
        Text::plain("oauth_verifier"),
        Text::plain("oauth_version"),
    ];
    let values = [
        oauth.callback,
        Some(oauth.consumer_key),
        oauth.nonce,
        Some(oauth.signature_method.as_str()),
        timestamp,
        oauth.token,
        oauth.verifier,
        oauth.version.then_some("1.0"),
    ];
    let mut list = ParamList::new();
    for (name, value) in NAMES.into_iter().zip(values) {
        if let Some(value) = value {
            // Eight entries into a list of eight: cannot overflow.
            let _ = list.push(Param {
                name,
                value: Text::plain(value),
            });
        }
    }
    list
}
