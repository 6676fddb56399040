#!/usr/bin/env bash
# The one test command (README.md): installs what it needs, idempotently,
# then runs every check. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy, thumbv7em-none-eabihf, nightly rust-src"
rustup component add rustfmt clippy >/dev/null
rustup target add thumbv7em-none-eabihf >/dev/null
source scripts/nightly.sh

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "latch-core builds for thumbv7em-none-eabihf (no std)"
cargo build -p latch-core --target thumbv7em-none-eabihf
cargo build -p latch-core --target thumbv7em-none-eabihf --features defmt

step "latch-core builds against a sysroot with only core (no alloc sneaks in)"
CARGO_TARGET_DIR=target/build-std-core \
    cargo "+$NIGHTLY" build -Z build-std=core -p latch-core --target thumbv7em-none-eabihf

step "latch-core's RFC vectors on an emulated Cortex-M4 (scripts/mcu-tests.sh: QEMU, semihosting)"
bash scripts/mcu-tests.sh

step "firmware: fmt, clippy, unit tests, MCU build and size report (scripts/firmware.sh)"
bash scripts/firmware.sh

step "iproute2 and /dev/net/tun for the firmware's TAP test (tests/tests/firmware_tap.rs)"
if ! command -v ip >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi
if [ ! -e /dev/net/tun ]; then
    mkdir -p /dev/net && mknod /dev/net/tun c 10 200 && chmod 0666 /dev/net/tun
fi

step "curl, openssl and the CA bundle for the TLS tests (tests/tests/tls_e2e.rs)"
missing=""
command -v curl >/dev/null 2>&1 || missing="$missing curl"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
[ -d /etc/ssl/certs ] || missing="$missing ca-certificates"
if [ -n "$missing" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

step "Chromium and chromedriver for the headless-browser test (tests/tests/account_browser.rs)"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi

step "fuzz every target briefly (scripts/fuzz.sh; longer campaigns: scripts/fuzz.sh 600)"
bash scripts/fuzz.sh "${LATCH_FUZZ_SECONDS:-15}"

step "PostgreSQL on loopback for the end-to-end suite (scripts/pg.sh)"
eval "$(bash scripts/pg.sh start)"
trap 'bash scripts/pg.sh stop >/dev/null 2>&1' EXIT

step "cargo test --workspace (end-to-end suite on SQLite and PostgreSQL)"
log=$(mktemp)
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1); if ($i ~ /^ignored/) s += $(i-1) } }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
