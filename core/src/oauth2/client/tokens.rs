//! The tokens a client holds, and refreshing them (RFC 6749 §6) shortly
//! before the access token expires.

use super::super::scope::Scope;
use super::{ClientError, ClientIdentity, TokenResponse, error_from, form_param, own};
use crate::buf::Sink;
use crate::http::{Authorization, ClientRequest, Method, form_into};
use crate::time::UnixTime;
use crate::url::Url;
use core::fmt;

/// How long before expiry a refresh is due, at most (seconds). For short
/// lifetimes it is half the lifetime instead.
pub const REFRESH_MARGIN: u64 = 60;

/// An access token with its refresh token and expiry; tokens up to `N`
/// bytes. `Debug` does not show the tokens.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet<const N: usize> {
    access_token: heapless::String<N>,
    refresh_token: Option<heapless::String<N>>,
    received_at: UnixTime,
    expires_at: Option<UnixTime>,
    scope: Option<Scope>,
}

impl<const N: usize> fmt::Debug for TokenSet<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("received_at", &self.received_at)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl<const N: usize> TokenSet<N> {
    /// Reads a token endpoint answer received at `now`: a 200 with a Bearer
    /// token response, or the server's error.
    pub fn from_response(now: UnixTime, status: u16, body: &[u8]) -> Result<Self, ClientError> {
        if status != 200 {
            return Err(error_from(status, body));
        }
        let r = TokenResponse::parse(body)?;
        if !r.is_bearer() {
            return Err(ClientError::UnsupportedTokenType);
        }
        Ok(TokenSet {
            access_token: own(&r.access_token)?,
            refresh_token: r.refresh_token.as_ref().map(own).transpose()?,
            received_at: now,
            expires_at: r.expires_in.map(|s| now.saturating_add(s)),
            scope: r.scope.as_ref().map(own).transpose()?,
        })
    }

    /// Tokens kept between uses (in a session, a file, flash) as they were
    /// received at `received_at`, to refresh them later. Errors:
    /// [`ClientError::Capacity`] for a token over `N` bytes or a scope that
    /// does not fit.
    pub fn restore(
        access_token: &str,
        refresh_token: Option<&str>,
        received_at: UnixTime,
        expires_at: Option<UnixTime>,
    ) -> Result<Self, ClientError> {
        let text = |t: &str| heapless::String::try_from(t).map_err(|_| ClientError::Capacity);
        Ok(TokenSet {
            access_token: text(access_token)?,
            refresh_token: refresh_token.map(text).transpose()?,
            received_at,
            expires_at,
            scope: None,
        })
    }

    /// When the tokens were received.
    pub const fn received_at(&self) -> UnixTime {
        self.received_at
    }

    /// The access token.
    pub fn access_token(&self) -> &str {
        &self.access_token
    }

    /// The refresh token, if any.
    pub fn refresh_token(&self) -> Option<&str> {
        self.refresh_token.as_deref()
    }

    /// When the access token expires, if the server said.
    pub fn expires_at(&self) -> Option<UnixTime> {
        self.expires_at
    }

