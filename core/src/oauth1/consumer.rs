//! The consumer's three-legged login (RFC 5849 §2), as a sans-IO state
//! machine: each state is its own type, so a step cannot be taken out of
//! order, and each step either writes the request to send or consumes the
//! provider's answer.
//!
//! ```text
//! Login::new(config)
//!   .authorization(now, nonce, sink)      -> POST temporary-credentials URL, §2.1
//!   .handle_response(status, body)?       -> PendingAuthorization
//! PendingAuthorization
//!   .write_authorization_url(sink)        -> send the user there, §2.2
//!   .handle_callback(query)?              -> AuthorizedLogin (token + verifier checked)
//! AuthorizedLogin
//!   .authorization(now, nonce, sink)      -> POST token URL with the verifier, §2.3
//!   .handle_response(status, body)?       -> TokenCredentials
//! ```
//!
//! Responses are `application/x-www-form-urlencoded` bodies read with the
//! core's form parser; `oauth_callback_confirmed=true` is required (§2.1).
//! Tokens, secrets and verifiers are held in fixed-capacity strings of `N`
//! bytes: anything longer is [`ConsumerError::Capacity`], never a panic.
//! The pending temporary credentials can be taken apart and restored
//! ([`PendingAuthorization::parts`], [`PendingAuthorization::restore`]) so
//! a web server can keep them server-side between the redirect and the
//! callback.

use super::client::{ProtocolParams, Request, SignError};
use super::signature::{Secrets, SignatureMethod};
use crate::buf::Sink;
use crate::form;
use crate::percent;
use crate::text::Text;
use crate::time::UnixTime;
use core::fmt;
use subtle::ConstantTimeEq;

/// What the consumer knows before the login starts.
#[derive(Clone, Copy)]
pub struct ConsumerConfig<'a> {
    /// The client (consumer) key.
    pub consumer_key: &'a str,
    /// The client (consumer) secret.
    pub consumer_secret: &'a str,
    /// Temporary credential request URL (§2.1).
    pub temporary_credentials_url: &'a str,
    /// Resource owner authorization URL (§2.2).
    pub authorization_url: &'a str,
    /// Token request URL (§2.3).
    pub token_url: &'a str,
    /// Where the provider sends the user back (`oob` for out-of-band).
    pub callback: &'a str,
    /// How requests are signed.
    pub signature_method: SignatureMethod,
    /// An optional `realm` for the `Authorization` header.
    pub realm: Option<&'a str>,
}

impl fmt::Debug for ConsumerConfig<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsumerConfig")
            .field("consumer_key", &self.consumer_key)
            .field("consumer_secret", &"<redacted>")
            .field("temporary_credentials_url", &self.temporary_credentials_url)
            .field("authorization_url", &self.authorization_url)
            .field("token_url", &self.token_url)
            .field("callback", &self.callback)
            .field("signature_method", &self.signature_method)
            .finish()
    }
}

/// Why a login step failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConsumerError {
    /// The provider answered with an error status; `problem` is its
    /// `oauth_problem` when it sent one (truncated to 32 bytes).
    Provider {
        /// HTTP status.
        status: u16,
        /// `oauth_problem`, if present.
        problem: heapless::String<32>,
    },
    /// A required parameter is missing from the provider's response.
    MissingParameter(&'static str),
    /// The temporary credentials response did not say
    /// `oauth_callback_confirmed=true`.
    CallbackNotConfirmed,
    /// The callback carried an `oauth_token` other than the pending one.
    TokenMismatch,
    /// The callback or response is not a valid form-encoded string.
    Malformed,
    /// A token, secret or verifier is longer than the capacity `N`.
    Capacity,
    /// The request could not be signed (bad URL, realm, buffer too small).
    Sign(SignError),
}

