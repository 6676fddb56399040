//! What the authorization server remembers, as plain records, and the
//! writes the core asks its caller to make.
//!
//! The core never performs storage. The state machines ask for a record
//! (by client id, or by the [`TokenHash`] of a presented code, refresh
//! token or device code) and finish with a list of [`Write`]s. The tokio
//! shell answers from its database with async queries and performs the
//! writes in a transaction; firmware and tests use [`MemoryStore`], a
//! fixed-capacity table set implementing the synchronous [`Store`] trait,
//! through the one-call drivers ([`drive_exchange`](super::drive_exchange)
//! and friends).
//!
//! ## Conditional writes
//!
//! Some writes are compare-and-set ([`Write::is_conditional`]): consuming
//! a code, retiring a refresh token, redeeming, approving or denying a
//! device code, and storing a device code (whose user code must be unused).
//! Two requests racing with the same code both see it unused when they
//! read it; the store settles the race. A store reports the loser with
//! [`StoreError::Conflict`], and the caller then sends
//! [`Done::conflict`](super::Done::conflict)'s answer instead — which for a
//! code or refresh token is `invalid_grant` plus revoking the family, the
//! same as any other reuse. Conditional writes come first in every list,
//! so nothing has been written when one fails.
//!
//! Retiring a refresh token carries the policy's grace window
//! ([`Write::RetireRefreshToken`]): within it, a token already retired may
//! be retired "again" (its first retirement time stays), so the loser of
//! two concurrent refreshes with one token — the lost-answer case the
//! window is for — gets its own new pair from the store's compare-and-set
//! itself, with no second read and no retry.
//!
//! ## Families
//!
//! Every token descends from one root grant — an authorization code, a
//! device code, or (for `client_credentials`) the access token itself —
//! and carries that root's [`FamilyId`]. Revoking a family (code reuse,
//! RFC 6749 §4.1.2 and RFC 9700 §4.5; refresh token reuse, RFC 9700 §4.14;
//! revoking a refresh token, RFC 7009 §2.1) removes every access and
//! refresh token that carries it.
//!
//! ## Sizes
//!
//! Identifiers, scopes and URIs are fixed-capacity strings:
//! [`MAX_CLIENT_ID`], [`MAX_REDIRECT_URI`], [`MAX_SUBJECT`],
//! [`MAX_SCOPE`](super::MAX_SCOPE) bytes, and up to [`MAX_REDIRECT_URIS`]
//! redirect URIs per client.

use super::pkce::{self, ChallengeMethod};
use super::scope::Scope;
use super::token_material::{TokenHash, UserCode};
use crate::buf::CapacityError;
use crate::text::Text;
use crate::time::UnixTime;
use core::fmt;

/// Capacity of a client identifier.
pub const MAX_CLIENT_ID: usize = 64;
/// Capacity of a redirect URI.
pub const MAX_REDIRECT_URI: usize = 256;
/// Redirect URIs per client.
pub const MAX_REDIRECT_URIS: usize = 4;
/// Capacity of a resource owner identifier.
pub const MAX_SUBJECT: usize = 64;

/// A client identifier.
pub type ClientId = heapless::String<MAX_CLIENT_ID>;
/// A redirect URI.
pub type RedirectUri = heapless::String<MAX_REDIRECT_URI>;
/// A resource owner (user) identifier.
pub type Subject = heapless::String<MAX_SUBJECT>;

fn copy<const N: usize>(s: &str) -> Result<heapless::String<N>, CapacityError> {
    heapless::String::try_from(s).map_err(|_| CapacityError { capacity: N })
}

/// A grant type (RFC 6749 §4, RFC 8628 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GrantType {
    /// `authorization_code` (RFC 6749 §4.1.3).
    AuthorizationCode,
    /// `refresh_token` (RFC 6749 §6).
    RefreshToken,
    /// `client_credentials` (RFC 6749 §4.4).
    ClientCredentials,
    /// `urn:ietf:params:oauth:grant-type:device_code` (RFC 8628 §3.4).
    DeviceCode,
}

