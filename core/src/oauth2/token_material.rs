//! Token material: random bearer tokens, codes and device codes, their
//! stored hashes, and device user codes.
//!
//! * A [`Token`] from [`Token::generate`] is 256 bits from the caller's
//!   `rand_core` RNG, written as 43 characters of base64url without padding
//!   (RFC 4648 §5). Authorization codes, device codes, PKCE verifiers and
//!   client `state` values are made this way. 256 bits is far above the 128
//!   bits RFC 6749 §10.10 and RFC 6819 §5.1.4.2.2 ask for.
//! * Access and refresh tokens come from [`Token::generate_ordered`]: the
//!   issue time in seconds (its low 40 bits, 5 bytes big-endian) followed
//!   by the same 256 random bits, 37 bytes written as 50 characters. The
//!   time adds nothing to guess (the random part alone is the secret) and
//!   reveals only when the token was issued, which its holder knows and
//!   introspection tells anyway. It is there for storage: see below.
//! * What is stored is a [`TokenHash`], never the token. A database leak
//!   then yields nothing that can be presented. Lookups are by hash; a
//!   token is never compared in clear. For any text the hash is its
//!   SHA-256 — except for the text of an ordered token (exactly 50
//!   canonical base64url characters decoding to 37 bytes), whose hash is
//!   its 5 time bytes followed by the first 27 bytes of the SHA-256 of the
//!   text (216 bits, still far beyond any collision search). Hashes of
//!   tokens issued later then sort later, so a store keyed by the hash
//!   appends at the end of its index instead of writing a random page per
//!   token: in a bare SQLite test of the access-token table that took
//!   800,000 inserts from 26–31k to 51k rows/s, and issuance with 10^6
//!   tokens in the table from ~20k to ~30k tokens/s (`bench/NOTES.md`). Text of any other shape — the 43-character tokens
//!   issued before ordered ones, codes, secrets — hashes as before, so
//!   stored rows stay valid across the change.
//! * A [`UserCode`] is RFC 8628 §6.1's suggestion: 8 characters from the 20
//!   consonants `BCDFGHJKLMNPQRSTVWXZ` (no vowels, so no words; no digits,
//!   so no 0/O 1/I confusion): 20⁸ ≈ 2^34.6 codes. It is shown as
//!   `XXXX-XXXX` and read back ignoring case, dashes and spaces.
//!
//! Randomness is drawn with rejection sampling where a uniform choice is
//! needed; a generator that fails (a hardware RNG on a microcontroller can)
//! is an [`RngError`], never a panic.

use super::error::RngError;
use crate::buf::Sink;
use crate::text::Text;
use crate::time::UnixTime;
use base64ct::{Base64UrlUnpadded, Encoding as _};
use core::fmt;
use rand_core::TryCryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The length of a random [`Token`]'s text ([`Token::generate`]).
pub const TOKEN_LEN: usize = 43;

/// The length of an ordered [`Token`]'s text ([`Token::generate_ordered`]).
pub const ORDERED_TOKEN_LEN: usize = 50;

/// The bytes of issue time that lead an ordered token and its hash.
const TIME_BYTES: usize = 5;

/// The decoded length of an ordered token: time, then 32 random bytes.
const ORDERED_BYTES: usize = TIME_BYTES + 32;

/// A fresh random token (base64url without padding). `Debug` does not
/// show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    text: [u8; ORDERED_TOKEN_LEN],
    len: u8,
}

