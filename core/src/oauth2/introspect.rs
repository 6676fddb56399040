//! Token introspection (RFC 7662).
//!
//! ```text
//! TokenQuery::parse(body, basic)?        token, token_type_hint, client credentials
//! Introspection::start(query, now)
//!   NeedClient --provide_client--> NeedToken { hash, hint } --provide_token--> IntrospectionDone
//! ```
//!
//! The caller must authenticate (§2.1) as a confidential client: a public
//! client (`none`) is `invalid_client`, since anyone can claim its id
//! (§4). A client registered as a resource server
//! ([`ClientRecord::resource_server`]) may introspect any token; any other
//! client sees only tokens issued to it, and `{"active":false}` for the
//! rest — the same answer as for an unknown token, so it learns nothing
//! about other clients' tokens. A token is `active`
//! when it is a known access token that has not expired, or a known,
//! unretired, unexpired refresh token; otherwise the answer is only
//! `{"active":false}` (§2.2), whatever the reason. An active answer
//! carries `scope`, `client_id`, `username` and `sub` (the resource
//! owner, when there is one), `token_type` (`Bearer` for access tokens),
//! `exp` and `iat`. An unrecognised `token_type_hint` is ignored (§2.1).

use super::client_auth::{AUTHENTICATION_FAILED, AuthMethod, BasicCredentials, ClientCredentials};
use super::error::{ErrorCode, OAuthError, invalid_client, invalid_request};
use super::store::ClientId;

/// A public client asked: anyone can claim its id (RFC 7662 §4).
const PUBLIC_REFUSED: OAuthError = invalid_client("public clients may not introspect tokens");
use super::json;
use super::params;
use super::store::{ClientRecord, TokenRecord};
use super::token_material::TokenHash;
use crate::buf::BufferTooSmall;
use crate::text::Text;
use crate::time::UnixTime;

/// `token_type_hint` (RFC 7009 §2.1, RFC 7662 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

/// An introspection or revocation request: `token`, `token_type_hint`
/// and the client's credentials.
#[derive(Debug, Clone)]
pub struct TokenQuery<'a> {
    /// Who asks.
    pub client: ClientCredentials<'a>,
    /// The token in question.
    pub token: Text<'a>,
    /// The hint, when it is one this server knows.
    pub hint: Option<TokenTypeHint>,
}

const NAMES: [&str; 4] = ["token", "token_type_hint", "client_id", "client_secret"];

impl<'a> TokenQuery<'a> {
    /// Parses the form body (RFC 7662 §2.1, RFC 7009 §2.1). A missing
    /// `token` or a repeated parameter is `invalid_request`.
    pub fn parse(body: &'a [u8], basic: Option<BasicCredentials<'a>>) -> Result<Self, OAuthError> {
        let p = params::collect(body, &NAMES)?.no_repeats()?;
        let client = ClientCredentials::resolve(basic, p.get(2), p.get(3))?;
        let token = p.get(0).ok_or(invalid_request("token is required"))?;
        let hint = p.get(1).and_then(|h| {
            if h.eq_str("access_token") {
                Some(TokenTypeHint::AccessToken)
            } else if h.eq_str("refresh_token") {
                Some(TokenTypeHint::RefreshToken)
            } else {
                None
            }
        });
        Ok(TokenQuery {
            client,
            token,
            hint,
        })
    }
}

/// What introspection says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum IntrospectionResponse {
    /// Not active (unknown, expired, revoked, retired).
    Inactive,
    /// Active.
    Active(TokenRecord),
}

#[derive(serde::Serialize)]
struct IntrospectionBody<'a> {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
}

