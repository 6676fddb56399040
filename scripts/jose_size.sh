#!/usr/bin/env bash
# Flash cost of latch_core::jose on a Cortex-M4 (thumbv7em-none-eabihf),
# built as firmware ships: opt-level "s", fat LTO, one codegen unit,
# panic = "abort".
#
# Builds one tiny no_std probe binary (generated under target/jose-size/,
# with mcu-tests/'s Cargo.lock and memory layout) once per variant and
# prints each image's flash (.vector_table + .text + .rodata + .data) and
# the difference from the baseline, which has the same runtime
# (cortex-m-rt, a panic handler, the input behind `black_box`) and calls
# nothing in latch-core:
#
#   jws_parse       Jws::parse + header + decode_payload, no crypto
#   es256_verify    Jws::parse + Jws::verify with Es256PublicKey::from_xy
#   eddsa_verify    the same with Ed25519PublicKey::from_bytes
#   es256_verify_claims  es256_verify + decode_payload + RegisteredClaims
#                   parse/validate (a relying party's id_token check)
#   jwks_verify     JwkSet::parse + select + verifier() + verify (ES256
#                   and EdDSA keys), + claims
#   es256_sign      Es256Key::from_bytes + sign_compact (an issuer)
#   eddsa_sign      Ed25519Key::from_seed + sign_compact
#
#   bash scripts/jose_size.sh            # all variants
#   bash scripts/jose_size.sh es256_verify
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
rustup target add thumbv7em-none-eabihf >/dev/null

