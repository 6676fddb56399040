//! The OAuth 2.0 endpoints (DESIGN.md's HTTP contract), each a thin adapter
//! over a `latch_core::oauth2` state machine: load the record it asks for,
//! feed it back, apply the writes it returns in one transaction, send the
//! response it renders.

use super::http::{self, html, internal, is_form, redirect_to, render};
use super::login::{self, consent_page, login, session_consent_page, with_session};
use super::pages;
use super::state::Shared;
use crate::storage::{ApplyError, client_record};
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use getrandom::SysRng;
use latch_core::oauth2::{
    self, BasicCredentials, ClientRecord, DeviceAuthorization, DeviceAuthorizationRequest,
    DeviceVerification, Exchange, Introspection, Metadata, OAuthError, Rejection, Revocation,
    TokenQuery, TokenRecord, TokenRequest,
};
use latch_core::oidc::Step;

/// Path of each endpoint (found by clients through the metadata document).
pub const AUTHORIZE: &str = "/oauth2/authorize";
/// Token endpoint.
pub const TOKEN: &str = "/oauth2/token";
/// Device authorization endpoint.
pub const DEVICE_AUTHORIZATION: &str = "/oauth2/device_authorization";
/// Device verification page (`verification_uri`).
pub const DEVICE: &str = "/device";
/// Introspection endpoint.
pub const INTROSPECT: &str = "/oauth2/introspect";
/// Revocation endpoint.
pub const REVOKE: &str = "/oauth2/revoke";

/// A JSON answer from a core renderer, with RFC 6749 §5.1's cache headers and,
/// for `invalid_client` after Basic auth, a `WWW-Authenticate` challenge.
fn json(status: u16, basic_challenge: bool, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if basic_challenge {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"latch\""),
        );
    }
    r
}

fn error_json(e: OAuthError, basic: bool) -> Response {
    let body = render(|w| {
        let mut buf = [0u8; 512];
        if let Ok(n) = e.render(&mut buf) {
            latch_core::Sink::put(w, buf.get(..n).unwrap_or(&[]));
        }
    });
    json(
        e.http_status(),
        basic && e.code == oauth2::ErrorCode::InvalidClient,
        body,
    )
}

pub(crate) fn render_into(
    f: impl Fn(&mut [u8]) -> Result<usize, latch_core::BufferTooSmall>,
) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    loop {
        match f(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return buf;
            }
            Err(e) => buf.resize(e.required, 0),
        }
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414) and
/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4):
/// one document with the OpenID fields (DESIGN.md).
pub async fn metadata(axum::extract::State(s): axum::extract::State<Shared>) -> Response {
    let i = &s.issuer;
    let (authorize, token, device, introspect, revoke) = (
        format!("{i}{AUTHORIZE}"),
        format!("{i}{TOKEN}"),
        format!("{i}{DEVICE_AUTHORIZATION}"),
        format!("{i}{INTROSPECT}"),
        format!("{i}{REVOKE}"),
    );
    // DESIGN.md: the union of the registered clients' scopes and
    // `[oauth2] scopes`.
    let registered = match s.db.client_scopes().await {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut union: std::collections::BTreeSet<&str> = s.scopes.keys().map(String::as_str).collect();
    union.extend(latch_core::oidc::OIDC_SCOPES);
    union.extend(
        registered
            .iter()
            .flat_map(|r| r.split(' '))
            .filter(|x| !x.is_empty()),
    );
    let scopes: Vec<&str> = union.into_iter().collect();
    let (userinfo, jwks, logout) = (
        format!("{i}{}", super::oidc::USERINFO),
        format!("{i}{}", super::oidc::JWKS),
        format!("{i}{}", super::oidc::LOGOUT),
    );
    let mut m = Metadata::new(i, &authorize, &token).with_openid(&userinfo, &jwks, &logout);
    m.device_authorization_endpoint = Some(&device);
    m.introspection_endpoint = Some(&introspect);
    m.revocation_endpoint = Some(&revoke);
    m.scopes_supported = &scopes;
    let body = render_into(|b| m.render(b));
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Whether the client a token was issued to still exists: a token is only
/// as valid as its client, so one issued by a server that still had a
/// just-removed client cached (up to its 5 s) dies with the cache entry.
pub(super) async fn client_exists(s: &Shared, id: &str) -> Result<bool, Response> {
    Ok(load_client(s, id).await?.is_some())
}

async fn load_client(s: &Shared, id: &str) -> Result<Option<ClientRecord>, Response> {
    // Bypassed while another replica's changes cannot be heard
    // (crate::invalidate); a read overtaken by an invalidation is not kept.
    if s.caches_trusted()
        && let Some((c, at)) = s.client_cache.get(id)
        && at.elapsed() < std::time::Duration::from_secs(5)
    {
        super::metrics::cache("client", true);
        return Ok(Some(c));
    }
    super::metrics::cache("client", false);
    let stamp = s.access_cache.stamp();
    let record = match s.db.client(id).await {
        Ok(Some(row)) => {
            client_record(&row, &s.secret_box, s.jwt_access_tokens).map_err(internal)?
        }
        Ok(None) => None,
        Err(e) => return Err(internal(e)),
    };
    if let Some(c) = &record
        && s.access_cache.trust().holds(stamp)
    {
        s.client_cache
            .insert(id.to_owned(), (c.clone(), std::time::Instant::now()));
        if !s.access_cache.trust().holds(stamp) {
            s.client_cache.remove(id);
        }
    }
    Ok(record)
}

async fn client_name(s: &Shared, id: &str) -> String {
    match s.db.client(id).await {
        Ok(Some(c)) => c.name,
        _ => id.to_owned(),
    }
}

fn authorization_header(headers: &HeaderMap) -> Result<Option<&str>, Response> {
    match headers.get(header::AUTHORIZATION) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| {
            error_json(
                OAuthError::with(
                    oauth2::ErrorCode::InvalidRequest,
                    "malformed Authorization header",
                ),
                false,
            )
        }),
    }
}

