//! The authorization code grant with PKCE, client side (RFC 6749 §4.1,
//! RFC 7636, RFC 9207).
//!
//! ```text
//! AuthCodeFlow::new(config)
//!   .start(rng)?                          -> AuthCodePending (fresh state + S256 verifier)
//!   .start_openid(rng)?                   the same plus a fresh OpenID `nonce`
//! AuthCodePending
//!   .write_authorize_url(sink)            send the user there, §4.1.1
//!   .state() / .verifier()  /  restore()  keep them between redirect and callback
//!   .handle_callback(query)?              -> AuthCodeReceived, §4.1.2
//! AuthCodeReceived
//!   .write_token_request(sink)            POST to the token endpoint, §4.1.3
//!   .handle_token_response(now, status, body)? -> TokenSet
//! ```
//!
//! `state` is 256 random bits, compared in constant time (§10.12). The
//! callback's `state` is checked before anything else, so a forged
//! redirect cannot even inject an error. When the configuration names the
//! issuer, the callback must carry `iss` and it must match (RFC 9207 §2.4:
//! a client that knows the issuer rejects responses without it, which is
//! what defeats mix-up attacks); without a configured issuer `iss` is not
//! checked, for servers that do not send it.
//!
//! An OpenID Connect login ([`AuthCodeFlow::start_openid`]) also draws a
//! 256-bit `nonce` (OpenID Connect Core 1.0 §3.1.2.1), sent in the
//! authorization URL and kept with `state`; the id_token must carry it back
//! ([`crate::oidc::rp`]).

use super::super::error::ErrorCode;
use super::super::pkce::CodeVerifier;
use super::super::token_material::Token;
use super::{ClientError, ClientIdentity, TokenSet, form_param};
use crate::buf::Sink;
use crate::form;
use crate::percent;
use crate::text::Text;
use crate::time::UnixTime;
use core::fmt;
use rand_core::TryCryptoRng;
use subtle::ConstantTimeEq;

/// What the client knows about the server and itself.
#[derive(Debug, Clone, Copy)]
pub struct AuthCodeConfig<'c> {
    /// Who the client is.
    pub identity: ClientIdentity<'c>,
    /// The authorization endpoint URL (may already have a query).
    pub authorization_endpoint: &'c str,
    /// The registered redirect URI.
    pub redirect_uri: &'c str,
    /// The scope to ask for, if not the server's default.
    pub scope: Option<&'c str>,
    /// The expected issuer, to check the callback's `iss` against.
    pub issuer: Option<&'c str>,
}

/// Step 1: start a login.
#[derive(Debug, Clone, Copy)]
pub struct AuthCodeFlow<'c> {
    config: AuthCodeConfig<'c>,
}

impl<'c> AuthCodeFlow<'c> {
    /// A flow with this configuration.
    pub const fn new(config: AuthCodeConfig<'c>) -> Self {
        AuthCodeFlow { config }
    }

    /// Draws a fresh `state` and PKCE verifier.
    pub fn start<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<AuthCodePending<'c>, ClientError> {
        let state = Token::generate(rng).map_err(|_| ClientError::Rng)?;
        let verifier = CodeVerifier::generate(rng).map_err(|_| ClientError::Rng)?;
        Ok(AuthCodePending {
            config: self.config,
            state: heapless::String::try_from(state.as_str()).map_err(|_| ClientError::Capacity)?,
            verifier,
            nonce: None,
        })
    }

    /// [`AuthCodeFlow::start`] for an OpenID Connect login: also draws a
    /// fresh `nonce`.
    pub fn start_openid<R: TryCryptoRng + ?Sized>(
        &self,
        rng: &mut R,
    ) -> Result<AuthCodePending<'c>, ClientError> {
        let mut pending = self.start(rng)?;
        let nonce = Token::generate(rng).map_err(|_| ClientError::Rng)?;
        pending.nonce =
            Some(heapless::String::try_from(nonce.as_str()).map_err(|_| ClientError::Capacity)?);
        Ok(pending)
    }
}

/// Step 2: the user is at the authorization server.
#[derive(Clone)]
pub struct AuthCodePending<'c> {
    config: AuthCodeConfig<'c>,
    state: heapless::String<64>,
    verifier: CodeVerifier,
    nonce: Option<heapless::String<64>>,
}

