#!/usr/bin/env bash
# Figures at scale for BENCHMARKS.md: how `latch serve` holds up as the
# token table grows, and on PostgreSQL with one and two replicas.
#   bash scripts/bench_scale.sh [SECONDS]          (default 10 per wrk run)
#   1. SQLite growth curve: for each N in SCALE_NS (default 10^4 10^6 10^7)
#      a fresh database holding N live (unexpired) access tokens, seeded
#      straight into oauth2_access_tokens with the sqlite3 CLI
#      (bench/scale/seed_sqlite.sql: a recursive CTE, no journal, one
#      transaction); the seed time and database size; then introspection
#      of one token the server just issued (cached after the first
#      request), introspection walking seeded tokens whose text is known
#      (bench/scale/known_tokens.py: a cache miss, so a database read, each
#      request), and client_credentials issuance, each
#      wrk -t2 -c64 -d${SECONDS}s: requests/s, p50, p99, errors, and the
#      access-token cache hits the server's /metrics counted.
#   2. PostgreSQL, when LATCH_TEST_PG names a superuser URL (e.g.
#      postgres://postgres@127.0.0.1:55432/postgres; scripts/pg.sh starts
#      one): a fresh database latch_bench_<pid>, one replica (issuance,
#      introspection, Bearer /api/ping), then two replicas on the same
#      database with the load split between them (two wrk -t1 -c32 at once,
#      their requests/s summed); then the growth curve for PG_SCALE_NS
#      (default 10^4 10^6; 10^7 is added when the 10^6 seed took under 12 s,
#      i.e. 10^7 should seed in under 2 minutes), seeded with
#      generate_series (bench/scale/seed_pg.sql). Every database it creates
#      is dropped at the end. Then, with LATCH_TEST_PG, scripts/bench_lag.sh:
#      the invalidation lag between two replicas (bench/scale/LAG.md).
# Prints the markdown tables on stdout and writes them to
# bench/scale/TABLES.md, which bench/report.py puts into BENCHMARKS.md (so
# a later `scripts/bench.sh` run keeps them; also target/bench-scale/tables.md);
# each wrk run's full output is in target/bench-scale/*.txt, the figures
# in target/bench-scale/results.jsonl. Progress goes to stderr.
# Environment: LATCH_BIN (a prebuilt latch; without it, `cargo build
# --release -p latch-host` first), SCALE_NS, PG_SCALE_NS, SCALE_KNOWN (known
# tokens to walk, default 250000), SCALE_TMP (where the databases go,
# default $TMPDIR or /tmp; 10^7 tokens take about 3.5 GB on SQLite).
# Installs wrk, sqlite3 and (with LATCH_TEST_PG) postgresql-client (Debian)
# if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
threads=2
conns=64
sqlite_ns="${SCALE_NS:-10000 1000000 10000000}"
pg_ns="${PG_SCALE_NS:-10000 1000000}"
known_max="${SCALE_KNOWN:-250000}"
out=target/bench-scale
started=$EPOCHREALTIME
loadavg() { cut -d' ' -f1-3 /proc/loadavg | sed 's/ /, /g'; }
load_start=$(loadavg)

log() { echo "bench_scale: $*" >&2; }

