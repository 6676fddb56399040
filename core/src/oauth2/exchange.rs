//! The token endpoint (RFC 6749 §3.2, §5) as a sans-IO state machine that
//! asks its caller for what it needs and tells it what to persist.
//!
//! ```text
//! Exchange::start(request, now, &policy, rng)
//!   NeedClient { client_id }  --provide_client(Option<&ClientRecord>)-->
//!   NeedGrant { kind, hash }  --provide_grant(Option<&GrantRecord>)-->    (not for client_credentials)
//!   Done { response, writes }
//! ```
//!
//! Each state is its own type, so only the right answer can be given at
//! each step. [`Done`] holds the HTTP status and body to send
//! ([`Done::render`]) and the [`Writes`] the caller must make, in order,
//! before sending it. [`drive_exchange`] runs the whole thing against any
//! [`Store`]; the tokio shell instead answers `NeedClient` and `NeedGrant`
//! with async queries and performs the writes in a transaction.
//!
//! ## Decisions, per grant
//!
//! * **Client authentication** (§2.3):
//!   [`ClientCredentials::authenticate`](super::ClientCredentials::authenticate);
//!   a grant not in the client's [`GrantTypes`](super::GrantTypes) is
//!   `unauthorized_client`.
//! * **`authorization_code`** (§4.1.3, RFC 7636 §4.6): the code must be
//!   the client's, unexpired, and unused; a used code is `invalid_grant`
//!   *and* revokes every token issued from it (§4.1.2, RFC 9700 §4.5). The
//!   `redirect_uri` must equal the authorization request's when that one
//!   carried it. With a stored challenge the verifier must match (`plain`
//!   only while the client still allows it); a verifier for a code issued
//!   without a challenge is refused as a PKCE downgrade (RFC 9700 §4.8.2);
//!   a code without a challenge is refused for public clients.
//! * **`refresh_token`** (§6, RFC 9700 §4.14.2): rotation — each use
//!   retires the token and issues a new one in the same family with the
//!   original scope; presenting a retired token is `invalid_grant` and
//!   revokes the family; `scope` may only narrow (`invalid_scope`).
//!   With a grace window ([`Policy::refresh_grace`], off by default), the
//!   client the token was issued to may present it again for that many
//!   seconds after its rotation and gets another new pair in the same
//!   family (for a client that lost the first answer): nothing is
//!   revoked, every successor stays valid, and the window is counted from
//!   the first rotation, never extended. At `retired_at + grace` and after
//!   it is reuse as above. The retirement write carries the window, so of
//!   two concurrent refreshes with one token the loser is answered from
//!   the window too (see [`Write::RetireRefreshToken`]), not as reuse.
//! * **`client_credentials`** (§4.4): confidential clients only
//!   (`unauthorized_client` otherwise); no refresh token (§4.4.3).
//! * **device code** (RFC 8628 §3.5): `expired_token`, `access_denied`,
//!   `authorization_pending`, and `slow_down` when polled sooner than the
//!   interval after the previous poll — which also grows the stored
//!   interval by 5 seconds. Every poll of a pending code records its time.
//!   A redeemed device code presented again is treated like a reused
//!   authorization code.
//!
//! Responses carry `Cache-Control: no-store` and `Pragma: no-cache`
//! ([`RESPONSE_HEADERS`], §5.1). Token randomness is drawn when the
//! exchange starts, so the later steps need no generator.

use super::client_auth::AuthMethod;
use super::error::{ErrorCode, OAuthError, invalid_grant};
use super::json;
use super::pkce::{self, ChallengeMethod};
use super::policy::Policy;
use super::scope::{self, Scope};
use super::store::{
    AccessRecord, ClientId, ClientRecord, CodeRecord, DeviceRecord, DeviceStatus, FamilyId,
    GrantKind, GrantRecord, GrantType, RefreshRecord, Store, StoreError, Subject, Write, Writes,
};
use super::token_material::{Token, TokenHash};
use super::token_request::{GrantRequest, TokenRequest};
use crate::buf::BufferTooSmall;
use crate::oidc::{AccessTokenClaims, IdTokenClaims, OidcGrant, at_hash};
use crate::text::Text;
use crate::time::UnixTime;
use rand_core::TryCryptoRng;

