//! The request writer: request line (RFC 9112 §3), `Host` (§3.2), header
//! fields (§5), `Content-Length` (§6.2) and the body.

use core::fmt;

use super::{HttpError, is_token, is_vchar};
use crate::Sink;

/// Field names the writer sets itself and refuses from the caller: a second
/// `Host` makes the request invalid (RFC 9112 §3.2), and a caller's
/// `Content-Length` or `Transfer-Encoding` beside the one
/// [`finish`](RequestWriter::finish) writes would frame the body twice.
const OWNED_NAMES: [&str; 3] = ["host", "content-length", "transfer-encoding"];

/// Streams one HTTP/1.1 request into a [`Sink`].
///
/// [`new`](Self::new) writes the request line and `Host`, each
/// [`header`](Self::header) / [`header_with`](Self::header_with) one field
/// line, and [`finish`](Self::finish) the framing, the blank line and the
/// body. Every check happens before anything of the item is written, so a
/// refused item leaves the sink as it was. The writer's own writes cannot
/// fail; a sink with a fixed capacity ([`SliceWriter`](crate::SliceWriter))
/// reports running out of room when it is finished.
///
/// ```
/// use latch_core::SliceWriter;
/// use latch_core::http::RequestWriter;
///
/// let mut buf = [0u8; 256];
/// let mut out = SliceWriter::new(&mut buf);
/// let mut req = RequestWriter::new(&mut out, "POST", "/token", "auth.example")?;
/// req.header("Content-Type", "application/x-www-form-urlencoded")?;
/// req.finish(b"grant_type=client_credentials");
/// let bytes = out.into_written().unwrap();
/// assert!(bytes.starts_with(b"POST /token HTTP/1.1\r\nHost: auth.example\r\n"));
/// assert!(bytes.ends_with(b"Content-Length: 29\r\n\r\ngrant_type=client_credentials"));
/// # Ok::<(), latch_core::http::HttpError>(())
/// ```
pub struct RequestWriter<'s, S: Sink + ?Sized> {
    sink: &'s mut S,
    /// `POST`, `PUT` and `PATCH` announce an empty body as `Content-Length: 0`.
    length_always: bool,
}

impl<S: Sink + ?Sized> fmt::Debug for RequestWriter<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestWriter").finish_non_exhaustive()
    }
}

impl<'s, S: Sink + ?Sized> RequestWriter<'s, S> {
    /// Writes `METHOD target HTTP/1.1\r\nHost: host\r\n`.
    ///
    /// `method` must be an RFC 9110 token (methods are case-sensitive:
    /// `GET`, not `get`); `target` must be in origin-form (RFC 9112 §3.2.1:
    /// it starts with `/` and is visible ASCII, so no spaces, and no `#`
    /// fragment); `host` must be non-empty visible ASCII (`host` or
    /// `host:port`). Otherwise [`HttpError::InvalidRequest`] and nothing is
    /// written.
    pub fn new(sink: &'s mut S, method: &str, target: &str, host: &str) -> Result<Self, HttpError> {
        Self::new_parts(sink, method, [target, "", ""], [host, ""], b"")
    }

    /// [`new`](Self::new) with the target and the host each given in pieces
    /// that are written one after the other (`path`, `?`, `query`; `host`,
    /// `:`, port digits), so a caller holding a split URL needs no buffer
    /// to join them. The joined text is checked as in `new`.
    pub(crate) fn new_parts(
        sink: &'s mut S,
        method: &str,
        target: [&str; 3],
        host: [&str; 2],
        port: &[u8],
    ) -> Result<Self, HttpError> {
        let target_bytes = target.iter().flat_map(|p| p.bytes());
        let target_ok =
            target[0].starts_with('/') && target_bytes.clone().all(|b| is_vchar(b) && b != b'#');
        let host_bytes = host
            .iter()
            .flat_map(|p| p.bytes())
            .chain(port.iter().copied());
        let host_ok = !host[0].is_empty() && host_bytes.clone().all(is_vchar);
        if !is_token(method.as_bytes()) || !target_ok || !host_ok {
            return Err(HttpError::InvalidRequest);
        }
        sink.put(method.as_bytes());
        sink.put(b" ");
        for part in target {
            sink.put(part.as_bytes());
        }
        sink.put(b" HTTP/1.1\r\nHost: ");
        for part in host {
            sink.put(part.as_bytes());
        }
        sink.put(port);
        sink.put(b"\r\n");
        Ok(RequestWriter {
            sink,
            length_always: matches!(method, "POST" | "PUT" | "PATCH"),
        })
    }

