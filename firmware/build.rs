//! Link scripts for the MCU build only: cortex-m-rt's `link.x` (with the
//! `memory.x` embassy-stm32's `memory-x` feature provides) and defmt's.
//! The Linux build links as any program does. Also: the MCU's CA
//! certificate, from `LATCH_CA_DER`.

fn main() {
    // The MCU's CA certificate (DER) for TLS, from `LATCH_CA_DER` (a path)
    // at build time; an empty file when unset (the device then refuses an
    // https issuer at start).
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    let ca = match std::env::var("LATCH_CA_DER") {
        Ok(path) if !path.is_empty() => {
            println!("cargo:rerun-if-changed={path}");
            std::fs::read(&path).unwrap_or_else(|e| panic!("LATCH_CA_DER {path}: {e}"))
        }
        _ => Vec::new(),
    };
    std::fs::write(out.join("ca.der"), ca).expect("write ca.der");
    println!("cargo:rerun-if-env-changed=LATCH_CA_DER");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