/// Headers every token endpoint response carries (RFC 6749 §5.1).
pub const RESPONSE_HEADERS: [(&str, &str); 2] =
    [("Cache-Control", "no-store"), ("Pragma", "no-cache")];

/// How many seconds `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: u32 = 5;

/// Tokens issued by a successful exchange, to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: Token,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// The new refresh token, if any.
    pub refresh_token: Option<Token>,
    /// The granted scope.
    pub scope: Scope,
    /// The id_token's claims, when `openid` is in the granted scope of an
    /// OpenID grant (OpenID Connect Core 1.0 §3.1.3.3, §12.2): the shell
    /// signs them and passes the JWS to [`render_with`](Self::render_with).
    pub id_token: Option<IdTokenClaims>,
    /// For a client registered for JWT access tokens (RFC 9068): the
    /// claims to sign; see [`Done::bind_access_token`].
    pub jwt_access_token: Option<AccessTokenClaims>,
}

#[derive(serde::Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<&'a str>,
}

impl IssuedTokens {
    /// Writes the RFC 6749 §5.1 JSON body (no id_token).
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        self.render_with(None, None, out)
    }

    /// Writes the RFC 6749 §5.1 JSON body with the access token as sent
    /// (`access_token`: a JWT access token in place of the opaque one,
    /// RFC 9068) and the signed `id_token` (OpenID Connect Core 1.0
    /// §3.1.3.3).
    pub fn render_with(
        &self,
        access_token: Option<&str>,
        id_token: Option<&str>,
        out: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        json::render(
            &TokenBody {
                access_token: access_token.unwrap_or(self.access_token.as_str()),
                token_type: "Bearer",
                expires_in: self.expires_in,
                refresh_token: self.refresh_token.as_ref().map(Token::as_str),
                scope: (!self.scope.is_empty()).then_some(self.scope.as_str()),
                id_token,
            },
            out,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
enum Outcome {
    Tokens(IssuedTokens),
    Error(OAuthError),
}

/// The end of an exchange: what to store, then what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    outcome: Outcome,
    writes: Writes,
    basic: bool,
    /// The family a lost conditional write should revoke.
    family: Option<FamilyId>,
}

impl Done {
    /// An error answer with no writes. `basic`: the client tried HTTP Basic
    /// authentication (so `invalid_client` gets a `WWW-Authenticate`).
    pub fn from_error(error: OAuthError, basic: bool) -> Done {
        Done {
            outcome: Outcome::Error(error),
            writes: Writes::none(),
            basic,
            family: None,
        }
    }

    fn error_with(error: OAuthError, writes: Writes, method: AuthMethod) -> Done {
        Done {
            outcome: Outcome::Error(error),
            writes,
            basic: method == AuthMethod::ClientSecretBasic,
            family: None,
        }
    }

    /// The HTTP status to answer with.
    pub fn http_status(&self) -> u16 {
        match &self.outcome {
            Outcome::Tokens(_) => 200,
            Outcome::Error(e) => e.http_status(),
        }
    }

    /// The tokens, when the exchange succeeded.
    pub fn tokens(&self) -> Option<&IssuedTokens> {
        match &self.outcome {
            Outcome::Tokens(t) => Some(t),
            Outcome::Error(_) => None,
        }
    }

    /// The error, when it did not.
    pub fn error(&self) -> Option<OAuthError> {
        match &self.outcome {
            Outcome::Tokens(_) => None,
            Outcome::Error(e) => Some(*e),
        }
    }

    /// The writes to make, in order, before answering.
    pub fn writes(&self) -> &Writes {
        &self.writes
    }

    /// The access token will be sent as `sent` — the signed JWT for
    /// [`IssuedTokens::jwt_access_token`] (RFC 9068): the stored record is
    /// keyed by its SHA-256 instead of the opaque token's, and the
    /// id_token's `at_hash` covers it. Call before making the writes; then
    /// render with [`IssuedTokens::render_with`]`(Some(sent), …)`.
    pub fn bind_access_token(&mut self, sent: &str) {
        let hash = TokenHash::of(sent.as_bytes());
        for w in self.writes.as_mut_slice() {
            if let Write::StoreAccessToken(a) = w {
                a.hash = hash;
            }
        }
        if let Outcome::Tokens(t) = &mut self.outcome
            && let Some(id) = &mut t.id_token
        {
            id.at_hash = at_hash(id.alg, sent);
        }
    }

    /// Whether the answer needs `WWW-Authenticate: Basic realm=…`
    /// (`invalid_client` after an HTTP Basic attempt, RFC 6749 §5.2).
    pub fn needs_basic_challenge(&self) -> bool {
        self.basic
            && self
                .error()
                .is_some_and(|e| e.code == ErrorCode::InvalidClient)
    }

    /// Writes the JSON body (RFC 6749 §5.1 or §5.2).
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        match &self.outcome {
            Outcome::Tokens(t) => t.render(out),
            Outcome::Error(e) => e.render(out),
        }
    }

    /// Whether this answer is a detected reuse: a redeemed code, a rotated
    /// refresh token or a redeemed device code presented again (or lost
    /// to a concurrent redemption), refused with its whole family revoked
    /// (RFC 9700 §4.14.2, RFC 6749 §4.1.2).
    pub fn reuse_detected(&self) -> bool {
        matches!(self.outcome, Outcome::Error(_))
            && self
                .writes
                .as_slice()
                .iter()
                .any(|w| matches!(w, Write::RevokeFamily { .. }))
    }

    /// The answer to send instead when a conditional write reported
    /// [`StoreError::Conflict`]: another request redeemed the same code,
    /// refresh token or device code first, which is reuse — `invalid_grant`,
    /// and the family is revoked. (A refresh token retired by a concurrent
    /// request within the grace window does not conflict: the store
    /// accepts its retirement write, see [`Write::RetireRefreshToken`].)
    pub fn conflict(self) -> Done {
        let writes = match self.family {
            Some(family) => Writes::one(Write::RevokeFamily { family }),
            None => Writes::none(),
        };
        Done {
            outcome: Outcome::Error(invalid_grant("grant was already used")),
            writes,
            basic: self.basic,
            family: None,
        }
    }

    /// The answer to send instead when storage failed otherwise:
    /// `temporarily_unavailable`, nothing further to write.
    pub fn storage_failed(self) -> Done {
        Done {
            outcome: Outcome::Error(OAuthError::with(
                ErrorCode::TemporarilyUnavailable,
                "storage unavailable",
            )),
            writes: Writes::none(),
            basic: self.basic,
            family: None,
        }
    }
}

