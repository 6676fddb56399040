#!/usr/bin/env bash
# Install the pinned dependencies (npm ci, skipped when node_modules already
# matches package-lock.json), then run the relying party with the given
# arguments. stdout: rp.mjs's step lines and JSON summary; npm's chatter goes
# to stderr. Exit status: rp.mjs's (0 passed, 1 a check failed, 2 usage), or
# 3 when the dependencies could not be installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.latch-lock-sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 || { echo "run.sh: npm ci failed" >&2; exit 3; }
  echo "$want" > "$stamp"
fi
exec node "$here/rp.mjs" "$@"
