//! The MCU build: NUCLEO-F767ZI (STM32F767ZI, Cortex-M7), the on-chip
//! Ethernet MAC with the board's LAN8742A PHY over RMII, DHCP, defmt over
//! RTT. Server and credentials are set at build time:
//!
//! ```sh
//! LATCH_SERVER=192.168.1.10:8080 LATCH_CLIENT_ID=… LATCH_CLIENT_SECRET=… \
//! LATCH_OAUTH1_TOKEN=… LATCH_OAUTH1_TOKEN_SECRET=… LATCH_SCOPE=read \
//!     cargo build --release --target thumbv7em-none-eabihf
//! ```
//!
//! `LATCH_ISSUER` is the issuer (its RFC 8414 metadata gives the
//! endpoints), `LATCH_RESOURCE` the protected resource (defaults:
//! `http://192.168.1.10:8080` and its `/api/ping`). An `https` issuer
//! (with the `tls` feature, on by default) needs `LATCH_CA_DER`, the path
//! of the CA certificate in DER, at build time; its host must be a DNS
//! name. The login is kept in the
//! last two 256 KiB sectors of the internal flash (sectors 10 and 11,
//! offsets 0x18_0000..0x20_0000, far above the image), through
//! embassy-stm32's blocking flash driver.
//!
//! The wall clock comes from the server's first `Date` header (the board
//! has no calendar), nonces and the network stack's seed from the RNG
//! peripheral.

use crate::buffers::Buffers;
use crate::config::{Config, parse_endpoint};
use defmt_rtt as _;
use embassy_executor::Spawner;
use embassy_net::StackResources;
use embassy_stm32::eth::{self, Ethernet, GenericPhy, PacketQueue, Sma};
use embassy_stm32::peripherals::{ETH, ETH_SMA, RNG};
use embassy_stm32::rng::{self, Rng};
use embassy_stm32::time::Hertz;
use embassy_stm32::{Config as ChipConfig, bind_interrupts};
use panic_probe as _;
use static_cell::StaticCell;

bind_interrupts!(struct Irqs {
    ETH => eth::InterruptHandler;
    RNG => rng::InterruptHandler<RNG>;
});

type Device = Ethernet<'static, ETH, GenericPhy<Sma<'static, ETH_SMA>>>;

/// Build-time configuration (`LATCH_*`); empty when not set, which the
/// device reports instead of sending nonsense.
const SERVER: &str = match option_env!("LATCH_SERVER") {
    Some(s) => s,
    None => "192.168.1.10:8080",
};
#[cfg(feature = "oauth")]
const CLIENT_ID: &str = match option_env!("LATCH_CLIENT_ID") {
    Some(s) => s,
    None => "",
};
#[cfg(feature = "oauth")]
const CLIENT_SECRET: &str = match option_env!("LATCH_CLIENT_SECRET") {
    Some(s) => s,
    None => "",
};
#[cfg(feature = "oauth")]
const SCOPE: Option<&str> = option_env!("LATCH_SCOPE");
/// The issuer, whose metadata gives the endpoints.
#[cfg(feature = "oauth")]
const ISSUER: &str = match option_env!("LATCH_ISSUER") {
    Some(s) => s,
    None => "http://192.168.1.10:8080",
};
/// The protected resource.
#[cfg(feature = "oauth")]
const RESOURCE: &str = match option_env!("LATCH_RESOURCE") {
    Some(s) => s,
    None => "http://192.168.1.10:8080/api/ping",
};
/// The CA certificate for TLS (DER), `LATCH_CA_DER` at build time.
#[cfg(feature = "tls")]
const CA_DER: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ca.der"));
/// Where the login is kept: the last two 256 KiB sectors.
#[cfg(feature = "oauth")]
const STATE_FLASH: core::ops::Range<u32> = 0x18_0000..0x20_0000;
#[cfg(feature = "oauth")]
const OAUTH1_TOKEN: Option<&str> = option_env!("LATCH_OAUTH1_TOKEN");
#[cfg(feature = "oauth")]
const OAUTH1_TOKEN_SECRET: Option<&str> = option_env!("LATCH_OAUTH1_TOKEN_SECRET");

#[embassy_executor::task]
async fn net_task(mut runner: embassy_net::Runner<'static, Device>) -> ! {
    runner.run().await
}