/// Randomness and settings carried through the steps.
#[derive(Debug, Clone)]
struct Ctx {
    now: UnixTime,
    policy: Policy,
    access: Token,
    refresh: Token,
}

/// What the exchange needs to know about the authenticated client.
#[derive(Debug, Clone)]
struct ClientFacts {
    client_id: ClientId,
    public: bool,
    allow_plain_pkce: bool,
    allow_no_pkce: bool,
    refresh_allowed: bool,
    method: AuthMethod,
    id_token_alg: crate::jose::Alg,
    jwt_access_tokens: bool,
}

/// The `jti` of a JWT access token: base64url of the opaque token's hash.
fn jti(token: &Token) -> heapless::String<43> {
    use base64ct::{Base64UrlUnpadded, Encoding};
    let mut out = [0u8; 43];
    let mut s = heapless::String::new();
    if let Ok(enc) = Base64UrlUnpadded::encode(&token.hash().0, &mut out) {
        let _ = s.push_str(enc);
    }
    s
}

fn jwt_claims(
    ctx: &Ctx,
    client_id: &ClientId,
    subject: Option<Subject>,
    scope: &Scope,
    auth_time: Option<UnixTime>,
) -> AccessTokenClaims {
    AccessTokenClaims {
        subject,
        client_id: client_id.clone(),
        scope: scope.clone(),
        jti: jti(&ctx.access),
        issued_at: ctx.now,
        expires_at: ctx.now.saturating_add(ctx.policy.access_token_ttl),
        auth_time,
    }
}

