//! Proves the hot paths make zero heap allocations: a counting global
//! allocator, armed only on this thread while the closure runs.

// A global allocator cannot be written without `unsafe`; the crate itself
// forbids it.
#![allow(unsafe_code)]

use latch_core::UnixTime;
use latch_core::oauth1::{
    Endpoint, MemoryNonceStore, Policy, ProtocolParams, Request, RequestParts, Secrets,
    SignatureMethod, SignedRequest,
};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

const URL: &str = "https://api.example.com/1.1/statuses/home_timeline.json?count=20&since_id=12345&include_entities=true&trim_user=false";

#[test]
fn counter_sees_allocations() {
    // The instrument works: a Vec allocates.
    let (_, n) = allocations(|| std::hint::black_box(vec![1u8; 64]));
    assert!(n >= 1);
}

#[test]
fn sign_and_verify_allocate_nothing() {
    let oauth = ProtocolParams {
        token: Some("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        timestamp: Some(1_318_622_958),
        nonce: Some("kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ..ProtocolParams::new("xvz1evFS4wEEPTGEFPHBog", SignatureMethod::HmacSha1)
    };
    let secrets = Secrets::new(
        "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
        "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
    );
    let mut out = [0u8; 1024];
    let mut header_len = 0;

    let (signed, n) = allocations(|| {
        let mut req = Request::<16>::new("GET", URL)?;
        header_len = req.sign_to_slice(&oauth, &secrets, &mut out)?;
        Ok::<_, latch_core::oauth1::SignError>(())
    });
    signed.unwrap();
    assert_eq!(n, 0, "signing allocated {n} times");

    let header = std::str::from_utf8(&out[..header_len]).unwrap().to_owned();
    let mut nonces = MemoryNonceStore::<64>::new();
    let (verified, n) = allocations(|| {
        let parts = RequestParts {
            method: "GET",
            url: URL,
            authorization: Some(&header),
            form_body: None,
        };
        let req =
            SignedRequest::<16>::parse(parts, Endpoint::ProtectedResource, Policy::default())?;
        req.verify(&secrets, UnixTime(1_318_622_960), &mut nonces)
    });
    assert_eq!(verified, Ok(()));
    assert_eq!(n, 0, "verifying allocated {n} times");
}

#[test]
fn http_request_and_chunked_response_allocate_nothing() {
    use latch_core::http::{ReadStatus, RequestWriter, ResponseReader};
    use latch_core::{Sink, SliceWriter};

    let mut out = [0u8; 256];
    let (written, n) = allocations(|| {
        let mut w = SliceWriter::new(&mut out);
        let mut req = RequestWriter::new(&mut w, "POST", "/token", "latch.test:8080")?;
        req.header("Content-Type", "application/x-www-form-urlencoded")?;
        req.header_with("Authorization", |s| s.put(b"Basic YWJjOmRlZg=="))?;
        req.finish(b"grant_type=client_credentials");
        Ok::<_, latch_core::http::HttpError>(w.finish())
    });
    assert!(written.unwrap().is_ok());
    assert_eq!(n, 0, "writing a request allocated {n} times");

    let wire: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n\
        HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
        7;ext=1\r\n{\"ping\"\r\n8\r\n:\"pong\"}\r\n0\r\nX-Trailer: t\r\n\r\n";
    let mut buf = [0u8; 192];
    let ((status, body_ok), n) = allocations(|| {
        let mut reader = ResponseReader::new(&mut buf);
        let mut status = Ok(ReadStatus::Partial);
        for piece in wire.chunks(5) {
            reader.spare()[..piece.len()].copy_from_slice(piece);
            status = reader.received(piece.len());
        }
        let body_ok = reader.response().is_some_and(|r| {
            r.body() == br#"{"ping":"pong"}"# && r.header("content-type").is_some()
        });
        (status, body_ok)
    });
    assert_eq!(status, Ok(ReadStatus::Complete));
    assert!(body_ok);
    assert_eq!(n, 0, "reading a chunked response allocated {n} times");
}