# --- tools, idempotently ---------------------------------------------------
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v curl >/dev/null || need+=(curl)
[ -n "${LATCH_TEST_PG:-}" ] && ! command -v psql >/dev/null && need+=(postgresql-client)
if [ ${#need[@]} -gt 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"; } >&2
fi
if [ -z "${LATCH_BIN:-}" ]; then
    cargo build --release -q -p latch-host
fi
bin=${LATCH_BIN:-target/release/latch}
[ -x "$bin" ] || { echo "bench_scale: $bin is not an executable" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
results=$out/results.jsonl
: >"$results"
dir=$(mktemp -d "${SCALE_TMP:-${TMPDIR:-/tmp}}/latch-scale.XXXXXX")

# --- servers, databases, clean-up -------------------------------------------
servers=()
pg_dbs=()
stop_servers() {
    local p
    for p in "${servers[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${servers[@]}"; do wait "$p" 2>/dev/null || true; done
    servers=()
}
pg_admin() { psql "$LATCH_TEST_PG" -qAtX -v ON_ERROR_STOP=1 "$@"; }
pg_drop() {
    pg_admin -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '$1' AND pid <> pg_backend_pid()" >/dev/null || true
    pg_admin -c "DROP DATABASE IF EXISTS $1" || true
}
cleanup() {
    stop_servers
    local d
    for d in "${pg_dbs[@]}"; do pg_drop "$d"; done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME PORT SERVE_ARGS...: `latch serve` in the background,
# waited for until it says "listening".
start_server() {
    local name=$1 port=$2 pid
    shift 2
    LATCH_LOG=warn "$bin" serve --listen "127.0.0.1:$port" "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
    pid=$!
    servers+=("$pid")
    for _ in $(seq 600); do
        grep -q listening "$dir/$name.out" 2>/dev/null && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "bench_scale: server $name exited:" >&2
            cat "$dir/$name.err" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "bench_scale: server $name did not start listening in 60 s" >&2
    return 1
}

# secs_since T0: seconds since $EPOCHREALTIME was T0.
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# client_add ARGS...: registers the bench client; sets id, secret, basic.
client_add() {
    local c
    c=$("$bin" client add --name scale --scope "read write" "$@")
    id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$c")
    secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$c")
    basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
}

# issue PORT: a client_credentials token from the server on PORT.
issue() {
    curl -sf -u "$id:$secret" -d grant_type=client_credentials -d scope=read "http://127.0.0.1:$1/oauth2/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

# check_active PORT TOKEN: introspection says the token is live.
check_active() {
    local answer
    answer=$(curl -s -u "$id:$secret" --data-urlencode "token=$2" "http://127.0.0.1:$1/oauth2/introspect")
    case $answer in
    *'"active":true'*) ;;
    *) echo "bench_scale: token not active on port $1: $answer" >&2; return 1 ;;
    esac
}

# cache_count ADMIN_PORT hit|miss: the access-token cache counter.
cache_count() {
    { curl -s "http://127.0.0.1:$1/metrics" || true; } |
        awk -v r="result=\"$2\"" '/^latch_cache_requests_total\{/ && /cache="access_token"/ && index($0, r) { v = $NF } END { print v + 0 }'
}

# The wrk scripts: the request, then bench/wrk_report.lua's done().
lua() {
    local name=$1 file=$dir/$1.lua
    case $name in
    token) { echo 'wrk.method = "POST"'
        echo 'wrk.body = "grant_type=client_credentials&scope=read"'
        echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        echo "wrk.headers[\"Authorization\"] = \"Basic $basic\""; } >"$file" ;;
    introspect) { echo 'wrk.method = "POST"'
        echo "wrk.body = \"token=$token\""
        echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        echo "wrk.headers[\"Authorization\"] = \"Basic $basic\""; } >"$file" ;;
    ping) echo "wrk.headers[\"Authorization\"] = \"Bearer $token\"" >"$file" ;;
    introspect_cold) cat bench/scale/introspect_walk.lua >"$file" ;;
    esac
    cat bench/wrk_report.lua >>"$file"
    echo "$file"
}

path_of() {
    case $1 in
    token) echo /oauth2/token ;;
    introspect | introspect_cold) echo /oauth2/introspect ;;
    ping) echo /api/ping ;;
    esac
}

# measure LABEL PORT ADMIN_PORT ENDPOINT FIELDS...: one wrk run against
# one server, recorded with FIELDS and the cache hits/misses it caused.
measure() {
    local label=$1 port=$2 admin=$3 endpoint=$4 script h0 m0 args=()
    shift 4
    script=$(lua "$endpoint")
    [ "$endpoint" = introspect_cold ] && args=(-- "$known_file" "$basic" "$threads")
    h0=$(cache_count "$admin" hit)
    m0=$(cache_count "$admin" miss)
    log "$label: wrk -t$threads -c$conns -d${secs}s $(path_of "$endpoint")"
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$script" "http://127.0.0.1:$port$(path_of "$endpoint")" \
        "${args[@]}" >"$out/$label.txt" 2>&1
    python3 bench/scale/report.py record "$results" "$out/$label.txt" "endpoint=$endpoint" \
        "hits=$(($(cache_count "$admin" hit) - h0))" "misses=$(($(cache_count "$admin" miss) - m0))" "$@"
    sleep 1
}

# known_tokens N: up to known_max tokens for the cold walk, their hashes
# beside them; sets known_file, known_hashes, known_count and stride (row
# i of the seed takes known hash i/stride when stride divides i).
known_tokens() {
    known_count=$(($1 < known_max ? $1 : known_max))
    stride=$(($1 / known_count))
    known_file=$dir/known_$1.txt
    known_hashes=$dir/known_$1.hashes
    python3 bench/scale/known_tokens.py "$known_count" "$known_file" "$known_hashes"
}

