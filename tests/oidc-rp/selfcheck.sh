#!/usr/bin/env bash
# Prove the relying party against node-oidc-provider (no Latch involved).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh" || exit 3
exec node "$here/selfcheck.mjs" "$@"
