#!/usr/bin/env bash
# Install the pinned dependencies (npm ci, skipped when node_modules already
# matches package-lock.json), then run the relying party with the given
# arguments. stdout: rp.mjs's step lines and JSON summary; npm's chatter goes
# to stderr. Exit status: rp.mjs's (0 passed, 1 a check failed, 2 usage), or
# 3 when the dependencies could not be installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh" || exit 3
exec node "$here/rp.mjs" "$@"
