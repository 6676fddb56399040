//! Configuration: a TOML file, overridden by command-line flags, over
//! defaults (DESIGN.md's CLI contract).
//!
//! ```toml
//! listen = "127.0.0.1:8080"
//! db = "sqlite://latch.db"          # or postgres://user:pass@host/db
//! issuer = "https://auth.example.com"
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
//! ```

use crate::keys::KeyConfig;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default database.
pub const DEFAULT_DB: &str = "sqlite://latch.db";

/// The configuration file's contents; every field optional.
#[derive(Debug, Default, Deserialize)]
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
}

/// `[oauth2]`: token, code and device-flow timings, seconds. Anything left
/// out keeps [`latch_core::oauth2::Policy::DEFAULT`]'s value.
#[derive(Debug, Default, Deserialize)]
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
}

impl OAuth2Config {
    /// The core's policy with these values applied; zero lifetimes (other
    /// than `refresh_token_ttl`) and codes over 600 s are refused.
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

/// Resolves the issuer: flag, then file, then `http://ADDR:PORT`.
pub fn resolve_issuer(
    flag: Option<&str>,
    file: &FileConfig,
    listen: SocketAddr,
) -> Result<String, ConfigError> {
    let issuer = match flag.or(file.issuer.as_deref()) {
        Some(s) => s.trim_end_matches('/').to_owned(),
        None => return Ok(format!("http://{listen}")),
    };
    match latch_core::url::Url::parse(&issuer) {
        Ok(u) if u.query.is_none() && !issuer.contains('#') => Ok(issuer),
        _ => Err(ConfigError::Issuer(issuer)),
    }
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
            resolve_issuer(None, &none, listen).unwrap(),
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
            "[oauth2]\naccess_token_ttl = 8\nrefresh_token_ttl = 0\ndevice_interval = 1",
        )
        .unwrap();
        let p = file.oauth2.unwrap().policy().unwrap();
        assert_eq!(p.access_token_ttl, 8);
        assert_eq!(p.refresh_token_ttl, None);
        assert_eq!(p.device_interval, 1);
        let d = latch_core::oauth2::Policy::DEFAULT;
        assert_eq!(
            (p.code_ttl, p.device_code_ttl),
            (d.code_ttl, d.device_code_ttl)
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
            resolve_issuer(Some("ftp://x"), &none, listen),
            Err(ConfigError::Issuer(_))
        ));
        assert!(matches!(
            resolve_issuer(Some("https://x/?a"), &none, listen),
            Err(ConfigError::Issuer(_))
        ));
        for bad in [
            "access_token_ttl = 0",
            "code_ttl = 601",
            "device_interval = 0",
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
}
