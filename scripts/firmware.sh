#!/usr/bin/env bash
# The firmware's checks and its size report (called by scripts/test.sh; the
# end-to-end TAP test itself is tests/tests/firmware_tap.rs, in cargo test).
#
#   fmt, clippy (Linux build; MCU build with and without OAuth), its unit
#   tests, then the MCU build (thumbv7em-none-eabihf, release: opt-level s,
#   fat LTO, one codegen unit, panic=abort) and the same firmware without
#   the `oauth` feature as the baseline, and a table of what OAuth costs.
#
#   bash scripts/firmware.sh          # everything
#   bash scripts/firmware.sh size     # only the size report
# Installs what it needs: the thumbv7em target and rustup's llvm-tools.
set -euo pipefail
cd "$(dirname "$0")/../firmware"

rustup target add thumbv7em-none-eabihf >/dev/null
rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools-preview >/dev/null
size_tool="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-size"

# The MCU build takes its server and credentials at build time; these
# placeholders stand in (the size does not depend on their values).
export LATCH_SERVER=192.168.1.10:8080 LATCH_CLIENT_ID=device LATCH_CLIENT_SECRET=secret
export LATCH_SCOPE=read LATCH_OAUTH1_TOKEN=token LATCH_OAUTH1_TOKEN_SECRET=token-secret
mcu=(--release --target thumbv7em-none-eabihf)
baseline_dir=target/baseline

if [ "${1:-}" != size ]; then
    printf '\n==> firmware: fmt, clippy, unit tests\n'
    cargo fmt -- --check
    cargo clippy --all-targets -- -D warnings
    cargo clippy "${mcu[@]}" -- -D warnings
    CARGO_TARGET_DIR=$baseline_dir cargo clippy "${mcu[@]}" --no-default-features -- -D warnings
    cargo test
fi

printf '\n==> firmware: MCU build (STM32F767ZI) and size report\n'
cargo build "${mcu[@]}"
CARGO_TARGET_DIR=$baseline_dir cargo build "${mcu[@]}" --no-default-features

# flash = .vector_table + .text + .rodata + .data; static RAM = .data + .bss
# (+ .uninit: defmt's RTT buffer, in both builds).
sizes() {
    "$size_tool" -A "$1" | awk '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        END { print flash, ram }'
}
read -r full_flash full_ram < <(sizes target/thumbv7em-none-eabihf/release/latch-firmware)
read -r base_flash base_ram < <(sizes $baseline_dir/thumbv7em-none-eabihf/release/latch-firmware)
oauth_flash=$((full_flash - base_flash))
oauth_ram=$((full_ram - base_ram))
verdict() { if [ "$1" -le "$2" ]; then echo "goal <= $2 B met"; else echo "goal <= $2 B missed"; fi; }
printf '\n| build | flash (B) | static RAM (B) |\n| --- | ---: | ---: |\n'
printf '| baseline (network, TCP, buffers; no OAuth) | %d | %d |\n' "$base_flash" "$base_ram"
printf '| latch-firmware (device flow, refresh, OAuth1) | %d | %d |\n' "$full_flash" "$full_ram"
printf '| OAuth adds | %d (%s) | %d (%s) |\n' \
    "$oauth_flash" "$(verdict $oauth_flash 16384)" "$oauth_ram" "$(verdict $oauth_ram 4096)"
