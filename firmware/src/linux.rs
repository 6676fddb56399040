//! The Linux build: embassy's std executor, embassy-net over a TAP device
//! with a static address, configuration from the command line.
//!
//! ```text
//! latch-firmware --server 192.168.69.1:8080 --client-id ID --client-secret SECRET
//!     [--issuer URL] [--ca FILE | --plain-http] [--resource URL] [--state FILE]
//!     [--tap tap0] [--ip 192.168.69.2/24] [--gateway 192.168.69.1] [--scope "read"]
//!     [--oauth1-token T --oauth1-token-secret TS]
//! ```
//!
//! `--server` is where to connect (the device has no DNS); `--issuer` is
//! the server's issuer URL, whose RFC 8414 metadata gives the endpoints
//! (default `http://SERVER`); `--resource` the protected resource the
//! device calls (default `ISSUER/api/ping`). An `https` issuer means TLS
//! 1.3 on every exchange (`tls.rs`), with the server's certificate checked
//! against `--ca FILE` (PEM or DER) and the issuer's host, which must be a
//! DNS name; an `http` issuer needs `--plain-http`: plain HTTP is only ever
//! used when asked for. `--state FILE` is the emulated flash (a 32 KiB NOR
//! image, created if missing, mode 0600) that keeps the login across runs;
//! without it nothing is kept.
//!
//! Test hook: with `LATCH_FIRMWARE_POWER_CUT=after-refresh` in the
//! environment the process exits (status 3) right after a refresh answer,
//! before the new tokens are saved — a power cut at the worst moment.
//!
//! Output is one log line per step on stdout. Exit status: 0 when every
//! step succeeded, 1 when one failed, 2 for bad command-line input.

use crate::buffers::Buffers;
use crate::config::{Config, parse_endpoint};
use embassy_executor::{Executor, Spawner};
use embassy_net::{Ipv4Address, Ipv4Cidr, StackResources, StaticConfigV4};
use embassy_net_tuntap::TunTapDevice;
use rand::RngCore;
use static_cell::StaticCell;
use std::io::Write as _;
use std::process::exit;

const USAGE: &str = "usage: latch-firmware --server A.B.C.D:PORT --client-id ID --client-secret SECRET [--issuer URL] [--ca FILE | --plain-http] [--resource URL] [--state FILE] [--tap NAME] [--ip A.B.C.D/LEN] [--gateway A.B.C.D] [--scope S] [--oauth1-token T --oauth1-token-secret TS]";

struct Args {
    tap: String,
    ip: Ipv4Cidr,
    gateway: Ipv4Address,
    state: Option<std::path::PathBuf>,
    config: Config<'static>,
}

/// The CA certificate in `path`, PEM (`CERTIFICATE`) or DER, as DER.
fn read_ca(path: &str) -> Result<&'static [u8], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read --ca {path}: {e}"))?;
    let der = if bytes.starts_with(b"-----BEGIN") {
        match pem_rfc7468::decode_vec(&bytes) {
            Ok(("CERTIFICATE", der)) => der,
            Ok((label, _)) => {
                return Err(format!("--ca {path} holds a {label}, not a CERTIFICATE"));
            }
            Err(e) => return Err(format!("--ca {path} is not a PEM certificate: {e}")),
        }
    } else {
        bytes
    };
    if der.first() != Some(&0x30) {
        return Err(format!(
            "--ca {path} is neither a PEM nor a DER certificate"
        ));
    }
    Ok(Box::leak(der.into_boxed_slice()))
}

