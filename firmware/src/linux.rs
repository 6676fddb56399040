//! The Linux build: embassy's std executor, embassy-net over a TAP device
//! with a static address, configuration from the command line.
//!
//! ```text
//! latch-firmware --server 192.168.69.1:8080 --client-id ID --client-secret SECRET
//!     [--tap tap0] [--ip 192.168.69.2/24] [--gateway 192.168.69.1] [--scope "read"]
//!     [--oauth1-token T --oauth1-token-secret TS]
//! ```
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

const USAGE: &str = "usage: latch-firmware --server A.B.C.D:PORT --client-id ID --client-secret SECRET [--tap NAME] [--ip A.B.C.D/LEN] [--gateway A.B.C.D] [--scope S] [--oauth1-token T --oauth1-token-secret TS]";

struct Args {
    tap: String,
    ip: Ipv4Cidr,
    gateway: Ipv4Address,
    config: Config<'static>,
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
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--tap" => tap = value()?,
            "--ip" => ip = Some(value()?),
            "--gateway" => gateway = Some(value()?),
            "--server" => server = Some(value()?),
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
    Ok(Args {
        tap,
        ip,
        gateway,
        config: Config {
            server: endpoint,
            host: leak(server),
            client_id: leak(id.ok_or("--client-id is required")?),
            client_secret: leak(secret.ok_or("--client-secret is required")?),
            scope: scope.map(leak),
            oauth1_token,
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
    let ok = crate::device_main(
        stack,
        args.config,
        unix_now,
        BUFFERS.init(Buffers::new()),
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
        let a = parse("--server 192.168.69.1:8080 --client-id dev --client-secret s3 --scope read")
            .unwrap();
        assert_eq!(a.tap, "tap0");
        assert_eq!(a.ip, Ipv4Cidr::new(Ipv4Address::new(192, 168, 69, 2), 24));
        assert_eq!(a.gateway, Ipv4Address::new(192, 168, 69, 1));
        assert_eq!(a.config.host, "192.168.69.1:8080");
        assert_eq!(a.config.server.port, 8080);
        assert_eq!((a.config.client_id, a.config.client_secret), ("dev", "s3"));
        assert_eq!(a.config.scope, Some("read"));
        assert_eq!(a.config.oauth1_token, None);
        let a = parse("--server 10.0.0.1:1 --client-id d --client-secret s --oauth1-token t --oauth1-token-secret ts --ip 10.0.0.9/8 --gateway 10.0.0.1 --tap tap7").unwrap();
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