    /// Writes the field line `name: value\r\n`.
    ///
    /// `name` must be a token and not `Host`, `Content-Length` or
    /// `Transfer-Encoding` (the writer's own, in any case); `value` may hold
    /// visible ASCII, space and tab only — no CR, LF, NUL or other control
    /// byte, and no non-ASCII. Otherwise [`HttpError::InvalidRequest`] and
    /// nothing is written.
    pub fn header(&mut self, name: &str, value: &str) -> Result<(), HttpError> {
        if !value
            .bytes()
            .all(|b| is_vchar(b) || b == b' ' || b == b'\t')
        {
            return Err(HttpError::InvalidRequest);
        }
        self.header_with(name, |sink| sink.put(value.as_bytes()))
    }

    /// Writes `name: `, lets `write` stream the value into the sink, then
    /// writes `\r\n`: for values produced by another core writer, such as
    /// [`oauth1::write_authorization`](crate::oauth1::write_authorization)
    /// or [`ClientIdentity::write_authorization`](crate::oauth2::client::ClientIdentity::write_authorization).
    ///
    /// The name is checked as in [`header`](Self::header) (else
    /// [`HttpError::InvalidRequest`] and nothing is written, `write` is not
    /// called). The value is **trusted**, not checked: the core's writers
    /// only emit percent-encoded, base64 or token text. Do not pass a
    /// closure that writes text from the network or the user; use
    /// [`header`](Self::header) for that. A writer that may write nothing
    /// (`ClientIdentity::write_authorization` for a public client) would
    /// leave an empty field: call this only when there is a value.
    pub fn header_with(&mut self, name: &str, write: impl FnOnce(&mut S)) -> Result<(), HttpError> {
        if !is_token(name.as_bytes())
            || OWNED_NAMES
                .iter()
                .any(|owned| owned.eq_ignore_ascii_case(name))
        {
            return Err(HttpError::InvalidRequest);
        }
        self.sink.put(name.as_bytes());
        self.sink.put(b": ");
        write(&mut *self.sink);
        self.sink.put(b"\r\n");
        Ok(())
    }

