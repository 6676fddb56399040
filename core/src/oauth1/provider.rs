//! The provider side: checking a signed request (RFC 5849 §3.2).
//!
//! Two steps, so that the core never does storage itself:
//!
//! 1. [`SignedRequest::parse`] collects the protocol parameters from the
//!    `Authorization` header, the form body or the query (§3.5 — from exactly
//!    one of them), refuses duplicates, checks that what the [`Endpoint`]
//!    needs is present, that `oauth_version` (if sent) is `1.0` and that the
//!    [`Policy`] allows the signature method.
//! 2. The caller looks up the secrets for [`consumer_key`](SignedRequest::consumer_key)
//!    and [`token`](SignedRequest::token) (reporting
//!    [`Problem::ConsumerKeyUnknown`] / [`Problem::TokenRejected`] itself
//!    if it has none), then calls [`SignedRequest::verify`] with the current
//!    time and its nonce store. That checks the timestamp window, the
//!    signature (constant time), and only then records the nonce — so
//!    unsigned junk cannot fill the nonce store.

use super::base_string::write_base_string;
use super::client::is_token;
use super::header::{HeaderError, checked_params};
use super::nonce::{NonceError, NonceKey, NonceStore};
use super::params::{Param, ParamError, ParamList};
use super::problem::Problem;
use super::signature::{Secrets, SignatureMethod, signature_matches};
use crate::text::Text;
use crate::time::UnixTime;
use crate::url::Url;

/// What a provider accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// How far (seconds) `oauth_timestamp` may be from `now`, either way.
    pub timestamp_window: u64,
    /// Accept `HMAC-SHA1`.
    pub allow_hmac_sha1: bool,
    /// Accept `HMAC-SHA256`.
    pub allow_hmac_sha256: bool,
    /// Accept `PLAINTEXT` (sends the secrets themselves; only over TLS).
    pub allow_plaintext: bool,
}

impl Policy {
    /// Five minutes either way; HMAC-SHA1 and HMAC-SHA256; no PLAINTEXT.
    pub const DEFAULT: Policy = Policy {
        timestamp_window: 300,
        allow_hmac_sha1: true,
        allow_hmac_sha256: true,
        allow_plaintext: false,
    };

    /// Whether `method` is accepted.
    pub const fn allows(&self, method: SignatureMethod) -> bool {
        match method {
            SignatureMethod::HmacSha1 => self.allow_hmac_sha1,
            SignatureMethod::HmacSha256 => self.allow_hmac_sha256,
            SignatureMethod::Plaintext => self.allow_plaintext,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::DEFAULT
    }
}

/// Which kind of request is being checked; decides the required parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Endpoint {
    /// §2.1: `oauth_callback` required, no `oauth_token`.
    TemporaryCredentials,
    /// §2.3: `oauth_token` and `oauth_verifier` required.
    TokenCredentials,
    /// §3: a request made with token credentials; `oauth_token` required.
    ProtectedResource,
}

/// The raw pieces of an HTTP request, as the shell received them.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The request method.
    pub method: &'a str,
    /// The absolute URL the client addressed: scheme, the `Host` header and
    /// the request target.
    pub url: &'a str,
    /// The `Authorization` header value, if any. A non-`OAuth` scheme is
    /// ignored.
    pub authorization: Option<&'a str>,
    /// The body, only when it is `application/x-www-form-urlencoded`
    /// (§3.4.1.3.1).
    pub form_body: Option<&'a [u8]>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Slots<'a> {
    consumer_key: Option<Text<'a>>,
    token: Option<Text<'a>>,
    signature_method: Option<Text<'a>>,
    signature: Option<Text<'a>>,
    timestamp: Option<Text<'a>>,
    nonce: Option<Text<'a>>,
    version: Option<Text<'a>>,
    callback: Option<Text<'a>>,
    verifier: Option<Text<'a>>,
}

impl<'a> Slots<'a> {
    /// Files a protocol parameter; duplicates are refused. Returns whether
    /// the parameter is `oauth_signature` (which is not signed).
    fn assign(&mut self, p: &Param<'a>) -> Result<bool, Problem> {
        const NAMES: [&str; 9] = [
            "oauth_consumer_key",
            "oauth_token",
            "oauth_signature_method",
            "oauth_signature",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_version",
            "oauth_callback",
            "oauth_verifier",
        ];
        // Protocol names are nearly always sent unencoded: match raw bytes,
        // and fall back to decoding only for an encoded name.
        let index = if p.name.is_verbatim() {
            NAMES.iter().position(|n| n.as_bytes() == p.name.raw())
        } else {
            NAMES.iter().position(|n| p.name.eq_str(n))
        };
        let Some(index) = index else { return Ok(false) };
        let name = NAMES.get(index).copied().unwrap_or("oauth_*");
        let slot = match index {
            0 => &mut self.consumer_key,
            1 => &mut self.token,
            2 => &mut self.signature_method,
            3 => &mut self.signature,
            4 => &mut self.timestamp,
            5 => &mut self.nonce,
            6 => &mut self.version,
            7 => &mut self.callback,
            _ => &mut self.verifier,
        };
        if slot.replace(p.value).is_some() {
            return Err(Problem::ParameterRejected { name });
        }
        Ok(index == 3)
    }
}