variants=("$@")
if [ ${#variants[@]} -eq 0 ]; then
    variants=(jws_parse es256_verify eddsa_verify es256_verify_claims jwks_verify es256_sign eddsa_sign)
fi

probe=target/jose-size/probe
mkdir -p "$probe/src" "$probe/.cargo"
cp mcu-tests/memory.x "$probe/memory.x"
cp mcu-tests/Cargo.lock "$probe/Cargo.lock"
features=""
for v in jws_parse es256_verify eddsa_verify es256_verify_claims jwks_verify es256_sign eddsa_sign; do
    features+="$v = []"$'\n'
done
cat >"$probe/Cargo.toml" <<EOF
[package]
name = "latch-jose-size"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
cortex-m = { version = "0.7", features = ["critical-section-single-core"] }
cortex-m-rt = "0.7"
latch-core = { path = "$root/core" }

[features]
$features
[profile.release]
opt-level = "s"
lto = "fat"
codegen-units = 1
panic = "abort"
debug = false
EOF
cat >"$probe/build.rs" <<'EOF'
fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    std::fs::copy("memory.x", out.join("memory.x")).unwrap();
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
}
EOF
cat >"$probe/.cargo/config.toml" <<'EOF'
[build]
target = "thumbv7em-none-eabihf"

[target.thumbv7em-none-eabihf]
rustflags = ["-C", "link-arg=-Tlink.x"]
EOF
cat >"$probe/src/main.rs" <<'EOF'
//! One JOSE operation (chosen by feature) on an input the optimiser
//! cannot see through, for measuring flash. Nothing here runs.
#![no_std]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;

/// RFC 7515 A.3's JWS and key; RFC 8037 A.4's.
const ES_JWS: &[u8] = b"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
const ED_JWS: &[u8] = b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
#[allow(dead_code)]
const JWKS: &[u8] = br#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

#[allow(dead_code)]
fn key_bytes() -> ([u8; 32], [u8; 32]) {
    black_box(([0x7f; 32], [0x4b; 32]))
}

#[allow(dead_code)]
fn claims_ok(jws: &latch_core::jose::Jws<'_>) -> bool {
    use latch_core::jose::{RegisteredClaims, Validation};
    let mut buf = [0u8; 512];
    let Ok(payload) = jws.decode_payload(&mut buf) else {
        return false;
    };
    let Ok(claims) = RegisteredClaims::parse(payload) else {
        return false;
    };
    let v = Validation {
        issuer: Some("joe"),
        ..Validation::new(latch_core::UnixTime(black_box(1_300_819_000)))
    };
    claims.validate(&v).is_ok()
}

#[allow(unreachable_code, unused_variables, unused_mut)]
fn run(input: &[u8]) -> usize {
    #[cfg(feature = "jws_parse")]
    {
        let Ok(jws) = latch_core::jose::Jws::parse(input) else {
            return 2;
        };
        let mut buf = [0u8; 512];
        let kid = jws.header().kid().map_or(0, |k| k.raw().len());
        return jws.decode_payload(&mut buf).map_or(0, |p| p.len() + kid);
    }
    #[cfg(any(feature = "es256_verify", feature = "es256_verify_claims"))]
    {
        use latch_core::jose::{Es256PublicKey, Jws};
        let (x, y) = key_bytes();
        let Ok(key) = Es256PublicKey::from_xy(&x, &y) else {
            return 1;
        };
        let Ok(jws) = Jws::parse(input) else {
            return 2;
        };
        #[cfg(feature = "es256_verify_claims")]
        if !claims_ok(&jws) {
            return 4;
        }
        return jws.verify(&key).is_ok() as usize;
    }
    #[cfg(feature = "eddsa_verify")]
    {
        use latch_core::jose::{Ed25519PublicKey, Jws};
        let (x, _) = key_bytes();
        let Ok(key) = Ed25519PublicKey::from_bytes(&x) else {
            return 1;
        };
        let Ok(jws) = Jws::parse(input) else {
            return 2;
        };
        return jws.verify(&key).is_ok() as usize;
    }
    #[cfg(feature = "jwks_verify")]
    {
        use latch_core::jose::{JwkSet, Jws};
        let Ok(set) = JwkSet::<4>::parse(black_box(JWKS)) else {
            return 1;
        };
        let Ok(jws) = Jws::parse(input) else {
            return 2;
        };
        let Some(key) = set.select(&jws.header()) else {
            return 3;
        };
        let Ok(v) = key.verifier() else {
            return 3;
        };
        if !claims_ok(&jws) {
            return 4;
        }
        return jws.verify(&v).is_ok() as usize;
    }
    #[cfg(feature = "es256_sign")]
    {
        use latch_core::jose::{Alg, Es256Key, JwsHeader, sign_compact};
        let (d, _) = key_bytes();
        let Ok(mut key) = Es256Key::from_bytes(&d) else {
            return 1;
        };
        let mut out = [0u8; 1024];
        let header = JwsHeader { kid: Some("k"), typ: Some("JWT"), ..JwsHeader::new(Alg::Es256) };
        let n = sign_compact(&header, input, &mut key, &mut out).unwrap_or(0);
        black_box(&out);
        return n;
    }
    #[cfg(feature = "eddsa_sign")]
    {
        use latch_core::jose::{Alg, Ed25519Key, JwsHeader, sign_compact};
        let (d, _) = key_bytes();
        let mut key = Ed25519Key::from_seed(&d);
        let mut out = [0u8; 1024];
        let header = JwsHeader { kid: Some("k"), typ: Some("JWT"), ..JwsHeader::new(Alg::EdDsa) };
        let n = sign_compact(&header, input, &mut key, &mut out).unwrap_or(0);
        black_box(&out);
        return n;
    }
    // Baseline: touch the input only.
    input.iter().map(|&b| usize::from(b)).sum()
}

#[entry]
fn main() -> ! {
    let input = if black_box(true) { ES_JWS } else { ED_JWS };
    black_box(run(black_box(input)));
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
EOF

flash() {
    # .vector_table + .text + .rodata + .data (the image in flash).
    size -A "$1" | awk '$1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" || $1 == ".data" { s += $2 } END { print s }'
}

build() {
    local name=$1 feature=$2
    local dir="$root/target/jose-size/build"
    (cd "$probe" && CARGO_TARGET_DIR="$dir" cargo build --release --quiet ${feature:+--features "$feature"})
    cp "$dir/thumbv7em-none-eabihf/release/latch-jose-size" "$root/target/jose-size/$name.elf"
    flash "$root/target/jose-size/$name.elf"
}

base=$(build baseline "")
printf '%-22s %8s bytes of flash\n' baseline "$base"
for v in "${variants[@]}"; do
    n=$(build "$v" "$v")
    printf '%-22s %8s bytes of flash  (+%s over baseline)\n' "$v" "$n" $((n - base))
done
