//! Link scripts for the MCU build only: cortex-m-rt's `link.x` (with the
//! `memory.x` embassy-stm32's `memory-x` feature provides) and defmt's.
//! The Linux build links as any program does.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-arg-bins=--nmagic");
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
