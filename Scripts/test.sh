#!/usr/bin/env bash
# The whole test suite: installs what the tests need (system libraries, avahi-daemon and dbus for
# the LAN test, Chromium for the web app's browser test, a Python venv with the independent reference implementations from PyPI), builds,
# runs `swift test`, the adversary and scale scenarios, the network-namespace tests (as root),
# then the ThreadSanitizer and AddressSanitizer passes over release builds.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then Scripts/install-deps.sh --lan --browser --terminal; else Scripts/install-deps.sh --browser --terminal; fi
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r Tests/requirements.txt
export MULE_PYTHON="$PWD/.venv/bin/python"
swift format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
# The DHT network tests run a hundred nodes (35 of them libtorrent sessions in Python), and the
# delay-tolerance test moves 2 000 messages over links, a relay and sticks: side by side they would
# starve the timing of the link tests on a 2-core machine, so they run on their own afterwards.
heavy='LibtorrentInteropTests|NetworkTests|DHTCommandTests|DelayToleranceTests'
swift test --skip-build --parallel --skip "$heavy" "$@"
for suite in LibtorrentInteropTests NetworkTests DHTCommandTests DelayToleranceTests; do
    swift test --skip-build --filter "$suite" "$@"
done
# The install script: the executable, the man page (rendered by groff without a warning when groff
# is there) and the completions, into a scratch prefix.
prefix=$(mktemp -d)
Scripts/install.sh --from .build/debug --prefix "$prefix" >/dev/null
for f in bin/mule share/man/man1/mule.1 share/bash-completion/completions/mule share/zsh/site-functions/_mule \
    share/fish/vendor_completions.d/mule.fish; do
    [ -s "$prefix/$f" ] || { echo "test.sh: the install script did not write $f" >&2; exit 1; }
done
if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww "$prefix/share/man/man1/mule.1" 2>&1 >/dev/null)
    [ -z "$warnings" ] || { echo "test.sh: the man page: $warnings" >&2; exit 1; }
fi
rm -rf "$prefix"
# Hostile peers against the real executable (loopback), and a carrier syncing 10 000 bundles
# over one link against a file import (the full 30 000 is Tests/Scale/carrier.sh's default).
Tests/Adversary/adversary-test.sh
MULE_BIN="$PWD/.build/debug/mule" Tests/Scale/carrier.sh 10000
# `mule chat` on a real terminal (tmux): long lines, unicode, offline then online, a third person.
Tests/Chat/chat-test.sh
# The web app in headless Chromium (Selenium): three nodes on loopback, sending, a file, a stick.
Tests/Web/browser-test.sh
if [ "$(id -u)" -eq 0 ]; then
    Tests/LAN/lan-test.sh
    Tests/LAN/relay-test.sh
    # Smaller versions of the scale scenarios: 12 hosts instead of 30, 2 minutes of soak instead of 10.
    Tests/Scale/crowded-lan.sh 12
    Tests/Scale/soak.sh 120
else
    echo "test.sh: skipped the LAN, relay, crowded-LAN and soak tests (network namespaces need root)" >&2
fi
# Every pure decoder under libFuzzer for a short while (Scripts/fuzz.sh 600 for a long run).
Scripts/fuzz.sh 15
# ThreadSanitizer and AddressSanitizer on release builds; any report fails.
Scripts/sanitize.sh
