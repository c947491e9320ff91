#!/usr/bin/env bash
# The LAN, for real: three hosts in network namespaces on two bridged segments, a dbus daemon and
# an avahi-daemon in each host, and `mule run` in each. Checks discovery, live chat both ways,
# people made visible and added from `mule nearby`, multi-hop carry by moving a host between
# segments, a link cut mid-transfer that resumes, and a node killed with kill -9 and restarted.
#
# Needs root (network namespaces). Everything it makes is named mule-lan-<pid>-*, and cleaned up by
# pid and by those names. No packet leaves the namespaces it creates.
set -euo pipefail
TEST=lan-test
ID="mule-lan-$$"
source "$(dirname "$0")/lib.sh"

# Moves host N's cable from its segment to segment S.
move_host() {
    local n=$1 from; from=$(seg "$2")
    local to; to=$(seg "$3")
    ip -n "$(host "$n")" link set eth0 down
    ip -n "$from" link set p$n netns "$to"
    ip -n "$to" link set p$n master br0 up
    ip -n "$(host "$n")" link set eth0 up
}

links() { on "$1" peers --json | json "len(d['links'])"; }
has_links() { [ "$(links "$1")" -ge "$2" ]; }
no_links() { [ "$(links "$1")" -eq 0 ]; }
message_status() { on "$1" messages --limit 1000000 --json | json "[m['status'] for m in d if m.get('text') == sys.argv[2]]" "$2"; }
has_message() { on "$1" messages --limit 1000000 --json | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if sum(1 for m in d if m.get('text')==sys.argv[1] and m['direction']=='in')==1 else 1)" "$2"; }
is_delivered() { on "$1" messages --limit 1000000 --json | python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(m.get('text')==sys.argv[1] and m['status']=='delivered' for m in d) else 1)" "$2"; }
carried() { on "$1" status --json | json "d['carried']"; }
count_in() { grep -c "$2" "$1" || true; }
more_in() { [ "$(count_in "$1" "$2")" -gt "$3" ]; }
invite() { on "$1" id --json | json "d['invite']"; }
sees_nearby() { on "$1" nearby | grep -q "$2"; }
carries() { [ "$(carried "$1")" -ge 1 ]; }
has_file() { on "$1" messages --limit 1000000 --json | grep -q "$2"; }

declare -A NODE_PID

step "building a LAN: segment 1 with h1 and h2, segment 2 with h3"
make_segment 1
make_segment 2
make_host 1 1
make_host 2 1
make_host 3 2
on 1 init --name Alice >/dev/null
on 2 init --name Bob >/dev/null
on 3 init --name Carol >/dev/null
# Alice and Carol met before and exchanged invites; Alice and Bob will meet on the LAN.
on 1 contacts add "$(invite 3)" >/dev/null
on 3 contacts add "$(invite 1)" >/dev/null

step "no Avahi daemon reachable: one line, and the node keeps working"
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/no-such-bus" ip netns exec "$(host 3)" \
    "$MULE" --home "$WORK/h3/profile" run --listen 127.0.0.1:4999 > "$WORK/nomdns.log" 2>&1 &
nomdns=$!
PIDS+=("$nomdns")
wait_for 10 grep -q "listening on" "$WORK/nomdns.log" || fail "the node without Avahi did not start"
sleep 1
kill -TERM "$nomdns"
wait "$nomdns" 2>/dev/null || true
[ "$(grep -c "mDNS discovery is off" "$WORK/nomdns.log")" -eq 1 ] || fail "expected one line about mDNS: $(cat "$WORK/nomdns.log")"
grep -q "mule: stopped" "$WORK/nomdns.log" || fail "the node without Avahi did not keep running"

step "discovery: mule run on each host, Alice and Bob visible"
start_node 1 --visible-as Alice
start_node 2 --visible-as Bob
start_node 3
wait_for 20 has_links 1 1 || fail "h1 and h2 did not link through mDNS"
wait_for 10 has_links 2 1 || fail "h2 has no link"
no_links 3 || fail "h3 is alone on its segment but has a link"
on 1 peers | grep -q "169.254.0.2" || fail "mule peers on h1 does not show h2"

step "the mDNS record holds no identity: a random instance name, v=1, the port"
ip netns exec "$(host 1)" env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/h1/dbus.sock" \
    avahi-browse -rpt _mule._tcp > "$WORK/browse.txt" 2>/dev/null || true
grep '^=' "$WORK/browse.txt" | grep -q '169.254.0.2;4747;"v=1"$' || fail "unexpected record: $(cat "$WORK/browse.txt")"
grep '^=' "$WORK/browse.txt" | cut -d';' -f4 | grep -qvE '^mule-[0-9a-f]{10}$' && fail "instance name is not random: $(cat "$WORK/browse.txt")"
grep -qi -e alice -e bob "$WORK/browse.txt" && fail "the record names someone: $(cat "$WORK/browse.txt")"
instance_before=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['instance'])" "$WORK/h2/profile/node.json")
grep -q "mDNS" "$WORK/node1.log" && fail "node 1 reported mDNS trouble: $(grep mDNS "$WORK/node1.log")"

