//! Bad HTTP input of every kind gets a 4xx with an error body — never a
//! 5xx, a crash or a hang (DESIGN.md, HTTP contract).

use latch_tests::Server;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes and returns the status code and the whole response.
async fn raw(server: &Server, request: &[u8]) -> (u16, String) {
    let addr = server.base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .expect("the server answers instead of hanging")
        .ok();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

fn req(method: &str, path: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut v = r.into_bytes();
    v.extend_from_slice(body);
    v
}

fn assert_4xx_with_body(status: u16, text: &str, what: &str) {
    assert!(
        (400..500).contains(&status),
        "{what}: status {status}\n{text}"
    );
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    assert!(!body.is_empty(), "{what}: an error body is sent");
    assert!(
        body.contains("\"error\"") || body.contains("oauth_problem=") || body.contains("<html"),
        "{what}: an RFC error body (JSON, oauth_problem or a page)\n{body}"
    );
}

#[tokio::test]
async fn hostile_requests_get_4xx_with_error_bodies() {
    let server = Server::start().await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "oversized body",
            req(
                "POST",
                "/oauth1/request_token",
                &["Content-Type: application/x-www-form-urlencoded"],
                &vec![b'a'; 100_000],
            ),
        ),
        ("unknown path", req("GET", "/nope", &[], b"")),
        ("wrong method", req("DELETE", "/api/ping", &[], b"")),
        ("non-UTF-8 Authorization", {
            let mut v = b"GET /api/ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: OAuth \xff\xfe\r\n\r\n".to_vec();
            v.truncate(v.len());
            v
        }),
        (
            "bad percent-encoding in header",
            req(
                "GET",
                "/api/ping",
                &["Authorization: OAuth oauth_consumer_key=\"%zz\""],
                b"",
            ),
        ),
        (
            "duplicate protocol parameter",
            req(
                "POST",
                "/oauth1/request_token",
                &["Authorization: OAuth oauth_consumer_key=\"a\", oauth_consumer_key=\"b\""],
                b"",
            ),
        ),
        (
            "protocol parameters in two places",
            req(
                "POST",
                "/oauth1/request_token?oauth_nonce=1",
                &["Authorization: OAuth oauth_consumer_key=\"a\""],
                b"",
            ),
        ),
        (
            "bad form body",
            req(
                "POST",
                "/oauth1/request_token",
                &["Content-Type: application/x-www-form-urlencoded"],
                b"a=%zz",
            ),
        ),
        (
            "non-UTF-8 form body",
            req(
                "POST",
                "/oauth1/request_token",
                &["Content-Type: application/x-www-form-urlencoded"],
                b"a=%ff",
            ),
        ),
        (
            "duplicate query parameter",
            req(
                "GET",
                "/oauth1/authorize?oauth_token=a&oauth_token=b",
                &[],
                b"",
            ),
        ),
        (
            "malformed query",
            req("GET", "/oauth1/authorize?oauth_token=%zz", &[], b""),
        ),
        (
            "wrong content type",
            req(
                "POST",
                "/oauth1/authorize",
                &["Content-Type: application/json"],
                b"{}",
            ),
        ),
        (
            "form without CSRF",
            req(
                "POST",
                "/oauth1/authorize",
                &["Content-Type: application/x-www-form-urlencoded"],
                b"oauth_token=x&decision=approve",
            ),
        ),
        (
            "garbage bearer",
            req("GET", "/api/info", &["Authorization: Bearer"], b""),
        ),
        (
            "unknown scheme",
            req("GET", "/api/info", &["Authorization: Digest x"], b""),
        ),
    ];
    for (what, request) in cases {
        let (status, text) = raw(&server, &request).await;
        assert_4xx_with_body(status, &text, what);
    }
}

#[tokio::test]
async fn broken_connections_do_not_hurt_the_server() {
    let server = Server::start().await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    // Headers never finished, then closed.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /api/ping HTTP/1.1\r\nHost: x\r\nX-Half: ")
        .await
        .unwrap();
    drop(s);
    // Body shorter than announced, then closed.
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        b"POST /oauth1/request_token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
    )
    .await
    .unwrap();
    drop(s);
    // Not HTTP at all.
    let (status, _) = raw(
        &server,
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n",
    )
    .await;
    assert!(status == 0 || (400..500).contains(&status), "{status}");
    // Far too many headers.
    let many: Vec<String> = (0..2000).map(|i| format!("X-H{i}: v")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, _) = raw(&server, &req("GET", "/api/ping", &refs, b"")).await;
    assert!((400..500).contains(&status), "too many headers: {status}");
    // Still serving.
    let (status, _) = raw(&server, &req("GET", "/api/ping", &[], b"")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn sigterm_finishes_and_exits_zero() {
    let mut server = Server::start().await;
    // An in-flight request completes; then the process exits 0.
    let (status, _) = raw(&server, &req("GET", "/api/ping", &[], b"")).await;
    assert_eq!(status, 401);
    let exit = server.terminate().await;
    assert!(exit.success(), "exit status {exit:?}");
}
