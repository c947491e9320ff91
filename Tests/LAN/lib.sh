# What the network-namespace tests share. Source it after setting TEST (the name the lines start
# with) and ID (the prefix of everything the test makes). It checks for the binary and root, makes
# WORK, and on exit ends the processes in PIDS and deletes the namespaces in NAMESPACES, showing the
# logs if the test failed.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MULE=${MULE_BIN:-$ROOT/.build/debug/mule}
[ -x "$MULE" ] || { echo "$TEST: no mule binary at $MULE (swift build first)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "$TEST: needs root for network namespaces" >&2; exit 1; }

WORK=$(mktemp -d /tmp/$ID.XXXX)
PIDS=()
NAMESPACES=()
STEP="setup"

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    if [ $rc -ne 0 ]; then
        echo "$TEST: FAILED at: $STEP" >&2
        for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 30 "$f" >&2; done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

step() { STEP="$1"; echo "$TEST: $1"; }
fail() { echo "$TEST: $*" >&2; exit 1; }

# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
    local t=$1; shift
    local end=$((SECONDS + t))
    while [ $SECONDS -lt $end ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    "$@"
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
