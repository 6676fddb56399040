//! A whole client request as a value: method, URL, the `Authorization` a
//! flow needs and the form body. The client flows produce these
//! ([`DeviceFlow::request`](crate::oauth2::client::DeviceFlow::request),
//! [`DevicePending::poll_request`](crate::oauth2::client::DevicePending::poll_request),
//! [`TokenSet::refresh_request`](crate::oauth2::client::TokenSet::refresh_request),
//! [`TokenSet::bearer_request`](crate::oauth2::client::TokenSet::bearer_request),
//! [`Discovery::request`](crate::oauth2::client::Discovery::request)), and
//! [`ClientRequest::write`] turns one into HTTP/1.1 bytes (RFC 9112) through
//! [`RequestWriter`], so a caller only moves bytes between a buffer and a
//! socket.
//!
//! The head always carries `Host` (RFC 9112 §3.2, from the URL's authority),
//! `Accept: application/json` (every answer the flows read is JSON) and
//! `Connection: close` (one exchange per connection: the client never
//! holds an idle socket, and a close-delimited answer ends cleanly).
//! `Authorization` is `Basic` for a confidential client (RFC 6749 §2.3.1),
//! `Bearer` (RFC 6750 §2.1) or an OAuth 1.0a header a core writer produced
//! (RFC 5849 §3.5.1); a form body gets
//! `Content-Type: application/x-www-form-urlencoded`.

use super::{HttpError, RequestWriter};
use crate::Sink;
use crate::buf::{BufferTooSmall, SliceWriter};
use crate::oauth2::bearer::is_b64token;
use crate::oauth2::client::ClientIdentity;
use crate::url::Url;
use core::fmt;

/// The methods the client flows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// The `Authorization` header field of a request.
#[derive(Clone, Copy)]
pub enum Authorization<'a> {
    /// None.
    None,
    /// `Basic` with the client's id and secret; none for a public client
    /// (it sends `client_id` in the body instead).
    Client(ClientIdentity<'a>),
    /// `Bearer` with this access token; refused unless it is RFC 6750
    /// §2.1 `b64token` text.
    Bearer(&'a str),
    /// A complete value written by a core writer, such as
    /// [`oauth1::Request::sign_to_slice`](crate::oauth1::Request::sign_to_slice);
    /// refused if it holds a control byte.
    Value(&'a [u8]),
}

impl fmt::Debug for Authorization<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The credentials themselves are never printed.
        f.write_str(match self {
            Authorization::None => "None",
            Authorization::Client(_) => "Client(..)",
            Authorization::Bearer(_) => "Bearer(..)",
            Authorization::Value(_) => "Value(..)",
        })
    }
}

/// One request, ready to be written.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    /// `GET` or `POST`.
    pub method: Method,
    /// Where it goes: `Host` is the URL's host and port, the target its path
    /// and query.
    pub url: Url<'a>,
    /// The `Authorization` field.
    pub authorization: Authorization<'a>,
    /// A form body (`application/x-www-form-urlencoded`), if any.
    pub form: Option<&'a [u8]>,
}

/// Why [`ClientRequest::write_to`] wrote nothing usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RequestError {
    /// A value the writer refuses (see [`HttpError::InvalidRequest`]).
    Invalid,
    /// The request does not fit the buffer.
    BufferTooSmall,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequestError::Invalid => "request refused: a value in it is not valid HTTP",
            RequestError::BufferTooSmall => "request does not fit its buffer",
        })
    }
}

impl From<HttpError> for RequestError {
    fn from(_: HttpError) -> Self {
        RequestError::Invalid
    }
}

impl From<BufferTooSmall> for RequestError {
    fn from(_: BufferTooSmall) -> Self {
        RequestError::BufferTooSmall
    }
}

impl ClientRequest<'_> {
    /// Streams the request into `sink`. Everything is checked before
    /// anything is written: a refused value is
    /// [`HttpError::InvalidRequest`] and the sink is left as it was.
    pub fn write<S: Sink + ?Sized>(&self, sink: &mut S) -> Result<(), HttpError> {
        let Url {
            host, port, path, ..
        } = self.url;
        match self.authorization {
            Authorization::Bearer(token) if !is_b64token(token) => {
                return Err(HttpError::InvalidRequest);
            }
            Authorization::Value(v) if v.iter().any(|&b| b.is_ascii_control() || b >= 0x80) => {
                return Err(HttpError::InvalidRequest);
            }
            _ => {}
        }
        // `Host: host[:port]` and `path[?query]`, composed without a buffer:
        // both are checked pieces of one URL that `Url::parse` accepted
        // (no control bytes, no spaces), and the writer checks them again.
        let mut port_digits = [0u8; 20];
        let port_text = match port {
            Some(p) => crate::url::write_decimal(u64::from(p), &mut port_digits),
            None => &[],
        };
        let target_ok = path.is_empty() || path.starts_with('/');
        if host.is_empty() || !target_ok || path.contains('#') {
            return Err(HttpError::InvalidRequest);
        }
        let mut w = RequestWriter::new_parts(
            sink,
            self.method.as_str(),
            [
                if path.is_empty() { "/" } else { path },
                if self.url.query.is_some() { "?" } else { "" },
                self.url.query.unwrap_or(""),
            ],
            [host, if port.is_some() { ":" } else { "" }],
            port_text,
        )?;
        match self.authorization {
            Authorization::None => {}
            Authorization::Client(identity) => {
                if identity.client_secret.is_some() {
                    w.header_with("Authorization", |s| {
                        identity.write_authorization(s);
                    })?;
                }
            }
            Authorization::Bearer(token) => w.header_with("Authorization", |s| {
                s.put(b"Bearer ");
                s.put(token.as_bytes());
            })?,
            Authorization::Value(v) => w.header_with("Authorization", |s| s.put(v))?,
        }
        if self.form.is_some() {
            w.header("Content-Type", "application/x-www-form-urlencoded")?;
        }
        w.header("Accept", "application/json")?;
        w.header("Connection", "close")?;
        w.finish(self.form.unwrap_or(b""));
        Ok(())
    }

    /// Writes the request into `buf`; the bytes to send.
    pub fn write_to<'b>(&self, buf: &'b mut [u8]) -> Result<&'b [u8], RequestError> {
        let mut out = SliceWriter::new(buf);
        self.write(&mut out)?;
        Ok(out.into_written()?)
    }
}

