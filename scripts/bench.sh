#!/usr/bin/env bash
# Regenerates every table of BENCHMARKS.md in one run on this machine:
#   1. criterion (core/benches/peers.rs): OAuth1 sign (Latch, oauth1-request,
#      the HMAC floor) and verify, OAuth2 grants against the in-memory store;
#      core/benches/jose.rs and oauth2.rs: ES256/EdDSA sign and verify, the
#      code exchange with and without an id_token;
#   2. oauthlib (bench/python/oauthlib_sign.py): Client.sign and endpoint
#      validation of the same requests, timed with timeit;
#   3. wrk on loopback against `latch serve` (SQLite), the Authlib + Flask
#      peer under gunicorn (workers = cores) and the express +
#      @node-oauth/oauth2-server peer (cluster, workers = cores), each started
#      fresh: client_credentials issuance, Bearer /api/ping, introspection;
#      requests/s, p50/p99, errors, idle and peak RSS; then Latch again over
#      TLS (--tls-self-signed: rustls, ECDSA P-256 leaf) with keep-alive, and
#      both Latch servers with a new connection per request (`Connection:
#      close`) to price a full TCP + TLS handshake; and the OpenID runs:
#      refresh rotation with and without an id_token, JWT access tokens;
#   bash scripts/bench.sh [SECONDS] [CONNECTIONS]    (defaults 30, 64)
# SECONDS is per endpoint per server; BENCH_MEASURE_SECS (default 4) is
# criterion's measurement time per benchmark. About 9 minutes with the
# defaults. Installs what it needs (wrk, the Python venv, node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-30}"
conns="${2:-64}"
threads=2
out=target/bench
rm -rf "$out"
mkdir -p "$out"
started=$(date +%s)
uptime >"$out/load_start"

# --- tools, idempotently ---------------------------------------------------
if ! command -v wrk >/dev/null; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >&2
fi
py=bench/python/.venv/bin/python
[ -x "$py" ] || python3 -m venv bench/python/.venv
"$py" -m pip install -q --disable-pip-version-check -r bench/python/requirements.txt
if ! [ bench/node/node_modules/.package-lock.json -nt bench/node/package-lock.json ]; then
    (cd bench/node && npm ci --silent --no-audit --no-fund)
fi

# --- 1. criterion ----------------------------------------------------------
cargo build --release -q -p latch-host
bin=target/release/latch
BENCH_MEASURE_SECS="${BENCH_MEASURE_SECS:-4}" cargo bench -q -p latch-core --bench peers 2>&1 |
    grep -E '^signature |time:' >"$out/criterion.log"
# JOSE and the OpenID code exchange in the core (criterion's own timing).
cargo bench -q -p latch-core --bench jose -- --measurement-time "${BENCH_MEASURE_SECS:-4}" >/dev/null 2>&1
cargo bench -q -p latch-core --bench oauth2 -- --measurement-time "${BENCH_MEASURE_SECS:-4}" code_exchange >/dev/null 2>&1

# --- 2. oauthlib, and `latch sign` on the same inputs ---------------------
"$py" bench/python/oauthlib_sign.py --seconds 2 >"$out/oauthlib.json"
common=(--consumer-key xvz1evFS4wEEPTGEFPHBog --consumer-secret kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw
    --token 370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb --token-secret LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE
    --nonce kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg --timestamp 1318622958 --oauth-version)
body=()
for i in $(seq -w 0 49); do body+=(--body-param "status$i=Hello Ladies + Gentlemen, a signed OAuth request! $i"); done
small_url='https://api.example.com/1.1/statuses/home_timeline.json?count=20&since_id=12345'
large_url='https://api.example.com/1.1/statuses/update.json'
sig() { sed -E 's/.*oauth_signature="([^"]+)".*/\1/'; }
{
    echo "small_sha1 $($bin sign --method GET --url "$small_url" "${common[@]}" --signature-method HMAC-SHA1 | sig)"
    echo "small_sha256 $($bin sign --method GET --url "$small_url" "${common[@]}" --signature-method HMAC-SHA256 | sig)"
    echo "large_sha1 $($bin sign --method POST --url "$large_url" "${common[@]}" "${body[@]}" --signature-method HMAC-SHA1 | sig)"
    echo "large_sha256 $($bin sign --method POST --url "$large_url" "${common[@]}" "${body[@]}" --signature-method HMAC-SHA256 | sig)"
} >"$out/latch_sign.txt"

