//! TLS 1.3 for the device's exchanges: embedded-tls (no heap), the
//! server's certificate chain verified against one CA certificate (DER)
//! by embedded-tls' `rustpki` verifier — ECDSA P-256 signatures, the
//! server name (SNI) checked against the leaf's DNS names, validity
//! dates against the device's clock once it is set — plus the checks of
//! RFC 5280 it leaves out, done here ([`Anchored`], `chain_is_allowed`):
//! every certificate between the CA given and the leaf must be a CA
//! (basicConstraints cA TRUE, §6.1.4 (k)), so a leaf the CA issued to
//! anyone cannot sign a certificate for the issuer's name; no CA may have
//! more intermediates below it than its pathLenConstraint says (§6.1.4
//! (l)–(m), the given CA's included); and a leaf with an
//! extendedKeyUsage must list serverAuth (or any purpose, §4.2.1.12). One
//! suite, TLS_AES_128_GCM_SHA256, with an X25519-free secp256r1 key share.
//!
//! What is and is not checked (embedded-tls 0.19, measured in a
//! prototype against rustls, the unit tests below and the TAP test): a
//! leaf from another CA, a self-signed leaf, a missing intermediate, a
//! chain through a non-CA certificate or past a path length, a leaf for
//! client authentication only, a wrong or missing server name and (with
//! the clock set) an expired certificate all fail the handshake. Not
//! checked: name constraints, key usage and intermediates' extended key
//! usages; IP addresses in the certificate are not read (and only the
//! first 3 DNS names are), so the issuer must name the server by a DNS
//! name. Before the clock is set (the MCU, before the first `Date`
//! header) validity dates are not checked; the first answer's `Date` sets
//! the clock and every later handshake checks them.
//!
//! Record buffers: [`RECORD_READ`] bytes in (a record must fit whole:
//! the handshake's certificate flight and every answer are under 4 KiB
//! with Latch's small JSON answers; feature `large-tokens` makes it
//! 16,640, the longest record RFC 8446 §5.2 allows, which a server that
//! fills its records sends), [`RECORD_WRITE`] out.

use core::sync::atomic::{AtomicU32, Ordering};
use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use embedded_tls::pki::CertVerifier;
use embedded_tls::{
    Aes128GcmSha256, Certificate, CertificateEntryRef, CertificateRef, CertificateVerifyRef,
    CryptoProvider, TlsClock, TlsConfig, TlsError, TlsVerifier,
};

/// TLS record buffer, receiving.
#[cfg(not(feature = "large-tokens"))]
pub const RECORD_READ: usize = 4096;
/// TLS record buffer, receiving: 2^14 bytes of ciphertext and 256 of
/// expansion (RFC 8446 §5.2).
#[cfg(feature = "large-tokens")]
pub const RECORD_READ: usize = 16_640;
/// TLS record buffer, sending.
pub const RECORD_WRITE: usize = 1024;
/// The longest certificate chain the verifier holds, bytes.
#[cfg(not(feature = "large-tokens"))]
const CHAIN: usize = 2048;
/// The longest certificate chain the verifier holds, bytes: a leaf and
/// two intermediates of a public CA.
#[cfg(feature = "large-tokens")]
const CHAIN: usize = 4096;

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

/// embedded-tls' verifier, with the chain checked first by
/// `chain_is_allowed` (intermediates are CAs within their path lengths,
/// the leaf is for servers). embedded-tls checks each link's signature
/// and the leaf's name and dates but not these, so without them any leaf
/// the CA issued could act as an intermediate.
struct Anchored<'a> {
    ca_der: &'a [u8],
    inner: CertVerifier<'a, Aes128GcmSha256, DeviceClock, CHAIN>,
}

impl<'a> Anchored<'a> {
    fn new(ca_der: &'a [u8]) -> Self {
        Anchored {
            ca_der,
            inner: CertVerifier::new(Certificate::X509(ca_der)),
        }
    }
}

