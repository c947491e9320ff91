#!/usr/bin/env bash
# Coverage-guided fuzzing of every pure decoder with libFuzzer (swiftc -sanitize=fuzzer,address):
# CBOR, BPv7 bundles, bundle files, envelopes, message content, Base32 (Fuzz/wire.swift),
# reconciliation messages (sync), bencode and KRPC datagrams (DHT), link frames, the frame
# assembler and the hello (link), invite codes, Noise handshake messages and the v2 ratchet's header,
# stored session and opening (crypto). Each harness
# is compiled together with the real sources it tests.
#
#   Scripts/fuzz.sh [SECONDS]     each fuzzer runs SECONDS (default 20); a crash fails the run
#
# Corpora grow in .build-fuzz/corpus/NAME between runs; crashes are written to .build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-20}
out=.build-fuzz
mkdir -p "$out"
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
# KRPC (node addresses parse through MuleWire's HostPort), link frames, the hello and the crypto
# decoders need MuleWire and MuleCrypto: built here as
# static modules with the same instrumentation.
module() {
    local name=$1; shift
    mkdir -p "$out/$name"
    (cd "$out/$name" && swiftc "${flags[@]}" -emit-library -static -emit-module -module-name "$name" "$@" -o "lib$name.a" 2>&1 |
        { grep -v "ld.gold: warning" || true; })
}
root=$PWD
module MuleWire "$root"/Sources/MuleWire/*.swift
module MuleCrypto -I "$root/Sources/CSodium" -I "$root/$out/MuleWire" $(find "$root/Sources/MuleCrypto" -name '*.swift')
build krpc -module-name MuleDHT -I "$out/MuleWire" -L "$out/MuleWire" -lMuleWire Sources/MuleDHT/Bencode.swift \
    Sources/MuleDHT/KRPC.swift Sources/MuleDHT/DHTError.swift Sources/MuleDHT/NodeID.swift Fuzz/krpc.swift
deps=(-I Sources/CSodium -I "$out/MuleWire" -I "$out/MuleCrypto" -L "$out/MuleWire" -L "$out/MuleCrypto" -lMuleCrypto -lMuleWire -lsodium)
build link -module-name MuleLink "${deps[@]}" Sources/MuleLink/LinkFrame.swift Sources/MuleLink/LinkError.swift \
    Sources/MuleLink/LinkHello.swift Fuzz/link.swift
build crypto -module-name MuleCrypto -I Sources/CSodium -I "$out/MuleWire" -L "$out/MuleWire" -lMuleWire -lsodium \
    $(find Sources/MuleCrypto -name '*.swift') Fuzz/crypto.swift

# Seeds: the sample bundle file, as a file and as a bundle, for the wire harness.
mkdir -p "$out/corpus/wire"
if [ -f Samples/sample.mule ]; then
    { printf '\x02'; tail -c +10 Samples/sample.mule; } > "$out/corpus/wire/seed-file"
    { printf '\x01'; tail -c +10 Samples/sample.mule; } > "$out/corpus/wire/seed-bundle"
fi
status=0
for name in wire sync bencode krpc link crypto; do
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
