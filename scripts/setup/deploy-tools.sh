#!/usr/bin/env bash
# Installs the Debian packages the deployment checks need (crates/server/tests/compose_deploy.rs):
# docker-compose, Debian's Compose implementation (`docker-compose config` validates and renders
# docker-compose.yml without a Docker engine); ShellCheck, which lints every shell script of the
# repository; openssl and curl for scripts/make-test-pki and scripts/compose-smoke.
# Idempotent: nothing is done when every command is already there.
set -euo pipefail

need=()
for pair in docker-compose:docker-compose shellcheck:shellcheck openssl:openssl curl:curl; do
    if ! command -v "${pair%%:*}" >/dev/null 2>&1; then
        need+=("${pair#*:}")
    fi
done
if ((${#need[@]} == 0)); then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "deploy-tools.sh: install ${need[*]} with your package manager (no apt-get here)" >&2
    exit 1
fi
sudo=()
if ((EUID != 0)); then
    sudo=(sudo)
fi
echo "deploy-tools.sh: installing ${need[*]} (Debian packages)"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
