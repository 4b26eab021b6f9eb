#!/usr/bin/env bash
# Installs the test authorization server's npm dependencies (oidc-provider 8.x) into
# tests/peers/authz/node_modules from the committed package-lock.json. Idempotent: a stamp
# holding the hash of the lockfile and of the Node version skips the install when unchanged.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="$root/tests/peers/authz"
stamp="$dir/node_modules/.tacker-setup-stamp"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "authz.sh: node and npm are required (Node.js 18 or 20; oidc-provider 8.x)" >&2
    exit 1
fi

want="$( (cat "$dir/package-lock.json" "$dir/package.json"; node --version) | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

echo "authz.sh: installing oidc-provider into $dir/node_modules"
(cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "$want" >"$stamp"
