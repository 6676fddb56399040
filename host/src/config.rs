//! Configuration: a TOML file, overridden by command-line flags, over
//! defaults (DESIGN.md's CLI contract).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! db = "sqlite://latch.db"          # or postgres://user:pass@host/db
//! issuer = "https://auth.example.com"
//!
//! [tls]                              # both or neither; PEM files
//! cert = "/etc/latch/fullchain.pem"  # the chain, leaf first
//! key = "/etc/latch/privkey.pem"     # PKCS#8, SEC1 or PKCS#1
//!
//! [limits]                           # connections; these are the defaults
//! header_read_timeout = 10           # seconds for a request head
//! idle_timeout = 60                  # seconds without traffic
//! max_connections = 4096
//! failed_logins_per_user = 5         # per login_window; then 429
//! failed_logins_per_address = 20
//! login_window = 900                 # seconds
//! wrong_user_codes_per_address = 5   # per user_code_window
//! user_code_window = 60
//! failed_client_auths = 10           # per client_id per client_auth_window
//! client_auth_window = 60
//! trusted_proxies = ["10.0.0.0/8"]   # whose X-Forwarded-For is believed
//!
//! [keys]                             # required for PostgreSQL / replicas
//! secret_box_key = "base64 of 32 bytes"
//! session_key = "base64 of 32 bytes"
//!
//! [oauth2]                           # lifetimes, seconds; these are the defaults
//! access_token_ttl = 3600
//! refresh_token_ttl = 2592000        # 0: refresh tokens never expire
//! code_ttl = 600                     # at most 600 (RFC 6749 §4.1.2)
//! device_code_ttl = 600
//! device_interval = 5                # RFC 8628 §3.2 `interval`
//! key_rotation_delay = 3600          # `latch keys rotate`: new key signs after this
//! access_token_format = "opaque"     # or "jwt" (RFC 9068)
//! refresh_grace_seconds = 0          # at most 300; a rotated-out refresh token
//!                                    # is accepted again this long (lost answers)
//! # scopes advertised in scopes_supported (with the registered clients'),
//! # with the words the consent pages show for them:
//! scopes = { read = "Read your photos", write = "Upload photos" }
//! # or just names: scopes = ["read", "write"]
//!
//! [admin]                            # off when absent
//! listen = "127.0.0.1:9090"          # /metrics, /healthz, /readyz, /admin/
//!
//! [audit]
//! retention_days = 90                # audit_events older than this are purged
//! ```

use crate::keys::KeyConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database.
pub const DEFAULT_DB: &str = "sqlite://latch.db";

/// The configuration file's contents; every field optional.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `ADDR:PORT` to listen on.
    pub listen: Option<String>,
    /// Database URL.
    pub db: Option<String>,
    /// Issuer URL (RFC 8414 `issuer`).
    pub issuer: Option<String>,
    /// Server keys.
    pub keys: Option<KeyConfig>,
    /// OAuth 2.0 lifetimes.
    pub oauth2: Option<OAuth2Config>,
    /// TLS termination.
    pub tls: Option<TlsConfig>,
    /// Connection and abuse limits.
    pub limits: Option<LimitsConfig>,
    /// The admin listener (metrics, health, admin API).
    pub admin: Option<AdminConfig>,
    /// The audit log of security events.
    pub audit: Option<AuditConfig>,
}

/// `[admin]`: the admin listener, off when absent. It serves `/metrics`,
/// `/healthz`, `/readyz` and the admin API under `/admin/` (Bearer token
/// with scope `latch:admin`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// `ADDR:PORT` of the admin listener; meant for a loopback or private
    /// address (plain HTTP unless the main listener has TLS, then the same
    /// certificate).
    pub listen: Option<String>,
}

/// The default `[audit] retention_days`.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 90;

/// `[audit]`: security events are kept in the database (`audit_events`)
/// and written to the log (target `latch::audit`).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Days an audit event is kept before the purge removes it (default
    /// 90; at least 1).
    pub retention_days: Option<u64>,
}

impl AuditConfig {
    /// `retention_days` in seconds; 0 is refused.
    pub fn retention_secs(&self) -> Result<u64, ConfigError> {
        match self.retention_days {
            Some(0) => Err(ConfigError::Setting(
                "audit",
                "retention_days must be at least 1".into(),
            )),
            Some(d) => Ok(d.saturating_mul(86_400)),
            None => Ok(DEFAULT_AUDIT_RETENTION_DAYS * 86_400),
        }
    }
}

