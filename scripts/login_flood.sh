#!/usr/bin/env bash
# Does /oauth2/token keep answering while logins are flooded? (issue 13,
# item 8: argon2 runs on the blocking pool behind a per-core semaphore.)
#   bash scripts/login_flood.sh [SECONDS]      (default 15)
# Runs a release `latch serve` on SQLite with the login limits raised (so
# every flooded attempt really runs argon2), then wrk twice against the
# token endpoint (client_credentials, 8 connections): alone, and while a
# second wrk floods the consent form with wrong passwords (32 connections,
# a valid CSRF pair, so each attempt reaches the password check).
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; } >&2
cargo build --release -q -p latch-host
bin=target/release/latch
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat >"$dir/latch.toml" <<TOML
db = "sqlite://$dir/latch.db"
[limits]
failed_logins_per_user = 1000000
failed_logins_per_address = 1000000
TOML
client=$($bin client add --name load --scope read --redirect-uri https://app.example/cb --config "$dir/latch.toml")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_id"])' "$client")
secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["client_secret"])' "$client")
$bin user add alice --password wonderland --config "$dir/latch.toml"
port=18191
LATCH_LOG=warn $bin serve --listen 127.0.0.1:$port --config "$dir/latch.toml" >"$dir/out" 2>"$dir/err" &
pid=$!
for _ in $(seq 50); do grep -q listening "$dir/out" 2>/dev/null && break; sleep 0.1; done
base=http://127.0.0.1:$port
basic=$(printf '%s:%s' "$id" "$secret" | base64 -w0)
query="response_type=code&client_id=$id&redirect_uri=https://app.example/cb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
page=$(curl -s -c "$dir/jar" "$base/oauth2/authorize?$query")
csrf=$(printf '%s' "$page" | sed -nE 's/.*name="csrf" value="([^"]+)".*/\1/p')
cookie=$(awk '$6 == "latch_csrf" { print "latch_csrf=" $7 }' "$dir/jar")
request=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$query")

cat >"$dir/token.lua" <<LUA
wrk.method = "POST"
wrk.body = "grant_type=client_credentials&scope=read"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
cat >"$dir/flood.lua" <<LUA
wrk.method = "POST"
wrk.body = "request=$request&csrf=$csrf&username=alice&password=wrong&decision=approve"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "$cookie"
LUA
# A flooded attempt must reach the password check (401), not the CSRF one.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "request=$request&csrf=$csrf&username=alice&password=wrong&decision=approve" "$base/oauth2/authorize")
[ "$status" = 401 ] || { echo "the flood's request is answered $status, not 401" >&2; exit 1; }

summary() { grep -E 'Requests/sec|Latency  |50%|99%|Non-2xx|Socket errors|requests in'; }
echo "machine: $(nproc) cores; server and both wrk share them; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "== token issuance alone: wrk -t1 -c8 -d${secs}s"
wrk -t1 -c8 -d"${secs}s" --latency -s "$dir/token.lua" "$base/oauth2/token" | summary
echo
echo "== token issuance while 32 connections flood the login form"
wrk -t1 -c32 -d"$((secs + 4))s" --latency -s "$dir/flood.lua" "$base/oauth2/authorize" >"$dir/flood.out" 2>&1 &
flood=$!
sleep 2
wrk -t1 -c8 -d"${secs}s" --latency -s "$dir/token.lua" "$base/oauth2/token" | summary
wait "$flood"
echo
echo "== the flood itself (wrong passwords, each one argon2 verification)"
summary <"$dir/flood.out"