# growth_runs BACKEND N PORT ADMIN_PORT: the three growth-curve runs against
# the server on PORT (introspection first, issuance last: it adds rows).
growth_runs() {
    local backend=$1 n=$2 port=$3 admin=$4 e
    token=$(issue "$port")
    check_active "$port" "$token"
    check_active "$port" "$(head -n 1 "$known_file")"
    for e in introspect introspect_cold token; do
        measure "${backend}_${n}_$e" "$port" "$admin" "$e" "backend=$backend" section=growth "n=$n"
    done
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1024/1024}' /proc/meminfo); server and wrk share the cores" >&2

# --- 1. SQLite growth curve ---------------------------------------------------
port=18481
admin=18491
printf '[admin]\nlisten = "127.0.0.1:%s"\n' "$admin" >"$dir/sqlite.toml"
for n in $sqlite_ns; do
    d=$dir/sqlite_$n
    mkdir -p "$d"
    db="sqlite://$d/latch.db"
    client_add --db "$db"
    known_tokens "$n"
    log "sqlite: seeding $n access tokens"
    t0=$EPOCHREALTIME
    sqlite3 "$d/latch.db" \
        ".parameter set @n $n" ".parameter set @stride $stride" ".parameter set @now $(date +%s)" \
        ".parameter set @client '$id'" \
        "CREATE TEMP TABLE known (h TEXT)" ".import --schema temp $known_hashes known" \
        ".read bench/scale/seed_sqlite.sql" >/dev/null
    took=$(secs_since "$t0")
    rows=$(sqlite3 "$d/latch.db" "SELECT count(*) FROM oauth2_access_tokens")
    bytes=$(stat -c %s "$d/latch.db")
    log "sqlite: $rows rows in $took s, $bytes bytes"
    python3 bench/scale/report.py seed "$results" backend=sqlite "n=$n" "rows=$rows" "seconds=$took" "bytes=$bytes"
    start_server "sqlite_$n" "$port" --db "$db" --config "$dir/sqlite.toml"
    growth_runs sqlite "$n" "$port" "$admin"
    stop_servers
    rm -rf "$d"
done

