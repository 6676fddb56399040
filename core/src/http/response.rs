//! The incremental response reader: status line (RFC 9112 §4) and fields
//! by `httparse`, body length by RFC 9112 §6.3, chunked bodies (§7.1)
//! decoded in place.

use core::fmt;

use super::chunked::Chunk;
use super::{HttpError, MAX_HEADERS, list_elements};

/// What [`ResponseReader::received`] needs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadStatus {
    /// More bytes are needed: read into [`ResponseReader::spare`] again.
    Partial,
    /// The whole response is in: see [`ResponseReader::response`].
    Complete,
}

/// A byte range of the reader's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: usize,
    len: usize,
}

impl Span {
    const EMPTY: Span = Span { start: 0, len: 0 };

    /// Where `part` lies inside `base` (empty if it does not: `httparse`
    /// hands out a static `""` for some empty values).
    fn within(base: &[u8], part: &[u8]) -> Span {
        let start = part.as_ptr().addr().checked_sub(base.as_ptr().addr());
        match start {
            Some(start)
                if start
                    .checked_add(part.len())
                    .is_some_and(|end| end <= base.len()) =>
            {
                Span {
                    start,
                    len: part.len(),
                }
            }
            _ => Span::EMPTY,
        }
    }

    fn of(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start..self.start.saturating_add(self.len))
            .unwrap_or(&[])
    }
}

/// One header field of the final head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Field {
    name: Span,
    value: Span,
}

/// How the body of the final response is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Rule 1: `HEAD`, 204, 304.
    None,
    /// Rule 6: a valid `Content-Length`.
    Length(usize),
    /// Rule 4: `Transfer-Encoding: chunked`.
    Chunked,
    /// Rule 8: until the connection closes.
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a complete head at the start of the buffer.
    Head,
    /// A `Content-Length` body, complete when `filled` reaches `end`.
    Length { end: usize },
    /// A chunked body: raw bytes are read from `raw`, decoded ones written
    /// at `out` (`out <= raw <= filled`); `framing` counts the framing bytes
    /// since the last data, bounded by the free room.
    Chunked {
        raw: usize,
        out: usize,
        step: Chunk,
        framing: usize,
    },
    /// A body delimited by EOF.
    UntilClose,
    /// Complete: the body is `head_len..body_end`, leftovers `rest..filled`.
    Done { body_end: usize, rest: usize },
    /// Failed; every later call answers the same error.
    Failed(HttpError),
}

/// Moves `buf[src..src + n]` down to `dst` (`dst <= src`); false if a
/// range is out of bounds.
fn move_down(buf: &mut [u8], src: usize, dst: usize, n: usize) -> bool {
    let (Some(end), Some(gap)) = (src.checked_add(n), src.checked_sub(dst)) else {
        return false;
    };
    match buf.get_mut(dst..end) {
        Some(window) if gap > 0 => {
            // gap <= window.len() since src <= end.
            window.copy_within(gap.., 0);
            true
        }
        Some(_) => true,
        None => false,
    }
}

/// Reads one HTTP/1.1 response from a caller-owned buffer, incrementally.
///
/// Call [`spare`](Self::spare) for the room to read the socket into, then
/// [`received`](Self::received) with the number of bytes read (`0` when
/// the peer closed), until it answers [`ReadStatus::Complete`]; then
/// [`response`](Self::response) hands out the status, fields and the
/// (de-chunked) body, borrowed from the buffer, and
/// [`leftover`](Self::leftover) whatever came after it. An error is final:
/// every later call to `received` answers it again, and the connection
/// should be closed. [`next_response`](Self::next_response) starts over in
/// the same buffer.
///
/// The reader does not copy the response anywhere: its own state is a few
/// offsets and [`MAX_HEADERS`] field positions.
pub struct ResponseReader<'b> {
    buf: &'b mut [u8],
    /// Bytes of `buf` in use: head, body so far, unprocessed bytes.
    filled: usize,
    head_request: bool,
    state: State,
    /// The final head (valid from the end of [`State::Head`] on).
    head_len: usize,
    status: u16,
    minor: u8,
    reason: Span,
    fields: [Field; MAX_HEADERS],
    field_count: usize,
    keep_alive: bool,
    /// Interim responses dropped so far.
    interim: usize,
}

/// How many interim (1xx) responses may come before the final one: a
/// peer must not keep the reader busy with them forever.
const MAX_INTERIM: usize = 8;

