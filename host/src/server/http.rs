//! Plumbing shared by the endpoints: clock, randomness, the request URL an
//! OAuth1 client signed, form bodies, and error responses.

use super::state::AppState;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use latch_core::UnixTime;
use latch_core::oauth1::Problem;

/// The current time.
pub fn now() -> UnixTime {
    UnixTime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

/// `N` bytes from the OS RNG. A failing OS RNG is unrecoverable for an
/// authorization server: the process stops rather than mint weak tokens.
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if getrandom::fill(&mut b).is_err() {
        tracing::error!("OS random number generator failed; stopping");
        std::process::abort();
    }
    b
}

/// The absolute URL the client addressed: the issuer's scheme, the `Host`
/// header (else the issuer's authority), and the request target — what an
/// OAuth1 client put in its base string (RFC 5849 §3.4.1.2).
pub fn request_url(state: &AppState, headers: &HeaderMap, uri: &Uri) -> String {
    let (scheme, issuer_authority) = state
        .issuer
        .split_once("://")
        .unwrap_or(("http", &state.issuer));
    let issuer_authority = issuer_authority
        .split('/')
        .next()
        .unwrap_or(issuer_authority);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or(issuer_authority);
    let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
    format!("{scheme}://{host}{target}")
}

/// Whether the request declares an `application/x-www-form-urlencoded`
/// body (parameters such as `charset` allowed).
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| {
            t.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The body as signed form parameters: only a form body is signed
/// (§3.4.1.3.1).
pub fn signed_form<'b>(headers: &HeaderMap, body: &'b Bytes) -> Option<&'b [u8]> {
    (is_form(headers) && !body.is_empty()).then_some(body.as_ref())
}

/// An OAuth1 error: RFC 5849 §3.2's status, the problem as a form body
/// (`oauth_problem=…`), and a `WWW-Authenticate: OAuth` challenge on 401.
pub fn oauth1_error(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut body = format!("oauth_problem={}", problem.as_str());
    if let Some(p) = problem.parameter() {
        let key = match problem {
            Problem::ParameterAbsent { .. } => "oauth_parameters_absent",
            _ => "oauth_parameters_rejected",
        };
        let mut enc = vec![0u8; 3 * p.len()];
        let n = latch_core::percent::encode_to_slice(p.as_bytes(), &mut enc).unwrap_or(0);
        body.push_str(&format!("&{key}={}", String::from_utf8_lossy(&enc[..n])));
    }
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("OAuth realm=\"latch\""),
        );
    }
    resp
}

/// A form-encoded 200 answer (OAuth1 credentials).
pub fn form_response(body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// An HTML page with a status.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, Html(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(
        header::HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    resp
}

/// A 302 to `location`, not cached.
pub fn redirect_to(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A storage failure: logged, answered 500 with no detail.
pub fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "internal error");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

/// Writes a core response into a fresh `Vec`, growing it to the size the
/// core reports when the first guess is too small.
pub fn render(write: impl Fn(&mut latch_core::SliceWriter<'_>)) -> Vec<u8> {
    match try_render(|w| {
        write(w);
        Ok::<(), std::convert::Infallible>(())
    }) {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// [`render`] for writers that can fail; `write` must be deterministic
/// (it runs again when the buffer grows).
pub fn try_render<E>(
    write: impl Fn(&mut latch_core::SliceWriter<'_>) -> Result<(), E>,
) -> Result<Vec<u8>, E> {
    let mut buf = vec![0u8; 512];
    loop {
        let mut w = latch_core::SliceWriter::new(&mut buf);
        write(&mut w)?;
        match w.finish() {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(e) => buf.resize(e.required, 0),
        }
    }
}

/// A nonce store that remembers what the core asked to record, so the shell
/// can write it to the database in the same transaction as the rest.
#[derive(Debug, Default)]
pub struct DeferredNonce(Option<(latch_core::oauth1::NonceKey, UnixTime)>);

impl latch_core::oauth1::NonceStore for DeferredNonce {
    fn check_and_record(
        &mut self,
        key: &latch_core::oauth1::NonceKey,
        forget_after: UnixTime,
        _now: UnixTime,
    ) -> Result<(), latch_core::oauth1::NonceError> {
        self.0 = Some((*key, forget_after));
        Ok(())
    }
}

impl DeferredNonce {
    /// The row to insert: hex key and expiry.
    pub fn row(&self) -> Option<(String, i64)> {
        self.0.map(|(k, t)| {
            (
                hex::encode(k.0),
                i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            )
        })
    }
}

/// A `Text` decoded into an owned string (capped at 4 KiB).
pub fn text(t: &latch_core::Text<'_>) -> Option<String> {
    t.to_heapless::<4096>().ok().map(|s| s.as_str().to_owned())
}
