//! Row codecs: the core's records to and from SQL values (hashes as
//! lowercase hex, times as Unix seconds, lists as lines), and each of the
//! core's [`Write`]s as the SQL statements that make it ([`statements`]),
//! so that the SQLite writer (rusqlite) and the PostgreSQL path (sqlx) run
//! the same SQL with the same values.
//!
//! **Self-rooted families.** A `client_credentials` access token is the
//! root of its own family (`FamilyId::of(its hash)`): no other token can
//! ever share it. Its `family` column is stored empty, which keeps it out
//! of the (partial) family index — one B-tree insert fewer per issued
//! token, the busiest write there is — and revoking such a family finds
//! the token by its hash prefix instead ([`FAMILY_REVOCATION`]).

use super::clients::ClientRow;
use super::error::DbError;
use crate::crypto::SecretBox;
use latch_core::UnixTime;
use latch_core::oauth2::{
    AccessRecord, ChallengeMethod, ClientRecord, CodeRecord, DeviceRecord, DeviceStatus, FamilyId,
    GrantType, GrantTypes, PkceChallenge, RefreshRecord, TokenHash, UserCode, Write,
};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The non-empty lines of a stored list column.
pub(crate) fn lines(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn hex32(h: &TokenHash) -> String {
    hex::encode(h.0)
}

pub(crate) fn family_hex(f: &FamilyId) -> String {
    hex::encode(f.0)
}

pub(crate) fn parse_hash(s: &str) -> Option<TokenHash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out)
        .ok()
        .map(|()| TokenHash(out))
}

pub(crate) fn parse_family(s: &str) -> Option<FamilyId> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out)
        .ok()
        .map(|()| FamilyId(out))
}

pub(crate) fn secs(t: UnixTime) -> i64 {
    i64::try_from(t.as_secs()).unwrap_or(i64::MAX)
}

pub(crate) fn time(v: i64) -> UnixTime {
    UnixTime(u64::try_from(v).unwrap_or(0))
}

pub(crate) fn hs<const N: usize>(s: &str) -> Option<heapless::String<N>> {
    heapless::String::try_from(s).ok()
}

/// The space-separated grant type names a client row stores.
pub fn grant_types_from(names: &str) -> GrantTypes {
    names.split(' ').fold(GrantTypes::NONE, |g, n| {
        GrantType::ALL
            .iter()
            .find(|t| t.as_str() == n)
            .map_or(g, |t| g.with(*t))
    })
}

/// The core's view of a client row: the secret is opened and hashed (the
/// core compares SHA-256 digests in constant time). `None` if the row does
/// not fit the core's capacities (the CLI refuses such clients).
/// `jwt_by_default`: `[oauth2] access_token_format = "jwt"`, for clients
/// registered without a format of their own.
pub fn client_record(
    row: &ClientRow,
    secret_box: &SecretBox,
    jwt_by_default: bool,
) -> Result<Option<ClientRecord>, DbError> {
    let secret = match &row.secret_box {
        Some(b) => Some(
            secret_box
                .open(&row.id, b)
                .map_err(|e| DbError::Other(sqlx::Error::Decode(Box::new(e))))?,
        ),
        None => None,
    };
    let uris: Vec<&str> = row.redirect_uris.iter().map(String::as_str).collect();
    let Ok(mut record) = ClientRecord::new(
        &row.id,
        secret.as_deref(),
        &uris,
        &row.scope,
        grant_types_from(&row.grant_types),
    ) else {
        return Ok(None);
    };
    if let Some((sealed, until)) = &row.previous_secret {
        let old = secret_box
            .open(&row.id, sealed)
            .map_err(|e| DbError::Other(sqlx::Error::Decode(Box::new(e))))?;
        record.previous_secret = Some(latch_core::oauth2::PreviousSecret {
            hash: TokenHash::of(old.as_bytes()),
            until: time(*until),
        });
    }
    record.allow_plain_pkce = row.allow_plain_pkce;
    record.allow_no_pkce = row.allow_no_pkce && !row.public;
    record.resource_server = row.resource_server && !row.public;
    record.id_token_alg =
        latch_core::jose::Alg::parse(&row.id_token_alg).unwrap_or(latch_core::jose::Alg::Rs256);
    record.jwt_access_tokens = match row.access_token_format.as_str() {
        "jwt" => true,
        "opaque" => false,
        _ => jwt_by_default,
    };
    Ok(Some(record))
}