/// A token exchange in progress; see the module docs.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum Exchange<'r> {
    /// Look up the client.
    NeedClient(NeedClient<'r>),
    /// Look up the grant.
    NeedGrant(NeedGrant<'r>),
    /// Finished.
    Done(Done),
}

impl<'r> Exchange<'r> {
    /// Starts an exchange for a parsed request. Draws the new tokens'
    /// randomness from `rng` now; a failing generator ends the exchange
    /// with `temporarily_unavailable`.
    pub fn start<R: TryCryptoRng + ?Sized>(
        request: TokenRequest<'r>,
        now: UnixTime,
        policy: &Policy,
        rng: &mut R,
    ) -> Exchange<'r> {
        let basic = request.client.method() == AuthMethod::ClientSecretBasic;
        // Ordered tokens: their hashes, the keys of the rows written for
        // them, sort by issue time (see `token_material`).
        let tokens = Token::generate_ordered(rng, now)
            .and_then(|a| Ok((a, Token::generate_ordered(rng, now)?)));
        match tokens {
            Ok((access, refresh)) => Exchange::NeedClient(NeedClient {
                request,
                ctx: Ctx {
                    now,
                    policy: *policy,
                    access,
                    refresh,
                },
            }),
            Err(e) => Exchange::Done(Done::from_error(e.into(), basic)),
        }
    }
}

/// Step 1: the client record is needed.
#[derive(Debug)]
pub struct NeedClient<'r> {
    request: TokenRequest<'r>,
    ctx: Ctx,
}

impl<'r> NeedClient<'r> {
    /// The client identifier to look up.
    pub fn client_id(&self) -> &str {
        self.request.client.client_id()
    }

    /// Continues with the client's record, or `None` if there is no such
    /// client.
    pub fn provide_client(self, client: Option<&ClientRecord>) -> Exchange<'r> {
        let NeedClient { request, ctx } = self;
        let method = request.client.method();
        let fail = |e: OAuthError| Exchange::Done(Done::error_with(e, Writes::none(), method));
        if let Err(e) = request.client.authenticate(client, ctx.now) {
            return fail(e);
        }
        let Some(client) = client else {
            return fail(OAuthError::new(ErrorCode::InvalidClient));
        };
        let grant_type = request.grant.grant_type();
        if !client.grant_types.contains(grant_type) {
            return fail(OAuthError::with(
                ErrorCode::UnauthorizedClient,
                "grant type not allowed for this client",
            ));
        }
        let facts = ClientFacts {
            client_id: client.client_id.clone(),
            public: client.is_public(),
            allow_plain_pkce: client.allow_plain_pkce,
            allow_no_pkce: client.allow_no_pkce,
            refresh_allowed: client.grant_types.contains(GrantType::RefreshToken),
            method,
            id_token_alg: client.id_token_alg,
            jwt_access_tokens: client.jwt_access_tokens,
        };
        let (kind, presented) = match request.grant {
            GrantRequest::AuthorizationCode { code, .. } => (GrantKind::AuthorizationCode, code),
            GrantRequest::RefreshToken { refresh_token, .. } => {
                (GrantKind::RefreshToken, refresh_token)
            }
            GrantRequest::DeviceCode { device_code } => (GrantKind::DeviceCode, device_code),
            GrantRequest::ClientCredentials { scope } => {
                return Exchange::Done(client_credentials(client, &facts, scope, &ctx));
            }
        };
        Exchange::NeedGrant(NeedGrant {
            kind,
            hash: TokenHash::of_text(&presented),
            grant: request.grant,
            client: facts,
            ctx,
        })
    }
}

/// Step 2: the grant record for the presented code, refresh token or
/// device code is needed.
#[derive(Debug)]
pub struct NeedGrant<'r> {
    kind: GrantKind,
    hash: TokenHash,
    grant: GrantRequest<'r>,
    client: ClientFacts,
    ctx: Ctx,
}