impl fmt::Debug for ResponseReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the buffer: a response body can carry tokens.
        f.debug_struct("ResponseReader")
            .field("capacity", &self.buf.len())
            .field("filled", &self.filled)
            .field("head_request", &self.head_request)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<'b> ResponseReader<'b> {
    /// A reader for the response to a request of any method but `HEAD`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        ResponseReader {
            buf,
            filled: 0,
            head_request: false,
            state: State::Head,
            head_len: 0,
            status: 0,
            minor: 0,
            reason: Span::EMPTY,
            fields: [Field::default(); MAX_HEADERS],
            field_count: 0,
            keep_alive: false,
            interim: 0,
        }
    }

    /// Like [`new`](Self::new), for the answer to a `HEAD` request, which
    /// has no body whatever its fields say (RFC 9112 §6.3 rule 1).
    pub fn for_head(buf: &'b mut [u8]) -> Self {
        ResponseReader {
            head_request: true,
            ..ResponseReader::new(buf)
        }
    }

    /// The free room to read the next bytes from the socket into.
    ///
    /// Empty when the buffer is full; [`received`](Self::received) has then
    /// already answered [`HttpError::ResponseTooLarge`] unless the response
    /// is complete. (Reading into an empty slice would look like EOF.)
    pub fn spare(&mut self) -> &mut [u8] {
        if matches!(self.state, State::Failed(_)) {
            return &mut [];
        }
        self.buf.get_mut(self.filled..).unwrap_or_default()
    }

    /// Tells the reader that `n` more bytes were written at the start of
    /// [`spare`](Self::spare); `n == 0` means the peer closed the
    /// connection (EOF).
    ///
    /// [`ReadStatus::Partial`] when more bytes are needed,
    /// [`ReadStatus::Complete`] when the whole response is in (bytes
    /// received after that are [`leftover`](Self::leftover)). `n` larger
    /// than `spare().len()` is [`HttpError::Overrun`].
    pub fn received(&mut self, n: usize) -> Result<ReadStatus, HttpError> {
        if let State::Failed(e) = self.state {
            return Err(e);
        }
        let room = self.buf.len().saturating_sub(self.filled);
        let result = if n > room {
            Err(HttpError::Overrun)
        } else {
            self.filled = self.filled.saturating_add(n);
            self.advance(n == 0)
        };
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// The complete response: `None` until [`received`](Self::received)
    /// answered [`ReadStatus::Complete`].
    pub fn response(&self) -> Option<Response<'_>> {
        let State::Done { body_end, .. } = self.state else {
            return None;
        };
        let buf: &[u8] = &*self.buf;
        Some(Response {
            status: self.status,
            minor: self.minor,
            reason: core::str::from_utf8(self.reason.of(buf)).unwrap_or_default(),
            head: buf.get(..self.head_len).unwrap_or_default(),
            fields: self.fields.get(..self.field_count).unwrap_or_default(),
            body: buf.get(self.head_len..body_end).unwrap_or_default(),
            keep_alive: self.keep_alive,
        })
    }

    /// Bytes received after the end of this response (the start of the
    /// next one on a kept-alive connection); empty until the response is
    /// complete, and often after.
    pub fn leftover(&self) -> &[u8] {
        match self.state {
            State::Done { rest, .. } => self.buf.get(rest..self.filled).unwrap_or_default(),
            _ => &[],
        }
    }

    /// Starts reading the next response in the same buffer (`head`: it
    /// answers a `HEAD` request).
    ///
    /// After a complete response its [`leftover`](Self::leftover) moves to
    /// the start of the buffer and is read as the beginning of the next
    /// response, so the answer may already be
    /// [`Complete`](ReadStatus::Complete) (or an error). In any other state
    /// — partial or failed, where the connection cannot be reused — the
    /// buffer is emptied, ready for a new connection, and the answer is
    /// [`Partial`](ReadStatus::Partial).
    pub fn next_response(&mut self, head: bool) -> Result<ReadStatus, HttpError> {
        let kept = match self.state {
            State::Done { rest, .. } => {
                let n = self.filled.saturating_sub(rest);
                if move_down(self.buf, rest, 0, n) {
                    n
                } else {
                    0
                }
            }
            _ => 0,
        };
        let buf = core::mem::take(&mut self.buf);
        *self = ResponseReader {
            head_request: head,
            filled: kept,
            ..ResponseReader::new(buf)
        };
        if kept == 0 {
            return Ok(ReadStatus::Partial);
        }
        let result = self.advance(false);
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// Runs the state machine over everything received so far.
    fn advance(&mut self, eof: bool) -> Result<ReadStatus, HttpError> {
        if self.state == State::Head {
            if eof {
                return Err(HttpError::Truncated);
            }
            self.parse_head()?;
        }
        match self.state {
            State::Head | State::Failed(_) => {}
            State::Length { end } => {
                if self.filled >= end {
                    self.state = State::Done {
                        body_end: end,
                        rest: end,
                    };
                } else if eof {
                    return Err(HttpError::Truncated);
                }
            }
            State::UntilClose => {
                if eof {
                    self.state = State::Done {
                        body_end: self.filled,
                        rest: self.filled,
                    };
                }
            }
            State::Chunked {
                raw,
                out,
                step,
                framing,
            } => {
                self.state = self.decode_chunked(raw, out, step, framing)?;
            }
            State::Done { .. } => {}
        }
        match self.state {
            State::Done { .. } => Ok(ReadStatus::Complete),
            State::Failed(e) => Err(e),
            _ if eof => Err(HttpError::Truncated),
            _ if self.filled >= self.buf.len() => Err(HttpError::ResponseTooLarge),
            _ => Ok(ReadStatus::Partial),
        }
    }

    /// Parses heads at the start of the buffer: drops complete interim
    /// (1xx) ones, and sets up the body of the final one.
    fn parse_head(&mut self) -> Result<(), HttpError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut head = httparse::Response::new(&mut headers);
            let data: &[u8] = self.buf.get(..self.filled).unwrap_or_default();
            let len = match head.parse(data) {
                Ok(httparse::Status::Partial) => return Ok(()),
                Ok(httparse::Status::Complete(len)) => len,
                Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
                Err(_) => return Err(HttpError::Malformed),
            };
            let status = head.code.unwrap_or(0);
            if !(100..=599).contains(&status) || status == 101 {
                return Err(HttpError::Malformed);
            }
            if status < 200 {
                // Interim: drop it and parse what follows (RFC 9110 §15.2).
                self.interim = self.interim.saturating_add(1);
                if self.interim > MAX_INTERIM {
                    return Err(HttpError::Malformed);
                }
                let rest = self.filled.saturating_sub(len);
                if !move_down(self.buf, len, 0, rest) {
                    return Err(HttpError::Malformed);
                }
                self.filled = rest;
                continue;
            }
            let minor = head.version.unwrap_or(0);
            let framing = framing(head.headers, status, minor, self.head_request)?;
            self.head_len = len;
            self.status = status;
            self.minor = minor;
            self.reason = Span::within(data, head.reason.unwrap_or_default().as_bytes());
            self.field_count = 0;
            for (slot, h) in self.fields.iter_mut().zip(head.headers.iter()) {
                *slot = Field {
                    name: Span::within(data, h.name.as_bytes()),
                    value: Span::within(data, h.value),
                };
                self.field_count = self.field_count.saturating_add(1);
            }
            let close = head
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case("connection"))
                .flat_map(|h| list_elements(h.value))
                .any(|t| t.eq_ignore_ascii_case(b"close"));
            self.keep_alive = minor == 1 && !close && framing != Framing::Close;
            let room = self.buf.len().saturating_sub(len);
            self.state = match framing {
                Framing::None => State::Done {
                    body_end: len,
                    rest: len,
                },
                Framing::Length(n) if n <= room => State::Length {
                    end: len.saturating_add(n),
                },
                Framing::Length(_) => return Err(HttpError::ResponseTooLarge),
                Framing::Chunked => State::Chunked {
                    raw: len,
                    out: len,
                    step: Chunk::SizeStart,
                    framing: 0,
                },
                Framing::Close => State::UntilClose,
            };
            return Ok(());
        }
    }

    /// Decodes the chunked bytes in `raw..filled`, moving data down to
    /// `out`; afterwards gives the room the framing took back to
    /// [`spare`](Self::spare).
    fn decode_chunked(
        &mut self,
        mut raw: usize,
        mut out: usize,
        mut step: Chunk,
        mut framing: usize,
    ) -> Result<State, HttpError> {
        let cap = self.buf.len();
        while raw < self.filled {
            if let Chunk::Data(left) = step {
                let avail = self.filled.saturating_sub(raw);
                let n = left.min(avail);
                if !move_down(self.buf, raw, out, n) {
                    return Err(HttpError::InvalidChunk);
                }
                raw = raw.saturating_add(n);
                out = out.saturating_add(n);
                step = match left.saturating_sub(n) {
                    0 => Chunk::DataCr,
                    left => Chunk::Data(left),
                };
                continue;
            }
            let Some(&b) = self.buf.get(raw) else {
                return Err(HttpError::InvalidChunk);
            };
            raw = raw.saturating_add(1);
            step = step.step(b)?;
            match step {
                Chunk::Finished => {
                    return Ok(State::Done {
                        body_end: out,
                        rest: raw,
                    });
                }
                Chunk::Data(left) => {
                    framing = 0;
                    let room = cap.saturating_sub(out);
                    if left > room {
                        return Err(HttpError::ResponseTooLarge);
                    }
                }
                _ => {
                    framing = framing.saturating_add(1);
                    if out.saturating_add(framing) > cap {
                        return Err(HttpError::ResponseTooLarge);
                    }
                }
            }
        }
        // Everything received is decoded: the next read lands right after
        // the decoded data.
        self.filled = out;
        Ok(State::Chunked {
            raw: out,
            out,
            step,
            framing,
        })
    }
}

