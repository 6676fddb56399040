//! The device authorization grant, client side (RFC 8628 §3).
//!
//! ```text
//! DeviceFlow::new(identity, scope)
//!   .write_request(sink)                       POST to the device authorization endpoint, §3.1
//!   .handle_response(now, status, body)?       -> DevicePending
//! DevicePending                                show user_code and verification_uri, §3.3
//!   .poll_timeout()                            when to poll next
//!   .write_poll_request(now, sink)?            POST to the token endpoint, §3.4
//!   .handle_poll_response(now, status, body)?  -> Pending (wait) | Authorized(TokenSet), §3.5
//! ```
//!
//! Polling honours the server: the first poll waits `interval` seconds
//! (5 when absent, §3.2); `authorization_pending` waits another interval;
//! `slow_down` adds 5 seconds to the interval for this and every later
//! poll (§3.5). Polling sooner than allowed is refused
//! ([`ClientError::TooEarly`]); polling after the device code expired is
//! [`ClientError::Expired`]. `handle_poll_response` takes `&mut self`, so
//! after a transport failure the caller simply polls again.

use super::super::error::ErrorCode;
use super::super::exchange::SLOW_DOWN_STEP;
use super::{
    ClientError, ClientIdentity, DeviceAuthorizationResponse, TokenSet, error_from, form_param, own,
};
use crate::buf::Sink;
use crate::http::{Authorization, ClientRequest, Method, form_into};
use crate::time::UnixTime;
use crate::url::Url;
use core::fmt;

/// The default polling interval (RFC 8628 §3.2).
const DEFAULT_INTERVAL: u64 = 5;

/// Step 1: ask for a device code.
#[derive(Debug, Clone, Copy)]
pub struct DeviceFlow<'c> {
    identity: ClientIdentity<'c>,
    scope: Option<&'c str>,
}

impl<'c> DeviceFlow<'c> {
    /// A flow for this client, asking for `scope` (or the server's default).
    pub const fn new(identity: ClientIdentity<'c>, scope: Option<&'c str>) -> Self {
        DeviceFlow { identity, scope }
    }

    /// Writes the device authorization request body (§3.1); send it with
    /// the identity's `Authorization` header, if any.
    pub fn write_request<S: Sink + ?Sized>(&self, sink: &mut S) {
        form_param(sink, true, "client_id", self.identity.client_id);
        if let Some(scope) = self.scope {
            form_param(sink, false, "scope", scope);
        }
    }

    /// The whole device authorization request (§3.1) to `endpoint`, its
    /// body written into `body`.
    pub fn request<'b>(
        &self,
        endpoint: Url<'b>,
        body: &'b mut [u8],
    ) -> Result<ClientRequest<'b>, ClientError>
    where
        'c: 'b,
    {
        let form = form_into(body, |w| {
            self.write_request(w);
            Ok::<(), ClientError>(())
        })?;
        Ok(ClientRequest {
            method: Method::Post,
            url: endpoint,
            authorization: Authorization::Client(self.identity),
            form: Some(form),
        })
    }

    /// Reads the answer received at `now` (§3.2). `N` bounds the device
    /// code and the tokens that will follow.
    pub fn handle_response<const N: usize>(
        self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<DevicePending<'c, N>, ClientError> {
        if status != 200 {
            return Err(error_from(status, body));
        }
        let r = DeviceAuthorizationResponse::parse(body)?;
        let interval = r.interval.map_or(DEFAULT_INTERVAL, u64::from);
        Ok(DevicePending {
            identity: self.identity,
            device_code: own(&r.device_code)?,
            user_code: own(&r.user_code)?,
            verification_uri: own(&r.verification_uri)?,
            verification_uri_complete: r.verification_uri_complete.as_ref().map(own).transpose()?,
            expires_at: now.saturating_add(r.expires_in),
            interval,
            next_poll: now.saturating_add(interval),
        })
    }
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum PollOutcome<const N: usize> {
    /// Not yet: poll again at [`DevicePending::poll_timeout`].
    Pending,
    /// The user approved: here are the tokens.
    Authorized(TokenSet<N>),
}

/// Step 2: waiting for the user, polling the token endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct DevicePending<'c, const N: usize> {
    identity: ClientIdentity<'c>,
    device_code: heapless::String<N>,
    user_code: heapless::String<32>,
    verification_uri: heapless::String<256>,
    verification_uri_complete: Option<heapless::String<288>>,
    expires_at: UnixTime,
    interval: u64,
    next_poll: UnixTime,
}

impl<const N: usize> fmt::Debug for DevicePending<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevicePending")
            .field("user_code", &self.user_code)
            .field("verification_uri", &self.verification_uri)
            .field("expires_at", &self.expires_at)
            .field("interval", &self.interval)
            .field("next_poll", &self.next_poll)
            .finish()
    }
}

impl<'c, const N: usize> DevicePending<'c, N> {
    /// The code to show the user.
    pub fn user_code(&self) -> &str {
        &self.user_code
    }

    /// Where the user enters it.
    pub fn verification_uri(&self) -> &str {
        &self.verification_uri
    }

    /// A URI with the code filled in (for a QR code), if the server sent
    /// one.
    pub fn verification_uri_complete(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref()
    }

    /// When the device code expires.
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// The current polling interval, seconds.
    pub fn interval(&self) -> u64 {
        self.interval
    }

    /// When the next poll may be sent.
    pub fn poll_timeout(&self) -> UnixTime {
        self.next_poll
    }