impl TlsVerifier<Aes128GcmSha256> for Anchored<'_> {
    fn set_hostname_verification(&mut self, hostname: &str) -> Result<(), TlsError> {
        self.inner.set_hostname_verification(hostname)
    }

    fn verify_certificate(
        &mut self,
        transcript: &<Aes128GcmSha256 as embedded_tls::TlsCipherSuite>::Hash,
        cert: CertificateRef,
    ) -> Result<(), TlsError> {
        if !chain_is_allowed(&cert, self.ca_der) {
            return Err(TlsError::InvalidCertificate);
        }
        self.inner.verify_certificate(transcript, cert)
    }

    fn verify_signature(&mut self, verify: CertificateVerifyRef) -> Result<(), TlsError> {
        self.inner.verify_signature(verify)
    }
}

/// Whether `chain` (the leaf first) may stand on `ca_der`, by the checks
/// of RFC 5280 that embedded-tls leaves out:
///
/// * every certificate after the leaf is `ca_der` itself (servers often
///   send it along) or a CA: basicConstraints cA TRUE (§6.1.4 (k),
///   §4.2.1.9);
/// * no CA, the one given included, has more intermediates below it than
///   its pathLenConstraint allows (§6.1.4 (l)–(m); the given CA's own
///   constraint is applied too, as RFC 5937 §3 has it). Self-issued
///   intermediates are counted like any other, which is stricter than
///   §6.1.4 (l);
/// * a leaf with an extendedKeyUsage extension lists id-kp-serverAuth or
///   anyExtendedKeyUsage (§4.2.1.12): a certificate the CA issued for
///   client authentication or code signing does not authenticate a
///   server.
fn chain_is_allowed(chain: &CertificateRef<'_>, ca_der: &[u8]) -> bool {
    let mut entries = chain.entries.iter().map(|entry| match entry {
        CertificateEntryRef::X509(der) => Some(*der),
        CertificateEntryRef::RawPublicKey(_) => None,
    });
    let Some(Some(leaf)) = entries.next() else {
        return false;
    };
    if !serves_tls(leaf) {
        return false;
    }
    // Intermediates between the certificate looked at and the leaf.
    let mut below = 0u32;
    for der in entries {
        match der {
            Some(der) if der == ca_der => break,
            Some(der) => match basic_constraints(der) {
                Some(c) if c.ca && c.allows(below) => below = below.saturating_add(1),
                _ => return false,
            },
            None => return false,
        }
    }
    basic_constraints(ca_der).is_some_and(|c| c.allows(below))
}

/// A certificate's basicConstraints (RFC 5280 §4.2.1.9); the default is
/// the extension's (cA DEFAULT FALSE, no pathLenConstraint), which is also
/// what a certificate without it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Constraints {
    ca: bool,
    /// pathLenConstraint: how many intermediates may follow below.
    path_len: Option<u32>,
}

impl Constraints {
    fn allows(self, intermediates_below: u32) -> bool {
        self.path_len.is_none_or(|n| intermediates_below <= n)
    }
}

/// 2.5.29.19, id-ce-basicConstraints, as DER content octets.
const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
/// 2.5.29.37, id-ce-extKeyUsage.
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
/// 1.3.6.1.5.5.7.3.1, id-kp-serverAuth.
const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// 2.5.29.37.0, anyExtendedKeyUsage.
const ANY_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// A certificate's basicConstraints: `Some` with cA FALSE when it has
/// none, `None` when it does not parse (which no chain check accepts).
fn basic_constraints(cert: &[u8]) -> Option<Constraints> {
    let read = || -> der::Result<Constraints> {
        let mut c = Constraints::default();
        let Some(value) = extension(cert, BASIC_CONSTRAINTS)? else {
            return Ok(c);
        };
        let mut fields = sequence(AnyRef::from_der(value)?)?;
        while !fields.is_finished() {
            let field = AnyRef::decode(&mut fields)?;
            match field.tag() {
                Tag::Boolean => c.ca = field.value() == [0xff],
                Tag::Integer => c.path_len = Some(field.decode_as::<u32>()?),
                _ => return Err(der::ErrorKind::Failed.into()),
            }
        }
        Ok(c)
    };
    read().ok()
}