/// RFC 9112 §6.3: how the body of a final response is delimited.
fn framing(
    headers: &[httparse::Header<'_>],
    status: u16,
    minor: u8,
    head_request: bool,
) -> Result<Framing, HttpError> {
    if head_request || status == 204 || status == 304 {
        return Ok(Framing::None);
    }
    let named = |name: &'static str| {
        headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
    };
    let has_te = named("transfer-encoding").next().is_some();
    let has_cl = named("content-length").next().is_some();
    if has_te && has_cl {
        return Err(HttpError::LengthAndChunked);
    }
    if has_te {
        let mut codings = named("transfer-encoding").flat_map(|h| list_elements(h.value));
        let only_chunked = codings
            .next()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"))
            && codings.next().is_none();
        return if minor == 1 && only_chunked {
            Ok(Framing::Chunked)
        } else {
            Err(HttpError::UnsupportedTransferCoding)
        };
    }
    if !has_cl {
        return Ok(Framing::Close);
    }
    let mut length = None;
    for h in named("content-length") {
        // A list of one repeated value is accepted (RFC 9110 §8.6).
        let mut elements = h.value.split(|&b| b == b',').map(<[u8]>::trim_ascii);
        elements.try_for_each(|e| {
            let n = parse_decimal(e)?;
            match length.replace(n) {
                Some(prev) if prev != n => Err(HttpError::InvalidContentLength),
                _ => Ok(()),
            }
        })?;
    }
    length
        .map(Framing::Length)
        .ok_or(HttpError::InvalidContentLength)
}

