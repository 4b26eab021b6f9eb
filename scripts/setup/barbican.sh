#!/usr/bin/env bash
# Creates .venv/barbican with Barbican 23.0.0, keystonemiddleware 13.0.1 (its
# external_oauth2_token filter validates the tokens tacker-server presents) and gunicorn.
# Idempotent: a stamp holding the hash of tests/peers/barbican/requirements.txt and the Python
# version skips the install when unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv/barbican"
req="$root/tests/peers/barbican/requirements.txt"
stamp="$venv/.tacker-setup-stamp"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "barbican.sh: $python is required (Python 3.11)" >&2
    exit 1
fi

want="$( (cat "$req"; "$python" --version) | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/gunicorn" ]]; then
    exit 0
fi

echo "barbican.sh: installing Barbican into $venv"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import barbican.api.app, keystonemiddleware.external_oauth2_token, gunicorn'
echo "$want" >"$stamp"