/// Whether the leaf may authenticate a TLS server (§4.2.1.12): no
/// extendedKeyUsage, or one naming serverAuth or any purpose.
fn serves_tls(leaf: &[u8]) -> bool {
    let read = || -> der::Result<bool> {
        let Some(value) = extension(leaf, EXT_KEY_USAGE)? else {
            return Ok(true);
        };
        let mut purposes = sequence(AnyRef::from_der(value)?)?;
        while !purposes.is_finished() {
            let purpose = AnyRef::decode(&mut purposes)?;
            purpose.tag().assert_eq(Tag::ObjectIdentifier)?;
            if purpose.value() == SERVER_AUTH || purpose.value() == ANY_EXT_KEY_USAGE {
                return Ok(true);
            }
        }
        Ok(false)
    };
    read().unwrap_or(false)
}

fn sequence(any: AnyRef<'_>) -> der::Result<SliceReader<'_>> {
    any.tag().assert_eq(Tag::Sequence)?;
    SliceReader::new(any.value())
}

/// The DER value (inside the OCTET STRING) of the extension `oid` of a
/// certificate (RFC 5280 §4.1), or `None` when it has no such extension.
fn extension<'c>(cert: &'c [u8], oid: &[u8]) -> der::Result<Option<&'c [u8]>> {
    /// tbsCertificate's `extensions [3] EXPLICIT`.
    const EXTENSIONS: Tag = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber(3),
    };
    let mut certificate = sequence(AnyRef::from_der(cert)?)?;
    let mut tbs = sequence(AnyRef::decode(&mut certificate)?)?;
    // The fields before `extensions`; a certificate may have none.
    let field = loop {
        if tbs.is_finished() {
            return Ok(None);
        }
        let field = AnyRef::decode(&mut tbs)?;
        if field.tag() == EXTENSIONS {
            break field;
        }
    };
    let mut extensions = sequence(AnyRef::from_der(field.value())?)?;
    while !extensions.is_finished() {
        let mut extension = sequence(AnyRef::decode(&mut extensions)?)?;
        let id = AnyRef::decode(&mut extension)?;
        id.tag().assert_eq(Tag::ObjectIdentifier)?;
        if id.value() != oid {
            continue;
        }
        let mut value = AnyRef::decode(&mut extension)?;
        if value.tag() == Tag::Boolean {
            value = AnyRef::decode(&mut extension)?; // `critical`
        }
        value.tag().assert_eq(Tag::OctetString)?;
        return Ok(Some(value.value()));
    }
    Ok(None)
}

/// The RNG and the verifier, for one handshake.
struct Provider<'a, 'r> {
    rng: FnRng<'r>,
    verifier: Anchored<'a>,
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
        verifier: Anchored::new(settings.ca_der),
    };
    tls.open(embedded_tls::TlsContext::new(&config, provider))
        .await
}

