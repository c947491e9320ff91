#!/usr/bin/env bash
# Coverage-guided fuzzing of every pure decoder with libFuzzer (swiftc -sanitize=fuzzer,address):
# CBOR, BPv7 bundles, bundle files, envelopes, message content, Base32 (Fuzz/wire.swift),
# reconciliation messages (sync), bencode and KRPC datagrams (DHT), link frames and the frame
# assembler (link). Each harness is compiled together with the real sources it tests.
#
#   Scripts/fuzz.sh [SECONDS]     each fuzzer runs SECONDS (default 20); a crash fails the run
#
# Corpora grow in .build-fuzz/corpus/NAME between runs; crashes are written to .build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
out=.build-fuzz
mkdir -p "$out/crypto"
flags=(-parse-as-library -O -sanitize=fuzzer,address)
build() {
    local name=$1; shift
    swiftc "${flags[@]}" "$@" -o "$out/fuzz-$name" 2>&1 | { grep -v "ld.gold: warning" || true; }
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "fuzz: cannot build $name" >&2; exit 1; }
}
echo "fuzz: building"
build wire -module-name MuleWire Sources/MuleWire/*.swift Fuzz/wire.swift
build sync -module-name MuleSync Sources/MuleSync/SyncCodec.swift Sources/MuleSync/SyncItem.swift Fuzz/sync.swift
build bencode -module-name MuleDHT Sources/MuleDHT/Bencode.swift Fuzz/bencode.swift
build krpc -module-name MuleDHT Sources/MuleDHT/Bencode.swift Sources/MuleDHT/KRPC.swift Sources/MuleDHT/DHTError.swift \
    Sources/MuleDHT/NodeID.swift Fuzz/krpc.swift
# LinkError names MuleCrypto's NoiseError: that one file is built as the MuleCrypto module here.
(cd "$out/crypto" && swiftc "${flags[@]}" -emit-library -static -emit-module -module-name MuleCrypto \
    ../../Sources/MuleCrypto/Noise/NoiseError.swift -o libMuleCrypto.a 2>&1 | { grep -v "ld.gold: warning" || true; })
build link -module-name MuleLink -I "$out/crypto" -L "$out/crypto" -lMuleCrypto \
    Sources/MuleLink/LinkFrame.swift Sources/MuleLink/LinkError.swift Fuzz/link.swift

# Seeds: the sample bundle file, as a file and as a bundle, for the wire harness.
mkdir -p "$out/corpus/wire"
if [ -f Samples/sample.mule ]; then
    { printf '\x02'; tail -c +10 Samples/sample.mule; } > "$out/corpus/wire/seed-file"
    { printf '\x01'; tail -c +10 Samples/sample.mule; } > "$out/corpus/wire/seed-bundle"
fi
status=0
for name in wire sync bencode krpc link; do
    mkdir -p "$out/corpus/$name"
    if "$out/fuzz-$name" -max_total_time="$SECONDS_EACH" -print_final_stats=0 -artifact_prefix="$out/crash-$name-" \
        "$out/corpus/$name" > "$out/$name.log" 2>&1; then
        echo "fuzz: $name: $(grep -oE 'Done [0-9]+ runs' "$out/$name.log" | tail -1) in ${SECONDS_EACH} s, no crash"
    else
        echo "fuzz: $name: CRASH (see $out/$name.log and $out/crash-$name-*)" >&2
        tail -30 "$out/$name.log" >&2
        status=1
    fi
done
exit $status
