#!/usr/bin/env bash
# Hostile peers against the real executable, on loopback only: an independent attacker
# (Tests/Interop/mesh_attack.py, Python with noiseprotocol) spends one resource at a time of a
# node holding 10 000 carried bundles, and of a relay. For each attack: the target's resident and
# virtual memory stay bounded, a legitimate peer (Bob, linked from 127.0.0.1) still delivers a
# message during and after it, and the target's CPU is back to idle within seconds of the attacker
# leaving. The attacker connects from other loopback addresses (127.0.0.2 and up).
#
#   Tests/Adversary/adversary-test.sh        MULE_BIN (default .build/debug/mule), MULE_PYTHON
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MULE=${MULE_BIN:-$ROOT/.build/debug/mule}
PY=${MULE_PYTHON:-$ROOT/.venv/bin/python}
ATTACK="$ROOT/Tests/Interop/mesh_attack.py"
[ -x "$MULE" ] || { echo "adversary: no mule binary at $MULE" >&2; exit 1; }
[ -x "$PY" ] || { echo "adversary: no Python venv at $PY (Scripts/test.sh makes it)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/mule-adversary.XXXX)
PIDS=()
STEP=setup
cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ $rc -ne 0 ]; then
        echo "adversary: FAILED at: $STEP" >&2
        for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
    fi
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT
fail() { echo "adversary: $*" >&2; exit 1; }
step() { STEP="$1"; echo "adversary: $1"; }
m() { local who=$1; shift; "$MULE" --home "$WORK/$who" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
port_of() { sed -n "s/.*$2 on [0-9.]*:\([0-9]*\).*/\1/p" "$1" | head -1; }
delivered() {
    m bob messages --limit 1000000 --json | python3 -c "
import json,sys; d=json.load(sys.stdin)
sys.exit(0 if any(m.get('text')==sys.argv[1] and m['status']=='delivered' for m in d) else 1)" "$1"
}
wait_delivered() {
    local end=$((SECONDS + $2))
    until delivered "$1"; do
        [ $SECONDS -lt $end ] || fail "Bob's message '$1' was not delivered within $2 s"
        sleep 0.3
    done
}

step "Alice carries 10 000 bundles; Alice and Bob are contacts"
m alice init --name Alice >/dev/null
m bob init --name Bob >/dev/null
m carol init --name Carol >/dev/null
m dave init --name Dave >/dev/null
m carol contacts add "$(m dave id --json | json "d['invite']")" >/dev/null
seq 10000 | m carol send Dave --stdin >/dev/null
m carol export "$WORK/stick.mule" >/dev/null
m alice import "$WORK/stick.mule" >/dev/null
m alice contacts add "$(m bob id --json | json "d['invite']")" >/dev/null
m bob contacts add "$(m alice id --json | json "d['invite']")" >/dev/null

"$MULE" --home "$WORK/alice" run --no-mdns --listen 127.0.0.1:0 > "$WORK/alice.log" 2>&1 &
ALICE=$!; PIDS+=("$ALICE")
for _ in $(seq 100); do [ -n "$(port_of "$WORK/alice.log" listening)" ] && break; sleep 0.1; done
PORT=$(port_of "$WORK/alice.log" listening)
[ -n "$PORT" ] || fail "Alice's node did not start"
"$MULE" --home "$WORK/bob" run --no-mdns --listen 127.0.0.1:0 --peer "127.0.0.1:$PORT" > "$WORK/bob.log" 2>&1 &
PIDS+=("$!")
m bob send Alice "before any attack" >/dev/null
wait_delivered "before any attack" 30
sleep 2
BASE_RSS=$(field "$ALICE" VmRSS)
echo "adversary: Alice idle at $((BASE_RSS / 1024)) MB resident"

# Runs one attack against $PORT from $SOURCE while Bob writes; checks memory, delivery, idle CPU.
attack() {
    local name=$1 rss_limit_mb=$2; shift 2
    step "$name"
    "$PY" "$ATTACK" 127.0.0.1 "$TARGET_PORT" "$SOURCE" "$@" > "$WORK/attack.out" 2>&1 &
    local attacker=$!
    PIDS+=("$attacker")
    sleep 1
    m bob send Alice "during $name" >/dev/null
    if [ "${NEW_PEER:-0}" = 1 ]; then
        # A node Alice has never seen links while the attack holds its slots.
        rm -rf "$WORK/newcomer"
        m newcomer init --name Newcomer >/dev/null
        "$MULE" --home "$WORK/newcomer" run --no-mdns --listen 127.0.0.1:0 --peer "127.0.0.1:$TARGET_PORT" \
            > "$WORK/newcomer.log" 2>&1 &
        local newcomer=$!
        PIDS+=("$newcomer")
        local linked_new=no
        for _ in $(seq 50); do
            if grep -q "link up with 127.0.0.1:$TARGET_PORT" "$WORK/newcomer.log"; then linked_new=yes; break; fi
            sleep 0.2
        done
        kill "$newcomer" 2>/dev/null || true
        wait "$newcomer" 2>/dev/null || true
        [ $linked_new = yes ] || fail "$name: a new peer could not link during the attack: $(tail -3 "$WORK/newcomer.log")"
        echo "adversary:   a new peer linked during the attack"
    fi
    local peak_rss=0 peak_vm=0 r v
    local end=$((SECONDS + 120))
    while true; do
        r=$(field "$TARGET" VmRSS); v=$(field "$TARGET" VmSize)
        [ "$r" -gt "$peak_rss" ] && peak_rss=$r
        [ "$v" -gt "$peak_vm" ] && peak_vm=$v
        kill -0 "$TARGET" 2>/dev/null || fail "the target died during $name"
        [ $SECONDS -lt $end ] || fail "the attack $name did not end"
        kill -0 "$attacker" 2>/dev/null || break
        sleep 0.2
    done
    wait "$attacker" || fail "the attacker failed: $(cat "$WORK/attack.out")"
    echo "adversary:   $(cat "$WORK/attack.out")"
    wait_delivered "during $name" 30
    m bob send Alice "after $name" >/dev/null
    wait_delivered "after $name" 30
    # Back to idle: under 10% of a core over 2 s, within 10 s of the attacker leaving.
    local idle=no t0 t1
    for _ in 1 2 3 4 5; do
        t0=$(cpu_ticks "$TARGET"); sleep 2; t1=$(cpu_ticks "$TARGET")
        if [ $((t1 - t0)) -le 20 ]; then idle=yes; break; fi
    done
    [ $idle = yes ] || fail "$name: the target was still busy 10 s after the attacker left"
    echo "adversary:   peak ${peak_rss} kB resident, ${peak_vm} kB virtual; delivered during and after; idle again"
    [ "$peak_rss" -le $((rss_limit_mb * 1024)) ] || fail "$name: resident memory reached $((peak_rss / 1024)) MB (bound $rss_limit_mb)"
    [ "$peak_vm" -le $((6 << 20)) ] || fail "$name: virtual memory reached $((peak_vm / 1024)) MB"
}

TARGET=$ALICE TARGET_PORT=$PORT
SOURCE=127.0.0.2 attack "syncStart flood (issue 11.1)" 400 syncstart 15
grep -q "reconciliation restarted too often" "$WORK/alice.log" || fail "the syncStart flood was not dropped"
SOURCE=127.0.0.3 attack "declared sizes (11.2)" 400 parts 300
SOURCE=127.0.0.4 attack "wants without reading (11.3)" 400 wants 150
grep -q "does not read what it asks for\|asking for too many" "$WORK/alice.log" || fail "the reader that never reads was not dropped"
NEW_PEER=1 SOURCE=127.0.0.5 attack "connections that never finish (11.4)" 400 hold 40 8
grep -q "too many links or handshakes from one address" "$WORK/alice.log" || fail "one address took more than its slots"
NEW_PEER=1 SOURCE=127.0.0.6 attack "links kept alive with pings (11.4)" 400 linked 40 8

step "an unverified --visible-as name is not shown (11.6)"
SOURCE=127.0.0.7
"$PY" "$ATTACK" 127.0.0.1 "$PORT" "$SOURCE" visible > "$WORK/attack.out" 2>&1 &
vis=$!; PIDS+=("$vis")
sleep 3
m alice peers --json > "$WORK/peers.json"
wait "$vis"
python3 - "$WORK/peers.json" <<'PY' || fail "mule peers showed a name whose signature does not hold: $(cat "$WORK/peers.json")"
import json, sys
d = json.load(open(sys.argv[1]))
links = [l for l in d["links"] if l["address"].startswith("127.0.0.7:")]
sys.exit(0 if links and all(l.get("visibleAs") is None for l in links) else 1)
PY
grep -q Mallory "$WORK/peers.json" && fail "the name Mallory appears in mule peers"

step "SIGTERM after the attacks stops Alice's node at once (11.1: it was ignored for 11 s)"
t0=$(date +%s%N)
kill -TERM "$ALICE"
for _ in $(seq 50); do kill -0 "$ALICE" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ALICE" 2>/dev/null && fail "Alice's node did not stop within 5 s of SIGTERM"
echo "adversary:   stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms"

step "a relay under deposits that stall (11.5)"
"$MULE" relay --listen 127.0.0.1:0 --data "$WORK/relay" --stamp-bits 8 > "$WORK/relay.log" 2>&1 &
RELAY=$!; PIDS+=("$RELAY")
for _ in $(seq 100); do [ -n "$(port_of "$WORK/relay.log" "relay listening")" ] && break; sleep 0.1; done
RPORT=$(port_of "$WORK/relay.log" "relay listening")
[ -n "$RPORT" ] || fail "the relay did not start"
"$PY" "$ATTACK" 127.0.0.1 "$RPORT" 127.0.0.8 deposits 5 20 > "$WORK/attack.out" 2>&1 &
dep=$!; PIDS+=("$dep")
sleep 4
# Another source still gets its deposit taken (a stamped non-bundle is refused as invalid, not
# busy), while the stalled ones hold what they hold.
"$PY" "$ROOT/Tests/Interop/relay_flood.py" 127.0.0.1 "$RPORT" > "$WORK/flood.out" 2>&1 || fail "another client's deposits were not taken: $(cat "$WORK/flood.out")"
wait "$dep" || fail "the deposit attacker failed: $(cat "$WORK/attack.out")"
echo "adversary:   $(cat "$WORK/attack.out")"
grep -qE "[1-5] closed by the relay" "$WORK/attack.out" || fail "stalled deposits were not dropped: $(cat "$WORK/attack.out")"
rss=$(field "$RELAY" VmRSS)
[ "$rss" -le $((300 * 1024)) ] || fail "the relay holds $((rss / 1024)) MB"
echo "adversary:   relay at $((rss / 1024)) MB resident after the attack"

step "hostile files (11.8): a 1 GiB stick streams in bounded memory, a device is refused"
m erin init --name Erin >/dev/null
m erin contacts add "$(m bob id --json | json "d['invite']")" >/dev/null
m frank init --name Frank >/dev/null
m frank contacts add "$(m bob id --json | json "d['invite']")" >/dev/null
m erin send Bob "at the start of a big stick" >/dev/null
m frank send Bob "at the end of a big stick" >/dev/null
m erin export "$WORK/start.mule" >/dev/null
m frank export "$WORK/end.mule" >/dev/null
cp "$WORK/start.mule" "$WORK/big.mule"
truncate -s 1G "$WORK/big.mule"  # sparse: a gigabyte of zeros between the two
tail -c +10 "$WORK/end.mule" >> "$WORK/big.mule"
peak_kb=$(python3 -c "
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)" "$MULE" --home "$WORK/bob" import "$WORK/big.mule")
got=$(m bob messages --limit 1000000 --json | python3 -c "
import json,sys; d=json.load(sys.stdin)
print(sum(1 for m in d if m.get('text') in ('at the start of a big stick', 'at the end of a big stick')))")
[ "$got" -eq 2 ] || fail "the messages at both ends of the 1 GiB stick did not both arrive ($got)"
[ "$peak_kb" -le $((128 * 1024)) ] || fail "importing a 1 GiB stick took $((peak_kb / 1024)) MB resident"
echo "adversary:   1 GiB stick: both messages delivered, peak $((peak_kb / 1024)) MB resident"
out=$(m bob import /dev/zero 2>&1 >/dev/null || true)
[ "$out" = "mule: /dev/zero: is not a regular file" ] || fail "import /dev/zero: $out"
rm -f "$WORK/big.mule"

echo "adversary: all checks passed"