impl Token {
    /// 32 bytes from `rng`: 43 characters.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Token, RngError> {
        let mut bytes = [0u8; 32];
        rng.try_fill_bytes(&mut bytes).map_err(|_| RngError)?;
        Ok(Token::from_bytes(&bytes))
    }

    /// The issue time `now` and 32 bytes from `rng`: 50 characters whose
    /// [`hash`](Self::hash) sorts by issue time. For access and refresh
    /// tokens, the rows a server writes most.
    pub fn generate_ordered<R: TryCryptoRng + ?Sized>(
        rng: &mut R,
        now: UnixTime,
    ) -> Result<Token, RngError> {
        let mut bytes = [0u8; 32];
        rng.try_fill_bytes(&mut bytes).map_err(|_| RngError)?;
        Ok(Token::ordered_from_bytes(now, &bytes))
    }

    /// The token for 32 caller-supplied random bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Token {
        let mut text = [0u8; ORDERED_TOKEN_LEN];
        // 32 bytes always encode to exactly 43 characters.
        let _ = Base64UrlUnpadded::encode(bytes, &mut text);
        Token {
            text,
            len: TOKEN_LEN as u8,
        }
    }

    /// The ordered token for issue time `now` and 32 caller-supplied
    /// random bytes.
    pub fn ordered_from_bytes(now: UnixTime, bytes: &[u8; 32]) -> Token {
        let mut raw = [0u8; ORDERED_BYTES];
        let (time, random) = raw.split_at_mut(TIME_BYTES);
        time.copy_from_slice(now.as_secs().to_be_bytes().get(3..).unwrap_or(&[0; 5]));
        random.copy_from_slice(bytes);
        let mut text = [0u8; ORDERED_TOKEN_LEN];
        // 37 bytes always encode to exactly 50 characters.
        let _ = Base64UrlUnpadded::encode(&raw, &mut text);
        Token {
            text,
            len: ORDERED_TOKEN_LEN as u8,
        }
    }

    /// The token's text, as handed to the client.
    pub fn as_str(&self) -> &str {
        let text = self.text.get(..usize::from(self.len)).unwrap_or(&[]);
        core::str::from_utf8(text).unwrap_or("")
    }

    /// The hash that is stored in its place.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.as_str().as_bytes())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// The stored hash of a token, code or secret: what storage holds and is
/// searched by. The SHA-256 of the text, except for an ordered token's
/// text ([`Token::generate_ordered`]): its 5 bytes of issue time, then the
/// first 27 bytes of that SHA-256, so that such hashes sort by issue time.
#[derive(Clone, Copy, Hash, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The hash of `text`.
    pub fn of(text: &[u8]) -> TokenHash {
        let digest: [u8; 32] = Sha256::digest(text).into();
        let mut raw = [0u8; ORDERED_BYTES];
        let ordered = text.len() == ORDERED_TOKEN_LEN
            && Base64UrlUnpadded::decode(text, &mut raw).is_ok_and(|d| d.len() == ORDERED_BYTES);
        if !ordered {
            return TokenHash(digest);
        }
        let mut out = [0u8; 32];
        let (time, rest) = out.split_at_mut(TIME_BYTES);
        time.copy_from_slice(raw.get(..TIME_BYTES).unwrap_or(&[0; TIME_BYTES]));
        rest.copy_from_slice(
            digest
                .get(..32 - TIME_BYTES)
                .unwrap_or(&[0; 32 - TIME_BYTES]),
        );
        TokenHash(out)
    }

    /// The hash of a token as it arrived in a request, decoded.
    pub fn of_text(text: &Text<'_>) -> TokenHash {
        if text.is_verbatim() {
            return TokenHash::of(text.raw());
        }
        let mut h = HashSink(Sha256::new());
        let mut chunk = [0u8; 64];
        let mut len = 0usize;
        let mut flushed = false;
        for b in text.decoded() {
            if let Some(slot) = chunk.get_mut(len) {
                *slot = b;
                len = len.saturating_add(1);
            } else {
                h.put(&chunk);
                flushed = true;
                chunk[0] = b;
                len = 1;
            }
        }
        let tail = chunk.get(..len).unwrap_or(&[]);
        if !flushed {
            // Short enough to be whole in `chunk`: hash it as `of` would,
            // which knows the ordered shape.
            return TokenHash::of(tail);
        }
        h.put(tail);
        TokenHash(h.0.finalize().into())
    }

    /// Equality in constant time.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }

    /// A 64-bit piece, for logs: identifies a row without revealing the
    /// hash. Taken from the end, which is hash output in both shapes (an
    /// ordered hash starts with its issue time).
    pub fn short(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.0.get(24..).unwrap_or(&[0; 8]));
        u64::from_be_bytes(b)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({:016x}…)", self.short())
    }
}

