#!/usr/bin/env bash
# Creates .venv/pytools with schemathesis (schema-driven fuzzing against api-ref/openapi.yaml),
# WebOb (the reference of the server's error pages)
# and python-tackerclient (the real Tacker client), pinned in tests/peers/pytools/requirements.txt.
# Idempotent: a stamp holding the hash of the requirements and the Python version skips the
# install when unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv/pytools"
req="$root/tests/peers/pytools/requirements.txt"
stamp="$venv/.tacker-setup-stamp"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "pytools.sh: $python is required (Python 3.10 or later)" >&2
    exit 1
fi

want="$( (cat "$req"; "$python" --version) | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/schemathesis" && -x "$venv/bin/tacker" ]]; then
    exit 0
fi

echo "pytools.sh: installing schemathesis and python-tackerclient into $venv"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import schemathesis, tackerclient.v1_0.client, webob.exc'
echo "$want" >"$stamp"
