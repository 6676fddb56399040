//! Public JSON Web Keys (RFC 7517 §4) and JWK Sets (§5), and their
//! SHA-256 thumbprints (RFC 7638 §3).
//!
//! Key types: `EC` on `P-256` (RFC 7518 §6.2.1), `OKP` on `Ed25519` (RFC
//! 8037 §2) and `RSA` (RFC 7518 §6.3.1). Only public members are read or
//! written; private ones (`d`, `p`, …) in a parsed key are ignored, never
//! kept.
//!
//! * **Rendering**: a [`Jwk`] holds the key as bytes ([`PublicKey`]) and
//!   renders into the caller's buffer ([`Jwk::render`],
//!   [`render_jwk_set`]), members in the order `kty`, `kid`, `use`, `alg`,
//!   then the key's own.
//! * **Parsing** borrows: [`ParsedJwk::parse`] and [`JwkSet::parse`] keep
//!   `kid` and `use` as [`JsonStr`]s of the input, EC and OKP
//!   coordinates decoded (they are 32 bytes each), and an RSA key's `n`
//!   and `e` as their base64url text ([`Base64Url`]; `n` is up to
//!   [`MAX_RSA_MODULUS_LEN`] bytes, too much to copy into every parsed
//!   key). [`ParsedJwk::to_jwk`] decodes them, with `kid`, into a caller
//!   buffer when the bytes are needed.
//! * **In a set**, keys of a type, curve or algorithm this crate does not
//!   handle are skipped (counted in [`JwkSet::skipped`]), as RFC 7517 §5
//!   asks; a key of a handled type that is malformed fails the whole set.
//! * **Checks**: `alg`, when present, must fit `kty` (RFC 7517 §4.4); RSA
//!   moduli are 2048 to 4096 bits (RFC 7518 §3.3) without leading zero
//!   octets (§6.3.1.1); P-256 points are checked to be on the curve and
//!   Ed25519 points to be of large order when a [`KeyVerifier`] is made.

use super::b64::{self, Base64Url};
use super::{Alg, Ed25519PublicKey, Es256PublicKey, JoseError, ParsedHeader, Verifier};
use crate::buf::{BufferTooSmall, Sink};
use crate::json::{self, JsonStr};
use core::fmt;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer as _, IgnoredAny};
use serde::ser::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The longest RSA modulus accepted or written: 512 bytes (4096 bits).
pub const MAX_RSA_MODULUS_LEN: usize = 512;
/// The shortest: 256 bytes (2048 bits, RFC 7518 §3.3).
const MIN_RSA_MODULUS_LEN: usize = 256;
/// The longest public exponent: 8 bytes (65537 takes 3).
const MAX_RSA_EXPONENT_LEN: usize = 8;
/// Base64url characters of the longest modulus.
const MAX_N_TEXT: usize = b64::encoded_len(MAX_RSA_MODULUS_LEN);

/// A public key, as bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKey<'a> {
    /// `"kty":"EC","crv":"P-256"`: the point's coordinates, big-endian.
    Ec {
        /// `x`.
        x: [u8; 32],
        /// `y`.
        y: [u8; 32],
    },
    /// `"kty":"OKP","crv":"Ed25519"`: the encoded point.
    Okp {
        /// `x`.
        x: [u8; 32],
    },
    /// `"kty":"RSA"`: modulus and public exponent, unsigned big-endian
    /// without leading zero octets.
    Rsa {
        /// `n`.
        n: &'a [u8],
        /// `e`.
        e: &'a [u8],
    },
}