impl GrantType {
    /// Every grant type, in the order of [`GrantTypes`]' bits.
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
    ];

    /// The `grant_type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
        }
    }

    /// The grant type with this name.
    pub fn from_text(t: &Text<'_>) -> Option<Self> {
        Self::ALL.into_iter().find(|g| t.eq_str(g.as_str()))
    }

    const fn bit(self) -> u8 {
        match self {
            GrantType::AuthorizationCode => 1,
            GrantType::RefreshToken => 2,
            GrantType::ClientCredentials => 4,
            GrantType::DeviceCode => 8,
        }
    }
}

/// A set of grant types a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GrantTypes(u8);

impl GrantTypes {
    /// No grant at all.
    pub const NONE: GrantTypes = GrantTypes(0);
    /// Every grant type.
    pub const ALL: GrantTypes = GrantTypes(15);

    /// The set holding `grants`.
    pub const fn of(grants: &[GrantType]) -> GrantTypes {
        let mut bits = 0u8;
        let mut rest = grants;
        while let [g, tail @ ..] = rest {
            bits |= g.bit();
            rest = tail;
        }
        GrantTypes(bits)
    }

    /// Whether `grant` is in the set.
    pub const fn contains(self, grant: GrantType) -> bool {
        self.0 & grant.bit() != 0
    }

    /// The set with `grant` added.
    pub const fn with(self, grant: GrantType) -> GrantTypes {
        GrantTypes(self.0 | grant.bit())
    }
}

/// A registered client.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client identifier (RFC 6749 §2.2).
    pub client_id: ClientId,
    /// SHA-256 of the client secret for a confidential client; `None` for a
    /// public client (RFC 6749 §2.1), which authenticates with `none`.
    pub secret_hash: Option<TokenHash>,
    /// The secret before the last rotation, still accepted until its time
    /// (an operator's `rotate-secret --grace`), so a deployment can move to
    /// the new secret without downtime.
    pub previous_secret: Option<PreviousSecret>,
    /// The registered redirect URIs, matched exactly (RFC 9700 §4.1.3).
    pub redirect_uris: heapless::Vec<RedirectUri, MAX_REDIRECT_URIS>,
    /// The scopes the client may ask for; also the default scope.
    pub scope: Scope,
    /// The grants the client may use; others are `unauthorized_client`.
    pub grant_types: GrantTypes,
    /// Whether PKCE `plain` is accepted from this client (S256 always is).
    pub allow_plain_pkce: bool,
    /// A legacy confidential client that may redeem codes without PKCE
    /// even though [`Policy::require_pkce_for_confidential`] is set (public
    /// clients never may).
    ///
    /// [`Policy::require_pkce_for_confidential`]: super::Policy::require_pkce_for_confidential
    pub allow_no_pkce: bool,
    /// A resource server: may introspect tokens issued to any client (RFC
    /// 7662 §4). Other clients see only their own tokens.
    pub resource_server: bool,
    /// The algorithm its id_tokens are signed with (OpenID Connect
    /// Registration `id_token_signed_response_alg`; RS256 by default).
    pub id_token_alg: crate::jose::Alg,
    /// Issue RFC 9068 JWT access tokens to this client instead of opaque
    /// ones.
    pub jwt_access_tokens: bool,
}

impl ClientRecord {
    /// A client record. `secret` is `None` for a public client; it is
    /// stored only as its SHA-256.
    pub fn new(
        client_id: &str,
        secret: Option<&str>,
        redirect_uris: &[&str],
        scope: &str,
        grant_types: GrantTypes,
    ) -> Result<Self, CapacityError> {
        let mut uris = heapless::Vec::new();
        for uri in redirect_uris {
            uris.push(copy(uri)?).map_err(|_| CapacityError {
                capacity: MAX_REDIRECT_URIS,
            })?;
        }
        Ok(ClientRecord {
            client_id: copy(client_id)?,
            secret_hash: secret.map(|s| TokenHash::of(s.as_bytes())),
            previous_secret: None,
            redirect_uris: uris,
            scope: copy(scope)?,
            grant_types,
            allow_plain_pkce: false,
            allow_no_pkce: false,
            resource_server: false,
            id_token_alg: crate::jose::Alg::Rs256,
            jwt_access_tokens: false,
        })
    }

