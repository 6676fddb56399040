//! TLS 1.3 for the device's exchanges: embedded-tls (no heap), the
//! server's certificate chain verified against one CA certificate (DER)
//! by embedded-tls' `rustpki` verifier — ECDSA P-256 signatures, the
//! server name (SNI) checked against the leaf's DNS names, validity
//! dates against the device's clock once it is set. One suite,
//! TLS_AES_128_GCM_SHA256, with an X25519-free secp256r1 key share.
//!
//! What is and is not checked (embedded-tls 0.19, measured in a
//! prototype against rustls): a leaf from another CA, a self-signed
//! leaf, a missing intermediate, a wrong or missing server name and (with
//! the clock set) an expired certificate all fail the handshake. Not
//! checked: the CA flag of intermediates and the serverAuth EKU, so the
//! CA given here must be one that issues only server certificates (a
//! dedicated CA, as the TAP test's); IP addresses in the certificate are
//! not read, so the issuer must name the server by a DNS name. Before the
//! clock is set (the MCU, before the first `Date` header) validity dates
//! are not checked; the first answer's `Date` sets the clock and every
//! later handshake checks them.
//!
//! Record buffers: [`RECORD_READ`] bytes in (a record must fit whole:
//! the handshake's certificate flight and every answer are under it with
//! Latch's small JSON answers; a server that sends full 16 KiB records
//! needs 16,640), [`RECORD_WRITE`] out.

use core::sync::atomic::{AtomicU32, Ordering};
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CryptoProvider, TlsClock, TlsConfig, TlsError, TlsVerifier,
};

/// TLS record buffer, receiving.
pub const RECORD_READ: usize = 4096;
/// TLS record buffer, sending.
pub const RECORD_WRITE: usize = 1024;
/// The longest certificate chain the verifier holds, bytes.
const CHAIN: usize = 2048;

/// What the handshake needs to know.
#[derive(Clone, Copy)]
pub struct TlsSettings<'a> {
    /// The CA certificate, DER.
    pub ca_der: &'a [u8],
    /// The server's DNS name: SNI, and the name its certificate must carry.
    pub server_name: &'a str,
}

/// The device's Unix time for certificate validity; 0 while unknown.
/// (`TlsClock::now` takes no `self`, so the time lives in a static; u32
/// seconds, since thumbv7em has no 64-bit atomics — good until 2106.)
static UNIX_NOW: AtomicU32 = AtomicU32::new(0);

/// Sets the time certificates are checked at.
pub fn set_time(unix_secs: u64) {
    UNIX_NOW.store(
        u32::try_from(unix_secs).unwrap_or(u32::MAX),
        Ordering::Relaxed,
    );
}

struct DeviceClock;

impl TlsClock for DeviceClock {
    fn now() -> Option<u64> {
        match UNIX_NOW.load(Ordering::Relaxed) {
            0 => None,
            t => Some(u64::from(t)),
        }
    }
}

/// The platform's RNG (`random` fills a buffer) as rand_core 0.6, which
/// embedded-tls takes.
struct FnRng<'r>(&'r mut dyn FnMut(&mut [u8]));

impl rand_core::RngCore for FnRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        (self.0)(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        (self.0)(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        (self.0)(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        (self.0)(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for FnRng<'_> {}

/// The RNG and the verifier, for one handshake.
struct Provider<'a, 'r> {
    rng: FnRng<'r>,
    verifier: CertVerifier<'a, Aes128GcmSha256, DeviceClock, CHAIN>,
}

impl CryptoProvider for Provider<'_, '_> {
    type CipherSuite = Aes128GcmSha256;
    type Signature = &'static [u8];

    fn rng(&mut self) -> impl embedded_tls::CryptoRngCore {
        &mut self.rng
    }

    fn verifier(&mut self) -> Result<&mut impl TlsVerifier<Aes128GcmSha256>, TlsError> {
        Ok(&mut self.verifier)
    }
}

/// Runs the handshake on `tls`.
pub async fn open<S: embedded_io_async::Read + embedded_io_async::Write>(
    tls: &mut embedded_tls::TlsConnection<'_, S, Aes128GcmSha256>,
    settings: &TlsSettings<'_>,
    random: &mut dyn FnMut(&mut [u8]),
) -> Result<(), TlsError> {
    let config = TlsConfig::new().with_server_name(settings.server_name);
    let provider = Provider {
        rng: FnRng(random),
        verifier: CertVerifier::new(Certificate::X509(settings.ca_der)),
    };
    tls.open(embedded_tls::TlsContext::new(&config, provider))
        .await
}

/// Why a handshake failed, in words.
pub fn describe(e: &TlsError) -> &'static str {
    match e {
        TlsError::InvalidCertificate | TlsError::InvalidCertificateEntry => {
            "the server's certificate is not trusted (unknown CA, wrong name or expired)"
        }
        TlsError::InvalidSignature => "the server's handshake signature is invalid",
        TlsError::HandshakeAborted(..) => "the server aborted the handshake",
        TlsError::InsufficientSpace | TlsError::OutOfMemory => {
            "a TLS record or the certificate chain does not fit its buffer"
        }
        TlsError::ConnectionClosed | TlsError::Io(_) | TlsError::IoError => {
            "the connection closed during the handshake"
        }
        _ => "the handshake failed",
    }
}