/// `1*DIGIT` as a `usize`, [`HttpError::InvalidContentLength`] when empty
/// or not digits. A value past `usize::MAX` saturates there: no buffer
/// holds that many bytes, so it ends as [`HttpError::ResponseTooLarge`],
/// which is what it is (RFC 9112 §6.3 rule 6 allows any length; counting
/// in `usize` rather than `u64` keeps a 32-bit MCU off 64-bit arithmetic).
/// Two different values past it both saturate and so compare equal: the
/// response is refused as too large either way.
fn parse_decimal(digits: &[u8]) -> Result<usize, HttpError> {
    if digits.is_empty() {
        return Err(HttpError::InvalidContentLength);
    }
    digits.iter().try_fold(0usize, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(HttpError::InvalidContentLength);
        }
        Ok(n.saturating_mul(10)
            .saturating_add(usize::from(b.wrapping_sub(b'0'))))
    })
}

/// A complete response, borrowed from the reader's buffer.
#[derive(Clone, Copy)]
pub struct Response<'r> {
    status: u16,
    minor: u8,
    reason: &'r str,
    head: &'r [u8],
    fields: &'r [Field],
    body: &'r [u8],
    keep_alive: bool,
}

impl fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the body or field values: they can carry tokens.
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("version", &format_args!("HTTP/1.{}", self.minor))
            .field("fields", &self.fields.len())
            .field("body_len", &self.body.len())
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

impl<'r> Response<'r> {
    /// The status code of the final response (200–599; interim responses
    /// were skipped).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase (empty when absent or not plain ASCII).
    pub fn reason(&self) -> &'r str {
        self.reason
    }

    /// The minor version: `1` for HTTP/1.1, `0` for HTTP/1.0.
    pub fn minor_version(&self) -> u8 {
        self.minor
    }

    /// The body, de-chunked; empty for `HEAD`, 204 and 304.
    pub fn body(&self) -> &'r [u8] {
        self.body
    }

    /// The value of the first field called `name` (case-insensitive),
    /// without surrounding whitespace.
    pub fn header(&self, name: &str) -> Option<&'r [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header field in order, as `(name, value)`.
    pub fn headers(&self) -> Headers<'r> {
        Headers {
            head: self.head,
            fields: self.fields.iter(),
        }
    }

    /// Whether the connection can carry another request: HTTP/1.1, no
    /// `close` in `Connection` (a case-insensitive token list), and a body
    /// not delimited by closing the connection. HTTP/1.0 responses are
    /// never kept alive.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }
}