impl fmt::Debug for AuthCodePending<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCodePending")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<'c> AuthCodePending<'c> {
    /// Restores a pending login from the `state` and verifier kept between
    /// redirect and callback.
    pub fn restore(
        config: AuthCodeConfig<'c>,
        state: &str,
        verifier: &str,
    ) -> Result<Self, ClientError> {
        Ok(AuthCodePending {
            config,
            state: heapless::String::try_from(state).map_err(|_| ClientError::Capacity)?,
            verifier: CodeVerifier::new(verifier).map_err(|_| ClientError::Capacity)?,
            nonce: None,
        })
    }

    /// [`AuthCodePending::restore`] for an OpenID login, with its `nonce`.
    pub fn restore_openid(
        config: AuthCodeConfig<'c>,
        state: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Self, ClientError> {
        let mut pending = Self::restore(config, state, verifier)?;
        pending.nonce = Some(heapless::String::try_from(nonce).map_err(|_| ClientError::Capacity)?);
        Ok(pending)
    }

    /// The OpenID `nonce`, to keep server-side (`None` for plain OAuth).
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The `state` value, to keep server-side.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The PKCE verifier, to keep server-side.
    pub fn verifier(&self) -> &CodeVerifier {
        &self.verifier
    }

    /// Writes the authorization URL (§4.1.1): `response_type=code`,
    /// `client_id`, `redirect_uri`, `scope`, `state`, `nonce` (OpenID
    /// only), `code_challenge`, `code_challenge_method=S256`.
    pub fn write_authorize_url<S: Sink + ?Sized>(&self, sink: &mut S) {
        let url = self.config.authorization_endpoint;
        sink.put(url.as_bytes());
        sink.put(match url.find('?') {
            None => b"?",
            Some(_) if url.ends_with('?') || url.ends_with('&') => b"",
            Some(_) => b"&",
        });
        form_param(sink, true, "response_type", "code");
        form_param(sink, false, "client_id", self.config.identity.client_id);
        form_param(sink, false, "redirect_uri", self.config.redirect_uri);
        if let Some(scope) = self.config.scope {
            form_param(sink, false, "scope", scope);
        }
        form_param(sink, false, "state", &self.state);
        if let Some(nonce) = &self.nonce {
            form_param(sink, false, "nonce", nonce);
        }
        let challenge = self.verifier.challenge();
        sink.put(b"&code_challenge=");
        sink.put(&challenge);
        sink.put(b"&code_challenge_method=S256");
    }

    /// Reads the callback's query string (§4.1.2, §4.1.2.1). `N` bounds the
    /// code's length.
    pub fn handle_callback<const N: usize>(
        self,
        query: &[u8],
    ) -> Result<AuthCodeReceived<'c, N>, ClientError> {
        let (mut state, mut code, mut error, mut iss) = (None, None, None, None);
        for pair in form::parse(query) {
            let pair = pair.map_err(|_| ClientError::MalformedCallback)?;
            let slot = if pair.name.eq_str("state") {
                &mut state
            } else if pair.name.eq_str("code") {
                &mut code
            } else if pair.name.eq_str("error") {
                &mut error
            } else if pair.name.eq_str("iss") {
                &mut iss
            } else {
                continue;
            };
            if slot.replace(pair.value).is_some() {
                return Err(ClientError::MalformedCallback);
            }
        }
        let state: Text<'_> = state.ok_or(ClientError::StateMismatch)?;
        let presented: heapless::String<64> = state
            .to_heapless()
            .map_err(|_| ClientError::StateMismatch)?;
        if !bool::from(presented.as_bytes().ct_eq(self.state.as_bytes())) {
            return Err(ClientError::StateMismatch);
        }
        if let Some(expected) = self.config.issuer
            && !iss.is_some_and(|iss| iss.eq_str(expected))
        {
            return Err(ClientError::IssuerMismatch);
        }
        if let Some(error) = error {
            let mut buf = [0u8; 32];
            let code = error.decode(&mut buf).ok().and_then(ErrorCode::from_name);
            return Err(ClientError::Authorization(code));
        }
        let code: Text<'_> = code.ok_or(ClientError::MalformedCallback)?;
        Ok(AuthCodeReceived {
            config: self.config,
            code: code.to_heapless().map_err(|_| ClientError::Capacity)?,
            verifier: self.verifier,
            nonce: self.nonce,
        })
    }
}

/// Step 3: exchange the code.
#[derive(Clone)]
pub struct AuthCodeReceived<'c, const N: usize> {
    config: AuthCodeConfig<'c>,
    code: heapless::String<N>,
    verifier: CodeVerifier,
    nonce: Option<heapless::String<64>>,
}

