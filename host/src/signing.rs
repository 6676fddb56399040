//! The OpenID Provider's signing keys: made on first start, kept in the
//! database (private halves sealed with the AEAD key, so replicas on one
//! PostgreSQL share them, and a SQLite file's keys travel with its key
//! file), published in the JWK Set, rotated by `latch keys rotate`.
//!
//! * One key per algorithm signs at a time: RS256 (2048-bit RSA, through
//!   aws-lc-rs — RSA needs a heap, so the core asks for the signature
//!   through its [`Signer`] trait), ES256 and EdDSA (the core's own
//!   [`Es256Key`] and [`Ed25519Key`]).
//! * `kid` is the key's RFC 7638 thumbprint.
//! * Rotation (DESIGN.md): a new key is published at once and signs from
//!   `activates_at` (`[oauth2] key_rotation_delay` later, default 3600 s,
//!   so every relying party has fetched it first); the keys it replaces
//!   keep verifying until `retires_at` = activation + the longest token
//!   lifetime, then leave the set. No token is ever refused because of a
//!   rotation.
//! * Running servers re-read the table every [`RELOAD_EVERY`], so a
//!   rotation made by the CLI (or on another replica) is picked up without
//!   a restart.

use crate::crypto::SecretBox;
use crate::storage::{Db, DbError, SigningKeyRow};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as lc, KeyPair as _, RsaKeyPair};
use base64ct::{Base64, Encoding};
use latch_core::jose::{
    self, Alg, Ed25519Key, Es256Key, JoseError, Jwk, Jws, JwsHeader, PublicKey, Signer, Verifier,
};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often a running server re-reads the keys.
pub const RELOAD_EVERY: Duration = Duration::from_secs(10);

/// Why the keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A stored key could not be opened or parsed.
    #[error("signing key {kid}: {why}")]
    Key {
        /// Which key.
        kid: String,
        /// Why (one line).
        why: String,
    },
    /// Making a key failed.
    #[error("generating a {0} key failed")]
    Generate(&'static str),
    /// No key signs with this algorithm.
    #[error("no active {0} signing key")]
    NoKey(&'static str),
}

enum Material {
    Rsa(Arc<RsaKeyPair>),
    Es256(Es256Key),
    EdDsa(Ed25519Key),
}

struct Loaded {
    kid: String,
    alg: Alg,
    activates_at: u64,
    retires_at: Option<u64>,
    material: Material,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("activates_at", &self.activates_at)
            .field("retires_at", &self.retires_at)
            .finish_non_exhaustive()
    }
}

/// RS256 through aws-lc-rs, for the core's [`Signer`].
struct RsaSigner<'a>(&'a RsaKeyPair);

impl Signer for RsaSigner<'_> {
    fn alg(&self) -> Alg {
        Alg::Rs256
    }

    fn signature_len(&self) -> usize {
        self.0.public_modulus_len()
    }

    fn sign(&mut self, signing_input: &[u8], out: &mut [u8]) -> Result<usize, JoseError> {
        let n = self.0.public_modulus_len();
        let sig = out.get_mut(..n).ok_or(JoseError::Signer)?;
        self.0
            .sign(
                &lc::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                signing_input,
                sig,
            )
            .map_err(|_| JoseError::Signer)?;
        Ok(n)
    }
}

/// RS256 verification with a key pair's public half.
struct RsaVerifier<'a>(&'a RsaKeyPair);

impl Verifier for RsaVerifier<'_> {
    fn verify(&self, alg: Alg, signing_input: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        if alg != Alg::Rs256 {
            return Err(JoseError::KeyMismatch);
        }
        lc::UnparsedPublicKey::new(
            &lc::RSA_PKCS1_2048_8192_SHA256,
            self.0.public_key().as_ref(),
        )
        .verify(signing_input, signature)
        .map_err(|_| JoseError::BadSignature)
    }
}

impl Loaded {
    fn rsa_parts(kp: &RsaKeyPair) -> (Vec<u8>, Vec<u8>) {
        let p = kp.public_key();
        (
            p.modulus().big_endian_without_leading_zero().to_vec(),
            p.exponent().big_endian_without_leading_zero().to_vec(),
        )
    }

