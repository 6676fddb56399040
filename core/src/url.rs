//! Splitting an absolute `http`/`https` URL (RFC 3986 §3) into the pieces
//! OAuth needs, and writing the base string URI of RFC 5849 §3.4.1.2:
//! scheme and host in lower case, the port only when it is not the default
//! for the scheme, the path as sent (`/` when empty), no user info, query or
//! fragment.
//!
//! The splitter is deliberately strict about what may appear at all: control
//! characters, spaces and non-ASCII bytes must be percent-encoded before a
//! URL is handed in.

use crate::buf::Sink;
use core::fmt;

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UrlError {
    /// No `scheme://` prefix.
    NotAbsolute,
    /// A scheme other than `http` or `https`.
    UnsupportedScheme,
    /// The authority has no host.
    MissingHost,
    /// The port is not a number from 0 to 65535.
    InvalidPort,
    /// A bracketed IPv6 host is not closed.
    InvalidHost,
    /// A control character, space or non-ASCII byte at this offset.
    InvalidCharacter {
        /// Byte offset in the URL.
        offset: usize,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NotAbsolute => {
                f.write_str("URL is not absolute (expected scheme://host/...)")
            }
            UrlError::UnsupportedScheme => f.write_str("URL scheme must be http or https"),
            UrlError::MissingHost => f.write_str("URL has no host"),
            UrlError::InvalidPort => f.write_str("URL port is not a number from 0 to 65535"),
            UrlError::InvalidHost => f.write_str("URL host is malformed"),
            UrlError::InvalidCharacter { offset } => write!(
                f,
                "URL has a character at byte {offset} that must be percent-encoded"
            ),
        }
    }
}

impl core::error::Error for UrlError {}

/// The scheme of an OAuth request URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scheme {
    /// `http`, default port 80.
    Http,
    /// `https`, default port 443.
    Https,
}

impl Scheme {
    /// The scheme in lower case.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port implied when none is given.
    pub const fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// An absolute URL, split; every piece borrows from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Url<'a> {
    /// The scheme.
    pub scheme: Scheme,
    /// The host as written (case preserved; IPv6 literals keep brackets).
    pub host: &'a str,
    /// The explicit port, if any.
    pub port: Option<u16>,
    /// The path as written, possibly empty.
    pub path: &'a str,
    /// The query without its `?`, if any.
    pub query: Option<&'a str>,
}

impl<'a> Url<'a> {
    /// Splits `url`. The fragment, if any, is dropped.
    pub fn parse(url: &'a str) -> Result<Self, UrlError> {
        if let Some(offset) = url.bytes().position(|b| b <= b' ' || b >= 0x7F) {
            return Err(UrlError::InvalidCharacter { offset });
        }
        // A byte search and checked splits: no substring searcher and no
        // panicking slice paths in the firmware image.
        let sep = url
            .as_bytes()
            .windows(3)
            .position(|w| w == b"://")
            .ok_or(UrlError::NotAbsolute)?;
        let (scheme, rest) = url.split_at_checked(sep).ok_or(UrlError::NotAbsolute)?;
        let rest = rest.get(3..).ok_or(UrlError::NotAbsolute)?;
        let scheme = if scheme.eq_ignore_ascii_case("http") {
            Scheme::Http
        } else if scheme.eq_ignore_ascii_case("https") {
            Scheme::Https
        } else if !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(UrlError::UnsupportedScheme);
        } else {
            return Err(UrlError::NotAbsolute);
        };
        let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest
            .split_at_checked(auth_end)
            .ok_or(UrlError::NotAbsolute)?;
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let (host, port) = if host_port.starts_with('[') {
            let close = host_port.find(']').ok_or(UrlError::InvalidHost)?;
            let (h, after) = host_port
                .split_at_checked(close.saturating_add(1))
                .ok_or(UrlError::InvalidHost)?;
            match after {
                "" => (h, None),
                p => (h, Some(p.strip_prefix(':').ok_or(UrlError::InvalidHost)?)),
            }
        } else {
            match host_port.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (host_port, None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(UrlError::MissingHost);
        }
        let port = match port {
            None | Some("") => None,
            Some(p) => Some(parse_port(p)?),
        };
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path_and_query, None),
        };
        Ok(Url {
            scheme,
            host,
            port,
            path,
            query,
        })
    }

    /// The port the request goes to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.scheme.default_port())
    }

    /// Streams the RFC 5849 §3.4.1.2 base string URI (not yet encoded).
    pub fn write_base_uri<S: Sink + ?Sized>(&self, sink: &mut S) {
        sink.put(self.scheme.as_str().as_bytes());
        sink.put(b"://");
        let mut chunk = [0u8; 32];
        for piece in self.host.as_bytes().chunks(chunk.len()) {
            let dst = chunk.get_mut(..piece.len()).unwrap_or(&mut []);
            dst.copy_from_slice(piece);
            dst.make_ascii_lowercase();
            sink.put(dst);
        }
        let port = self.effective_port();
        if port != self.scheme.default_port() {
            sink.put(b":");
            let mut digits = [0u8; 5];
            sink.put(write_decimal(u64::from(port), &mut digits));
        }
        if self.path.is_empty() {
            sink.put(b"/");
        } else {
            sink.put(self.path.as_bytes());
        }
    }
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    if !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort);
    }
    p.parse::<u16>().map_err(|_| UrlError::InvalidPort)
}

