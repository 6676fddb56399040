//! Every call the consumer makes to a provider: reqwest over rustls.
//!
//! * Server certificates are checked against the platform's trust store
//!   (rustls-platform-verifier: on Linux the system's CA bundle) plus any
//!   CA certificates the application adds ([`Outbound::extra_roots_pem`]:
//!   a private PKI, a test CA).
//! * Plain `http://` is refused unless the host is loopback (`localhost`,
//!   `127.0.0.0/8`, `::1`): credentials never cross a network in clear.
//!   [`Consumer::new`](super::Consumer::new) checks every provider URL
//!   when the consumer is built; [`SignedClient`](super::SignedClient)
//!   checks each URL it is asked to call.
//! * Every request has a deadline ([`Outbound::timeout`], connect
//!   [`Outbound::connect_timeout`]); redirects are not followed (a token
//!   endpoint that redirects is a misconfiguration, and following it could
//!   carry credentials elsewhere).

use std::time::Duration;

/// How the consumer reaches providers.
#[derive(Debug, Clone)]
pub struct Outbound {
    /// PEM CA certificates trusted in addition to the platform's roots.
    pub extra_roots_pem: Vec<Vec<u8>>,
    /// Deadline for a whole request, response body included.
    pub timeout: Duration,
    /// Deadline for the TCP connection and TLS handshake.
    pub connect_timeout: Duration,
}

impl Default for Outbound {
    fn default() -> Self {
        Outbound {
            extra_roots_pem: Vec::new(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl Outbound {
    /// Adds the CA certificates of a PEM file.
    pub fn trust_pem_file(mut self, path: &std::path::Path) -> Result<Self, OutboundError> {
        let pem = std::fs::read(path).map_err(|e| OutboundError::Ca {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        // Parsed now so that a wrong file fails here, not on first use.
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certs) if !certs.is_empty() => {}
            _ => {
                return Err(OutboundError::Ca {
                    path: path.display().to_string(),
                    message: "no PEM CERTIFICATE in the file".into(),
                });
            }
        }
        self.extra_roots_pem.push(pem);
        Ok(self)
    }

    /// The HTTP client: rustls, these roots, these deadlines, no redirects.
    pub fn client(&self) -> Result<reqwest::Client, OutboundError> {
        let mut roots = Vec::new();
        for pem in &self.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| OutboundError::Client(e.to_string()))?;
            roots.extend(certs);
        }
        reqwest::Client::builder()
            .tls_certs_merge(roots)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| OutboundError::Client(e.to_string()))
    }
}

/// Why outbound calls cannot be set up; each renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// A URL is plain http to a host that is not loopback.
    #[error(
        "{what} {url} is plain http:// to a non-loopback host; providers must be reached over https://"
    )]
    Insecure {
        /// Which setting.
        what: String,
        /// The URL.
        url: String,
    },
    /// A URL is not an absolute http(s) URL.
    #[error("{what} {url} is not an absolute http(s) URL")]
    BadUrl {
        /// Which setting.
        what: String,
        /// The URL.
        url: String,
    },
    /// A CA file could not be used.
    #[error("CA file {path}: {message}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up outbound HTTPS: {0}")]
    Client(String),
}

/// Whether `url` may be called: `https://`, or `http://` to a loopback
/// host.
pub fn check_url(what: &str, url: &str) -> Result<(), OutboundError> {
    let bad = || OutboundError::BadUrl {
        what: what.to_owned(),
        url: url.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|_| bad())?;
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(()),
        "http" => match parsed.host() {
            Some(host) if is_loopback(&host) => Ok(()),
            Some(_) => Err(OutboundError::Insecure {
                what: what.to_owned(),
                url: url.to_owned(),
            }),
            None => Err(bad()),
        },
        _ => Err(bad()),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "https://accounts.example.com/o/oauth2/auth",
            "http://127.0.0.1:8080/oauth2/token",
            "http://127.1.2.3/x",
            "http://[::1]:9000/",
            "http://localhost/x",
            "http://LOCALHOST:1/",
        ] {
            assert!(check_url("token_endpoint", ok).is_ok(), "{ok}");
        }
        for insecure in [
            "http://auth.example.com/token",
            "http://10.0.0.1/token",
            "http://localhost.example.com/",
            "http://[::2]/",
        ] {
            assert!(
                matches!(
                    check_url("token_endpoint", insecure),
                    Err(OutboundError::Insecure { .. })
                ),
                "{insecure}"
            );
        }
        for bad in ["ftp://x/", "/relative", "https://", "mailto:a@b"] {
            assert!(
                matches!(check_url("x", bad), Err(OutboundError::BadUrl { .. })),
                "{bad}"
            );
        }
        let e = check_url("token_endpoint", "http://auth.example.com/t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "token_endpoint http://auth.example.com/t is plain http:// to a non-loopback host; providers must be reached over https://"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate").unwrap();
        assert!(matches!(
            Outbound::default().trust_pem_file(&f),
            Err(OutboundError::Ca { .. })
        ));
        assert!(matches!(
            Outbound::default().trust_pem_file(&dir.path().join("missing.pem")),
            Err(OutboundError::Ca { .. })
        ));
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let o = Outbound::default().trust_pem_file(&ca_file).unwrap();
        assert_eq!(o.extra_roots_pem.len(), 1);
        assert!(o.client().is_ok());
    }
}
