#!/usr/bin/env bash
# `mule chat` on a real terminal: tmux runs Alice's chat (70 columns, 20 rows, UTF-8) against
# Bob's node on loopback; send-keys types, capture-pane reads the screen. Checks a 3,000-character
# line (shown once, wrapped, its status updated in place), wide and combining characters, a
# half-typed line that survives an incoming message, Bob's node going offline and coming back
# (the lines typed meanwhile queue, then turn delivered, nothing overwritten), and a one-line
# notice for a message from a third person.
#
#   Tests/Chat/chat-test.sh          MULE_BIN (default .build/debug/mule)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MULE=${MULE_BIN:-$ROOT/.build/debug/mule}
command -v tmux >/dev/null || { echo "chat-test: tmux is missing (Scripts/install-deps.sh --terminal)" >&2; exit 1; }
WORK=$(mktemp -d /tmp/mule-chat.XXXX)
TMUX_SOCKET="mule-chat-$$"
PIDS=()
STEP=setup
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ]; then
        echo "chat-test: FAILED at: $STEP" >&2
        echo "--- the screen:" >&2
        tmux -L "$TMUX_SOCKET" capture-pane -p -t chat >&2 2>/dev/null || true
        for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
    fi
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK" || true
    exit $rc
}
trap cleanup EXIT
fail() { echo "chat-test: $*" >&2; exit 1; }
step() { STEP="$1"; echo "chat-test: $1"; }
m() { local who=$1; shift; "$MULE" --home "$WORK/$who" "$@"; }
invite() { m "$1" id --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["invite"])'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
screen() { tmux -L "$TMUX_SOCKET" capture-pane -p -t chat; }
# wait_for SECONDS PYTHON-CONDITION-ON-THE-SCREEN (variable s: the screen's text, rows: its lines)
wait_for() {
    local limit=$1 cond=$2 i
    for ((i = 0; i < limit * 5; i++)); do
        if screen | python3 -c "import sys; s=sys.stdin.read(); rows=s.split('\n'); sys.exit(0 if ($cond) else 1)"; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}
start_bob() {
    "$MULE" --home "$WORK/bob" run --no-mdns --listen "127.0.0.1:$BOB_PORT" --visible-as Bob >>"$WORK/bob.log" 2>&1 &
    BOB_PID=$!
    PIDS+=("$BOB_PID")
}

step "three people"
m alice init --name Alice >/dev/null
m bob init --name Bob >/dev/null
m carol init --name Carol >/dev/null
m alice contacts add "$(invite bob)" >/dev/null
m bob contacts add "$(invite alice)" >/dev/null
m carol contacts add "$(invite alice)" >/dev/null
BOB_PORT=$(free_port)
ALICE_PORT=$(free_port)
start_bob

step "Alice's chat in tmux, linked to Bob"
tmux -L "$TMUX_SOCKET" -f /dev/null new-session -d -s chat -x 70 -y 20 \
    "env LANG=C.UTF-8 '$MULE' --home '$WORK/alice' chat Bob --no-mdns --listen 127.0.0.1:$ALICE_PORT --peer 127.0.0.1:$BOB_PORT 2>'$WORK/chat-stderr.log'"
wait_for 20 "'Chat with Bob' in rows[0] and rows[0].rstrip().endswith('linked')" || fail "the title never showed Bob linked"