/// A form body, or no body at all without a `Content-Type` (an empty form:
/// clients send exactly that for a device authorization with no scope).
fn require_form(headers: &HeaderMap, body: &[u8]) -> Result<(), Response> {
    if is_form(headers) || (body.is_empty() && !headers.contains_key(header::CONTENT_TYPE)) {
        Ok(())
    } else {
        Err(error_json(
            OAuthError::with(
                oauth2::ErrorCode::InvalidRequest,
                "expected application/x-www-form-urlencoded",
            ),
            false,
        ))
    }
}

/// The common start of every client-authenticated endpoint (RFC 6749
/// §2.3): a form body, a readable `Authorization` header, and its Basic
/// credentials decoded into `scratch`. Also says whether Basic was tried
/// (an `invalid_client` answer then carries a challenge).
fn client_auth<'s>(
    headers: &'s HeaderMap,
    body: &[u8],
    scratch: &'s mut [u8],
) -> Result<(Option<BasicCredentials<'s>>, bool), Response> {
    require_form(headers, body)?;
    let auth = authorization_header(headers)?;
    let attempted = auth.is_some_and(oauth2::is_basic);
    BasicCredentials::from_header(auth, scratch)
        .map(|b| (b, attempted))
        .map_err(|e| error_json(e, attempted))
}

/// The client-authentication limit (DESIGN.md "Limits"): `Some(429)` while
/// `client_id` has too many recent failures.
fn client_auth_limited(s: &Shared, client_id: &str) -> Option<Response> {
    s.limits
        .client_auth
        .blocked(&format!("c:{client_id}"))
        .map(super::limits::too_many_json)
}

/// Counts a failed client authentication for `client_id` (its limit, and
/// `latch_failed_client_auth_total` for `endpoint`).
fn note_client_auth(
    s: &Shared,
    endpoint: &'static str,
    client_id: Option<&str>,
    error: Option<OAuthError>,
) {
    if let (Some(id), Some(e)) = (client_id, error)
        && e.code == oauth2::ErrorCode::InvalidClient
    {
        super::metrics::failed_client_auth(endpoint);
        s.limits.client_auth.fail(&format!("c:{id}"));
    }
}

/// Applies writes; on a lost race, the conflict answer (and its writes).
async fn settle<D>(
    s: &Shared,
    done: D,
    writes: impl Fn(&D) -> &oauth2::Writes,
    conflict: impl FnOnce(D) -> D,
    failed: impl FnOnce(D) -> D,
) -> D {
    match s.db.apply(writes(&done).as_slice()).await {
        Ok(()) => {
            s.access_cache.forget(writes(&done).as_slice());
            done
        }
        Err(ApplyError::Conflict) => {
            let c = conflict(done);
            s.access_cache.forget(writes(&c).as_slice());
            if let Err(e) = s.db.apply(writes(&c).as_slice()).await {
                tracing::error!(error = %e, "revoking a token family failed");
            }
            c
        }
        Err(ApplyError::Db(e)) => {
            tracing::error!(error = %e, "storage failed");
            failed(done)
        }
    }
}

