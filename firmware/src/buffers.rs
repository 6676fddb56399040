//! The transport's memory, fixed at build time and the same with or
//! without the OAuth parts, so the size report's baseline differs from
//! the full firmware only by what OAuth costs; the TLS record buffers
//! come with the `tls` feature and are counted in what TLS costs.

/// TCP socket buffer, each way.
pub const SOCKET_BUF: usize = 1024;
/// One request (head and body).
#[cfg(not(feature = "large-tokens"))]
pub const REQUEST_BUF: usize = 1024;
/// One response (head and body).
#[cfg(not(feature = "large-tokens"))]
pub const RESPONSE_BUF: usize = 2048;
/// One request (head and body), feature `large-tokens`: a bearer header
/// or a refresh body carrying a 2 KiB token.
#[cfg(feature = "large-tokens")]
pub const REQUEST_BUF: usize = 4096;
/// One response (head and body), feature `large-tokens`: a token answer
/// with a JWT access token, refresh token and ID token, or the metadata
/// of a provider that lists many algorithms and features.
#[cfg(feature = "large-tokens")]
pub const RESPONSE_BUF: usize = 8192;

/// Every buffer one HTTP exchange uses.
pub struct Buffers {
    /// TCP receive buffer.
    pub socket_rx: [u8; SOCKET_BUF],
    /// TCP send buffer.
    pub socket_tx: [u8; SOCKET_BUF],
    /// The request being sent.
    pub request: [u8; REQUEST_BUF],
    /// The response being received.
    pub response: [u8; RESPONSE_BUF],
    /// TLS records received (see `tls.rs`).
    #[cfg(feature = "tls")]
    pub tls_read: [u8; crate::tls::RECORD_READ],
    /// TLS records sent.
    #[cfg(feature = "tls")]
    pub tls_write: [u8; crate::tls::RECORD_WRITE],
}

impl Buffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            socket_rx: [0; SOCKET_BUF],
            socket_tx: [0; SOCKET_BUF],
            request: [0; REQUEST_BUF],
            response: [0; RESPONSE_BUF],
            #[cfg(feature = "tls")]
            tls_read: [0; crate::tls::RECORD_READ],
            #[cfg(feature = "tls")]
            tls_write: [0; crate::tls::RECORD_WRITE],
        }
    }
}
