//! The `Authorization: OAuth …` header (RFC 5849 §3.5.1).
//!
//! Grammar accepted (RFC 7235 `auth-param` list, which §3.5.1 refers to
//! through RFC 2617):
//!
//! ```text
//! OAuth [ param *( OWS "," OWS param ) ]
//! param = name OWS "=" OWS ( DQUOTE *qdtext DQUOTE / token )
//! ```
//!
//! The scheme name is case-insensitive. Empty list elements (`,,`) and
//! optional whitespace anywhere between elements are tolerated. Values are
//! percent-encoded (§3.6); a quoted value may not contain `"`, `\` or control
//! characters (no OAuth value needs them, and refusing them closes the door
//! on escape-handling differences between implementations).
//!
//! Duplicate names are not refused here — the provider
//! ([`SignedRequest`](super::SignedRequest)) decides which duplicates are an
//! error.

use super::params::Param;
use crate::buf::Sink;
use crate::percent::{self, Mode};
use crate::text::Text;
use core::fmt;

/// Why an `Authorization` header was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HeaderError {
    /// The scheme is not `OAuth`.
    NotOAuth,
    /// The header does not follow the grammar at this byte offset.
    Malformed {
        /// Byte offset in the header value.
        offset: usize,
    },
    /// A name or value at this offset is not valid percent-encoded UTF-8.
    InvalidEncoding {
        /// Byte offset in the header value.
        offset: usize,
    },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::NotOAuth => f.write_str("Authorization scheme is not OAuth"),
            HeaderError::Malformed { offset } => {
                write!(f, "malformed OAuth Authorization header at byte {offset}")
            }
            HeaderError::InvalidEncoding { offset } => {
                write!(
                    f,
                    "invalid percent-encoding in Authorization header at byte {offset}"
                )
            }
        }
    }
}

impl core::error::Error for HeaderError {}

/// A parsed, validated `Authorization: OAuth …` header value.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationHeader<'a> {
    params: &'a [u8],
}

fn is_tchar(b: u8) -> bool {
    matches!(b, b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// One step of the parameter tokenizer: `(name, value, rest)`, `None` at the
/// end, or the error's offset relative to the step's input and whether it
/// was an encoding error.
type Step<'a> = Result<Option<(Text<'a>, Text<'a>, &'a [u8])>, (usize, bool)>;

fn skip_separators(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .position(|&b| !(is_ows(b) || b == b','))
        .unwrap_or(input.len());
    input.get(n..).unwrap_or(&[])
}

/// Scans a token; returns its length and whether it is all unreserved.
fn scan_token(input: &[u8]) -> (usize, bool) {
    let mut simple = true;
    for (i, &b) in input.iter().enumerate() {
        if percent::is_unreserved(b) {
            continue;
        }
        if !is_tchar(b) {
            return (i, simple);
        }
        simple = false;
    }
    (input.len(), simple)
}

/// Scans the inside of a quoted value (after the opening quote): returns
/// the offset of the closing quote and whether the value is all unreserved,
/// or the offset of a forbidden byte (or of the end, when unterminated).
fn scan_quoted(input: &[u8]) -> Result<(usize, bool), usize> {
    let mut simple = true;
    for (i, &b) in input.iter().enumerate() {
        if percent::is_unreserved(b) {
            continue;
        }
        match b {
            b'"' => return Ok((i, simple)),
            b'\\' | 0x00..=0x1F | 0x7F => return Err(i),
            _ => simple = false,
        }
    }
    Err(input.len())
}

fn next_param(input: &[u8], check_encoding: bool) -> Step<'_> {
    let at = |rest: &[u8]| input.len().saturating_sub(rest.len());
    let rest = skip_separators(input);
    if rest.is_empty() {
        return Ok(None);
    }
    let (name_len, name_simple) = scan_token(rest);
    if name_len == 0 {
        return Err((at(rest), false));
    }
    let (name, rest) = rest.split_at(name_len);
    let rest = skip_ows(rest);
    let Some((b'=', rest)) = rest.split_first() else {
        return Err((at(rest), false));
    };
    let rest = skip_ows(rest);
    let (value, value_simple, rest) = match rest.split_first() {
        Some((b'"', inner)) => match scan_quoted(inner) {
            Ok((close, simple)) => {
                let (value, after) = inner.split_at(close);
                (value, simple, after.get(1..).unwrap_or(&[]))
            }
            // An unterminated quote is reported at the quote itself.
            Err(bad) if bad == inner.len() => return Err((at(rest), false)),
            Err(bad) => return Err((at(inner).saturating_add(bad), false)),
        },
        _ => {
            let (n, simple) = scan_token(rest);
            let (value, after) = rest.split_at(n);
            (value, simple, after)
        }
    };
    let rest = skip_ows(rest);
    match rest.first() {
        None | Some(b',') => {}
        Some(_) => return Err((at(rest), false)),
    }
    for (part, simple) in [(name, name_simple), (value, value_simple)] {
        if check_encoding && !simple && percent::validate(part, Mode::Strict).is_err() {
            // `part` lies inside `input`: its offset is the pointer distance.
            let offset = (part.as_ptr() as usize).saturating_sub(input.as_ptr() as usize);
            return Err((offset, true));
        }
    }
    Ok(Some((
        Text::encoded_prescanned(name, Mode::Strict, name_simple),
        Text::encoded_prescanned(value, Mode::Strict, value_simple),
        rest,
    )))
}