/// `POST /oauth2/token` (RFC 6749 §3.2, §4.1.3, §4.4, §6; RFC 8628 §3.4).
pub async fn token(
    axum::extract::State(s): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut scratch = [0u8; 512];
    let (basic, basic_attempted) = match client_auth(&headers, &body, &mut scratch) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request = match TokenRequest::parse(&body, basic) {
        Ok(r) => r,
        Err(e) => return error_json(e, basic_attempted),
    };
    let grant_type = request.grant.grant_type();
    let mut exchange = Exchange::start(request, http::now(), &s.oauth2_policy, &mut SysRng);
    let mut asked = None;
    let done = loop {
        exchange = match exchange {
            Exchange::NeedClient(n) => {
                if let Some(r) = client_auth_limited(&s, n.client_id()) {
                    return r;
                }
                asked = Some(n.client_id().to_owned());
                match load_client(&s, n.client_id()).await {
                    Ok(c) => n.provide_client(c.as_ref()),
                    Err(r) => return r,
                }
            }
            Exchange::NeedGrant(g) => match s.db.oauth2_grant(g.kind(), g.hash()).await {
                Ok(grant) => break g.provide_grant(grant.as_ref()),
                Err(e) => return internal(e),
            },
            Exchange::Done(d) => break d,
        };
    };
    note_client_auth(&s, "token", asked.as_deref(), done.error());
    // RFC 9068: sign the JWT access token first, so that the stored record
    // is keyed by it and the id_token's at_hash covers it.
    let mut done = done;
    // The user's public `sub`, looked up once for whichever tokens name it
    // (both carry the grant's user).
    let user = done.tokens().and_then(|t| match &t.id_token {
        Some(c) => Some(c.subject.clone()),
        None => t.jwt_access_token.as_ref().and_then(|c| c.subject.clone()),
    });
    let sub = match &user {
        Some(u) => match public_sub(&s, u).await {
            Ok(sub) => sub,
            Err(r) => return r,
        },
        None => String::new(),
    };
    let jwt = match done.tokens().and_then(|t| t.jwt_access_token.clone()) {
        Some(claims) => match signed_access_token(&s, &claims, &sub) {
            Ok(jwt) => {
                done.bind_access_token(&jwt);
                Some(jwt)
            }
            Err(r) => return r,
        },
        None => None,
    };
    // A lost race is reuse (the family is revoked) — except for two
    // refreshes with one token within the refresh grace window: the core's
    // retirement write carries the window, so the loser's UPDATE matches
    // too and both are answered with a pair, no re-read or retry needed.
    let done = settle(
        &s,
        done,
        |d| d.writes(),
        oauth2::Done::conflict,
        oauth2::Done::storage_failed,
    )
    .await;
    let body = match done.tokens() {
        Some(t) => {
            let id_token = match &t.id_token {
                Some(claims) => match signed_id_token(&s, claims, &sub) {
                    Ok(jws) => Some(jws),
                    Err(r) => return r,
                },
                None => None,
            };
            render_into(|b| t.render_with(jwt.as_deref(), id_token.as_deref(), b))
        }
        None => render_into(|b| done.render(b)),
    };
    super::metrics::token_endpoint(grant_type, asked.as_deref(), &done);
    if done.reuse_detected() {
        let mut event = crate::audit::Event::new(
            "grant.reused",
            asked
                .as_deref()
                .map_or_else(|| "anonymous".to_owned(), |c| format!("client:{c}")),
        )
        .detail(format!(
            "{} presented again; family revoked",
            grant_type.as_str()
        ));
        if let Some(c) = asked.as_deref() {
            event = event.client(c);
        }
        s.audit.record(event);
    }
    json(done.http_status(), done.needs_basic_challenge(), body)
}

