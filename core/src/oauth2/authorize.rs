//! The authorization endpoint's decision (RFC 6749 §4.1.1–§4.1.2.1,
//! RFC 7636 §4.3–§4.4, RFC 9207, RFC 9700 §4.1).
//!
//! ```text
//! AuthorizationRequest::parse(query)?            malformed query: error page
//!   .client_id()                                 look the client up
//!   .validate(Option<&ClientRecord>, &policy)    -> ValidAuthorization | Rejection
//! ValidAuthorization                             show the consent page
//!   .next_step(session auth_time, now)           -> login form | consent form | Rejection (prompt=none)
//!   .approve_at(subject, auth_time, now, &policy, rng) -> Approval: store the code, redirect
//!   .deny()                                      -> Rejection::Redirect(access_denied)
//! ```
//!
//! Order matters (§4.1.2.1): the client and the redirect URI are checked
//! first, and their errors — unknown, missing or repeated `client_id`; a
//! `redirect_uri` that is repeated, missing while the client has several,
//! or not exactly one of the registered ones (RFC 9700 §4.1.3; the one
//! exception is a loopback `http` URI, whose port may differ from the
//! registered one, RFC 8252 §7.3: [`redirect_uri_matches`]) — become
//! [`Rejection::ErrorPage`]: a 400 page, **never a redirect**, because the
//! destination cannot be trusted. Every later error is a
//! [`Rejection::Redirect`] back to the client with `error`, the echoed
//! `state`, and `iss` (RFC 9207): another repeated parameter
//! (`invalid_request`), `response_type` other than `code`
//! (`unsupported_response_type`), a client not allowed the code grant
//! (`unauthorized_client`), a scope outside the client's
//! (`invalid_scope`), PKCE missing for a public client, malformed, or
//! `plain` (explicit or by default) for a client not allowed it
//! (`invalid_request`).
//!
//! Redirect URLs are the registered URI with `code`/`error`, `state` and
//! `iss` appended to its query (`?` or `&` as needed); values are
//! percent-encoded with only unreserved characters left bare.

// A rejection carries its redirect URI by value (a loopback URI may be the
// client's, not the registered one) and there is no allocator to box with.
#![allow(
    clippy::result_large_err,
    reason = "no allocator to box with: a rejection lives once, on the caller's stack"
)]

use super::error::{ErrorCode, OAuthError, RngError, invalid_request};
use super::params::{self, Collected};
use super::pkce::{self, ChallengeMethod};
use super::policy::Policy;
use super::scope::{self, Scope};
use super::store::{
    ClientId, ClientRecord, CodeRecord, GrantType, MAX_REDIRECT_URI, PkceChallenge, RedirectUri,
    Subject, Write,
};
use super::token_material::Token;
use crate::buf::Sink;
use crate::oidc::{OidcGrant, OidcRequest, Step};
use crate::percent;
use crate::text::Text;
use crate::time::UnixTime;
use rand_core::TryCryptoRng;

const NAMES: [&str; 14] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "request",
    "request_uri",
    "registration",
];
const RESPONSE_TYPE: usize = 0;
const CLIENT_ID: usize = 1;
const REDIRECT_URI: usize = 2;
const SCOPE: usize = 3;
const STATE: usize = 4;
const CHALLENGE: usize = 5;
const METHOD: usize = 6;
const NONCE: usize = 7;
const PROMPT: usize = 8;
const MAX_AGE: usize = 9;
const LOGIN_HINT: usize = 10;
const REQUEST: usize = 11;
const REQUEST_URI: usize = 12;
const REGISTRATION: usize = 13;

/// Whether `host` (as written in a URL) is a loopback address: an IPv4
/// literal in `127.0.0.0/8`, `[::1]`, or `localhost` (any case).
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<core::net::Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    }
    host.parse::<core::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// Whether a redirect URI the client sent matches a registered one: the