    /// Whether this is a public client (no secret).
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
}

/// A client secret replaced by a newer one but accepted until `until`
/// (exclusive), stored as its SHA-256 like the current one.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PreviousSecret {
    /// SHA-256 of the old secret.
    pub hash: TokenHash,
    /// The first second it is no longer accepted.
    pub until: UnixTime,
}

impl fmt::Debug for PreviousSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreviousSecret")
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ClientRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRecord")
            .field("client_id", &self.client_id)
            .field("public", &self.is_public())
            .field("previous_secret", &self.previous_secret)
            .field("redirect_uris", &self.redirect_uris)
            .field("scope", &self.scope)
            .field("grant_types", &self.grant_types)
            .field("allow_plain_pkce", &self.allow_plain_pkce)
            .field("allow_no_pkce", &self.allow_no_pkce)
            .field("resource_server", &self.resource_server)
            .field("id_token_alg", &self.id_token_alg)
            .field("jwt_access_tokens", &self.jwt_access_tokens)
            .finish()
    }
}

/// The identity of a token family; see the module docs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FamilyId(pub [u8; 16]);

impl FamilyId {
    /// The family rooted at the grant with this hash.
    pub fn of(root: &TokenHash) -> FamilyId {
        let mut id = [0u8; 16];
        id.copy_from_slice(root.0.get(..16).unwrap_or(&[0; 16]));
        FamilyId(id)
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FamilyId(")?;
        // The last bytes: an ordered token's hash starts with its time.
        for b in self.0.get(10..).unwrap_or(&[]) {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

/// A PKCE challenge remembered with a code (RFC 7636 §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkceChallenge {
    /// How the challenge was derived.
    pub method: ChallengeMethod,
    /// The challenge as sent.
    pub value: heapless::String<{ pkce::MAX_LEN }>,
}

/// An issued authorization code (RFC 6749 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// SHA-256 of the code.
    pub hash: TokenHash,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The resource owner who approved.
    pub subject: Subject,
    /// The granted scope.
    pub scope: Scope,
    /// The redirect URI the code was delivered to.
    pub redirect_uri: RedirectUri,
    /// Whether `redirect_uri` was in the authorization request; if so the
    /// token request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    /// The PKCE challenge, if one was sent.
    pub challenge: Option<PkceChallenge>,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it stops being accepted (at most 10 minutes, RFC 6749 §4.1.2).
    pub expires_at: UnixTime,
    /// Whether it has been exchanged already.
    pub consumed: bool,
    /// For an OpenID Connect request (`openid` in scope): its `nonce` and
    /// the `auth_time` of the login that approved it.
    pub oidc: Option<crate::oidc::OidcGrant>,
}

impl CodeRecord {
    /// The family of the tokens issued from this code.
    pub fn family(&self) -> FamilyId {
        FamilyId::of(&self.hash)
    }
}

/// An issued access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The grant family it descends from.
    pub family: FamilyId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The resource owner, if any (`client_credentials` has none).
    pub subject: Option<Subject>,
    /// The granted scope.
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
}

/// An issued refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The grant family it descends from.
    pub family: FamilyId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The resource owner, if any.
    pub subject: Option<Subject>,
    /// The scope of the original grant (RFC 6749 §6: a rotated refresh
    /// token keeps it, however narrow the access tokens asked for).
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires, if ever.
    pub expires_at: Option<UnixTime>,
    /// When it was used (rotated), if it has been: presenting it again
    /// revokes the family (RFC 9700 §4.14.2), unless the same client does
    /// so within the grace window ([`Policy::refresh_grace`]) after this
    /// time. A store that knows a token was retired but not when says
    /// `Some(UnixTime(0))`: rotated long ago.
    ///
    /// [`Policy::refresh_grace`]: super::Policy::refresh_grace
    pub retired_at: Option<UnixTime>,
    /// For an OpenID Connect grant: the `auth_time` of the login, repeated
    /// in every id_token a refresh issues (OpenID Connect Core 1.0 §12.2).
    pub auth_time: Option<UnixTime>,
}

