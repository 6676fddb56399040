//! HTTP rules every route shares, applied once around the router:
//!
//! * `Host` (RFC 9112 §3.2): an HTTP/1.1 request without one, or any
//!   request with more than one, is 400.
//! * `Content-Length` over [`super::BODY_LIMIT`] (RFC 9110 §15.5.14): 413 at
//!   once, before any of the body is read, on every route and method; the
//!   connection is closed rather than drained.
//! * Headers on every answer: `X-Content-Type-Options: nosniff`,
//!   `Referrer-Policy: no-referrer` (codes and tokens in URLs must not leak
//!   through `Referer`), and on HTML pages a `Content-Security-Policy` that
//!   allows nothing but the pages' own stylesheet (by hash) and forbids
//!   framing. No `form-action`: Chromium applies it to the redirect that
//!   follows the consent POST, which goes to the client's redirect URI.
//! * A redirect answering a POST is `303 See Other` (RFC 9700 §4.12), so
//!   the browser does not re-send the credentials it just posted.

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

fn refuse(status: StatusCode, description: &str) -> Response {
    let mut r = (
        status,
        axum::Json(
            serde_json::json!({"error": "invalid_request", "error_description": description}),
        ),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// What is wrong with the request's framing, if anything.
fn framing_problem(req: &Request) -> Option<Response> {
    let hosts = req.headers().get_all(header::HOST).iter().count();
    if hosts > 1 || (hosts == 0 && req.version() == Version::HTTP_11) {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            "an HTTP/1.1 request needs exactly one Host header",
        ));
    }
    let mut lengths = req.headers().get_all(header::CONTENT_LENGTH).iter();
    if let Some(v) = lengths.next() {
        let n = v.to_str().ok().and_then(|s| s.trim().parse::<u64>().ok());
        match n {
            None => {
                return Some(refuse(StatusCode::BAD_REQUEST, "malformed Content-Length"));
            }
            Some(n) if n > super::BODY_LIMIT as u64 => {
                let mut r = refuse(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                return Some(r);
            }
            Some(_) => {}
        }
    }
    None
}

/// The pages' Content-Security-Policy, with the stylesheet's hash.
fn page_csp() -> &'static HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| {
        let hash = Base64::encode_string(&Sha256::digest(super::pages::STYLE.as_bytes()));
        let policy = format!(
            "default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; base-uri 'none'"
        );
        HeaderValue::from_str(&policy)
            .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
    })
}

/// The middleware: framing checks, then the shared response headers.
pub async fn strict_http(req: Request, next: Next) -> Response {
    let post = req.method() == Method::POST;
    let mut resp = match framing_problem(&req) {
        Some(r) => r,
        None => next.run(req).await,
    };
    if post && resp.status() == StatusCode::FOUND {
        *resp.status_mut() = StatusCode::SEE_OTHER;
    }
    let html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if html {
        h.insert(header::CONTENT_SECURITY_POLICY, page_csp().clone());
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_names_the_stylesheet_hash_and_forbids_framing() {
        let csp = page_csp().to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"));
        assert!(csp.contains("frame-ancestors 'none'"));
        let hash = Base64::encode_string(&Sha256::digest(super::super::pages::STYLE.as_bytes()));
        assert!(csp.contains(&format!("style-src 'sha256-{hash}'")));
        assert!(!csp.contains("form-action"));
    }
}
