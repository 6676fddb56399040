//! The size baseline: the same stack and buffers as the full firmware, one
//! fixed `GET` over TCP, the answer read to the end, no OAuth and no
//! latch-core. The size report subtracts this from the full build.

use crate::buffers::Buffers;
use crate::config::Config;
use embassy_net::Stack;
use embassy_net::tcp::TcpSocket;
use embedded_io_async::Write as _;

/// Sends `GET /api/ping` and reads until the server closes; the byte count.
pub async fn run(stack: Stack<'static>, cfg: &Config<'_>, bufs: &mut Buffers) -> Result<usize, ()> {
    let Buffers {
        socket_rx,
        socket_tx,
        request,
        response,
    } = bufs;
    let mut len = 0;
    for part in [
        "GET /api/ping HTTP/1.1\r\nHost: ",
        cfg.host,
        "\r\nConnection: close\r\n\r\n",
    ] {
        let end = len + part.len();
        request
            .get_mut(len..end)
            .ok_or(())?
            .copy_from_slice(part.as_bytes());
        len = end;
    }
    let mut socket = TcpSocket::new(stack, socket_rx, socket_tx);
    socket.connect(cfg.server).await.map_err(|_| ())?;
    socket
        .write_all(request.get(..len).ok_or(())?)
        .await
        .map_err(|_| ())?;
    let mut total = 0;
    loop {
        match socket.read(response).await {
            Ok(0) => return Ok(total),
            Ok(n) => total += n,
            Err(_) => return Err(()),
        }
    }
}
