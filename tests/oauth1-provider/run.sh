#!/usr/bin/env bash
# Runs provider.py (an OAuth 1.0a provider built on oauthlib's provider
# endpoints) in its own venv, installing the pinned requirements first
# (skipped when the venv already matches requirements.txt). Exit status 3
# when they could not be installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.latch-requirements-sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]]; then
  { [ -x "$venv/bin/python" ] || python3 -m venv "$venv"; } >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/requirements.txt" >&2 \
    || { echo "oauth1-provider: pip install failed" >&2; exit 3; }
  echo "$want" > "$stamp"
fi
exec "$venv/bin/python" "$here/provider.py" "$@"
