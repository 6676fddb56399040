//! JWS Compact Serialization (RFC 7515 §3.1, §7.1):
//! `BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature)`.
//!
//! * [`sign_compact`] writes the whole token into the caller's buffer and
//!   asks the [`Signer`] for the signature over the first two parts where
//!   they already lie in that buffer (§5.1); nothing is copied.
//! * [`Jws::parse`] borrows the token, checks its shape (three parts of
//!   canonical base64url, §7.1), decodes the header into a small buffer
//!   inside the [`Jws`] and reads `alg`, `kid`, `typ` from it (§4.1.1,
//!   §4.1.4, §4.1.9). [`Jws::verify`] decodes the signature onto the stack
//!   and hands it with the signing input to a [`Verifier`] (§5.2);
//!   [`Jws::decode_payload`] decodes the payload into the caller's buffer.
//!
//! Nothing in the token chooses the key: the caller does (by `kid`,
//! through [`JwkSet::select`](super::JwkSet::select), or because it knows
//! the issuer's only key), and the verifier refuses an `alg` its key is
//! not for.

use super::{Alg, JoseError, b64};
use crate::buf::BufferTooSmall;
use crate::json::{self, JsonStr};
use core::fmt;
use serde::Deserialize;

/// The longest compact JWS [`Jws::parse`] accepts, in bytes.
pub const MAX_JWS_LEN: usize = 16 * 1024;

/// The longest protected header, as decoded JSON, that is accepted or
/// written. A header with `alg`, a thumbprint `kid` and `typ` is about 80
/// bytes; one carrying a certificate chain (`x5c`) does not fit.
pub const MAX_HEADER_LEN: usize = 1024;

/// The longest signature accepted or produced: 512 bytes, an RSA-4096
/// signature.
pub const MAX_SIGNATURE_LEN: usize = 512;

/// The JOSE header [`sign_compact`] writes (RFC 7515 §4.1): `alg`, then
/// `kid` and `typ` when given, in that order, as compact JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JwsHeader<'a> {
    /// `alg`: must be the signer's.
    pub alg: Alg,
    /// `kid`: which of the issuer's keys signed (§4.1.4).
    pub kid: Option<&'a str>,
    /// `typ`: the media type of the whole JWS, e.g. `JWT` or `at+jwt`
    /// (§4.1.9, RFC 9068 §2.1).
    pub typ: Option<&'a str>,
}

impl<'a> JwsHeader<'a> {
    /// A header with only `alg`.
    pub const fn new(alg: Alg) -> Self {
        JwsHeader {
            alg,
            kid: None,
            typ: None,
        }
    }
}

#[derive(serde::Serialize)]
struct HeaderJson<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// Produces JWS signatures: the core's [`Es256Key`](super::Es256Key) and
/// [`Ed25519Key`](super::Ed25519Key), or the shell's RS256 key, HSM or
/// KMS.
pub trait Signer {
    /// The algorithm it signs with.
    fn alg(&self) -> Alg;

    /// How long its signatures are, so that [`sign_compact`] can check the
    /// output buffer before signing: by default the algorithm's fixed
    /// length, or [`MAX_SIGNATURE_LEN`] for RS256 (an RS256 signer should
    /// return its modulus length).
    fn signature_len(&self) -> usize {
        self.alg().signature_len().unwrap_or(MAX_SIGNATURE_LEN)
    }

    /// Signs `signing_input` (RFC 7515 §5.1 step 5), writing the raw
    /// signature (for ES256 the 64-byte `r‖s` of RFC 7518 §3.4, not DER)
    /// into `out`, which holds at least [`MAX_SIGNATURE_LEN`] bytes, and
    /// returns its length.
    fn sign(&mut self, signing_input: &[u8], out: &mut [u8]) -> Result<usize, JoseError>;
}

