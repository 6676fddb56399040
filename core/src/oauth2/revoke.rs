//! Token revocation (RFC 7009).
//!
//! ```text
//! TokenQuery::parse(body, basic)?
//! Revocation::start(query, now)
//!   NeedClient --provide_client--> NeedToken { hash, hint } --provide_token--> RevocationDone
//! ```
//!
//! The client must authenticate (§2.1). Revoking a refresh token revokes
//! its whole family — every access and refresh token from the same grant,
//! as §2.1 recommends; revoking an access token removes just it. An
//! unknown (or already revoked) token is answered 200 all the same (§2.2).
//! A token issued to another client is refused with `unauthorized_client`
//! and nothing is revoked (§2.1: "the request is refused and the client is
//! informed of the error").

use super::client_auth::{AuthMethod, BasicCredentials};
use super::error::{ErrorCode, OAuthError};
use super::introspect::{TokenQuery, TokenTypeHint, token_hash};
use super::store::{ClientId, ClientRecord, Store, TokenRecord, Write, Writes};
use super::token_material::TokenHash;
use crate::buf::BufferTooSmall;

/// The end of a revocation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationDone {
    outcome: Result<(), OAuthError>,
    writes: Writes,
    basic: bool,
}

impl RevocationDone {
    fn failed(e: OAuthError, method: AuthMethod) -> Self {
        RevocationDone {
            outcome: Err(e),
            writes: Writes::none(),
            basic: method == AuthMethod::ClientSecretBasic,
        }
    }

    /// The HTTP status: 200, or the error's.
    pub fn http_status(&self) -> u16 {
        self.outcome
            .as_ref()
            .map_or_else(OAuthError::http_status, |_| 200)
    }

    /// The error, if refused.
    pub fn error(&self) -> Option<OAuthError> {
        self.outcome.err()
    }

    /// The writes to make before answering.
    pub fn writes(&self) -> &Writes {
        &self.writes
    }

    /// Whether `invalid_client` follows an HTTP Basic attempt.
    pub fn needs_basic_challenge(&self) -> bool {
        self.basic
            && self
                .error()
                .is_some_and(|e| e.code == ErrorCode::InvalidClient)
    }

    /// Writes the body: empty on success (§2.2), the §5.2 JSON otherwise.
    pub fn render(&self, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        match &self.outcome {
            Ok(()) => Ok(0),
            Err(e) => e.render(out),
        }
    }
}

/// A revocation in progress.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum Revocation<'r> {
    /// Look up the calling client.
    NeedClient(RevocationNeedClient<'r>),
    /// Look up the token.
    NeedToken(RevocationNeedToken),
    /// Finished.
    Done(RevocationDone),
}

impl<'r> Revocation<'r> {
    /// Starts; `now` is when the client's credentials are checked (a
    /// rotated-out secret counts only within its grace period).
    pub fn start(query: TokenQuery<'r>, now: crate::UnixTime) -> Self {
        Revocation::NeedClient(RevocationNeedClient { query, now })
    }
}

/// The calling client's record is needed.
#[derive(Debug)]
pub struct RevocationNeedClient<'r> {
    query: TokenQuery<'r>,
    now: crate::UnixTime,
}

impl<'r> RevocationNeedClient<'r> {
    /// The client identifier to look up.
    pub fn client_id(&self) -> &str {
        self.query.client.client_id()
    }

    /// Continues with the client's record (`None`: no such client).
    pub fn provide_client(self, client: Option<&ClientRecord>) -> Revocation<'r> {
        let method = self.query.client.method();
        match (self.query.client.authenticate(client, self.now), client) {
            (Ok(()), Some(c)) => Revocation::NeedToken(RevocationNeedToken {
                hash: TokenHash::of_text(&self.query.token),
                hint: self.query.hint,
                client_id: c.client_id.clone(),
                method,
            }),
            (Err(e), _) => Revocation::Done(RevocationDone::failed(e, method)),
            (Ok(()), None) => Revocation::Done(RevocationDone::failed(
                OAuthError::new(ErrorCode::InvalidClient),
                method,
            )),
        }
    }
}

/// The token's record is needed.
#[derive(Debug)]
pub struct RevocationNeedToken {
    hash: TokenHash,
    hint: Option<TokenTypeHint>,
    client_id: ClientId,
    method: AuthMethod,
}

impl RevocationNeedToken {
    /// The hash of the presented token.
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// Which table to try first.
    pub fn hint(&self) -> Option<TokenTypeHint> {
        self.hint
    }