impl RefreshRecord {
    /// Whether it has been rotated out.
    pub fn is_retired(&self) -> bool {
        self.retired_at.is_some()
    }

    /// Whether presenting it at `now` is reuse (RFC 9700 §4.14.2) under a
    /// grace window of `grace` seconds: it was retired, and not less than
    /// `grace` seconds before `now`. With `grace` 0 every presentation of
    /// a retired token is reuse. A retirement later than `now` (a
    /// concurrent request got there first) is within any window.
    pub fn is_reuse(&self, now: UnixTime, grace: u64) -> bool {
        match self.retired_at {
            None => false,
            Some(at) => grace == 0 || now >= at.saturating_add(grace),
        }
    }
}

/// Where a device authorization stands (RFC 8628 §3.3–§3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// Approved by this resource owner; not yet exchanged.
    Approved(Subject),
    /// Denied by the user.
    Denied,
    /// Exchanged for tokens.
    Redeemed,
}

/// An issued device code (RFC 8628 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// SHA-256 of the device code.
    pub hash: TokenHash,
    /// The user code shown to the user.
    pub user_code: UserCode,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The requested scope.
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
    /// The current minimum polling interval in seconds.
    pub interval: u32,
    /// When the client last polled.
    pub last_poll: Option<UnixTime>,
    /// Where the authorization stands.
    pub status: DeviceStatus,
}

impl DeviceRecord {
    /// The family of the tokens issued from this device code.
    pub fn family(&self) -> FamilyId {
        FamilyId::of(&self.hash)
    }
}

/// Which kind of grant a presented credential is looked up as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GrantKind {
    /// An authorization code.
    AuthorizationCode,
    /// A refresh token.
    RefreshToken,
    /// A device code.
    DeviceCode,
}

/// A grant record, as the token endpoint needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum GrantRecord {
    /// An authorization code.
    AuthorizationCode(CodeRecord),
    /// A refresh token.
    RefreshToken(RefreshRecord),
    /// A device code.
    DeviceCode(DeviceRecord),
}

/// An access or refresh token record, as introspection and revocation
/// need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRecord {
    /// An access token.
    Access(AccessRecord),
    /// A refresh token.
    Refresh(RefreshRecord),
}

/// A change the caller must make to its storage. See the module docs for
/// which writes are conditional.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with: the value lives once, on the caller's stack"
)]
pub enum Write {
    /// Store a new authorization code.
    StoreCode(CodeRecord),
    /// Mark a code consumed — *conditional*: only if not consumed yet.
    ConsumeCode {
        /// The code's hash.
        hash: TokenHash,
    },
    /// Store a new access token.
    StoreAccessToken(AccessRecord),
    /// Store a new refresh token.
    StoreRefreshToken(RefreshRecord),
    /// Mark a refresh token retired at `at` — *conditional*: only if not
    /// retired yet or, with a grace window, if presenting it at `at` is
    /// not reuse ([`RefreshRecord::is_reuse`]`(at, grace)` is false; the
    /// first retirement time is then kept). The lost race of two refreshes
    /// with one token therefore succeeds within the window, and conflicts
    /// without one.
    RetireRefreshToken {
        /// The token's hash.
        hash: TokenHash,
        /// When (the exchange's `now`).
        at: UnixTime,
        /// The grace window in seconds ([`Policy::effective_refresh_grace`]);
        /// 0 for strict rotation.
        ///
        /// [`Policy::effective_refresh_grace`]: super::Policy::effective_refresh_grace
        grace: u64,
    },
    /// Store a new device code — *conditional*: only if no unexpired device
    /// code has the same user code.
    StoreDevice(DeviceRecord),
    /// Remember a device poll and the (possibly grown) interval.
    RecordDevicePoll {
        /// The device code's hash.
        hash: TokenHash,
        /// When the poll happened.
        at: UnixTime,
        /// The interval from now on.
        interval: u32,
    },
    /// The user approved — *conditional*: only if still pending.
    ApproveDevice {
        /// The device code's hash.
        hash: TokenHash,
        /// Who approved.
        subject: Subject,
    },
    /// The user denied — *conditional*: only if still pending.
    DenyDevice {
        /// The device code's hash.
        hash: TokenHash,
    },
    /// Mark an approved device code exchanged — *conditional*: only if
    /// approved and not yet redeemed.
    RedeemDevice {
        /// The device code's hash.
        hash: TokenHash,
    },
    /// Remove (or mark revoked) every access and refresh token of a family.
    RevokeFamily {
        /// The family.
        family: FamilyId,
    },
    /// Remove (or mark revoked) one access token.
    RevokeAccessToken {
        /// The token's hash.
        hash: TokenHash,
    },
}

