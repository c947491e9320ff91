#!/usr/bin/env bash
# Relays, for real: Alice and Bob on two separate LANs (network namespaces) whose only common
# host is a relay with an interface on each and IP forwarding off, so no packet goes from one LAN
# to the other. They chat through `mule relay`; the relay is killed with kill -9 mid-conversation
# and restarted on the same data directory, and nothing is lost.
#
# Needs root. Everything it makes is named mule-relay-<pid>-*, cleaned up by pid and by name. No
# packet leaves the namespaces it creates, and no daemon runs outside them.
set -euo pipefail
TEST=relay-test
ID="mule-relay-$$"
source "$(dirname "$0")/lib.sh"
PY=${MULE_PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || { echo "relay-test: no Python venv at $PY (Scripts/test.sh makes it)" >&2; exit 1; }

ns() { echo "$ID-$1"; }
on() { local who=$1; shift; ip netns exec "$(ns "$who")" "$MULE" --home "$WORK/$who" "$@"; }
invite() { on "$1" id --json | json "d['invite']"; }
# How many messages with this text arrived at $1 by relay, and whether $1's own are all delivered by relay.
received_by_relay() {
    on "$1" messages --limit 1000000 --json | python3 -c "
import json,sys; d=json.load(sys.stdin)
sys.exit(0 if sum(1 for m in d if m.get('text')==sys.argv[1] and m['direction']=='in' and m.get('via')=='relay')==1 else 1)" "$2"
}
all_delivered() {
    on "$1" messages --limit 1000000 --json | python3 -c "
import json,sys; d=json.load(sys.stdin); out=[m for m in d if m['direction']=='out']
sys.exit(0 if out and all(m['status']=='delivered' for m in out) else 1)"
}
reachable() { ip netns exec "$(ns "$1")" timeout 2 bash -c "echo > /dev/tcp/$2/$3" 2>/dev/null; }
start_relay() {
    ip netns exec "$(ns relay)" "$MULE" relay --listen 0.0.0.0:4748 --data "$WORK/relaydata" --stamp-bits 12 \
        >> "$WORK/relay.log" 2>&1 &
    RELAY_PID=$!
    PIDS+=("$RELAY_PID")
}
start_node() {
    ip netns exec "$(ns "$1")" "$MULE" --home "$WORK/$1" run --no-mdns --listen 0.0.0.0:4747 --relay-after 2 \
        >> "$WORK/$1.log" 2>&1 &
    PIDS+=("$!")
}

step "two LANs joined only by a relay host that does not forward"
for n in alice bob relay; do ip netns add "$(ns "$n")"; NAMESPACES+=("$(ns "$n")"); ip -n "$(ns "$n")" link set lo up; done
ip -n "$(ns alice)" link add eth0 type veth peer name lan1
ip -n "$(ns alice)" link set lan1 netns "$(ns relay)"
ip -n "$(ns bob)" link add eth0 type veth peer name lan2
ip -n "$(ns bob)" link set lan2 netns "$(ns relay)"
ip -n "$(ns alice)" addr add 10.77.1.2/24 dev eth0
ip -n "$(ns alice)" link set eth0 up
ip -n "$(ns bob)" addr add 10.77.2.2/24 dev eth0
ip -n "$(ns bob)" link set eth0 up
ip -n "$(ns relay)" addr add 10.77.1.1/24 dev lan1
ip -n "$(ns relay)" addr add 10.77.2.1/24 dev lan2
ip -n "$(ns relay)" link set lan1 up
ip -n "$(ns relay)" link set lan2 up
ip netns exec "$(ns relay)" sysctl -qw net.ipv4.ip_forward=0
[ "$(ip netns exec "$(ns relay)" cat /proc/sys/net/ipv4/ip_forward)" = 0 ] || fail "the relay host forwards"

step "profiles: each uses the relay by the address it sees; they exchange invites"
on alice init --name Alice >/dev/null
on bob init --name Bob >/dev/null
on alice relay add 10.77.1.1:4748 >/dev/null
on bob relay add 10.77.2.1:4748 >/dev/null
on alice contacts add "$(invite bob)" >/dev/null
on bob contacts add "$(invite alice)" >/dev/null
on bob contacts list --json | grep -q "10.77.1.1:4748" || fail "Alice's invite did not carry her relay"

start_relay
start_node alice
start_node bob
wait_for 10 reachable alice 10.77.1.1 4748 || fail "Alice cannot reach the relay"
wait_for 10 reachable bob 10.77.2.1 4748 || fail "Bob cannot reach the relay"
reachable alice 10.77.2.2 4747 && fail "Alice reaches Bob directly: the LANs are not separate"
reachable bob 10.77.1.2 4747 && fail "Bob reaches Alice directly: the LANs are not separate"

step "chat through the relay"
on alice send Bob "hello bob, via the relay" >/dev/null
wait_for 20 received_by_relay bob "hello bob, via the relay" || fail "Bob did not get Alice's message by relay"
on bob send Alice "hello alice" >/dev/null
wait_for 20 received_by_relay alice "hello alice" || fail "Alice did not get Bob's reply by relay"
wait_for 20 all_delivered alice || fail "Alice's message is not delivered"
wait_for 20 all_delivered bob || fail "Bob's message is not delivered"
on alice messages | grep -q "delivered, relay" || fail "mule messages does not show the relay path"

step "a flood of unpaid deposits from Bob's LAN, by a client written from the protocol document"
stored() {
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM relay_bundle').fetchone()[0])" \
        "$WORK/relaydata/relay.sqlite"
}
before=$(stored)
ip netns exec "$(ns bob)" "$PY" "$ROOT/Tests/Interop/relay_flood.py" 10.77.2.1 4748 > "$WORK/flood.log" 2>&1 \
    || fail "the relay did not refuse the flood as the protocol says: $(cat "$WORK/flood.log")"
sed 's/^/    /' "$WORK/flood.log"
[ "$(stored)" = "$before" ] || fail "the flood changed what the relay stores ($before → $(stored))"
grep "closed a relay link" "$WORK/relay.log" | grep -q "bad proof-of-work stamp" || fail "the relay logged nothing about the flood"
on bob send Alice "after the flood" >/dev/null
wait_for 20 received_by_relay alice "after the flood" || fail "the relay stopped working after the flood"

step "kill -9 the relay mid-conversation and restart it: nothing lost"
for i in 1 2 3; do on alice send Bob "before the crash $i" >/dev/null; done
sleep 2.5
kill -9 "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null || true
for i in 4 5; do on alice send Bob "after the crash $i" >/dev/null; done
on bob send Alice "while the relay is down" >/dev/null
sleep 1
start_relay
# What each side holds, for a failure message: text, direction, path, status.
held() {
    on "$1" messages --limit 1000000 --json | python3 -c "
import json,sys
for m in json.load(sys.stdin): print('   ', m['direction'], m.get('via'), m['status'], repr(m.get('text')))"
}
for i in 1 2 3; do
    wait_for 40 received_by_relay bob "before the crash $i" || fail "lost 'before the crash $i'; Bob holds:
$(held bob)
Alice holds:
$(held alice)"
done
for i in 4 5; do
    wait_for 40 received_by_relay bob "after the crash $i" || fail "lost 'after the crash $i'; Bob holds:
$(held bob)"
done
wait_for 40 received_by_relay alice "while the relay is down" || fail "lost Bob's message sent while the relay was down"
wait_for 30 all_delivered alice || fail "Alice's messages are not all delivered after the restart"
wait_for 30 all_delivered bob || fail "Bob's messages are not all delivered after the restart"

step "the relay keeps nothing it handed over, and never held a name or a word"
empty() { [ "$(stored)" = 0 ]; }
wait_for 20 empty || fail "the relay still holds bundles that were fetched"
for secret in Alice Bob "before the crash" "hello bob"; do
    cat "$WORK"/relaydata/relay.sqlite* | grep -qa "$secret" && fail "the relay's store contains '$secret'"
done
echo "relay-test: OK"