/// The header fields of a [`Response`], in order.
#[derive(Clone)]
pub struct Headers<'r> {
    head: &'r [u8],
    fields: core::slice::Iter<'r, Field>,
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers")
            .field("remaining", &self.fields.len())
            .finish()
    }
}

impl<'r> Iterator for Headers<'r> {
    type Item = (&'r str, &'r [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.fields.next()?;
        let name = core::str::from_utf8(field.name.of(self.head)).unwrap_or_default();
        Some((name, field.value.of(self.head)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.fields.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// What a read came to, owned, for comparisons.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        status: u16,
        body: Vec<u8>,
        leftover: Vec<u8>,
        keep_alive: bool,
    }

    /// Feeds `input` in pieces of `step` bytes (at most what `spare`
    /// holds), then EOF if still partial.
    fn feed(input: &[u8], cap: usize, head: bool, step: usize) -> Result<Outcome, HttpError> {
        let mut buf = std::vec![0u8; cap];
        let mut r = if head {
            ResponseReader::for_head(&mut buf)
        } else {
            ResponseReader::new(&mut buf)
        };
        let mut rest = input;
        let mut status = ReadStatus::Partial;
        while !rest.is_empty() {
            let spare = r.spare();
            let n = step.min(rest.len()).min(spare.len());
            spare[..n].copy_from_slice(&rest[..n]);
            rest = &rest[n..];
            status = r.received(n)?;
        }
        if status == ReadStatus::Partial {
            assert_eq!(r.received(0)?, ReadStatus::Complete);
        }
        let resp = r.response().expect("complete");
        Ok(Outcome {
            status: resp.status(),
            body: resp.body().to_vec(),
            leftover: r.leftover().to_vec(),
            keep_alive: resp.keep_alive(),
        })
    }

    /// One shot and byte by byte must agree; returns the outcome.
    fn read(input: &[u8]) -> Result<Outcome, HttpError> {
        let cap = input.len() + 1;
        let once = feed(input, cap, false, usize::MAX);
        for step in [1, 2, 3, 7] {
            assert_eq!(feed(input, cap, false, step), once, "step {step}");
        }
        once
    }

    fn ok(
        status: u16,
        body: &[u8],
        leftover: &[u8],
        keep_alive: bool,
    ) -> Result<Outcome, HttpError> {
        Ok(Outcome {
            status,
            body: body.to_vec(),
            leftover: leftover.to_vec(),
            keep_alive,
        })
    }

    #[test]
    fn content_length() {
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"ping\":\"pong\"}"),
            ok(200, b"{\"ping\":\"pong\"}", b"", true)
        );
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200"),
            ok(200, b"hi", b"HTTP/1.1 200", true)
        );
        // Repeated identical values are one value (RFC 9110 §8.6).
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\ncontent-length:2\r\n\r\nhi"),
            ok(200, b"hi", b"", true)
        );
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            ok(200, b"", b"", true)
        );
    }

    /// RFC 9112 §7.1 has no worked example, so this message uses every
    /// production of its grammar: chunk extensions with and without values,
    /// BWS, a quoted-string value holding `;` and a quoted-pair, upper- and
    /// lower-case hex, a last-chunk of several zeros with an extension, and
    /// a trailer section (§7.1.2).
    #[test]
    fn chunked_rfc9112_7_1_grammar() {
        let msg = b"HTTP/1.1 200 OK\r\n\
            Transfer-Encoding: chunked\r\n\
            Trailer: Expires\r\n\
            \r\n\
            4\r\nWiki\r\n\
            5 ;name\r\npedia\r\n\
            E;a=b;q=\"in ;\\\"x\\\"\"\r\n in\r\n\r\nchunks.\r\n\
            0000;last=yes\r\n\
            Expires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\
            X-Sum: abc\r\n\
            \r\n";
        assert_eq!(
            read(msg),
            ok(200, b"Wikipedia in\r\n\r\nchunks.", b"", true)
        );
        let mut with_next = msg.to_vec();
        with_next.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(
            read(&with_next),
            ok(
                200,
                b"Wikipedia in\r\n\r\nchunks.",
                b"HTTP/1.1 204 No Content\r\n\r\n",
                true
            )
        );
        // Case-insensitive coding name, OWS and an empty list element.
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: , ChunKed \r\n\r\na\r\n0123456789\r\n0\r\n\r\n"),
            ok(200, b"0123456789", b"", true)
        );
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            ok(200, b"", b"", true)
        );
    }

    #[test]
    fn interim_responses_are_skipped() {
        let msg = b"HTTP/1.1 100 Continue\r\n\r\n\
            HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Final: yes\r\n\r\nabc";
        assert_eq!(read(msg), ok(200, b"abc", b"", true));
        let mut buf = [0u8; 256];
        let mut r = ResponseReader::new(&mut buf);
        r.spare()[..msg.len()].copy_from_slice(msg);
        assert_eq!(r.received(msg.len()), Ok(ReadStatus::Complete));
        let resp = r.response().unwrap();
        assert_eq!(resp.header("x-final"), Some(&b"yes"[..]));
        assert_eq!(
            resp.header("link"),
            None,
            "the interim head's fields are gone"
        );
        assert_eq!(resp.headers().count(), 2);
        // Interim heads do not keep their room: a buffer that holds just
        // the final response is enough when they come in their own reads.
        let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
        let last = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        let mut buf = [0u8; 41];
        assert_eq!(last.len(), 41);
        let mut r = ResponseReader::new(&mut buf);
        for piece in [&interim[..], interim, &last[..20], &last[20..]] {
            r.spare()[..piece.len()].copy_from_slice(piece);
            r.received(piece.len()).unwrap();
        }
        assert_eq!(r.response().unwrap().body(), b"abc");
    }

    #[test]
    fn interim_responses_are_bounded() {
        let mut msg = b"HTTP/1.1 102 Processing\r\n\r\n".repeat(MAX_INTERIM);
        msg.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(read(&msg), ok(204, b"", b"", true));
        let mut msg = b"HTTP/1.1 102 Processing\r\n\r\n".repeat(MAX_INTERIM + 1);
        msg.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
        assert_eq!(read(&msg), Err(HttpError::Malformed));
    }

    #[test]
    fn switching_protocols_is_refused() {
        assert_eq!(
            read(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"),
            Err(HttpError::Malformed)
        );
    }

    #[test]
    fn no_body_statuses_and_head() {
        // Rule 1: the fields do not matter, and what follows is leftover.
        assert_eq!(
            read(b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/"),
            ok(204, b"", b"HTTP/", true)
        );
        assert_eq!(
            read(b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n"),
            ok(304, b"", b"", true)
        );
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
        assert_eq!(feed(head, head.len() + 1, true, 5), ok(200, b"", b"", true));
        assert_eq!(
            feed(head, head.len() + 1, false, 5),
            Err(HttpError::ResponseTooLarge)
        );
    }

    #[test]
    fn close_delimited() {
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"),
            ok(200, b"until the end", b"", false)
        );
        assert_eq!(read(b"HTTP/1.0 200 OK\r\n\r\n"), ok(200, b"", b"", false));
    }

    #[test]
    fn keep_alive() {
        let cases: [(&[u8], bool); 5] = [
            (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
            (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, CLOSE\r\nContent-Length: 0\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n", true),
            (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", false),
            (b"HTTP/1.1 200 OK\r\nConnection: upgrade\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false),
        ];
        for (msg, want) in cases {
            assert_eq!(
                read(msg).unwrap().keep_alive,
                want,
                "{:?}",
                core::str::from_utf8(msg)
            );
        }
    }

    #[test]
    fn fields_reason_and_version() {
        let msg = b"HTTP/1.1 401 Unauthorized\r\n\
            WWW-Authenticate: Bearer realm=\"latch\", error=\"invalid_token\"\r\n\
            Content-Length: 0\r\n\
            X-Empty:\r\n\
            Cache-Control:  no-store \r\n\r\n";
        let mut buf = [0u8; 256];
        let mut r = ResponseReader::new(&mut buf);
        r.spare()[..msg.len()].copy_from_slice(msg);
        assert_eq!(r.received(msg.len()), Ok(ReadStatus::Complete));
        let resp = r.response().unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.reason(), "Unauthorized");
        assert_eq!(resp.minor_version(), 1);
        assert_eq!(
            resp.header("www-authenticate"),
            Some(&b"Bearer realm=\"latch\", error=\"invalid_token\""[..])
        );
        assert_eq!(resp.header("CACHE-CONTROL"), Some(&b"no-store"[..]));
        assert_eq!(resp.header("x-empty"), Some(&b""[..]));
        assert_eq!(resp.header("missing"), None);
        let names: Vec<&str> = resp.headers().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "WWW-Authenticate",
                "Content-Length",
                "X-Empty",
                "Cache-Control"
            ]
        );
        let shown = std::format!("{resp:?}");
        assert!(
            !shown.contains("invalid_token"),
            "Debug hides values: {shown}"
        );
    }

    #[test]
    fn malformed() {
        for msg in [
            &b"HTTP/2.0 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 099 Low\r\n\r\n",
            b"HTTP/1.1 600 High\r\n\r\n",
            b"ICY 200 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: v\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
            b"<html>",
        ] {
            assert_eq!(
                read(msg),
                Err(HttpError::Malformed),
                "{:?}",
                core::str::from_utf8(msg)
            );
        }
    }

    #[test]
    fn too_many_headers() {
        let mut msg = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            msg.extend_from_slice(std::format!("X-{i}: v\r\n").as_bytes());
        }
        let mut at_limit = msg.clone();
        at_limit.extend_from_slice(b"\r\n");
        assert_eq!(read(&at_limit), ok(200, b"", b"", false));
        msg.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        assert_eq!(read(&msg), Err(HttpError::TooManyHeaders));
    }

    #[test]
    fn response_too_large() {
        let msg = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        // Exactly large enough, one byte too small: known from the head.
        assert_eq!(feed(msg, msg.len(), false, 4), ok(200, b"hello", b"", true));
        assert_eq!(
            feed(msg, msg.len(), false, usize::MAX),
            ok(200, b"hello", b"", true)
        );
        assert_eq!(
            feed(msg, msg.len() - 1, false, 4),
            Err(HttpError::ResponseTooLarge)
        );
        // A close-delimited body needs one byte more, to see the EOF.
        let msg = b"HTTP/1.1 200 OK\r\n\r\nhello";
        assert_eq!(
            feed(msg, msg.len() + 1, false, 4),
            ok(200, b"hello", b"", false)
        );
        assert_eq!(
            feed(msg, msg.len(), false, 4),
            Err(HttpError::ResponseTooLarge)
        );
        // A head that does not fit.
        let msg = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            feed(msg, msg.len() - 1, false, 4),
            Err(HttpError::ResponseTooLarge)
        );
        // A declared length far beyond the buffer, on any platform.
        let msg = b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n";
        assert_eq!(
            feed(msg, 1024, false, 100),
            Err(HttpError::ResponseTooLarge)
        );
        // A chunk that cannot fit, known from its size line.
        let msg = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n";
        assert_eq!(
            feed(msg, 1024, false, 100),
            Err(HttpError::ResponseTooLarge)
        );
        // Framing alone (an endless extension) runs out of room too.
        let mut msg = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
        msg.extend(core::iter::repeat_n(b'x', 2000));
        assert_eq!(
            feed(&msg, 1024, false, 100),
            Err(HttpError::ResponseTooLarge)
        );
    }

    #[test]
    fn chunked_needs_room_for_the_decoded_body_only() {
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        let mut msg = head.to_vec();
        let mut body = Vec::new();
        for i in 0..40u8 {
            let data = [b'a' + i % 26; 10];
            msg.extend_from_slice(b"a;ext=some-extension-text\r\n");
            msg.extend_from_slice(&data);
            msg.extend_from_slice(b"\r\n");
            body.extend_from_slice(&data);
        }
        msg.extend_from_slice(b"0\r\nTrailer-Field: value\r\n\r\n");
        // Head + body + the largest piece of framing read at once.
        let cap = head.len() + body.len() + 64;
        assert!(cap < msg.len() / 2);
        assert_eq!(feed(&msg, cap, false, 64), ok(200, &body, b"", true));
        assert_eq!(
            feed(&msg, msg.len(), false, usize::MAX),
            ok(200, &body, b"", true)
        );
        // The body itself must fit.
        assert_eq!(
            feed(&msg, head.len() + body.len() - 1, false, 16),
            Err(HttpError::ResponseTooLarge)
        );
    }

    #[test]
    fn invalid_content_length() {
        for value in ["abc", "-1", "+5", "5 5", "", "5,", "0x10", "5, 6"] {
            let msg = std::format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
            assert_eq!(
                read(msg.as_bytes()),
                Err(HttpError::InvalidContentLength),
                "{value:?}"
            );
        }
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            Err(HttpError::InvalidContentLength)
        );
        // Valid, but longer than any buffer (and than usize, u64).
        for value in ["99999999999999999999", "18446744073709551616"] {
            let msg = std::format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
            assert_eq!(
                read(msg.as_bytes()),
                Err(HttpError::ResponseTooLarge),
                "{value:?}"
            );
        }
    }

    #[test]
    fn length_and_chunked() {
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Err(HttpError::LengthAndChunked)
        );
        assert_eq!(
            read(b"HTTP/1.1 200 OK\r\ntransfer-encoding: identity\r\ncontent-length: 0\r\n\r\n"),
            Err(HttpError::LengthAndChunked)
        );
    }

    #[test]
    fn unsupported_transfer_coding() {
        for te in [
            "gzip, chunked",
            "chunked, chunked",
            "chunked\r\nTransfer-Encoding: chunked",
            "identity",
            "chunked;q=1",
            "",
        ] {
            let msg = std::format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {te}\r\n\r\n0\r\n\r\n");
            assert_eq!(
                read(msg.as_bytes()),
                Err(HttpError::UnsupportedTransferCoding),
                "{te:?}"
            );
        }
        assert_eq!(
            read(b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
            Err(HttpError::UnsupportedTransferCoding)
        );
    }

    #[test]
    fn invalid_chunk() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        for body in [
            "zz\r\n",
            "3\r\nabcd\r\n0\r\n\r\n",
            "3\nabc\r\n0\r\n\r\n",
            "3\r\nabc\n0\r\n\r\n",
            "0\r\nbad trailer\r\n\r\n",
            "0\r\n\n",
        ] {
            let msg = std::format!("{head}{body}");
            assert_eq!(
                read(msg.as_bytes()),
                Err(HttpError::InvalidChunk),
                "{body:?}"
            );
        }
        // A size past usize::MAX (2^64 here) is valid syntax, but too large.
        let msg = std::format!("{head}10000000000000000\r\n");
        assert_eq!(read(msg.as_bytes()), Err(HttpError::ResponseTooLarge));
    }

    #[test]
    fn truncated() {
        for msg in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhell",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
        ] {
            assert_eq!(
                read(msg),
                Err(HttpError::Truncated),
                "{:?}",
                core::str::from_utf8(msg)
            );
        }
    }

    #[test]
    fn overrun_and_errors_are_final() {
        let mut buf = [0u8; 8];
        let mut r = ResponseReader::new(&mut buf);
        assert_eq!(r.received(9), Err(HttpError::Overrun));
        assert_eq!(r.received(0), Err(HttpError::Overrun));
        assert_eq!(r.received(1), Err(HttpError::Overrun));
        assert!(r.spare().is_empty());
        assert!(r.response().is_none());
        assert!(r.leftover().is_empty());

        let mut buf = [0u8; 64];
        let mut r = ResponseReader::new(&mut buf);
        r.spare()[..4].copy_from_slice(b"HTTP");
        assert_eq!(r.received(4), Ok(ReadStatus::Partial));
        assert_eq!(r.received(61), Err(HttpError::Overrun));
        assert_eq!(r.received(1), Err(HttpError::Overrun));
    }

    #[test]
    fn bytes_after_complete_are_leftover() {
        let mut buf = [0u8; 64];
        let mut r = ResponseReader::new(&mut buf);
        let msg = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
        r.spare()[..msg.len()].copy_from_slice(msg);
        assert_eq!(r.received(msg.len()), Ok(ReadStatus::Complete));
        assert!(r.leftover().is_empty());
        r.spare()[..3].copy_from_slice(b"abc");
        assert_eq!(r.received(3), Ok(ReadStatus::Complete));
        assert_eq!(r.leftover(), b"abc");
        assert_eq!(r.received(0), Ok(ReadStatus::Complete));
        assert_eq!(r.response().unwrap().body(), b"x");
    }

    #[test]
    fn next_response_reuses_the_buffer() {
        let two = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye\
            HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n";
        let mut buf = [0u8; 256];
        let mut r = ResponseReader::new(&mut buf);
        r.spare()[..two.len()].copy_from_slice(two);
        assert_eq!(r.received(two.len()), Ok(ReadStatus::Complete));
        assert_eq!(r.response().unwrap().body(), b"hi");
        assert_eq!(r.next_response(false), Ok(ReadStatus::Complete));
        assert_eq!(r.response().unwrap().body(), b"bye");
        assert_eq!(r.next_response(false), Ok(ReadStatus::Partial));
        r.spare()[..2].copy_from_slice(b"\r\n");
        assert_eq!(r.received(2), Ok(ReadStatus::Complete));
        assert_eq!(r.response().unwrap().status(), 404);
        // From a partial or failed reader: start empty.
        assert_eq!(r.next_response(true), Ok(ReadStatus::Partial));
        assert_eq!(r.spare().len(), 256);
        assert_eq!(r.received(257), Err(HttpError::Overrun));
        assert_eq!(r.next_response(false), Ok(ReadStatus::Partial));
        assert_eq!(r.spare().len(), 256);
    }

    #[test]
    fn debug_does_not_show_the_buffer() {
        let mut buf = *b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret";
        let len = buf.len();
        let mut r = ResponseReader::new(&mut buf);
        // The bytes are already in place: tell the reader about them.
        r.filled = 0;
        assert_eq!(r.received(len), Ok(ReadStatus::Complete));
        assert!(!std::format!("{r:?}").contains("secret"));
        assert!(!std::format!("{:?}", r.response().unwrap()).contains("secret"));
    }
}
