//! What the device needs to know before it starts: where the server is and
//! who the device is. The Linux build reads it from the command line
//! (`linux.rs`), the MCU build from `LATCH_*` environment variables at build
//! time (`mcu.rs`).

use embassy_net::{IpAddress, IpEndpoint};

/// The device's configuration. `Debug` leaves the secrets out.
#[derive(Clone, Copy)]
pub struct Config<'a> {
    /// The Latch server (an IPv4 address and port: the device has no DNS).
    pub server: IpEndpoint,
    /// `Host` header and authority of the OAuth1 base string URI, e.g.
    /// `192.168.69.1:8080`; must be what the server sees as its own host.
    pub host: &'a str,
    /// OAuth2 `client_id`, which is also the OAuth1 consumer key.
    pub client_id: &'a str,
    /// OAuth2 `client_secret`, which is also the OAuth1 consumer secret.
    pub client_secret: &'a str,
    /// Scope asked for in the device authorization request.
    pub scope: Option<&'a str>,
    /// OAuth1 token credentials for the signed call (RFC 5849 §2.3); `None`
    /// skips that step.
    pub oauth1_token: Option<(&'a str, &'a str)>,
}

impl core::fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("host", &self.host)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .field("oauth1", &self.oauth1_token.map(|(t, _)| t))
            .finish_non_exhaustive()
    }
}

/// `a.b.c.d:port` → an endpoint; `None` for anything else.
pub fn parse_endpoint(s: &str) -> Option<IpEndpoint> {
    let (ip, port) = s.rsplit_once(':')?;
    let mut octets = [0u8; 4];
    let mut parts = ip.split('.');
    for o in &mut octets {
        *o = parts.next()?.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    let port = port.parse().ok()?;
    let [a, b, c, d] = octets;
    Some(IpEndpoint::new(IpAddress::v4(a, b, c, d), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = parse_endpoint("192.168.69.1:8080").unwrap();
        assert_eq!(e.port, 8080);
        assert_eq!(e.addr, IpAddress::v4(192, 168, 69, 1));
        for bad in [
            "192.168.69.1",
            "1.2.3:80",
            "1.2.3.4.5:80",
            "1.2.3.256:80",
            "1.2.3.4:99999",
            "x",
        ] {
            assert_eq!(parse_endpoint(bad), None, "{bad}");
        }
    }
}
