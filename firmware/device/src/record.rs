//! What the device keeps across reboots, as bytes for flash: the endpoints
//! it discovered (RFC 8414) and the tokens it holds (RFC 6749 §5.1).
//!
//! Layout, version 2 (every text is its length, little-endian u16, then
//! its bytes; all times little-endian u64 Unix seconds, 0 for "none"):
//!
//! ```text
//! "LD" 0x02 | len token_endpoint | len device_authorization_endpoint
//!           | flags (bit 0: tokens present)
//!           [ | len access_token | len refresh_token (0: none)
//!             | received_at | expires_at ]
//! ```
//!
//! Version 1, written before the `large-tokens` capacities existed, is the
//! same with one-byte lengths; it is still read, so a device updated from
//! such a firmware keeps its login. Only version 2 is written.
//!
//! A record that does not parse (another version, a torn or corrupted
//! item — sequential-storage's CRC normally catches those first, a value
//! longer than this build's capacities) is treated as no record: the
//! device starts from discovery, it never acts on half a record.

use latch_core::UnixTime;
use latch_core::oauth2::client::{Endpoints, TokenSet};

/// The longest endpoint URL kept, bytes.
#[cfg(not(feature = "large-tokens"))]
pub const URL_CAP: usize = 96;
/// The longest token (device code, access or refresh token) kept, bytes:
/// opaque tokens.
#[cfg(not(feature = "large-tokens"))]
pub const TOKEN_CAP: usize = 128;
/// The longest endpoint URL kept, bytes (feature `large-tokens`).
#[cfg(feature = "large-tokens")]
pub const URL_CAP: usize = 256;
/// The longest token (device code, access or refresh token) kept, bytes
/// (feature `large-tokens`: signed JWTs).
#[cfg(feature = "large-tokens")]
pub const TOKEN_CAP: usize = 2048;
/// Room a record needs at most.
pub const RECORD_CAP: usize =
    3 + 2 + URL_CAP + 2 + URL_CAP + 1 + 2 + TOKEN_CAP + 2 + TOKEN_CAP + 16;

/// "LD" and the version written.
const MAGIC: [u8; 3] = *b"LD\x02";
/// "LD" and the version with one-byte lengths, still read.
const MAGIC_V1: [u8; 3] = *b"LD\x01";

/// Writes the record; its length. `None` if `out` is too small (it never
/// is with [`RECORD_CAP`] bytes).
pub(crate) fn write(
    endpoints: &Endpoints<URL_CAP>,
    tokens: Option<&TokenSet<TOKEN_CAP>>,
    out: &mut [u8],
) -> Option<usize> {
    let mut w = Writer { out, len: 0 };
    w.bytes(&MAGIC)?;
    let (token, device) = endpoints.as_text();
    w.text(token)?;
    w.text(device)?;
    match tokens {
        None => w.bytes(&[0])?,
        Some(t) => {
            w.bytes(&[1])?;
            w.text(t.access_token())?;
            w.text(t.refresh_token().unwrap_or(""))?;
            w.bytes(&t.received_at().as_secs().to_le_bytes())?;
            w.bytes(&t.expires_at().map_or(0, |e| e.as_secs()).to_le_bytes())?;
        }
    }
    Some(w.len)
}

/// Reads a record.
pub(crate) fn read(record: &[u8]) -> Option<(Endpoints<URL_CAP>, Option<TokenSet<TOKEN_CAP>>)> {
    let mut r = Reader {
        rest: record,
        wide: true,
    };
    match r.take(3)? {
        m if m == MAGIC => {}
        m if m == MAGIC_V1 => r.wide = false,
        _ => return None,
    }
    let token = r.text()?;
    let device = r.text()?;
    let endpoints = Endpoints::restore(token, device).ok()?;
    let tokens = match r.take(1)? {
        [0] => None,
        [1] => {
            let access = r.text()?;
            let refresh = Some(r.text()?).filter(|t| !t.is_empty());
            let received_at = UnixTime(r.u64()?);
            let expires_at = Some(r.u64()?).filter(|&t| t != 0).map(UnixTime);
            Some(TokenSet::restore(access, refresh, received_at, expires_at).ok()?)
        }
        _ => return None,
    };
    r.rest.is_empty().then_some((endpoints, tokens))
}

struct Writer<'o> {
    out: &'o mut [u8],
    len: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, b: &[u8]) -> Option<()> {
        let end = self.len.checked_add(b.len())?;
        self.out.get_mut(self.len..end)?.copy_from_slice(b);
        self.len = end;
        Some(())
    }

    fn text(&mut self, t: &str) -> Option<()> {
        self.bytes(&u16::try_from(t.len()).ok()?.to_le_bytes())?;
        self.bytes(t.as_bytes())
    }
}

