#!/usr/bin/env bash
# latch-core's RFC vectors on an emulated Cortex-M4 (mcu-tests/): installs
# what it needs, idempotently, lints and builds the no_std test image, then
# runs it under QEMU (mps2-an386) with semihosting. Fails if a check fails,
# the image panics, faults or hangs, or the closing line
# `mcu: N passed, 0 failed` is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add rustfmt clippy >/dev/null
rustup target add thumbv7em-none-eabihf >/dev/null
if ! command -v qemu-system-arm >/dev/null; then
    sudo=()
    if [ "$(id -u)" != 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
fi

cargo fmt --manifest-path mcu-tests/Cargo.toml -- --check
cargo clippy --manifest-path mcu-tests/Cargo.toml --target thumbv7em-none-eabihf -- -D warnings
# The checks themselves under the core's non-test lints (no unwrap, no
# indexing, no unchecked arithmetic), as the MCU build compiles them.
cargo clippy -p latch-core --features selftest --target thumbv7em-none-eabihf -- -D warnings

# The runner and link flags are in mcu-tests/.cargo/config.toml, which cargo
# only reads from inside mcu-tests/.
cd mcu-tests
cargo build --release
elf=target/thumbv7em-none-eabihf/release/latch-mcu-tests
if command -v size >/dev/null; then
    # Flash holds .vector_table, .text, .rodata and .data's initial values.
    size "$elf" | awk 'NR == 2 { printf "image: %d bytes of flash, %d bytes of static RAM\n", $1 + $2, $2 + $3 }'
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s%N)
# `cargo run` execs the runner, so `timeout` stops QEMU itself on a hang.
status=0
timeout 60 cargo run --release 2>&1 | tee "$log" || status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "qemu: exit status $status after ${elapsed_ms} ms"
if [ "$status" = 124 ]; then
    echo "mcu-tests: timed out (a hang, or a fault QEMU could not report)" >&2
    exit 1
fi
if [ "$status" != 0 ]; then
    echo "mcu-tests: failed (exit status $status)" >&2
    exit 1
fi
if ! grep -Eq '^mcu: [1-9][0-9]* passed, 0 failed$' "$log"; then
    echo "mcu-tests: no closing 'mcu: N passed, 0 failed' line with N > 0" >&2
    exit 1
fi
# Repeat the closing line last.
grep -E '^mcu: [0-9]+ passed, [0-9]+ failed$' "$log"