impl IntrospectionResponse {
    /// Writes the RFC 7662 §2.2 JSON body.
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let body = match self {
            IntrospectionResponse::Inactive => IntrospectionBody {
                active: false,
                scope: None,
                client_id: None,
                username: None,
                token_type: None,
                exp: None,
                iat: None,
                sub: None,
            },
            IntrospectionResponse::Active(TokenRecord::Access(a)) => IntrospectionBody {
                active: true,
                scope: Some(&a.scope),
                client_id: Some(&a.client_id),
                username: a.subject.as_deref(),
                token_type: Some("Bearer"),
                exp: Some(a.expires_at.as_secs()),
                iat: Some(a.issued_at.as_secs()),
                sub: a.subject.as_deref(),
            },
            IntrospectionResponse::Active(TokenRecord::Refresh(r)) => IntrospectionBody {
                active: true,
                scope: Some(&r.scope),
                client_id: Some(&r.client_id),
                username: r.subject.as_deref(),
                token_type: None,
                exp: r.expires_at.map(UnixTime::as_secs),
                iat: Some(r.issued_at.as_secs()),
                sub: r.subject.as_deref(),
            },
        };
        json::render(&body, out)
    }
}

/// Whether a token record is active at `now`.
pub fn is_active(record: &TokenRecord, now: UnixTime) -> bool {
    match record {
        TokenRecord::Access(a) => now < a.expires_at,
        TokenRecord::Refresh(r) => !r.is_retired() && r.expires_at.is_none_or(|exp| now < exp),
    }
}

/// The end of an introspection request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntrospectionDone {
    outcome: Result<IntrospectionResponse, OAuthError>,
    basic: bool,
}

impl IntrospectionDone {
    pub(crate) fn failed(e: OAuthError, method: AuthMethod) -> Self {
        IntrospectionDone {
            outcome: Err(e),
            basic: method == AuthMethod::ClientSecretBasic,
        }
    }

    /// The HTTP status.
    pub fn http_status(&self) -> u16 {
        self.outcome
            .as_ref()
            .map_or_else(OAuthError::http_status, |_| 200)
    }

    /// The answer, when the request was acceptable.
    pub fn response(&self) -> Option<&IntrospectionResponse> {
        self.outcome.as_ref().ok()
    }

    /// The error, when it was not.
    pub fn error(&self) -> Option<OAuthError> {
        self.outcome.as_ref().err().copied()
    }

    /// Whether `invalid_client` follows an HTTP Basic attempt.
    pub fn needs_basic_challenge(&self) -> bool {
        self.basic
            && self
                .error()
                .is_some_and(|e| e.code == ErrorCode::InvalidClient)
    }

    /// Writes the JSON body.
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        match &self.outcome {
            Ok(r) => r.render(out),
            Err(e) => e.render(out),
        }
    }
}

/// An introspection in progress.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum Introspection<'r> {
    /// Look up the calling client.
    NeedClient(IntrospectionNeedClient<'r>),
    /// Look up the token.
    NeedToken(IntrospectionNeedToken),
    /// Finished.
    Done(IntrospectionDone),
}

impl<'r> Introspection<'r> {
    /// Starts.
    pub fn start(query: TokenQuery<'r>, now: UnixTime) -> Self {
        Introspection::NeedClient(IntrospectionNeedClient { query, now })
    }
}

/// The calling client's record is needed.
#[derive(Debug)]
pub struct IntrospectionNeedClient<'r> {
    query: TokenQuery<'r>,
    now: UnixTime,
}

impl<'r> IntrospectionNeedClient<'r> {
    /// The client identifier to look up.
    pub fn client_id(&self) -> &str {
        self.query.client.client_id()
    }

    /// Continues with the client's record (`None`: no such client).
    pub fn provide_client(self, client: Option<&ClientRecord>) -> Introspection<'r> {
        let method = self.query.client.method();
        match (self.query.client.authenticate(client, self.now), client) {
            (Err(e), _) => Introspection::Done(IntrospectionDone::failed(e, method)),
            (Ok(()), _) if method == AuthMethod::None => {
                Introspection::Done(IntrospectionDone::failed(PUBLIC_REFUSED, method))
            }
            (Ok(()), Some(c)) => Introspection::NeedToken(IntrospectionNeedToken {
                hash: TokenHash::of_text(&self.query.token),
                hint: self.query.hint,
                now: self.now,
                caller: c.client_id.clone(),
                any_client: c.resource_server,
            }),
            // `authenticate` refuses a missing client; kept total anyway.
            (Ok(()), None) => {
                Introspection::Done(IntrospectionDone::failed(AUTHENTICATION_FAILED, method))
            }
        }
    }
}