    /// The public JWK (with `kid`, `alg`, `use: sig`), rendered.
    fn jwk_json(&self) -> String {
        with_public_key(&self.material, |key| {
            let jwk = Jwk {
                key,
                kid: Some(&self.kid),
                alg: Some(self.alg),
                use_sig: true,
            };
            let mut buf = vec![0u8; 2048];
            match jwk.render(&mut buf) {
                Ok(len) => String::from_utf8_lossy(&buf[..len]).into_owned(),
                Err(_) => String::new(),
            }
        })
    }

    fn sign(&self, header: &JwsHeader<'_>, payload: &[u8]) -> Result<String, JoseError> {
        let mut out = vec![0u8; payload.len() * 4 / 3 + 1024];
        let n = match &self.material {
            Material::Rsa(kp) => jose::sign_compact(header, payload, &mut RsaSigner(kp), &mut out)?,
            Material::Es256(k) => jose::sign_compact(header, payload, &mut k.clone(), &mut out)?,
            Material::EdDsa(k) => jose::sign_compact(header, payload, &mut k.clone(), &mut out)?,
        };
        out.truncate(n);
        String::from_utf8(out).map_err(|_| JoseError::Malformed)
    }

    fn verify(&self, jws: &Jws<'_>) -> Result<(), JoseError> {
        match &self.material {
            Material::Rsa(kp) => jws.verify(&RsaVerifier(kp)),
            Material::Es256(k) => jws.verify(&k.public()),
            Material::EdDsa(k) => jws.verify(&k.public()),
        }
    }
}

/// Calls `f` with the public half of `material` as the core's JWK key.
fn with_public_key<R>(material: &Material, f: impl FnOnce(PublicKey<'_>) -> R) -> R {
    match material {
        Material::Rsa(kp) => {
            let (n, e) = Loaded::rsa_parts(kp);
            f(PublicKey::Rsa { n: &n, e: &e })
        }
        Material::Es256(k) => {
            let p = k.public();
            f(PublicKey::Ec {
                x: *p.x(),
                y: *p.y(),
            })
        }
        Material::EdDsa(k) => f(PublicKey::Okp {
            x: k.public().to_bytes(),
        }),
    }
}

/// A key's `kid`: its RFC 7638 thumbprint.
fn thumbprint_kid(material: &Material, alg: Alg) -> String {
    with_public_key(material, |key| {
        Jwk {
            key,
            kid: None,
            alg: Some(alg),
            use_sig: true,
        }
        .thumbprint_b64()
        .to_string()
    })
}

fn generate(alg: Alg) -> Result<(Material, Vec<u8>), SigningError> {
    match alg {
        Alg::Rs256 => {
            let kp = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| SigningError::Generate("RS256"))?;
            let der = kp
                .as_der()
                .map_err(|_| SigningError::Generate("RS256"))?
                .as_ref()
                .to_vec();
            Ok((Material::Rsa(Arc::new(kp)), der))
        }
        Alg::Es256 => {
            let k = Es256Key::generate(&mut getrandom::SysRng)
                .map_err(|_| SigningError::Generate("ES256"))?;
            let bytes = k.to_bytes().to_vec();
            Ok((Material::Es256(k), bytes))
        }
        Alg::EdDsa => {
            let k = Ed25519Key::generate(&mut getrandom::SysRng)
                .map_err(|_| SigningError::Generate("EdDSA"))?;
            let bytes = k.to_bytes().to_vec();
            Ok((Material::EdDsa(k), bytes))
        }
    }
}

/// A stored time as seconds (a negative one, never written, as 0).
fn unix(t: i64) -> u64 {
    u64::try_from(t).unwrap_or(0)
}