/// A request whose protocol parameters have been collected and checked for
/// form, waiting for its secrets; see the module docs.
///
/// `N` is the capacity for query and body parameters; up to 16
/// `Authorization` header parameters are held besides.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a, const N: usize> {
    method: &'a str,
    url: Url<'a>,
    params: ParamList<'a, N>,
    header: ParamList<'a, 16>,
    policy: Policy,
    realm: Option<&'a str>,
    consumer_key: Text<'a>,
    token: Option<Text<'a>>,
    signature_method: SignatureMethod,
    signature: Text<'a>,
    timestamp: Option<u64>,
    nonce: Option<Text<'a>>,
    callback: Option<Text<'a>>,
    verifier: Option<Text<'a>>,
}

const HEADER: u8 = 1;
const QUERY: u8 = 2;
const BODY: u8 = 4;

fn too_many(what: &'static str) -> impl Fn(ParamError) -> Problem {
    move |_| Problem::ParameterRejected { name: what }
}

fn parse_timestamp(t: &Text<'_>) -> Option<u64> {
    let mut n: u64 = 0;
    let mut any = false;
    for b in t.decoded() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n
            .checked_mul(10)?
            .checked_add(u64::from(b.wrapping_sub(b'0')))?;
        any = true;
    }
    any.then_some(n)
}

impl<'a, const N: usize> SignedRequest<'a, N> {
    /// Collects and checks the protocol parameters; see the module docs.
    pub fn parse(
        parts: RequestParts<'a>,
        endpoint: Endpoint,
        policy: Policy,
    ) -> Result<Self, Problem> {
        if !is_token(parts.method) {
            return Err(Problem::ParameterRejected {
                name: "request method",
            });
        }
        let url = Url::parse(parts.url).map_err(|_| Problem::ParameterRejected {
            name: "request URL",
        })?;
        let mut slots = Slots::default();
        let mut sources = 0u8;
        let mut realm = None;
        let mut header = ParamList::new();
        if let Some(value) = parts.authorization {
            match checked_params(value) {
                Ok(params) => {
                    for p in params {
                        let p = p.map_err(|_| Problem::ParameterRejected {
                            name: "Authorization",
                        })?;
                        if p.name.eq_str("realm") {
                            if realm.is_some() {
                                return Err(Problem::ParameterRejected { name: "realm" });
                            }
                            realm = Some(core::str::from_utf8(p.value.raw()).unwrap_or(""));
                            continue;
                        }
                        if p.name.starts_with("oauth_") {
                            sources |= HEADER;
                        }
                        if !slots.assign(&p)? {
                            header.push(p).map_err(|_| Problem::ParameterRejected {
                                name: "Authorization",
                            })?;
                        }
                    }
                }
                Err(HeaderError::NotOAuth) => {}
                Err(_) => {
                    return Err(Problem::ParameterRejected {
                        name: "Authorization",
                    });
                }
            }
        }
        let mut params = ParamList::new();
        let sources_in = [
            (url.query.map(str::as_bytes), QUERY, "query"),
            (parts.form_body, BODY, "body"),
        ];
        for (input, source, what) in sources_in {
            let Some(input) = input else { continue };
            for pair in super::params::form_pairs(input) {
                let pair = pair.map_err(|_| Problem::ParameterRejected { name: what })?;
                let p = Param {
                    name: pair.name,
                    value: pair.value,
                };
                if p.name.starts_with("oauth_") {
                    sources |= source;
                    if slots.assign(&p)? {
                        continue;
                    }
                }
                params.push(p).map_err(|e| too_many(what)(e.into()))?;
            }
        }
        if sources.count_ones() > 1 {
            // §3.5: protocol parameters must come by exactly one method.
            return Err(Problem::ParameterRejected { name: "oauth_*" });
        }

        let absent = |name| Problem::ParameterAbsent { name };
        let consumer_key = slots.consumer_key.ok_or(absent("oauth_consumer_key"))?;
        let method_name = slots
            .signature_method
            .ok_or(absent("oauth_signature_method"))?;
        let signature = slots.signature.ok_or(absent("oauth_signature"))?;
        let signature_method = SignatureMethod::from_name(&method_name)
            .filter(|m| policy.allows(*m))
            .ok_or(Problem::SignatureMethodRejected)?;
        if slots.version.is_some_and(|v| !v.eq_str("1.0")) {
            return Err(Problem::VersionRejected);
        }
        let timestamp = match slots.timestamp {
            Some(t) => Some(parse_timestamp(&t).ok_or(Problem::ParameterRejected {
                name: "oauth_timestamp",
            })?),
            None => None,
        };
        if slots.nonce.is_some_and(|n| n.is_empty()) {
            return Err(Problem::ParameterRejected {
                name: "oauth_nonce",
            });
        }
        if signature_method != SignatureMethod::Plaintext {
            timestamp.ok_or(absent("oauth_timestamp"))?;
            slots.nonce.ok_or(absent("oauth_nonce"))?;
        }
        match endpoint {
            Endpoint::TemporaryCredentials => {
                slots.callback.ok_or(absent("oauth_callback"))?;
                if slots.token.is_some() {
                    return Err(Problem::ParameterRejected {
                        name: "oauth_token",
                    });
                }
            }
            Endpoint::TokenCredentials => {
                slots.token.ok_or(absent("oauth_token"))?;
                slots.verifier.ok_or(absent("oauth_verifier"))?;
            }
            Endpoint::ProtectedResource => {
                slots.token.ok_or(absent("oauth_token"))?;
            }
        }
        params.sort();
        header.sort();
        Ok(SignedRequest {
            method: parts.method,
            url,
            params,
            header,
            policy,
            realm,
            consumer_key,
            token: slots.token,
            signature_method,
            signature,
            timestamp,
            nonce: slots.nonce,
            callback: slots.callback,
            verifier: slots.verifier,
        })
    }