impl Write {
    /// Whether the write is compare-and-set; see the module docs.
    pub fn is_conditional(&self) -> bool {
        matches!(
            self,
            Write::ConsumeCode { .. }
                | Write::RetireRefreshToken { .. }
                | Write::StoreDevice(_)
                | Write::ApproveDevice { .. }
                | Write::DenyDevice { .. }
                | Write::RedeemDevice { .. }
        )
    }
}

/// The most writes any one step asks for.
pub const MAX_WRITES: usize = 3;

/// The writes of one step, in the order they must be made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Writes(heapless::Vec<Write, MAX_WRITES>);

impl Writes {
    /// No writes.
    pub const fn none() -> Writes {
        Writes(heapless::Vec::new())
    }

    pub(crate) fn one(a: Write) -> Writes {
        Writes(heapless::Vec::from_array([a]))
    }

    pub(crate) fn two(a: Write, b: Write) -> Writes {
        Writes(heapless::Vec::from_array([a, b]))
    }

    pub(crate) fn three(a: Write, b: Write, c: Write) -> Writes {
        Writes(heapless::Vec::from_array([a, b, c]))
    }

    /// The writes, to change in place (the core's own rewrites only).
    pub(crate) fn as_mut_slice(&mut self) -> &mut [Write] {
        self.0.as_mut_slice()
    }

    /// The writes.
    pub fn as_slice(&self) -> &[Write] {
        &self.0
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The writes, in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Write> {
        self.0.iter()
    }
}

impl<'w> IntoIterator for &'w Writes {
    type Item = &'w Write;
    type IntoIter = core::slice::Iter<'w, Write>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Why a store refused a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StoreError {
    /// A conditional write lost: the row was already consumed, retired,
    /// decided or redeemed, or the user code is taken.
    Conflict,
    /// The row to change does not exist (any more).
    NotFound,
    /// No room for a new row.
    Full,
    /// The storage itself failed (a database error, an I/O error): try
    /// again later.
    Unavailable,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::Conflict => "conditional write lost a race",
            StoreError::NotFound => "no such record",
            StoreError::Full => "store is full",
            StoreError::Unavailable => "storage unavailable",
        })
    }
}

impl core::error::Error for StoreError {}

/// Synchronous storage the drivers run against. The tokio shell answers
/// the state machines itself instead, with async queries.
pub trait Store {
    /// The client with this identifier.
    fn client(&self, client_id: &str) -> Option<ClientRecord>;
    /// The grant of this kind with this hash.
    fn grant(&self, kind: GrantKind, hash: &TokenHash) -> Option<GrantRecord>;
    /// The access or refresh token with this hash.
    fn token(&self, hash: &TokenHash) -> Option<TokenRecord>;
    /// The newest device code with this user code that is unexpired at
    /// `now` (an expired one is not found: its user code may already
    /// belong to a newer device code).
    fn device_by_user_code(&self, user_code: &UserCode, now: UnixTime) -> Option<DeviceRecord>;
    /// Makes one write; conditional writes report [`StoreError::Conflict`].
    fn apply(&mut self, write: &Write) -> Result<(), StoreError>;

    /// Makes every write in order, stopping at the first failure.
    fn apply_all(&mut self, writes: &Writes) -> Result<(), StoreError> {
        writes.iter().try_for_each(|w| self.apply(w))
    }
}