/// Checks JWS signatures for one key.
pub trait Verifier {
    /// `Ok` when `signature` is `alg`'s signature of `signing_input` under
    /// this key. An `alg` this key is not for is
    /// [`JoseError::KeyMismatch`]; a signature that does not verify (or
    /// has the wrong length) is [`JoseError::BadSignature`].
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError>;
}

impl<S: Signer + ?Sized> Signer for &mut S {
    fn alg(&self) -> Alg {
        (**self).alg()
    }
    fn signature_len(&self) -> usize {
        (**self).signature_len()
    }
    fn sign(&mut self, signing_input: &[u8], out: &mut [u8]) -> Result<usize, JoseError> {
        (**self).sign(signing_input, out)
    }
}

impl<V: Verifier + ?Sized> Verifier for &V {
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        (**self).verify(alg, signing_input, signature)
    }
}

/// `a + b`, or [`JoseError::TooLarge`].
fn add(a: usize, b: usize) -> Result<usize, JoseError> {
    a.checked_add(b).ok_or(JoseError::TooLarge)
}

/// Writes `BASE64URL(header JSON) '.' BASE64URL(payload) '.'
/// BASE64URL(signature)` into `out` and returns its length (RFC 7515 §5.1,
/// §7.1).
///
/// The header is rendered as compact JSON (`alg`, `kid`, `typ`; at most
/// [`MAX_HEADER_LEN`] bytes). `signer` signs the first two parts as they
/// lie in `out`.
///
/// Errors: [`JoseError::KeyMismatch`] when `header.alg` is not the
/// signer's; [`JoseError::BufferTooSmall`] with the exact size needed
/// (checked before signing from [`Signer::signature_len`], and again
/// after); [`JoseError::TooLarge`] for a header over [`MAX_HEADER_LEN`];
/// the signer's own error. `out` is left untouched when the header does
/// not fit or the buffer is too small (as far as the signer's announced
/// length tells); after a signer error its contents are unspecified.
pub fn sign_compact<S: Signer + ?Sized>(
    header: &JwsHeader<'_>,
    payload: &[u8],
    signer: &mut S,
    out: &mut [u8],
) -> Result<usize, JoseError> {
    if header.alg != signer.alg() {
        return Err(JoseError::KeyMismatch);
    }
    let mut header_json = [0u8; MAX_HEADER_LEN];
    let header_len = json::render(
        &HeaderJson {
            alg: header.alg.as_str(),
            kid: header.kid,
            typ: header.typ,
        },
        &mut header_json,
    )
    .map_err(|_| JoseError::TooLarge)?;
    let header_json = header_json.get(..header_len).ok_or(JoseError::TooLarge)?;

    let h64 = b64::encoded_len(header_len);
    let input_len = add(add(h64, 1)?, b64::encoded_len(payload.len()))?;
    let total = |sig_len: usize| add(add(input_len, 1)?, b64::encoded_len(sig_len));
    let announced = total(signer.signature_len().min(MAX_SIGNATURE_LEN))?;
    if announced > out.len() {
        return Err(BufferTooSmall {
            required: announced,
        }
        .into());
    }

    // Header and payload, then the signature over them.
    let (head, rest) = out.split_at_mut_checked(h64).ok_or(JoseError::TooLarge)?;
    b64::encode(header_json, head)?;
    let (dot, rest) = rest.split_first_mut().ok_or(JoseError::TooLarge)?;
    *dot = b'.';
    b64::encode(payload, rest)?;
    let mut signature = [0u8; MAX_SIGNATURE_LEN];
    let signing_input = out.get(..input_len).ok_or(JoseError::TooLarge)?;
    let sig_len = signer.sign(signing_input, &mut signature)?;
    let signature = signature.get(..sig_len).ok_or(JoseError::Signer)?;
    if signature.is_empty() {
        return Err(JoseError::Signer);
    }
    let required = total(sig_len)?;
    let tail = out
        .get_mut(input_len..required)
        .ok_or(BufferTooSmall { required })?;
    let (dot, sig_text) = tail.split_first_mut().ok_or(JoseError::TooLarge)?;
    *dot = b'.';
    b64::encode(signature, sig_text)?;
    Ok(required)
}

