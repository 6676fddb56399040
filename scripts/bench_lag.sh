#!/usr/bin/env bash
# The replica invalidation lag for BENCHMARKS.md (issue 17): runs the
# end-to-end test that measures it — two `latch serve` replicas on one
# PostgreSQL, a token (or client) B has cached revoked on A, B polled until
# it refuses (tests/tests/replicas_e2e.rs,
# a_revocation_on_a_reaches_b_within_a_second) — and writes what it printed
# as a table to bench/scale/LAG.md, which bench/report.py puts into
# BENCHMARKS.md after the scale tables. Needs LATCH_TEST_PG (a superuser
# URL; `eval "$(bash scripts/pg.sh start)"` sets it). scripts/bench_scale.sh
# calls this when LATCH_TEST_PG is set.
#   bash scripts/bench_lag.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LATCH_TEST_PG:?set LATCH_TEST_PG (eval \"\$(bash scripts/pg.sh start)\")}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -q -p latch-tests --test replicas_e2e a_revocation_on_a_reaches_b_within_a_second \
    -- --exact --nocapture >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
python3 - "$log" bench/scale/LAG.md <<'PY'
import re, sys, datetime
lines = open(sys.argv[1]).read().splitlines()
rows = []
for l in lines:
    m = re.match(r"invalidation lag, (.+) -> refused by B: median ([\d.]+) ms, worst ([\d.]+) ms over (\d+) runs", l)
    if m:
        rows.append(m.groups())
polls = next((l for l in lines if l.startswith("invalidation lag: ")), "")
if not rows:
    sys.exit("bench_lag: the test printed no lag lines")
out = ["### PostgreSQL: invalidation lag between replicas", "",
       "`bash scripts/bench_lag.sh`: two `latch serve` replicas on one PostgreSQL database "
       "(LISTEN/NOTIFY); a token or client that replica B has cached is revoked or removed "
       "through replica A (or the CLI), and B is polled — at once, then every 20 ms — until it "
       "refuses. The test asserts a bound of one second. "
       f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC.", "",
       "| what | runs | median | worst |", "| --- | ---: | ---: | ---: |"]
for what, med, worst, runs in rows:
    out.append(f"| {what} → refused by B | {runs} | {float(med):.1f} ms | {float(worst):.1f} ms |")
if polls:
    out += ["", polls.replace("invalidation lag: ", "First polls: ", 1) + "."]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PY