/// A fixed-capacity [`Store`]: up to `C` clients and `N` rows in each of
/// the code, access token, refresh token and device code tables. Expired
/// rows stay until [`purge_expired`](Self::purge_expired) removes them.
#[derive(Debug, Clone)]
pub struct MemoryStore<const C: usize, const N: usize> {
    clients: heapless::Vec<ClientRecord, C>,
    codes: heapless::Vec<CodeRecord, N>,
    access: heapless::Vec<AccessRecord, N>,
    refresh: heapless::Vec<RefreshRecord, N>,
    devices: heapless::Vec<DeviceRecord, N>,
}

impl<const C: usize, const N: usize> Default for MemoryStore<C, N> {
    fn default() -> Self {
        Self::new()
    }
}

fn push<T, const N: usize>(v: &mut heapless::Vec<T, N>, item: T) -> Result<(), StoreError> {
    v.push(item).map_err(|_| StoreError::Full)
}

impl<const C: usize, const N: usize> MemoryStore<C, N> {
    /// An empty store.
    pub const fn new() -> Self {
        MemoryStore {
            clients: heapless::Vec::new(),
            codes: heapless::Vec::new(),
            access: heapless::Vec::new(),
            refresh: heapless::Vec::new(),
            devices: heapless::Vec::new(),
        }
    }

    /// Registers a client, replacing one with the same identifier.
    pub fn add_client(&mut self, client: ClientRecord) -> Result<(), StoreError> {
        self.clients.retain(|c| c.client_id != client.client_id);
        push(&mut self.clients, client)
    }

    /// Removes every expired row.
    pub fn purge_expired(&mut self, now: UnixTime) {
        self.codes.retain(|c| c.expires_at > now);
        self.access.retain(|a| a.expires_at > now);
        self.refresh
            .retain(|r| r.expires_at.is_none_or(|exp| exp > now));
        self.devices.retain(|d| d.expires_at > now);
    }

    /// Stored access tokens.
    pub fn access_tokens(&self) -> &[AccessRecord] {
        &self.access
    }

    /// Stored refresh tokens (retired ones included).
    pub fn refresh_tokens(&self) -> &[RefreshRecord] {
        &self.refresh
    }

    /// Stored codes (consumed ones included).
    pub fn codes(&self) -> &[CodeRecord] {
        &self.codes
    }

    /// Stored device codes.
    pub fn devices(&self) -> &[DeviceRecord] {
        &self.devices
    }

    /// Why `write` would fail now, given `inserts` rows per table (codes,
    /// access, refresh, devices) already planned by the same batch: the
    /// checks [`Store::apply`] makes, without making the write.
    fn refusal(&self, write: &Write, inserts: &mut [usize; 4]) -> Option<StoreError> {
        let room = |len: usize, planned: &mut usize| {
            *planned = planned.saturating_add(1);
            (len.saturating_add(*planned) > N).then_some(StoreError::Full)
        };
        let device = |hash: &TokenHash| self.devices.iter().find(|d| d.hash.ct_eq(hash));
        let [codes, access, refresh, devices] = inserts;
        match write {
            Write::StoreCode(_) => room(self.codes.len(), codes),
            Write::StoreAccessToken(_) => room(self.access.len(), access),
            Write::StoreRefreshToken(_) => room(self.refresh.len(), refresh),
            Write::StoreDevice(d) => {
                if self
                    .devices
                    .iter()
                    .any(|other| other.user_code == d.user_code && d.issued_at < other.expires_at)
                {
                    Some(StoreError::Conflict)
                } else {
                    room(self.devices.len(), devices)
                }
            }
            Write::ConsumeCode { hash } => match self.codes.iter().find(|c| c.hash.ct_eq(hash)) {
                None => Some(StoreError::NotFound),
                Some(c) => c.consumed.then_some(StoreError::Conflict),
            },
            Write::RetireRefreshToken { hash, at, grace } => {
                match self.refresh.iter().find(|r| r.hash.ct_eq(hash)) {
                    None => Some(StoreError::NotFound),
                    Some(r) => r.is_reuse(*at, *grace).then_some(StoreError::Conflict),
                }
            }
            Write::RecordDevicePoll { hash, .. } => {
                device(hash).is_none().then_some(StoreError::NotFound)
            }
            Write::ApproveDevice { hash, .. } | Write::DenyDevice { hash } => match device(hash) {
                None => Some(StoreError::NotFound),
                Some(d) => (d.status != DeviceStatus::Pending).then_some(StoreError::Conflict),
            },
            Write::RedeemDevice { hash } => match device(hash) {
                None => Some(StoreError::NotFound),
                Some(d) => {
                    (!matches!(d.status, DeviceStatus::Approved(_))).then_some(StoreError::Conflict)
                }
            },
            Write::RevokeFamily { .. } | Write::RevokeAccessToken { .. } => None,
        }
    }