/// The token's record is needed.
#[derive(Debug)]
pub struct IntrospectionNeedToken {
    hash: TokenHash,
    hint: Option<TokenTypeHint>,
    now: UnixTime,
    /// Who asks.
    caller: ClientId,
    /// Whether the caller is a resource server (may see every client's
    /// tokens).
    any_client: bool,
}

impl IntrospectionNeedToken {
    /// The hash of the presented token.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// Which table to try first.
    pub fn hint(&self) -> Option<TokenTypeHint> {
        self.hint
    }

    /// Finishes with the token's record (`None`: unknown). Another
    /// client's token is inactive unless the caller is a resource server.
    pub fn provide_token(self, token: Option<&TokenRecord>) -> IntrospectionDone {
        let response = match token {
            Some(t)
                if token_hash(t).ct_eq(&self.hash)
                    && is_active(t, self.now)
                    && (self.any_client || token_client(t) == self.caller.as_str()) =>
            {
                IntrospectionResponse::Active(t.clone())
            }
            _ => IntrospectionResponse::Inactive,
        };
        IntrospectionDone {
            outcome: Ok(response),
            basic: false,
        }
    }
}

fn token_client(t: &TokenRecord) -> &str {
    match t {
        TokenRecord::Access(a) => &a.client_id,
        TokenRecord::Refresh(r) => &r.client_id,
    }
}

pub(crate) fn token_hash(t: &TokenRecord) -> &TokenHash {
    match t {
        TokenRecord::Access(a) => &a.hash,
        TokenRecord::Refresh(r) => &r.hash,
    }
}