# --- 3. servers under load ---------------------------------------------------
dir=$(mktemp -d)
server=""
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}
trap 'stop_server; rm -rf "$dir"' EXIT

# The server's RSS in kB: the process plus its children (gunicorn and node
# cluster workers).
rss() {
    local total=0 p v
    for p in "$server" $(pgrep -P "$server" || true); do
        v=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# The scheme of the server being measured, and what curl needs to trust it.
scheme=http
cacert=()

wait_up() {
    for _ in $(seq 100); do
        curl -s "${cacert[@]}" -o /dev/null "$scheme://127.0.0.1:$1/api/ping" && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    return 1
}

# load NAME PORT ENDPOINT: one wrk run, sampling RSS every 0.2 s.
load() {
    local name=$1 port=$2 endpoint=$3 lua=$dir/$3.lua peak=0 r wrk_pid
    case $endpoint in
    token) { echo 'wrk.method = "POST"'
        echo 'wrk.body = "grant_type=client_credentials&scope=read"'
        echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        echo "wrk.headers[\"Authorization\"] = \"Basic $basic\""; } >"$lua"; path=/oauth2/token ;;
    ping) { echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""; } >"$lua"; path=/api/ping ;;
    ping_close) { echo "wrk.headers[\"Authorization\"] = \"Bearer $token\""
        echo 'wrk.headers["Connection"] = "close"'; } >"$lua"; path=/api/ping ;;
    introspect) { echo 'wrk.method = "POST"'
        echo "wrk.body = \"token=$token\""
        echo 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        echo "wrk.headers[\"Authorization\"] = \"Basic $basic\""; } >"$lua"; path=/oauth2/introspect ;;
    refresh_*) cat bench/oidc/refresh.lua >"$lua"; path=/oauth2/token ;;
    esac
    cat bench/wrk_report.lua >>"$lua"
    wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$lua" "$scheme://127.0.0.1:$port$path" \
        -- "${wrk_args[@]}" >"$dir/wrk.out" 2>&1 &
    wrk_pid=$!
    while kill -0 "$wrk_pid" 2>/dev/null; do
        r=$(rss)
        [ "$r" -gt "$peak" ] && peak=$r
        sleep 0.2
    done
    wait "$wrk_pid"
    sed -n 's/^RESULT //p' "$dir/wrk.out" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); d.update(server=sys.argv[1], endpoint=sys.argv[2], peak_rss_kb=int(sys.argv[3])); print(json.dumps(d))' \
            "$name" "$endpoint" "$peak" >>"$out/load.jsonl"
}

wrk_args=()