/// The public `sub` of the user a grant names.
async fn public_sub(s: &Shared, user: &str) -> Result<String, Response> {
    match s.db.user(user).await {
        Ok(Some(u)) => Ok(u.sub),
        Ok(None) => Err(internal("the user behind this grant is gone")),
        Err(e) => Err(internal(e)),
    }
}

/// Signs an RFC 9068 access token (`typ: at+jwt`) with the server's
/// RS256 key, the algorithm every resource server supports. `sub`: the
/// user's public subject (unused for client credentials).
fn signed_access_token(
    s: &Shared,
    claims: &latch_core::oidc::AccessTokenClaims,
    sub: &str,
) -> Result<String, Response> {
    let payload = render_into(|b| claims.render_payload(&s.issuer, sub, b));
    s.signing
        .sign(
            latch_core::jose::Alg::Rs256,
            "at+jwt",
            &payload,
            http::now().as_secs(),
        )
        .map_err(internal)
}

/// Signs the id_token the core decided on (OpenID Connect Core 1.0
/// §3.1.3.3) with the user's public `sub` and the client's algorithm.
fn signed_id_token(
    s: &Shared,
    claims: &latch_core::oidc::IdTokenClaims,
    sub: &str,
) -> Result<String, Response> {
    let payload = render_into(|b| claims.render_payload(&s.issuer, sub, b));
    s.signing
        .sign(claims.alg, "JWT", &payload, http::now().as_secs())
        .map_err(internal)
}

/// `POST /oauth2/device_authorization` (RFC 8628 §3.1–3.2).
pub async fn device_authorization(
    axum::extract::State(s): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut scratch = [0u8; 512];
    let (basic, basic_attempted) = match client_auth(&headers, &body, &mut scratch) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let request = match DeviceAuthorizationRequest::parse(&body, basic) {
        Ok(r) => r,
        Err(e) => return error_json(e, basic_attempted),
    };
    let verification_uri = format!("{}{DEVICE}", s.issuer);
    // A user code collision (a conditional write) is retried with fresh codes.
    for _ in 0..3 {
        let done = match DeviceAuthorization::start(
            request.clone(),
            http::now(),
            &s.oauth2_policy,
            &mut SysRng,
        ) {
            DeviceAuthorization::Done(d) => d,
            DeviceAuthorization::NeedClient(n) => match load_client(&s, n.client_id()).await {
                Ok(c) => n.provide_client(c.as_ref()),
                Err(r) => return r,
            },
        };
        if done
            .error()
            .is_some_and(|e| e.code == oauth2::ErrorCode::InvalidClient)
        {
            super::metrics::failed_client_auth("device_authorization");
        }
        match s.db.apply(done.writes().as_slice()).await {
            Ok(()) => {
                return json(
                    done.http_status(),
                    done.needs_basic_challenge(),
                    render_into(|b| done.render(&verification_uri, b)),
                );
            }
            Err(ApplyError::Conflict) => continue,
            Err(ApplyError::Db(e)) => return internal(e),
        }
    }
    error_json(
        OAuthError::with(oauth2::ErrorCode::TemporarilyUnavailable, "try again"),
        false,
    )
}

/// `POST /oauth2/introspect` (RFC 7662).
pub async fn introspect(
    axum::extract::State(s): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut scratch = [0u8; 512];
    let (basic, basic_attempted) = match client_auth(&headers, &body, &mut scratch) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let query = match TokenQuery::parse(&body, basic) {
        Ok(q) => q,
        Err(e) => return error_json(e, basic_attempted),
    };
    let mut step = Introspection::start(query, http::now());
    let mut asked = None;
    let done = loop {
        step = match step {
            Introspection::NeedClient(n) => {
                if let Some(r) = client_auth_limited(&s, n.client_id()) {
                    return r;
                }
                asked = Some(n.client_id().to_owned());
                match load_client(&s, n.client_id()).await {
                    Ok(c) => n.provide_client(c.as_ref()),
                    Err(r) => return r,
                }
            }
            Introspection::NeedToken(t) => {
                // Access tokens come from the same 10 s cache as the
                // protected resources (cleared at once by this process's
                // revocations); refresh tokens always from the database.
                let tok = match s.access_cache.get(t.hash()) {
                    Some(r) => Some(TokenRecord::Access(r)),
                    None => {
                        let stamp = s.access_cache.stamp();
                        match s.db.oauth2_token(t.hash()).await {
                            Ok(tok) => {
                                if let Some(TokenRecord::Access(r)) = &tok {
                                    s.access_cache.put(r, stamp);
                                }
                                tok
                            }
                            Err(e) => return internal(e),
                        }
                    }
                };
                let owner = match &tok {
                    Some(TokenRecord::Access(r)) => Some(r.client_id.as_str()),
                    Some(TokenRecord::Refresh(r)) => Some(r.client_id.as_str()),
                    None => None,
                };
                let tok = match owner {
                    Some(id) => match client_exists(&s, id).await {
                        Ok(true) => tok,
                        Ok(false) => None,
                        Err(r) => return r,
                    },
                    None => None,
                };
                break t.provide_token(tok.as_ref());
            }
            Introspection::Done(d) => break d,
        };
    };
    note_client_auth(&s, "introspection", asked.as_deref(), done.error());
    json(
        done.http_status(),
        done.needs_basic_challenge(),
        render_into(|b| done.render(b)),
    )
}

