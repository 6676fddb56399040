//! The transport's memory, fixed at build time and the same with or
//! without the OAuth parts, so the size report's baseline differs from
//! the full firmware only by what OAuth costs.

/// TCP socket buffer, each way.
pub const SOCKET_BUF: usize = 1024;
/// One request (head and body).
pub const REQUEST_BUF: usize = 1024;
/// One response (head and body).
pub const RESPONSE_BUF: usize = 2048;

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
}

impl Buffers {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        Buffers {
            socket_rx: [0; SOCKET_BUF],
            socket_tx: [0; SOCKET_BUF],
            request: [0; REQUEST_BUF],
            response: [0; RESPONSE_BUF],
        }
    }
}
