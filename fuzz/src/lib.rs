//! Shared by the fuzz targets (in the manner of rustls' fuzzing provider):
//! a deterministic generator seeded from the input that can be told to
//! fail, a virtual clock, and small writing helpers. Everything here is
//! deterministic, so a crash reproduces from its input file alone.

use chacha20::ChaCha20Rng;
use latch_core::{Sink, UnixTime, percent};
use rand_core::{Rng as _, SeedableRng, TryCryptoRng, TryRng};

/// The generator failed (a hardware RNG can).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngFailed;

impl core::fmt::Display for RngFailed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("fuzz generator failed")
    }
}

impl core::error::Error for RngFailed {}

/// ChaCha20 seeded from the fuzz input; while `failing` is set every draw
/// fails, so the outage paths (`RngError`, 503) are reached too.
pub struct FuzzRng {
    inner: ChaCha20Rng,
    /// Whether draws fail.
    pub failing: bool,
}

impl FuzzRng {
    /// A generator for this seed.
    pub fn new(seed: u64) -> Self {
        FuzzRng {
            inner: ChaCha20Rng::seed_from_u64(seed),
            failing: false,
        }
    }
}

impl TryRng for FuzzRng {
    type Error = RngFailed;

    fn try_next_u32(&mut self) -> Result<u32, RngFailed> {
        if self.failing {
            return Err(RngFailed);
        }
        Ok(self.inner.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, RngFailed> {
        if self.failing {
            return Err(RngFailed);
        }
        Ok(self.inner.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), RngFailed> {
        if self.failing {
            return Err(RngFailed);
        }
        self.inner.fill_bytes(dst);
        Ok(())
    }
}

impl TryCryptoRng for FuzzRng {}

/// A virtual clock: time moves only when the target says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock(UnixTime);

impl Clock {
    /// 2023-11-14T22:13:20Z, far enough from 0 and from `u64::MAX`.
    pub const T0: UnixTime = UnixTime(1_700_000_000);

    /// A clock at [`Clock::T0`].
    pub const fn new() -> Self {
        Clock(Self::T0)
    }

    /// The current time.
    pub const fn now(&self) -> UnixTime {
        self.0
    }

    /// Moves forward by `secs`.
    pub fn advance(&mut self, secs: u64) {
        self.0 = self.0.saturating_add(secs);
    }

    /// Moves forward to `t` (never back).
    pub fn advance_to(&mut self, t: UnixTime) {
        self.0 = self.0.max(t);
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// A growable [`Sink`].
#[derive(Debug, Default)]
pub struct VecSink(pub Vec<u8>);

impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
}

/// What `f` writes into a sink.
pub fn written(f: impl FnOnce(&mut VecSink)) -> Vec<u8> {
    let mut s = VecSink::default();
    f(&mut s);
    s.0
}

/// `s` percent-encoded (RFC 3986 unreserved characters left bare).
pub fn enc(s: &str) -> String {
    let out = written(|w| percent::encode_into(s.as_bytes(), w));
    String::from_utf8(out).expect("percent-encoding is ASCII")
}

/// Splits `HEADER '\n' BODY`: the first line is an `Authorization` header
/// value (absent when the line is empty, not UTF-8, or there is no
/// newline), the rest is the form body.
pub fn split_header(data: &[u8]) -> (Option<&str>, &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let header = std::str::from_utf8(&data[..i])
                .ok()
                .filter(|h| !h.is_empty());
            (header, &data[i + 1..])
        }
        None => (None, data),
    }
}

/// How many pairs of a (well-formed) form are named `name` (decoded) and
/// have a non-empty value: what RFC 6749 §3.1 counts as "sent".
pub fn count_sent(body: &[u8], name: &str) -> usize {
    latch_core::form::parse(body)
        .filter_map(Result::ok)
        .filter(|p| p.name.eq_str(name) && !p.value.is_empty())
        .count()
}

/// The decoded value of the one non-empty `name` of a form, if sent.
pub fn sent_value(body: &[u8], name: &str) -> Option<Vec<u8>> {
    latch_core::form::parse(body)
        .filter_map(Result::ok)
        .find(|p| p.name.eq_str(name) && !p.value.is_empty())
        .map(|p| p.value.decoded().collect())
}

/// Whether any of `names` is sent more than once.
pub fn any_repeated(body: &[u8], names: &[&str]) -> bool {
    names.iter().any(|n| count_sent(body, n) > 1)
}

/// The rules every form-encoded OAuth 2.0 request shares (RFC 6749 §2.3,
/// §3.2), checked on a parse result: a malformed body never parses; a
/// recognised parameter sent twice never parses (`invalid_request`);
/// credentials in both the header and the body never parse; an accepted
/// request identifies the client the header or body named, with the
/// method they imply.
pub fn check_client_request(
    body: &[u8],
    basic: Option<&latch_core::oauth2::BasicCredentials<'_>>,
    names: &[&str],
    result: Result<&latch_core::oauth2::ClientCredentials<'_>, &latch_core::oauth2::OAuthError>,
) {
    use latch_core::oauth2::{AuthMethod, ErrorCode};
    if latch_core::form::validate(body).is_err() {
        assert_eq!(result.unwrap_err().code, ErrorCode::InvalidRequest);
        return;
    }
    if any_repeated(body, names) {
        assert_eq!(
            result.unwrap_err().code,
            ErrorCode::InvalidRequest,
            "a repeated parameter was accepted"
        );
        return;
    }
    let body_id = sent_value(body, "client_id");
    let body_secret = sent_value(body, "client_secret");
    if basic.is_some() && body_secret.is_some() {
        assert!(result.is_err(), "credentials in header and body accepted");
    }
    let Ok(client) = result else { return };
    match basic {
        Some(b) => {
            let id: Vec<u8> = b.client_id.decoded().collect();
            assert_eq!(client.client_id().as_bytes(), id);
            assert_eq!(client.method(), AuthMethod::ClientSecretBasic);
            if let Some(body_id) = body_id {
                assert_eq!(body_id, id, "body client_id differs from the header's");
            }
        }
        None => {
            assert_eq!(Some(client.client_id().as_bytes().to_vec()), body_id);
            let method = match body_secret {
                Some(_) => AuthMethod::ClientSecretPost,
                None => AuthMethod::None,
            };
            assert_eq!(client.method(), method);
        }
    }
}

/// Parses `header` as `Basic` credentials into `scratch`; when it parses,
/// checks that writing the decoded id and secret again
/// (`write_basic_authorization`) parses to the same pair.
pub fn basic_roundtrip<'s>(
    header: &str,
    scratch: &'s mut [u8],
) -> Option<latch_core::oauth2::BasicCredentials<'s>> {
    use latch_core::oauth2::{BasicCredentials, is_basic, write_basic_authorization};
    let mut probe = vec![0u8; scratch.len()];
    match BasicCredentials::from_header(Some(header), &mut probe) {
        Ok(None) => assert!(!is_basic(header)),
        Ok(Some(_)) | Err(_) => assert!(is_basic(header)),
    }
    let b = BasicCredentials::parse(header, scratch).ok()?;
    let id = String::from_utf8(b.client_id.decoded().collect()).unwrap();
    let secret = String::from_utf8(b.client_secret.decoded().collect()).unwrap();
    assert!(!id.is_empty());
    let again = written(|w| write_basic_authorization(&id, &secret, w));
    let again = String::from_utf8(again).unwrap();
    let mut scratch2 = vec![0u8; again.len()];
    let b2 = BasicCredentials::parse(&again, &mut scratch2).expect("own Basic header parses");
    assert!(b2.client_id.eq_str(&id) && b2.client_secret.eq_str(&secret));
    Some(b)
}

/// `t` (seconds since the epoch, at most 9999-12-31T23:59:59Z) as an
/// IMF-fixdate (RFC 9110 §5.6.7), for checking what
/// `latch_core::http::parse_http_date` accepts. Written apart from the
/// parser, the other way round: days to a date (H. Hinnant's
/// `civil_from_days`) where the parser goes date to days.
pub fn imf_fixdate(t: u64) -> String {
    const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (days, secs) = (t / 86_400, t % 86_400);
    // civil_from_days, with days counted from 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 2 } else { mp - 10 };
    let year = yoe + era * 400 + u64::from(month < 2);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAY_NAMES[((days + 4) % 7) as usize],
        MONTHS[month as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}
