#!/usr/bin/env bash
# Installs the system libraries Mule builds against (Debian/Ubuntu). Needs a Swift 6 toolchain on PATH.
set -euo pipefail
packages=(libsodium-dev libsqlite3-dev libavahi-client-dev pkg-config)
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
    echo "installed: ${missing[*]}"
fi
command -v swift >/dev/null || { echo "mule: Swift 6 is needed (https://swift.org/install)" >&2; exit 1; }