/// Writes a form body into `buf` with `write`; the bytes written.
pub(crate) fn form_into<E: From<BufferTooSmall>>(
    buf: &mut [u8],
    write: impl FnOnce(&mut SliceWriter<'_>) -> Result<(), E>,
) -> Result<&[u8], E> {
    let mut w = SliceWriter::new(buf);
    write(&mut w)?;
    let len = w.finish()?;
    Ok(buf.get(..len).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(req: &ClientRequest<'_>) -> std::string::String {
        let mut buf = [0u8; 512];
        std::string::String::from_utf8(req.write_to(&mut buf).unwrap().to_vec()).unwrap()
    }

    #[test]
    fn a_confidential_post_with_a_form() {
        // RFC 6749 §4.4.2's request, with §2.3.1's Basic header.
        let req = ClientRequest {
            method: Method::Post,
            url: Url::parse("https://server.example.com/token").unwrap(),
            authorization: Authorization::Client(ClientIdentity::confidential(
                "s6BhdRkqt3",
                "gX1fBat3bV",
            )),
            form: Some(b"grant_type=client_credentials"),
        };
        assert_eq!(
            text(&req),
            "POST /token HTTP/1.1\r\nHost: server.example.com\r\n\
             Authorization: Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Accept: application/json\r\nConnection: close\r\n\
             Content-Length: 29\r\n\r\ngrant_type=client_credentials"
        );
        // A public client sends no Authorization at all.
        let public = ClientRequest {
            authorization: Authorization::Client(ClientIdentity::public("s6BhdRkqt3")),
            ..req
        };
        assert!(!text(&public).contains("Authorization"));
    }

    #[test]
    fn a_bearer_get_keeps_port_and_query() {
        // RFC 6750 §2.1's example token.
        let req = ClientRequest {
            method: Method::Get,
            url: Url::parse("http://192.168.69.1:8080/api/ping?x=1#frag").unwrap(),
            authorization: Authorization::Bearer("mF_9.B5f-4.1JqM"),
            form: None,
        };
        assert_eq!(
            text(&req),
            "GET /api/ping?x=1 HTTP/1.1\r\nHost: 192.168.69.1:8080\r\n\
             Authorization: Bearer mF_9.B5f-4.1JqM\r\n\
             Accept: application/json\r\nConnection: close\r\n\r\n"
        );
        let root = ClientRequest {
            url: Url::parse("https://as.example").unwrap(),
            authorization: Authorization::None,
            ..req
        };
        assert!(text(&root).starts_with("GET / HTTP/1.1\r\nHost: as.example\r\nAccept"));
    }

    #[test]
    fn injected_credentials_and_small_buffers_are_errors() {
        let base = ClientRequest {
            method: Method::Get,
            url: Url::parse("https://as.example/r").unwrap(),
            authorization: Authorization::Bearer("abc\r\nX-Evil: 1"),
            form: None,
        };
        let mut buf = [0u8; 512];
        assert_eq!(base.write_to(&mut buf), Err(RequestError::Invalid));
        for bad in ["", "=", "a b", "é"] {
            let req = ClientRequest {
                authorization: Authorization::Bearer(bad),
                ..base
            };
            assert_eq!(
                req.write_to(&mut buf),
                Err(RequestError::Invalid),
                "{bad:?}"
            );
        }
        let req = ClientRequest {
            authorization: Authorization::Value(b"OAuth x=\"1\"\n"),
            ..base
        };
        assert_eq!(req.write_to(&mut buf), Err(RequestError::Invalid));
        let ok = ClientRequest {
            authorization: Authorization::Bearer("YWJj=="),
            ..base
        };
        let mut small = [0u8; 40];
        assert_eq!(ok.write_to(&mut small), Err(RequestError::BufferTooSmall));
        assert!(ok.write_to(&mut buf).is_ok());
        assert!(!std::format!("{:?}", ok).contains("YWJj"));
    }
}
