//! TLS termination for `latch serve` (RFC 6749 §3.1/§3.2: the authorization
//! and token endpoints MUST use TLS; RFC 8446 and RFC 5246 through rustls).
//!
//! * rustls with its aws-lc-rs provider and its safe defaults: TLS 1.3 and
//!   1.2 only, forward-secret AEAD suites only, no renegotiation, no
//!   compression. ALPN offers `h2` and `http/1.1`.
//! * The certificate is served by [`CertStore`], a rustls certificate
//!   resolver holding the current chain and key. It is re-read from its PEM
//!   files **both** on `SIGHUP` and when the files change (checked every
//!   [`POLL`]): a renewal by an ACME client takes effect for new handshakes,
//!   connections already open keep the session they negotiated. A reload that
//!   fails (half-written file, key that does not match the certificate) keeps
//!   the old certificate and logs a warning.
//! * [`self_signed`] is the newcomer's path (`latch serve --tls-self-signed`):
//!   a local CA (kept, so a browser or `curl --cacert` trusts it once) and a
//!   leaf for the listen address, minted with rcgen.

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// How often the certificate files are checked for changes.
pub const POLL: Duration = Duration::from_secs(5);

/// Why TLS could not be set up; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("TLS {what} {path}: {message}")]
    File {
        /// "certificate" or "key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The key does not belong to the certificate, or rustls refused them.
    #[error("TLS certificate {cert} and key {key}: {message}")]
    Pair {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// Why.
        message: String,
    },
    /// Making the self-signed CA or certificate failed.
    #[error("self-signed TLS: {0}")]
    SelfSigned(String),
}

/// The crypto provider every TLS object of the host uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads a PEM chain (leaf first) and its private key (PKCS#8, SEC1 or
/// PKCS#1), and checks that they belong together.
pub fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let file_err = |what, path: &Path, message: String| TlsError::File {
        what,
        path: path.to_owned(),
        message,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|e| file_err("certificate", cert, e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err("certificate", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(file_err(
            "certificate",
            cert,
            "no CERTIFICATE block in the file".into(),
        ));
    }
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
        file_err(
            "key",
            key,
            format!("{e} (expected a PKCS#8, SEC1 or PKCS#1 PEM private key)"),
        )
    })?;
    let pair = |message: String| TlsError::Pair {
        cert: cert.to_owned(),
        key: key.to_owned(),
        message,
    };
    CertifiedKey::from_der(chain, der, &provider()).map_err(|e| pair(e.to_string()))
}

/// What identifies one version of the files: modification time and length.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// The certificate being served, re-readable from its files.
#[derive(Debug)]
pub struct CertStore {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<CertifiedKey>>,
    seen: Mutex<(Stamp, Stamp)>,
}

impl CertStore {
    /// Loads the files; fails (for start-up) if they are not a valid pair.
    pub fn open(cert: &Path, key: &Path) -> Result<Arc<Self>, TlsError> {
        let seen = (stamp(cert), stamp(key));
        let loaded = load(cert, key)?;
        Ok(Arc::new(CertStore {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(loaded)),
            seen: Mutex::new(seen),
        }))
    }

    /// The chain served now.
    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Re-reads the files if they changed since the last look (or always,
    /// with `force`). `Ok(true)` when a new certificate is now served; on an
    /// error the old one stays.
    pub fn reload(&self, force: bool) -> Result<bool, TlsError> {
        let now = (stamp(&self.cert), stamp(&self.key));
        {
            let mut seen = self
                .seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !force && *seen == now {
                return Ok(false);
            }
            // Remember this version even if it fails to load, so a broken
            // file is reported once, not every poll.
            *seen = now;
        }
        let loaded = load(&self.cert, &self.key)?;
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(loaded);
        Ok(true)
    }

    /// Reloads on `SIGHUP` and whenever the files change, until the process
    /// ends. The `SIGHUP` handler is in place when this returns (before the
    /// server says it is listening), so an early `SIGHUP` reloads instead of
    /// killing the process.
    pub fn watch(self: &Arc<Self>) {
        let store = self.clone();
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                let force = tokio::select! {
                    () = hangup => true,
                    _ = tick.tick() => false,
                };
                match store.reload(force) {
                    Ok(true) => {
                        tracing::info!(cert = %store.cert.display(), "TLS certificate reloaded")
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "TLS certificate reload failed; still serving the previous one")
                    }
                }
            }
        });
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The server's rustls configuration: TLS 1.3 and 1.2, ALPN `h2` then
/// `http/1.1`, certificates from `store`.
pub fn server_config(store: Arc<CertStore>) -> Result<Arc<ServerConfig>, TlsError> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::SelfSigned(format!("rustls refused its defaults: {e}")))?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The files [`self_signed`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfSigned {
    /// The local CA's certificate: what clients are told to trust.
    pub ca: PathBuf,
    /// The server's certificate chain (leaf, then the CA).
    pub cert: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
    /// The names and addresses the leaf is valid for.
    pub names: Vec<String>,
}

/// Lifetime of a self-signed leaf; it is re-minted on every start.
const LEAF_DAYS: i64 = 90;
/// Lifetime of the local CA.
const CA_DAYS: i64 = 3650;

fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let err = |e: std::io::Error| TlsError::SelfSigned(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(&tmp).map_err(err)?;
    f.write_all(contents.as_bytes()).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)
}

fn write_public(path: &Path, contents: &str) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| TlsError::SelfSigned(format!("{}: {e}", path.display())))
}