step "a 3,000-character line: shown once, wrapped to 70 columns, delivered in place"
long=$(python3 -c 'print(" ".join("w%04d" % i for i in range(500)))')
[ ${#long} -ge 2999 ] || fail "the long line is ${#long} characters"
tmux -L "$TMUX_SOCKET" send-keys -t chat -l "$long"
tmux -L "$TMUX_SOCKET" send-keys -t chat Enter
wait_for 20 "'w0499  (delivered)' in s" || fail "the long line was not delivered in place"
wait_for 2 "s.count('w0499') == 1 and s.count('w0480') == 1 and rows[19].rstrip() == '>'" || fail "the long line shows twice or stays in the input"
screen | python3 -c "import sys; rows=sys.stdin.read().split('\n'); sys.exit(0 if all(len(r) <= 70 for r in rows) else 1)" || fail "a row is wider than the terminal"
m bob messages Alice --json | python3 -c "import json,sys; t=[m.get('text') for m in json.load(sys.stdin)]; sys.exit(0 if sys.argv[1] in t else 1)" "$long" ||
    fail "Bob did not receive the long line whole"

step "wide and combining characters"
tmux -L "$TMUX_SOCKET" send-keys -t chat -l "日本語のテキスト café ñ̃ 👍 done"
tmux -L "$TMUX_SOCKET" send-keys -t chat Enter
wait_for 20 "'日本語のテキスト café ñ̃ 👍 done  (delivered)' in s" || fail "the unicode line was not shown whole with its status"

step "a half-typed line survives a message from Bob"
tmux -L "$TMUX_SOCKET" send-keys -t chat -l "half typed"
wait_for 5 "rows[19].rstrip() == '> half typed'" || fail "the typed text is not on the input row"
m bob send Alice "ping while you type" >/dev/null
wait_for 20 "'Bob: ping while you type' in s and rows[19].rstrip() == '> half typed'" ||
    fail "the incoming message did not appear above the untouched input row"
tmux -L "$TMUX_SOCKET" send-keys -t chat Enter
wait_for 20 "'you: half typed  (delivered)' in s" || fail "the half-typed line was not sent"

step "Bob goes offline: lines typed meanwhile queue"
kill -TERM "$BOB_PID"
wait "$BOB_PID" 2>/dev/null || true
wait_for 20 "rows[0].rstrip().endswith('offline') and '· Bob is offline' in s" || fail "the title did not turn offline"
for line in "while you were away" "and a second one"; do
    tmux -L "$TMUX_SOCKET" send-keys -t chat -l "$line"
    tmux -L "$TMUX_SOCKET" send-keys -t chat Enter
done
wait_for 10 "'you: while you were away  (queued)' in s and 'you: and a second one  (queued)' in s" ||
    fail "the lines typed offline are not shown as queued"

step "Bob comes back: the queued lines turn delivered in place"
start_bob
wait_for 60 "'you: while you were away  (delivered)' in s and 'you: and a second one  (delivered)' in s" ||
    fail "the queued lines did not turn delivered"
wait_for 5 "rows[0].rstrip().endswith('linked') and '· Bob is linked' in s" || fail "the title did not turn linked"
wait_for 2 "s.count('while you were away') == 1 and s.count('and a second one') == 1 and 'ping while you type' in s" ||
    fail "a line was overwritten or repeated"

step "a message from Carol: a one-line notice"
m carol send Alice "hello from Carol" >/dev/null
"$MULE" --home "$WORK/carol" run --no-mdns --listen 127.0.0.1:0 --peer "127.0.0.1:$ALICE_PORT" >>"$WORK/carol.log" 2>&1 &
PIDS+=("$!")
wait_for 30 "'· a message from Carol [' in s" || fail "no notice for Carol's message"
wait_for 2 "'hello from Carol' not in s" || fail "Carol's text was shown in the chat with Bob"

step "Ctrl-D ends the chat and gives the terminal back"
tmux -L "$TMUX_SOCKET" send-keys -t chat C-d
for _ in $(seq 50); do tmux -L "$TMUX_SOCKET" has-session -t chat 2>/dev/null || break; sleep 0.2; done
tmux -L "$TMUX_SOCKET" has-session -t chat 2>/dev/null && fail "the chat did not end on Ctrl-D"
[ ! -s "$WORK/chat-stderr.log" ] || fail "the chat wrote to stderr: $(head -3 "$WORK/chat-stderr.log")"
echo "chat-test: passed"