pub(crate) fn code_row(r: &AnyRow) -> Option<CodeRecord> {
    let challenge = match (
        r.try_get::<Option<String>, _>("challenge_method").ok()?,
        r.try_get::<Option<String>, _>("challenge").ok()?,
    ) {
        (Some(m), Some(v)) => Some(PkceChallenge {
            method: if m == "plain" {
                ChallengeMethod::Plain
            } else {
                ChallengeMethod::S256
            },
            value: hs(&v)?,
        }),
        _ => None,
    };
    Some(CodeRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        subject: hs(r.try_get("subject").ok()?)?,
        scope: hs(r.try_get("scope").ok()?)?,
        redirect_uri: hs(r.try_get("redirect_uri").ok()?)?,
        redirect_uri_sent: r.try_get::<i64, _>("redirect_uri_sent").ok()? != 0,
        challenge,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: time(r.try_get("expires_at").ok()?),
        consumed: r.try_get::<i64, _>("consumed").ok()? != 0,
        oidc: match r.try_get::<Option<i64>, _>("auth_time").ok()? {
            Some(t) => Some(latch_core::oidc::OidcGrant {
                nonce: match r.try_get::<Option<String>, _>("nonce").ok()? {
                    Some(n) => Some(hs(&n)?),
                    None => None,
                },
                auth_time: time(t),
            }),
            None => None,
        },
    })
}

pub(crate) fn subject_of(r: &AnyRow) -> Option<Option<latch_core::oauth2::Subject>> {
    match r.try_get::<Option<String>, _>("subject").ok()? {
        Some(s) => Some(Some(hs(&s)?)),
        None => Some(None),
    }
}

pub(crate) fn access_row(r: &AnyRow) -> Option<AccessRecord> {
    Some(AccessRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        family: family_of(
            r.try_get("family").ok()?,
            &parse_hash(r.try_get("hash").ok()?)?,
        )?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        subject: subject_of(r)?,
        scope: hs(r.try_get("scope").ok()?)?,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: time(r.try_get("expires_at").ok()?),
    })
}

/// An access token's `family` column: empty for a self-rooted family (see
/// the module docs), the family's hex otherwise.
pub(crate) fn family_column(a: &AccessRecord) -> String {
    if a.family == FamilyId::of(&a.hash) {
        String::new()
    } else {
        family_hex(&a.family)
    }
}

/// The family of an access token from its `family` column and hash.
pub(crate) fn family_of(column: &str, hash: &TokenHash) -> Option<FamilyId> {
    if column.is_empty() {
        Some(FamilyId::of(hash))
    } else {
        parse_family(column)
    }
}

/// One SQL value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    /// TEXT.
    Text(String),
    /// INTEGER / BIGINT.
    Int(i64),
    /// A NULL TEXT (PostgreSQL types its parameters: a NULL must say
    /// what it is a NULL of).
    NullText,
    /// A NULL INTEGER / BIGINT.
    NullInt,
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}

impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Arg::NullText, Into::into)
    }
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Arg::NullInt, Into::into)
    }
}

/// One statement: its text (`$1`, `$2`, … in order of first use, so that
/// positional binding fits both drivers) and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    /// The SQL.
    pub sql: &'static str,
    /// Its values, `$1` first.
    pub args: Vec<Arg>,
}

/// The three statements that revoke a family (`$1` its hex; `$2`..`$3`
/// the hash range of a self-rooted family's token): access tokens by the
/// partial index, the self-rooted one by its hash prefix, refresh tokens.
pub(crate) const FAMILY_REVOCATION: [&str; 3] = [
    "DELETE FROM oauth2_access_tokens WHERE family = $1 AND family <> ''",
    "DELETE FROM oauth2_access_tokens WHERE family = '' AND hash >= $1 AND hash < $2",
    "DELETE FROM oauth2_refresh_tokens WHERE family = $1",
];

/// How many of [`FAMILY_REVOCATION`]'s statements (the first ones)
/// delete access tokens.
pub(crate) const FAMILY_REVOCATION_ACCESS: usize = 2;