    /// Finishes with the token's record (`None`: unknown).
    pub fn provide_token(self, token: Option<&TokenRecord>) -> RevocationDone {
        let basic = self.method == AuthMethod::ClientSecretBasic;
        let Some(token) = token.filter(|t| token_hash(t).ct_eq(&self.hash)) else {
            return RevocationDone {
                outcome: Ok(()),
                writes: Writes::none(),
                basic,
            };
        };
        let (owner, write) = match token {
            TokenRecord::Access(a) => (&a.client_id, Write::RevokeAccessToken { hash: a.hash }),
            TokenRecord::Refresh(r) => (&r.client_id, Write::RevokeFamily { family: r.family }),
        };
        if *owner != self.client_id {
            return RevocationDone::failed(
                OAuthError::with(
                    ErrorCode::UnauthorizedClient,
                    "token was issued to another client",
                ),
                self.method,
            );
        }
        RevocationDone {
            outcome: Ok(()),
            writes: Writes::one(write),
            basic,
        }
    }
}

/// The whole revocation endpoint in one call against `store`, making the
/// writes.
pub fn revocation_endpoint<S: Store + ?Sized>(
    store: &mut S,
    authorization: Option<&str>,
    body: &[u8],
    now: crate::UnixTime,
) -> RevocationDone {
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
        Err(e) => return RevocationDone::failed(e, method),
    };
    let mut step = Revocation::start(query, now);
    let done = loop {
        step = match step {
            Revocation::NeedClient(n) => {
                let c = store.client(n.client_id());
                n.provide_client(c.as_ref())
            }
            Revocation::NeedToken(n) => {
                let t = store.token(n.hash());
                break n.provide_token(t.as_ref());
            }
            Revocation::Done(d) => break d,
        };
    };
    // Revocation writes are idempotent; a failure leaves the token as it
    // was, which the client may retry.
    match store.apply_all(done.writes()) {
        Ok(()) => done,
        Err(_) => RevocationDone::failed(
            OAuthError::with(ErrorCode::TemporarilyUnavailable, "storage unavailable"),
            method,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::store::{AccessRecord, FamilyId, GrantTypes, MemoryStore, RefreshRecord};
    use crate::time::UnixTime;

    fn store() -> MemoryStore<2, 4> {
        let mut s = MemoryStore::new();
        for (id, secret) in [("s6BhdRkqt3", "gX1fBat3bV"), ("other", "o")] {
            s.add_client(ClientRecord::new(id, Some(secret), &[], "", GrantTypes::ALL).unwrap())
                .unwrap();
        }
        let family = FamilyId([7; 16]);
        s.apply(&Write::StoreAccessToken(AccessRecord {
            hash: TokenHash::of(b"access-1"),
            family,
            client_id: "s6BhdRkqt3".try_into().unwrap(),
            subject: None,
            scope: "".try_into().unwrap(),
            issued_at: UnixTime(0),
            expires_at: UnixTime(100),
        }))
        .unwrap();
        s.apply(&Write::StoreRefreshToken(RefreshRecord {
            hash: TokenHash::of(b"45ghiukldjahdnhzdauz"),
            family,
            client_id: "s6BhdRkqt3".try_into().unwrap(),
            subject: None,
            scope: "".try_into().unwrap(),
            issued_at: UnixTime(0),
            expires_at: None,
            retired_at: None,
            auth_time: None,
        }))
        .unwrap();
        s
    }

    /// RFC 7009 §2.1's example request: revoking the refresh token takes
    /// the family's access token with it.
    #[test]
    fn rfc7009_2_1_example_revokes_the_family() {
        let mut s = store();
        let d = revocation_endpoint(
            &mut s,
            Some("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
            b"token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token",
            UnixTime(0),
        );
        assert_eq!(d.http_status(), 200);
        assert_eq!(d.render(&mut []), Ok(0));
        assert!(s.access_tokens().is_empty());
        assert!(s.refresh_tokens().is_empty());
        // Unknown tokens are fine too (§2.2).
        let d = revocation_endpoint(
            &mut s,
            Some("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"),
            b"token=45ghiukldjahdnhzdauz",
            UnixTime(0),
        );
        assert_eq!(d.http_status(), 200);
    }

    #[test]
    fn another_clients_token_is_refused() {
        let mut s = store();
        let d = revocation_endpoint(
            &mut s,
            None,
            b"token=access-1&client_id=other&client_secret=o",
            UnixTime(0),
        );
        assert_eq!(d.error().unwrap().code, ErrorCode::UnauthorizedClient);
        assert_eq!(s.access_tokens().len(), 1);
        let d = revocation_endpoint(
            &mut s,
            None,
            b"token=access-1&client_id=s6BhdRkqt3&client_secret=gX1fBat3bV",
            UnixTime(0),
        );
        assert_eq!(d.http_status(), 200);
        assert!(s.access_tokens().is_empty());
        assert_eq!(s.refresh_tokens().len(), 1);
        let d = revocation_endpoint(
            &mut s,
            None,
            b"token=access-1&client_id=s6BhdRkqt3",
            UnixTime(0),
        );
        assert_eq!(d.http_status(), 401);
    }
}