/// same string (RFC 9700 §4.1.3), or — for `http` to a loopback host —
/// the same but for the port (RFC 8252 §7.3: native apps listen on
/// whatever port they get).
pub fn redirect_uri_matches(registered: &str, sent: &str) -> bool {
    if registered == sent {
        return true;
    }
    let (Ok(r), Ok(s)) = (
        crate::url::Url::parse(registered),
        crate::url::Url::parse(sent),
    ) else {
        return false;
    };
    let fragment = |u: &str| u.bytes().any(|b| b == b'#');
    r.scheme == crate::url::Scheme::Http
        && s.scheme == crate::url::Scheme::Http
        && is_loopback_host(r.host)
        && r.host.eq_ignore_ascii_case(s.host)
        && r.path == s.path
        && r.query == s.query
        && !fragment(sent)
}

/// A parsed authorization request, not yet validated.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    params: Collected<'a, 14>,
}

/// Why an authorization request was refused; see the module docs.
#[derive(Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum Rejection<'a> {
    /// Show an error page (HTTP 400); do not redirect.
    ErrorPage(OAuthError),
    /// Redirect back to the client with the error (HTTP 302).
    Redirect(ErrorRedirect<'a>),
}

impl Rejection<'_> {
    /// The HTTP status: 400 for the error page, 302 for the redirect.
    pub fn http_status(&self) -> u16 {
        match self {
            Rejection::ErrorPage(_) => 400,
            Rejection::Redirect(_) => 302,
        }
    }

    /// The error.
    pub fn error(&self) -> OAuthError {
        match self {
            Rejection::ErrorPage(e) => *e,
            Rejection::Redirect(r) => r.error,
        }
    }
}

/// An error to deliver to the client's redirect URI (§4.1.2.1).
#[derive(Debug, Clone)]
pub struct ErrorRedirect<'a> {
    /// The validated redirect URI.
    pub redirect_uri: RedirectUri,
    /// `state` as the client sent it, to echo.
    pub state: Option<Text<'a>>,
    /// The error.
    pub error: OAuthError,
}

impl ErrorRedirect<'_> {
    /// Writes the `Location` URL: `error`, `error_description`, `state`,
    /// `iss`.
    pub fn write_location<S: Sink + ?Sized>(&self, issuer: &str, sink: &mut S) {
        let mut q = Query::start(&self.redirect_uri, sink);
        q.param(b"error", self.error.code.as_str().as_bytes());
        if let Some(d) = self.error.description {
            q.param(b"error_description", d.as_bytes());
        }
        q.state(self.state.as_ref());
        q.param(b"iss", issuer.as_bytes());
    }
}

/// Appends parameters to a URL's query.
struct Query<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    sep: &'static [u8],
}

impl<'s, S: Sink + ?Sized> Query<'s, S> {
    fn start(uri: &str, sink: &'s mut S) -> Self {
        // A fragment has no place in a redirect URI (RFC 6749 §3.1.2).
        let uri = uri.split_once('#').map_or(uri, |(u, _)| u);
        sink.put(uri.as_bytes());
        let sep: &'static [u8] = match uri.find('?') {
            None => b"?",
            Some(_) if uri.ends_with('?') || uri.ends_with('&') => b"",
            Some(_) => b"&",
        };
        Query { sink, sep }
    }

    fn name(&mut self, name: &[u8]) {
        self.sink.put(self.sep);
        self.sep = b"&";
        self.sink.put(name);
        self.sink.put(b"=");
    }

    fn param(&mut self, name: &[u8], value: &[u8]) {
        self.name(name);
        percent::encode_into(value, self.sink);
    }

    fn state(&mut self, state: Option<&Text<'_>>) {
        if let Some(state) = state {
            self.name(b"state");
            state.write_oauth_encoded(self.sink);
        }
    }
}

