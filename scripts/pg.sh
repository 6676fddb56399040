#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 for the end-to-end tests.
#   eval "$(bash scripts/pg.sh start)"   # exports LATCH_TEST_PG=postgres://...
#   bash scripts/pg.sh stop
# A server this script already started is reused as it is; a stale one is
# wiped and started afresh.
# Installs Debian's postgresql if missing. Runs the server as the
# 'postgres' system user (initdb refuses root), trust auth on loopback only.
set -euo pipefail
port="${LATCH_PG_PORT:-55432}"
dir="${LATCH_PG_DIR:-/tmp/latch-pg-$port}"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
case "${1:-}" in
start)
    if [ -z "$bin" ]; then
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    # Already running (another shell started it): reuse it, so tests that
    # are using it now are not cut off.
    if [ -f "$dir/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
        echo "export LATCH_TEST_PG=postgres://postgres@127.0.0.1:$port/postgres"
        exit 0
    fi
    if [ -f "$dir/postmaster.pid" ]; then
        as_pg "$bin/pg_ctl" -D "$dir" -m immediate stop >&2 || true
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    as_pg "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >&2
    echo "export LATCH_TEST_PG=postgres://postgres@127.0.0.1:$port/postgres"
    ;;
stop)
    if [ -n "$bin" ] && [ -f "$dir/postmaster.pid" ]; then
        if [ "$(id -u)" = 0 ]; then
            runuser -u postgres -- "$bin/pg_ctl" -D "$dir" -m fast stop >&2 || true
        else
            "$bin/pg_ctl" -D "$dir" -m fast stop >&2 || true
        fi
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