fn skip_ows(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .position(|&b| !is_ows(b))
        .unwrap_or(input.len());
    input.get(n..).unwrap_or(&[])
}

/// The parameter list after the `OAuth` scheme name.
fn after_scheme(value: &str) -> Result<&[u8], HeaderError> {
    let bytes = value.as_bytes();
    let (scheme, rest) = bytes.split_at(bytes.len().min(SCHEME_LEN));
    if !scheme.eq_ignore_ascii_case(b"OAuth") {
        return Err(HeaderError::NotOAuth);
    }
    match rest.first() {
        None => Ok(rest),
        Some(&b) if is_ows(b) => Ok(rest),
        Some(_) => Err(HeaderError::NotOAuth),
    }
}

const SCHEME_LEN: usize = 5;

/// Parses and validates in a single pass, yielding each parameter as it is
/// checked (the provider's path: no second tokenizing pass).
pub(crate) fn checked_params(value: &str) -> Result<CheckedParams<'_>, HeaderError> {
    let rest = after_scheme(value)?;
    Ok(CheckedParams { all: rest, rest })
}

/// See [`checked_params`]. Fused after an error.
pub(crate) struct CheckedParams<'a> {
    all: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Iterator for CheckedParams<'a> {
    type Item = Result<Param<'a>, HeaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        let consumed = self.all.len().saturating_sub(self.rest.len());
        match next_param(self.rest, true) {
            Ok(Some((name, value, after))) => {
                self.rest = after;
                Some(Ok(Param { name, value }))
            }
            Ok(None) => None,
            Err((rel, encoding)) => {
                self.rest = &[];
                let offset = SCHEME_LEN.saturating_add(consumed).saturating_add(rel);
                Some(Err(if encoding {
                    HeaderError::InvalidEncoding { offset }
                } else {
                    HeaderError::Malformed { offset }
                }))
            }
        }
    }
}

impl<'a> AuthorizationHeader<'a> {
    /// Parses and validates a whole header value.
    pub fn parse(value: &'a str) -> Result<Self, HeaderError> {
        for param in checked_params(value)? {
            param?;
        }
        Ok(AuthorizationHeader {
            params: after_scheme(value)?,
        })
    }

    /// The parameters in order, `realm` included.
    pub fn params(&self) -> HeaderParams<'a> {
        HeaderParams { rest: self.params }
    }

    /// The `realm` parameter, as written between its quotes.
    pub fn realm(&self) -> Option<&'a str> {
        self.params()
            .find(|p| p.name.eq_str("realm"))
            .and_then(|p| core::str::from_utf8(p.value.raw()).ok())
    }

    /// The first parameter called `name`.
    pub fn get(&self, name: &str) -> Option<Text<'a>> {
        self.params().find(|p| p.name.eq_str(name)).map(|p| p.value)
    }
}

/// The parameters of an [`AuthorizationHeader`].
#[derive(Debug, Clone)]
pub struct HeaderParams<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for HeaderParams<'a> {
    type Item = Param<'a>;

    fn next(&mut self) -> Option<Param<'a>> {
        match next_param(self.rest, false) {
            Ok(Some((name, value, rest))) => {
                self.rest = rest;
                Some(Param { name, value })
            }
            _ => {
                self.rest = &[];
                None
            }
        }
    }
}

/// Whether `realm` can be written as a quoted string without escapes.
pub(crate) fn realm_is_writable(realm: &str) -> bool {
    realm
        .bytes()
        .all(|b| b != b'"' && b != b'\\' && b >= 0x20 && b != 0x7F)
}