impl fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsumerError::Provider { status, problem } if problem.is_empty() => {
                write!(f, "provider answered HTTP {status}")
            }
            ConsumerError::Provider { status, problem } => {
                write!(f, "provider answered HTTP {status}: {problem}")
            }
            ConsumerError::MissingParameter(p) => write!(f, "provider response lacks {p}"),
            ConsumerError::CallbackNotConfirmed => {
                f.write_str("provider did not confirm the callback (oauth_callback_confirmed)")
            }
            ConsumerError::TokenMismatch => {
                f.write_str("callback oauth_token does not match the pending request")
            }
            ConsumerError::Malformed => f.write_str("malformed form-encoded data"),
            ConsumerError::Capacity => f.write_str("token, secret or verifier too long"),
            ConsumerError::Sign(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ConsumerError {}

impl From<SignError> for ConsumerError {
    fn from(e: SignError) -> Self {
        ConsumerError::Sign(e)
    }
}

/// A credential pair (token and its secret) of capacity `N`. `Debug` hides
/// the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials<const N: usize> {
    /// The token (`oauth_token`).
    pub token: heapless::String<N>,
    /// The token secret (`oauth_token_secret`).
    pub secret: heapless::String<N>,
}

impl<const N: usize> fmt::Debug for Credentials<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The token credentials a login ends with (§2.3).
pub type TokenCredentials<const N: usize> = Credentials<N>;

fn copy_str<const N: usize>(s: &str) -> Result<heapless::String<N>, ConsumerError> {
    heapless::String::try_from(s).map_err(|_| ConsumerError::Capacity)
}

/// Reads a provider response: an error status becomes
/// [`ConsumerError::Provider`]; otherwise the token pair is taken out.
fn read_credentials<const N: usize>(
    status: u16,
    body: &[u8],
    require_confirmed: bool,
) -> Result<Credentials<N>, ConsumerError> {
    if !(200..300).contains(&status) {
        let problem = form::parse(body)
            .filter_map(Result::ok)
            .find(|p| p.name.eq_str("oauth_problem"))
            .map(|p| {
                let mut s = heapless::String::<32>::new();
                // Keep printable ASCII only: this text may end up in a log.
                for c in p.value.decoded().take(32) {
                    let c = if c.is_ascii_graphic() {
                        char::from(c)
                    } else {
                        '?'
                    };
                    let _ = s.push(c);
                }
                s
            })
            .unwrap_or_default();
        return Err(ConsumerError::Provider { status, problem });
    }
    let (mut token, mut secret, mut confirmed) = (None, None, false);
    for pair in form::parse(body) {
        let pair = pair.map_err(|_| ConsumerError::Malformed)?;
        let slot = if pair.name.eq_str("oauth_token") {
            &mut token
        } else if pair.name.eq_str("oauth_token_secret") {
            &mut secret
        } else {
            if pair.name.eq_str("oauth_callback_confirmed") {
                confirmed = pair.value.eq_str("true");
            }
            continue;
        };
        if slot.is_some() {
            return Err(ConsumerError::Malformed);
        }
        *slot = Some(pair.value);
    }
    let token: Text<'_> = token.ok_or(ConsumerError::MissingParameter("oauth_token"))?;
    let secret = secret.ok_or(ConsumerError::MissingParameter("oauth_token_secret"))?;
    if require_confirmed && !confirmed {
        return Err(ConsumerError::CallbackNotConfirmed);
    }
    Ok(Credentials {
        token: token.to_heapless().map_err(|_| ConsumerError::Capacity)?,
        secret: secret.to_heapless().map_err(|_| ConsumerError::Capacity)?,
    })
}

/// Step 1: request temporary credentials.
#[derive(Debug, Clone, Copy)]
pub struct Login<'c> {
    config: ConsumerConfig<'c>,
}

impl<'c> Login<'c> {
    /// Starts a login.
    pub const fn new(config: ConsumerConfig<'c>) -> Self {
        Login { config }
    }

