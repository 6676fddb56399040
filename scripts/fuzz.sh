#!/usr/bin/env bash
# Runs every cargo-fuzz target for SECONDS each (default 20), seeded from
# fuzz/seeds/<target>, growing fuzz/corpus/<target> (not committed).
# Fails on the first crash; the reproducer lands in fuzz/artifacts/<target>/.
# Installs what it needs: the pinned nightly (scripts/nightly.sh) and cargo-fuzz.
#
#   bash scripts/fuzz.sh            # 20 s per target
#   bash scripts/fuzz.sh 600        # a 10-minute campaign per target
#   bash scripts/fuzz.sh 60 form_parse oauth1_header   # chosen targets
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
shift || true

source scripts/nightly.sh
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo "+$NIGHTLY" fuzz list)
fi

cargo "+$NIGHTLY" fuzz build -O
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
    printf '\n==> fuzz %s for %ss\n' "$t" "$seconds"
    log=$(mktemp)
    status=0
    cargo "+$NIGHTLY" fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 60 "$log"
        echo "fuzz target $t FAILED (status $status); reproducer in fuzz/artifacts/$t/"
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
done
