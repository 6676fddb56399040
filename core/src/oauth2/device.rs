//! The device authorization grant, server side (RFC 8628).
//!
//! * **Device authorization endpoint** (§3.1–§3.2):
//!   [`DeviceAuthorizationRequest::parse`] → [`DeviceAuthorization::start`]
//!   → `NeedClient` → [`DeviceDone`], which holds the JSON response
//!   (`device_code`, `user_code` shown `XXXX-XXXX`, `verification_uri`,
//!   `verification_uri_complete`, `expires_in`, `interval`) and the
//!   [`Write::StoreDevice`] to make. The client must be allowed the device
//!   grant (`unauthorized_client`) and ask within its scope
//!   (`invalid_scope`). Storing is conditional on the user code being
//!   unused; on a collision, start again with fresh randomness
//!   ([`device_authorization_endpoint`] does, up to three times).
//! * **Verification** (§3.3): the user types the code on the
//!   `verification_uri` page. [`DeviceVerification::start`] reads it
//!   ignoring case, dashes and spaces (§6.1) → `NeedDevice { user_code }` →
//!   [`PendingDevice`] (refused if unknown, expired or already decided) →
//!   [`approve`](PendingDevice::approve) or [`deny`](PendingDevice::deny),
//!   each a conditional [`Write`].
//! * **Polling** (§3.4–§3.5) is the token endpoint's device grant; see
//!   [`Exchange`](super::Exchange).
//!
//! User codes are short by design (about 34.6 bits), so the verification
//! page must be rate-limited (§5.1); that is the shell's job.

use super::client_auth::{AuthMethod, BasicCredentials, ClientCredentials};
use super::error::{ErrorCode, OAuthError, invalid_grant, invalid_request};
use super::exchange::RESPONSE_HEADERS;
use super::json;
use super::params;
use super::policy::Policy;
use super::scope::{self, Scope};
use super::store::{
    ClientId, ClientRecord, DeviceRecord, DeviceStatus, GrantType, Store, StoreError, Subject,
    Write, Writes,
};
use super::token_material::{Token, TokenHash, UserCode};
use crate::buf::BufferTooSmall;
use crate::text::Text;
use crate::time::UnixTime;
use rand_core::TryCryptoRng;

/// The headers a device authorization response carries (as the token
/// endpoint's, RFC 8628 §3.2).
pub const DEVICE_RESPONSE_HEADERS: [(&str, &str); 2] = RESPONSE_HEADERS;

/// Capacity for `verification_uri_complete`: a redirect-URI-sized
/// `verification_uri` plus `?user_code=XXXX-XXXX` and some.
const COMPLETE_CAP: usize = 288;

/// A parsed device authorization request (§3.1).
#[derive(Debug, Clone)]
pub struct DeviceAuthorizationRequest<'a> {
    /// Who asks.
    pub client: ClientCredentials<'a>,
    /// `scope`, if sent.
    pub scope: Option<Text<'a>>,
}

const NAMES: [&str; 3] = ["client_id", "client_secret", "scope"];

impl<'a> DeviceAuthorizationRequest<'a> {
    /// Parses the form body, with `Authorization: Basic` credentials if
    /// sent. A repeated parameter is `invalid_request`.
    pub fn parse(body: &'a [u8], basic: Option<BasicCredentials<'a>>) -> Result<Self, OAuthError> {
        let p = params::collect(body, &NAMES)?.no_repeats()?;
        Ok(DeviceAuthorizationRequest {
            client: ClientCredentials::resolve(basic, p.get(0), p.get(1))?,
            scope: p.get(2),
        })
    }
}

/// A device code just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIssued {
    /// The device code (for the device; only its hash is stored).
    pub device_code: Token,
    /// The user code.
    pub user_code: UserCode,
    /// Lifetime in seconds.
    pub expires_in: u64,
    /// Minimum polling interval in seconds.
    pub interval: u32,
}

#[derive(serde::Serialize)]
struct DeviceBody<'a> {
    device_code: &'a str,
    user_code: &'a str,
    verification_uri: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    verification_uri_complete: Option<&'a str>,
    expires_in: u64,
    interval: u32,
}

impl DeviceIssued {
    /// Writes the §3.2 JSON body. `verification_uri_complete` is
    /// `verification_uri` with `user_code` added to its query (left out if
    /// that is longer than 288 bytes).
    pub fn render(&self, verification_uri: &str, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let shown = self.user_code.display();
        let mut complete = heapless::String::<COMPLETE_CAP>::new();
        let sep = if verification_uri.contains('?') {
            "&"
        } else {
            "?"
        };
        let fits = complete.push_str(verification_uri).is_ok()
            && complete.push_str(sep).is_ok()
            && complete.push_str("user_code=").is_ok()
            && complete.push_str(shown.as_str()).is_ok();
        json::render(
            &DeviceBody {
                device_code: self.device_code.as_str(),
                user_code: shown.as_str(),
                verification_uri,
                verification_uri_complete: fits.then_some(complete.as_str()),
                expires_in: self.expires_in,
                interval: self.interval,
            },
            out,
        )
    }
}