/// `[limits]`: how long and how many (rate limits: see the fields).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Seconds a client may take to send a request head (default 10).
    pub header_read_timeout: Option<u64>,
    /// Seconds a connection may stay without traffic (default 60).
    pub idle_timeout: Option<u64>,
    /// Connections served at once (default 4096).
    pub max_connections: Option<usize>,
    /// Failed passwords per username per window (default 5).
    pub failed_logins_per_user: Option<u32>,
    /// Failed passwords per client address per window (default 20).
    pub failed_logins_per_address: Option<u32>,
    /// The login window, seconds (default 900).
    pub login_window: Option<u64>,
    /// Wrong user codes per client address per window (default 5).
    pub wrong_user_codes_per_address: Option<u32>,
    /// The user-code window, seconds (default 60).
    pub user_code_window: Option<u64>,
    /// Failed client authentications per client per window (default 10).
    pub failed_client_auths: Option<u32>,
    /// The client-authentication window, seconds (default 60).
    pub client_auth_window: Option<u64>,
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` counts.
    pub trusted_proxies: Option<Vec<String>>,
}

impl LimitsConfig {
    /// The brute-force limits; zero counts or windows are refused.
    pub fn limit_settings(&self) -> Result<crate::server::limits::LimitSettings, ConfigError> {
        let mut l = crate::server::limits::LimitSettings::default();
        let count = |name: &str, v: Option<u32>, into: &mut u32| match v {
            Some(0) => Err(ConfigError::Limits(format!("{name} must be at least 1"))),
            Some(v) => {
                *into = v;
                Ok(())
            }
            None => Ok(()),
        };
        let window = |name: &str, v: Option<u64>, into: &mut std::time::Duration| match v {
            Some(0) => Err(ConfigError::Limits(format!("{name} must be at least 1"))),
            Some(v) => {
                *into = std::time::Duration::from_secs(v);
                Ok(())
            }
            None => Ok(()),
        };
        count(
            "failed_logins_per_user",
            self.failed_logins_per_user,
            &mut l.failed_logins_per_user,
        )?;
        count(
            "failed_logins_per_address",
            self.failed_logins_per_address,
            &mut l.failed_logins_per_address,
        )?;
        window("login_window", self.login_window, &mut l.login_window)?;
        count(
            "wrong_user_codes_per_address",
            self.wrong_user_codes_per_address,
            &mut l.wrong_user_codes_per_address,
        )?;
        window(
            "user_code_window",
            self.user_code_window,
            &mut l.user_code_window,
        )?;
        count(
            "failed_client_auths",
            self.failed_client_auths,
            &mut l.failed_client_auths,
        )?;
        window(
            "client_auth_window",
            self.client_auth_window,
            &mut l.client_auth_window,
        )?;
        for p in self.trusted_proxies.iter().flatten() {
            let net = p
                .parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::Limits(format!(
                        "trusted_proxies: {p:?} is not an address or CIDR block"
                    ))
                })?;
            l.trusted_proxies.push(net);
        }
        Ok(l)
    }

    /// The accept loop's limits; zeros are refused.
    pub fn conn_limits(&self) -> Result<crate::server::listen::ConnLimits, ConfigError> {
        let mut l = crate::server::listen::ConnLimits::default();
        let secs = |name: &str, v: u64| {
            if v == 0 {
                Err(ConfigError::Limits(format!("{name} must be at least 1")))
            } else {
                Ok(std::time::Duration::from_secs(v))
            }
        };
        if let Some(v) = self.header_read_timeout {
            l.header_read_timeout = secs("header_read_timeout", v)?;
        }
        if let Some(v) = self.idle_timeout {
            l.idle_timeout = secs("idle_timeout", v)?;
        }
        if let Some(v) = self.max_connections {
            if v == 0 {
                return Err(ConfigError::Limits(
                    "max_connections must be at least 1".into(),
                ));
            }
            l.max_connections = v;
        }
        Ok(l)
    }
}

/// `[tls]`: the certificate chain and key, PEM (both or neither).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// Its private key.
    pub key: Option<PathBuf>,
}

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// PEM files given by `--tls-cert`/`--tls-key` or `[tls]`.
    Files {
        /// The chain.
        cert: PathBuf,
        /// The key.
        key: PathBuf,
    },
    /// `--tls-self-signed`: a local CA and a leaf minted at start.
    SelfSigned,
}

/// Resolves TLS: the flags (both or neither) replace `[tls]` (both or
/// neither); `--tls-self-signed` excludes both.
pub fn resolve_tls(
    cert: Option<&Path>,
    key: Option<&Path>,
    self_signed: bool,
    file: &FileConfig,
) -> Result<Option<TlsSource>, ConfigError> {
    let pair = |cert: Option<&Path>, key: Option<&Path>, what: &str| match (cert, key) {
        (Some(c), Some(k)) => Ok(Some(TlsSource::Files {
            cert: c.to_owned(),
            key: k.to_owned(),
        })),
        (None, None) => Ok(None),
        _ => Err(ConfigError::Tls(format!(
            "{what} needs both a certificate and a key"
        ))),
    };
    let flags = pair(cert, key, "--tls-cert/--tls-key")?;
    let from_file = match &file.tls {
        Some(t) => pair(t.cert.as_deref(), t.key.as_deref(), "[tls]")?,
        None => None,
    };
    match (self_signed, flags.or(from_file)) {
        (true, Some(_)) => Err(ConfigError::Tls(
            "--tls-self-signed cannot be combined with a certificate and key".into(),
        )),
        (true, None) => Ok(Some(TlsSource::SelfSigned)),
        (false, t) => Ok(t),
    }
}

/// `[oauth2]`: token, code and device-flow timings, seconds. Anything left
/// out keeps [`latch_core::oauth2::Policy::DEFAULT`]'s value.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// Access token lifetime (`expires_in`).
    pub access_token_ttl: Option<u64>,
    /// Refresh token lifetime; 0 for none.
    pub refresh_token_ttl: Option<u64>,
    /// Authorization code lifetime, at most 600.
    pub code_ttl: Option<u64>,
    /// Device code lifetime.
    pub device_code_ttl: Option<u64>,
    /// Initial device polling interval.
    pub device_interval: Option<u32>,
    /// Scopes to advertise, optionally with descriptions for consent pages.
    pub scopes: Option<ScopesConfig>,
    /// Seconds between `latch keys rotate` publishing a new signing key
    /// and that key signing (default 3600; 0: at once).
    pub key_rotation_delay: Option<u64>,
    /// `"opaque"` (default) or `"jwt"` (RFC 9068) access tokens, for
    /// clients registered without `--access-token-format`.
    pub access_token_format: Option<String>,
    /// Seconds after a refresh token's rotation during which the same
    /// client may present it again for a new pair (default 0: strict
    /// rotation; at most 300).
    pub refresh_grace_seconds: Option<u64>,
}

/// The default `[oauth2] key_rotation_delay`: an hour, longer than any
/// relying party caches a JWK Set.
pub const DEFAULT_KEY_ROTATION_DELAY: u64 = 3600;

impl OAuth2Config {
    /// Whether access tokens are JWTs by default; an unknown format is bad
    /// configuration.
    pub fn jwt_access_tokens(&self) -> Result<bool, ConfigError> {
        match self.access_token_format.as_deref() {
            None | Some("opaque") => Ok(false),
            Some("jwt") => Ok(true),
            Some(other) => Err(ConfigError::OAuth2(format!(
                "access_token_format must be \"opaque\" or \"jwt\", not {other:?}"
            ))),
        }
    }

    /// `key_rotation_delay`, or its default.
    pub fn key_rotation_delay(&self) -> u64 {
        self.key_rotation_delay
            .unwrap_or(DEFAULT_KEY_ROTATION_DELAY)
    }
}

/// `[oauth2] scopes`: names, or a table of name = "description".
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ScopesConfig {
    /// `["read", "write"]`.
    Names(Vec<String>),
    /// `{ read = "Read your photos" }`.
    Described(std::collections::BTreeMap<String, String>),
}

impl ScopesConfig {
    /// (scope, description) pairs; every name must be an RFC 6749 §3.3
    /// scope token.
    pub fn entries(&self) -> Result<Vec<(String, Option<String>)>, ConfigError> {
        let entries: Vec<(String, Option<String>)> = match self {
            ScopesConfig::Names(n) => n.iter().map(|s| (s.clone(), None)).collect(),
            ScopesConfig::Described(m) => m
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        (!v.trim().is_empty()).then(|| v.trim().to_owned()),
                    )
                })
                .collect(),
        };
        if let Some((bad, _)) = entries
            .iter()
            .find(|(s, _)| !crate::admin::valid_scope_token(s))
        {
            return Err(ConfigError::OAuth2(format!(
                "scopes: {bad:?} is not a scope token (RFC 6749 §3.3)"
            )));
        }
        Ok(entries)
    }
}

impl OAuth2Config {
    /// The core's policy with these values applied; zero lifetimes (other
    /// than `refresh_token_ttl`), codes over 600 s and refresh grace
    /// windows over 300 s are refused.
    pub fn policy(&self) -> Result<latch_core::oauth2::Policy, ConfigError> {
        let mut p = latch_core::oauth2::Policy::DEFAULT;
        let positive = |name: &str, v: u64| {
            if v == 0 {
                Err(ConfigError::OAuth2(format!("{name} must be at least 1")))
            } else {
                Ok(v)
            }
        };
        if let Some(v) = self.access_token_ttl {
            p.access_token_ttl = positive("access_token_ttl", v)?;
        }
        if let Some(v) = self.refresh_token_ttl {
            p.refresh_token_ttl = (v != 0).then_some(v);
        }
        if let Some(v) = self.code_ttl {
            if v > latch_core::oauth2::MAX_CODE_TTL {
                return Err(ConfigError::OAuth2(format!(
                    "code_ttl must be at most {} (RFC 6749 §4.1.2)",
                    latch_core::oauth2::MAX_CODE_TTL
                )));
            }
            p.code_ttl = positive("code_ttl", v)?;
        }
        if let Some(v) = self.device_code_ttl {
            p.device_code_ttl = positive("device_code_ttl", v)?;
        }
        if let Some(v) = self.device_interval {
            positive("device_interval", u64::from(v))?;
            p.device_interval = v;
        }
        if let Some(v) = self.refresh_grace_seconds {
            if v > latch_core::oauth2::MAX_REFRESH_GRACE {
                return Err(ConfigError::OAuth2(format!(
                    "refresh_grace_seconds must be at most {}: the window is for a retry \
                     after a lost answer, and a rotated-out token replays freely within it",
                    latch_core::oauth2::MAX_REFRESH_GRACE
                )));
            }
            p.refresh_grace = v;
        }
        Ok(p)
    }
}

/// Why the configuration was refused; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why (one line).
        message: String,
    },
    /// `--listen` is not `ADDR:PORT`.
    #[error("invalid listen address {0:?} (expected ADDR:PORT)")]
    Listen(String),
    /// `--issuer` is not an absolute http(s) URL without query or fragment.
    #[error("invalid issuer {0:?} (expected an http(s) URL without query or fragment)")]
    Issuer(String),
    /// The issuer would put credentials on the network in clear.
    #[error("{0}")]
    InsecureIssuer(String),
    /// A `[limits]` value is out of range.
    #[error("invalid [limits] setting: {0}")]
    Limits(String),
    /// A value of another section (`[admin]`, `[audit]`) is out of range.
    #[error("invalid [{0}] setting: {1}")]
    Setting(&'static str, String),
    /// `[tls]` or the TLS flags are incomplete or contradictory.
    #[error("invalid TLS settings: {0}")]
    Tls(String),
    /// An `[oauth2]` value is out of range.
    #[error("invalid [oauth2] setting: {0}")]
    OAuth2(String),
    /// `--db` is neither sqlite:// nor postgres://.
    #[error("unsupported database URL {0:?} (expected sqlite://FILE or postgres://...)")]
    Db(String),
}

impl FileConfig {
    /// Reads `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: shown,
            message: e.message().replace('\n', " "),
        })
    }
}