impl PublicKey<'_> {
    /// The algorithm this crate uses the key with.
    pub const fn alg(&self) -> Alg {
        match self {
            PublicKey::Ec { .. } => Alg::Es256,
            PublicKey::Okp { .. } => Alg::EdDsa,
            PublicKey::Rsa { .. } => Alg::Rs256,
        }
    }

    /// A verifier for an EC or OKP key ([`JoseError::InvalidKey`] if the
    /// point is unusable); RSA keys are [`JoseError::UnsupportedAlg`]
    /// (RS256 is verified by the shell).
    pub fn verifier(&self) -> Result<KeyVerifier, JoseError> {
        match self {
            PublicKey::Ec { x, y } => Es256PublicKey::from_xy(x, y).map(KeyVerifier::Es256),
            PublicKey::Okp { x } => Ed25519PublicKey::from_bytes(x).map(KeyVerifier::EdDsa),
            PublicKey::Rsa { .. } => Err(JoseError::UnsupportedAlg),
        }
    }

    /// Checks what rendering needs: RSA sizes and leading zeros.
    fn check(&self) -> Result<(), JoseError> {
        if let PublicKey::Rsa { n, e } = self {
            check_rsa(n.len(), n.first().copied(), e.len(), e.first().copied())?;
        }
        Ok(())
    }

    /// The RFC 7638 §3.2 thumbprint: SHA-256 of the required members in
    /// lexicographic order, without whitespace.
    pub fn thumbprint(&self) -> [u8; 32] {
        let mut h = HashSink(Sha256::new());
        match self {
            PublicKey::Ec { x, y } => {
                h.put(br#"{"crv":"P-256","kty":"EC","x":""#);
                b64::encode_to(x, &mut h);
                h.put(br#"","y":""#);
                b64::encode_to(y, &mut h);
            }
            PublicKey::Okp { x } => {
                h.put(br#"{"crv":"Ed25519","kty":"OKP","x":""#);
                b64::encode_to(x, &mut h);
            }
            PublicKey::Rsa { n, e } => {
                h.put(br#"{"e":""#);
                b64::encode_to(e, &mut h);
                h.put(br#"","kty":"RSA","n":""#);
                b64::encode_to(n, &mut h);
            }
        }
        h.put(br#""}"#);
        h.0.finalize().into()
    }
}

impl From<Es256PublicKey> for PublicKey<'static> {
    fn from(k: Es256PublicKey) -> Self {
        PublicKey::Ec {
            x: *k.x(),
            y: *k.y(),
        }
    }
}

impl From<Ed25519PublicKey> for PublicKey<'static> {
    fn from(k: Ed25519PublicKey) -> Self {
        PublicKey::Okp { x: k.to_bytes() }
    }
}

/// RSA size rules (RFC 7518 §3.3, §6.3.1.1).
fn check_rsa(
    n_len: usize,
    n_first: Option<u8>,
    e_len: usize,
    e_first: Option<u8>,
) -> Result<(), JoseError> {
    if n_len > MAX_RSA_MODULUS_LEN || e_len > MAX_RSA_EXPONENT_LEN {
        return Err(JoseError::TooLarge);
    }
    if n_len < MIN_RSA_MODULUS_LEN || n_first == Some(0) || e_first.is_none_or(|b| b == 0) {
        return Err(JoseError::InvalidKey);
    }
    Ok(())
}

struct HashSink(Sha256);

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// A public JWK to publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Jwk<'a> {
    /// The key.
    pub key: PublicKey<'a>,
    /// `kid` (RFC 7517 §4.5).
    pub kid: Option<&'a str>,
    /// `alg` (§4.4).
    pub alg: Option<Alg>,
    /// Whether to write `"use":"sig"` (§4.2).
    pub use_sig: bool,
}

impl<'a> Jwk<'a> {
    /// A signing key as an issuer publishes it: `use` `sig` and the `alg`
    /// this crate uses it with; no `kid` yet.
    pub const fn new(key: PublicKey<'a>) -> Self {
        Jwk {
            alg: Some(key.alg()),
            key,
            kid: None,
            use_sig: true,
        }
    }

    /// The same with `kid`.
    pub const fn with_kid(self, kid: &'a str) -> Self {
        Jwk {
            kid: Some(kid),
            ..self
        }
    }

    /// Writes the JWK as compact JSON into `out` and returns its length.
    ///
    /// Errors: [`JoseError::BufferTooSmall`] with the exact size;
    /// [`JoseError::KeyMismatch`] when `alg` does not fit the key;
    /// [`JoseError::TooLarge`] / [`JoseError::InvalidKey`] for RSA sizes
    /// outside 2048–4096 bits or leading zero octets.
    pub fn render(&self, out: &mut [u8]) -> Result<usize, JoseError> {
        self.check()?;
        Ok(json::render(self, out)?)
    }

    fn check(&self) -> Result<(), JoseError> {
        if self.alg.is_some_and(|a| a != self.key.alg()) {
            return Err(JoseError::KeyMismatch);
        }
        self.key.check()
    }

    /// The RFC 7638 thumbprint (SHA-256).
    pub fn thumbprint(&self) -> [u8; 32] {
        self.key.thumbprint()
    }

    /// The thumbprint in base64url, 43 characters: a good `kid`.
    pub fn thumbprint_b64(&self) -> heapless::String<43> {
        thumbprint_text(&self.thumbprint())
    }
}

/// 32 bytes as 43 base64url characters.
fn thumbprint_text(digest: &[u8; 32]) -> heapless::String<43> {
    let mut text = [0u8; 43];
    let mut s = heapless::String::new();
    if b64::encode(digest, &mut text).is_ok()
        && let Ok(t) = core::str::from_utf8(&text)
    {
        let _ = s.push_str(t);
    }
    s
}

#[derive(serde::Serialize)]
struct JwkJson<'s> {
    kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'s str>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    key_use: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<&'s str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<&'s str>,
}

/// Base64url of `bytes` in `buf` (empty if it does not fit; callers check
/// sizes first).
fn text<'b>(bytes: &[u8], buf: &'b mut [u8]) -> &'b str {
    let n = b64::encode(bytes, buf).unwrap_or(0);
    buf.get(..n)
        .and_then(|t| core::str::from_utf8(t).ok())
        .unwrap_or("")
}

