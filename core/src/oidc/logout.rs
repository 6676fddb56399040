//! RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3):
//! which client is asking, and where the browser may go afterwards.
//!
//! * The client is named by `client_id`, or by the `aud` of the
//!   `id_token_hint` (verified by the shell with its own keys — an
//!   expired hint is fine, §2); when both are given they must agree.
//! * `post_logout_redirect_uri` must be one the client registered,
//!   compared exactly (§3); without a client it is refused, since there
//!   is nothing to check it against. `state` is echoed on that redirect.
//! * Errors are an error page (HTTP 400), never a redirect: the
//!   destination is what failed.

use crate::oauth2::params::{self, Collected};
use crate::oauth2::{ClientId, ErrorCode, OAuthError};
use crate::percent;
use crate::text::Text;

const NAMES: [&str; 4] = [
    "id_token_hint",
    "client_id",
    "post_logout_redirect_uri",
    "state",
];
const HINT: usize = 0;
const CLIENT_ID: usize = 1;
const REDIRECT: usize = 2;
const STATE: usize = 3;

fn bad(description: &'static str) -> OAuthError {
    OAuthError::with(ErrorCode::InvalidRequest, description)
}

/// A parsed logout request.
#[derive(Debug, Clone, Copy)]
pub struct LogoutRequest<'a> {
    params: Collected<'a, 4>,
}

/// Where to send the browser once the session is ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterLogout<'r> {
    /// Show a "signed out" page.
    Page,
    /// Redirect to this registered URI, with `state` appended.
    Redirect(&'r str),
}

impl<'a> LogoutRequest<'a> {
    /// Parses the query (or form body). A repeated parameter is refused.
    pub fn parse(input: &'a [u8]) -> Result<Self, OAuthError> {
        let params = params::collect(input, &NAMES)
            .map_err(|_| bad("malformed query string"))?
            .no_repeats()?;
        Ok(LogoutRequest { params })
    }

    /// `id_token_hint`, for the shell to verify.
    pub fn id_token_hint(&self) -> Option<Text<'a>> {
        self.params.get(HINT)
    }

    /// `client_id`, if sent.
    pub fn client_id(&self) -> Option<Text<'a>> {
        self.params.get(CLIENT_ID)
    }

    /// `state`, if sent.
    pub fn state(&self) -> Option<Text<'a>> {
        self.params.get(STATE)
    }

    /// The client this request is about: `client_id`, or the verified
    /// hint's audience (`hint_aud`); a mismatch is an error. `Ok(None)`: no
    /// client named.
    pub fn client(&self, hint_aud: Option<&str>) -> Result<Option<ClientId>, OAuthError> {
        let id = match (self.client_id(), hint_aud) {
            (Some(id), Some(aud)) if !id.eq_str(aud) => {
                return Err(bad("client_id does not match the id_token_hint's audience"));
            }
            (_, Some(aud)) => ClientId::try_from(aud).map_err(|_| bad("unknown client"))?,
            (Some(id), None) => id.to_heapless().map_err(|_| bad("unknown client"))?,
            (None, None) => return Ok(None),
        };
        Ok(Some(id))
    }

    /// Where to go afterwards, given the post-logout redirect URIs
    /// registered by the client (`None`: no client named).
    pub fn after<'r>(
        &self,
        registered: Option<&'r [&'r str]>,
    ) -> Result<AfterLogout<'r>, OAuthError> {
        let Some(sent) = self.params.get(REDIRECT) else {
            return Ok(AfterLogout::Page);
        };
        let Some(registered) = registered else {
            return Err(bad(
                "post_logout_redirect_uri needs client_id or id_token_hint",
            ));
        };
        registered
            .iter()
            .find(|u| sent.eq_str(u))
            .map(|u| AfterLogout::Redirect(u))
            .ok_or(bad(
                "post_logout_redirect_uri is not registered for this client",
            ))
    }

    /// Writes the redirect `Location`: `uri` with `state` appended.
    pub fn write_location<S: crate::Sink + ?Sized>(&self, uri: &str, sink: &mut S) {
        sink.put(uri.as_bytes());
        if let Some(state) = self.state() {
            sink.put(if uri.contains('?') { b"&" } else { b"?" });
            sink.put(b"state=");
            let mut buf = [0u8; 512];
            match state.decode(&mut buf) {
                Ok(s) => percent::encode_into(s.as_bytes(), sink),
                Err(_) => state.write_oauth_encoded(sink),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buf::SliceWriter;

    #[test]
    fn client_and_destination() {
        let reg: &[&str] = &["https://rp.example/bye"];
        let r = LogoutRequest::parse(
            b"client_id=rp&post_logout_redirect_uri=https%3A%2F%2Frp.example%2Fbye&state=a%20b",
        )
        .unwrap();
        assert_eq!(r.client(None).unwrap().as_deref(), Some("rp"));
        assert_eq!(r.client(Some("rp")).unwrap().as_deref(), Some("rp"));
        assert!(r.client(Some("other")).is_err());
        assert_eq!(
            r.after(Some(reg)).unwrap(),
            AfterLogout::Redirect("https://rp.example/bye")
        );
        assert!(r.after(Some(&["https://rp.example/other"])).is_err());
        assert!(r.after(None).is_err());
        let mut buf = [0u8; 128];
        let mut w = SliceWriter::new(&mut buf);
        r.write_location("https://rp.example/bye", &mut w);
        let n = w.finish().unwrap();
        assert_eq!(&buf[..n], b"https://rp.example/bye?state=a%20b");

        let page = LogoutRequest::parse(b"").unwrap();
        assert_eq!(page.client(None).unwrap().as_deref(), None);
        assert_eq!(page.after(None).unwrap(), AfterLogout::Page);
        assert!(LogoutRequest::parse(b"state=a&state=b").is_err());
    }
}
