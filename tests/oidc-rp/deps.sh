# Sourced by run.sh, selfcheck.sh and op.sh: installs the pinned npm
# dependencies (npm ci), skipped when node_modules already matches
# package-lock.json. Sets $here. Returns 3 when npm ci fails.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.latch-lock-sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 || { echo "oidc-rp: npm ci failed" >&2; return 3; }
  echo "$want" > "$stamp"
fi