/// The end of a device authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDone {
    outcome: Result<DeviceIssued, OAuthError>,
    writes: Writes,
    basic: bool,
}

impl DeviceDone {
    fn failed(e: OAuthError, method: AuthMethod) -> Self {
        DeviceDone {
            outcome: Err(e),
            writes: Writes::none(),
            basic: method == AuthMethod::ClientSecretBasic,
        }
    }

    /// The HTTP status (200, or the error's).
    pub fn http_status(&self) -> u16 {
        self.outcome
            .as_ref()
            .map_or_else(OAuthError::http_status, |_| 200)
    }

    /// The issued codes, on success.
    pub fn issued(&self) -> Option<&DeviceIssued> {
        self.outcome.as_ref().ok()
    }

    /// The error, on failure.
    pub fn error(&self) -> Option<OAuthError> {
        self.outcome.as_ref().err().copied()
    }

    /// The writes to make before answering.
    pub fn writes(&self) -> &Writes {
        &self.writes
    }

    /// Whether `invalid_client` follows an HTTP Basic attempt (so the
    /// answer needs `WWW-Authenticate`).
    pub fn needs_basic_challenge(&self) -> bool {
        self.basic
            && self
                .error()
                .is_some_and(|e| e.code == ErrorCode::InvalidClient)
    }

    /// Writes the JSON body.
    pub fn render(&self, verification_uri: &str, out: &mut [u8]) -> Result<usize, BufferTooSmall> {
        match &self.outcome {
            Ok(issued) => issued.render(verification_uri, out),
            Err(e) => e.render(out),
        }
    }
}

/// A device authorization in progress.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum DeviceAuthorization<'r> {
    /// Look up the client.
    NeedClient(DeviceNeedClient<'r>),
    /// Finished.
    Done(DeviceDone),
}

impl<'r> DeviceAuthorization<'r> {
    /// Starts; the device and user codes are drawn from `rng` now.
    pub fn start<R: TryCryptoRng + ?Sized>(
        request: DeviceAuthorizationRequest<'r>,
        now: UnixTime,
        policy: &Policy,
        rng: &mut R,
    ) -> Self {
        let method = request.client.method();
        match Token::generate(rng).and_then(|t| Ok((t, UserCode::generate(rng)?))) {
            Ok((device_code, user_code)) => DeviceAuthorization::NeedClient(DeviceNeedClient {
                request,
                now,
                policy: *policy,
                device_code,
                user_code,
            }),
            Err(e) => DeviceAuthorization::Done(DeviceDone::failed(e.into(), method)),
        }
    }
}

/// The client record is needed.
#[derive(Debug)]
pub struct DeviceNeedClient<'r> {
    request: DeviceAuthorizationRequest<'r>,
    now: UnixTime,
    policy: Policy,
    device_code: Token,
    user_code: UserCode,
}

impl DeviceNeedClient<'_> {
    /// The client identifier to look up.
    pub fn client_id(&self) -> &str {
        self.request.client.client_id()
    }

    /// Finishes with the client's record (`None`: no such client).
    pub fn provide_client(self, client: Option<&ClientRecord>) -> DeviceDone {
        let method = self.request.client.method();
        if let Err(e) = self.request.client.authenticate(client, self.now) {
            return DeviceDone::failed(e, method);
        }
        let Some(client) = client else {
            return DeviceDone::failed(OAuthError::new(ErrorCode::InvalidClient), method);
        };
        if !client.grant_types.contains(GrantType::DeviceCode) {
            return DeviceDone::failed(OAuthError::new(ErrorCode::UnauthorizedClient), method);
        }
        let scope = match scope::narrow(self.request.scope.as_ref(), &client.scope) {
            Ok(s) => s,
            Err(e) => return DeviceDone::failed(e, method),
        };
        let ttl = self.policy.device_code_ttl;
        let interval = self.policy.device_interval;
        let record = DeviceRecord {
            hash: self.device_code.hash(),
            user_code: self.user_code,
            client_id: client.client_id.clone(),
            scope,
            issued_at: self.now,
            expires_at: self.now.saturating_add(ttl),
            interval,
            last_poll: None,
            status: DeviceStatus::Pending,
        };
        DeviceDone {
            outcome: Ok(DeviceIssued {
                device_code: self.device_code,
                user_code: self.user_code,
                expires_in: ttl,
                interval,
            }),
            writes: Writes::one(Write::StoreDevice(record)),
            basic: method == AuthMethod::ClientSecretBasic,
        }
    }
}