/// `POST /oauth2/revoke` (RFC 7009).
pub async fn revoke(
    axum::extract::State(s): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut scratch = [0u8; 512];
    let (basic, basic_attempted) = match client_auth(&headers, &body, &mut scratch) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let query = match TokenQuery::parse(&body, basic) {
        Ok(q) => q,
        Err(e) => return error_json(e, basic_attempted),
    };
    let mut step = Revocation::start(query, http::now());
    let mut asked = None;
    let done = loop {
        step = match step {
            Revocation::NeedClient(n) => {
                if let Some(r) = client_auth_limited(&s, n.client_id()) {
                    return r;
                }
                asked = Some(n.client_id().to_owned());
                match load_client(&s, n.client_id()).await {
                    Ok(c) => n.provide_client(c.as_ref()),
                    Err(r) => return r,
                }
            }
            Revocation::NeedToken(t) => match s.db.oauth2_token(t.hash()).await {
                Ok(tok) => break t.provide_token(tok.as_ref()),
                Err(e) => return internal(e),
            },
            Revocation::Done(d) => break d,
        };
    };
    note_client_auth(&s, "revocation", asked.as_deref(), done.error());
    if let Err(e) = s.db.apply(done.writes().as_slice()).await {
        return internal(e);
    }
    // After the commit, not before: a request between the two would read
    // the still-active row and cache it again for the cache's lifetime.
    s.access_cache.forget(done.writes().as_slice());
    if let (Some(client), Some(w)) = (asked.as_deref(), done.writes().as_slice().first()) {
        s.audit.record(
            crate::audit::Event::new("token.revoked", format!("client:{client}"))
                .client(client)
                .detail(match w {
                    oauth2::Write::RevokeFamily { .. } => "RFC 7009: refresh token and its family",
                    _ => "RFC 7009: access token",
                }),
        );
    }
    json(
        done.http_status(),
        done.needs_basic_challenge(),
        render_into(|b| done.render(b)),
    )
}

fn rejection(s: &Shared, r: &Rejection<'_>) -> Response {
    match r {
        Rejection::ErrorPage(e) => html(
            StatusCode::BAD_REQUEST,
            pages::error("Cannot authorize", e.description.unwrap_or(e.code.as_str())),
        ),
        Rejection::Redirect(r) => {
            let to = render(|w| r.write_location(&s.issuer, w));
            redirect_to(&String::from_utf8_lossy(&to))
        }
    }
}

/// `GET /oauth2/authorize` (RFC 6749 §4.1.1): client and redirect URI are
/// checked first (errors are a page, never a redirect), then the login +
/// consent form, which carries the request's query in a hidden input.
pub async fn authorize_page(
    axum::extract::State(s): axum::extract::State<Shared>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = uri.query().unwrap_or("");
    let request = match oauth2::AuthorizationRequest::parse(query.as_bytes()) {
        Ok(r) => r,
        Err(r) => return rejection(&s, &r),
    };
    let client = match request.client_id() {
        Ok(id) => match load_client(&s, &id).await {
            Ok(c) => c,
            Err(r) => return r,
        },
        Err(r) => return rejection(&s, &r),
    };
    let valid = match request.validate(client.as_ref(), &s.oauth2_policy) {
        Ok(v) => v,
        Err(r) => return rejection(&s, &r),
    };
    // OpenID Connect Core §3.1.2.3: log in, consent, or (prompt=none) an
    // error back to the client — decided by the core.
    let session = login::session(&s, &headers).await;
    let step = match valid.next_step(session.as_ref().map(|(_, t)| *t), http::now()) {
        Ok(step) => step,
        Err(r) => return rejection(&s, &r),
    };
    let name = client_name(&s, valid.client_id()).await;
    let user = match (step, &session) {
        (Step::Consent, Some((u, _))) => Some(u.as_str()),
        _ => None,
    };
    consent_page(
        &s,
        &headers,
        StatusCode::OK,
        pages::Consent {
            client_name: &name,
            scopes: s.describe(valid.scope()),
            hidden: vec![("request", query)],
            user,
            login_hint: valid.oidc().and_then(|o| o.login_hint.as_deref()),
            ..pages::Consent::default()
        },
    )
}