pub(crate) struct HashSink(pub(crate) Sha256);

impl Sink for HashSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The alphabet of [`UserCode`]s (RFC 8628 §6.1).
pub const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// The number of characters of a [`UserCode`].
pub const USER_CODE_LEN: usize = 8;

/// A device flow user code, normalised: 8 upper-case letters from
/// [`USER_CODE_ALPHABET`].
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UserCode([u8; USER_CODE_LEN]);

/// Why text is not a user code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UserCodeError {
    /// A character outside the alphabet (after ignoring case, `-` and
    /// spaces).
    InvalidCharacter,
    /// Not exactly eight characters.
    WrongLength,
}

impl fmt::Display for UserCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserCodeError::InvalidCharacter => f.write_str("user code has an invalid character"),
            UserCodeError::WrongLength => f.write_str("user code must have 8 letters"),
        }
    }
}

impl core::error::Error for UserCodeError {}

impl UserCode {
    /// A uniformly random code from `rng`.
    pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<UserCode, RngError> {
        // 240 = 12 × 20: bytes below it map uniformly onto the alphabet.
        const LIMIT: u8 = 240;
        let mut code = [0u8; USER_CODE_LEN];
        let mut filled = 0usize;
        // Each byte is kept with probability 15/16; 8 rounds of 16 bytes
        // fail only for a broken generator.
        for _ in 0..8 {
            let mut batch = [0u8; 16];
            rng.try_fill_bytes(&mut batch).map_err(|_| RngError)?;
            for b in batch.into_iter().filter(|&b| b < LIMIT) {
                let Some(slot) = code.get_mut(filled) else {
                    return Ok(UserCode(code));
                };
                *slot = USER_CODE_ALPHABET
                    .get(usize::from(b % 20))
                    .copied()
                    .unwrap_or(b'B');
                filled = filled.saturating_add(1);
            }
            if filled == USER_CODE_LEN {
                return Ok(UserCode(code));
            }
        }
        Err(RngError)
    }

    /// Reads a code as a user typed it: case, `-` and spaces are ignored.
    pub fn parse_bytes<I: IntoIterator<Item = u8>>(input: I) -> Result<UserCode, UserCodeError> {
        let mut code = [0u8; USER_CODE_LEN];
        let mut n = 0usize;
        for b in input {
            if b == b'-' || b == b' ' {
                continue;
            }
            let up = b.to_ascii_uppercase();
            if !USER_CODE_ALPHABET.contains(&up) {
                return Err(UserCodeError::InvalidCharacter);
            }
            let slot = code.get_mut(n).ok_or(UserCodeError::WrongLength)?;
            *slot = up;
            n = n.saturating_add(1);
        }
        if n == USER_CODE_LEN {
            Ok(UserCode(code))
        } else {
            Err(UserCodeError::WrongLength)
        }
    }

    /// Reads a code from a string; see [`parse_bytes`](Self::parse_bytes).
    pub fn parse(input: &str) -> Result<UserCode, UserCodeError> {
        Self::parse_bytes(input.bytes())
    }

    /// The normalised code, e.g. `WDJBMJHT`.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The code as shown to the user, e.g. `WDJB-MJHT`.
    pub fn display(&self) -> UserCodeDisplay {
        let mut out = [b'-'; 9];
        let (a, b) = self.0.split_at(4);
        if let Some(dst) = out.get_mut(..4) {
            dst.copy_from_slice(a);
        }
        if let Some(dst) = out.get_mut(5..) {
            dst.copy_from_slice(b);
        }
        UserCodeDisplay(out)
    }
}

