#!/usr/bin/env bash
# Installs the Debian packages whose binaries the tier-3 tests and the benchmark run as their
# own processes:
#   memcached  the shared token cache (tests start it on a free loopback port and stop it by pid)
#   haproxy    the load balancer in front of several tacker-server replicas
#   wrk        the HTTP load generator of the benchmark (scripts/bench)
# The system services these packages ship are never started: a policy-rc.d that answers 101
# ("action forbidden") is in place during the install. Idempotent: nothing is done when every
# binary is already there. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(memcached haproxy wrk)
binaries=(/usr/bin/memcached /usr/sbin/haproxy /usr/bin/wrk)

missing=()
for i in "${!packages[@]}"; do
    if [[ ! -x "${binaries[$i]}" ]]; then
        missing+=("${packages[$i]}")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "debian-packages.sh: installing ${missing[*]} needs root (or sudo)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "debian-packages.sh: apt-get not found; install ${missing[*]} with the system's package manager" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    made_policy=1
fi
cleanup() {
    if [[ $made_policy -eq 1 ]]; then
        "${sudo[@]}" rm -f "$policy"
    fi
}
trap cleanup EXIT

echo "debian-packages.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

for bin in "${binaries[@]}"; do
    if [[ ! -x "$bin" ]]; then
        echo "debian-packages.sh: $bin is still missing after the install" >&2
        exit 1
    fi
done
