#!/usr/bin/env bash
# The firmware's checks and its size report (called by scripts/test.sh; the
# end-to-end TAP test itself is tests/tests/firmware_tap.rs, in cargo test).
#
#   fmt, clippy (Linux build; MCU build with and without OAuth), its unit
#   tests, then the MCU build (thumbv7em-none-eabihf, release: opt-level z,
#   the crypto crates at s, fat LTO, one codegen unit, panic=abort), the same
#   firmware with the `large-tokens` capacities, without TLS, without OAuth1,
#   and without the `oauth` feature as the baseline, and a table of what
#   OAuth costs.
#
#   bash scripts/firmware.sh          # everything
#   bash scripts/firmware.sh size     # only the size and stack reports
# Installs what it needs: the thumbv7em target (stable and nightly),
# rustup's llvm-tools, and the pinned nightly (scripts/nightly.sh) for the stack report.
set -euo pipefail
cd "$(dirname "$0")/../firmware"

rustup target add thumbv7em-none-eabihf >/dev/null
rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools-preview >/dev/null
tools="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
size_tool="$tools/llvm-size"
source ../scripts/nightly.sh

# The MCU build takes its server and credentials at build time; these
# placeholders stand in (the size does not depend on their values).
export LATCH_SERVER=192.168.1.10:8080 LATCH_CLIENT_ID=device LATCH_CLIENT_SECRET=secret
export LATCH_SCOPE=read LATCH_OAUTH1_TOKEN=token LATCH_OAUTH1_TOKEN_SECRET=token-secret
mcu=(--release --target thumbv7em-none-eabihf)
baseline_dir=target/baseline

if [ "${1:-}" != size ]; then
    printf '\n==> firmware: fmt, clippy, unit tests\n'
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --workspace --all-targets --all-features -- -D warnings
    cargo clippy "${mcu[@]}" -- -D warnings
    cargo clippy "${mcu[@]}" -p latch-device --features flash,defmt -- -D warnings
    CARGO_TARGET_DIR=$baseline_dir cargo clippy "${mcu[@]}" --no-default-features -- -D warnings
    CARGO_TARGET_DIR=$baseline_dir cargo clippy "${mcu[@]}" --no-default-features --features oauth -- -D warnings
    cargo clippy -p latch-device --all-targets --no-default-features --features flash -- -D warnings
    cargo test --workspace --all-features
    # The default capacities too: --all-features tests only the large-tokens ones.
    cargo test -p latch-device --features flash
fi

printf '\n==> firmware: MCU build (STM32F767ZI) and size report\n'
oauth_dir=target/oauth
elf=thumbv7em-none-eabihf/release/latch-firmware
# The default build with the larger capacities first, kept aside: the
# default build after it only rebuilds latch-device and the firmware.
cargo build "${mcu[@]}" --features large-tokens
cp target/$elf target/latch-firmware-large-tokens
cargo build "${mcu[@]}"
# OAuth without OAuth1 first, kept aside: the second build (with it) only
# rebuilds latch-device and the firmware in the same target directory.
CARGO_TARGET_DIR=$oauth_dir cargo build "${mcu[@]}" --no-default-features --features oauth
cp $oauth_dir/$elf $oauth_dir/latch-firmware-without-oauth1
CARGO_TARGET_DIR=$oauth_dir cargo build "${mcu[@]}" --no-default-features --features oauth1
CARGO_TARGET_DIR=$baseline_dir cargo build "${mcu[@]}" --no-default-features