/// A database URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// An SQLite file (created if missing).
    Sqlite {
        /// The URL as given.
        url: String,
        /// The file path.
        file: String,
    },
    /// A PostgreSQL server.
    Postgres(String),
}

impl DbUrl {
    /// Checks `url`.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let file = rest.split('?').next().unwrap_or("");
            if file.is_empty() || file == ":memory:" {
                return Err(ConfigError::Db(url.to_owned()));
            }
            return Ok(DbUrl::Sqlite {
                url: url.to_owned(),
                file: file.to_owned(),
            });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_owned()));
        }
        Err(ConfigError::Db(url.to_owned()))
    }
}

/// Resolves the database URL: flag, then file, then default.
pub fn resolve_db(flag: Option<&str>, file: &FileConfig) -> Result<DbUrl, ConfigError> {
    DbUrl::parse(flag.or(file.db.as_deref()).unwrap_or(DEFAULT_DB))
}

/// Resolves the listen address.
pub fn resolve_listen(flag: Option<&str>, file: &FileConfig) -> Result<SocketAddr, ConfigError> {
    let s = flag.or(file.listen.as_deref()).unwrap_or(DEFAULT_LISTEN);
    s.parse().map_err(|_| ConfigError::Listen(s.to_owned()))
}

/// Resolves the issuer: flag, then file, then `https://ADDR:PORT` with
/// TLS or `http://ADDR:PORT` without.
///
/// DESIGN.md's issuer rule: without TLS, an `http://` issuer is accepted
/// only when listening on a loopback address (or when the operator asked
/// for plain HTTP with `allow_insecure_http`); otherwise the issuer must be
/// `https://`, i.e. TLS terminated by a proxy in front. With TLS the issuer
/// must be `https://`.
pub fn resolve_issuer(
    flag: Option<&str>,
    file: &FileConfig,
    listen: SocketAddr,
    tls: bool,
    allow_insecure_http: bool,
) -> Result<String, ConfigError> {
    let issuer = match flag.or(file.issuer.as_deref()) {
        Some(s) => s.trim_end_matches('/').to_owned(),
        None if tls => format!("https://{listen}"),
        None => format!("http://{listen}"),
    };
    let https = match latch_core::url::Url::parse(&issuer) {
        Ok(u) if u.query.is_none() && !issuer.contains('#') => {
            u.scheme == latch_core::url::Scheme::Https
        }
        _ => return Err(ConfigError::Issuer(issuer)),
    };
    if https {
        return Ok(issuer);
    }
    if tls {
        return Err(ConfigError::InsecureIssuer(format!(
            "issuer {issuer} is http:// but the server speaks TLS; use an https:// issuer"
        )));
    }
    if !listen.ip().is_loopback() && !allow_insecure_http {
        return Err(ConfigError::InsecureIssuer(format!(
            "refusing plain HTTP on non-loopback {listen} with issuer {issuer}: \
             use --tls-cert/--tls-key, or an https:// --issuer when TLS is terminated in front"
        )));
    }
    Ok(issuer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_defaults_apply() {
        let file: FileConfig =
            toml::from_str("listen = \"0.0.0.0:9000\"\ndb = \"sqlite://x.db\"").unwrap();
        assert_eq!(
            resolve_listen(None, &file).unwrap().to_string(),
            "0.0.0.0:9000"
        );
        assert_eq!(
            resolve_listen(Some("127.0.0.1:1"), &file)
                .unwrap()
                .to_string(),
            "127.0.0.1:1"
        );
        let none = FileConfig::default();
        let listen = resolve_listen(None, &none).unwrap();
        assert_eq!(listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(
            resolve_issuer(None, &none, listen, false, false).unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            resolve_db(None, &file).unwrap(),
            DbUrl::Sqlite {
                url: "sqlite://x.db".into(),
                file: "x.db".into()
            }
        );
    }

    #[test]
    fn oauth2_lifetimes_override_the_defaults() {
        let file: FileConfig = toml::from_str(
            "[oauth2]\naccess_token_ttl = 8\nrefresh_token_ttl = 0\ndevice_interval = 1\nrefresh_grace_seconds = 300",
        )
        .unwrap();
        let p = file.oauth2.unwrap().policy().unwrap();
        assert_eq!(p.access_token_ttl, 8);
        assert_eq!(p.refresh_token_ttl, None);
        assert_eq!(p.device_interval, 1);
        assert_eq!(p.refresh_grace, 300);
        let d = latch_core::oauth2::Policy::DEFAULT;
        assert_eq!(
            (p.code_ttl, p.device_code_ttl, d.refresh_grace),
            (d.code_ttl, d.device_code_ttl, 0)
        );
    }

    #[test]
    fn bad_values_are_refused() {
        let none = FileConfig::default();
        assert!(matches!(
            resolve_listen(Some("localhost"), &none),
            Err(ConfigError::Listen(_))
        ));
        assert!(matches!(DbUrl::parse("mysql://x"), Err(ConfigError::Db(_))));
        assert!(matches!(DbUrl::parse("sqlite://"), Err(ConfigError::Db(_))));
        let listen = resolve_listen(None, &none).unwrap();
        assert!(matches!(
            resolve_issuer(Some("ftp://x"), &none, listen, false, false),
            Err(ConfigError::Issuer(_))
        ));
        assert!(matches!(
            resolve_issuer(Some("https://x/?a"), &none, listen, false, false),
            Err(ConfigError::Issuer(_))
        ));
        for bad in [
            "access_token_ttl = 0",
            "code_ttl = 601",
            "device_interval = 0",
            "refresh_grace_seconds = 301",
        ] {
            let file: FileConfig = toml::from_str(&format!("[oauth2]\n{bad}")).unwrap();
            assert!(
                matches!(file.oauth2.unwrap().policy(), Err(ConfigError::OAuth2(_))),
                "{bad}"
            );
        }
        assert!(toml::from_str::<FileConfig>("[oauth2]\nttl = 1").is_err());
        assert!(
            toml::from_str::<FileConfig>("lisen = \"x\"").is_err(),
            "unknown keys are refused"
        );
    }

    #[test]
    fn issuer_rule_plain_http_only_on_loopback() {
        let none = FileConfig::default();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!(
            resolve_issuer(None, &none, lo6, false, false).unwrap(),
            "http://[::1]:8080"
        );
        let e = resolve_issuer(None, &none, any, false, false).unwrap_err();
        assert!(matches!(e, ConfigError::InsecureIssuer(_)), "{e}");
        assert!(!e.to_string().contains('\n'));
        assert!(matches!(
            resolve_issuer(Some("http://auth.example.com"), &none, any, false, false),
            Err(ConfigError::InsecureIssuer(_))
        ));
        // TLS terminated by a proxy in front.
        assert_eq!(
            resolve_issuer(Some("https://auth.example.com/"), &none, any, false, false).unwrap(),
            "https://auth.example.com"
        );
        // TLS here: https by default, and an http issuer makes no sense.
        assert_eq!(
            resolve_issuer(None, &none, any, true, false).unwrap(),
            "https://0.0.0.0:8080"
        );
        assert!(matches!(
            resolve_issuer(Some("http://127.0.0.1:8080"), &none, any, true, false),
            Err(ConfigError::InsecureIssuer(_))
        ));
        // Asked for in so many words.
        assert_eq!(
            resolve_issuer(None, &none, any, false, true).unwrap(),
            "http://0.0.0.0:8080"
        );
    }

    #[test]
    fn tls_needs_both_files_and_flags_replace_the_file() {
        let file: FileConfig = toml::from_str("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"").unwrap();
        let files = |c: &str, k: &str| TlsSource::Files {
            cert: c.into(),
            key: k.into(),
        };
        assert_eq!(
            resolve_tls(None, None, false, &file).unwrap(),
            Some(files("c.pem", "k.pem"))
        );
        assert_eq!(
            resolve_tls(Some(Path::new("a")), Some(Path::new("b")), false, &file).unwrap(),
            Some(files("a", "b"))
        );
        assert!(matches!(
            resolve_tls(Some(Path::new("a")), None, false, &FileConfig::default()),
            Err(ConfigError::Tls(_))
        ));
        let half: FileConfig = toml::from_str("[tls]\ncert = \"c.pem\"").unwrap();
        assert!(matches!(
            resolve_tls(None, None, false, &half),
            Err(ConfigError::Tls(_))
        ));
        assert!(matches!(
            resolve_tls(None, None, true, &file),
            Err(ConfigError::Tls(_))
        ));
        assert_eq!(
            resolve_tls(None, None, true, &FileConfig::default()).unwrap(),
            Some(TlsSource::SelfSigned)
        );
        assert_eq!(
            resolve_tls(None, None, false, &FileConfig::default()).unwrap(),
            None
        );
    }
}