step "nearby: Bob sees Alice and adds her, Alice adds Bob"
wait_for 10 sees_nearby 2 Alice || fail "Alice does not appear in Bob's mule nearby"
on 2 nearby --json | json "d[0]['fingerprint']" > "$WORK/fp-seen-by-bob"
on 1 id --json | json "d['fingerprint']" > "$WORK/fp-alice"
cmp -s "$WORK/fp-seen-by-bob" "$WORK/fp-alice" || fail "the fingerprint Bob sees is not Alice's"
on 2 contacts add-nearby Alice | grep -q "^Fingerprint: " || fail "add-nearby did not add Alice"
on 1 contacts add-nearby Bob >/dev/null || fail "add-nearby did not add Bob"

step "live chat both ways"
on 1 send Bob "hello bob, from the LAN" >/dev/null
wait_for 5 has_message 2 "hello bob, from the LAN" || fail "Bob did not get Alice's message"
wait_for 5 is_delivered 1 "hello bob, from the LAN" || fail "Alice did not see 'delivered'"
(echo "hi alice, typed in mule chat"; sleep 4) | on 2 chat Alice > "$WORK/chat.log" 2>&1
has_message 1 "hi alice, typed in mule chat" || fail "Alice did not get the line typed in Bob's chat"
grep -q "delivered" "$WORK/chat.log" || fail "Bob's chat did not show the delivery: $(cat "$WORK/chat.log")"

step "multi-hop: Alice writes to Carol (elsewhere); Bob carries it to segment 2 and the receipt back"
on 1 send Carol "carried by Bob" >/dev/null
wait_for 10 carries 2 || fail "Bob does not carry Alice's message for Carol"
move_host 2 1 2
wait_for 30 has_message 3 "carried by Bob" || fail "Carol did not get the message Bob carried"
move_host 2 2 1
wait_for 30 is_delivered 1 "carried by Bob" || fail "Alice did not learn that Carol got it"

step "a link cut mid-transfer resumes, nothing lost or duplicated"
head -c $((12 << 20)) /dev/urandom > "$WORK/big.bin"
tc -n "$(host 1)" qdisc add dev eth0 root tbf rate 16mbit burst 64kb latency 500ms
wait_for 20 has_links 2 1 || fail "h1 and h2 did not link again"
on 1 send Bob --file "$WORK/big.bin" >/dev/null
wait_for 20 sh -c "grep -q 'receiving from' '$WORK/node2.log'" || fail "no progress shown for the transfer"
# Only the link to h1 counts: the stale link to h3 (left behind on segment 2) may time out meanwhile.
downs=$(count_in "$WORK/node2.log" "link down with 169.254.0.1:")
ip -n "$(host 2)" link set eth0 down
wait_for 20 more_in "$WORK/node2.log" "link down with 169.254.0.1:" "$downs" || fail "the cut link was not dropped"
sleep 1
ip -n "$(host 2)" link set eth0 up
tc -n "$(host 1)" qdisc del dev eth0 root
wait_for 60 sh -c "grep -q 'resuming a bundle' '$WORK/node2.log'" || fail "the transfer did not resume where it stopped"
wait_for 60 has_file 2 big.bin || fail "the file did not arrive"
path=$(on 2 messages --limit 1000000 --json | json "[m['path'] for m in d if m.get('file') == 'big.bin'][0]")
count=$(on 2 messages --limit 1000000 --json | json "sum(1 for m in d if m.get('file') == 'big.bin')")
[ "$count" -eq 1 ] || fail "the file arrived $count times"
cmp -s "$path" "$WORK/big.bin" || fail "the file that arrived differs from the one sent"

step "kill -9 a node and restart it: nothing lost"
before=$(on 2 messages --limit 1000000 --json | json "len(d)")
kill -9 "${NODE_PID[2]}"; wait "${NODE_PID[2]}" 2>/dev/null || true
on 1 send Bob "while you were down" >/dev/null
start_node 2 --visible-as Bob
wait_for 30 has_message 2 "while you were down" || fail "the restarted node did not get the message sent meanwhile"
after=$(on 2 messages --limit 1000000 --json | json "len(d)")
# node.json is rewritten once a second: the message may arrive before the new node writes it.
instance_changed() {
    [ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['instance'])" "$WORK/h2/profile/node.json")" != "$instance_before" ]
}
wait_for 5 instance_changed || fail "the mDNS instance name did not change across restarts"
[ "$after" -eq $((before + 1)) ] || fail "Bob had $before messages, now $after"
[ "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$WORK/h2/profile/mule.sqlite")" = "ok" ] \
    || fail "store damaged"

step "graceful stop on SIGTERM"
kill -TERM "${NODE_PID[3]}"
wait_for 10 sh -c "grep -q 'mule: stopped' '$WORK/node3.log'" || fail "node 3 did not stop on SIGTERM"

step "mule chat with no node running starts one for its lifetime"
move_host 3 2 1
(echo "hello from Carol's chat"; sleep 8) | on 3 chat Alice --visible-as Carol > "$WORK/chat3.log" 2>&1
grep -q "node started for this chat" "$WORK/chat3.log" || fail "chat did not start a node: $(cat "$WORK/chat3.log")"
has_message 1 "hello from Carol's chat" || fail "Alice did not get the line from Carol's chat"
grep -q "delivered" "$WORK/chat3.log" || fail "Carol's chat did not show the delivery: $(cat "$WORK/chat3.log")"

echo "lan-test: all checks passed"