/// Why a handshake failed, in words.
pub fn describe(e: &TlsError) -> &'static str {
    match e {
        TlsError::InvalidCertificate | TlsError::InvalidCertificateEntry => {
            "the server's certificate is not trusted (unknown CA, a chain RFC 5280 refuses, wrong name or expired)"
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

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    use std::vec::Vec;

    /// A certificate for `name` with `is_ca`, signed by `issuer` (self-signed
    /// when `None`): its DER and an issuer made from it.
    fn cert(
        name: &str,
        is_ca: IsCa,
        issuer: Option<&Issuer<'static, KeyPair>>,
    ) -> (Vec<u8>, Issuer<'static, KeyPair>) {
        cert_for(name, is_ca, &[], issuer)
    }

    /// [`cert`] with these extendedKeyUsage purposes (none: no extension).
    fn cert_for(
        name: &str,
        is_ca: IsCa,
        purposes: &[ExtendedKeyUsagePurpose],
        issuer: Option<&Issuer<'static, KeyPair>>,
    ) -> (Vec<u8>, Issuer<'static, KeyPair>) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(std::vec![name.into()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = is_ca;
        p.extended_key_usages = purposes.to_vec();
        let c = match issuer {
            Some(issuer) => p.signed_by(&key, issuer).unwrap(),
            None => p.self_signed(&key).unwrap(),
        };
        (c.der().to_vec(), Issuer::new(p, key))
    }

    fn ca() -> IsCa {
        IsCa::Ca(BasicConstraints::Unconstrained)
    }

    fn chain<'a>(entries: &[&'a [u8]]) -> CertificateRef<'a> {
        let mut c = CertificateRef::with_context(&[]);
        for e in entries {
            c.add(CertificateEntryRef::X509(e)).unwrap();
        }
        c
    }

    #[test]
    fn basic_constraints_are_read_as_rfc_5280_writes_them() {
        let (root, root_issuer) = cert("root.test", ca(), None);
        let is_ca = |der: &[u8]| basic_constraints(der).is_some_and(|c| c.ca);
        assert!(is_ca(&root));
        let (intermediate, _) = cert("intermediate.test", ca(), Some(&root_issuer));
        assert_eq!(
            basic_constraints(&intermediate),
            Some(Constraints {
                ca: true,
                path_len: None
            })
        );
        let (zero, _) = cert(
            "zero.test",
            IsCa::Ca(BasicConstraints::Constrained(0)),
            None,
        );
        assert_eq!(
            basic_constraints(&zero),
            Some(Constraints {
                ca: true,
                path_len: Some(0)
            })
        );
        // No basicConstraints, and an explicit cA FALSE: not a CA.
        let (leaf, _) = cert("latch.test", IsCa::NoCa, Some(&root_issuer));
        assert!(!is_ca(&leaf));
        let (explicit, _) = cert("latch.test", IsCa::ExplicitNoCa, Some(&root_issuer));
        assert!(!is_ca(&explicit));
        // Nothing that does not parse is a CA, or serves TLS.
        for n in 0..root.len() {
            assert!(!is_ca(&root[..n]), "truncated at {n}");
            assert!(basic_constraints(&root[..n]).is_none(), "truncated at {n}");
            assert!(!serves_tls(&root[..n]), "truncated at {n}");
        }
        assert!(!is_ca(b""));
        assert!(!is_ca(&[0x30, 0x03, 0x30, 0x01, 0x00]));
    }

    #[test]
    fn a_leaf_cannot_stand_in_for_an_intermediate() {
        let (root, root_issuer) = cert("root.test", ca(), None);
        let (intermediate, intermediate_issuer) =
            cert("intermediate.test", ca(), Some(&root_issuer));
        let (leaf, _) = cert("latch.test", IsCa::NoCa, Some(&intermediate_issuer));
        let (direct, _) = cert("latch.test", IsCa::NoCa, Some(&root_issuer));
        // Someone else's leaf from the same CA, used to sign one for our name.
        let (other, other_issuer) = cert("other.test", IsCa::NoCa, Some(&root_issuer));
        let (forged, _) = cert("latch.test", IsCa::NoCa, Some(&other_issuer));

        assert!(chain_is_allowed(&chain(&[&direct]), &root));
        assert!(chain_is_allowed(&chain(&[&direct, &root]), &root));
        assert!(chain_is_allowed(
            &chain(&[&leaf, &intermediate, &root]),
            &root
        ));
        assert!(!chain_is_allowed(&chain(&[&forged, &other]), &root));
        assert!(!chain_is_allowed(&chain(&[&forged, &other, &root]), &root));

        // Through the handshake's verifier: embedded-tls alone takes the
        // forged chain (each signature is good, the name is right); with
        // the check it is refused, and the good chains still pass.
        set_time(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        );
        fn check(
            mut v: impl TlsVerifier<Aes128GcmSha256>,
            entries: &[&[u8]],
        ) -> Result<(), TlsError> {
            v.set_hostname_verification("latch.test")?;
            v.verify_certificate(&Default::default(), chain(entries))
        }
        let verify = |entries: &[&[u8]], anchored: bool| {
            if anchored {
                check(Anchored::new(&root), entries)
            } else {
                check(
                    CertVerifier::<Aes128GcmSha256, DeviceClock, CHAIN>::new(Certificate::X509(
                        &root,
                    )),
                    entries,
                )
            }
        };
        let forged_alone = verify(&[&forged, &other], false);
        assert!(forged_alone.is_ok(), "{forged_alone:?}");
        let refused = verify(&[&forged, &other], true);
        assert!(
            matches!(refused, Err(TlsError::InvalidCertificate)),
            "{refused:?}"
        );
        for good in [
            &[&leaf[..], &intermediate[..]][..],
            &[&direct[..], &root[..]][..],
            &[&direct[..]][..],
        ] {
            let r = verify(good, true);
            assert!(r.is_ok(), "{r:?}");
        }
    }

    #[test]
    fn path_length_limits_are_kept() {
        let zero = || IsCa::Ca(BasicConstraints::Constrained(0));
        let one = || IsCa::Ca(BasicConstraints::Constrained(1));
        // pathLen 0 on the given CA: its leaves directly, no intermediate.
        let (root0, root0_issuer) = cert("root0.test", zero(), None);
        let (direct, _) = cert("latch.test", IsCa::NoCa, Some(&root0_issuer));
        let (int, int_issuer) = cert("int.test", ca(), Some(&root0_issuer));
        let (under_int, _) = cert("latch.test", IsCa::NoCa, Some(&int_issuer));
        assert!(chain_is_allowed(&chain(&[&direct]), &root0));
        // A CA certificate that does not parse allows nothing.
        assert!(!chain_is_allowed(&chain(&[&direct]), b"not DER"));
        assert!(chain_is_allowed(&chain(&[&direct, &root0]), &root0));
        assert!(!chain_is_allowed(&chain(&[&under_int, &int]), &root0));
        assert!(!chain_is_allowed(
            &chain(&[&under_int, &int, &root0]),
            &root0
        ));
        // An intermediate with pathLen 0 under an unconstrained root: one
        // level below it is fine, a second intermediate below it is not.
        let (root, root_issuer) = cert("root.test", ca(), None);
        let (int0, int0_issuer) = cert("int0.test", zero(), Some(&root_issuer));
        let (int1, int1_issuer) = cert("int1.test", one(), Some(&root_issuer));
        let (leaf0, _) = cert("latch.test", IsCa::NoCa, Some(&int0_issuer));
        let (sub0, sub0_issuer) = cert("sub.test", ca(), Some(&int0_issuer));
        let (sub1, sub1_issuer) = cert("sub.test", ca(), Some(&int1_issuer));
        let (leaf_sub0, _) = cert("latch.test", IsCa::NoCa, Some(&sub0_issuer));
        let (leaf_sub1, _) = cert("latch.test", IsCa::NoCa, Some(&sub1_issuer));
        assert!(chain_is_allowed(&chain(&[&leaf0, &int0]), &root));
        assert!(!chain_is_allowed(
            &chain(&[&leaf_sub0, &sub0, &int0]),
            &root
        ));
        assert!(chain_is_allowed(&chain(&[&leaf_sub1, &sub1, &int1]), &root));
    }

    #[test]
    fn the_leaf_must_be_for_server_authentication() {
        use ExtendedKeyUsagePurpose::{Any, ClientAuth, CodeSigning, ServerAuth};
        let (root, issuer) = cert("root.test", ca(), None);
        for (purposes, serves) in [
            (&[][..], true),
            (&[ServerAuth][..], true),
            (&[ClientAuth, ServerAuth][..], true),
            (&[Any][..], true),
            (&[ClientAuth][..], false),
            (&[CodeSigning, ClientAuth][..], false),
        ] {
            let (leaf, _) = cert_for("latch.test", IsCa::NoCa, purposes, Some(&issuer));
            assert_eq!(serves_tls(&leaf), serves, "{purposes:?}");
            assert_eq!(chain_is_allowed(&chain(&[&leaf]), &root), serves);
        }
    }
}