/// Records that a member was present, whatever its value (even `null`).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Present(true))
    }
}

/// The members of a protected header this crate reads.
#[derive(Deserialize)]
struct HeaderFields<'a> {
    #[serde(borrow)]
    alg: JsonStr<'a>,
    #[serde(borrow, default)]
    kid: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    typ: Option<JsonStr<'a>>,
    #[serde(default)]
    crit: Present,
}

/// Where `inner` lies within `outer`, as a `(start, end)` pair.
fn span(outer: &[u8], inner: &str) -> Option<(u16, u16)> {
    let start = (inner.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    let end = start.checked_add(inner.len())?;
    if outer.get(start..end)? != inner.as_bytes() {
        return None;
    }
    Some((u16::try_from(start).ok()?, u16::try_from(end).ok()?))
}

/// A compact JWS, parsed: the token's parts borrowed, its header decoded.
///
/// Parsing checks the form; nothing is trusted until [`Jws::verify`]
/// succeeds. `Debug` shows the header's `alg`, `kid`, `typ` and the
/// token's length, never the token (a JWT access token is a bearer
/// credential).
#[derive(Clone)]
pub struct Jws<'a> {
    signing_input: &'a [u8],
    payload: &'a [u8],
    signature: &'a [u8],
    alg: Alg,
    header: heapless::Vec<u8, MAX_HEADER_LEN>,
    kid: Option<(u16, u16)>,
    typ: Option<(u16, u16)>,
}

/// The header members a [`Jws`] exposes (RFC 7515 §4.1), borrowed from
/// its decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedHeader<'h> {
    alg: Alg,
    kid: Option<JsonStr<'h>>,
    typ: Option<JsonStr<'h>>,
}

impl<'h> ParsedHeader<'h> {
    /// `alg`.
    pub const fn alg(&self) -> Alg {
        self.alg
    }

    /// `kid`, if present.
    pub const fn kid(&self) -> Option<JsonStr<'h>> {
        self.kid
    }

    /// `typ`, if present.
    pub const fn typ(&self) -> Option<JsonStr<'h>> {
        self.typ
    }

    /// Whether `typ` names `media_type` under RFC 7515 §4.1.9's rules: a
    /// value without a `/` stands for `application/` followed by it, and
    /// media types compare without regard to ASCII case. So `JWT` matches
    /// `application/jwt` and `at+jwt` matches `application/at+JWT` (RFC
    /// 9068 §2.1), but `text/jwt` matches neither. `false` when there is
    /// no `typ`.
    pub fn typ_is(&self, media_type: &str) -> bool {
        let Some(typ) = self.typ else {
            return false;
        };
        let mut buf = [0u8; 128];
        let Ok(typ) = typ.decode(&mut buf) else {
            return false;
        };
        let (a, b) = (application_subtype(typ), application_subtype(media_type));
        a.0 == b.0 && a.1.eq_ignore_ascii_case(b.1)
    }
}

/// `(true, subtype)` for an `application/…` media type (or a bare name,
/// which RFC 7515 §4.1.9 reads as one), `(false, whole)` for any other.
fn application_subtype(s: &str) -> (bool, &[u8]) {
    const PREFIX: &[u8] = b"application/";
    let b = s.as_bytes();
    if !b.contains(&b'/') {
        return (true, b);
    }
    match (b.get(..PREFIX.len()), b.get(PREFIX.len()..)) {
        (Some(p), Some(rest)) if p.eq_ignore_ascii_case(PREFIX) => (true, rest),
        _ => (false, b),
    }
}