    /// Writes the token request body (§3.4) for a poll at `now`; send it
    /// with the identity's `Authorization` header, if any.
    pub fn write_poll_request<S: Sink + ?Sized>(
        &self,
        now: UnixTime,
        sink: &mut S,
    ) -> Result<(), ClientError> {
        if now >= self.expires_at {
            return Err(ClientError::Expired);
        }
        if now < self.next_poll {
            return Err(ClientError::TooEarly);
        }
        form_param(
            sink,
            true,
            "grant_type",
            "urn:ietf:params:oauth:grant-type:device_code",
        );
        form_param(sink, false, "device_code", &self.device_code);
        form_param(sink, false, "client_id", self.identity.client_id);
        Ok(())
    }

    /// The whole poll (§3.4) at `now` to the token `endpoint`, its body
    /// written into `body`; errors as [`write_poll_request`](Self::write_poll_request).
    pub fn poll_request<'b>(
        &self,
        now: UnixTime,
        endpoint: Url<'b>,
        body: &'b mut [u8],
    ) -> Result<ClientRequest<'b>, ClientError>
    where
        'c: 'b,
    {
        let form = form_into(body, |w| self.write_poll_request(now, w))?;
        Ok(ClientRequest {
            method: Method::Post,
            url: endpoint,
            authorization: Authorization::Client(self.identity),
            form: Some(form),
        })
    }

    /// Reads the token endpoint's answer to a poll sent at `now` (§3.5).
    pub fn handle_poll_response(
        &mut self,
        now: UnixTime,
        status: u16,
        body: &[u8],
    ) -> Result<PollOutcome<N>, ClientError> {
        if status == 200 {
            return TokenSet::from_response(now, status, body).map(PollOutcome::Authorized);
        }
        match error_from(status, body) {
            ClientError::Server {
                code: Some(ErrorCode::AuthorizationPending),
                ..
            } => {}
            ClientError::Server {
                code: Some(ErrorCode::SlowDown),
                ..
            } => {
                self.interval = self.interval.saturating_add(u64::from(SLOW_DOWN_STEP));
            }
            ClientError::Server {
                code: Some(ErrorCode::ExpiredToken),
                ..
            } => return Err(ClientError::Expired),
            e => return Err(e),
        }
        self.next_poll = now.saturating_add(self.interval);
        if self.next_poll >= self.expires_at {
            return Err(ClientError::Expired);
        }
        Ok(PollOutcome::Pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;

    const RESPONSE: &[u8] = br#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#;

    fn written(f: impl FnOnce(&mut SliceWriter<'_>)) -> std::string::String {
        let mut buf = [0u8; 256];
        let mut w = SliceWriter::new(&mut buf);
        f(&mut w);
        let n = w.finish().unwrap();
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    /// RFC 8628 §3.1's request, §3.2's response, §3.4's poll.
    #[test]
    fn rfc8628_client_requests() {
        let flow = DeviceFlow::new(ClientIdentity::public("1406020730"), Some("read"));
        assert_eq!(
            written(|w| flow.write_request(w)),
            "client_id=1406020730&scope=read"
        );
        let p = flow
            .handle_response::<64>(UnixTime(100), 200, RESPONSE)
            .unwrap();
        assert_eq!(p.user_code(), "WDJB-MJHT");
        assert_eq!(p.verification_uri(), "https://example.com/device");
        assert_eq!(p.poll_timeout(), UnixTime(105));
        assert_eq!(
            written(|w| p.write_poll_request(UnixTime(105), w).unwrap()),
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS&client_id=1406020730"
        );
    }

    #[test]
    fn polling_honours_interval_and_slow_down() {
        let mut p = DeviceFlow::new(ClientIdentity::public("c"), None)
            .handle_response::<64>(UnixTime(0), 200, RESPONSE)
            .unwrap();
        let mut sink = SliceWriter::new(&mut []);
        assert_eq!(
            p.write_poll_request(UnixTime(4), &mut sink),
            Err(ClientError::TooEarly)
        );
        let pending = br#"{"error":"authorization_pending"}"#;
        assert_eq!(
            p.handle_poll_response(UnixTime(5), 400, pending),
            Ok(PollOutcome::Pending)
        );
        assert_eq!(p.poll_timeout(), UnixTime(10));
        let slow = br#"{"error":"slow_down"}"#;
        assert_eq!(
            p.handle_poll_response(UnixTime(10), 400, slow),
            Ok(PollOutcome::Pending)
        );
        assert_eq!(p.interval(), 10);
        assert_eq!(p.poll_timeout(), UnixTime(20));
        assert_eq!(
            p.handle_poll_response(UnixTime(20), 400, br#"{"error":"access_denied"}"#),
            Err(ClientError::Server {
                status: 400,
                code: Some(ErrorCode::AccessDenied)
            })
        );
        assert_eq!(
            p.handle_poll_response(UnixTime(20), 400, br#"{"error":"expired_token"}"#),
            Err(ClientError::Expired)
        );
        let done = p
            .handle_poll_response(
                UnixTime(30),
                200,
                br#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt"}"#,
            )
            .unwrap();
        let PollOutcome::Authorized(t) = done else {
            panic!()
        };
        assert_eq!(t.access_token(), "at");
        assert_eq!(
            p.write_poll_request(UnixTime(1800), &mut sink),
            Err(ClientError::Expired)
        );
    }
}
