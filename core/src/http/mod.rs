//! HTTP/1.1 client message framing (RFC 9112) for a shell that owns a raw
//! TCP socket and fixed buffers: the firmware talking to a Latch server.
//!
//! Two halves, both sans-IO and allocation-free:
//!
//! * [`RequestWriter`] streams a request into any [`Sink`]: the request line
//!   (RFC 9112 §3, origin-form target, §3.2.1), `Host`, caller header fields
//!   (some of them written by other core writers, such as the OAuth
//!   `Authorization` header builders), `Content-Length` (RFC 9112 §6.2) and
//!   the body. Every method, target, name and value is checked first, so a
//!   value cannot smuggle a CR/LF into the message (header injection).
//! * [`ResponseReader`] reads a response incrementally from bytes the shell
//!   puts into a buffer the shell owns: [`spare`](ResponseReader::spare) is
//!   where the next socket read goes, [`received`](ResponseReader::received)
//!   says how many bytes landed (`0` for EOF) and answers
//!   [`ReadStatus::Partial`] or [`ReadStatus::Complete`]. The head is parsed
//!   with `httparse` (status line, RFC 9112 §4; field lines, §5); interim
//!   `1xx` responses (up to eight) are skipped, and `101` is refused since
//!   the client never asks to upgrade. The body length follows RFC 9112 §6.3:
//!   no body for `HEAD`, `204` and `304` (rule 1); a `Transfer-Encoding`
//!   (§6.1) of exactly `chunked` is decoded in place (§7.1); a message with
//!   both `Transfer-Encoding` and `Content-Length` is refused as a request
//!   smuggling risk (§6.1, §6.3 rule 3, §11.2); otherwise a valid
//!   `Content-Length` (§6.2, §6.3 rule 6; an invalid one is an error, rule
//!   5) or, without either, the body runs to the end of the connection
//!   (§6.3 rule 8).
//!
//! ```
//! use latch_core::http::{ReadStatus, ResponseReader};
//!
//! // Stands in for the socket: it hands out at most 7 bytes per read.
//! let mut socket: &[u8] =
//!     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\npong\r\n0\r\n\r\n";
//! let mut buf = [0u8; 512];
//! let mut reader = ResponseReader::new(&mut buf);
//! loop {
//!     let spare = reader.spare();
//!     let n = socket.len().min(spare.len()).min(7); // n == 0: the peer closed
//!     spare[..n].copy_from_slice(&socket[..n]);
//!     socket = &socket[n..];
//!     if reader.received(n)? == ReadStatus::Complete {
//!         break;
//!     }
//! }
//! let response = reader.response().expect("Complete");
//! assert_eq!(response.status(), 200);
//! assert_eq!(response.body(), b"pong");
//! assert!(response.keep_alive());
//! # Ok::<(), latch_core::http::HttpError>(())
//! ```
//!
//! ## Costs and limits
//!
//! The work is proportional to the bytes received: the head is re-parsed
//! on each read until it is complete, and after that every body byte is
//! looked at once. Chunk framing is removed by moving data down, so the
//! de-chunked body ends up contiguous right after the head and the room the
//! framing took is given back to [`spare`](ResponseReader::spare) — the
//! buffer must hold the final head plus the decoded body (plus the bytes of
//! one read), not the whole chunked message. Interim `1xx` heads are dropped from the buffer as they complete.
//! A chunk-size line or trailer section longer than the free room is
//! [`HttpError::ResponseTooLarge`], so a peer cannot keep the reader busy
//! forever with framing alone. At most [`MAX_HEADERS`] header fields.
//!
//! Feeding the same bytes in any split gives the same result as feeding
//! them at once, as long as the buffer holds the whole message (one byte
//! more for a close-delimited body, whose end is only seen at EOF); with a
//! smaller buffer the only other possible result is
//! [`HttpError::ResponseTooLarge`]. The property tests and the
//! `http_response` fuzz target check exactly that.

use core::fmt;

mod chunked;
mod client_request;
mod date;
mod request;
mod response;

pub(crate) use client_request::form_into;
pub use client_request::{Authorization, ClientRequest, Method, RequestError};
pub use date::parse_http_date;
pub use request::RequestWriter;
pub use response::{Headers, ReadStatus, Response, ResponseReader};

#[cfg(doc)]
use crate::Sink;

/// How many header fields a response head may have.
pub const MAX_HEADERS: usize = 24;

