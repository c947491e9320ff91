#!/usr/bin/env bash
# Installs the system libraries Mule builds against (Debian/Ubuntu). Needs a Swift 6 toolchain on PATH.
# With --lan it also installs what the network-namespace LAN test runs (avahi-daemon, dbus, iproute2),
# with --browser what the web app's browser test runs (chromium, chromium-driver), with --terminal
# what the chat screen test runs (tmux),
# without letting the packages start any daemon on this machine's own network.
set -euo pipefail
packages=(libsodium-dev libsqlite3-dev libavahi-client-dev libqrencode-dev pkg-config)
python3 -m venv --help >/dev/null 2>&1 || packages+=(python3 python3-venv)
# --lan: what the network-namespace tests run; --browser: what the web app's browser test runs.
lan=0
for flag in "$@"; do
    case "$flag" in
    --lan)
        lan=1
        packages+=(avahi-daemon avahi-utils dbus iproute2)
        ;;
    --browser) packages+=(chromium chromium-driver fonts-liberation) ;;
    --terminal) packages+=(tmux) ;;
    *) echo "install-deps: unknown option $flag" >&2; exit 2 ;;
    esac
done
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    policy=""
    if [ $lan -eq 1 ] && [ ! -e /usr/sbin/policy-rc.d ]; then
        # Package scripts must not start avahi-daemon outside the test's namespaces.
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee $policy >/dev/null
        $sudo_cmd chmod +x $policy
    fi
    $sudo_cmd apt-get update -qq
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ -n "$policy" ] && $sudo_cmd rm -f "$policy"
    echo "installed: ${missing[*]}"
fi
command -v swift >/dev/null || { echo "mule: Swift 6 is needed (https://swift.org/install)" >&2; exit 1; }
