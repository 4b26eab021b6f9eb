#!/usr/bin/env bash
# Creates .venv/kmw with keystonemiddleware 13.0.1 (the reference resource server), the
# `cryptography` package its private_key_jwt needs, python-memcached (the client under oslo.cache's
# pool that `memcached_servers` uses), and gunicorn. Idempotent: a stamp holding
# the hash of tests/peers/kmw/requirements.txt and the Python version skips the install when
# unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv/kmw"
req="$root/tests/peers/kmw/requirements.txt"
stamp="$venv/.tacker-setup-stamp"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "kmw.sh: $python is required (Python 3.11)" >&2
    exit 1
fi

want="$( (cat "$req"; "$python" --version) | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/gunicorn" ]]; then
    exit 0
fi

echo "kmw.sh: installing keystonemiddleware into $venv"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
"$venv/bin/python" -c 'import keystonemiddleware.external_oauth2_token, cryptography, gunicorn, memcache'
echo "$want" >"$stamp"