/// The whole device authorization endpoint in one call against `store`.
/// A user code collision is retried with fresh codes, twice.
pub fn device_authorization_endpoint<S: Store + ?Sized, R: TryCryptoRng + ?Sized>(
    store: &mut S,
    authorization: Option<&str>,
    body: &[u8],
    now: UnixTime,
    policy: &Policy,
    rng: &mut R,
) -> DeviceDone {
    let mut scratch = [0u8; 256];
    let basic_attempted = authorization.is_some_and(super::client_auth::is_basic);
    let method = if basic_attempted {
        AuthMethod::ClientSecretBasic
    } else {
        AuthMethod::None
    };
    let basic = match BasicCredentials::from_header(authorization, &mut scratch) {
        Ok(b) => b,
        Err(e) => return DeviceDone::failed(e, method),
    };
    let request = match DeviceAuthorizationRequest::parse(body, basic) {
        Ok(r) => r,
        Err(e) => return DeviceDone::failed(e, method),
    };
    let mut attempts = 0u8;
    loop {
        let done = match DeviceAuthorization::start(request.clone(), now, policy, rng) {
            DeviceAuthorization::Done(d) => return d,
            DeviceAuthorization::NeedClient(n) => {
                let client = store.client(n.client_id());
                n.provide_client(client.as_ref())
            }
        };
        match store.apply_all(done.writes()) {
            Ok(()) => return done,
            Err(StoreError::Conflict) if attempts < 2 => attempts = attempts.saturating_add(1),
            Err(_) => {
                return DeviceDone::failed(
                    OAuthError::with(ErrorCode::TemporarilyUnavailable, "storage unavailable"),
                    method,
                );
            }
        }
    }
}

/// The verification page's first step: reading the typed user code.
#[derive(Debug, Clone, Copy)]
pub struct DeviceVerification;

impl DeviceVerification {
    /// Reads the code the user typed (form-encoded), ignoring case, dashes
    /// and spaces. A malformed code is `invalid_request`.
    pub fn start(user_code: &Text<'_>) -> Result<NeedDevice, OAuthError> {
        UserCode::parse_bytes(user_code.decoded())
            .map(|user_code| NeedDevice { user_code })
            .map_err(|_| invalid_request("malformed user code"))
    }
}

/// The device record for a user code is needed.
#[derive(Debug, Clone, Copy)]
pub struct NeedDevice {
    user_code: UserCode,
}

impl NeedDevice {
    /// The normalised user code to look up.
    pub fn user_code(&self) -> &UserCode {
        &self.user_code
    }

    /// Continues with the record (`None`: no such code). Unknown and
    /// already-decided codes are `invalid_grant`, expired ones
    /// `expired_token`.
    pub fn provide_device(
        self,
        device: Option<&DeviceRecord>,
        now: UnixTime,
    ) -> Result<PendingDevice, OAuthError> {
        let d = device
            .filter(|d| d.user_code == self.user_code)
            .ok_or(invalid_grant("unknown user code"))?;
        if now >= d.expires_at {
            return Err(OAuthError::new(ErrorCode::ExpiredToken));
        }
        if d.status != DeviceStatus::Pending {
            return Err(invalid_grant("user code already used"));
        }
        Ok(PendingDevice {
            hash: d.hash,
            client_id: d.client_id.clone(),
            scope: d.scope.clone(),
        })
    }
}

/// A device authorization waiting for the user's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDevice {
    hash: TokenHash,
    client_id: ClientId,
    scope: Scope,
}

impl PendingDevice {
    /// The client that asked (to show on the consent page).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The scope it asked for.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The user `subject` approved: the write to make. `None` if the
    /// subject is longer than [`MAX_SUBJECT`](super::MAX_SUBJECT).
    pub fn approve(&self, subject: &str) -> Option<Write> {
        Some(Write::ApproveDevice {
            hash: self.hash,
            subject: Subject::try_from(subject).ok()?,
        })
    }

    /// The user denied: the write to make.
    pub fn deny(&self) -> Write {
        Write::DenyDevice { hash: self.hash }
    }
}