# --- 2. PostgreSQL --------------------------------------------------------------
pg_note=""
if [ -n "${LATCH_TEST_PG:-}" ]; then
    pg_admin -c "SELECT 1" >/dev/null
    pg_base=${LATCH_TEST_PG%%\?*}
    pg_query=${LATCH_TEST_PG#"$pg_base"}
    pg_url() { echo "${pg_base%/*}/$1$pg_query"; }
    key() { python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'; }
    box_key=$(key)
    session_key=$(key)
    # pg_config FILE URL ADMIN_PORT: a replica's configuration (replicas
    # share keys through it; PostgreSQL needs them configured).
    pg_config() {
        printf 'db = "%s"\n[keys]\nsecret_box_key = "%s"\nsession_key = "%s"\n[admin]\nlisten = "127.0.0.1:%s"\n' \
            "$2" "$box_key" "$session_key" "$3" >"$1"
    }
    # pg_new NAME: a fresh database (dropped on exit).
    pg_new() {
        pg_admin -c "CREATE DATABASE $1"
        pg_dbs+=("$1")
    }
    pa=18482 pb=18483 aa=18492 ab=18493

    # (a) one replica, (b) two replicas, on a fresh database.
    name=latch_bench_$$
    pg_new "$name"
    url=$(pg_url "$name")
    pg_config "$dir/pg_a.toml" "$url" "$aa"
    pg_config "$dir/pg_b.toml" "$url" "$ab"
    client_add --config "$dir/pg_a.toml"
    start_server pg_a "$pa" --config "$dir/pg_a.toml"
    token=$(issue "$pa")
    check_active "$pa" "$token"
    for e in token ping introspect; do
        measure "pg_one_$e" "$pa" "$aa" "$e" backend=pg section=one n=0
    done
    start_server pg_b "$pb" --config "$dir/pg_b.toml"
    check_active "$pb" "$token"
    for e in token ping introspect; do
        script=$(lua "$e")
        log "pg two replicas: 2 x wrk -t1 -c$((conns / 2)) -d${secs}s $(path_of "$e")"
        ha=$(cache_count "$aa" hit) ma=$(cache_count "$aa" miss)
        hb=$(cache_count "$ab" hit) mb=$(cache_count "$ab" miss)
        wrk -t1 -c$((conns / 2)) -d"${secs}s" --latency -s "$script" "http://127.0.0.1:$pa$(path_of "$e")" \
            >"$out/pg_two_${e}_A.txt" 2>&1 &
        wa=$!
        wrk -t1 -c$((conns / 2)) -d"${secs}s" --latency -s "$script" "http://127.0.0.1:$pb$(path_of "$e")" \
            >"$out/pg_two_${e}_B.txt" 2>&1 &
        wb=$!
        wait "$wa"
        wait "$wb"
        python3 bench/scale/report.py record "$results" "$out/pg_two_${e}_A.txt" "endpoint=$e" backend=pg section=two n=0 replica=A \
            "hits=$(($(cache_count "$aa" hit) - ha))" "misses=$(($(cache_count "$aa" miss) - ma))"
        python3 bench/scale/report.py record "$results" "$out/pg_two_${e}_B.txt" "endpoint=$e" backend=pg section=two n=0 replica=B \
            "hits=$(($(cache_count "$ab" hit) - hb))" "misses=$(($(cache_count "$ab" miss) - mb))"
        sleep 1
    done
    stop_servers
    pg_drop "$name"

    # (c) the growth curve on PostgreSQL.
    ran_pg=""
    pg_ten_six=""
    auto=""
    [ -z "${PG_SCALE_NS:-}" ] && auto=auto
    for n in $pg_ns $auto; do
        if [ "$n" = auto ]; then
            # The default list only: 10^7 when 10^6 seeded in under 12 s.
            if [ -z "$pg_ten_six" ] || ! awk -v s="$pg_ten_six" 'BEGIN { exit !(s < 12) }'; then
                pg_note="PostgreSQL at 10^7 was skipped: 10^6 seeded in ${pg_ten_six:-?} s here, so 10^7 would take over 2 minutes."
                break
            fi
            n=10000000
        fi
        case " $ran_pg " in *" $n "*) continue ;; esac
        ran_pg="$ran_pg $n"
        name=latch_bench_$$_$n
        pg_new "$name"
        url=$(pg_url "$name")
        pg_config "$dir/pg_g.toml" "$url" "$aa"
        client_add --config "$dir/pg_g.toml"
        known_tokens "$n"
        log "pg: seeding $n access tokens"
        t0=$EPOCHREALTIME
        psql "$url" -qAtX -v ON_ERROR_STOP=1 -v "n=$n" -v "stride=$stride" -v "now=$(date +%s)" -v "client=$id" \
            -f bench/scale/seed_pg.sql <"$known_hashes" >/dev/null
        took=$(secs_since "$t0")
        [ "$n" = 1000000 ] && pg_ten_six=$took
        rows=$(psql "$url" -qAtX -c "SELECT count(*) FROM oauth2_access_tokens")
        bytes=$(psql "$url" -qAtX -c "SELECT pg_database_size(current_database())")
        log "pg: $rows rows in $took s, $bytes bytes"
        python3 bench/scale/report.py seed "$results" backend=pg "n=$n" "rows=$rows" "seconds=$took" "bytes=$bytes"
        start_server "pg_$n" "$pa" --config "$dir/pg_g.toml"
        growth_runs pg "$n" "$pa" "$aa"
        stop_servers
        pg_drop "$name"
    done
else
    log "LATCH_TEST_PG is not set: PostgreSQL skipped"
fi

# --- the tables ------------------------------------------------------------------
python3 bench/scale/report.py render "$results" "secs=$secs" "threads=$threads" "conns=$conns" \
    "cores=$(nproc)" "known=$known_max" "pg_note=$pg_note" \
    "load_start=$load_start" "load_end=$(loadavg)" "date=$(date -u '+%Y-%m-%d %H:%M UTC')" >"$out/tables.md"
cat "$out/tables.md"
cp "$out/tables.md" bench/scale/TABLES.md
log "done in $(secs_since "$started") s; raw wrk output in $out/"
# 3. The invalidation lag between two replicas (bench/scale/LAG.md).
if [ -n "${LATCH_TEST_PG:-}" ]; then
    log "pg: invalidation lag (scripts/bench_lag.sh)"
    bash scripts/bench_lag.sh >&2
fi