const fn page(code: ErrorCode, description: &'static str) -> Rejection<'static> {
    Rejection::ErrorPage(OAuthError::with(code, description))
}

impl<'a> AuthorizationRequest<'a> {
    /// Parses the query string. Only a malformed query fails here (an
    /// error page: nothing in it can be trusted).
    pub fn parse(query: &'a [u8]) -> Result<Self, Rejection<'static>> {
        let params = params::collect(query, &NAMES)
            .map_err(|_| page(ErrorCode::InvalidRequest, "malformed query string"))?;
        Ok(AuthorizationRequest { params })
    }

    /// The `client_id` to look up. Missing or repeated is an error page.
    pub fn client_id(&self) -> Result<ClientId, Rejection<'static>> {
        if self.params.is_repeated(CLIENT_ID) {
            return Err(page(ErrorCode::InvalidRequest, "client_id repeated"));
        }
        let id = self
            .params
            .get(CLIENT_ID)
            .ok_or(page(ErrorCode::InvalidRequest, "client_id missing"))?;
        id.to_heapless()
            .map_err(|_| page(ErrorCode::InvalidClient, "unknown client"))
    }

    /// `state`, if sent once.
    pub fn state(&self) -> Option<Text<'a>> {
        if self.params.is_repeated(STATE) {
            return None;
        }
        self.params.get(STATE)
    }

    /// Validates the request against the client's record (`None`: no such
    /// client); see the module docs for the order of checks. A redirect
    /// borrows its URI from the record.
    pub fn validate<'c>(
        &self,
        client: Option<&'c ClientRecord>,
        policy: &Policy,
    ) -> Result<ValidAuthorization<'a>, Rejection<'c>>
    where
        'a: 'c,
    {
        let client_id = self.client_id()?;
        let client = client
            .filter(|c| c.client_id == client_id)
            .ok_or(page(ErrorCode::InvalidClient, "unknown client"))?;
        if self.params.is_repeated(REDIRECT_URI) {
            return Err(page(ErrorCode::InvalidRequest, "redirect_uri repeated"));
        }
        let sent = self.params.get(REDIRECT_URI);
        let redirect_uri: RedirectUri = match sent {
            Some(r) => match client.redirect_uris.iter().find(|u| r.eq_str(u)) {
                Some(u) => Some(u.clone()),
                // A loopback redirect URI on another port (RFC 8252 §7.3):
                // the client's port, decoded.
                None => r.to_heapless::<MAX_REDIRECT_URI>().ok().filter(|sent| {
                    client
                        .redirect_uris
                        .iter()
                        .any(|u| redirect_uri_matches(u, sent))
                }),
            },
            None => match client.redirect_uris.as_slice() {
                [only] => Some(only.clone()),
                _ => {
                    return Err(page(ErrorCode::InvalidRequest, "redirect_uri required"));
                }
            },
        }
        .ok_or(page(
            ErrorCode::InvalidRequest,
            "redirect_uri is not registered for this client",
        ))?;
        // From here on, errors go back to the client.
        let state = self.state();
        let redirect = |error: OAuthError| {
            Rejection::Redirect(ErrorRedirect {
                redirect_uri: redirect_uri.clone(),
                state,
                error,
            })
        };
        if self.params.repeated != 0 {
            return Err(redirect(invalid_request(
                "a parameter was sent more than once",
            )));
        }
        let response_type = self
            .params
            .get(RESPONSE_TYPE)
            .ok_or(redirect(invalid_request("response_type missing")))?;
        if !response_type.eq_str("code") {
            return Err(redirect(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
            )));
        }
        if !client.grant_types.contains(GrantType::AuthorizationCode) {
            return Err(redirect(OAuthError::new(ErrorCode::UnauthorizedClient)));
        }
        let scope =
            scope::narrow(self.params.get(SCOPE).as_ref(), &client.scope).map_err(redirect)?;
        let challenge = self.challenge(client, policy).map_err(redirect)?;
        // OpenID Connect Core 1.0 §3.1.2.1: the OpenID parameters matter
        // only for an OpenID request.
        let oidc = if scope::contains(&scope, "openid") {
            // §3.1.2.6, §6, §7.2.1: what Latch does not implement is said,
            // not silently ignored.
            for (i, code) in [
                (REQUEST, ErrorCode::RequestNotSupported),
                (REQUEST_URI, ErrorCode::RequestUriNotSupported),
                (REGISTRATION, ErrorCode::RegistrationNotSupported),
            ] {
                if self.params.get(i).is_some() {
                    return Err(redirect(OAuthError::new(code)));
                }
            }
            Some(
                OidcRequest::parse(
                    self.params.get(NONCE),
                    self.params.get(PROMPT),
                    self.params.get(MAX_AGE),
                    self.params.get(LOGIN_HINT),
                )
                .map_err(redirect)?,
            )
        } else {
            None
        };
        Ok(ValidAuthorization {
            client_id,
            redirect_uri: redirect_uri.clone(),
            redirect_uri_sent: sent.is_some(),
            scope,
            state,
            challenge,
            oidc,
        })
    }

    fn challenge(
        &self,
        client: &ClientRecord,
        policy: &Policy,
    ) -> Result<Option<PkceChallenge>, OAuthError> {
        let method = self.params.get(METHOD);
        let Some(challenge) = self.params.get(CHALLENGE) else {
            if method.is_some() {
                return Err(invalid_request(
                    "code_challenge_method without code_challenge",
                ));
            }
            if client.is_public() || (policy.require_pkce_for_confidential && !client.allow_no_pkce)
            {
                return Err(invalid_request("code_challenge required"));
            }
            return Ok(None);
        };
        // RFC 7636 §4.3: absent means plain.
        let method = match method {
            None => ChallengeMethod::Plain,
            Some(m) => ChallengeMethod::from_text(&m)
                .ok_or(invalid_request("transform algorithm not supported"))?,
        };
        if method == ChallengeMethod::Plain && !client.allow_plain_pkce {
            return Err(invalid_request("code_challenge_method must be S256"));
        }
        let value: heapless::String<{ pkce::MAX_LEN }> = challenge
            .to_heapless()
            .map_err(|_| invalid_request("malformed code_challenge"))?;
        if !pkce::is_well_formed(value.as_bytes()) {
            return Err(invalid_request("malformed code_challenge"));
        }
        Ok(Some(PkceChallenge { method, value }))
    }
}