    /// The request to send: `POST` to this URL, with the `Authorization`
    /// header [`authorization`](Self::authorization) writes and no body.
    pub fn url(&self) -> &'c str {
        self.config.temporary_credentials_url
    }

    /// Writes the `Authorization` header value for the temporary
    /// credentials request.
    pub fn authorization<S: Sink + ?Sized>(
        &self,
        now: UnixTime,
        nonce: &str,
        sink: &mut S,
    ) -> Result<(), ConsumerError> {
        let c = &self.config;
        let mut req = Request::<16>::new("POST", c.temporary_credentials_url)?;
        let oauth = ProtocolParams {
            realm: c.realm,
            callback: Some(c.callback),
            timestamp: Some(now.as_secs()),
            nonce: Some(nonce),
            ..ProtocolParams::new(c.consumer_key, c.signature_method)
        };
        req.sign(&oauth, &Secrets::new(c.consumer_secret, ""), sink)?;
        Ok(())
    }

    /// Reads the provider's answer; `N` bounds the token and secret length.
    pub fn handle_response<const N: usize>(
        self,
        status: u16,
        body: &[u8],
    ) -> Result<PendingAuthorization<'c, N>, ConsumerError> {
        let temporary = read_credentials::<N>(status, body, true)?;
        Ok(PendingAuthorization {
            config: self.config,
            temporary,
        })
    }
}

/// Step 2: the user is sent to the provider and comes back.
#[derive(Debug, Clone)]
pub struct PendingAuthorization<'c, const N: usize> {
    config: ConsumerConfig<'c>,
    temporary: Credentials<N>,
}

impl<'c, const N: usize> PendingAuthorization<'c, N> {
    /// Restores a pending login from the temporary credentials kept between
    /// the redirect and the callback.
    pub fn restore(
        config: ConsumerConfig<'c>,
        token: &str,
        secret: &str,
    ) -> Result<Self, ConsumerError> {
        Ok(PendingAuthorization {
            config,
            temporary: Credentials {
                token: copy_str(token)?,
                secret: copy_str(secret)?,
            },
        })
    }

    /// The temporary credentials, to keep server-side until the callback.
    pub fn parts(&self) -> &Credentials<N> {
        &self.temporary
    }

    /// Writes the authorization URL (§2.2): the configured URL with
    /// `oauth_token` added to its query.
    pub fn write_authorization_url<S: Sink + ?Sized>(&self, sink: &mut S) {
        // A fragment would swallow the added parameter: cut it off.
        let url = self.config.authorization_url;
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        sink.put(url.as_bytes());
        let sep: &[u8] = match url.find('?') {
            None => b"?",
            Some(i) if i.saturating_add(1) == url.len() || url.ends_with('&') => b"",
            Some(_) => b"&",
        };
        sink.put(sep);
        sink.put(b"oauth_token=");
        percent::encode_into(self.temporary.token.as_bytes(), sink);
    }

    /// Reads the callback's query string (§2.2): `oauth_token` must be the
    /// pending one (compared in constant time) and `oauth_verifier` present.
    pub fn handle_callback(self, query: &[u8]) -> Result<AuthorizedLogin<'c, N>, ConsumerError> {
        let (mut token, mut verifier) = (None, None);
        for pair in form::parse(query) {
            let pair = pair.map_err(|_| ConsumerError::Malformed)?;
            let slot = if pair.name.eq_str("oauth_token") {
                &mut token
            } else if pair.name.eq_str("oauth_verifier") {
                &mut verifier
            } else {
                continue;
            };
            if slot.is_some() {
                return Err(ConsumerError::Malformed);
            }
            *slot = Some(pair.value);
        }
        let token: Text<'_> = token.ok_or(ConsumerError::MissingParameter("oauth_token"))?;
        let verifier: Text<'_> =
            verifier.ok_or(ConsumerError::MissingParameter("oauth_verifier"))?;
        let presented: heapless::String<N> = token
            .to_heapless()
            .map_err(|_| ConsumerError::TokenMismatch)?;
        if !bool::from(presented.as_bytes().ct_eq(self.temporary.token.as_bytes())) {
            return Err(ConsumerError::TokenMismatch);
        }
        Ok(AuthorizedLogin {
            config: self.config,
            temporary: self.temporary,
            verifier: verifier
                .to_heapless()
                .map_err(|_| ConsumerError::Capacity)?,
        })
    }
}

/// Step 3: exchange the authorized temporary credentials for token
/// credentials.
#[derive(Clone)]
pub struct AuthorizedLogin<'c, const N: usize> {
    config: ConsumerConfig<'c>,
    temporary: Credentials<N>,
    verifier: heapless::String<N>,
}