/// The submitted consent form (`Debug` leaves the password out).
#[derive(serde::Deserialize)]
pub struct AuthorizeForm {
    request: Option<String>,
    csrf: Option<String>,
    decision: Option<String>,
    username: Option<String>,
    password: Option<String>,
    user_code: Option<String>,
    confirmed: Option<String>,
}

impl std::fmt::Debug for AuthorizeForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeForm")
            .field("request", &self.request)
            .field("decision", &self.decision)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("user_code", &self.user_code)
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

impl super::login::PageForm for AuthorizeForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

fn read_form(headers: &HeaderMap, body: &Bytes, s: &Shared) -> Result<AuthorizeForm, Response> {
    super::login::read_page_form(s, headers, body, "Cannot authorize")
}

/// `POST /oauth2/authorize`: approve → 302 with `code`, `state`, `iss`;
/// deny → 302 with `error=access_denied`.
pub async fn authorize_submit(
    axum::extract::State(s): axum::extract::State<Shared>,
    peer: super::limits::Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let addr = s.limits.client_addr(peer.0, &headers);
    let form = match read_form(&headers, &body, &s) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let query = form.request.clone().unwrap_or_default();
    let request = match oauth2::AuthorizationRequest::parse(query.as_bytes()) {
        Ok(r) => r,
        Err(r) => return rejection(&s, &r),
    };
    let client = match request.client_id() {
        Ok(id) => match load_client(&s, &id).await {
            Ok(c) => c,
            Err(r) => return r,
        },
        Err(r) => return rejection(&s, &r),
    };
    let valid = match request.validate(client.as_ref(), &s.oauth2_policy) {
        Ok(v) => v,
        Err(r) => return rejection(&s, &r),
    };
    match form.decision.as_deref() {
        Some("approve") => {}
        Some("deny") => {
            let user = super::login::session_user(&s, &headers).await;
            s.audit.record(crate::audit::consent(
                false,
                user.as_deref(),
                valid.client_id(),
                "authorization_code",
            ));
            return rejection(&s, &valid.deny());
        }
        _ => {
            return html(
                StatusCode::BAD_REQUEST,
                pages::error("Cannot authorize", "Choose Approve or Deny."),
            );
        }
    }
    // prompt=login or an old session (max_age): only a password entered
    // in this form counts (the core's rule, OidcRequest::needs_fresh_login).
    let logged_in = match login(
        &s,
        &headers,
        &addr,
        form.username.as_deref(),
        form.password.as_deref(),
        |auth_time| {
            valid
                .oidc()
                .is_some_and(|o| o.needs_fresh_login(auth_time, http::now()))
        },
    )
    .await
    {
        Ok(l) => l,
        Err(failure) => {
            if let Some(r) = failure.too_many() {
                return r;
            }
            let msg = failure.message();
            let name = client_name(&s, valid.client_id()).await;
            return consent_page(
                &s,
                &headers,
                StatusCode::UNAUTHORIZED,
                pages::Consent {
                    client_name: &name,
                    scopes: s.describe(valid.scope()),
                    hidden: vec![("request", &query)],
                    error: Some(msg),
                    login_hint: valid.oidc().and_then(|o| o.login_hint.as_deref()),
                    ..pages::Consent::default()
                },
            );
        }
    };
    let (user, fresh) = (&logged_in.user, logged_in.fresh);
    let approval = match valid.approve_at(
        user,
        logged_in.auth_time,
        http::now(),
        &s.oauth2_policy,
        &mut SysRng,
    ) {
        Ok(a) => a,
        Err(r) => return rejection(&s, &r),
    };
    if let Err(e) = s.db.apply(&[approval.write()]).await {
        return internal(e);
    }
    s.audit.record(crate::audit::consent(
        true,
        Some(user),
        valid.client_id(),
        "authorization_code",
    ));
    let to = render(|w| approval.write_location(&s.issuer, w));
    let resp = redirect_to(&String::from_utf8_lossy(&to));
    if fresh {
        with_session(&s, resp, user).await
    } else {
        resp
    }
}