impl<const N: usize> fmt::Debug for AuthCodeReceived<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthCodeReceived")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> AuthCodeReceived<'_, N> {
    /// The OpenID `nonce` the id_token must carry (`None` for plain OAuth).
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// Writes the token request body (§4.1.3, RFC 7636 §4.5); send it with
    /// the identity's `Authorization` header, if any.
    pub fn write_token_request<S: Sink + ?Sized>(&self, sink: &mut S) {
        form_param(sink, true, "grant_type", "authorization_code");
        form_param(sink, false, "code", &self.code);
        form_param(sink, false, "redirect_uri", self.config.redirect_uri);
        sink.put(b"&code_verifier=");
        percent::encode_into(self.verifier.as_str().as_bytes(), sink);
        self.config.identity.write_body_params(sink);
    }

    /// Writes the `Authorization` header value, if the client has a secret.
    pub fn write_authorization<S: Sink + ?Sized>(&self, sink: &mut S) -> bool {
        self.config.identity.write_authorization(sink)
    }

    /// Reads the token endpoint's answer received at `now`.
    pub fn handle_token_response(
        self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<TokenSet<N>, ClientError> {
        TokenSet::from_response(now, status, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;
    use crate::oauth2::token_material::test_rng::{Broken, TestRng};

    const CONFIG: AuthCodeConfig<'static> = AuthCodeConfig {
        identity: ClientIdentity::public("s6BhdRkqt3"),
        authorization_endpoint: "https://server.example.com/authorize",
        redirect_uri: "https://client.example.com/cb",
        scope: None,
        issuer: Some("https://server.example.com"),
    };
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    fn written(f: impl FnOnce(&mut SliceWriter<'_>)) -> std::string::String {
        let mut buf = [0u8; 512];
        let mut w = SliceWriter::new(&mut buf);
        f(&mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    // RFC 6749 §4.1.1 and §4.1.3 with RFC 7636 Appendix B's verifier:
    // `crate::oauth2::rfc_vectors`, shared with the MCU self-test.

    #[test]
    fn callback_state_is_checked_first() {
        let p = || AuthCodePending::restore(CONFIG, "xyz", VERIFIER).unwrap();
        let cases: [(&[u8], ClientError); 9] = [
            (b"code=c&state=xyZ", ClientError::StateMismatch),
            (b"code=c", ClientError::StateMismatch),
            (b"error=access_denied&state=abc", ClientError::StateMismatch),
            (
                b"error=access_denied&state=xyz&iss=https%3A%2F%2Fserver.example.com",
                ClientError::Authorization(Some(ErrorCode::AccessDenied)),
            ),
            // Error responses carry iss too (RFC 9207 §2).
            (
                b"error=access_denied&state=xyz",
                ClientError::IssuerMismatch,
            ),
            (
                b"code=c&state=xyz&iss=https%3A%2F%2Fevil.example",
                ClientError::IssuerMismatch,
            ),
            // The issuer is known, so iss is required (RFC 9207 §2.4).
            (b"code=c&state=xyz", ClientError::IssuerMismatch),
            (b"code=c&code=d&state=xyz", ClientError::MalformedCallback),
            (
                b"state=xyz&iss=https%3A%2F%2Fserver.example.com",
                ClientError::MalformedCallback,
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(p().handle_callback::<64>(query).unwrap_err(), expected);
        }
        assert!(
            p().handle_callback::<64>(b"code=c&state=xyz&iss=https%3A%2F%2Fserver.example.com")
                .is_ok()
        );
        // Without a configured issuer, iss is not required.
        let open = AuthCodeConfig {
            issuer: None,
            ..CONFIG
        };
        let p2 = AuthCodePending::restore(open, "xyz", VERIFIER).unwrap();
        assert!(p2.handle_callback::<64>(b"code=c&state=xyz").is_ok());
        assert_eq!(
            p().handle_callback::<4>(b"code=12345&state=xyz&iss=https%3A%2F%2Fserver.example.com")
                .unwrap_err(),
            ClientError::Capacity
        );
    }

    #[test]
    fn start_draws_fresh_state_and_verifier() {
        let flow = AuthCodeFlow::new(AuthCodeConfig {
            identity: ClientIdentity::confidential("s6BhdRkqt3", "gX1fBat3bV"),
            scope: Some("read write"),
            authorization_endpoint: "https://server.example.com/authorize?lang=en",
            ..CONFIG
        });
        let p = flow.start(&mut TestRng(1)).unwrap();
        assert_eq!(p.state().len(), 43);
        assert_ne!(p.state(), p.verifier().as_str());
        let url = written(|w| p.write_authorize_url(w));
        assert!(url.starts_with("https://server.example.com/authorize?lang=en&response_type=code"));
        assert!(url.contains("&scope=read%20write&"));
        let q = std::format!(
            "code=c&state={}&iss=https%3A%2F%2Fserver.example.com",
            p.state()
        );
        let r = p.handle_callback::<64>(q.as_bytes()).unwrap();
        let header = written(|w| assert!(r.write_authorization(w)));
        assert_eq!(header, "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW");
        assert!(!written(|w| r.write_token_request(w)).contains("client_id"));
        assert_eq!(flow.start(&mut Broken).unwrap_err(), ClientError::Rng);
    }

    #[test]
    fn an_openid_login_sends_and_keeps_its_nonce() {
        let flow = AuthCodeFlow::new(CONFIG);
        assert_eq!(flow.start(&mut TestRng(3)).unwrap().nonce(), None);
        let p = flow.start_openid(&mut TestRng(3)).unwrap();
        let nonce = std::string::String::from(p.nonce().unwrap());
        assert_eq!(nonce.len(), 43);
        assert_ne!(nonce, p.state());
        let url = written(|w| p.write_authorize_url(w));
        assert!(url.contains(&std::format!("&nonce={nonce}&")), "{url}");
        let restored =
            AuthCodePending::restore_openid(CONFIG, p.state(), p.verifier().as_str(), &nonce)
                .unwrap();
        let q = std::format!(
            "code=c&state={}&iss=https%3A%2F%2Fserver.example.com",
            restored.state()
        );
        let r = restored.handle_callback::<64>(q.as_bytes()).unwrap();
        assert_eq!(r.nonce(), Some(nonce.as_str()));
        assert!(!written(|w| r.write_token_request(w)).contains("nonce"));
    }
}