/// The whole introspection endpoint in one call against `store`.
pub fn introspection_endpoint<S: super::store::Store + ?Sized>(
    store: &S,
    authorization: Option<&str>,
    body: &[u8],
    now: UnixTime,
) -> IntrospectionDone {
    let mut scratch = [0u8; 256];
    let method = if authorization.is_some_and(super::client_auth::is_basic) {
        AuthMethod::ClientSecretBasic
    } else {
        AuthMethod::None
    };
    let query = BasicCredentials::from_header(authorization, &mut scratch)
        .and_then(|basic| TokenQuery::parse(body, basic));
    let query = match query {
        Ok(q) => q,
        Err(e) => return IntrospectionDone::failed(e, method),
    };
    let mut step = Introspection::start(query, now);
    loop {
        step = match step {
            Introspection::NeedClient(n) => {
                let c = store.client(n.client_id());
                n.provide_client(c.as_ref())
            }
            Introspection::NeedToken(n) => {
                let t = store.token(n.hash());
                return n.provide_token(t.as_ref());
            }
            Introspection::Done(d) => return d,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::store::{AccessRecord, FamilyId, GrantTypes, MemoryStore, Store, Write};

    fn store() -> MemoryStore<4, 4> {
        let mut s = MemoryStore::new();
        let mut rs = ClientRecord::new("rs", Some("rs-secret"), &[], "", GrantTypes::NONE).unwrap();
        rs.resource_server = true;
        s.add_client(rs).unwrap();
        // The token's own client, another confidential client, a public one.
        for (id, secret) in [
            ("l238j323ds-23ij4", Some("own-secret")),
            ("other", Some("other-secret")),
            ("spa", None),
        ] {
            s.add_client(ClientRecord::new(id, secret, &[], "", GrantTypes::ALL).unwrap())
                .unwrap();
        }
        s.apply(&Write::StoreAccessToken(AccessRecord {
            hash: TokenHash::of(b"mF_9.B5f-4.1JqM"),
            family: FamilyId([1; 16]),
            client_id: "l238j323ds-23ij4".try_into().unwrap(),
            subject: Some("jdoe".try_into().unwrap()),
            scope: "read write dolphin".try_into().unwrap(),
            issued_at: UnixTime(1419350238),
            expires_at: UnixTime(1419356238),
        }))
        .unwrap();
        s
    }

    fn body(d: &IntrospectionDone) -> std::string::String {
        let mut out = [0u8; 512];
        let n = d.render(&mut out).unwrap();
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    /// RFC 7662 §2.1's request and §2.2's response (without `iss`, which
    /// this server does not add).
    #[test]
    fn rfc7662_2_2_example() {
        let s = store();
        let d = introspection_endpoint(
            &s,
            Some("Basic cnM6cnMtc2VjcmV0"),
            b"token=mF_9.B5f-4.1JqM&token_type_hint=access_token",
            UnixTime(1419350300),
        );
        assert_eq!(d.http_status(), 200);
        assert_eq!(
            body(&d),
            r#"{"active":true,"scope":"read write dolphin","client_id":"l238j323ds-23ij4","username":"jdoe","token_type":"Bearer","exp":1419356238,"iat":1419350238,"sub":"jdoe"}"#
        );
        let d = introspection_endpoint(
            &s,
            Some("Basic cnM6cnMtc2VjcmV0"),
            b"token=mF_9.B5f-4.1JqM",
            UnixTime(1419356238),
        );
        assert_eq!(body(&d), r#"{"active":false}"#);
        let d = introspection_endpoint(
            &s,
            Some("Basic cnM6cnMtc2VjcmV0"),
            b"token=unknown",
            UnixTime(0),
        );
        assert_eq!(body(&d), r#"{"active":false}"#);
    }

    #[test]
    fn introspection_requires_client_authentication() {
        let s = store();
        let d = introspection_endpoint(&s, None, b"token=mF_9.B5f-4.1JqM", UnixTime(0));
        assert_eq!(d.http_status(), 401);
        let d = introspection_endpoint(
            &s,
            Some("Basic cnM6d3Jvbmc="),
            b"token=mF_9.B5f-4.1JqM",
            UnixTime(0),
        );
        assert!(d.needs_basic_challenge());
        let d = introspection_endpoint(&s, Some("Basic cnM6cnMtc2VjcmV0"), b"", UnixTime(0));
        assert_eq!(d.error().unwrap().code, ErrorCode::InvalidRequest);
    }

    fn ask(s: &MemoryStore<4, 4>, auth: Option<&str>, body: &[u8]) -> IntrospectionDone {
        introspection_endpoint(s, auth, body, UnixTime(1419350300))
    }

    fn basic(id: &str, secret: &str) -> std::string::String {
        let mut buf = [0u8; 128];
        let mut w = crate::buf::SliceWriter::new(&mut buf);
        crate::oauth2::client_auth::write_basic_authorization(id, secret, &mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// Hardening item 1: a public client may not introspect at all; a
    /// confidential client sees only its own tokens; a resource server sees
    /// every token.
    #[test]
    fn introspection_by_anyone_is_refused() {
        let s = store();
        let token = b"token=mF_9.B5f-4.1JqM";
        let public = ask(&s, None, b"token=mF_9.B5f-4.1JqM&client_id=spa");
        assert_eq!(public.http_status(), 401);
        assert_eq!(public.error().unwrap().code, ErrorCode::InvalidClient);
        let other = ask(&s, Some(&basic("other", "other-secret")), token);
        assert_eq!(other.http_status(), 200);
        assert_eq!(body(&other), r#"{"active":false}"#);
        let own = ask(&s, Some(&basic("l238j323ds-23ij4", "own-secret")), token);
        assert!(
            body(&own).starts_with(r#"{"active":true"#),
            "{}",
            body(&own)
        );
        let rs = ask(&s, Some(&basic("rs", "rs-secret")), token);
        assert!(body(&rs).starts_with(r#"{"active":true"#));
        // Another client's token and an unknown token look the same.
        let unknown = ask(&s, Some(&basic("other", "other-secret")), b"token=nope");
        assert_eq!(body(&unknown), body(&other));
    }
}
