//! JSON for the OAuth 2.0 documents: the crate's JSON layer
//! ([`crate::json`], shared with [`crate::jose`]) under the names the
//! `oauth2` modules use, plus the RFC 6749 §5.2 error body.

pub use crate::json::{JsonError, JsonStr, JsonStrList, MAX_DEPTH, Unescape};
pub(crate) use crate::json::{Kind, Member, parse, parse_members, render};

use crate::buf::BufferTooSmall;

/// The error body of RFC 6749 §5.2.
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<&'a str>,
}

pub(crate) fn render_error(
    e: &super::error::OAuthError,
    out: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    render(
        &ErrorBody {
            error: e.code.as_str(),
            error_description: e.description,
        },
        out,
    )
}