/// Writes `n` in decimal into the end of `buf` and returns the digits.
pub(crate) fn write_decimal(mut n: u64, buf: &mut [u8]) -> &[u8] {
    let mut start = buf.len();
    while let Some(next) = start.checked_sub(1) {
        let Some(slot) = buf.get_mut(next) else { break };
        // n % 10 < 10, so the cast cannot truncate.
        *slot = b'0'.wrapping_add((n % 10) as u8);
        start = next;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.get(start..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;

    fn base_uri(url: &str) -> heapless::String<128> {
        let mut buf = [0u8; 128];
        let mut w = SliceWriter::new(&mut buf);
        Url::parse(url).unwrap().write_base_uri(&mut w);
        let n = w.finish().unwrap();
        heapless::String::try_from(core::str::from_utf8(&buf[..n]).unwrap()).unwrap()
    }

    // RFC 5849 §3.4.1.2 examples.
    #[test]
    fn rfc5849_base_string_uri() {
        assert_eq!(
            base_uri("HTTP://EXAMPLE.COM:80/r%20v/X?id=123"),
            "http://example.com/r%20v/X"
        );
        assert_eq!(
            base_uri("https://www.example.net:8080/?q=1"),
            "https://www.example.net:8080/"
        );
        assert_eq!(base_uri("https://example.com:443"), "https://example.com/");
        assert_eq!(
            base_uri("http://user:pw@Example.com:8080#frag"),
            "http://example.com:8080/"
        );
        assert_eq!(base_uri("http://[::1]:80/a"), "http://[::1]/a");
        assert_eq!(base_uri("http://[::1]:8443/a"), "http://[::1]:8443/a");
    }

    #[test]
    fn splits_query_and_drops_fragment() {
        let u = Url::parse("http://h/p?a=1&b=2#x?y").unwrap();
        assert_eq!(u.path, "/p");
        assert_eq!(u.query, Some("a=1&b=2"));
        assert_eq!(Url::parse("http://h?x").unwrap().path, "");
    }

    #[test]
    fn refuses_bad_urls() {
        assert_eq!(Url::parse("example.com/x"), Err(UrlError::NotAbsolute));
        assert_eq!(Url::parse("ftp://h/"), Err(UrlError::UnsupportedScheme));
        assert_eq!(Url::parse("http:///x"), Err(UrlError::MissingHost));
        assert_eq!(Url::parse("http://h:99999/"), Err(UrlError::InvalidPort));
        assert_eq!(Url::parse("http://h:8a/"), Err(UrlError::InvalidPort));
        assert_eq!(Url::parse("http://[::1/"), Err(UrlError::InvalidHost));
        assert_eq!(
            Url::parse("http://h/a b"),
            Err(UrlError::InvalidCharacter { offset: 10 })
        );
        assert_eq!(
            Url::parse("http://h/é"),
            Err(UrlError::InvalidCharacter { offset: 9 })
        );
    }

    #[test]
    fn decimal() {
        let mut b = [0u8; 20];
        assert_eq!(write_decimal(0, &mut b), b"0");
        assert_eq!(write_decimal(u64::MAX, &mut b), b"18446744073709551615");
    }
}