/// Streams `OAuth realm="…", name="value", …, oauth_signature="…"`.
///
/// `params` are written in the order given, names and values §3.6-encoded;
/// `signature` is the signature as computed (base64, or the PLAINTEXT key),
/// encoded here. `realm` must satisfy the quoted-string rule of the module
/// docs (the callers check it).
pub fn write_authorization<S: Sink + ?Sized>(
    sink: &mut S,
    realm: Option<&str>,
    params: &[Param<'_>],
    signature: &dyn Fn(&mut dyn Sink),
) {
    sink.put(b"OAuth ");
    if let Some(realm) = realm {
        sink.put(b"realm=\"");
        sink.put(realm.as_bytes());
        sink.put(b"\", ");
    }
    for p in params {
        p.name.write_oauth_encoded(sink);
        sink.put(b"=\"");
        p.value.write_oauth_encoded(sink);
        sink.put(b"\", ");
    }
    sink.put(b"oauth_signature=\"");
    signature(&mut EncodingSink(sink));
    sink.put(b"\"");
}

struct EncodingSink<'s, S: Sink + ?Sized>(&'s mut S);

impl<S: Sink + ?Sized> Sink for EncodingSink<'_, S> {
    fn put(&mut self, bytes: &[u8]) {
        percent::encode_into(bytes, self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc5849_example() {
        // §3.5.1's example.
        let h = AuthorizationHeader::parse(
            "OAuth realm=\"Example\",\r\n oauth_consumer_key=\"0685bd9184jfhq22\",oauth_token=\"ad180jjd733klru7\", \
             oauth_signature_method=\"HMAC-SHA1\", oauth_signature=\"wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D\", \
             oauth_timestamp=\"137131200\", oauth_nonce=\"4572616e48616d6d65724c61686176\", oauth_version=\"1.0\"",
        );
        // CR LF is not OWS: obsolete line folding is refused.
        assert!(matches!(h, Err(HeaderError::Malformed { .. })));
        let h = AuthorizationHeader::parse(
            "OAuth realm=\"Example\", oauth_consumer_key=\"0685bd9184jfhq22\",oauth_token=\"ad180jjd733klru7\", \
             oauth_signature_method=\"HMAC-SHA1\", oauth_signature=\"wOJIO9A2W5mFwDgiDvZbTSMK%2FPY%3D\", \
             oauth_timestamp=\"137131200\", oauth_nonce=\"4572616e48616d6d65724c61686176\", oauth_version=\"1.0\"",
        )
        .unwrap();
        assert_eq!(h.realm(), Some("Example"));
        assert_eq!(h.params().count(), 8);
        let sig = h.get("oauth_signature").unwrap();
        let mut buf = [0u8; 64];
        assert_eq!(sig.decode(&mut buf), Ok("wOJIO9A2W5mFwDgiDvZbTSMK/PY="));
    }

    #[test]
    fn tolerates_whitespace_and_case() {
        let h = AuthorizationHeader::parse("oauth  a = \"1\" ,, b=2 ,c=\"\"").unwrap();
        let got: heapless::Vec<(&[u8], &[u8]), 4> =
            h.params().map(|p| (p.name.raw(), p.value.raw())).collect();
        assert_eq!(
            &got[..],
            &[(&b"a"[..], &b"1"[..]), (b"b", b"2"), (b"c", b"")]
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuth")
                .unwrap()
                .params()
                .count(),
            0
        );
    }

    #[test]
    fn refuses_bad_headers() {
        assert_eq!(
            AuthorizationHeader::parse("Bearer abc").unwrap_err(),
            HeaderError::NotOAuth
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuthx a=\"1\"").unwrap_err(),
            HeaderError::NotOAuth
        );
        assert_eq!(
            AuthorizationHeader::parse("OAu").unwrap_err(),
            HeaderError::NotOAuth
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuth a=\"1").unwrap_err(),
            HeaderError::Malformed { offset: 8 }
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuth a=\"1\" b=\"2\"").unwrap_err(),
            HeaderError::Malformed { offset: 12 }
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuth a=\"x\\\"y\"").unwrap_err(),
            HeaderError::Malformed { offset: 10 }
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuth a=\"%zz\"").unwrap_err(),
            HeaderError::InvalidEncoding { offset: 9 }
        );
        assert_eq!(
            AuthorizationHeader::parse("OAuth =\"1\"").unwrap_err(),
            HeaderError::Malformed { offset: 6 }
        );
    }
}