    /// The granted scope, if the server said.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Writes the `Authorization` header value: `Bearer <token>`.
    pub fn write_bearer<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(b"Bearer ");
        sink.put(self.access_token.as_bytes());
    }

    /// When to refresh: [`REFRESH_MARGIN`] before expiry, or half-way
    /// through a lifetime shorter than twice that. `None` when the token
    /// has no known expiry or there is no refresh token.
    pub fn poll_timeout(&self) -> Option<UnixTime> {
        self.refresh_token.as_ref()?;
        let expires_at = self.expires_at?;
        let lifetime = expires_at
            .as_secs()
            .saturating_sub(self.received_at.as_secs());
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        Some(UnixTime(expires_at.as_secs().saturating_sub(margin)))
    }

    /// Whether a refresh is due at `now`.
    pub fn needs_refresh(&self, now: UnixTime) -> bool {
        self.poll_timeout().is_some_and(|t| now >= t)
    }

    /// Whether the access token has expired at `now`.
    pub fn is_expired(&self, now: UnixTime) -> bool {
        self.expires_at.is_some_and(|t| now >= t)
    }

    /// Writes the refresh request body (RFC 6749 §6); send it with the
    /// identity's `Authorization` header, if any.
    pub fn write_refresh_request<S: Sink + ?Sized>(
        &self,
        identity: &ClientIdentity<'_>,
        sink: &mut S,
    ) -> Result<(), ClientError> {
        let refresh = self
            .refresh_token
            .as_ref()
            .ok_or(ClientError::NoRefreshToken)?;
        form_param(sink, true, "grant_type", "refresh_token");
        form_param(sink, false, "refresh_token", refresh);
        identity.write_body_params(sink);
        Ok(())
    }

    /// The whole refresh request (RFC 6749 §6) to the token `endpoint` as
    /// `identity`, its body written into `body`.
    pub fn refresh_request<'b>(
        &self,
        identity: ClientIdentity<'b>,
        endpoint: Url<'b>,
        body: &'b mut [u8],
    ) -> Result<ClientRequest<'b>, ClientError> {
        let form = form_into(body, |w| self.write_refresh_request(&identity, w))?;
        Ok(ClientRequest {
            method: Method::Post,
            url: endpoint,
            authorization: Authorization::Client(identity),
            form: Some(form),
        })
    }

    /// A request to a protected resource with the access token in the
    /// `Authorization: Bearer` header (RFC 6750 §2.1).
    pub fn bearer_request<'b>(&'b self, method: Method, url: Url<'b>) -> ClientRequest<'b> {
        ClientRequest {
            method,
            url,
            authorization: Authorization::Bearer(&self.access_token),
            form: None,
        }
    }

    /// Reads the refresh answer received at `now` and updates the tokens.
    /// A server that does not rotate leaves the old refresh token in place;
    /// one that leaves out `scope` leaves the old scope (RFC 6749 §5.1). On
    /// error nothing changes.
    pub fn handle_refresh_response(
        &mut self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<(), ClientError> {
        let mut next = Self::from_response(now, status, body)?;
        if next.refresh_token.is_none() {
            next.refresh_token = self.refresh_token.take();
        }
        if next.scope.is_none() {
            next.scope = self.scope.take();
        }
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;

    fn tokens() -> TokenSet<64> {
        TokenSet::from_response(
            UnixTime(1000),
            200,
            br#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"Bearer","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","scope":"read"}"#,
        )
        .unwrap()
    }

    fn written(f: impl FnOnce(&mut SliceWriter<'_>)) -> std::string::String {
        let mut buf = [0u8; 256];
        let mut w = SliceWriter::new(&mut buf);
        f(&mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn restored_tokens_refresh_like_received_ones() {
        let t = tokens();
        let r = TokenSet::<64>::restore(
            t.access_token(),
            t.refresh_token(),
            t.received_at(),
            t.expires_at(),
        )
        .unwrap();
        assert_eq!(r.poll_timeout(), t.poll_timeout());
        assert!(r.needs_refresh(UnixTime(4540)) && !r.needs_refresh(UnixTime(4539)));
        let id = ClientIdentity::public("app");
        assert_eq!(
            written(|w| r.write_refresh_request(&id, w).unwrap()),
            written(|w| t.write_refresh_request(&id, w).unwrap())
        );
        assert_eq!(
            TokenSet::<4>::restore("12345", None, UnixTime(0), None).unwrap_err(),
            ClientError::Capacity
        );
    }

    #[test]
    fn refresh_before_expiry() {
        let t = tokens();
        assert_eq!(t.expires_at(), Some(UnixTime(4600)));
        assert_eq!(t.poll_timeout(), Some(UnixTime(4540)));
        assert!(!t.needs_refresh(UnixTime(4539)));
        assert!(t.needs_refresh(UnixTime(4540)));
        assert!(!t.is_expired(UnixTime(4599)));
        assert_eq!(
            written(|w| t.write_bearer(w)),
            "Bearer 2YotnFZFEjr1zCsicMWpAA"
        );
        let short = TokenSet::<64>::from_response(
            UnixTime(0),
            200,
            br#"{"access_token":"a","token_type":"bearer","expires_in":30,"refresh_token":"r"}"#,
        )
        .unwrap();
        assert_eq!(short.poll_timeout(), Some(UnixTime(15)));
    }

    /// RFC 6749 §6's request, for a confidential client (credentials in the
    /// header) and a public one (client_id in the body).
    #[test]
    fn rfc6749_6_refresh_request() {
        let t = tokens();
        assert_eq!(
            written(|w| t
                .write_refresh_request(&ClientIdentity::confidential("s6BhdRkqt3", "gX1fBat3bV"), w)
                .unwrap()),
            "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA"
        );
        assert_eq!(
            written(|w| t
                .write_refresh_request(&ClientIdentity::public("s6BhdRkqt3"), w)
                .unwrap()),
            "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&client_id=s6BhdRkqt3"
        );
    }

    #[test]
    fn refresh_response_updates_or_keeps() {
        let mut t = tokens();
        t.handle_refresh_response(
            UnixTime(4540),
            200,
            br#"{"access_token":"new","token_type":"Bearer","expires_in":60}"#,
        )
        .unwrap();
        assert_eq!(t.access_token(), "new");
        assert_eq!(t.refresh_token(), Some("tGzv3JOkF0XG5Qx2TlKWIA"));
        assert_eq!(t.scope(), Some("read"));
        let before = t.clone();
        assert_eq!(
            t.handle_refresh_response(UnixTime(4600), 400, br#"{"error":"invalid_grant"}"#),
            Err(ClientError::Server {
                status: 400,
                code: Some(crate::oauth2::ErrorCode::InvalidGrant)
            })
        );
        assert_eq!(t, before);
        assert_eq!(
            t.handle_refresh_response(UnixTime(0), 502, b"<html>"),
            Err(ClientError::Status(502))
        );
        assert_eq!(
            TokenSet::<64>::from_response(
                UnixTime(0),
                200,
                br#"{"access_token":"a","token_type":"mac"}"#
            ),
            Err(ClientError::UnsupportedTokenType)
        );
        assert_eq!(
            TokenSet::<4>::from_response(
                UnixTime(0),
                200,
                br#"{"access_token":"abcde","token_type":"Bearer"}"#
            ),
            Err(ClientError::Capacity)
        );
        assert!(!std::format!("{before:?}").contains("tGzv3"));
    }
}