/// A request that passed validation: show the consent page, then
/// [`approve`](Self::approve) or [`deny`](Self::deny).
#[derive(Debug, Clone)]
pub struct ValidAuthorization<'a> {
    client_id: ClientId,
    redirect_uri: RedirectUri,
    redirect_uri_sent: bool,
    scope: Scope,
    state: Option<Text<'a>>,
    challenge: Option<PkceChallenge>,
    oidc: Option<OidcRequest>,
}

impl<'a> ValidAuthorization<'a> {
    /// The OpenID Connect parameters, when the scope holds `openid`.
    pub fn oidc(&self) -> Option<&OidcRequest> {
        self.oidc.as_ref()
    }

    /// What to show (OpenID Connect Core 1.0 §3.1.2.3): the login form, the
    /// consent form for the session's user (`session`: when that session's
    /// password was entered), or — for `prompt=none` — an error redirect
    /// (`login_required`, `consent_required`). A plain OAuth request logs
    /// in when there is no session and asks for consent when there is.
    pub fn next_step(
        &self,
        session: Option<UnixTime>,
        now: UnixTime,
    ) -> Result<Step, Rejection<'_>> {
        match &self.oidc {
            Some(o) => o.next_step(session, now).map_err(|e| self.reject(e)),
            None if session.is_some() => Ok(Step::Consent),
            None => Ok(Step::Login),
        }
    }

    /// The client asking.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scope that will be granted.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Where the user will be sent back.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The client's `state`.
    pub fn state(&self) -> Option<Text<'a>> {
        self.state
    }

    /// The PKCE challenge, if any.
    pub fn challenge(&self) -> Option<&PkceChallenge> {
        self.challenge.as_ref()
    }

    /// An error redirect to this request's client (for errors the caller
    /// finds itself, such as a failed consent form).
    pub fn reject(&self, error: OAuthError) -> Rejection<'_> {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state,
            error,
        })
    }

    /// The resource owner `subject` approved, having entered a password
    /// just now: [`approve_at`](Self::approve_at) with `auth_time = now`.
    pub fn approve<R: TryCryptoRng + ?Sized>(
        &self,
        subject: &str,
        now: UnixTime,
        policy: &Policy,
        rng: &mut R,
    ) -> Result<Approval<'a>, Rejection<'_>> {
        self.approve_at(subject, now, now, policy, rng)
    }

    /// The resource owner `subject`, who entered a password at
    /// `auth_time`, approved: issues a code (lifetime
    /// [`Policy::effective_code_ttl`], at most 10 minutes). An OpenID
    /// request keeps its `nonce` and `auth_time` in the code. A login older
    /// than the request allows (`prompt=login`, `max_age`) is
    /// `login_required`: the caller must ask for the password again.
    pub fn approve_at<R: TryCryptoRng + ?Sized>(
        &self,
        subject: &str,
        auth_time: UnixTime,
        now: UnixTime,
        policy: &Policy,
        rng: &mut R,
    ) -> Result<Approval<'a>, Rejection<'_>> {
        if let Some(o) = &self.oidc
            && auth_time < now
            && o.needs_fresh_login(auth_time, now)
        {
            return Err(self.reject(OAuthError::with(
                ErrorCode::LoginRequired,
                "the login is older than the request allows",
            )));
        }
        let code = match Token::generate(rng) {
            Ok(c) => c,
            Err(RngError) => return Err(self.reject(RngError.into())),
        };
        let Ok(subject) = Subject::try_from(subject) else {
            return Err(self.reject(OAuthError::with(ErrorCode::ServerError, "subject too long")));
        };
        let record = CodeRecord {
            hash: code.hash(),
            client_id: self.client_id.clone(),
            subject,
            scope: self.scope.clone(),
            redirect_uri: self.redirect_uri.clone(),
            redirect_uri_sent: self.redirect_uri_sent,
            challenge: self.challenge.clone(),
            issued_at: now,
            expires_at: now.saturating_add(policy.effective_code_ttl()),
            consumed: false,
            oidc: self.oidc.as_ref().map(|o| OidcGrant {
                nonce: o.nonce.clone(),
                auth_time,
            }),
        };
        Ok(Approval {
            code,
            record,
            state: self.state,
        })
    }

    /// The resource owner denied: redirect with `access_denied`.
    pub fn deny(&self) -> Rejection<'_> {
        self.reject(OAuthError::new(ErrorCode::AccessDenied))
    }
}