/// Why a request could not be written or a response could not be read.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HttpError {
    /// The request writer refused a method (not an RFC 9110 token), a target
    /// (not origin-form visible ASCII), a host, a header field name (not a
    /// token, or one the writer owns) or value (a CR, LF, NUL or other
    /// control byte). Nothing of the refused item was written.
    InvalidRequest,
    /// The status line or a header field is not valid syntax (RFC 9112 §4,
    /// §5), the status code is outside 100–599 or is `101 Switching
    /// Protocols`, the version is not HTTP/1.0 or HTTP/1.1, or more than
    /// eight interim (1xx) responses came before the final one.
    Malformed,
    /// The head has more than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// The buffer filled (or a declared length or framing could not fit)
    /// before the response was complete. A `Content-Length` or chunk size
    /// past `usize::MAX` is this too: valid syntax, longer than any buffer.
    ResponseTooLarge,
    /// `Content-Length` is not a list of digits, or carries two different
    /// values (RFC 9112 §6.3 rule 5).
    InvalidContentLength,
    /// Both `Transfer-Encoding` and `Content-Length` are present: refused,
    /// since the two framings disagreeing is how requests are smuggled
    /// (RFC 9112 §6.1, §11.2).
    LengthAndChunked,
    /// A `Transfer-Encoding` other than exactly `chunked` (compression
    /// codings, `chunked` twice, parameters), or any `Transfer-Encoding` in
    /// an HTTP/1.0 response (RFC 9112 §6.1).
    UnsupportedTransferCoding,
    /// The chunked body is malformed (RFC 9112 §7.1): a bad chunk-size line
    /// or extension, no CRLF after chunk data,
    /// or a malformed trailer field line.
    InvalidChunk,
    /// The connection closed before the head, the declared `Content-Length`
    /// or the final chunk arrived.
    Truncated,
    /// [`ResponseReader::received`] was told of more bytes than
    /// [`ResponseReader::spare`] had room for.
    Overrun,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HttpError::InvalidRequest => {
                "request refused: method, target, host or header field is not valid"
            }
            HttpError::Malformed => "malformed HTTP/1.x response head",
            HttpError::TooManyHeaders => "response has too many header fields",
            HttpError::ResponseTooLarge => "response does not fit in the buffer",
            HttpError::InvalidContentLength => "invalid Content-Length",
            HttpError::LengthAndChunked => "response has both Transfer-Encoding and Content-Length",
            HttpError::UnsupportedTransferCoding => {
                "unsupported Transfer-Encoding (only chunked is supported)"
            }
            HttpError::InvalidChunk => "malformed chunked body",
            HttpError::Truncated => "connection closed before the response was complete",
            HttpError::Overrun => "received more bytes than the spare room holds",
        })
    }
}

impl core::error::Error for HttpError {}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §5.6.2 `token`.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 5234 `VCHAR`.
fn is_vchar(b: u8) -> bool {
    (0x21..=0x7E).contains(&b)
}

/// The elements of a comma-separated list (RFC 9110 §5.6.1), trimmed of
/// optional whitespace; empty elements are skipped, as a recipient must.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert!(is_token(b"GET"));
        assert!(is_token(b"X-Custom_1.~"));
        assert!(!is_token(b""));
        assert!(!is_token(b"GE T"));
        assert!(!is_token(b"a:b"));
        assert!(!is_token(b"caf\xc3\xa9"));
    }

    #[test]
    fn list() {
        let v: heapless::Vec<&[u8], 4> = list_elements(b" a ,, b\t,").collect();
        assert_eq!(v.as_slice(), [&b"a"[..], &b"b"[..]]);
    }

    #[test]
    fn display_is_distinct() {
        use core::fmt::Write as _;
        let all = [
            HttpError::InvalidRequest,
            HttpError::Malformed,
            HttpError::TooManyHeaders,
            HttpError::ResponseTooLarge,
            HttpError::InvalidContentLength,
            HttpError::LengthAndChunked,
            HttpError::UnsupportedTransferCoding,
            HttpError::InvalidChunk,
            HttpError::Truncated,
            HttpError::Overrun,
        ];
        let mut seen: heapless::Vec<heapless::String<96>, 10> = heapless::Vec::new();
        for e in all {
            let mut s = heapless::String::<96>::new();
            write!(s, "{e}").unwrap();
            assert!(!seen.contains(&s), "{s}");
            seen.push(s).unwrap();
        }
    }
}
