#!/usr/bin/env bash
# Install the pinned dependencies (npm ci, skipped when node_modules already
# matches package-lock.json), then run op.mjs with the given arguments.
# Exit status 3 when the dependencies could not be installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh" || exit 3
exec node "$here/op.mjs" "$@"
