//! The accept loop: TCP, then TLS when configured, then HTTP/1.1 or
//! HTTP/2 (hyper-util's `auto` builder; over TLS the protocol is the one
//! ALPN chose, RFC 7301) into the axum router.
//!
//! Why not `axum::serve`: it serves plain TCP only. This loop adds TLS
//! (tokio-rustls), a handshake deadline, an answer for plain HTTP sent to
//! the TLS port, and graceful shutdown over both (hyper-util's
//! `GracefulShutdown`: stop accepting, let in-flight requests finish).
//!
//! * A client on the TLS port whose first byte is not a TLS handshake
//!   record (`0x16`, RFC 8446 §5.1) gets `400` with an RFC 6749-style JSON
//!   body and the connection is closed, so a mistyped `http://` fails fast.
//! * A connection that neither sends a first byte nor completes the
//!   handshake within [`HANDSHAKE_TIMEOUT`] is closed.
//! * Slow and idle clients ([`ConnLimits`], `[limits]` in the config): a
//!   request head must arrive within `header_read_timeout` (hyper's timer;
//!   for HTTP/1.1 it also starts while a kept-alive connection waits for
//!   its next request, so it bounds HTTP/1.1 idle time too); a connection
//!   that moves no byte for `idle_timeout` is shut down gracefully (an
//!   answer in progress still finishes); at most `max_connections` are
//!   served at once — further clients wait in the kernel's accept queue.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Connection limits (defaults: 10 s for a request head, 60 s idle, 4096
/// connections).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// The most a client may take to send a request head.
    pub header_read_timeout: Duration,
    /// A connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
        }
    }
}

/// An I/O stream that notes when it last moved a byte.
struct Tracked<T> {
    inner: T,
    epoch: Instant,
    last: Arc<AtomicU64>,
}

impl<T> Tracked<T> {
    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The most a client may take to start and finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The router with the connection's peer address as an extension.
type Service = axum::middleware::AddExtension<Router, ConnectInfo<std::net::SocketAddr>>;

/// How long shutdown waits for in-flight requests before giving up.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What plain HTTP on the TLS port is told.
const PLAIN_ON_TLS: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
Content-Type: application/json\r\n\
Cache-Control: no-store\r\n\
Connection: close\r\n\
Content-Length: 88\r\n\
\r\n\
{\"error\":\"invalid_request\",\"error_description\":\"this port speaks https, not plain http\"}";

/// Serves `app` on `listener` (over TLS when `tls` is given) until
/// `shutdown` completes, then waits for open requests to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let builder = Arc::new(builder);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    // Dropping `stop_tx` tells every connection to finish; each holds a
    // `done_rx` clone until it ends, so `done_tx.closed()` waits for all.
    let (stop_tx, stop_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // Handlers learn the peer through axum's `ConnectInfo` (the limits
        // key on the client address).
        let service = TowerToHyperService::new(tower_layer::Layer::layer(
            &axum::Extension(ConnectInfo(peer)),
            app.clone(),
        ));
        let builder = builder.clone();
        let acceptor = acceptor.clone();
        let (stop_rx, done_rx) = (stop_rx.clone(), done_rx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _done = done_rx;
            match acceptor {
                None => drive(&builder, stream, service, limits, stop_rx).await,
                Some(acceptor) => {
                    if let Some(tls) = handshake(&acceptor, stream).await {
                        drive(&builder, tls, service, limits, stop_rx).await;
                    }
                }
            }
        });
    }
    drop(listener);
    drop(stop_rx);
    drop(done_rx);
    drop(stop_tx);
    if tokio::time::timeout(DRAIN_TIMEOUT, done_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("shutdown: some connections did not finish in time");
    }
}

/// Serves one connection until it ends: shut down gracefully when the
/// server stops or the connection has been idle for `idle_timeout`.
async fn drive<I>(
    builder: &Builder<TokioExecutor>,
    io: I,
    service: TowerToHyperService<Service>,
    limits: ConnLimits,
    mut stop: watch::Receiver<()>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let epoch = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = Tracked {
        inner: io,
        epoch,
        last: last.clone(),
    };
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut closing = false;
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    loop {
        let since = last.load(Ordering::Relaxed);
        let deadline = epoch + Duration::from_millis(since.saturating_add(idle_ms));
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = stop.changed(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(deadline.into()), if !closing => {
                if last.load(Ordering::Relaxed) == since {
                    closing = true;
                    conn.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Checks that the client speaks TLS at all, then completes the handshake
/// within [`HANDSHAKE_TIMEOUT`].
async fn handshake(
    acceptor: &TlsAcceptor,
    mut stream: TcpStream,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let work = async {
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await {
            Ok(1) if first[0] == 0x16 => {}
            Ok(1) => {
                let _ = stream.write_all(PLAIN_ON_TLS).await;
                let _ = stream.shutdown().await;
                return None;
            }
            _ => return None,
        }
        match acceptor.accept(stream).await {
            Ok(tls) => Some(tls),
            Err(e) => {
                tracing::debug!(error = %e, "TLS handshake failed");
                None
            }
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, work)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::PLAIN_ON_TLS;

    #[test]
    fn the_plain_http_answer_is_well_framed() {
        let text = std::str::from_utf8(PLAIN_ON_TLS).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body.len());
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"], "invalid_request");
    }
}
