#!/usr/bin/env bash
# The web app in a real browser (Tests/Web/browser_test.py): headless Chromium and Selenium
# against three `mule run --ui` nodes on loopback. Screenshots go to $SHOTS (default: the work dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
export MULE="${MULE_BIN:-$PWD/.build/debug/mule}"
PY="${MULE_PYTHON:-$PWD/.venv/bin/python}"
export WORK
WORK="$(mktemp -d /tmp/mule-web.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
"$PY" Tests/Web/browser_test.py
