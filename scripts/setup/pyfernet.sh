#!/usr/bin/env bash
# Creates .venv/fernet with Python's `cryptography` (the library Tacker encrypts VIM secrets
# with), used by crates/vim/tests/vault_fernet.rs to check that Python decrypts tokens the Rust
# vault makes and the other way round. Idempotent: a stamp holding the hash of the pinned
# requirement and the Python version skips the install when unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv/fernet"
stamp="$venv/.tacker-setup-stamp"
python="${PYTHON:-python3}"
requirement="cryptography==50.0.2"

if ! command -v "$python" >/dev/null 2>&1; then
    echo "pyfernet.sh: $python is required (Python 3.9 or newer)" >&2
    exit 1
fi

want="$( (echo "$requirement"; "$python" --version) | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$venv/bin/python" ]]; then
    exit 0
fi

echo "pyfernet.sh: installing $requirement into $venv"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$requirement"
"$venv/bin/python" -c "from cryptography.fernet import Fernet"
echo "$want" >"$stamp"