/// The power-cut test hook (see the module docs).
pub fn power_cut_hook() {
    if std::env::var("LATCH_FIRMWARE_POWER_CUT").as_deref() == Ok("after-refresh") {
        println!("power cut (test hook): exiting before the refreshed tokens are saved");
        let _ = std::io::stdout().flush();
        exit(3)
    }
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn parse_ipv4(s: &str) -> Option<Ipv4Address> {
    let ep = parse_endpoint(&format!("{s}:0"))?;
    match ep.addr {
        embassy_net::IpAddress::Ipv4(a) => Some(a),
    }
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut tap, mut ip, mut gateway) = ("tap0".to_owned(), None, None);
    let (mut server, mut id, mut secret, mut scope, mut token, mut token_secret) =
        (None, None, None, None, None, None);
    let (mut issuer, mut resource, mut state, mut plain_http, mut ca) =
        (None, None, None, false, None);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tap" => tap = value()?,
            "--ip" => ip = Some(value()?),
            "--gateway" => gateway = Some(value()?),
            "--server" => server = Some(value()?),
            "--issuer" => issuer = Some(value()?),
            "--resource" => resource = Some(value()?),
            "--state" => state = Some(std::path::PathBuf::from(value()?)),
            "--plain-http" => plain_http = true,
            "--ca" => ca = Some(value()?),
            "--client-id" => id = Some(value()?),
            "--client-secret" => secret = Some(value()?),
            "--scope" => scope = Some(value()?),
            "--oauth1-token" => token = Some(value()?),
            "--oauth1-token-secret" => token_secret = Some(value()?),
            "--help" | "-h" => {
                println!("{USAGE}");
                exit(0)
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let ip = ip.unwrap_or_else(|| "192.168.69.2/24".to_owned());
    let (addr, len) = ip
        .split_once('/')
        .ok_or_else(|| format!("--ip {ip:?} is not A.B.C.D/LEN"))?;
    let ip = match (parse_ipv4(addr), len.parse::<u8>()) {
        (Some(a), Ok(l)) if l <= 32 => Ipv4Cidr::new(a, l),
        _ => return Err(format!("--ip {ip:?} is not A.B.C.D/LEN")),
    };
    let gateway = gateway.unwrap_or_else(|| "192.168.69.1".to_owned());
    let gateway =
        parse_ipv4(&gateway).ok_or_else(|| format!("--gateway {gateway:?} is not A.B.C.D"))?;
    let server = server.ok_or("--server is required")?;
    let endpoint = parse_endpoint(&server)
        .ok_or_else(|| format!("--server {server:?} is not A.B.C.D:PORT"))?;
    let oauth1_token = match (token, token_secret) {
        (Some(t), Some(s)) => Some((leak(t), leak(s))),
        (None, None) => None,
        _ => return Err("--oauth1-token and --oauth1-token-secret go together".to_owned()),
    };
    let client_id = leak(id.ok_or("--client-id is required")?);
    let client_secret = leak(secret.ok_or("--client-secret is required")?);
    let issuer = issuer.unwrap_or_else(|| format!("http://{server}"));
    let Ok(url) = latch_core::url::Url::parse(&issuer) else {
        return Err(format!(
            "--issuer {issuer:?} is not an absolute http or https URL"
        ));
    };
    let tls = match url.scheme {
        latch_core::url::Scheme::Https => {
            let ca = ca.ok_or(
                "--issuer is https: --ca FILE (the CA certificate, PEM or DER) is required",
            )?;
            let host = url.host;
            if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
                return Err(format!(
                    "--issuer host {host:?} is an IP address: TLS needs the server's DNS name (connect with --server)"
                ));
            }
            let server_name = leak(host.to_ascii_lowercase());
            Some(crate::tls::TlsSettings {
                ca_der: read_ca(&ca)?,
                server_name,
            })
        }
        latch_core::url::Scheme::Http if !plain_http => {
            return Err(format!(
                "--issuer {issuer:?} is plain HTTP: pass --plain-http to use it"
            ));
        }
        latch_core::url::Scheme::Http if ca.is_some() => {
            return Err("--ca is for an https issuer".to_owned());
        }
        latch_core::url::Scheme::Http => None,
    };
    let resource = resource.unwrap_or_else(|| format!("{}/api/ping", issuer.trim_end_matches('/')));
    Ok(Args {
        tap,
        ip,
        gateway,
        state,
        config: Config {
            server: endpoint,
            host: leak(server),
            device: latch_device::Config {
                issuer: leak(issuer),
                client_id,
                client_secret: Some(client_secret),
                scope: scope.map(leak),
            },
            resource: leak(resource),
            oauth1_token,
            tls,
        },
    })
}

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, TunTapDevice>) -> ! {
    runner.run().await
}