impl fmt::Debug for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserCode").field(&self.as_str()).finish()
    }
}

/// A [`UserCode`] formatted `XXXX-XXXX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserCodeDisplay([u8; 9]);

impl UserCodeDisplay {
    /// The text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for UserCodeDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
pub(crate) mod test_rng {
    //! A deterministic generator for unit tests (a counter through SHA-256).
    use core::convert::Infallible;
    use rand_core::{TryCryptoRng, TryRng};
    use sha2::{Digest, Sha256};

    pub(crate) struct TestRng(pub(crate) u64);

    impl TryRng for TestRng {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(self.try_next_u64()? as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let mut b = [0u8; 8];
            self.try_fill_bytes(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            for chunk in dst.chunks_mut(32) {
                self.0 += 1;
                let d = Sha256::digest(self.0.to_le_bytes());
                chunk.copy_from_slice(&d[..chunk.len()]);
            }
            Ok(())
        }
    }
    impl TryCryptoRng for TestRng {}

    /// A generator that always fails.
    pub(crate) struct Broken;
    #[derive(Debug)]
    pub(crate) struct Failed;
    impl core::fmt::Display for Failed {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("failed")
        }
    }
    impl core::error::Error for Failed {}
    impl TryRng for Broken {
        type Error = Failed;
        fn try_next_u32(&mut self) -> Result<u32, Failed> {
            Err(Failed)
        }
        fn try_next_u64(&mut self) -> Result<u64, Failed> {
            Err(Failed)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Failed> {
            Err(Failed)
        }
    }
    impl TryCryptoRng for Broken {}
}

#[cfg(test)]
mod tests {
    use super::test_rng::{Broken, TestRng};
    use super::*;
    use crate::percent::Mode;