# flash = .vector_table + .text + .rodata + .data; static RAM = .data + .bss
# (+ .uninit: defmt's RTT buffer, in every build).
sizes() {
    "$size_tool" -A "$1" | awk '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { print flash, ram }'
}
read -r tls_flash tls_ram < <(sizes target/$elf)
read -r large_flash large_ram < <(sizes target/latch-firmware-large-tokens)
read -r full_flash full_ram < <(sizes $oauth_dir/$elf)
read -r base_flash base_ram < <(sizes $baseline_dir/$elf)
read -r lean_flash lean_ram < <(sizes $oauth_dir/latch-firmware-without-oauth1)
oauth_flash=$((full_flash - base_flash))
oauth_ram=$((full_ram - base_ram))
verdict() { if [ "$1" -le "$2" ]; then echo "goal <= $2 B met"; else echo "goal <= $2 B missed"; fi; }
printf '\n| build | flash (B) | static RAM (B) |\n| --- | ---: | ---: |\n'
printf '| baseline (network, TCP, buffers; no OAuth) | %d | %d |\n' "$base_flash" "$base_ram"
printf '| + OAuth (discovery, device flow, refresh, OAuth1, login in flash; plain HTTP) | %d | %d |\n' "$full_flash" "$full_ram"
printf '| + TLS 1.3 (embedded-tls, verified P-256 chain; the default build) | %d | %d |\n' "$tls_flash" "$tls_ram"
printf '| OAuth adds | %d (%s) | %d (%s) |\n' \
    "$oauth_flash" "$(verdict $oauth_flash 16384)" "$oauth_ram" "$(verdict $oauth_ram 4096)"
printf '| TLS adds (reported apart) | %d | %d |\n' "$((tls_flash - full_flash))" "$((tls_ram - full_ram))"
printf '| of what OAuth adds, OAuth1 (feature oauth1: HMAC-SHA1 signing) | %d | %d |\n' \
    "$((full_flash - lean_flash))" "$((full_ram - lean_ram))"
printf '| OAuth without OAuth1 adds | %d (%s) | %d |\n' \
    "$((lean_flash - base_flash))" "$(verdict $((lean_flash - base_flash)) 16384)" "$((lean_ram - base_ram))"
printf '| the default build with large-tokens (2 KiB tokens, 8 KiB answers, 16 KiB TLS records) | %d | %d |\n' \
    "$large_flash" "$large_ram"
printf '| large-tokens adds to the default build | %d | %d |\n' \
    "$((large_flash - tls_flash))" "$((large_ram - tls_ram))"

# Where OAuth's flash goes: symbols of the OAuth build that the baseline
# does not have, summed by crate (scripts/size_by_crate.py).
printf '\n==> firmware: what OAuth adds, by crate (bytes of flash)\n'
python3 ../scripts/size_by_crate.py "$tools" $baseline_dir/$elf $oauth_dir/$elf
# And whose code it is, by the source file of each instruction's innermost
# inlined line (scripts/size_by_source.py): the core's parsers inlined into
# the device's handlers count for the core.
printf '\n==> firmware: what OAuth adds, by source file (bytes of code)\n'
python3 ../scripts/size_by_source.py "$tools" $baseline_dir/$elf $oauth_dir/$elf 30

# Stack: every function's frame from `-Z emit-stack-sizes` (nightly), plus
# the deepest chain of direct calls below it (scripts/stack_depth.py). The
# OAuth steps are the Device's request writer and its answer handlers (the
# rest of handle_response, the record and the flash save are inlined into
# their callers); the TLS handshake is inlined into the main task's poll,
# whose own frame (embassy's init temporaries) is there in both builds.
printf '\n==> firmware: deepest stack of the OAuth steps (MCU build, -Z emit-stack-sizes)\n'
stack_flags='-Z emit-stack-sizes --cfg sha2_backend_soft="compact"'
CARGO_TARGET_DIR=target/stack RUSTFLAGS=$stack_flags cargo "+$NIGHTLY" build -q "${mcu[@]}"
CARGO_TARGET_DIR=target/stack-base RUSTFLAGS=$stack_flags cargo "+$NIGHTLY" build -q "${mcu[@]}" --no-default-features
depth() { python3 ../scripts/stack_depth.py "$1/thumbv7em-none-eabihf/release/latch-firmware" "$tools" "${@:2}"; }
printf '\n| step | deepest stack (B) | own frame (B) |\n| --- | ---: | ---: |\n'
depth target/stack \
    "Device::write_request (every request, whole; signs the OAuth1 one)=6Device13write_request" \
    "Device::on_device_authorization=6Device23on_device_authorization" \
    "Device::on_poll (RFC 8628 poll answers, tokens)=6Device7on_poll" \
    "Device::on_refresh=6Device10on_refresh" \
    "main task poll, with OAuth and TLS=11TaskStorage&21_____embassy_main_task" |
    awk -F '\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
depth target/stack-base "main task poll, baseline=11TaskStorage&21_____embassy_main_task" |
    awk -F '\t' '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
