#!/usr/bin/env bash
# Scale: a carrier holding N bundles (default 30 000) meets an empty node over a link, against a
# file import of the same bundles. Through the real executable, on 127.0.0.1 only. Prints figures;
# fails if anything is missing or the link ever drops (issue 10: beyond about 8 000 differences
# the reconciliation did not fit a frame and nothing moved).
#
#   Tests/Scale/carrier.sh [N]          MULE_BIN=path/to/mule (default: .build/release/mule)
set -euo pipefail
N=${1:-30000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MULE=${MULE_BIN:-$ROOT/.build/release/mule}
[ -x "$MULE" ] || { echo "carrier: no mule binary at $MULE" >&2; exit 1; }
WORK=$(mktemp -d /tmp/mule-carrier.XXXX)
PIDS=()
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ $rc -ne 0 ]; then for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 20 "$f" >&2; done; fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
fail() { echo "carrier: $*" >&2; exit 1; }
m() { local who=$1; shift; "$MULE" --home "$WORK/$who" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
port_of() { sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$1" | head -1; }

m alice init --name Alice >/dev/null
m carol init --name Carol >/dev/null
m alice contacts add "$(m carol id --json | json "d['invite']")" >/dev/null
t=$(now)
seq "$N" | sed 's/^/carried message /' | m alice send Carol --stdin >/dev/null
echo "carrier: sealed $N messages in $(since "$t") s"
m alice export "$WORK/stick.mule" >/dev/null
size=$(stat -c %s "$WORK/stick.mule")
echo "carrier: stick file $((size / 1024)) KiB"

m bob init --name Bob >/dev/null
t=$(now)
m bob import "$WORK/stick.mule" >/dev/null
import_s=$(since "$t")
[ "$(m bob status --json | json "d['carried']")" -eq "$N" ] || fail "the carrier does not hold $N bundles after the import"
echo "carrier: file import of $N bundles: $import_s s"

m dave init --name Dave >/dev/null
"$MULE" --home "$WORK/bob" run --no-mdns --listen 127.0.0.1:0 > "$WORK/bob.log" 2>&1 &
bob=$!; PIDS+=("$bob")
for _ in $(seq 100); do [ -n "$(port_of "$WORK/bob.log")" ] && break; sleep 0.1; done
port=$(port_of "$WORK/bob.log")
[ -n "$port" ] || fail "the carrier's node did not start"
t=$(now)
"$MULE" --home "$WORK/dave" run --no-mdns --listen 127.0.0.1:0 --peer "127.0.0.1:$port" > "$WORK/dave.log" 2>&1 &
dave=$!; PIDS+=("$dave")
peak_dave=0; peak_bob=0
deadline=$((SECONDS + 600))
while true; do
    got=$(m dave status --json 2>/dev/null | json "d['carried']" 2>/dev/null || echo 0)
    peak_dave=$(python3 -c "print(max($peak_dave, $(rss_mb "$dave")))")
    peak_bob=$(python3 -c "print(max($peak_bob, $(rss_mb "$bob")))")
    [ "$got" -eq "$N" ] && break
    [ $SECONDS -lt $deadline ] || fail "after 600 s the empty node holds $got of $N bundles"
    kill -0 "$dave" 2>/dev/null && kill -0 "$bob" 2>/dev/null || fail "a node died"
    sleep 0.5
done
link_s=$(since "$t")
downs=$(cat "$WORK/bob.log" "$WORK/dave.log" | grep -c "link down" || true)
[ "$downs" -eq 0 ] || fail "the link dropped $downs times: $(grep "link down" "$WORK"/*.log | head -3)"
echo "carrier: over one link (node start, link, reconciliation, transfer, store): $link_s s, never dropped"
echo "carrier: peak resident memory: carrier $peak_bob MB, empty node $peak_dave MB"
echo "carrier: $N bundles: file import $import_s s, link $link_s s"