impl Serialize for Jwk<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut x_buf = [0u8; 43];
        let mut y_buf = [0u8; 43];
        let mut n_buf = [0u8; MAX_N_TEXT];
        let mut e_buf = [0u8; 11];
        let mut doc = JwkJson {
            kty: "",
            kid: self.kid,
            key_use: self.use_sig.then_some("sig"),
            alg: self.alg.map(Alg::as_str),
            crv: None,
            n: None,
            e: None,
            x: None,
            y: None,
        };
        match &self.key {
            PublicKey::Ec { x, y } => {
                doc.kty = "EC";
                doc.crv = Some("P-256");
                doc.x = Some(text(x, &mut x_buf));
                doc.y = Some(text(y, &mut y_buf));
            }
            PublicKey::Okp { x } => {
                doc.kty = "OKP";
                doc.crv = Some("Ed25519");
                doc.x = Some(text(x, &mut x_buf));
            }
            PublicKey::Rsa { n, e } => {
                doc.kty = "RSA";
                doc.n = Some(text(n, &mut n_buf));
                doc.e = Some(text(e, &mut e_buf));
            }
        }
        doc.serialize(s)
    }
}

/// Writes `{"keys":[…]}` (RFC 7517 §5) into `out` and returns its length.
/// Errors as for [`Jwk::render`], for any key.
pub fn render_jwk_set(keys: &[Jwk<'_>], out: &mut [u8]) -> Result<usize, JoseError> {
    #[derive(serde::Serialize)]
    struct SetJson<'k, 'a> {
        keys: &'k [Jwk<'a>],
    }
    keys.iter().try_for_each(Jwk::check)?;
    Ok(json::render(&SetJson { keys }, out)?)
}

/// A parsed key's material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParsedKey<'a> {
    /// `EC` on `P-256` (not yet checked to be on the curve).
    Ec {
        /// `x`, decoded.
        x: [u8; 32],
        /// `y`, decoded.
        y: [u8; 32],
    },
    /// `OKP` on `Ed25519` (not yet checked to be a point).
    Okp {
        /// `x`, decoded.
        x: [u8; 32],
    },
    /// `RSA`, as base64url text: 2048 to 4096 bits, no leading zeros.
    Rsa {
        /// `n`.
        n: Base64Url<'a>,
        /// `e`.
        e: Base64Url<'a>,
    },
}

impl ParsedKey<'_> {
    /// The algorithm this crate uses the key with.
    pub const fn alg(&self) -> Alg {
        match self {
            ParsedKey::Ec { .. } => Alg::Es256,
            ParsedKey::Okp { .. } => Alg::EdDsa,
            ParsedKey::Rsa { .. } => Alg::Rs256,
        }
    }
}

/// A JWK parsed from JSON, borrowing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedJwk<'a> {
    /// The key material.
    pub key: ParsedKey<'a>,
    /// `kid`.
    pub kid: Option<JsonStr<'a>>,
    /// `alg`, known to fit `kty`.
    pub alg: Option<Alg>,
    /// `use` (RFC 7517 §4.2), whatever it says.
    pub key_use: Option<JsonStr<'a>>,
}