/// The names a self-signed leaf for `listen` covers: the listen address
/// (or, for an unspecified one, every loopback form), plus `localhost`.
fn leaf_names(listen: SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_owned()];
    let ips: Vec<IpAddr> = if listen.ip().is_unspecified() {
        vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
    } else {
        vec![listen.ip()]
    };
    names.extend(ips.iter().map(IpAddr::to_string));
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(Ipv4Addr::LOCALHOST.to_string());
    }
    names.dedup();
    names
}

/// Makes (or reuses) a local CA in `dir` and mints a leaf for `listen`
/// signed by it. Files: `latch-ca.pem`, `latch-ca-key.pem` (0600),
/// `latch-tls.pem` (leaf + CA), `latch-tls-key.pem` (0600).
pub fn self_signed(dir: &Path, listen: SocketAddr) -> Result<SelfSigned, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let err = |e: rcgen::Error| TlsError::SelfSigned(e.to_string());
    let ca_path = dir.join("latch-ca.pem");
    let ca_key_path = dir.join("latch-ca-key.pem");
    let now = time::OffsetDateTime::now_utc();
    let (ca_pem, issuer) = match (
        std::fs::read_to_string(&ca_path),
        std::fs::read_to_string(&ca_key_path),
    ) {
        (Ok(pem), Ok(key)) => {
            let key = KeyPair::from_pem(&key).map_err(err)?;
            let issuer = Issuer::from_ca_cert_pem(&pem, key).map_err(err)?;
            (pem, issuer)
        }
        _ => {
            let key = KeyPair::generate().map_err(err)?;
            let mut p = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, "Latch local CA");
            p.distinguished_name = dn;
            p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            p.not_before = now - time::Duration::days(1);
            p.not_after = now + time::Duration::days(CA_DAYS);
            let cert = p.self_signed(&key).map_err(err)?;
            write_private(&ca_key_path, &key.serialize_pem())?;
            write_public(&ca_path, &cert.pem())?;
            (cert.pem(), Issuer::new(p, key))
        }
    };
    let names = leaf_names(listen);
    let mut p = CertificateParams::new(names.clone()).map_err(err)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Latch server");
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    p.not_before = now - time::Duration::hours(1);
    p.not_after = now + time::Duration::days(LEAF_DAYS);
    let key = KeyPair::generate().map_err(err)?;
    let leaf = p.signed_by(&key, &issuer).map_err(err)?;
    let cert_path = dir.join("latch-tls.pem");
    let key_path = dir.join("latch-tls-key.pem");
    write_private(&key_path, &key.serialize_pem())?;
    write_public(&cert_path, &format!("{}{ca_pem}", leaf.pem()))?;
    Ok(SelfSigned {
        ca: ca_path,
        cert: cert_path,
        key: key_path,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_files_load_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let made = self_signed(dir.path(), "127.0.0.1:8443".parse().unwrap()).unwrap();
        assert_eq!(made.names, ["localhost", "127.0.0.1"]);
        let store = CertStore::open(&made.cert, &made.key).unwrap();
        assert_eq!(store.current().cert.len(), 2, "leaf and CA");
        #[cfg(unix)]
        for key in [&made.key, &dir.path().join("latch-ca-key.pem")] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", key.display());
        }
        // A second start keeps the CA (clients trust it once) and mints a new leaf.
        let ca = std::fs::read(&made.ca).unwrap();
        let leaf = std::fs::read(&made.cert).unwrap();
        let again = self_signed(dir.path(), "127.0.0.1:8443".parse().unwrap()).unwrap();
        assert_eq!(std::fs::read(&again.ca).unwrap(), ca);
        assert_ne!(std::fs::read(&again.cert).unwrap(), leaf);
    }

    #[test]
    fn unspecified_listen_covers_loopback_names() {
        let names = leaf_names("0.0.0.0:443".parse().unwrap());
        assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
        let names = leaf_names("192.168.1.5:443".parse().unwrap());
        assert_eq!(names, ["localhost", "192.168.1.5", "127.0.0.1"]);
    }

    #[test]
    fn mismatched_or_missing_files_are_one_line_errors() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let one = self_signed(a.path(), "127.0.0.1:1".parse().unwrap()).unwrap();
        let two = self_signed(b.path(), "127.0.0.1:1".parse().unwrap()).unwrap();
        let e = load(&one.cert, &two.key).unwrap_err();
        assert!(matches!(e, TlsError::Pair { .. }), "{e}");
        let e = load(&a.path().join("nope.pem"), &one.key).unwrap_err();
        assert!(
            matches!(
                e,
                TlsError::File {
                    what: "certificate",
                    ..
                }
            ),
            "{e}"
        );
        let e = load(&one.cert, &one.cert).unwrap_err();
        assert!(matches!(e, TlsError::File { what: "key", .. }), "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    #[test]
    fn reload_swaps_only_when_the_files_change() {
        let dir = tempfile::tempdir().unwrap();
        let made = self_signed(dir.path(), "127.0.0.1:1".parse().unwrap()).unwrap();
        let store = CertStore::open(&made.cert, &made.key).unwrap();
        let before = store.current().cert[0].clone();
        assert!(!store.reload(false).unwrap(), "nothing changed");
        // A half-written renewal keeps the old certificate.
        std::fs::write(&made.cert, "-----BEGIN CERTIFICATE-----\n").unwrap();
        assert!(store.reload(true).is_err());
        assert_eq!(store.current().cert[0], before);
        self_signed(dir.path(), "127.0.0.1:1".parse().unwrap()).unwrap();
        assert!(store.reload(true).unwrap());
        assert_ne!(store.current().cert[0], before);
    }
}