impl<'a> Jws<'a> {
    /// Parses a JWS in compact serialization (RFC 7515 §7.1; §5.2 steps
    /// 1–5 and 7): at most [`MAX_JWS_LEN`] bytes, exactly three parts of
    /// canonical unpadded base64url, a header of at most
    /// [`MAX_HEADER_LEN`] bytes that is a JSON object with a string `alg`
    /// naming an [`Alg`] and no `crit`, `kid` and `typ` strings if present,
    /// a non-empty signature of at most [`MAX_SIGNATURE_LEN`] bytes.
    ///
    /// Errors: [`JoseError::TooLarge`], [`JoseError::Malformed`],
    /// [`JoseError::UnsupportedAlg`] (including `none`),
    /// [`JoseError::UnsupportedCritical`].
    pub fn parse(compact: &'a [u8]) -> Result<Jws<'a>, JoseError> {
        if compact.len() > MAX_JWS_LEN {
            return Err(JoseError::TooLarge);
        }
        let mut parts = compact.split(|&b| b == b'.');
        let (Some(header64), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed);
        };
        let header_len = b64::check(header64)?;
        b64::check(payload)?;
        let sig_len = b64::check(signature)?;
        if header_len > MAX_HEADER_LEN || sig_len > MAX_SIGNATURE_LEN {
            return Err(JoseError::TooLarge);
        }
        if header_len == 0 || sig_len == 0 {
            return Err(JoseError::Malformed);
        }
        let input_len = header64
            .len()
            .saturating_add(1)
            .saturating_add(payload.len());
        let signing_input = compact.get(..input_len).ok_or(JoseError::Malformed)?;

        let mut header = heapless::Vec::<u8, MAX_HEADER_LEN>::new();
        header
            .resize_default(header_len)
            .map_err(|_| JoseError::TooLarge)?;
        b64::decode(header64, &mut header)?;
        let (alg, kid, typ) = {
            let fields: HeaderFields<'_> = json::parse_strict(&header)?;
            if fields.crit.0 {
                return Err(JoseError::UnsupportedCritical);
            }
            let alg = Alg::parse_json(&fields.alg).ok_or(JoseError::UnsupportedAlg)?;
            let at = |s: Option<JsonStr<'_>>| match s {
                None => Ok(None),
                Some(s) => span(&header, s.raw()).map(Some).ok_or(JoseError::Malformed),
            };
            (alg, at(fields.kid)?, at(fields.typ)?)
        };
        Ok(Jws {
            signing_input,
            payload,
            signature,
            alg,
            header,
            kid,
            typ,
        })
    }

    /// The header's `alg`, `kid` and `typ`.
    pub fn header(&self) -> ParsedHeader<'_> {
        let text = |span: Option<(u16, u16)>| {
            let (start, end) = span?;
            let raw = self
                .header
                .get(usize::from(start)..usize::from(end))
                .and_then(|b| core::str::from_utf8(b).ok())?;
            Some(JsonStr::trusted(raw))
        };
        ParsedHeader {
            alg: self.alg,
            kid: text(self.kid),
            typ: text(self.typ),
        }
    }

    /// The decoded header JSON, for members this type does not read.
    pub fn header_json(&self) -> &[u8] {
        &self.header
    }

    /// `alg`.
    pub const fn alg(&self) -> Alg {
        self.alg
    }

    /// The JWS Signing Input: `BASE64URL(header) '.' BASE64URL(payload)`,
    /// borrowed from the token (RFC 7515 §5.2 step 8).
    pub const fn signing_input(&self) -> &'a [u8] {
        self.signing_input
    }

    /// The payload's base64url text, as it appeared.
    pub const fn payload_b64(&self) -> &'a [u8] {
        self.payload
    }

    /// How many bytes the payload decodes to.
    pub const fn payload_len(&self) -> usize {
        b64::decoded_len(self.payload.len())
    }

    /// Checks the signature with `verifier` (RFC 7515 §5.2 steps 6 and 8).
    pub fn verify<V: Verifier + ?Sized>(&self, verifier: &V) -> Result<(), JoseError> {
        let mut sig = [0u8; MAX_SIGNATURE_LEN];
        let sig = b64::decode(self.signature, &mut sig)?;
        verifier.verify(self.alg, self.signing_input, sig)
    }

    /// Decodes the payload into `buf` (at least [`Jws::payload_len`]
    /// bytes) and returns it. Only trust it after [`Jws::verify`].
    pub fn decode_payload<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], JoseError> {
        b64::decode(self.payload, buf)
    }
}

