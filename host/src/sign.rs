//! `latch sign`: print the OAuth 1.0a `Authorization` header for a request.
//!
//! The command is a thin shell over [`latch_core::oauth1::Request`]: it
//! supplies the clock and the OS RNG (128 random bits for the nonce when none
//! is given) and sizes the output buffer from the core's
//! [`BufferTooSmall`](latch_core::BufferTooSmall) answer.
//!
//! A URL with raw non-ASCII characters (an IRI, as people paste them) is
//! first put in the form a browser sends on the wire — the WHATWG URL
//! Standard's serialization through the `url` crate: IDNA (punycode) for
//! the host, UTF-8 percent-encoding of the path and query — and that URL
//! is signed. ASCII URLs are signed exactly as given (spaces and control
//! characters stay errors: such a URL is not one a client would send).

use base64ct::{Base64UrlUnpadded, Encoding};
use latch_core::oauth1::{ProtocolParams, Request, Secrets, SignError, SignatureMethod};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many query and body parameters `latch sign` accepts.
pub const MAX_PARAMS: usize = 512;

/// Everything `latch sign` is told on its command line.
#[derive(Clone, Default)]
pub struct SignInput {
    /// HTTP method.
    pub method: String,
    /// Absolute URL, query included.
    pub url: String,
    /// Consumer key.
    pub consumer_key: String,
    /// Consumer secret.
    pub consumer_secret: String,
    /// Token, if any.
    pub token: Option<String>,
    /// Token secret, if any.
    pub token_secret: Option<String>,
    /// `HMAC-SHA1` (default), `HMAC-SHA256` or `PLAINTEXT`.
    pub signature_method: Option<String>,
    /// Fixed nonce; random when absent.
    pub nonce: Option<String>,
    /// Fixed timestamp; now when absent.
    pub timestamp: Option<u64>,
    /// `realm`.
    pub realm: Option<String>,
    /// `oauth_callback`.
    pub callback: Option<String>,
    /// `oauth_verifier`.
    pub verifier: Option<String>,
    /// Form-body parameters as `name=value`, raw text.
    pub body_params: Vec<String>,
    /// Whether to send `oauth_version="1.0"`.
    pub oauth_version: bool,
}

impl std::fmt::Debug for SignInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInput")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"<redacted>")
            .field("token", &self.token)
            .field(
                "token_secret",
                &self.token_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Why `latch sign` refused its input. Each renders as one line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignCmdError {
    /// `--body-param` without `=`.
    #[error("--body-param {0:?} is not of the form name=value")]
    BodyParam(String),
    /// Unknown `--signature-method`.
    #[error("unknown --signature-method {0:?} (expected HMAC-SHA1, HMAC-SHA256 or PLAINTEXT)")]
    SignatureMethod(String),
    /// `--token` without `--token-secret` or the reverse.
    #[error("--token and --token-secret must be given together")]
    TokenPair,
    /// The URL was refused.
    #[error("invalid --url: {0}")]
    Url(String),
    /// The method was refused.
    #[error("invalid --method {0:?}: must be an HTTP token such as GET or POST")]
    Method(String),
    /// Anything else the core refused.
    #[error("{0}")]
    Sign(String),
    /// The OS RNG failed.
    #[error("cannot read the OS random number generator: {0}")]
    Rng(String),
}

/// 128 random bits from the OS, base64url without padding (22 characters).
pub fn random_nonce() -> Result<String, SignCmdError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| SignCmdError::Rng(e.to_string()))?;
    Ok(Base64UrlUnpadded::encode_string(&bytes))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Parses a `--signature-method` value.
pub fn parse_signature_method(name: &str) -> Result<SignatureMethod, SignCmdError> {
    match name {
        "HMAC-SHA1" => Ok(SignatureMethod::HmacSha1),
        "HMAC-SHA256" => Ok(SignatureMethod::HmacSha256),
        "PLAINTEXT" => Ok(SignatureMethod::Plaintext),
        other => Err(SignCmdError::SignatureMethod(other.to_owned())),
    }
}

/// The URL as a client sends it: unchanged when ASCII, else the WHATWG
/// serialization (IDNA host, percent-encoded UTF-8 path and query).
pub fn wire_url(url: &str) -> Result<std::borrow::Cow<'_, str>, SignCmdError> {
    if url.is_ascii() {
        return Ok(std::borrow::Cow::Borrowed(url));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(SignCmdError::Url(
            "spaces and control characters must be percent-encoded".into(),
        ));
    }
    let parsed = url::Url::parse(url).map_err(|e| SignCmdError::Url(e.to_string()))?;
    let mut wire = parsed.as_str().to_owned();
    // The fragment never reaches the wire.
    if let Some(i) = wire.find('#') {
        wire.truncate(i);
    }
    Ok(std::borrow::Cow::Owned(wire))
}

/// Computes the `Authorization` header value for `input`.
pub fn authorization_header(input: &SignInput) -> Result<String, SignCmdError> {
    let signature_method = match &input.signature_method {
        Some(name) => parse_signature_method(name)?,
        None => SignatureMethod::HmacSha1,
    };
    let (token, token_secret) = match (&input.token, &input.token_secret) {
        (Some(t), Some(s)) => (Some(t.as_str()), s.as_str()),
        (None, None) => (None, ""),
        _ => return Err(SignCmdError::TokenPair),
    };
    let body: Vec<(&str, &str)> = input
        .body_params
        .iter()
        .map(|p| {
            p.split_once('=')
                .ok_or_else(|| SignCmdError::BodyParam(p.clone()))
        })
        .collect::<Result<_, _>>()?;
    let nonce = match &input.nonce {
        Some(n) => n.clone(),
        None => random_nonce()?,
    };
    let oauth = ProtocolParams {
        realm: input.realm.as_deref(),
        consumer_key: &input.consumer_key,
        token,
        signature_method,
        timestamp: Some(input.timestamp.unwrap_or_else(now)),
        nonce: Some(&nonce),
        callback: input.callback.as_deref(),
        verifier: input.verifier.as_deref(),
        version: input.oauth_version,
    };
    let secrets = Secrets::new(&input.consumer_secret, token_secret);

    let url = wire_url(&input.url)?;
    let mut request = Box::new(Request::<MAX_PARAMS>::new(&input.method, &url).map_err(
        |e| match e {
            SignError::Url(e) => SignCmdError::Url(e.to_string()),
            SignError::InvalidMethod => SignCmdError::Method(input.method.clone()),
            other => SignCmdError::Sign(format!("invalid --url query: {other}")),
        },
    )?);
    for (name, value) in body {
        request
            .param(name, value)
            .map_err(|e| SignCmdError::Sign(format!("--body-param: {e}")))?;
    }
    // The core reports how much room the header needs; grow and retry.
    let out = crate::server::http::try_render(|w| request.clone().sign(&oauth, &secrets, w))
        .map_err(|e| SignCmdError::Sign(e.to_string()))?;
    String::from_utf8(out).map_err(|e| SignCmdError::Sign(e.to_string()))
}