# measure NAME PORT [TOKEN] [ENDPOINT...]: these endpoints (default: the
# three) against the server already started on PORT; ping and introspection
# use TOKEN (or, when empty, a token the server issues now).
measure() {
    local name=$1 port=$2 seeded=${3:-} issued endpoints
    shift $(($# < 3 ? $# : 3))
    endpoints=("$@")
    [ ${#endpoints[@]} -gt 0 ] || endpoints=(token ping introspect)
    wait_up "$port"
    sleep 1
    issued=$(curl -s "${cacert[@]}" -u "$id:$secret" -d grant_type=client_credentials -d scope=read "$scheme://127.0.0.1:$port/oauth2/token" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    token=${seeded:-$issued}
    curl -sf "${cacert[@]}" -H "Authorization: Bearer $token" "$scheme://127.0.0.1:$port/api/ping" >/dev/null
    echo "{\"server\":\"$name\",\"idle_rss_kb\":$(rss),\"processes\":$(($(pgrep -c -P "$server" || true) + 1))}" >>"$out/idle.jsonl"
    for endpoint in "${endpoints[@]}"; do load "$name" "$port" "$endpoint"; done
}

# Latch: a fresh SQLite database in a temporary directory.
db="sqlite://$dir/latch.db"
client=$($bin client add --name bench --scope "read write" --db "$db")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")
secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")
basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
LATCH_LOG=warn $bin serve --listen 127.0.0.1:18181 --db "$db" >"$dir/latch.out" 2>"$dir/latch.err" &
server=$!
measure latch 18181 "" token ping introspect ping_close

# OpenID Connect on the same server: refresh-token rotation with and
# without an id_token (RS256, signed per request), and client_credentials
# with RFC 9068 JWT access tokens (RS256) beside the opaque run above. Each
# refresh request spends a live token from its thread's pool
# (bench/oidc/refresh.lua) and puts the rotated one back.
$bin user add bench --password bench-password --db "$db" >/dev/null
for kind in oidc plain; do
    scope="read"; [ "$kind" = oidc ] && scope="openid read"
    rp=$($bin client add --name "rp-$kind" --redirect-uri http://127.0.0.1:9/cb --scope "$scope" --db "$db")
    rp_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$rp")
    rp_secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$rp")
    mkdir -p "$dir/pool_$kind"
    python3 bench/oidc/seed.py http://127.0.0.1:18181 "$rp_id" "$rp_secret" bench bench-password "$scope" \
        $((2 * conns)) http://127.0.0.1:9/cb >"$dir/pool_$kind/all"
    for t in $(seq 0 $((threads - 1))); do
        awk -v t="$t" -v n="$threads" 'NR % n == t' "$dir/pool_$kind/all" >"$dir/pool_$kind/tokens_$t"
    done
    wrk_args=("$dir/pool_$kind" "$(printf '%s:%s' "$rp_id" "$rp_secret" | base64 -w0)")
    load latch 18181 "refresh_$kind"
    wrk_args=()
done
jwt=$($bin client add --name bench-jwt --scope "read write" --access-token-format jwt --db "$db")
saved_basic=$basic
basic=$(printf '%s:%s' "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$jwt")" \
    "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$jwt")" | base64 -w0)
load latch_jwt 18181 token
basic=$saved_basic
stop_server

# Latch over TLS: the same database, a self-signed CA and leaf beside it.
LATCH_LOG=warn $bin serve --tls-self-signed --listen 127.0.0.1:18181 --db "$db" >"$dir/latch.out" 2>"$dir/latch.err" &
server=$!
scheme=https
cacert=(--cacert "$dir/latch-ca.pem")
for _ in $(seq 100); do [ -f "$dir/latch-ca.pem" ] && break; sleep 0.1; done
measure latch_tls 18181 "" token ping introspect ping_close
stop_server
scheme=http
cacert=()

# The peers get the same client id/secret. Each of their workers has its own
# memory, so every worker is seeded with one token (BENCH_TOKEN) for the ping
# and introspection runs: whichever worker answers knows it.
workers=$(nproc)
seed=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
BENCH_CLIENT_ID=$id BENCH_CLIENT_SECRET=$secret BENCH_TOKEN=$seed \
    bench/python/.venv/bin/gunicorn -w "$workers" -b 127.0.0.1:18282 --chdir bench/python \
    --log-level warning authlib_server:app >"$dir/gunicorn.out" 2>&1 &
server=$!
measure authlib 18282 "$seed"
stop_server

BENCH_CLIENT_ID=$id BENCH_CLIENT_SECRET=$secret BENCH_TOKEN=$seed PORT=18383 BENCH_WORKERS=$workers \
    node bench/node/server.js >"$dir/node.out" 2>&1 &
server=$!
measure node 18383 "$seed"
stop_server

# --- 4. the firmware: flash, static RAM and stack (scripts/firmware.sh) ------
# Sizes are counted, not timed: the busy machine does not change them.
bash scripts/firmware.sh size 2>/dev/null | grep -E '^(\| |$)' >"$out/firmware_size.md"
# The flash cost of latch_core::jose on the MCU (scripts/jose_size.sh).
bash scripts/jose_size.sh >"$out/jose_size.txt" 2>/dev/null || true

uptime >"$out/load_end"
{
    echo "nproc=$(nproc)"
    echo "cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
    echo "mem_gib=$(awk '/MemTotal/ { printf "%.0f", $2/1024/1024 }' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "commit=$(git describe --always --dirty)"
    echo "rustc=$(rustc --version)"
    echo "python=$("$py" --version 2>&1)"
    echo "node=$(node --version)"
    echo "wrk=$(wrk -v 2>&1 | head -1)"
    echo "secs=$secs"
    echo "conns=$conns"
    echo "threads=$threads"
    echo "workers=$workers"
    echo "criterion_secs=${BENCH_MEASURE_SECS:-4}"
    echo "elapsed_s=$(($(date +%s) - started))"
} >"$out/machine"
python3 bench/report.py "$out" >BENCHMARKS.md
echo "wrote BENCHMARKS.md ($(($(date +%s) - started)) s)"
