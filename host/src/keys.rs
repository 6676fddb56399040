//! Server keys: the AEAD key that encrypts client and token secrets at rest,
//! and the key that signs session cookies.
//!
//! With no configuration, the first start writes fresh keys into a file
//! beside the SQLite database (`<db>.keys.toml`, mode 0600) and every later
//! start reads them back. Replicas behind a load balancer share keys through
//! the configuration file instead (DESIGN.md); PostgreSQL therefore needs
//! them configured.

use base64ct::{Base64, Encoding};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The keys, decoded.
#[derive(Clone)]
pub struct Keys {
    /// XChaCha20-Poly1305 key for secrets at rest.
    pub secret_box: [u8; 32],
    /// HMAC-SHA256 key for session cookies and CSRF tokens.
    pub session: [u8; 32],
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

/// The keys as they appear in TOML (base64).
#[derive(Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// base64 of 32 bytes.
    pub secret_box_key: String,
    /// base64 of 32 bytes.
    pub session_key: String,
}

impl fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyConfig(<redacted>)")
    }
}

/// Why keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key is not base64 of 32 bytes.
    #[error("{0} must be base64 of exactly 32 bytes")]
    Invalid(&'static str),
    /// The key file could not be read or written.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The key file is not valid TOML.
    #[error("key file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The OS RNG failed.
    #[error("cannot read the OS random number generator")]
    Rng,
    /// The key file can be read by others (refused, as ssh refuses a
    /// private key with lax permissions).
    #[error("key file {} is readable by group or others (mode {mode:o}); run: chmod 600 {}", path.display(), path.display())]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

fn decode32(what: &'static str, b64: &str) -> Result<[u8; 32], KeyError> {
    let mut out = [0u8; 32];
    match Base64::decode(b64.trim(), &mut out) {
        Ok(bytes) if bytes.len() == 32 => Ok(out),
        _ => Err(KeyError::Invalid(what)),
    }
}

impl KeyConfig {
    /// Decodes and checks both keys.
    pub fn decode(&self) -> Result<Keys, KeyError> {
        Ok(Keys {
            secret_box: decode32("secret_box_key", &self.secret_box_key)?,
            session: decode32("session_key", &self.session_key)?,
        })
    }

    /// Fresh random keys.
    pub fn generate() -> Result<Self, KeyError> {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        getrandom::fill(&mut a).map_err(|_| KeyError::Rng)?;
        getrandom::fill(&mut b).map_err(|_| KeyError::Rng)?;
        Ok(KeyConfig {
            secret_box_key: Base64::encode_string(&a),
            session_key: Base64::encode_string(&b),
        })
    }
}

/// The key file used beside a SQLite database file.
pub fn key_file_for(db_file: &Path) -> PathBuf {
    let mut name = db_file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".keys.toml");
    db_file.with_file_name(name)
}

/// Reads the key file, or creates it (mode 0600, written whole then renamed
/// into place so a crash never leaves half a key file).
pub fn load_or_create(path: &Path) -> Result<Keys, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(KeyError::Permissions {
                        path: path.to_owned(),
                        mode,
                    });
                }
            }
            let config: KeyConfig = toml::from_str(&text).map_err(|e| KeyError::Parse {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?;
            config.decode()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let config = KeyConfig::generate()?;
            let text = toml::to_string(&config).map_err(|e| KeyError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            let tmp = path.with_extension("tmp");
            {
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create(true).truncate(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&tmp).map_err(io)?;
                f.write_all(text.as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
            }
            // Another process may have won the race: keep whichever exists.
            match std::fs::hard_link(&tmp, path) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&tmp);
                    config.decode()
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let _ = std::fs::remove_file(&tmp);
                    load_or_create(path)
                }
                Err(e) => Err(io(e)),
            }
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_file_for(&dir.path().join("latch.db"));
        assert!(path.ends_with("latch.db.keys.toml"));
        let a = load_or_create(&path).unwrap();
        let b = load_or_create(&path).unwrap();
        assert_eq!(a.secret_box, b.secret_box);
        assert_eq!(a.session, b.session);
        assert_ne!(a.secret_box, a.session);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{a:?}").contains(&Base64::encode_string(&a.session)));
    }

    #[test]
    fn bad_keys_are_refused() {
        let bad = KeyConfig {
            secret_box_key: "c2hvcnQ=".into(),
            session_key: Base64::encode_string(&[0u8; 32]),
        };
        assert!(matches!(
            bad.decode(),
            Err(KeyError::Invalid("secret_box_key"))
        ));
    }
}
