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

# Hosts with their own dbus and avahi-daemon on bridged segments (the recipe of shared LAB.md):
# segment S is namespace $ID-sS with a bridge, host N (1 to 254) is namespace $ID-hN at
# 169.254.0.N with its profile in $WORK/hN/profile.
seg() { echo "$ID-s$1"; }
host() { echo "$ID-h$1"; }

make_segment() {
    local s; s=$(seg "$1")
    ip netns add "$s"; NAMESPACES+=("$s")
    ip -n "$s" link add br0 type bridge
    ip -n "$s" link set br0 up
}

# Host N cabled to segment S with address 169.254.0.N, and no daemon.
make_wired_host() {
    local n=$1 s; s=$(seg "$2")
    local h; h=$(host "$n")
    ip netns add "$h"; NAMESPACES+=("$h")
    ip -n "$h" link set lo up
    ip -n "$h" link add eth0 type veth peer name p$n
    ip -n "$h" link set p$n netns "$s"
    ip -n "$s" link set p$n master br0 up
    ip -n "$h" addr add 169.254.0.$n/16 dev eth0
    ip -n "$h" link set eth0 up
    mkdir -p "$WORK/h$n"
}

# Host N on segment S with address 169.254.0.N, its own dbus and avahi-daemon.
make_host() {
    local n=$1
    make_wired_host "$n" "$2"
    local h; h=$(host "$n")
    local d="$WORK/h$n"
    cat > "$d/dbus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$d/dbus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
CONF
    local dpid
    dpid=$(ip netns exec "$h" dbus-daemon --config-file="$d/dbus.conf" --fork --print-pid)
    PIDS+=("$dpid")
    cat > "$d/avahi.conf" <<CONF
[server]
host-name=$ID-h$n
use-ipv4=yes
use-ipv6=no
allow-interfaces=eth0
[publish]
publish-hinfo=no
publish-workstation=no
[wide-area]
enable-wide-area=no
CONF
    ip netns exec "$h" unshare -m sh -c "mkdir -p /run/avahi-daemon; mount -t tmpfs none /run/avahi-daemon; DBUS_SYSTEM_BUS_ADDRESS=unix:path=$d/dbus.sock exec avahi-daemon --no-drop-root --no-chroot -f $d/avahi.conf" > "$d/avahi.log" 2>&1 &
    PIDS+=("$!")
    wait_for 10 grep -q "Server startup complete" "$d/avahi.log" || fail "avahi-daemon in h$n did not start"
}

# Runs mule as host N's user: its own profile, its own dbus.
on() {
    local n=$1; shift
    DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/h$n/dbus.sock" ip netns exec "$(host "$n")" "$MULE" --home "$WORK/h$n/profile" "$@"
}

start_node() {
    local n=$1; shift
    DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/h$n/dbus.sock" ip netns exec "$(host "$n")" \
        "$MULE" --home "$WORK/h$n/profile" run --idle-timeout 4 "$@" >> "$WORK/node$n.log" 2>&1 &
    NODE_PID[$n]=$!
    PIDS+=("$!")
    wait_for 10 grep -q "listening on" "$WORK/node$n.log" || fail "node $n did not start"
}