#[embassy_executor::task]
async fn main_task(spawner: Spawner, args: Args) {
    let device = match TunTapDevice::new(&args.tap) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("latch-firmware: cannot open TAP device {:?}: {e}", args.tap);
            exit(2)
        }
    };
    let net = embassy_net::Config::ipv4_static(StaticConfigV4 {
        address: args.ip,
        dns_servers: heapless::Vec::new(),
        gateway: Some(args.gateway),
    });
    static RESOURCES: StaticCell<StackResources<2>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        net,
        RESOURCES.init(StackResources::new()),
        rand::rng().next_u64(),
    );
    spawner.spawn(net_task(runner).expect("one net task"));

    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .ok();
    let mut random = |buf: &mut [u8]| rand::rng().fill_bytes(buf);
    let flash = match &args.state {
        Some(path) => match crate::file_flash::FileFlash::open(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("latch-firmware: {e}");
                exit(2)
            }
        },
        None => crate::file_flash::FileFlash::in_memory(),
    };
    let range = 0..crate::file_flash::SIZE as u32;
    let Some(mut store) = latch_device::flash::TokenFlash::new(flash, range) else {
        eprintln!("latch-firmware: the emulated flash is not whole pages");
        exit(2)
    };
    let ok = crate::device_main(
        stack,
        args.config,
        unix_now,
        BUFFERS.init(Buffers::new()),
        &mut store,
        &mut random,
    )
    .await;
    let _ = std::io::stdout().flush();
    exit(if ok { 0 } else { 1 })
}

pub fn main() {
    env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .parse_default_env()
        .target(env_logger::Target::Stdout)
        .format(|f, record| writeln!(f, "{}", record.args()))
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("latch-firmware: {msg}\n{USAGE}");
            exit(2)
        }
    };
    static EXECUTOR: StaticCell<Executor> = StaticCell::new();
    EXECUTOR
        .init(Executor::new())
        .run(|spawner| spawner.spawn(main_task(spawner, args).expect("one main task")));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &str) -> Result<Args, String> {
        parse_args(args.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn arguments_and_defaults() {
        let a = parse(
            "--server 192.168.69.1:8080 --client-id dev --client-secret s3 --scope read --plain-http",
        )
        .unwrap();
        assert_eq!(a.tap, "tap0");
        assert_eq!(a.ip, Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 2), 24));
        assert_eq!(a.gateway, Ipv4Address::new(192, 168, 69, 1));
        assert_eq!(a.config.server.port, 8080);
        let d = a.config.device;
        assert_eq!(d.issuer, "http://192.168.69.1:8080");
        assert_eq!(a.config.resource, "http://192.168.69.1:8080/api/ping");
        assert_eq!((d.client_id, d.client_secret), ("dev", Some("s3")));
        assert_eq!(d.scope, Some("read"));
        assert_eq!(a.config.oauth1_token, None);
        assert_eq!(a.state, None);
        let a = parse("--server 10.0.0.1:1 --client-id d --client-secret s --oauth1-token t --oauth1-token-secret ts --ip 10.0.0.9/8 --gateway 10.0.0.1 --tap tap7 --plain-http --issuer http://10.0.0.1:1/t/ --resource http://10.0.0.1:1/r --state /tmp/f").unwrap();
        assert_eq!(a.config.device.issuer, "http://10.0.0.1:1/t/");
        assert_eq!(a.config.resource, "http://10.0.0.1:1/r");
        assert_eq!(a.state.as_deref(), Some(std::path::Path::new("/tmp/f")));
        assert_eq!(a.config.oauth1_token, Some(("t", "ts")));
        assert_eq!((a.tap.as_str(), a.ip.prefix_len()), ("tap7", 8));
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        for (args, message) in [
            ("--client-id d --client-secret s", "--server is required"),
            (
                "--server 1.2.3.4:80 --client-secret s",
                "--client-id is required",
            ),
            (
                "--server 1.2.3.4 --client-id d --client-secret s",
                "is not A.B.C.D:PORT",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --ip 1.2.3.4",
                "is not A.B.C.D/LEN",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --ip 1.2.3.4/33",
                "is not A.B.C.D/LEN",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --gateway x",
                "is not A.B.C.D",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --oauth1-token t",
                "go together",
            ),
            ("--server", "--server needs a value"),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s",
                "pass --plain-http",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --issuer https://a",
                "--ca FILE",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --issuer https://1.2.3.4 --ca /nonexistent",
                "is an IP address",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --issuer https://a.test --ca /nonexistent",
                "cannot read --ca /nonexistent",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --plain-http --ca /x",
                "--ca is for an https issuer",
            ),
            (
                "--server 1.2.3.4:80 --client-id d --client-secret s --issuer a/b --plain-http",
                "not an absolute http or https URL",
            ),
            ("--bogus", "unknown argument"),
        ] {
            let err = parse(args)
                .err()
                .unwrap_or_else(|| panic!("{args} was accepted"));
            assert!(err.contains(message), "{args}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
