//! HTTP/1.1 exchanges over embassy-net TCP, with buffers owned by the
//! [`HttpClient`] and framing done by `latch_core::http`: one connection
//! per exchange (`Connection: close`), so the device holds no idle socket
//! and every answer ends cleanly. A response that arrives in pieces is fed
//! to the core's reader piece by piece; one that is chunked is de-chunked
//! in place; one larger than the response buffer, or malformed, is an
//! error value — never a panic, never a truncated body.

use crate::buffers::Buffers;
use crate::clock::Clock;
use embassy_net::tcp::TcpSocket;
use embassy_net::{IpEndpoint, Stack};
use embassy_time::Duration;
use embedded_io_async::{Error as _, Read, Write};
use latch_core::http::{HttpError, ReadStatus, Response, ResponseReader, parse_http_date};

/// How long a connection may stay silent.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(target_os = "none", derive(defmt::Format))]
pub enum NetError {
    /// The TCP connection could not be opened.
    Connect,
    /// The connection failed while sending or receiving (reset, timeout).
    Io,
    /// No request, or one longer than [`crate::buffers::REQUEST_BUF`].
    Request,
    /// The answer is not HTTP/1.1 the core accepts, or is larger than
    /// [`crate::buffers::RESPONSE_BUF`].
    Http(HttpError),
    /// The TLS handshake failed (why, in words).
    #[cfg(feature = "tls")]
    Tls(&'static str),
}

impl core::fmt::Display for NetError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            NetError::Connect => f.write_str("cannot connect to the server"),
            NetError::Io => f.write_str("connection failed"),
            NetError::Request => f.write_str("request does not fit its buffer"),
            NetError::Http(e) => write!(f, "bad HTTP answer: {e}"),
            #[cfg(feature = "tls")]
            NetError::Tls(why) => write!(f, "TLS handshake failed: {why}"),
        }
    }
}

impl From<HttpError> for NetError {
    fn from(e: HttpError) -> Self {
        NetError::Http(e)
    }
}

/// The client: the network stack, the server, and every buffer an exchange
/// uses, so the device's memory use is fixed at build time. The request
/// bytes are written whole by the caller (latch-device, through
/// `latch_core::http::ClientRequest`) into [`request_buf`](HttpClient::request_buf).
pub struct HttpClient<'a> {
    stack: Stack<'a>,
    server: IpEndpoint,
    /// The device's wall clock; set from the first `Date` header when the
    /// platform has no clock of its own.
    pub clock: Clock,
    bufs: &'a mut Buffers,
    /// TLS for every exchange, or plain TCP when `None`.
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsSettings<'a>>,
}

impl<'a> HttpClient<'a> {
    /// A client for `server`.
    pub fn new(stack: Stack<'a>, server: IpEndpoint, clock: Clock, bufs: &'a mut Buffers) -> Self {
        HttpClient {
            stack,
            server,
            clock,
            bufs,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Every exchange over TLS 1.3 with these settings.
    #[cfg(feature = "tls")]
    pub fn with_tls(mut self, settings: crate::tls::TlsSettings<'a>) -> Self {
        self.tls = Some(settings);
        self
    }

    /// Where the next request is written.
    pub fn request_buf(&mut self) -> &mut [u8] {
        &mut self.bufs.request
    }

    /// Sends the first `len` bytes of the request buffer on a new
    /// connection, reads the whole answer, and hands it to `handle` with the
    /// time it arrived.
    #[inline(never)]
    pub async fn send(
        &mut self,
        len: usize,
        random: &mut dyn FnMut(&mut [u8]),
        handle: &mut dyn FnMut(&Response<'_>, latch_core::UnixTime),
    ) -> Result<(), NetError> {
        #[cfg(not(feature = "tls"))]
        let _ = random;
        let HttpClient {
            stack,
            server,
            clock,
            bufs,
            #[cfg(feature = "tls")]
            tls,
        } = self;
        let Buffers {
            socket_rx,
            socket_tx,
            request,
            response,
            #[cfg(feature = "tls")]
            tls_read,
            #[cfg(feature = "tls")]
            tls_write,
        } = &mut **bufs;
        let head = request.get(..len).ok_or(NetError::Request)?;

        let mut socket = TcpSocket::new(*stack, socket_rx, socket_tx);
        socket.set_timeout(Some(TIMEOUT));
        socket
            .connect(*server)
            .await
            .map_err(|_| NetError::Connect)?;
        let mut reader = ResponseReader::new(response);
        #[cfg(feature = "tls")]
        let result = match tls {
            Some(settings) => {
                if clock.is_set() {
                    crate::tls::set_time(clock.now().as_secs());
                }
                let mut conn = embedded_tls::TlsConnection::new(&mut socket, tls_read, tls_write);
                match crate::tls::open(&mut conn, settings, random).await {
                    Ok(()) => {
                        let r = exchange(&mut conn, head, &mut reader).await;
                        let _ = conn.close().await;
                        r
                    }
                    Err(e) => Err(NetError::Tls(crate::tls::describe(&e))),
                }
            }
            None => exchange(&mut socket, head, &mut reader).await,
        };
        #[cfg(not(feature = "tls"))]
        let result = exchange(&mut socket, head, &mut reader).await;
        match result {
            Ok(()) => {
                socket.close();
                let _ = socket.flush().await;
            }
            Err(e) => {
                socket.abort();
                return Err(e);
            }
        }

        let resp = reader
            .response()
            .ok_or(NetError::Http(HttpError::Truncated))?;
        if !clock.is_set() {
            match resp.header("date").and_then(parse_http_date) {
                Some(t) => *clock = Clock::set(t.as_secs()),
                None => warn!("server sent no usable Date header; clock not set"),
            }
        }
        handle(&resp, clock.now());
        Ok(())
    }
}

/// Writes `head` on `conn` and reads the answer into `reader` until it is
/// complete. The end of the stream (a TCP FIN, a TLS close_notify) is a
/// read of 0 bytes, which the reader needs for a close-delimited body.
async fn exchange<C: Read + Write>(
    conn: &mut C,
    head: &[u8],
    reader: &mut ResponseReader<'_>,
) -> Result<(), NetError> {
    conn.write_all(head).await.map_err(|_| NetError::Io)?;
    conn.flush().await.map_err(|_| NetError::Io)?;
    loop {
        let spare = reader.spare();
        if spare.is_empty() {
            return Err(NetError::Http(HttpError::ResponseTooLarge));
        }
        let n = match conn.read(spare).await {
            Ok(n) => n,
            Err(e) if e.kind() == embedded_io_async::ErrorKind::ConnectionReset => 0,
            Err(_) => return Err(NetError::Io),
        };
        // At the end of the stream the reader answers Complete or
        // Truncated, never Partial, so this loop ends.
        if reader.received(n)? == ReadStatus::Complete {
            return Ok(());
        }
    }
}