/// The members of a JWK this crate reads.
#[derive(serde::Deserialize)]
struct JwkFields<'a> {
    #[serde(borrow)]
    kty: JsonStr<'a>,
    #[serde(borrow, default)]
    crv: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    x: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    y: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    n: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    e: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    kid: Option<JsonStr<'a>>,
    #[serde(borrow, default)]
    alg: Option<JsonStr<'a>>,
    #[serde(borrow, default, rename = "use")]
    key_use: Option<JsonStr<'a>>,
}

/// A required base64url member, written without escapes.
fn base64_member(s: Option<JsonStr<'_>>) -> Result<Base64Url<'_>, JoseError> {
    let s = s.ok_or(JoseError::Malformed)?;
    if !s.is_verbatim() {
        return Err(JoseError::Malformed);
    }
    Base64Url::new(s.raw())
}

/// A 32-byte coordinate.
fn coordinate(s: Option<JsonStr<'_>>) -> Result<[u8; 32], JoseError> {
    b64::decode_array(base64_member(s)?.as_str().as_bytes())
}

impl<'a> ParsedJwk<'a> {
    /// Parses one JWK (a JSON object, RFC 7517 §4).
    ///
    /// Errors: [`JoseError::Malformed`]; [`JoseError::UnsupportedKey`] for
    /// a `kty` or `crv` not handled; [`JoseError::UnsupportedAlg`] for an
    /// `alg` not in [`Alg`]; [`JoseError::KeyMismatch`] when `alg` does not
    /// fit the key; [`JoseError::TooLarge`] / [`JoseError::InvalidKey`]
    /// for RSA sizes.
    pub fn parse(json: &'a [u8]) -> Result<Self, JoseError> {
        ParsedJwk::from_fields(json::parse_strict(json)?)
    }

    fn from_fields(f: JwkFields<'a>) -> Result<Self, JoseError> {
        let alg = match f.alg {
            None => None,
            Some(a) => Some(Alg::parse_json(&a).ok_or(JoseError::UnsupportedAlg)?),
        };
        let curve = |want: &str| match f.crv {
            Some(c) if c.eq_str(want) => Ok(()),
            Some(_) => Err(JoseError::UnsupportedKey),
            None => Err(JoseError::Malformed),
        };
        let key = if f.kty.eq_str("EC") {
            curve("P-256")?;
            ParsedKey::Ec {
                x: coordinate(f.x)?,
                y: coordinate(f.y)?,
            }
        } else if f.kty.eq_str("OKP") {
            curve("Ed25519")?;
            ParsedKey::Okp {
                x: coordinate(f.x)?,
            }
        } else if f.kty.eq_str("RSA") {
            let n = base64_member(f.n)?;
            let e = base64_member(f.e)?;
            check_rsa(
                n.decoded_len(),
                n.first_byte(),
                e.decoded_len(),
                e.first_byte(),
            )?;
            ParsedKey::Rsa { n, e }
        } else {
            return Err(JoseError::UnsupportedKey);
        };
        if alg.is_some_and(|a| a != key.alg()) {
            return Err(JoseError::KeyMismatch);
        }
        Ok(ParsedJwk {
            key,
            kid: f.kid,
            alg,
            key_use: f.key_use,
        })
    }

    /// Whether it says `"use":"sig"`.
    pub fn use_sig(&self) -> bool {
        self.key_use.is_some_and(|u| u.eq_str("sig"))
    }

    /// Whether it may verify signatures: `use` absent or `sig`.
    pub fn usable_for_signatures(&self) -> bool {
        self.key_use.is_none() || self.use_sig()
    }

    /// Whether it may verify a JWS with `alg`: the key type fits, its own
    /// `alg` (if any) is the same, and its `use` allows signatures.
    pub fn fits(&self, alg: Alg) -> bool {
        self.key.alg() == alg && self.alg.is_none_or(|a| a == alg) && self.usable_for_signatures()
    }

    /// A verifier for an EC or OKP key; [`JoseError::InvalidKey`] for a
    /// point that is not usable, [`JoseError::UnsupportedAlg`] for RSA
    /// (the shell verifies RS256; [`ParsedJwk::to_jwk`] gives it `n` and
    /// `e`).
    pub fn verifier(&self) -> Result<KeyVerifier, JoseError> {
        match &self.key {
            ParsedKey::Ec { x, y } => Es256PublicKey::from_xy(x, y).map(KeyVerifier::Es256),
            ParsedKey::Okp { x } => Ed25519PublicKey::from_bytes(x).map(KeyVerifier::EdDsa),
            ParsedKey::Rsa { .. } => Err(JoseError::UnsupportedAlg),
        }
    }

    /// The RFC 7638 thumbprint (for RSA, over the base64url text as it
    /// appeared, which is canonical).
    pub fn thumbprint(&self) -> [u8; 32] {
        match &self.key {
            ParsedKey::Ec { x, y } => PublicKey::Ec { x: *x, y: *y }.thumbprint(),
            ParsedKey::Okp { x } => PublicKey::Okp { x: *x }.thumbprint(),
            ParsedKey::Rsa { n, e } => {
                let mut h = HashSink(Sha256::new());
                h.put(br#"{"e":""#);
                h.put(e.as_str().as_bytes());
                h.put(br#"","kty":"RSA","n":""#);
                h.put(n.as_str().as_bytes());
                h.put(br#""}"#);
                h.0.finalize().into()
            }
        }
    }

    /// The thumbprint in base64url.
    pub fn thumbprint_b64(&self) -> heapless::String<43> {
        thumbprint_text(&self.thumbprint())
    }

    /// How many bytes of scratch [`ParsedJwk::to_jwk`] needs: room for
    /// `kid` and, for RSA, the decoded `n` and `e`.
    pub fn scratch_len(&self) -> usize {
        let kid = self.kid.map_or(0, |k| k.raw().len());
        match &self.key {
            ParsedKey::Rsa { n, e } => kid
                .saturating_add(n.decoded_len())
                .saturating_add(e.decoded_len()),
            _ => kid,
        }
    }

    /// The key as a [`Jwk`], with `kid` unescaped and RSA `n`, `e` decoded
    /// into `scratch` (at least [`ParsedJwk::scratch_len`] bytes, else
    /// [`JoseError::BufferTooSmall`]). `use_sig` is whether `use` was
    /// `sig`; another `use` does not carry over.
    pub fn to_jwk<'s>(&'s self, scratch: &'s mut [u8]) -> Result<Jwk<'s>, JoseError> {
        let required = self.scratch_len();
        if scratch.len() < required {
            return Err(BufferTooSmall { required }.into());
        }
        let kid_len = self.kid.map_or(0, |k| k.raw().len());
        let (kid_buf, rest) = scratch
            .split_at_mut_checked(kid_len)
            .ok_or(BufferTooSmall { required })?;
        let kid = match &self.kid {
            Some(k) => Some(k.decode(kid_buf)?),
            None => None,
        };
        let key = match &self.key {
            ParsedKey::Ec { x, y } => PublicKey::Ec { x: *x, y: *y },
            ParsedKey::Okp { x } => PublicKey::Okp { x: *x },
            ParsedKey::Rsa { n, e } => {
                let (n_buf, e_buf) = rest
                    .split_at_mut_checked(n.decoded_len())
                    .ok_or(BufferTooSmall { required })?;
                PublicKey::Rsa {
                    n: n.decode(n_buf)?,
                    e: e.decode(e_buf)?,
                }
            }
        };
        Ok(Jwk {
            key,
            kid,
            alg: self.alg,
            use_sig: self.use_sig(),
        })
    }
}

/// A verifier for a key from a JWK: ES256 or EdDSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyVerifier {
    /// A P-256 key.
    Es256(Es256PublicKey),
    /// An Ed25519 key.
    EdDsa(Ed25519PublicKey),
}

impl Verifier for KeyVerifier {
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        match self {
            KeyVerifier::Es256(k) => k.verify(alg, signing_input, signature),
            KeyVerifier::EdDsa(k) => k.verify(alg, signing_input, signature),
        }
    }
}

/// A JWK Set (RFC 7517 §5), parsed: up to `N` usable keys, borrowing from
/// the JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct JwkSet<'a, const N: usize = 8> {
    keys: heapless::Vec<ParsedJwk<'a>, N>,
    skipped: usize,
}

impl<'a, const N: usize> JwkSet<'a, N> {
    /// Parses `{"keys":[…]}`. Keys whose `kty`, `crv` or `alg` is not
    /// handled are skipped; any other problem with a key fails the set
    /// with that key's error (see [`ParsedJwk::parse`]); more than `N`
    /// handled keys is [`JoseError::TooLarge`]. Other members of the set
    /// are ignored.
    pub fn parse(json: &'a [u8]) -> Result<Self, JoseError> {
        json::validate(json, json::MAX_DEPTH)?;
        let mut set = JwkSet {
            keys: heapless::Vec::new(),
            skipped: 0,
        };
        let mut error = None;
        let mut de = serde_json_core::de::Deserializer::new(json, None);
        let parsed = (&mut de).deserialize_map(SetVisitor {
            set: &mut set,
            error: &mut error,
        });
        match (parsed, error) {
            (_, Some(e)) => Err(e),
            (Err(_), None) => Err(JoseError::Malformed),
            (Ok(()), None) => {
                de.end().map_err(|_| JoseError::Malformed)?;
                Ok(set)
            }
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[ParsedJwk<'a>] {
        &self.keys
    }

    /// How many keys were skipped as not handled.
    pub const fn skipped(&self) -> usize {
        self.skipped
    }

    /// The first key whose `kid` is `kid`.
    pub fn find(&self, kid: &str) -> Option<&ParsedJwk<'a>> {
        self.keys
            .iter()
            .find(|k| k.kid.is_some_and(|k| k.eq_str(kid)))
    }

    /// The key to verify a JWS with this header: with a `kid`, the first
    /// key of that `kid` that [fits](ParsedJwk::fits) the `alg`; without
    /// one, the only key that fits (`None` if there are several, rather
    /// than trying each).
    pub fn select(&self, header: &ParsedHeader<'_>) -> Option<&ParsedJwk<'a>> {
        let alg = header.alg();
        let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
        match header.kid() {
            Some(kid) => fitting.find(|k| k.kid.is_some_and(|k| k.same_text(&kid))),
            None => {
                let first = fitting.next();
                if fitting.next().is_some() {
                    None
                } else {
                    first
                }
            }
        }
    }
}

impl<const N: usize> fmt::Debug for JwkSet<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwkSet")
            .field("keys", &self.keys.as_slice())
            .field("skipped", &self.skipped)
            .finish()
    }
}

/// Reads the set object, handing `keys` to [`KeysSeed`].
struct SetVisitor<'s, 'a, const N: usize> {
    set: &'s mut JwkSet<'a, N>,
    error: &'s mut Option<JoseError>,
}

impl<'de: 'a, 'a, const N: usize> de::Visitor<'de> for SetVisitor<'_, 'a, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JWK Set")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = false;
        // Member names carry no escapes (checked by `json::validate`).
        while let Some(name) = map.next_key::<&'de str>()? {
            if name == "keys" {
                if seen {
                    return Err(de::Error::custom("duplicate keys"));
                }
                seen = true;
                map.next_value_seed(KeysSeed {
                    set: &mut *self.set,
                    error: &mut *self.error,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        if seen {
            Ok(())
        } else {
            Err(de::Error::custom("missing keys"))
        }
    }
}

/// Reads the `keys` array into the set, skipping unhandled keys.
struct KeysSeed<'s, 'a, const N: usize> {
    set: &'s mut JwkSet<'a, N>,
    error: &'s mut Option<JoseError>,
}

impl<'de: 'a, 'a, const N: usize> DeserializeSeed<'de> for KeysSeed<'_, 'a, N> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de: 'a, 'a, const N: usize> de::Visitor<'de> for KeysSeed<'_, 'a, N> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of JWKs")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(fields) = seq.next_element::<JwkFields<'de>>()? {
            match ParsedJwk::from_fields(fields) {
                Ok(key) => {
                    if self.set.keys.push(key).is_err() {
                        *self.error = Some(JoseError::TooLarge);
                        return Err(de::Error::custom("too many keys"));
                    }
                }
                Err(JoseError::UnsupportedKey | JoseError::UnsupportedAlg) => {
                    self.set.skipped = self.set.skipped.saturating_add(1);
                }
                Err(e) => {
                    *self.error = Some(e);
                    return Err(de::Error::custom("bad key"));
                }
            }
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ParsedJwk<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fields = JwkFields::deserialize(d)?;
        ParsedJwk::from_fields(fields).map_err(|_| de::Error::custom("unusable JWK"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Ed25519Key, Es256Key, JwsHeader, sign_compact};
    use crate::selftest::VectorRng;
    use std::vec::Vec;

    fn rendered(j: &Jwk<'_>) -> Vec<u8> {
        let mut out = std::vec![0u8; 2048];
        let n = j.render(&mut out).unwrap();
        out.truncate(n);
        out
    }

    #[test]
    fn render_reports_exact_size() {
        let k = Jwk::new(Ed25519Key::from_seed(&[7; 32]).public().into()).with_kid("a\"b");
        let full = rendered(&k);
        assert!(full.starts_with(
            br#"{"kty":"OKP","kid":"a\"b","use":"sig","alg":"EdDSA","crv":"Ed25519","x":""#
        ));
        let mut small = std::vec![0u8; full.len() - 1];
        assert_eq!(
            k.render(&mut small),
            Err(JoseError::BufferTooSmall(BufferTooSmall {
                required: full.len()
            }))
        );
        let set = [
            k,
            Jwk::new(Es256Key::from_bytes(&[3; 32]).unwrap().public().into()),
        ];
        let mut out = [0u8; 1024];
        let n = render_jwk_set(&set, &mut out).unwrap();
        let mut small = std::vec![0u8; n - 1];
        assert_eq!(
            render_jwk_set(&set, &mut small),
            Err(JoseError::BufferTooSmall(BufferTooSmall { required: n }))
        );
        let parsed = JwkSet::<2>::parse(&out[..n]).unwrap();
        assert_eq!(parsed.keys().len(), 2);
        let mut empty = [0u8; 16];
        assert_eq!(
            render_jwk_set(&[], &mut empty).map(|n| &empty[..n]),
            Ok(&br#"{"keys":[]}"#[..])
        );
    }

    #[test]
    fn render_refusals() {
        let mut out = [0u8; 2048];
        let ed = Ed25519Key::from_seed(&[7; 32]).public().into();
        let wrong = Jwk {
            alg: Some(Alg::Es256),
            ..Jwk::new(ed)
        };
        assert_eq!(wrong.render(&mut out), Err(JoseError::KeyMismatch));
        let n = [0xC1u8; 513];
        let e = [1u8, 0, 1];
        for (n, e, want) in [
            (&n[..], &e[..], JoseError::TooLarge),
            (&n[..255], &e[..], JoseError::InvalidKey),
            (&[0u8; 300][..], &e[..], JoseError::InvalidKey),
            (&n[..256], &[][..], JoseError::InvalidKey),
            (&n[..256], &[0u8, 1][..], JoseError::InvalidKey),
            (&n[..256], &[1u8; 9][..], JoseError::TooLarge),
        ] {
            let j = Jwk::new(PublicKey::Rsa { n, e });
            assert_eq!(j.render(&mut out), Err(want));
            assert_eq!(render_jwk_set(&[j], &mut out), Err(want));
        }
        let j = Jwk::new(PublicKey::Rsa {
            n: &n[..512],
            e: &e,
        });
        let len = j.render(&mut out).unwrap();
        let p = ParsedJwk::parse(&out[..len]).unwrap();
        let mut scratch = [0u8; 600];
        assert_eq!(p.to_jwk(&mut scratch).unwrap(), j);
    }

    #[test]
    fn parse_refusals_and_skips() {
        let ec = Es256Key::from_bytes(&[3; 32]).unwrap().public();
        let x = rendered(&Jwk::new(ec.into()));
        let x = std::str::from_utf8(&x).unwrap();
        let xs = &x[x.find(r#""x":""#).unwrap() + 5..][..43];
        let ys = &x[x.find(r#""y":""#).unwrap() + 5..][..43];
        for (json, want) in [
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}"}}"#),
                None,
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-384","x":"{xs}","y":"{ys}"}}"#),
                Some(JoseError::UnsupportedKey),
            ),
            (
                std::format!(r#"{{"kty":"EC","x":"{xs}","y":"{ys}"}}"#),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}"}}"#),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}A","y":"{ys}"}}"#),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(
                    r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{ys}"}}"#,
                    &xs[..42]
                ),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}=","y":"{ys}"}}"#),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}","alg":"EdDSA"}}"#),
                Some(JoseError::KeyMismatch),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}","alg":"ES384"}}"#),
                Some(JoseError::UnsupportedAlg),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}","kid":7}}"#),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(r#"{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}","kty":"EC"}}"#),
                Some(JoseError::Malformed),
            ),
            (
                std::format!(
                    r#"{{"kty":"EC","crv":"P-256","x":"\u0041{}","y":"{ys}"}}"#,
                    &xs[1..]
                ),
                Some(JoseError::Malformed),
            ),
            (
                r#"{"kty":"oct","k":"AAAA"}"#.into(),
                Some(JoseError::UnsupportedKey),
            ),
            (
                r#"{"kty":"OKP","crv":"X25519","x":"AAAA"}"#.into(),
                Some(JoseError::UnsupportedKey),
            ),
            (r#"{"crv":"P-256"}"#.into(), Some(JoseError::Malformed)),
            (r#"[]"#.into(), Some(JoseError::Malformed)),
        ] {
            assert_eq!(ParsedJwk::parse(json.as_bytes()).err(), want, "{json}");
        }
        // Sets: unhandled keys skipped, malformed handled ones fatal.
        let set = std::format!(
            r#"{{"keys":[{{"kty":"oct","k":"AA"}},{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}","kid":"e"}},{{"kty":"RSA","alg":"PS256","n":"AQAB","e":"AQAB"}}],"other":1}}"#
        );
        let s = JwkSet::<1>::parse(set.as_bytes()).unwrap();
        assert_eq!((s.keys().len(), s.skipped()), (1, 2));
        assert!(s.find("e").is_some() && s.find("f").is_none());
        let two = std::format!(
            r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}"}},{{"kty":"EC","crv":"P-256","x":"{xs}","y":"{ys}"}}]}}"#
        );
        assert_eq!(
            JwkSet::<1>::parse(two.as_bytes()).err(),
            Some(JoseError::TooLarge)
        );
        assert_eq!(JwkSet::<2>::parse(two.as_bytes()).unwrap().keys().len(), 2);
        for bad in [
            r#"{"keys":[{"kty":"EC","crv":"P-256"}]}"#,
            r#"{"keys":{}}"#,
            r#"{"keys":[1]}"#,
            r#"{"keys":[],"keys":[]}"#,
            r#"{"key":[]}"#,
            r#"{"keys":[]} x"#,
            r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
        ] {
            assert!(JwkSet::<8>::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn selection_by_kid_alg_and_use() {
        let mut rng = VectorRng(1);
        let a = Es256Key::generate(&mut rng).unwrap();
        let b = Es256Key::generate(&mut rng).unwrap();
        let c = Ed25519Key::generate(&mut rng).unwrap();
        let keys = [
            Jwk::new(a.public().into()).with_kid("a"),
            Jwk::new(b.public().into()).with_kid("b"),
            Jwk {
                use_sig: false,
                alg: None,
                ..Jwk::new(c.public().into()).with_kid("c")
            },
        ];
        let mut json = [0u8; 2048];
        let n = render_jwk_set(&keys, &mut json).unwrap();
        let set = JwkSet::<4>::parse(&json[..n]).unwrap();
        let mut token = [0u8; 512];
        let mut signer = b.clone();
        let header = JwsHeader {
            kid: Some("b"),
            ..JwsHeader::new(Alg::Es256)
        };
        let t = sign_compact(&header, b"x", &mut signer, &mut token).unwrap();
        let jws = crate::jose::Jws::parse(&token[..t]).unwrap();
        let key = set.select(&jws.header()).unwrap();
        assert!(key.kid.unwrap().eq_str("b"));
        jws.verify(&key.verifier().unwrap()).unwrap();
        assert_eq!(
            jws.verify(&set.find("a").unwrap().verifier().unwrap()),
            Err(JoseError::BadSignature)
        );
        // No kid: two ES256 keys fit, so none is chosen; one EdDSA key does.
        let t = sign_compact(&JwsHeader::new(Alg::Es256), b"x", &mut signer, &mut token).unwrap();
        assert!(
            set.select(&crate::jose::Jws::parse(&token[..t]).unwrap().header())
                .is_none()
        );
        let mut ed = c.clone();
        let t = sign_compact(&JwsHeader::new(Alg::EdDsa), b"x", &mut ed, &mut token).unwrap();
        let jws = crate::jose::Jws::parse(&token[..t]).unwrap();
        let key = set.select(&jws.header()).unwrap();
        jws.verify(&key.verifier().unwrap()).unwrap();
        // "use":"enc" keys never verify.
        let enc = std::format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","use":"enc","x":"{}"}}]}}"#,
            core::str::from_utf8(&rendered(&keys[2])[..])
                .unwrap()
                .rsplit('"')
                .nth(1)
                .unwrap()
        );
        let set = JwkSet::<1>::parse(enc.as_bytes()).unwrap();
        assert!(!set.keys()[0].usable_for_signatures());
        assert!(set.select(&jws.header()).is_none());
    }
}
