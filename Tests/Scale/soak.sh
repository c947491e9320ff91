#!/usr/bin/env bash
# Soak: three nodes and a relay on one namespace LAN (static peers, no mDNS), continuous traffic
# between random pairs while cables are pulled at random, node 3 is killed with kill -9 and
# restarted, and the relay is killed and restarted. At the end every message must be delivered
# exactly once, every sender must see `delivered`, and the resident memory of the nodes that were
# never killed must be flat (at the end at most 1.5 times, or 20 MB above, what it was a quarter in).
#
#   Tests/Scale/soak.sh [SECONDS]       root; default 600; MULE_BIN=path/to/mule (default debug)
set -euo pipefail
DURATION=${1:-600}
TEST=soak
ID="mule-soak-$$"
source "$(dirname "$0")/../LAN/lib.sh"
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
RELAY=169.254.0.4:4748
start_soak_node() {
    local n=$1 peers=() p
    for p in 1 2 3; do [ "$p" -ne "$n" ] && peers+=(--peer "169.254.0.$p:4747"); done
    ip netns exec "$(host "$n")" "$MULE" --home "$WORK/h$n/profile" run --no-mdns --listen 0.0.0.0:4747 \
        "${peers[@]}" --relay-after 3 --idle-timeout 4 >> "$WORK/node$n.log" 2>&1 &
    NODE_PID[$n]=$!
    PIDS+=("$!")
}
start_relay() {
    ip netns exec "$(host 4)" "$MULE" relay --listen 0.0.0.0:4748 --data "$WORK/relaydata" --stamp-bits 8 \
        >> "$WORK/relay.log" 2>&1 &
    RELAY_PID=$!
    PIDS+=("$!")
}
declare -A NODE_PID

step "three nodes and a relay on one segment"
make_segment 1
for n in 1 2 3 4; do make_wired_host "$n" 1; done
for n in 1 2 3; do on "$n" init --name "N$n" >/dev/null; on "$n" relay add "$RELAY" >/dev/null; done
for n in 1 2 3; do
    for p in 1 2 3; do
        [ "$p" -ne "$n" ] && on "$n" contacts add "$(on "$p" id --json | json "d['invite']")" --name "N$p" >/dev/null
    done
done
start_relay
for n in 1 2 3; do start_soak_node "$n"; done
sleep 2

step "traffic for $DURATION s with cable pulls, kill -9 of node 3 and of the relay"
: > "$WORK/expected"
k=0
t_end=$((SECONDS + DURATION))
quarter=$((SECONDS + DURATION / 4))
rss_q=""
next_event=$((SECONDS + 5))
events=0
while [ $SECONDS -lt $t_end ]; do
    s=$((RANDOM % 3 + 1)); r=$(( (s + RANDOM % 2) % 3 + 1 ))
    k=$((k + 1))
    text="soak $s to $r number $k"
    on "$s" send "N$r" "$text" >/dev/null
    echo "$s $r $text" >> "$WORK/expected"
    if [ -z "$rss_q" ] && [ $SECONDS -ge $quarter ]; then
        rss_q="$(rss_mb "${NODE_PID[1]}") $(rss_mb "${NODE_PID[2]}") $(rss_mb "$RELAY_PID")"
    fi
    if [ $SECONDS -ge $next_event ]; then
        events=$((events + 1))
        case $((RANDOM % 3)) in
            0) h=$((RANDOM % 3 + 1)); ip -n "$(host "$h")" link set eth0 down
               sleep $((RANDOM % 4 + 1)); ip -n "$(host "$h")" link set eth0 up ;;
            1) kill -9 "${NODE_PID[3]}"; wait "${NODE_PID[3]}" 2>/dev/null || true
               sleep 1; start_soak_node 3 ;;
            2) kill -9 "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
               sleep 1; start_relay ;;
        esac
        next_event=$((SECONDS + 5 + RANDOM % 10))
    fi
    sleep 0.3
done
for n in 1 2 3; do kill -0 "${NODE_PID[$n]}" 2>/dev/null || fail "node $n died: $(tail -5 "$WORK/node$n.log")"; done

step "every one of $k messages delivered exactly once"
check() {
    for n in 1 2 3; do on "$n" messages --limit 1000000 --json > "$WORK/m$n.json"; done
    python3 - "$WORK" <<'PY'
import json, sys, collections
work = sys.argv[1]
msgs = {n: json.load(open(f"{work}/m{n}.json")) for n in (1, 2, 3)}
expected = [l.rstrip("\n").split(" ", 2) for l in open(f"{work}/expected")]
missing = undelivered = doubled = 0
for n in (1, 2, 3):
    got = collections.Counter(m.get("text") for m in msgs[n] if m["direction"] == "in")
    doubled += sum(1 for c in got.values() if c > 1)
for s, r, text in expected:
    if collections.Counter(m.get("text") for m in msgs[int(r)] if m["direction"] == "in")[text] == 0:
        missing += 1
for n in (1, 2, 3):
    undelivered += sum(1 for m in msgs[n] if m["direction"] == "out" and m["status"] != "delivered")
print(f"missing {missing} undelivered {undelivered} doubled {doubled}")
sys.exit(0 if missing == 0 and undelivered == 0 and doubled == 0 else 1)
PY
}
deadline=$((SECONDS + 180))
until check > "$WORK/check.txt"; do
    [ $SECONDS -lt $deadline ] || fail "after 180 s: $(cat "$WORK/check.txt")"
    sleep 2
done
rss_end="$(rss_mb "${NODE_PID[1]}") $(rss_mb "${NODE_PID[2]}") $(rss_mb "$RELAY_PID")"
python3 - "$rss_q" "$rss_end" <<'PY' || fail "memory grew: a quarter in $rss_q MB, at the end $rss_end MB (node 1, node 2, relay)"
import sys
q = [float(x) for x in sys.argv[1].split()]
e = [float(x) for x in sys.argv[2].split()]
sys.exit(0 if all(b <= max(1.5 * a, a + 20) for a, b in zip(q, e)) else 1)
PY
echo "soak: $k messages over ${DURATION} s, $events faults (cable pulls, kill -9 of node 3 or the relay): all delivered exactly once"
echo "soak: resident MB a quarter in (node 1, node 2, relay): $rss_q; at the end: $rss_end"
