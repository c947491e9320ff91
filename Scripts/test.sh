#!/usr/bin/env bash
# The whole test suite: installs what the tests need (system libraries, a Python venv with the
# independent reference implementations from PyPI), builds, and runs `swift test`.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/install-deps.sh
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r Tests/requirements.txt
export MULE_PYTHON="$PWD/.venv/bin/python"
swift format lint --strict --recursive Sources Tests Package.swift
swift build --build-tests
swift test --skip-build --parallel "$@"
