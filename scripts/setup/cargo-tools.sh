#!/usr/bin/env bash
# Installs the cargo tools scripts/check-boundaries uses, at pinned versions, into .tools/ of
# the repository (git-ignored): cargo-machete (unused dependencies).
# Idempotent: nothing is done when the pinned version is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$root/.tools"
machete_version="0.9.2"

if [[ -x "$tools/bin/cargo-machete" ]] &&
    "$tools/bin/cargo-machete" --version 2>/dev/null | grep -q "$machete_version"; then
    exit 0
fi

echo "cargo-tools.sh: installing cargo-machete $machete_version into $tools"
cargo install --quiet --locked --root "$tools" --version "=$machete_version" cargo-machete