    fn device_mut(&mut self, hash: &TokenHash) -> Result<&mut DeviceRecord, StoreError> {
        self.devices
            .iter_mut()
            .find(|d| d.hash.ct_eq(hash))
            .ok_or(StoreError::NotFound)
    }
}

impl<const C: usize, const N: usize> Store for MemoryStore<C, N> {
    fn client(&self, client_id: &str) -> Option<ClientRecord> {
        self.clients
            .iter()
            .find(|c| c.client_id == client_id)
            .cloned()
    }

    fn grant(&self, kind: GrantKind, hash: &TokenHash) -> Option<GrantRecord> {
        match kind {
            GrantKind::AuthorizationCode => self
                .codes
                .iter()
                .find(|c| c.hash.ct_eq(hash))
                .cloned()
                .map(GrantRecord::AuthorizationCode),
            GrantKind::RefreshToken => self
                .refresh
                .iter()
                .find(|r| r.hash.ct_eq(hash))
                .cloned()
                .map(GrantRecord::RefreshToken),
            GrantKind::DeviceCode => self
                .devices
                .iter()
                .find(|d| d.hash.ct_eq(hash))
                .cloned()
                .map(GrantRecord::DeviceCode),
        }
    }

    fn token(&self, hash: &TokenHash) -> Option<TokenRecord> {
        if let Some(a) = self.access.iter().find(|a| a.hash.ct_eq(hash)) {
            return Some(TokenRecord::Access(a.clone()));
        }
        self.refresh
            .iter()
            .find(|r| r.hash.ct_eq(hash))
            .cloned()
            .map(TokenRecord::Refresh)
    }

    fn device_by_user_code(&self, user_code: &UserCode, now: UnixTime) -> Option<DeviceRecord> {
        self.devices
            .iter()
            .filter(|d| d.user_code == *user_code && now < d.expires_at)
            .max_by_key(|d| d.issued_at)
            .cloned()
    }

    fn apply(&mut self, write: &Write) -> Result<(), StoreError> {
        match write {
            Write::StoreCode(c) => push(&mut self.codes, c.clone()),
            Write::ConsumeCode { hash } => {
                let c = self
                    .codes
                    .iter_mut()
                    .find(|c| c.hash.ct_eq(hash))
                    .ok_or(StoreError::NotFound)?;
                if c.consumed {
                    return Err(StoreError::Conflict);
                }
                c.consumed = true;
                Ok(())
            }
            Write::StoreAccessToken(a) => push(&mut self.access, a.clone()),
            Write::StoreRefreshToken(r) => push(&mut self.refresh, r.clone()),
            Write::RetireRefreshToken { hash, at, grace } => {
                let r = self
                    .refresh
                    .iter_mut()
                    .find(|r| r.hash.ct_eq(hash))
                    .ok_or(StoreError::NotFound)?;
                if r.is_reuse(*at, *grace) {
                    return Err(StoreError::Conflict);
                }
                if r.retired_at.is_none() {
                    r.retired_at = Some(*at);
                }
                Ok(())
            }
            Write::StoreDevice(d) => {
                // Only an unexpired device code holds its user code (at the
                // new record's issue time, the caller's "now").
                if self
                    .devices
                    .iter()
                    .any(|other| other.user_code == d.user_code && d.issued_at < other.expires_at)
                {
                    return Err(StoreError::Conflict);
                }
                push(&mut self.devices, d.clone())
            }
            Write::RecordDevicePoll { hash, at, interval } => {
                let d = self.device_mut(hash)?;
                d.last_poll = Some(*at);
                d.interval = *interval;
                Ok(())
            }
            Write::ApproveDevice { hash, subject } => {
                let d = self.device_mut(hash)?;
                if d.status != DeviceStatus::Pending {
                    return Err(StoreError::Conflict);
                }
                d.status = DeviceStatus::Approved(subject.clone());
                Ok(())
            }
            Write::DenyDevice { hash } => {
                let d = self.device_mut(hash)?;
                if d.status != DeviceStatus::Pending {
                    return Err(StoreError::Conflict);
                }
                d.status = DeviceStatus::Denied;
                Ok(())
            }
            Write::RedeemDevice { hash } => {
                let d = self.device_mut(hash)?;
                if !matches!(d.status, DeviceStatus::Approved(_)) {
                    return Err(StoreError::Conflict);
                }
                d.status = DeviceStatus::Redeemed;
                Ok(())
            }
            Write::RevokeFamily { family } => {
                self.access.retain(|a| a.family != *family);
                self.refresh.retain(|r| r.family != *family);
                Ok(())
            }
            Write::RevokeAccessToken { hash } => {
                self.access.retain(|a| !a.hash.ct_eq(hash));
                Ok(())
            }
        }
    }