impl fmt::Debug for Jws<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = self.header();
        f.debug_struct("Jws")
            .field("alg", &h.alg)
            .field("kid", &h.kid)
            .field("typ", &h.typ)
            .field("payload_len", &self.payload_len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// A signer that writes `len` bytes of 0xAB (or fails).
    struct Fixed {
        alg: Alg,
        len: usize,
        announced: Option<usize>,
        fail: bool,
    }

    impl Signer for Fixed {
        fn alg(&self) -> Alg {
            self.alg
        }
        fn signature_len(&self) -> usize {
            self.announced.unwrap_or(self.len)
        }
        fn sign(&mut self, _: &[u8], out: &mut [u8]) -> Result<usize, JoseError> {
            if self.fail {
                return Err(JoseError::Signer);
            }
            out.get_mut(..self.len).ok_or(JoseError::Signer)?.fill(0xAB);
            Ok(self.len)
        }
    }

    /// Accepts exactly the signature [`Fixed`] makes, for one alg.
    struct Accepts(Alg, usize);

    impl Verifier for Accepts {
        fn verify(&self, alg: Alg, _: &[u8], sig: &[u8]) -> Result<(), JoseError> {
            if alg != self.0 {
                return Err(JoseError::KeyMismatch);
            }
            if sig.len() == self.1 && sig.iter().all(|&b| b == 0xAB) {
                Ok(())
            } else {
                Err(JoseError::BadSignature)
            }
        }
    }

    fn fixed(alg: Alg, len: usize) -> Fixed {
        Fixed {
            alg,
            len,
            announced: None,
            fail: false,
        }
    }

    fn b64(bytes: &[u8]) -> Vec<u8> {
        let mut out = std::vec![0u8; bytes.len() * 2 + 4];
        let n = b64::encode(bytes, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn token(header: &str, payload: &[u8], sig: &[u8]) -> Vec<u8> {
        let mut t = b64(header.as_bytes());
        t.push(b'.');
        t.extend(b64(payload));
        t.push(b'.');
        t.extend(b64(sig));
        t
    }

    #[test]
    fn sign_then_parse() {
        let header = JwsHeader {
            alg: Alg::Rs256,
            kid: Some("k\"1"),
            typ: Some("JWT"),
        };
        let mut out = [0u8; 1024];
        let n = sign_compact(&header, b"{\"a\":1}", &mut fixed(Alg::Rs256, 256), &mut out).unwrap();
        let jws = Jws::parse(&out[..n]).unwrap();
        let h = jws.header();
        assert_eq!(h.alg(), Alg::Rs256);
        assert!(h.kid().unwrap().eq_str("k\"1"));
        assert_eq!(h.kid().unwrap().raw(), "k\\\"1");
        assert!(h.typ_is("JWT"));
        assert_eq!(
            jws.header_json(),
            br#"{"alg":"RS256","kid":"k\"1","typ":"JWT"}"#
        );
        jws.verify(&Accepts(Alg::Rs256, 256)).unwrap();
        assert_eq!(
            jws.verify(&Accepts(Alg::Es256, 256)),
            Err(JoseError::KeyMismatch)
        );
        let mut buf = [0u8; 7];
        assert_eq!(jws.decode_payload(&mut buf).unwrap(), b"{\"a\":1}");
        let mut small = [0u8; 6];
        assert_eq!(
            jws.decode_payload(&mut small),
            Err(JoseError::BufferTooSmall(BufferTooSmall { required: 7 }))
        );
        let shown = std::format!("{jws:?}");
        assert!(shown.contains("Rs256") && !shown.contains("eyJ"), "{shown}");
        assert_eq!(
            jws.signing_input(),
            &out[..out[..n].iter().rposition(|&b| b == b'.').unwrap()]
        );
    }

    #[test]
    fn sign_reports_exact_size_and_leaves_out_untouched() {
        let header = JwsHeader::new(Alg::Es256);
        let mut big = [0u8; 512];
        let n = sign_compact(&header, b"hello", &mut fixed(Alg::Es256, 64), &mut big).unwrap();
        for short in [0, 1, n - 1] {
            let mut out = std::vec![0x55u8; short];
            assert_eq!(
                sign_compact(&header, b"hello", &mut fixed(Alg::Es256, 64), &mut out),
                Err(JoseError::BufferTooSmall(BufferTooSmall { required: n }))
            );
            assert!(out.iter().all(|&b| b == 0x55));
        }
        let mut exact = std::vec![0u8; n];
        assert_eq!(
            sign_compact(&header, b"hello", &mut fixed(Alg::Es256, 64), &mut exact),
            Ok(n)
        );
        assert_eq!(&exact[..], &big[..n]);
        // A signer that announces less than it writes: caught after signing.
        let mut liar = Fixed {
            announced: Some(1),
            ..fixed(Alg::Es256, 64)
        };
        let announced = n - b64::encoded_len(64) + b64::encoded_len(1);
        let mut out = std::vec![0u8; announced];
        assert_eq!(
            sign_compact(&header, b"hello", &mut liar, &mut out),
            Err(JoseError::BufferTooSmall(BufferTooSmall { required: n }))
        );
    }

    #[test]
    fn sign_refusals() {
        let mut out = [0u8; 4096];
        assert_eq!(
            sign_compact(
                &JwsHeader::new(Alg::EdDsa),
                b"",
                &mut fixed(Alg::Es256, 64),
                &mut out
            ),
            Err(JoseError::KeyMismatch)
        );
        let mut failing = Fixed {
            fail: true,
            ..fixed(Alg::Es256, 64)
        };
        assert_eq!(
            sign_compact(&JwsHeader::new(Alg::Es256), b"", &mut failing, &mut out),
            Err(JoseError::Signer)
        );
        assert_eq!(
            sign_compact(
                &JwsHeader::new(Alg::Es256),
                b"",
                &mut fixed(Alg::Es256, 0),
                &mut out
            ),
            Err(JoseError::Signer)
        );
        let long = "k".repeat(MAX_HEADER_LEN);
        let header = JwsHeader {
            kid: Some(&long),
            ..JwsHeader::new(Alg::Es256)
        };
        assert_eq!(
            sign_compact(&header, b"", &mut fixed(Alg::Es256, 64), &mut out),
            Err(JoseError::TooLarge)
        );
    }

    #[test]
    fn parse_refusals() {
        let sig = [0xABu8; 64];
        let ok = token(r#"{"alg":"ES256"}"#, b"p", &sig);
        assert!(Jws::parse(&ok).is_ok());
        let cases: &[(&[u8], JoseError)] = &[
            (b"", JoseError::Malformed),
            (b"a.b", JoseError::Malformed),
            (b"a.b.c.d", JoseError::Malformed),
            (b"eyJhbGciOiJFUzI1NiJ9.cA.", JoseError::Malformed),
            (b".cA.qw", JoseError::Malformed),
            (b"eyJhbGciOiJFUzI1NiJ9=.cA.qw", JoseError::Malformed),
            (b"eyJhbGciOiJFUzI1NiJ9.c.qw", JoseError::Malformed),
            (b"eyJhbGciOiJFUzI1NiJ9.cB.qw", JoseError::Malformed),
        ];
        for (input, want) in cases {
            assert_eq!(
                Jws::parse(input).map(|_| ()),
                Err(*want),
                "{}",
                std::string::String::from_utf8_lossy(input)
            );
        }
        for (header, want) in [
            (r#"{"alg":"none"}"#, JoseError::UnsupportedAlg),
            (r#"{"alg":"HS256"}"#, JoseError::UnsupportedAlg),
            (r#"{"alg":"es256"}"#, JoseError::UnsupportedAlg),
            (
                r#"{"alg":"ES256","crit":["exp"]}"#,
                JoseError::UnsupportedCritical,
            ),
            (
                r#"{"alg":"ES256","crit":null}"#,
                JoseError::UnsupportedCritical,
            ),
            (
                r#"{"alg":"ES256","\u0063rit":["b64"]}"#,
                JoseError::Malformed,
            ),
            (r#"{"alg":"ES256","alg":"ES256"}"#, JoseError::Malformed),
            (r#"{"alg":"ES256","kid":1}"#, JoseError::Malformed),
            (r#"{"alg":"ES256","x":1 "kid":"a"}"#, JoseError::Malformed),
            (r#"{"kid":"a"}"#, JoseError::Malformed),
            (r#"["ES256"]"#, JoseError::Malformed),
            (r#"{"alg":"ES256"} "#, JoseError::Malformed),
            (r#"{"alg":"ES256"}x"#, JoseError::Malformed),
            (r#"{"alg":5}"#, JoseError::Malformed),
        ] {
            let t = token(header, b"p", &sig);
            // Trailing whitespace is still one JSON value.
            let want = if header.ends_with(' ') {
                None
            } else {
                Some(want)
            };
            assert_eq!(Jws::parse(&t).err(), want, "{header}");
        }
        // Unknown members, including header-borne keys, are ignored.
        let t = token(
            r#"{"alg":"EdDSA","jwk":{"kty":"OKP"},"jku":"https://evil","x5c":["AA"],"b64":false}"#,
            b"",
            &sig,
        );
        assert_eq!(Jws::parse(&t).unwrap().alg(), Alg::EdDsa);
        // Size limits.
        let big = token(r#"{"alg":"ES256"}"#, &[b'x'; MAX_JWS_LEN], &sig);
        assert_eq!(Jws::parse(&big).err(), Some(JoseError::TooLarge));
        let long_header = std::format!(r#"{{"alg":"ES256","kid":"{}"}}"#, "k".repeat(1100));
        let t = token(&long_header, b"", &sig);
        assert_eq!(Jws::parse(&t).err(), Some(JoseError::TooLarge));
        let t = token(r#"{"alg":"RS256"}"#, b"", &[1u8; MAX_SIGNATURE_LEN + 1]);
        assert_eq!(Jws::parse(&t).err(), Some(JoseError::TooLarge));
        let t = token(r#"{"alg":"RS256"}"#, b"", &[1u8; MAX_SIGNATURE_LEN]);
        assert!(Jws::parse(&t).is_ok());
    }

    #[test]
    fn typ_comparison_follows_rfc7515_4_1_9() {
        let sig = [0xABu8; 64];
        for (typ, query, want) in [
            ("JWT", "JWT", true),
            ("jwt", "JWT", true),
            ("application/jwt", "JWT", true),
            ("JWT", "application/JWT", true),
            ("at+jwt", "at+JWT", true),
            ("application/at+jwt", "at+jwt", true),
            ("at+jwt", "JWT", false),
            ("text/jwt", "jwt", false),
            ("text/jwt", "TEXT/JWT", true),
            ("application/", "", true),
            ("JWT", "", false),
            ("\\u004aWT", "jwt", true),
        ] {
            let t = token(
                &std::format!(r#"{{"alg":"ES256","typ":"{typ}"}}"#),
                b"",
                &sig,
            );
            let jws = Jws::parse(&t).unwrap();
            assert_eq!(jws.header().typ_is(query), want, "{typ} vs {query}");
        }
        let t = token(r#"{"alg":"ES256"}"#, b"", &sig);
        assert!(!Jws::parse(&t).unwrap().header().typ_is("JWT"));
    }
}