    /// Ends the head and writes the body.
    ///
    /// Writes `Content-Length: {body.len()}` when the body is not empty, and
    /// `Content-Length: 0` for an empty body of a `POST`, `PUT` or `PATCH`
    /// (RFC 9110 §8.6: a request with no body otherwise sends none); then
    /// the blank line and the body. `Connection` and any other field are the
    /// caller's business.
    pub fn finish(self, body: &[u8]) {
        if !body.is_empty() || self.length_always {
            let mut digits = [0u8; 20];
            let len = u64::try_from(body.len()).unwrap_or(u64::MAX);
            self.sink.put(b"Content-Length: ");
            self.sink.put(crate::url::write_decimal(len, &mut digits));
            self.sink.put(b"\r\n");
        }
        self.sink.put(b"\r\n");
        self.sink.put(body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SliceWriter;

    fn written(f: impl FnOnce(&mut SliceWriter<'_>) -> Result<(), HttpError>) -> std::vec::Vec<u8> {
        let mut buf = [0u8; 512];
        let mut out = SliceWriter::new(&mut buf);
        f(&mut out).unwrap();
        out.into_written().unwrap().to_vec()
    }

    #[test]
    fn get_is_byte_exact() {
        let bytes = written(|out| {
            let mut req = RequestWriter::new(out, "GET", "/api/ping?x=1", "10.0.0.1:8080")?;
            req.header("Authorization", "Bearer abc.DEF-123")?;
            req.header("Accept", "application/json")?;
            req.finish(b"");
            Ok(())
        });
        assert_eq!(
            bytes,
            b"GET /api/ping?x=1 HTTP/1.1\r\n\
              Host: 10.0.0.1:8080\r\n\
              Authorization: Bearer abc.DEF-123\r\n\
              Accept: application/json\r\n\
              \r\n"
        );
    }

    #[test]
    fn post_is_byte_exact() {
        let bytes = written(|out| {
            let mut req = RequestWriter::new(out, "POST", "/token", "auth.example")?;
            req.header_with("Authorization", |s| s.put(b"Basic YTpi"))?;
            req.header("Connection", "close")?;
            req.finish(b"grant_type=refresh_token&refresh_token=r");
            Ok(())
        });
        assert_eq!(
            bytes,
            b"POST /token HTTP/1.1\r\n\
              Host: auth.example\r\n\
              Authorization: Basic YTpi\r\n\
              Connection: close\r\n\
              Content-Length: 40\r\n\
              \r\n\
              grant_type=refresh_token&refresh_token=r"
        );
    }

    #[test]
    fn empty_body_length_by_method() {
        for (method, expect_length) in [
            ("GET", false),
            ("HEAD", false),
            ("DELETE", false),
            ("POST", true),
            ("PUT", true),
            ("PATCH", true),
        ] {
            let bytes = written(|out| {
                RequestWriter::new(out, method, "/", "h")?.finish(b"");
                Ok(())
            });
            let has = bytes.windows(19).any(|w| w == b"Content-Length: 0\r\n");
            assert_eq!(has, expect_length, "{method}");
            assert!(bytes.ends_with(b"\r\n\r\n"));
        }
        let bytes = written(|out| {
            RequestWriter::new(out, "GET", "/", "h")?.finish(b"x");
            Ok(())
        });
        assert!(bytes.ends_with(b"Content-Length: 1\r\n\r\nx"));
    }

    #[test]
    fn header_injection_refused() {
        let mut buf = [0u8; 256];
        let mut out = SliceWriter::new(&mut buf);
        let mut req = RequestWriter::new(&mut out, "GET", "/", "h").unwrap();
        for value in [
            "a\r\nX: y",
            "a\nX: y",
            "a\rb",
            "nul\0",
            "bell\x07",
            "caf\u{e9}",
        ] {
            assert_eq!(req.header("X-Test", value), Err(HttpError::InvalidRequest));
        }
        for name in [
            "",
            "X Test",
            "X:",
            "X\r\nY",
            "Host",
            "content-length",
            "Transfer-Encoding",
        ] {
            assert_eq!(req.header(name, "v"), Err(HttpError::InvalidRequest));
            let mut called = false;
            assert_eq!(
                req.header_with(name, |_| called = true),
                Err(HttpError::InvalidRequest)
            );
            assert!(!called);
        }
        req.header("X-Ok", "tab\tand space, \"quotes\"").unwrap();
        req.finish(b"");
        assert_eq!(
            out.into_written().unwrap(),
            b"GET / HTTP/1.1\r\nHost: h\r\nX-Ok: tab\tand space, \"quotes\"\r\n\r\n"
        );
    }

    #[test]
    fn request_line_refused() {
        let cases = [
            ("GET ", "/", "h"),
            ("", "/", "h"),
            ("G\rET", "/", "h"),
            ("GET", "", "h"),
            ("GET", "http://h/", "h"),
            ("GET", "/a b", "h"),
            ("GET", "/a\r\nX: y", "h"),
            ("GET", "/a#frag", "h"),
            ("GET", "/caf\u{e9}", "h"),
            ("GET", "/", ""),
            ("GET", "/", "h h"),
            ("GET", "/", "h\r\nX: y"),
        ];
        for (method, target, host) in cases {
            let mut buf = [0u8; 64];
            let mut out = SliceWriter::new(&mut buf);
            assert_eq!(
                RequestWriter::new(&mut out, method, target, host).map(|_| ()),
                Err(HttpError::InvalidRequest),
                "{method:?} {target:?} {host:?}"
            );
            assert!(out.is_empty(), "nothing written for a refused request line");
        }
    }

    #[test]
    fn small_sink_reports_required_size() {
        let mut buf = [0u8; 16];
        let mut out = SliceWriter::new(&mut buf);
        RequestWriter::new(&mut out, "GET", "/api/ping", "h")
            .unwrap()
            .finish(b"");
        assert_eq!(
            out.finish(),
            Err(crate::BufferTooSmall {
                required: b"GET /api/ping HTTP/1.1\r\nHost: h\r\n\r\n".len()
            })
        );
    }
}
