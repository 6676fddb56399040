//! What the device needs to know before it starts: where the server is,
//! who the device is and what it calls. The Linux build reads it from the
//! command line (`linux.rs`), the MCU build from `LATCH_*` environment
//! variables at build time (`mcu.rs`).

use embassy_net::{IpAddress, IpEndpoint};

/// The device's configuration. `Debug` leaves the secrets out.
#[derive(Clone, Copy)]
pub struct Config<'a> {
    /// Where to connect (an IPv4 address and port: the device has no DNS).
    pub server: IpEndpoint,
    /// `Host` of the size baseline's one request.
    pub host: &'a str,
    /// The login: issuer (its metadata gives the endpoints), client, scope.
    #[cfg(feature = "oauth")]
    pub device: latch_device::Config<'a>,
    /// The protected resource the device calls (an absolute URL on the
    /// issuer's origin), answered with `{"ping":"pong"}`.
    #[cfg(feature = "oauth")]
    pub resource: &'a str,
    /// OAuth1 token credentials for the signed call (RFC 5849 §2.3); `None`
    /// skips that step.
    #[cfg(feature = "oauth")]
    pub oauth1_token: Option<(&'a str, &'a str)>,
    /// TLS for every exchange; `None` is plain HTTP, used only when asked.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsSettings<'a>>,
}

impl core::fmt::Debug for Config<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("Config");
        d.field("server", &self.server);
        #[cfg(feature = "oauth")]
        d.field("device", &self.device)
            .field("resource", &self.resource)
            .field("oauth1", &self.oauth1_token.map(|(t, _)| t));
        d.finish_non_exhaustive()
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
