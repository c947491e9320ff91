#!/usr/bin/env bash
# The whole test suite: installs what the tests need (system libraries, avahi-daemon and dbus for
# the LAN test, a Python venv with the independent reference implementations from PyPI), builds,
# runs `swift test`, then the network-namespace LAN test (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then Scripts/install-deps.sh --lan; else Scripts/install-deps.sh; fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r Tests/requirements.txt
export MULE_PYTHON="$PWD/.venv/bin/python"
swift format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
# The DHT network tests run a hundred nodes (35 of them libtorrent sessions in Python) and would
# starve the timing of the link tests on a 2-core machine, so they run on their own afterwards.
heavy='LibtorrentInteropTests|NetworkTests|DHTCommandTests'
swift test --skip-build --parallel --skip "$heavy" "$@"
for suite in LibtorrentInteropTests NetworkTests DHTCommandTests; do
    swift test --skip-build --filter "$suite" "$@"
done
if [ "$(id -u)" -eq 0 ]; then
    Tests/LAN/lan-test.sh
    Tests/LAN/relay-test.sh
else
    echo "test.sh: skipped the LAN and relay tests (network namespaces need root)" >&2
fi