fn open_row(row: &SigningKeyRow, secret_box: &SecretBox) -> Result<Loaded, SigningError> {
    let bad = |why: &str| SigningError::Key {
        kid: row.kid.clone(),
        why: why.to_owned(),
    };
    let alg = Alg::parse(&row.alg).ok_or_else(|| bad("unknown algorithm"))?;
    let b64 = secret_box
        .open(&row.kid, &row.private_box)
        .map_err(|e| bad(&e.to_string()))?;
    let bytes = Base64::decode_vec(&b64).map_err(|_| bad("not base64"))?;
    let material = match alg {
        Alg::Rs256 => Material::Rsa(Arc::new(
            RsaKeyPair::from_pkcs8(&bytes).map_err(|_| bad("not a PKCS#8 RSA key"))?,
        )),
        Alg::Es256 => Material::Es256(
            Es256Key::from_bytes(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad("not a P-256 scalar"))?,
            )
            .map_err(|_| bad("not a P-256 scalar"))?,
        ),
        Alg::EdDsa => Material::EdDsa(Ed25519Key::from_seed(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| bad("not an Ed25519 seed"))?,
        )),
    };
    Ok(Loaded {
        kid: row.kid.clone(),
        alg,
        activates_at: unix(row.activates_at),
        retires_at: row.retires_at.map(unix),
        material,
    })
}

/// Makes one new key per algorithm: rows to insert and their kids.
fn new_rows(
    secret_box: &SecretBox,
    algs: &[Alg],
    now: i64,
    activates_at: i64,
) -> Result<Vec<SigningKeyRow>, SigningError> {
    algs.iter()
        .map(|&alg| {
            let (material, private) = generate(alg)?;
            let kid = thumbprint_kid(&material, alg);
            let sealed = secret_box
                .seal(&kid, &Base64::encode_string(&private))
                .map_err(|e| SigningError::Key {
                    kid: kid.clone(),
                    why: e.to_string(),
                })?;
            Ok(SigningKeyRow {
                kid,
                alg: alg.as_str().to_owned(),
                private_box: sealed,
                created_at: now,
                activates_at,
                retires_at: None,
            })
        })
        .collect()
}

/// `latch keys rotate`: one new key per algorithm, signing from
/// `now + delay`; the keys it replaces retire `max_lifetime` after that.
/// Returns the new kids (RS256, ES256, EdDSA).
pub async fn rotate(
    db: &Db,
    secret_box: &SecretBox,
    now: i64,
    delay: u64,
    max_lifetime: u64,
) -> Result<Vec<String>, SigningError> {
    let activates_at = now.saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
    let retire_at = activates_at.saturating_add(i64::try_from(max_lifetime).unwrap_or(i64::MAX));
    let existing = db.signing_keys(now).await?;
    let mut kids = Vec::new();
    for alg in Alg::ALL {
        // The first key of an algorithm has nothing to take over from: it
        // signs at once.
        let first = !existing.iter().any(|r| r.alg == alg.as_str());
        let at = if first { now } else { activates_at };
        let rows = new_rows(secret_box, &[alg], now, at)?;
        db.add_signing_keys(&rows, (!first).then_some(retire_at))
            .await?;
        kids.extend(rows.into_iter().map(|r| r.kid));
    }
    Ok(kids)
}

/// The keys a server signs and verifies with.
pub struct SigningKeys {
    db: Db,
    secret_box: SecretBox,
    keys: RwLock<Vec<Loaded>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.read().map(|k| k.len()).unwrap_or(0);
        f.debug_struct("SigningKeys")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

/// A JWT this server signed, verified.
#[derive(Debug, Clone)]
pub struct VerifiedJwt {
    /// The algorithm it was signed with.
    pub alg: Alg,
    /// The `typ` header, if any.
    pub typ: Option<String>,
    /// The decoded claims set.
    pub payload: Vec<u8>,
}

impl SigningKeys {
    /// Loads the keys, making the first ones (one per algorithm, signing at
    /// once) when the table has none for an algorithm.
    pub async fn load_or_create(
        db: &Db,
        secret_box: &SecretBox,
        now: i64,
    ) -> Result<SigningKeys, SigningError> {
        let rows = db.signing_keys(now).await?;
        let missing: Vec<Alg> = Alg::ALL
            .into_iter()
            .filter(|a| !rows.iter().any(|r| r.alg == a.as_str()))
            .collect();
        if !missing.is_empty() {
            let rows = new_rows(secret_box, &missing, now, now)?;
            db.add_signing_keys(&rows, None).await?;
        }
        let keys = SigningKeys {
            db: db.clone(),
            secret_box: secret_box.clone(),
            keys: RwLock::new(Vec::new()),
        };
        keys.reload(now).await?;
        Ok(keys)
    }