struct Reader<'r> {
    rest: &'r [u8],
    /// Two-byte lengths (version 2), else one (version 1).
    wide: bool,
}

impl<'r> Reader<'r> {
    fn take(&mut self, n: usize) -> Option<&'r [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    fn text(&mut self) -> Option<&'r str> {
        let len = match (self.wide, self.take(if self.wide { 2 } else { 1 })?) {
            (true, &[lo, hi]) => usize::from(u16::from_le_bytes([lo, hi])),
            (false, &[len]) => usize::from(len),
            _ => return None,
        };
        core::str::from_utf8(self.take(len)?).ok()
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_truncation_is_no_record() {
        let e =
            Endpoints::restore("https://as.example/token", "https://as.example/device").unwrap();
        let t = TokenSet::restore(
            "2YotnFZFEjr1zCsicMWpAA",
            Some("tGzv3JOkF0XG5Qx2TlKWIA"),
            UnixTime(1000),
            Some(UnixTime(4600)),
        )
        .unwrap();
        let mut buf = [0u8; RECORD_CAP];
        let n = write(&e, Some(&t), &mut buf).unwrap();
        let (e2, t2) = read(&buf[..n]).unwrap();
        assert_eq!(e2, e);
        let t2 = t2.unwrap();
        assert_eq!(t2.access_token(), "2YotnFZFEjr1zCsicMWpAA");
        assert_eq!(t2.refresh_token(), Some("tGzv3JOkF0XG5Qx2TlKWIA"));
        assert_eq!(
            (t2.received_at(), t2.expires_at()),
            (UnixTime(1000), Some(UnixTime(4600)))
        );
        for cut in 0..n {
            assert!(read(&buf[..cut]).is_none(), "cut at {cut}");
        }
        let mut longer = buf;
        longer[n] = 0;
        assert!(read(&longer[..n + 1]).is_none(), "trailing bytes");
        let mut other = buf;
        other[2] = 3;
        assert!(read(&other[..n]).is_none(), "another version");

        let n = write(&e, None, &mut buf).unwrap();
        assert_eq!(read(&buf[..n]).unwrap(), (e.clone(), None));
        let t = TokenSet::restore("a", None, UnixTime(5), None).unwrap();
        let n = write(&e, Some(&t), &mut buf).unwrap();
        let t2 = read(&buf[..n]).unwrap().1.unwrap();
        assert_eq!((t2.refresh_token(), t2.expires_at()), (None, None));
        assert!(write(&e, Some(&t), &mut buf[..10]).is_none());
    }

    #[test]
    fn a_version_1_record_is_still_read() {
        // As the firmware before version 2 wrote it: one-byte lengths.
        let mut v1 = b"LD\x01".to_vec();
        for text in ["http://as/token", "http://as/device"] {
            v1.push(text.len() as u8);
            v1.extend_from_slice(text.as_bytes());
        }
        v1.push(1);
        for text in ["at", "rt"] {
            v1.push(text.len() as u8);
            v1.extend_from_slice(text.as_bytes());
        }
        v1.extend_from_slice(&1000u64.to_le_bytes());
        v1.extend_from_slice(&4600u64.to_le_bytes());
        let (e, t) = read(&v1).unwrap();
        assert_eq!(e.as_text(), ("http://as/token", "http://as/device"));
        let t = t.unwrap();
        assert_eq!((t.access_token(), t.refresh_token()), ("at", Some("rt")));
        assert_eq!(t.expires_at(), Some(UnixTime(4600)));
        // The same bytes read as version 2 are not a record.
        v1[2] = 2;
        assert!(read(&v1).is_none());
    }

    #[test]
    fn tokens_at_the_capacity_round_trip_and_longer_ones_are_no_record() {
        let long_url = std::format!("https://as.example/{}", "u".repeat(URL_CAP - 19));
        let e = Endpoints::restore(&long_url, &long_url).unwrap();
        let full = "t".repeat(TOKEN_CAP);
        let t = TokenSet::restore(&full, Some(&full), UnixTime(1), None).unwrap();
        let mut buf = [0u8; RECORD_CAP];
        let n = write(&e, Some(&t), &mut buf).unwrap();
        assert_eq!(n, RECORD_CAP, "the largest record fills RECORD_CAP exactly");
        let t2 = read(&buf[..n]).unwrap().1.unwrap();
        assert_eq!(t2.access_token(), full);
        // A record from a build with larger capacities: a token one byte
        // past this build's is not read (the device logs in again).
        let mut longer = buf[..n].to_vec();
        let at = 3 + 2 + URL_CAP + 2 + URL_CAP + 1;
        longer[at..at + 2].copy_from_slice(&(TOKEN_CAP as u16 + 1).to_le_bytes());
        longer.insert(at + 2, b't');
        assert!(read(&longer).is_none());
    }
}
