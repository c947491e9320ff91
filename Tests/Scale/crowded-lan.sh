#!/usr/bin/env bash
# Scale: a crowded LAN. N hosts (default 30) on one bridged segment of network namespaces, each
# with its own dbus and avahi-daemon and `mule run`; they find each other through mDNS and each
# node writes to the next (host i to host i+1, the last to the first). Prints the time until every
# message is delivered (the receipt is back) and the largest node's resident memory; fails if a
# node dies or a message is lost or doubled (issue 10: 3 of 30 nodes died, 2 of 30 messages lost).
#
#   Tests/Scale/crowded-lan.sh [N]       root; MULE_BIN=path/to/mule (default .build/debug/mule)
set -euo pipefail
N=${1:-30}
TEST=crowded-lan
ID="mule-crowd-$$"
source "$(dirname "$0")/../LAN/lib.sh"
next() { echo $(($1 % N + 1)); }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null || echo 0; }
delivered_count() {
    local total=0 n
    for n in $(seq "$N"); do
        total=$((total + $(on "$n" messages --limit 1000000 --json | python3 -c "
import json,sys; d=json.load(sys.stdin)
print(sum(1 for m in d if m['direction']=='out' and m['status']=='delivered'))")))
    done
    echo "$total"
}

step "$N hosts on one segment, each with dbus and avahi-daemon"
make_segment 1
for n in $(seq "$N"); do make_host "$n" 1; done
for n in $(seq "$N"); do on "$n" init --name "Host$n" >/dev/null; done
for n in $(seq "$N"); do
    on "$n" contacts add "$(on "$(next "$n")" id --json | json "d['invite']")" --name "Next" >/dev/null
done

step "mule run on every host"
for n in $(seq "$N"); do start_node "$n"; done
t0=$SECONDS
for n in $(seq "$N"); do on "$n" send Next "from host $n to the next" >/dev/null; done

step "every message delivered, its receipt back"
peak=0
deadline=$((SECONDS + 300))
while true; do
    for n in $(seq "$N"); do
        kill -0 "${NODE_PID[$n]}" 2>/dev/null || fail "the node on host $n died: $(tail -5 "$WORK/node$n.log")"
        peak=$(python3 -c "print(max($peak, $(rss_mb "${NODE_PID[$n]}")))")
    done
    done_=$(delivered_count)
    [ "$done_" -eq "$N" ] && break
    [ $SECONDS -lt $deadline ] || fail "after 300 s, $done_ of $N messages delivered"
    sleep 1
done
elapsed=$((SECONDS - t0))
for n in $(seq "$N"); do
    prev=$(( (n + N - 2) % N + 1 ))
    c=$(on "$n" messages --limit 1000000 --json | python3 -c "
import json,sys; d=json.load(sys.stdin)
print(sum(1 for m in d if m['direction']=='in' and m.get('text')==sys.argv[1]))" "from host $prev to the next")
    [ "$c" -eq 1 ] || fail "host $n holds the message from host $prev $c times"
done
links=$(on 1 peers --json | json "len(d['links'])")
echo "crowded-lan: $N hosts: all $N messages delivered with receipts within ${elapsed} s of sending"
echo "crowded-lan: largest node resident memory ${peak} MB; host 1 has $links links; no node died"