/// [`FAMILY_REVOCATION`] with its values.
pub(crate) fn family_revocation(family: &FamilyId) -> Vec<Statement> {
    let f = family_hex(family);
    let [a, own, r] = FAMILY_REVOCATION;
    vec![
        Statement {
            sql: a,
            args: vec![f.clone().into()],
        },
        Statement {
            sql: own,
            // Lowercase hex sorts below 'g': every 64-digit hash that starts
            // with the family's 32 digits lies in [f, f + "g").
            args: vec![f.clone().into(), format!("{f}g").into()],
        },
        Statement {
            sql: r,
            args: vec![f.into()],
        },
    ]
}

/// The statements that make `w` (a conditional write is one statement
/// whose touched rows say whether it held); a write the SQL store does
/// not take is `None`.
pub(crate) fn statements(w: &Write) -> Option<Vec<Statement>> {
    let one = |sql: &'static str, args: Vec<Arg>| Some(vec![Statement { sql, args }]);
    match w {
        Write::StoreCode(c) => one(
            "INSERT INTO oauth2_codes (hash, client_id, subject, scope, redirect_uri, redirect_uri_sent, challenge_method, challenge, issued_at, expires_at, consumed, nonce, auth_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12)",
            vec![
                hex32(&c.hash).into(),
                c.client_id.as_str().into(),
                c.subject.as_str().into(),
                c.scope.as_str().into(),
                c.redirect_uri.as_str().into(),
                i64::from(c.redirect_uri_sent).into(),
                c.challenge.as_ref().map(|p| p.method.as_str()).into(),
                c.challenge.as_ref().map(|p| p.value.as_str()).into(),
                secs(c.issued_at).into(),
                secs(c.expires_at).into(),
                c.oidc
                    .as_ref()
                    .and_then(|o| o.nonce.as_ref())
                    .map(|n| n.as_str())
                    .into(),
                c.oidc.as_ref().map(|o| secs(o.auth_time)).into(),
            ],
        ),
        Write::ConsumeCode { hash } => one(
            "UPDATE oauth2_codes SET consumed = 1 WHERE hash = $1 AND consumed = 0",
            vec![hex32(hash).into()],
        ),
        Write::StoreAccessToken(a) => one(
            "INSERT INTO oauth2_access_tokens (hash, family, client_id, subject, scope, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            vec![
                hex32(&a.hash).into(),
                family_column(a).into(),
                a.client_id.as_str().into(),
                a.subject.as_ref().map(|s| s.as_str()).into(),
                a.scope.as_str().into(),
                secs(a.issued_at).into(),
                secs(a.expires_at).into(),
            ],
        ),
        Write::StoreRefreshToken(r) => one(
            "INSERT INTO oauth2_refresh_tokens (hash, family, client_id, subject, scope, issued_at, expires_at, retired, auth_time) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
            vec![
                hex32(&r.hash).into(),
                family_hex(&r.family).into(),
                r.client_id.as_str().into(),
                r.subject.as_ref().map(|s| s.as_str()).into(),
                r.scope.as_str().into(),
                secs(r.issued_at).into(),
                r.expires_at.map(secs).into(),
                r.auth_time.map(secs).into(),
            ],
        ),
        Write::RetireRefreshToken { hash, at, grace: 0 } => one(
            "UPDATE oauth2_refresh_tokens SET retired = 1, retired_at = $1 WHERE hash = $2 AND retired = 0",
            vec![secs(*at).into(), hex32(hash).into()],
        ),
        // The grace window: also a token retired less than `grace` seconds
        // before `at` (`at < retired_at + grace`, written without the
        // addition that could overflow), keeping its first time. A token
        // retired before migration 0009 has no time and never qualifies.
        Write::RetireRefreshToken { hash, at, grace } => one(
            "UPDATE oauth2_refresh_tokens SET retired = 1, retired_at = CASE WHEN retired = 0 THEN $1 ELSE retired_at END \
             WHERE hash = $2 AND (retired = 0 OR (retired_at IS NOT NULL AND retired_at > $3))",
            vec![
                secs(*at).into(),
                hex32(hash).into(),
                secs(*at)
                    .saturating_sub(i64::try_from(*grace).unwrap_or(i64::MAX))
                    .into(),
            ],
        ),
        Write::StoreDevice(d) => one(
            "INSERT INTO oauth2_devices (hash, user_code, client_id, scope, issued_at, expires_at, poll_interval, last_poll, status, subject) \
             SELECT $1, $2, $3, $4, $5, $6, $7, NULL, 'pending', NULL \
             WHERE NOT EXISTS (SELECT 1 FROM oauth2_devices WHERE user_code = $8 AND expires_at > $9)",
            vec![
                hex32(&d.hash).into(),
                d.user_code.as_str().into(),
                d.client_id.as_str().into(),
                d.scope.as_str().into(),
                secs(d.issued_at).into(),
                secs(d.expires_at).into(),
                i64::from(d.interval).into(),
                d.user_code.as_str().into(),
                secs(d.issued_at).into(),
            ],
        ),
        Write::RecordDevicePoll { hash, at, interval } => one(
            "UPDATE oauth2_devices SET last_poll = $1, poll_interval = $2 WHERE hash = $3",
            vec![
                secs(*at).into(),
                i64::from(*interval).into(),
                hex32(hash).into(),
            ],
        ),
        Write::ApproveDevice { hash, subject } => one(
            "UPDATE oauth2_devices SET status = 'approved', subject = $1 WHERE hash = $2 AND status = 'pending'",
            vec![subject.as_str().into(), hex32(hash).into()],
        ),
        Write::DenyDevice { hash } => one(
            "UPDATE oauth2_devices SET status = 'denied' WHERE hash = $1 AND status = 'pending'",
            vec![hex32(hash).into()],
        ),
        Write::RedeemDevice { hash } => one(
            "UPDATE oauth2_devices SET status = 'redeemed' WHERE hash = $1 AND status = 'approved'",
            vec![hex32(hash).into()],
        ),
        Write::RevokeFamily { family } => Some(family_revocation(family)),
        Write::RevokeAccessToken { hash } => one(
            "DELETE FROM oauth2_access_tokens WHERE hash = $1",
            vec![hex32(hash).into()],
        ),
        _ => None,
    }
}