    #[test]
    fn tokens_are_256_bit_base64url_without_padding() {
        let t = Token::generate(&mut TestRng(0)).unwrap();
        assert_eq!(t.as_str().len(), 43);
        assert!(
            t.as_str()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let mut decoded = [0u8; 32];
        assert_eq!(
            Base64UrlUnpadded::decode(t.as_str(), &mut decoded)
                .unwrap()
                .len(),
            32
        );
        assert_ne!(t, Token::generate(&mut TestRng(5)).unwrap());
        assert_eq!(Token::generate(&mut Broken), Err(RngError));
    }

    #[test]
    fn stored_hash_is_sha256_of_the_text_never_the_token() {
        let t = Token::from_bytes(&[7; 32]);
        assert_eq!(t.hash(), TokenHash::of(t.as_str().as_bytes()));
        assert_ne!(&t.hash().0[..], t.as_str().as_bytes().get(..32).unwrap());
        assert!(!std::format!("{t:?}").contains(t.as_str()));
        // A token that arrived percent-encoded hashes like its decoding.
        let enc = Text::encoded(b"ab%2Dc+d", Mode::Form).unwrap();
        assert_eq!(TokenHash::of_text(&enc), TokenHash::of(b"ab-c d"));
        let long = [b'%', b'4', b'1'].repeat(100);
        let long_text = Text::encoded(&long, Mode::Form).unwrap();
        assert_eq!(TokenHash::of_text(&long_text), TokenHash::of(&[b'A'; 100]));
    }

    #[test]
    fn ordered_tokens_lead_with_their_issue_time() {
        let now = UnixTime(1_800_000_000);
        let t = Token::generate_ordered(&mut TestRng(1), now).unwrap();
        assert_eq!(t.as_str().len(), ORDERED_TOKEN_LEN);
        let mut raw = [0u8; 37];
        assert_eq!(
            Base64UrlUnpadded::decode(t.as_str(), &mut raw)
                .unwrap()
                .len(),
            37
        );
        assert_eq!(raw[..5], 1_800_000_000u64.to_be_bytes()[3..]);
        assert_ne!(raw[5..], [0u8; 32]);
        assert_eq!(Token::generate_ordered(&mut Broken, now), Err(RngError));
        // Two tokens in the same second differ in their random part.
        assert_ne!(t, Token::generate_ordered(&mut TestRng(2), now).unwrap());
    }

    #[test]
    fn an_ordered_hash_is_time_then_truncated_sha256() {
        let t = Token::ordered_from_bytes(UnixTime(0x01_0203_0405), &[7; 32]);
        let h = t.hash();
        let sha = Sha256::digest(t.as_str().as_bytes());
        assert_eq!(h.0[..5], [1, 2, 3, 4, 5]);
        assert_eq!(h.0[5..], sha[..27]);
        assert_eq!(h, TokenHash::of(t.as_str().as_bytes()));
        // The same text percent-encoded (every byte) hashes the same.
        let mut enc = std::string::String::new();
        for b in t.as_str().bytes() {
            enc.push_str(&std::format!("%{b:02X}"));
        }
        let text = Text::encoded(enc.as_bytes(), Mode::Form).unwrap();
        assert_eq!(TokenHash::of_text(&text), h);
        // Later tokens sort later, whatever their random part.
        let mut prev = TokenHash([0; 32]);
        for (i, secs) in [1_700_000_000u64, 1_700_000_001, 1_800_000_000, 1 << 39]
            .into_iter()
            .enumerate()
        {
            let h = Token::ordered_from_bytes(UnixTime(secs), &[255 - i as u8; 32]).hash();
            assert!(h > prev, "{secs}");
            prev = h;
        }
        // Log identifiers come from the hash output, not the time.
        let a = Token::ordered_from_bytes(UnixTime(5), &[1; 32]).hash();
        let b = Token::ordered_from_bytes(UnixTime(5), &[2; 32]).hash();
        assert_ne!(a.short(), b.short());
    }

    #[test]
    fn other_text_hashes_as_plain_sha256() {
        // Random tokens, codes and secrets: what rows written before
        // ordered tokens hold.
        let t = Token::from_bytes(&[7; 32]);
        let sha: [u8; 32] = Sha256::digest(t.as_str().as_bytes()).into();
        assert_eq!(t.hash().0, sha);
        // 50 characters that are not base64url, or 49 or 51 that are.
        for text in [
            [b'!'; 50].as_slice(),
            [b'A'; 49].as_slice(),
            [b'A'; 51].as_slice(),
        ] {
            let sha: [u8; 32] = Sha256::digest(text).into();
            assert_eq!(TokenHash::of(text).0, sha);
        }
    }

    #[test]
    fn user_codes_follow_rfc8628_section_6_1() {
        let mut rng = TestRng(3);
        for _ in 0..50 {
            let c = UserCode::generate(&mut rng).unwrap();
            assert!(c.as_str().bytes().all(|b| USER_CODE_ALPHABET.contains(&b)));
            assert_eq!(c.display().as_str().len(), 9);
            assert_eq!(UserCode::parse(c.display().as_str()), Ok(c));
        }
        let c = UserCode::parse("WDJB-MJHT").unwrap();
        assert_eq!(c.display().as_str(), "WDJB-MJHT");
        assert_eq!(UserCode::parse("wdjb mjht"), Ok(c));
        assert_eq!(UserCode::parse("wd-jbmj-ht"), Ok(c));
        assert_eq!(UserCode::parse("WDJB-MJH"), Err(UserCodeError::WrongLength));
        assert_eq!(
            UserCode::parse("WDJB-MJHTX"),
            Err(UserCodeError::WrongLength)
        );
        assert_eq!(
            UserCode::parse("WDJA-MJHT"),
            Err(UserCodeError::InvalidCharacter)
        );
        assert_eq!(UserCode::generate(&mut Broken), Err(RngError));
    }
}