/// The phishing warning on the device page (RFC 8628 §5.4).
const DEVICE_WARNING: &str = "Only continue if you started this on your own device and it shows this code. \
Never enter a code that someone sent you: approving gives them access to your account.";

/// What the device page knows about a user code it looked up.
struct DeviceLookup {
    code: String,
    client_name: String,
    pending: latch_core::oauth2::PendingDevice,
}

/// Looks a typed or prefilled user code up (RFC 8628 §3.3): the client's
/// name and the requested scope, or the message to show.
/// Wrong codes count against `addr` ([`super::limits`]); over the limit
/// the answer is a 429 page, with no lookup.
async fn lookup_device(
    s: &Shared,
    addr: &str,
    typed: &str,
) -> Result<DeviceLookup, Result<&'static str, Response>> {
    let key = format!("d:{addr}");
    if let Some(wait) = s.limits.user_code_addr.blocked(&key) {
        return Err(Err(super::limits::too_many_page(
            wait,
            "wrong device codes",
        )));
    }
    let found = lookup_device_unlimited(s, typed).await;
    if matches!(found, Err(Ok(_))) {
        s.limits.user_code_addr.fail(&key);
    }
    found
}

async fn lookup_device_unlimited(
    s: &Shared,
    typed: &str,
) -> Result<DeviceLookup, Result<&'static str, Response>> {
    let need = DeviceVerification::start(&latch_core::Text::plain(typed))
        .map_err(|_| Ok("That code is not valid. Check the code on your device."))?;
    let now = http::now();
    let record =
        s.db.oauth2_device_by_user_code(need.user_code(), now)
            .await
            .map_err(|e| Err(internal(e)))?;
    let pending = need
        .provide_device(record.as_ref(), now)
        .map_err(|_| Ok("That code is unknown, expired or already used."))?;
    Ok(DeviceLookup {
        code: need.user_code().as_str().to_owned(),
        client_name: client_name(s, pending.client_id()).await,
        pending,
    })
}

/// Step 1: the code input alone (with the login fields the DESIGN form
/// carries, so one POST both looks the code up and logs in).
async fn device_step_one(
    s: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    typed: &str,
    error: Option<&str>,
) -> Response {
    session_consent_page(
        s,
        headers,
        status,
        pages::Consent {
            client_name: "A device",
            user_code: Some(typed),
            error,
            lookup_only: true,
            ..pages::Consent::default()
        },
    )
    .await
}

/// Step 2: the client and every requested scope, the warning, and the
/// decision, with the looked-up code carried along.
async fn device_step_two(
    s: &Shared,
    headers: &HeaderMap,
    status: StatusCode,
    found: &DeviceLookup,
    error: Option<&str>,
) -> Response {
    session_consent_page(
        s,
        headers,
        status,
        pages::Consent {
            client_name: &found.client_name,
            scopes: s.describe(found.pending.scope()),
            hidden: vec![("user_code", &found.code), ("confirmed", "1")],
            warning: Some(DEVICE_WARNING),
            error,
            ..pages::Consent::default()
        },
    )
    .await
}

/// `GET /device[?user_code=…]`: the verification page (RFC 8628 §3.3).
/// Without a code, step 1 asks for it; with one (`verification_uri_complete`),
/// the code is looked up and step 2 names the client and the scopes.
pub async fn device_page(
    axum::extract::State(s): axum::extract::State<Shared>,
    peer: super::limits::Peer,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let addr = s.limits.client_addr(peer.0, &headers);
    let code = uri
        .query()
        .and_then(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "user_code")
                .map(|(_, v)| v.into_owned())
        })
        .unwrap_or_default();
    if code.is_empty() {
        return device_step_one(&s, &headers, StatusCode::OK, "", None).await;
    }
    match lookup_device(&s, &addr, &code).await {
        Ok(found) => device_step_two(&s, &headers, StatusCode::OK, &found, None).await,
        Err(Ok(msg)) => {
            device_step_one(&s, &headers, StatusCode::BAD_REQUEST, &code, Some(msg)).await
        }
        Err(Err(r)) => r,
    }
}