    /// `oauth_consumer_key`: whose secret to look up.
    pub fn consumer_key(&self) -> Text<'a> {
        self.consumer_key
    }

    /// `oauth_token`, if sent: whose secret to look up.
    pub fn token(&self) -> Option<Text<'a>> {
        self.token
    }

    /// `oauth_callback`, if sent.
    pub fn callback(&self) -> Option<Text<'a>> {
        self.callback
    }

    /// `oauth_verifier`, if sent.
    pub fn verifier(&self) -> Option<Text<'a>> {
        self.verifier
    }

    /// `oauth_nonce`, if sent.
    pub fn nonce(&self) -> Option<Text<'a>> {
        self.nonce
    }

    /// `oauth_timestamp`, if sent.
    pub fn timestamp(&self) -> Option<u64> {
        self.timestamp
    }

    /// The signature method used.
    pub fn signature_method(&self) -> SignatureMethod {
        self.signature_method
    }

    /// The `realm` of the `Authorization` header, if any.
    pub fn realm(&self) -> Option<&'a str> {
        self.realm
    }

    /// The query and body parameters (protocol parameters included when they
    /// were sent there), in §3.4.1.3.2 order, without `oauth_signature`.
    pub fn params(&self) -> &[Param<'a>] {
        self.params.as_slice()
    }

    /// Checks timestamp, signature and nonce, in that order; see the module
    /// docs. On success the nonce has been recorded.
    pub fn verify<S: NonceStore + ?Sized>(
        &self,
        secrets: &Secrets<'_>,
        now: UnixTime,
        nonces: &mut S,
    ) -> Result<(), Problem> {
        let window = self.policy.timestamp_window;
        if self
            .timestamp
            .is_some_and(|ts| UnixTime(ts).abs_diff(now) > window)
        {
            return Err(Problem::TimestampRefused);
        }
        let (method, url, a, b) = (
            self.method,
            &self.url,
            self.params.as_slice(),
            self.header.as_slice(),
        );
        let good = signature_matches(self.signature_method, secrets, &self.signature, |mac| {
            write_base_string(mac, method, url, a, b);
        });
        if !good {
            return Err(Problem::SignatureInvalid);
        }
        if let (Some(ts), Some(nonce)) = (self.timestamp, self.nonce.as_ref()) {
            let key = NonceKey::new(&self.consumer_key, self.token.as_ref(), ts, nonce);
            let forget_after = UnixTime(ts).saturating_add(window);
            nonces
                .check_and_record(&key, forget_after, now)
                .map_err(|e| match e {
                    NonceError::Replayed => Problem::NonceUsed,
                    NonceError::Full => Problem::NonceStoreFull,
                })?;
        }
        Ok(())
    }
}
