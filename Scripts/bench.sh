#!/usr/bin/env bash
# The benchmark as a user runs Mule: a release build with the Swift runtime linked in (the build
# README recommends for distribution), in its own build directory so the development build in
# .build/ stays as it is. Prints mule-bench's table. Figures are noisy on shared machines.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then export MULE_PYTHON="$PWD/.venv/bin/python"; fi
swift build -c release --static-swift-stdlib --scratch-path .build/static "$@" >&2
exec .build/static/release/mule-bench