/// Looks a typed user code up in `store` (verification, first half).
pub fn verify_user_code<S: Store + ?Sized>(
    store: &S,
    user_code: &Text<'_>,
    now: UnixTime,
) -> Result<PendingDevice, OAuthError> {
    let need = DeviceVerification::start(user_code)?;
    let record = store.device_by_user_code(need.user_code(), now);
    need.provide_device(record.as_ref(), now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth2::store::{GrantTypes, MemoryStore};
    use crate::oauth2::token_material::test_rng::{Broken, TestRng};

    fn store() -> MemoryStore<2, 8> {
        let mut s = MemoryStore::new();
        s.add_client(
            ClientRecord::new(
                "1406020730",
                None,
                &[],
                "read write",
                GrantTypes::of(&[GrantType::DeviceCode, GrantType::RefreshToken]),
            )
            .unwrap(),
        )
        .unwrap();
        s
    }

    /// RFC 8628 §3.1's request, answered in §3.2's shape.
    #[test]
    fn rfc8628_3_1_and_3_2() {
        let mut s = store();
        let d = device_authorization_endpoint(
            &mut s,
            None,
            b"client_id=1406020730&scope=read",
            UnixTime(1000),
            &Policy::DEFAULT,
            &mut TestRng(1),
        );
        assert_eq!(d.http_status(), 200);
        let issued = d.issued().unwrap();
        let mut out = [0u8; 512];
        let n = d.render("https://example.com/device", &mut out).unwrap();
        let body = core::str::from_utf8(&out[..n]).unwrap();
        let shown = issued.user_code.display();
        assert_eq!(
            body,
            std::format!(
                r#"{{"device_code":"{}","user_code":"{}","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code={}","expires_in":600,"interval":5}}"#,
                issued.device_code.as_str(),
                shown,
                shown
            )
        );
        assert_eq!(s.devices().len(), 1);
        assert_eq!(s.devices()[0].hash, issued.device_code.hash());
    }

    #[test]
    fn device_authorization_refusals() {
        let mut s = store();
        let run = |s: &mut MemoryStore<2, 8>, body: &[u8]| {
            device_authorization_endpoint(
                s,
                None,
                body,
                UnixTime(0),
                &Policy::DEFAULT,
                &mut TestRng(2),
            )
            .error()
            .map(|e| e.code)
        };
        assert_eq!(
            run(&mut s, b"client_id=nobody"),
            Some(ErrorCode::InvalidClient)
        );
        assert_eq!(
            run(&mut s, b"client_id=1406020730&scope=admin"),
            Some(ErrorCode::InvalidScope)
        );
        assert_eq!(
            run(&mut s, b"client_id=1406020730&scope=read&scope=read"),
            Some(ErrorCode::InvalidRequest)
        );
        s.add_client(
            ClientRecord::new(
                "web",
                None,
                &[],
                "",
                GrantTypes::of(&[GrantType::AuthorizationCode]),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            run(&mut s, b"client_id=web"),
            Some(ErrorCode::UnauthorizedClient)
        );
        let d = device_authorization_endpoint(
            &mut s,
            None,
            b"client_id=1406020730",
            UnixTime(0),
            &Policy::DEFAULT,
            &mut Broken,
        );
        assert_eq!(d.http_status(), 503);
    }

    #[test]
    fn verification_approves_once() {
        let mut s = store();
        let d = device_authorization_endpoint(
            &mut s,
            None,
            b"client_id=1406020730",
            UnixTime(0),
            &Policy::DEFAULT,
            &mut TestRng(3),
        );
        let code = d.issued().unwrap().user_code;
        let typed = std::format!("{}", code.display()).to_lowercase();
        let pending = verify_user_code(&s, &Text::plain(&typed), UnixTime(10)).unwrap();
        assert_eq!(pending.client_id(), "1406020730");
        s.apply(&pending.approve("alice").unwrap()).unwrap();
        assert_eq!(
            s.apply(&pending.deny()),
            Err(StoreError::Conflict),
            "a decided code cannot be decided again"
        );
        let again = verify_user_code(&s, &Text::plain(code.as_str()), UnixTime(10));
        assert_eq!(again.unwrap_err().code, ErrorCode::InvalidGrant);
        // An expired device code no longer holds its user code (the Store
        // contract): the same answer as an unknown code, on every store.
        let expired = verify_user_code(&s, &Text::plain(code.as_str()), UnixTime(600));
        assert_eq!(expired.unwrap_err().code, ErrorCode::InvalidGrant);
        assert_eq!(
            verify_user_code(&s, &Text::plain("BCDF-GHJK"), UnixTime(10))
                .unwrap_err()
                .code,
            ErrorCode::InvalidGrant
        );
        assert_eq!(
            verify_user_code(&s, &Text::plain("nope"), UnixTime(10))
                .unwrap_err()
                .code,
            ErrorCode::InvalidRequest
        );
    }
}
