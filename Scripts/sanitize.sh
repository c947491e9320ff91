#!/usr/bin/env bash
# ThreadSanitizer and AddressSanitizer passes over release-optimised builds (users run release: a
# race that a debug build hides crashes their node). Runs the link, mesh, relay, DHT, node, sync,
# crypto and web server tests, the stress scenario among them (two nodes and a relay, thousands of messages
# both ways, link cuts and restarts). Any sanitizer report fails the run.
#
#   Scripts/sanitize.sh                 both passes
#   Scripts/sanitize.sh thread          one of them (thread or address)
#
# Each pass builds in its own folder (.build-thread, .build-address) so the development build stays.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/python ]; then export MULE_PYTHON="$PWD/.venv/bin/python"; fi
suites='MuleMeshTests|MuleNodeTests|MuleDHTTests|MuleSyncTests|MuleCryptoTests|MuleWireTests|MuleWebServerTests'
# The libtorrent swarm and the DHT commands need the Python venv and the mule binary, and the
# 40-node DHT network tests time raw UDP answers in seconds, which an instrumented build on two
# cores does not keep to; they run in the ordinary pass. The DHT node itself runs here in the
# rendezvous tests (a private DHT under real meshes) and its codecs, table and store tests.
skip='LibtorrentInteropTests|DHTCommandTests|NetworkTests'
export MULE_STRESS_PER_ROUND=${MULE_STRESS_PER_ROUND:-400}
export MULE_DELAY_ROUNDS=${MULE_DELAY_ROUNDS:-2}
# halt_on_error: the first report ends the process, so it cannot be missed; leaks are not errors
# here (the Swift runtime keeps metadata for the life of the process).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/Scripts/tsan-suppressions.txt"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:detect_stack_use_after_return=0"
status=0
for sanitizer in "${@:-thread address}"; do
    for s in $sanitizer; do
        scratch=".build-$s"
        # Package.swift then leaves out the executables and the tests that need HummingbirdTesting,
        # and the address pass the web server (Package.swift says why).
        export MULE_SANITIZER_BUILD=$s
        pass_suites=$suites
        [ "$s" = address ] && pass_suites=${suites%|MuleWebServerTests}
        echo "sanitize: $s: building (release, -sanitize=$s) in $scratch"
        swift build -c release --build-tests --sanitize="$s" -Xswiftc -enable-testing --scratch-path "$scratch" 2>&1 |
            grep -vE '^\[[0-9]+/[0-9]+\]' || true
        [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "sanitize: $s: build failed" >&2; exit 1; }
        log=$(mktemp)
        echo "sanitize: $s: running $pass_suites"
        rc=0
        # One test at a time: instrumented code runs several times slower, and link tests that
        # run side by side on two cores would miss their handshake timeouts.
        swift test -c release --skip-build --sanitize="$s" --scratch-path "$scratch" --no-parallel \
            --filter "$pass_suites" --skip "$skip" >"$log" 2>&1 || rc=$?
        grep -E '^(✔ Test run|✘ Test run|Test Suite .All tests|Executed)' "$log" || true
        if grep -qE 'Sanitizer|runtime error:' "$log"; then
            echo "sanitize: $s: the sanitizer reported:" >&2
            grep -E -A60 'WARNING: ThreadSanitizer|ERROR: AddressSanitizer|runtime error:' "$log" | head -150 >&2
            status=1
        elif [ $rc -ne 0 ]; then
            echo "sanitize: $s: tests failed (exit $rc):" >&2
            grep -E '✘|error|Fatal' "$log" | head -60 >&2
            tail -40 "$log" >&2
            status=1
        else
            echo "sanitize: $s: clean"
        fi
        rm -f "$log"
    done
done
exit $status