    /// Re-reads the table (a rotation by the CLI or another replica).
    /// Keys are opened (unsealed, parsed) only when the set changed.
    pub async fn reload(&self, now: i64) -> Result<(), SigningError> {
        let rows = self.db.signing_keys(now).await?;
        let unchanged = self.keys.read().is_ok_and(|k| {
            k.len() == rows.len()
                && k.iter().zip(&rows).all(|(l, r)| {
                    l.kid == r.kid
                        && l.activates_at == unix(r.activates_at)
                        && l.retires_at == r.retires_at.map(unix)
                })
        });
        if unchanged {
            return Ok(());
        }
        let loaded = rows
            .iter()
            .map(|r| open_row(r, &self.secret_box))
            .collect::<Result<Vec<_>, _>>()?;
        if let Ok(mut k) = self.keys.write() {
            *k = loaded;
        }
        Ok(())
    }

    /// Whether a key of every algorithm is loaded (for `/readyz`).
    pub fn ready(&self) -> bool {
        self.keys
            .read()
            .is_ok_and(|k| Alg::ALL.iter().all(|a| k.iter().any(|l| l.alg == *a)))
    }

    /// The JWK Set: every key not yet retired at `now`.
    pub fn jwk_set(&self, now: u64) -> String {
        let keys = match self.keys.read() {
            Ok(k) => k,
            Err(_) => return "{\"keys\":[]}".to_owned(),
        };
        let members: Vec<String> = keys
            .iter()
            .filter(|k| k.retires_at.is_none_or(|r| r > now))
            .map(Loaded::jwk_json)
            .filter(|j| !j.is_empty())
            .collect();
        format!("{{\"keys\":[{}]}}", members.join(","))
    }

    /// Signs `payload` as a compact JWS with the key of `alg` that signs at
    /// `now` (the newest one already active), with `typ`.
    pub fn sign(
        &self,
        alg: Alg,
        typ: &str,
        payload: &[u8],
        now: u64,
    ) -> Result<String, SigningError> {
        let keys = self
            .keys
            .read()
            .map_err(|_| SigningError::NoKey(alg.as_str()))?;
        let key = keys
            .iter()
            .filter(|k| k.alg == alg && k.activates_at <= now)
            .filter(|k| k.retires_at.is_none_or(|r| r > now))
            .max_by_key(|k| k.activates_at)
            .ok_or(SigningError::NoKey(alg.as_str()))?;
        let header = JwsHeader {
            alg,
            kid: Some(&key.kid),
            typ: Some(typ),
        };
        key.sign(&header, payload).map_err(|e| SigningError::Key {
            kid: key.kid.clone(),
            why: e.to_string(),
        })
    }

    /// Verifies a JWS signed by one of this server's published keys (by
    /// `kid`) and returns its payload. Claims are the caller's to check.
    pub fn verify(&self, compact: &str) -> Option<VerifiedJwt> {
        let jws = Jws::parse(compact.as_bytes()).ok()?;
        let header = jws.header();
        let kid = header.kid()?;
        let keys = self.keys.read().ok()?;
        let key = keys
            .iter()
            .find(|k| k.alg == header.alg() && kid.eq_str(&k.kid))?;
        key.verify(&jws).ok()?;
        let mut buf = vec![0u8; compact.len()];
        let payload = jws.decode_payload(&mut buf).ok()?.to_vec();
        Some(VerifiedJwt {
            alg: header.alg(),
            typ: header
                .typ()
                .and_then(|t| t.to_heapless::<32>().ok())
                .map(|t| t.to_string()),
            payload,
        })
    }

    /// An `id_token_hint` (RP-Initiated Logout 1.0 §2): an id_token this
    /// server signed for `issuer`, expired or not. Returns its `aud` (the
    /// first one) and `sub`.
    pub fn id_token_hint(&self, hint: &str, issuer: &str) -> Option<(String, String)> {
        let jwt = self.verify(hint)?;
        let claims = jose::RegisteredClaims::parse(&jwt.payload).ok()?;
        if !claims.iss.is_some_and(|i| i.eq_str(issuer)) {
            return None;
        }
        let aud = claims
            .aud?
            .as_slice()
            .first()?
            .to_heapless::<64>()
            .ok()?
            .to_string();
        let sub = claims.sub?.to_heapless::<64>().ok()?.to_string();
        Some((aud, sub))
    }
}
