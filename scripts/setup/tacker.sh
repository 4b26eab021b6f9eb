#!/usr/bin/env bash
# Creates .venv/tacker with real Python Tacker 16.0.0 (API server, tacker-db-manage) and
# PyMySQL, pinned by tests/peers/tacker/requirements.txt and constraints.txt. Used by the
# side-by-side tests on MySQL / MariaDB and by the benchmark. Idempotent: a stamp holding the
# hash of both files and the Python version skips the install when unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv/tacker"
peer="$root/tests/peers/tacker"
stamp="$venv/.tacker-setup-stamp"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "tacker.sh: $python is required (Python 3.11)" >&2
    exit 1
fi

want="$( (cat "$peer/requirements.txt" "$peer/constraints.txt"; "$python" --version) | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/tacker-server" ]]; then
    exit 0
fi

echo "tacker.sh: installing Tacker into $venv"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
# -r resolves `-c constraints.txt` next to the requirements file.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$peer/requirements.txt"
"$venv/bin/python" -c 'import tacker.cmd.eventlet.tacker_server, tacker.db.migration.cli, pymysql'
test -f "$venv/etc/tacker/api-paste.ini"
echo "$want" >"$stamp"