/// `POST /device`. From step 1 (no `confirmed`): look the code up and show
/// step 2 — never approve a code the user has not seen named. From step 2:
/// the decision, approve or deny, each by a logged-in user.
pub async fn device_submit(
    axum::extract::State(s): axum::extract::State<Shared>,
    peer: super::limits::Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let addr = s.limits.client_addr(peer.0, &headers);
    let form = match read_form(&headers, &body, &s) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let typed = form.user_code.clone().unwrap_or_default();
    let found = match lookup_device(&s, &addr, &typed).await {
        Ok(f) => f,
        Err(Ok(msg)) => {
            return device_step_one(&s, &headers, StatusCode::BAD_REQUEST, &typed, Some(msg)).await;
        }
        Err(Err(r)) => return r,
    };
    // Log in first if the form carried credentials, so step 2 already
    // shows the session.
    let logged_in = login(
        &s,
        &headers,
        &addr,
        form.username.as_deref(),
        form.password.as_deref(),
        |_| false,
    )
    .await;
    if let Err(failure) = &logged_in
        && let Some(r) = failure.too_many()
    {
        return r;
    }
    let fresh = match &logged_in {
        Ok(l) if l.fresh => Some(l.user.clone()),
        _ => None,
    };
    let with_login = async |resp: Response| match &fresh {
        Some(u) => with_session(&s, resp, u).await,
        None => resp,
    };
    if form.confirmed.as_deref() != Some("1") {
        let status = StatusCode::OK;
        return with_login(device_step_two(&s, &headers, status, &found, None).await).await;
    }
    let user = match &logged_in {
        Ok(l) => l.user.clone(),
        Err(failure) => {
            return device_step_two(
                &s,
                &headers,
                StatusCode::UNAUTHORIZED,
                &found,
                Some(failure.message()),
            )
            .await;
        }
    };
    // The code was looked up (and checked unexpired and pending) above, in
    // this request; the conditional write below catches a concurrent use.
    let pending = &found.pending;
    let write = match form.decision.as_deref() {
        Some("deny") => pending.deny(),
        Some("approve") => match pending.approve(&user) {
            Some(w) => w,
            None => {
                return device_step_two(
                    &s,
                    &headers,
                    StatusCode::BAD_REQUEST,
                    &found,
                    Some("This user name is too long."),
                )
                .await;
            }
        },
        _ => {
            return with_login(
                device_step_two(
                    &s,
                    &headers,
                    StatusCode::BAD_REQUEST,
                    &found,
                    Some("Choose Approve or Deny."),
                )
                .await,
            )
            .await;
        }
    };
    match s.db.apply(&[write]).await {
        Ok(()) => {}
        Err(ApplyError::Conflict) => {
            return device_step_one(
                &s,
                &headers,
                StatusCode::BAD_REQUEST,
                &typed,
                Some("That code was already used."),
            )
            .await;
        }
        Err(ApplyError::Db(e)) => return internal(e),
    }
    s.audit.record(crate::audit::consent(
        form.decision.as_deref() == Some("approve"),
        Some(&user),
        found.pending.client_id(),
        "device_code",
    ));
    let (title, msg) = if form.decision.as_deref() == Some("approve") {
        ("Device connected", "You can return to your device.")
    } else {
        ("Device refused", "The device was not given access.")
    };
    with_login(html(StatusCode::OK, pages::done(title, msg))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardening item 19: a consent form's `Debug` never shows the password.
    #[test]
    fn consent_form_debug_has_no_password() {
        let form: AuthorizeForm = serde_urlencoded::from_str(
            "username=alice&password=hunter2-secret&decision=approve&csrf=t&request=q",
        )
        .unwrap();
        let shown = format!("{form:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(shown.contains("alice") && shown.contains("<redacted>"));
        let form: super::super::oauth1::ConsentForm =
            serde_urlencoded::from_str("username=bob&password=hunter2-secret&oauth_token=t")
                .unwrap();
        let shown = format!("{form:?}");
        assert!(!shown.contains("hunter2-secret") && shown.contains("<redacted>"));
    }
}