impl NeedGrant<'_> {
    /// Which table to look in.
    pub fn kind(&self) -> GrantKind {
        self.kind
    }

    /// The hash of the presented credential.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The client the grant must belong to.
    pub fn client_id(&self) -> &str {
        &self.client.client_id
    }

    /// Finishes with the grant's record, or `None` if there is none.
    pub fn provide_grant(self, grant: Option<&GrantRecord>) -> Done {
        let unknown = || {
            Done::error_with(
                invalid_grant("unknown grant"),
                Writes::none(),
                self.client.method,
            )
        };
        match (&self.grant, grant) {
            (
                GrantRequest::AuthorizationCode {
                    redirect_uri,
                    code_verifier,
                    ..
                },
                Some(GrantRecord::AuthorizationCode(rec)),
            ) if rec.hash.ct_eq(&self.hash) => self.code(rec, *redirect_uri, *code_verifier),
            (GrantRequest::RefreshToken { scope, .. }, Some(GrantRecord::RefreshToken(rec)))
                if rec.hash.ct_eq(&self.hash) =>
            {
                self.refresh(rec, *scope)
            }
            (GrantRequest::DeviceCode { .. }, Some(GrantRecord::DeviceCode(rec)))
                if rec.hash.ct_eq(&self.hash) =>
            {
                self.device(rec)
            }
            _ => unknown(),
        }
    }

    fn fail(&self, e: OAuthError) -> Done {
        Done::error_with(e, Writes::none(), self.client.method)
    }

    fn fail_revoking(&self, e: OAuthError, family: FamilyId) -> Done {
        Done::error_with(
            e,
            Writes::one(Write::RevokeFamily { family }),
            self.client.method,
        )
    }

    fn code(
        &self,
        rec: &CodeRecord,
        redirect_uri: Option<Text<'_>>,
        verifier: Option<Text<'_>>,
    ) -> Done {
        let now = self.ctx.now;
        if rec.client_id != self.client.client_id {
            return self.fail(invalid_grant("code was issued to another client"));
        }
        if rec.consumed {
            return self.fail_revoking(invalid_grant("code was already used"), rec.family());
        }
        if now >= rec.expires_at {
            return self.fail(invalid_grant("code expired"));
        }
        let redirect_ok = match redirect_uri {
            Some(r) => r.eq_str(&rec.redirect_uri),
            None => !rec.redirect_uri_sent,
        };
        if !redirect_ok {
            return self.fail(invalid_grant("redirect_uri does not match"));
        }
        match (&rec.challenge, verifier) {
            (Some(ch), Some(v)) => {
                if ch.method == ChallengeMethod::Plain && !self.client.allow_plain_pkce {
                    return self.fail(invalid_grant("PKCE method plain is not allowed"));
                }
                let mut buf = [0u8; pkce::MAX_LEN];
                let ok = v
                    .decode(&mut buf)
                    .is_ok_and(|v| pkce::verify(ch.method, ch.value.as_bytes(), v.as_bytes()));
                if !ok {
                    return self.fail(invalid_grant("code_verifier does not match"));
                }
            }
            (Some(_), None) => return self.fail(invalid_grant("code_verifier required")),
            (None, Some(_)) => {
                return self.fail(invalid_grant("code was issued without a code_challenge"));
            }
            (None, None) => {
                if self.client.public
                    || (self.ctx.policy.require_pkce_for_confidential && !self.client.allow_no_pkce)
                {
                    return self.fail(invalid_grant("PKCE required"));
                }
            }
        }
        let refresh = self.ctx.policy.issue_refresh_tokens && self.client.refresh_allowed;
        self.issue(
            Write::ConsumeCode { hash: rec.hash },
            rec.family(),
            Some(rec.subject.clone()),
            rec.scope.clone(),
            refresh.then(|| rec.scope.clone()),
            rec.oidc.as_ref(),
        )
    }

    fn refresh(&self, rec: &RefreshRecord, requested: Option<Text<'_>>) -> Done {
        if rec.client_id != self.client.client_id {
            return self.fail(invalid_grant("refresh token was issued to another client"));
        }
        let grace = self.ctx.policy.effective_refresh_grace();
        if rec.is_reuse(self.ctx.now, grace) {
            return self.fail_revoking(invalid_grant("refresh token was already used"), rec.family);
        }
        if rec.expires_at.is_some_and(|exp| self.ctx.now >= exp) {
            return self.fail(invalid_grant("refresh token expired"));
        }
        let scope = match scope::narrow(requested.as_ref(), &rec.scope) {
            Ok(s) => s,
            Err(e) => return self.fail(e),
        };
        // §12.2: the same `auth_time`, no `nonce`.
        let oidc = rec.auth_time.map(|auth_time| OidcGrant {
            nonce: None,
            auth_time,
        });
        // Within the grace window the token is already retired: the write
        // then only checks that it still is (and still within the window),
        // and keeps the first retirement time.
        self.issue(
            Write::RetireRefreshToken {
                hash: rec.hash,
                at: self.ctx.now,
                grace,
            },
            rec.family,
            rec.subject.clone(),
            scope,
            Some(rec.scope.clone()),
            oidc.as_ref(),
        )
    }

    fn device(&self, rec: &DeviceRecord) -> Done {
        let now = self.ctx.now;
        if rec.client_id != self.client.client_id {
            return self.fail(invalid_grant("device code was issued to another client"));
        }
        if now >= rec.expires_at {
            return self.fail(OAuthError::new(ErrorCode::ExpiredToken));
        }
        match &rec.status {
            DeviceStatus::Redeemed => {
                self.fail_revoking(invalid_grant("device code was already used"), rec.family())
            }
            DeviceStatus::Denied => self.fail(OAuthError::new(ErrorCode::AccessDenied)),
            DeviceStatus::Approved(subject) => {
                let refresh = self.ctx.policy.issue_refresh_tokens && self.client.refresh_allowed;
                self.issue(
                    Write::RedeemDevice { hash: rec.hash },
                    rec.family(),
                    Some(subject.clone()),
                    rec.scope.clone(),
                    refresh.then(|| rec.scope.clone()),
                    None,
                )
            }
            DeviceStatus::Pending => {
                let too_soon = rec
                    .last_poll
                    .is_some_and(|last| now < last.saturating_add(u64::from(rec.interval)));
                let (code, interval) = if too_soon {
                    (
                        ErrorCode::SlowDown,
                        rec.interval.saturating_add(SLOW_DOWN_STEP),
                    )
                } else {
                    (ErrorCode::AuthorizationPending, rec.interval)
                };
                Done::error_with(
                    OAuthError::new(code),
                    Writes::one(Write::RecordDevicePoll {
                        hash: rec.hash,
                        at: now,
                        interval,
                    }),
                    self.client.method,
                )
            }
        }
    }

    /// Success: the conditional write that redeems the grant, then the new
    /// tokens; an id_token's claims when the grant is an OpenID one and
    /// `openid` is still in the scope.
    fn issue(
        &self,
        redeem: Write,
        family: FamilyId,
        subject: Option<Subject>,
        scope: Scope,
        refresh_scope: Option<Scope>,
        oidc: Option<&OidcGrant>,
    ) -> Done {
        let ctx = &self.ctx;
        let id_token = match (oidc, &subject) {
            (Some(o), Some(user)) if scope::contains(&scope, "openid") => Some(IdTokenClaims {
                subject: user.clone(),
                audience: self.client.client_id.clone(),
                nonce: o.nonce.clone(),
                auth_time: o.auth_time,
                issued_at: ctx.now,
                expires_at: ctx.now.saturating_add(ctx.policy.access_token_ttl),
                at_hash: at_hash(self.client.id_token_alg, ctx.access.as_str()),
                alg: self.client.id_token_alg,
            }),
            _ => None,
        };
        let auth_time = oidc.map(|o| o.auth_time);
        let jwt_access_token = self.client.jwt_access_tokens.then(|| {
            jwt_claims(
                ctx,
                &self.client.client_id,
                subject.clone(),
                &scope,
                auth_time,
            )
        });
        let access = access_record(ctx, &self.client.client_id, family, subject.clone(), &scope);
        let (writes, refresh_token) = match refresh_scope {
            Some(refresh_scope) => {
                let refresh = RefreshRecord {
                    hash: ctx.refresh.hash(),
                    family,
                    client_id: self.client.client_id.clone(),
                    subject,
                    scope: refresh_scope,
                    issued_at: ctx.now,
                    expires_at: ctx
                        .policy
                        .refresh_token_ttl
                        .map(|t| ctx.now.saturating_add(t)),
                    retired_at: None,
                    auth_time,
                };
                (
                    Writes::three(
                        redeem,
                        Write::StoreAccessToken(access),
                        Write::StoreRefreshToken(refresh),
                    ),
                    Some(ctx.refresh.clone()),
                )
            }
            None => (Writes::two(redeem, Write::StoreAccessToken(access)), None),
        };
        Done {
            outcome: Outcome::Tokens(IssuedTokens {
                access_token: ctx.access.clone(),
                expires_in: ctx.policy.access_token_ttl,
                refresh_token,
                scope,
                id_token,
                jwt_access_token,
            }),
            writes,
            basic: self.client.method == AuthMethod::ClientSecretBasic,
            family: Some(family),
        }
    }
}

