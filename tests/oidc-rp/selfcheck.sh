#!/usr/bin/env bash
# Prove the relying party against node-oidc-provider (no Latch involved).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$here/node_modules/.latch-lock-sha256"
want="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
  echo "$want" > "$stamp"
fi
exec node "$here/selfcheck.mjs" "$@"
