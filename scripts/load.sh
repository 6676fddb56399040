#!/usr/bin/env bash
# Load figures for `latch serve` on loopback with wrk (both share this
# machine's cores): client_credentials issuance, Bearer /api/ping and
# introspection, with requests/s, latency percentiles, errors, and the
# server's idle and peak RSS.
#   bash scripts/load.sh [SECONDS] [CONNECTIONS] [http|https]   (defaults 15, 64, http)
# https: the server runs with --tls-self-signed (rustls), wrk keeps its
# connections alive, and one more run sends `Connection: close` so every
# request pays a full TCP + TLS handshake.
# Installs wrk (Debian) if missing; builds the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
conns="${2:-64}"
scheme="${3:-http}"
case "$scheme" in http) tls=() ;; https) tls=(--tls-self-signed) ;; *) echo "load.sh: scheme must be http or https" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >&2
cargo build --release -q -p latch-host
bin=target/release/latch
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
db="sqlite://$dir/latch.db"
client=$($bin client add --name load --scope "read write" --db "$db")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")
secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")
port=18181
LATCH_LOG=warn $bin serve --listen 127.0.0.1:$port --db "$db" "${tls[@]}" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 50); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
base=$scheme://127.0.0.1:$port
cacert=()
[ "$scheme" = https ] && cacert=(--cacert "$dir/latch-ca.pem")
basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
rss() { awk -v k="$1" '$1 == k":" { print $2 }' /proc/$pid/status; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024/1024)" GiB"}' /proc/meminfo); server and wrk share the cores"
echo "idle RSS: $(rss VmRSS) kB"
token=$(curl -s "${cacert[@]}" -u "$id:$secret" -d grant_type=client_credentials $base/oauth2/token | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

cat >"$dir/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
cat >"$dir/introspect.lua" <<LUA
wrk.method = "POST"
wrk.body = "token=$token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA

run() {
    local name=$1; shift
    echo
    echo "== $name: wrk -t2 -c$conns -d${secs}s"
    wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" | grep -E 'Requests/sec|Latency  |50%|90%|99%|Non-2xx|Socket errors|requests in'
    echo "peak RSS so far: $(rss VmHWM) kB"
}
run "client_credentials token issuance" -s "$dir/token.lua" "$base/oauth2/token"
run "Bearer-protected /api/ping" -H "Authorization: Bearer $token" "$base/api/ping"
run "introspection" -s "$dir/introspect.lua" "$base/oauth2/introspect"
run "Bearer-protected /api/ping, new connection per request" -H "Authorization: Bearer $token" -H "Connection: close" "$base/api/ping"