fn access_record(
    ctx: &Ctx,
    client_id: &ClientId,
    family: FamilyId,
    subject: Option<Subject>,
    scope: &Scope,
) -> AccessRecord {
    AccessRecord {
        hash: ctx.access.hash(),
        family,
        client_id: client_id.clone(),
        subject,
        scope: scope.clone(),
        issued_at: ctx.now,
        expires_at: ctx.now.saturating_add(ctx.policy.access_token_ttl),
    }
}

fn client_credentials(
    client: &ClientRecord,
    facts: &ClientFacts,
    requested: Option<Text<'_>>,
    ctx: &Ctx,
) -> Done {
    let fail = |e| Done::error_with(e, Writes::none(), facts.method);
    if facts.public {
        return fail(OAuthError::with(
            ErrorCode::UnauthorizedClient,
            "client_credentials needs a confidential client",
        ));
    }
    let scope = match scope::narrow(requested.as_ref(), &client.scope) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let family = FamilyId::of(&ctx.access.hash());
    let access = access_record(ctx, &facts.client_id, family, None, &scope);
    let jwt_access_token = facts
        .jwt_access_tokens
        .then(|| jwt_claims(ctx, &facts.client_id, None, &scope, None));
    Done {
        outcome: Outcome::Tokens(IssuedTokens {
            access_token: ctx.access.clone(),
            expires_in: ctx.policy.access_token_ttl,
            refresh_token: None,
            scope,
            id_token: None,
            jwt_access_token,
        }),
        writes: Writes::one(Write::StoreAccessToken(access)),
        basic: facts.method == AuthMethod::ClientSecretBasic,
        family: None,
    }
}