fn chip_config() -> ChipConfig {
    use embassy_stm32::rcc::*;
    let mut config = ChipConfig::default();
    // 8 MHz from the ST-LINK's MCO, PLL to 216 MHz.
    config.rcc.hse = Some(Hse {
        freq: Hertz(8_000_000),
        mode: HseMode::Bypass,
    });
    config.rcc.pll_src = PllSource::HSE;
    config.rcc.pll = Some(Pll {
        prediv: PllPreDiv::DIV4,
        mul: PllMul::MUL216,
        divp: Some(PllPDiv::DIV2),
        divq: None,
        divr: None,
    });
    config.rcc.ahb_pre = AHBPrescaler::DIV1;
    config.rcc.apb1_pre = APBPrescaler::DIV4;
    config.rcc.apb2_pre = APBPrescaler::DIV2;
    config.rcc.sys = Sysclk::PLL1_P;
    config
}

#[embassy_executor::main]
async fn main(spawner: Spawner) {
    let p = embassy_stm32::init(chip_config());
    let mut rng = Rng::new(p.RNG, Irqs);
    let mut seed = [0u8; 8];
    rng.fill_bytes(&mut seed);

    let Some(server) = parse_endpoint(SERVER) else {
        error!("LATCH_SERVER {} is not A.B.C.D:PORT", SERVER);
        return;
    };
    #[cfg(feature = "oauth")]
    if CLIENT_ID.is_empty() || CLIENT_SECRET.is_empty() {
        error!("build with LATCH_CLIENT_ID and LATCH_CLIENT_SECRET set");
        return;
    }
    let cfg = Config {
        server,
        host: SERVER,
        #[cfg(feature = "oauth")]
        device: latch_device::Config {
            issuer: ISSUER,
            client_id: CLIENT_ID,
            client_secret: Some(CLIENT_SECRET),
            scope: SCOPE,
        },
        #[cfg(feature = "oauth")]
        resource: RESOURCE,
        #[cfg(feature = "oauth")]
        oauth1_token: OAUTH1_TOKEN.zip(OAUTH1_TOKEN_SECRET),
        #[cfg(feature = "tls")]
        tls: match latch_core::url::Url::parse(ISSUER) {
            Ok(u) if u.scheme == latch_core::url::Scheme::Https => {
                if CA_DER.is_empty() {
                    error!("an https LATCH_ISSUER needs LATCH_CA_DER at build time");
                    return;
                }
                Some(crate::tls::TlsSettings {
                    ca_der: CA_DER,
                    server_name: u.host,
                })
            }
            _ => None,
        },
    };

    // A locally administered MAC derived from nothing secret.
    let mac = [0x02, 0x00, 0x4c, 0x61, 0x74, 0x63];
    static PACKETS: StaticCell<PacketQueue<4, 4>> = StaticCell::new();
    let device = Ethernet::new(
        PACKETS.init(PacketQueue::<4, 4>::new()),
        p.ETH,
        Irqs,
        p.PA1,  // REF_CLK
        p.PA7,  // CRS_DV
        p.PC4,  // RXD0
        p.PC5,  // RXD1
        p.PG13, // TXD0
        p.PB13, // TXD1
        p.PG11, // TX_EN
        mac,
        p.ETH_SMA,
        p.PA2, // MDIO
        p.PC1, // MDC
    );
    static RESOURCES: StaticCell<StackResources<2>> = StaticCell::new();
    let (stack, runner) = embassy_net::new(
        device,
        embassy_net::Config::dhcpv4(Default::default()),
        RESOURCES.init(StackResources::new()),
        u64::from_le_bytes(seed),
    );
    spawner.spawn(net_task(runner).expect("one net task"));

    static BUFFERS: StaticCell<Buffers> = StaticCell::new();
    let mut random = |buf: &mut [u8]| rng.fill_bytes(buf);
    #[cfg(feature = "oauth")]
    let ok = {
        let flash = embassy_embedded_hal::adapter::BlockingAsync::new(
            embassy_stm32::flash::Flash::new_blocking(p.FLASH),
        );
        let Some(mut store) = latch_device::flash::TokenFlash::new(flash, STATE_FLASH) else {
            error!("the state flash range is not whole sectors");
            return;
        };
        crate::device_main(
            stack,
            cfg,
            None,
            BUFFERS.init(Buffers::new()),
            &mut store,
            &mut random,
        )
        .await
    };
    #[cfg(not(feature = "oauth"))]
    let ok = crate::device_main(stack, cfg, None, BUFFERS.init(Buffers::new()), &mut random).await;
    if ok {
        info!("device finished");
    }
}