impl<const N: usize> fmt::Debug for AuthorizedLogin<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedLogin")
            .field("temporary", &self.temporary)
            .field("verifier", &"<redacted>")
            .finish()
    }
}

impl<'c, const N: usize> AuthorizedLogin<'c, N> {
    /// The request to send: `POST` to this URL, with the header
    /// [`authorization`](Self::authorization) writes and no body.
    pub fn url(&self) -> &'c str {
        self.config.token_url
    }

    /// Writes the `Authorization` header value for the token request.
    pub fn authorization<S: Sink + ?Sized>(
        &self,
        now: UnixTime,
        nonce: &str,
        sink: &mut S,
    ) -> Result<(), ConsumerError> {
        let c = &self.config;
        let mut req = Request::<16>::new("POST", c.token_url)?;
        let oauth = ProtocolParams {
            realm: c.realm,
            token: Some(&self.temporary.token),
            verifier: Some(&self.verifier),
            timestamp: Some(now.as_secs()),
            nonce: Some(nonce),
            ..ProtocolParams::new(c.consumer_key, c.signature_method)
        };
        req.sign(
            &oauth,
            &Secrets::new(c.consumer_secret, &self.temporary.secret),
            sink,
        )?;
        Ok(())
    }

    /// Reads the provider's answer: the token credentials.
    pub fn handle_response(
        self,
        status: u16,
        body: &[u8],
    ) -> Result<TokenCredentials<N>, ConsumerError> {
        read_credentials(status, body, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;
    use crate::oauth1::AuthorizationHeader;

    /// RFC 5849 §1.2's printer, talking to photos.example.net.
    const CONFIG: ConsumerConfig<'static> = ConsumerConfig {
        consumer_key: "dpf43f3p2l4k3l03",
        consumer_secret: "kd94hf93k423kf44",
        temporary_credentials_url: "https://photos.example.net/initiate",
        authorization_url: "https://photos.example.net/authorize",
        token_url: "https://photos.example.net/token",
        callback: "http://printer.example.com/ready",
        signature_method: SignatureMethod::HmacSha1,
        realm: Some("Photos"),
    };

    fn signature(write: impl FnOnce(&mut SliceWriter<'_>)) -> std::string::String {
        let mut buf = [0u8; 1024];
        let mut w = SliceWriter::new(&mut buf);
        write(&mut w);
        let n = w.finish().unwrap();
        let header = core::str::from_utf8(&buf[..n]).unwrap();
        let h = AuthorizationHeader::parse(header).unwrap();
        let mut out = [0u8; 64];
        std::string::String::from(h.get("oauth_signature").unwrap().decode(&mut out).unwrap())
    }

    fn pending() -> PendingAuthorization<'static, 64> {
        Login::new(CONFIG)
            .handle_response(
                200,
                b"oauth_token=hh5s93j4hdidpola&oauth_token_secret=hdhd0244k9j7ao03&oauth_callback_confirmed=true",
            )
            .unwrap()
    }

    /// The whole of RFC 5849 §1.2 with the RFC's recorded responses: both
    /// signed requests carry the RFC's signatures.
    #[test]
    fn rfc5849_three_legged_login() {
        let login = Login::new(CONFIG);
        assert_eq!(
            signature(|w| login
                .authorization(UnixTime(137131200), "wIjqoS", w)
                .unwrap()),
            "74KNZJeDHnMBp0EMJ9ZHt/XKycU="
        );
        let pending = pending();
        assert_eq!(pending.parts().token, "hh5s93j4hdidpola");

        let mut url = [0u8; 128];
        let mut w = SliceWriter::new(&mut url);
        pending.write_authorization_url(&mut w);
        let n = w.finish().unwrap();
        assert_eq!(
            &url[..n],
            b"https://photos.example.net/authorize?oauth_token=hh5s93j4hdidpola"
        );

        let authorized = pending
            .handle_callback(b"oauth_token=hh5s93j4hdidpola&oauth_verifier=hfdp7dh39dks9884")
            .unwrap();
        assert_eq!(
            signature(|w| authorized
                .authorization(UnixTime(137131201), "walatlh", w)
                .unwrap()),
            "gKgrFCywp7rO0OXSjdot/IHF7IU="
        );
        let creds = authorized
            .handle_response(
                200,
                b"oauth_token=nnch734d00sl2jdk&oauth_token_secret=pfkkdhi9sl3r4s00",
            )
            .unwrap();
        assert_eq!(creds.token, "nnch734d00sl2jdk");
        assert_eq!(creds.secret, "pfkkdhi9sl3r4s00");
        assert!(!std::format!("{creds:?}").contains("pfkkdhi9sl3r4s00"));
    }

    #[test]
    fn callback_with_a_foreign_token_is_refused() {
        assert_eq!(
            pending()
                .handle_callback(b"oauth_token=someone-elses&oauth_verifier=v")
                .unwrap_err(),
            ConsumerError::TokenMismatch
        );
        assert_eq!(
            pending().handle_callback(b"oauth_verifier=v").unwrap_err(),
            ConsumerError::MissingParameter("oauth_token")
        );
        assert_eq!(
            pending()
                .handle_callback(b"oauth_token=hh5s93j4hdidpola")
                .unwrap_err(),
            ConsumerError::MissingParameter("oauth_verifier")
        );
        assert_eq!(
            pending()
                .handle_callback(b"oauth_token=hh5s93j4hdidpola&oauth_verifier=a&oauth_verifier=b")
                .unwrap_err(),
            ConsumerError::Malformed
        );
    }

    #[test]
    fn missing_callback_confirmation_is_refused() {
        let r =
            Login::new(CONFIG).handle_response::<64>(200, b"oauth_token=t&oauth_token_secret=s");
        assert_eq!(r.unwrap_err(), ConsumerError::CallbackNotConfirmed);
        let r = Login::new(CONFIG).handle_response::<64>(
            200,
            b"oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=false",
        );
        assert_eq!(r.unwrap_err(), ConsumerError::CallbackNotConfirmed);
    }

    #[test]
    fn provider_error_bodies_are_reported() {
        let r = Login::new(CONFIG).handle_response::<64>(401, b"oauth_problem=signature_invalid");
        assert_eq!(
            r.unwrap_err(),
            ConsumerError::Provider {
                status: 401,
                problem: heapless::String::try_from("signature_invalid").unwrap()
            }
        );
        let r = Login::new(CONFIG).handle_response::<64>(500, b"\xff\xfe not a form");
        assert!(matches!(
            r.unwrap_err(),
            ConsumerError::Provider { status: 500, .. }
        ));
        let r = Login::new(CONFIG).handle_response::<64>(200, b"oauth_token=%zz");
        assert_eq!(r.unwrap_err(), ConsumerError::Malformed);
    }

    #[test]
    fn over_long_tokens_are_capacity_errors() {
        let r = Login::new(CONFIG).handle_response::<8>(
            200,
            b"oauth_token=123456789&oauth_token_secret=s&oauth_callback_confirmed=true",
        );
        assert_eq!(r.unwrap_err(), ConsumerError::Capacity);
        let p = PendingAuthorization::<'_, 8>::restore(CONFIG, "t", "s").unwrap();
        assert_eq!(
            p.handle_callback(b"oauth_token=t&oauth_verifier=123456789")
                .unwrap_err(),
            ConsumerError::Capacity
        );
        assert_eq!(
            PendingAuthorization::<'_, 8>::restore(CONFIG, "123456789", "s").unwrap_err(),
            ConsumerError::Capacity
        );
    }

    #[test]
    fn authorization_url_keeps_an_existing_query() {
        let config = ConsumerConfig {
            authorization_url: "https://p.example/auth?lang=en#top",
            ..CONFIG
        };
        let p = PendingAuthorization::<'_, 32>::restore(config, "a b", "s").unwrap();
        let mut url = [0u8; 128];
        let mut w = SliceWriter::new(&mut url);
        p.write_authorization_url(&mut w);
        let n = w.finish().unwrap();
        assert_eq!(
            &url[..n],
            b"https://p.example/auth?lang=en&oauth_token=a%20b"
        );
    }
}