/// Makes `done`'s writes against `store`, substituting
/// [`Done::conflict`] or [`Done::storage_failed`] when a write fails.
pub fn finish<S: Store + ?Sized>(store: &mut S, done: Done) -> Done {
    match store.apply_all(done.writes()) {
        Ok(()) => done,
        Err(StoreError::Conflict) => {
            let d = done.conflict();
            // Revocation is best effort: the answer is the same either way.
            let _ = store.apply_all(d.writes());
            d
        }
        Err(_) => done.storage_failed(),
    }
}

/// Runs an exchange to the end against `store`, making its writes.
pub fn drive_exchange<S: Store + ?Sized>(store: &mut S, exchange: Exchange<'_>) -> Done {
    let mut ex = exchange;
    loop {
        match ex {
            Exchange::NeedClient(n) => {
                let client = store.client(n.client_id());
                ex = n.provide_client(client.as_ref());
            }
            Exchange::NeedGrant(n) => {
                let grant = store.grant(n.kind(), n.hash());
                return finish(store, n.provide_grant(grant.as_ref()));
            }
            Exchange::Done(d) => return finish(store, d),
        }
    }
}

/// The whole token endpoint in one call: parses the `Authorization` header
/// and body, runs the exchange against `store` and makes the writes.
/// Render the answer with [`Done::render`].
pub fn token_endpoint<S: Store + ?Sized, R: TryCryptoRng + ?Sized>(
    store: &mut S,
    authorization: Option<&str>,
    body: &[u8],
    now: UnixTime,
    policy: &Policy,
    rng: &mut R,
) -> Done {
    let mut scratch = [0u8; 256];
    let basic_attempted = authorization.is_some_and(super::client_auth::is_basic);
    let basic = match super::client_auth::BasicCredentials::from_header(authorization, &mut scratch)
    {
        Ok(b) => b,
        Err(e) => return Done::from_error(e, basic_attempted),
    };
    match TokenRequest::parse(body, basic) {
        Ok(req) => drive_exchange(store, Exchange::start(req, now, policy, rng)),
        Err(e) => Done::from_error(e, basic_attempted),
    }
}