/// An approved request: store [`write`](Self::write), then redirect to
/// [`write_location`](Self::write_location).
#[derive(Debug, Clone)]
pub struct Approval<'a> {
    code: Token,
    record: CodeRecord,
    state: Option<Text<'a>>,
}

impl Approval<'_> {
    /// The code (to put in the redirect; never stored).
    pub fn code(&self) -> &Token {
        &self.code
    }

    /// The code's record.
    pub fn record(&self) -> &CodeRecord {
        &self.record
    }

    /// The write that stores the code's record.
    pub fn write(&self) -> Write {
        Write::StoreCode(self.record.clone())
    }

    /// Writes the `Location` URL: `code`, `state`, `iss` (§4.1.2,
    /// RFC 9207 §2).
    pub fn write_location<S: Sink + ?Sized>(&self, issuer: &str, sink: &mut S) {
        let mut q = Query::start(&self.record.redirect_uri, sink);
        q.param(b"code", self.code.as_str().as_bytes());
        q.state(self.state.as_ref());
        q.param(b"iss", issuer.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;
    use crate::oauth2::store::GrantTypes;
    use crate::oauth2::token_material::test_rng::TestRng;
    use std::string::String;

    const ISSUER: &str = "https://server.example.com";

    /// RFC 6749's example client: confidential and, since its examples
    /// predate PKCE, registered as a legacy client exempt from it.
    fn client() -> ClientRecord {
        let mut c = ClientRecord::new(
            "s6BhdRkqt3",
            Some("gX1fBat3bV"),
            &["https://client.example.com/cb"],
            "read write",
            GrantTypes::ALL,
        )
        .unwrap();
        c.allow_no_pkce = true;
        c
    }

    /// Hardening item 5: PKCE is required from every client by default;
    /// only a confidential client registered with `allow_no_pkce` may skip
    /// it, and a public one never may.
    #[test]
    fn pkce_for_everyone() {
        let q = "response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb";
        let mut strict = client();
        strict.allow_no_pkce = false;
        let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
        let err = req.validate(Some(&strict), &Policy::DEFAULT).unwrap_err();
        assert_eq!(err.error().code, ErrorCode::InvalidRequest);
        assert!(matches!(err, Rejection::Redirect(_)));
        assert!(req.validate(Some(&client()), &Policy::DEFAULT).is_ok());
        let mut public_exempt = public();
        public_exempt.allow_no_pkce = true;
        const { assert!(Policy::DEFAULT.require_pkce_for_confidential) };
        let pq = std::format!(
            "response_type=code&client_id={}",
            public_exempt.client_id.as_str()
        );
        let req = AuthorizationRequest::parse(pq.as_bytes()).unwrap();
        assert!(
            req.validate(Some(&public_exempt), &Policy::DEFAULT)
                .is_err()
        );
    }

    fn public() -> ClientRecord {
        ClientRecord {
            secret_hash: None,
            ..client()
        }
    }

    fn location(write: impl FnOnce(&mut SliceWriter<'_>)) -> String {
        let mut buf = [0u8; 512];
        let mut w = SliceWriter::new(&mut buf);
        write(&mut w);
        let n = w.finish().unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn validate<'q: 'c, 'c>(
        query: &'q str,
        client: &'c ClientRecord,
    ) -> Result<ValidAuthorization<'q>, Rejection<'c>> {
        let req = AuthorizationRequest::parse(query.as_bytes())?;
        let id = req.client_id()?;
        let found = (id == client.client_id).then_some(client);
        req.validate(found, &Policy::DEFAULT)
    }

    fn redirect_error(r: Result<ValidAuthorization<'_>, Rejection<'_>>) -> (ErrorCode, String) {
        match r.unwrap_err() {
            Rejection::Redirect(e) => (e.error.code, location(|w| e.write_location(ISSUER, w))),
            Rejection::ErrorPage(e) => panic!("expected a redirect, got page {e}"),
        }
    }

    fn page_error(r: Result<ValidAuthorization<'_>, Rejection<'_>>) -> ErrorCode {
        match r.unwrap_err() {
            Rejection::ErrorPage(e) => e.code,
            Rejection::Redirect(e) => panic!("must not redirect: {:?}", e.error),
        }
    }

    /// RFC 6749 §4.1.1's request and §4.1.2's response (plus `iss`).
    #[test]
    fn rfc6749_4_1_example() {
        let v = validate(
            "response_type=code&client_id=s6BhdRkqt3&state=xyz&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
            &client(),
        )
        .unwrap();
        assert_eq!(v.scope(), "read write");
        let a = v
            .approve("alice", UnixTime(1000), &Policy::DEFAULT, &mut TestRng(1))
            .unwrap();
        assert_eq!(
            location(|w| a.write_location(ISSUER, w)),
            std::format!(
                "https://client.example.com/cb?code={}&state=xyz&iss=https%3A%2F%2Fserver.example.com",
                a.code().as_str()
            )
        );
        assert_eq!(a.record().expires_at, UnixTime(1600));
        assert!(a.record().redirect_uri_sent);
        assert_eq!(a.record().hash, a.code().hash());
    }

    #[test]
    fn unknown_client_never_redirects() {
        let q = "response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb";
        assert_eq!(page_error(validate(q, &client())), ErrorCode::InvalidClient);
        assert_eq!(
            page_error(validate("response_type=code", &client())),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            page_error(validate(
                "client_id=s6BhdRkqt3&client_id=s6BhdRkqt3&response_type=code",
                &client()
            )),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn redirect_mismatch_never_redirects() {
        for uri in [
            "https%3A%2F%2Fattacker.example%2Fcb",
            "https%3A%2F%2Fclient.example.com%2Fcb%2F",
            "https%3A%2F%2Fclient.example.com%2Fcb%3Fx%3D1",
            "https%3A%2F%2FCLIENT.example.com%2Fcb",
        ] {
            let q = std::format!("response_type=code&client_id=s6BhdRkqt3&redirect_uri={uri}");
            assert_eq!(
                page_error(validate(&q, &client())),
                ErrorCode::InvalidRequest
            );
        }
        let q = "response_type=code&client_id=s6BhdRkqt3&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb";
        assert_eq!(
            page_error(validate(q, &client())),
            ErrorCode::InvalidRequest
        );
        // Several registered URIs: the request must name one.
        let mut two = client();
        two.redirect_uris
            .push(RedirectUri::try_from("https://client.example.com/cb2").unwrap())
            .unwrap();
        assert_eq!(
            page_error(validate("response_type=code&client_id=s6BhdRkqt3", &two)),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn later_errors_redirect_with_state_and_iss() {
        let (code, loc) = redirect_error(validate(
            "response_type=token&client_id=s6BhdRkqt3&state=a%20b",
            &client(),
        ));
        assert_eq!(code, ErrorCode::UnsupportedResponseType);
        assert_eq!(
            loc,
            "https://client.example.com/cb?error=unsupported_response_type&state=a%20b&iss=https%3A%2F%2Fserver.example.com"
        );
        let (code, loc) = redirect_error(validate(
            "response_type=code&client_id=s6BhdRkqt3&scope=admin&state=s",
            &client(),
        ));
        assert_eq!(code, ErrorCode::InvalidScope);
        assert!(loc.contains("&state=s&"));
        let (code, _) = redirect_error(validate(
            "response_type=code&client_id=s6BhdRkqt3&scope=read&scope=write",
            &client(),
        ));
        assert_eq!(code, ErrorCode::InvalidRequest);
        let (code, _) = redirect_error(validate("client_id=s6BhdRkqt3", &client()));
        assert_eq!(code, ErrorCode::InvalidRequest);
        let mut no_code = client();
        no_code.grant_types = GrantTypes::of(&[GrantType::ClientCredentials]);
        let (code, _) = redirect_error(validate(
            "response_type=code&client_id=s6BhdRkqt3",
            &no_code,
        ));
        assert_eq!(code, ErrorCode::UnauthorizedClient);
    }

    #[test]
    fn public_clients_must_use_pkce() {
        let (code, _) = redirect_error(validate(
            "response_type=code&client_id=s6BhdRkqt3",
            &public(),
        ));
        assert_eq!(code, ErrorCode::InvalidRequest);
        let v = validate(
            "response_type=code&client_id=s6BhdRkqt3&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
            &public(),
        )
        .unwrap();
        assert_eq!(v.challenge().unwrap().method, ChallengeMethod::S256);
    }

    #[test]
    fn pkce_downgrade_to_plain_is_rejected() {
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        for q in [
            std::format!("response_type=code&client_id=s6BhdRkqt3&code_challenge={challenge}"),
            std::format!(
                "response_type=code&client_id=s6BhdRkqt3&code_challenge={challenge}&code_challenge_method=plain"
            ),
            std::format!(
                "response_type=code&client_id=s6BhdRkqt3&code_challenge={challenge}&code_challenge_method=S512"
            ),
            "response_type=code&client_id=s6BhdRkqt3&code_challenge=short&code_challenge_method=S256".into(),
            "response_type=code&client_id=s6BhdRkqt3&code_challenge_method=S256".into(),
        ] {
            let (code, _) = redirect_error(validate(&q, &public()));
            assert_eq!(code, ErrorCode::InvalidRequest, "{q}");
        }
        let mut plain_ok = public();
        plain_ok.allow_plain_pkce = true;
        let q = std::format!("response_type=code&client_id=s6BhdRkqt3&code_challenge={challenge}");
        assert_eq!(
            validate(&q, &plain_ok).unwrap().challenge().unwrap().method,
            ChallengeMethod::Plain
        );
    }

    #[test]
    fn deny_redirects_with_access_denied() {
        let v = validate(
            "response_type=code&client_id=s6BhdRkqt3&state=xyz",
            &client(),
        )
        .unwrap();
        let Rejection::Redirect(r) = v.deny() else {
            panic!()
        };
        assert_eq!(
            location(|w| r.write_location(ISSUER, w)),
            "https://client.example.com/cb?error=access_denied&state=xyz&iss=https%3A%2F%2Fserver.example.com"
        );
    }

    #[test]
    fn loopback_redirect_any_port_matches() {
        assert!(redirect_uri_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/cb"
        ));
        assert!(redirect_uri_matches(
            "http://127.0.0.1:80/cb",
            "http://127.0.0.1:9/cb"
        ));
        assert!(redirect_uri_matches(
            "http://[::1]:1/cb",
            "http://[::1]:2/cb"
        ));
        assert!(redirect_uri_matches(
            "http://localhost/cb?x=1",
            "http://localhost:3/cb?x=1"
        ));
        for (r, s) in [
            ("http://127.0.0.1/cb", "http://127.0.0.1:5/other"),
            ("http://127.0.0.1/cb", "http://127.0.0.2:5/cb"),
            ("http://127.0.0.1/cb", "https://127.0.0.1:5/cb"),
            ("https://app.example/cb", "https://app.example:444/cb"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb#x"),
            ("http://127.0.0.1/cb", "http://127.0.0.1:5/cb?x"),
        ] {
            assert!(!redirect_uri_matches(r, s), "{r} {s}");
        }
        assert!(is_loopback_host("127.9.9.9") && is_loopback_host("[::1]"));
        assert!(!is_loopback_host("127.0.0.1.example") && !is_loopback_host("[::2]"));
        // Through the authorization endpoint: the client's port comes back.
        let mut c = client();
        c.redirect_uris[0] = RedirectUri::try_from("http://127.0.0.1/cb").unwrap();
        let q = "response_type=code&client_id=s6BhdRkqt3&redirect_uri=http%3A%2F%2F127.0.0.1%3A51004%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";
        let req = AuthorizationRequest::parse(q.as_bytes()).unwrap();
        let v = req.validate(Some(&c), &Policy::DEFAULT).unwrap();
        assert_eq!(v.redirect_uri(), "http://127.0.0.1:51004/cb");
    }

    #[test]
    fn redirect_uri_with_a_query_keeps_it() {
        let mut c = client();
        c.redirect_uris[0] = RedirectUri::try_from("https://client.example.com/cb?app=1").unwrap();
        let v = validate("response_type=code&client_id=s6BhdRkqt3", &c).unwrap();
        let a = v
            .approve("alice", UnixTime(0), &Policy::DEFAULT, &mut TestRng(2))
            .unwrap();
        assert!(
            location(|w| a.write_location(ISSUER, w))
                .starts_with("https://client.example.com/cb?app=1&code=")
        );
        assert!(!a.record().redirect_uri_sent);
    }
}