pub(crate) fn refresh_row(r: &AnyRow) -> Option<RefreshRecord> {
    Some(RefreshRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        family: parse_family(r.try_get("family").ok()?)?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        subject: subject_of(r)?,
        scope: hs(r.try_get("scope").ok()?)?,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: r.try_get::<Option<i64>, _>("expires_at").ok()?.map(time),
        // Retired before migration 0009 (no time): rotated long ago.
        retired_at: if r.try_get::<i64, _>("retired").ok()? != 0 {
            Some(time(
                r.try_get::<Option<i64>, _>("retired_at").ok()?.unwrap_or(0),
            ))
        } else {
            None
        },
        auth_time: r.try_get::<Option<i64>, _>("auth_time").ok()?.map(time),
    })
}

pub(crate) fn device_row(r: &AnyRow) -> Option<DeviceRecord> {
    let status = match r.try_get::<String, _>("status").ok()?.as_str() {
        "pending" => DeviceStatus::Pending,
        "approved" => {
            DeviceStatus::Approved(hs(&r.try_get::<Option<String>, _>("subject").ok()??)?)
        }
        "denied" => DeviceStatus::Denied,
        _ => DeviceStatus::Redeemed,
    };
    Some(DeviceRecord {
        hash: parse_hash(r.try_get("hash").ok()?)?,
        user_code: UserCode::parse(r.try_get("user_code").ok()?).ok()?,
        client_id: hs(r.try_get("client_id").ok()?)?,
        scope: hs(r.try_get("scope").ok()?)?,
        issued_at: time(r.try_get("issued_at").ok()?),
        expires_at: time(r.try_get("expires_at").ok()?),
        interval: u32::try_from(r.try_get::<i64, _>("poll_interval").ok()?).ok()?,
        last_poll: r.try_get::<Option<i64>, _>("last_poll").ok()?.map(time),
        status,
    })
}

pub(crate) const CODE_COLS: &str = "hash, client_id, subject, scope, redirect_uri, redirect_uri_sent, challenge_method, challenge, issued_at, expires_at, consumed, nonce, auth_time";
pub(crate) const TOKEN_COLS: &str =
    "hash, family, client_id, subject, scope, issued_at, expires_at";
pub(crate) const DEVICE_COLS: &str = "hash, user_code, client_id, scope, issued_at, expires_at, poll_interval, last_poll, status, subject";