    /// All or nothing: every write is checked before any is made (a batch
    /// never names one row twice; the core's batches don't).
    fn apply_all(&mut self, writes: &Writes) -> Result<(), StoreError> {
        let mut inserts = [0usize; 4];
        if let Some(e) = writes.iter().find_map(|w| self.refusal(w, &mut inserts)) {
            return Err(e);
        }
        writes.iter().try_for_each(|w| self.apply(w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(hash: u8) -> CodeRecord {
        CodeRecord {
            hash: TokenHash([hash; 32]),
            client_id: copy("c").unwrap(),
            subject: copy("u").unwrap(),
            scope: copy("read").unwrap(),
            redirect_uri: copy("https://c.example/cb").unwrap(),
            redirect_uri_sent: true,
            challenge: None,
            issued_at: UnixTime(0),
            expires_at: UnixTime(600),
            consumed: false,
            oidc: None,
        }
    }

    #[test]
    fn consume_is_compare_and_set() {
        let mut s = MemoryStore::<1, 2>::new();
        s.apply(&Write::StoreCode(code(1))).unwrap();
        let consume = Write::ConsumeCode {
            hash: TokenHash([1; 32]),
        };
        assert!(consume.is_conditional());
        assert_eq!(s.apply(&consume), Ok(()));
        assert_eq!(s.apply(&consume), Err(StoreError::Conflict));
        assert_eq!(
            s.apply(&Write::ConsumeCode {
                hash: TokenHash([2; 32])
            }),
            Err(StoreError::NotFound)
        );
    }

    #[test]
    fn capacity_and_purge() {
        let mut s = MemoryStore::<1, 1>::new();
        s.apply(&Write::StoreCode(code(1))).unwrap();
        assert_eq!(s.apply(&Write::StoreCode(code(2))), Err(StoreError::Full));
        s.purge_expired(UnixTime(600));
        assert!(s.codes().is_empty());
        assert_eq!(s.apply(&Write::StoreCode(code(2))), Ok(()));
    }

    #[test]
    fn grant_type_sets() {
        let g = GrantTypes::of(&[GrantType::AuthorizationCode, GrantType::RefreshToken]);
        assert!(g.contains(GrantType::RefreshToken));
        assert!(!g.contains(GrantType::ClientCredentials));
        assert!(GrantTypes::ALL.contains(GrantType::DeviceCode));
        assert!(
            GrantTypes::NONE
                .with(GrantType::DeviceCode)
                .contains(GrantType::DeviceCode)
        );
    }

    #[test]
    fn client_debug_hides_the_secret_hash() {
        let c = ClientRecord::new("c", Some("s3cret"), &[], "", GrantTypes::ALL).unwrap();
        assert!(!c.is_public());
        let shown = std::format!("{c:?}");
        assert!(!shown.contains("secret_hash"));
    }
}
