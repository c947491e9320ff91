import Foundation
import Testing

@testable import MuleWire

@Suite struct BundleCodecTests {
    static func sample(payload: [UInt8] = Array("hello".utf8), crc: CRCType = .crc32c) -> BPBundle {
        BPBundle(
            primary: PrimaryBlock(
                crcType: crc, destination: .dtn("//node/app"), source: .ipn(node: 5, service: 1),
                creationTime: 753_315_200_000, sequenceNumber: 3, lifetime: 86_400_000),
            blocks: [
                CanonicalBlock(type: 10, number: 2, crcType: crc, data: [0x82, 0x18, 0x1E, 0x00]),
                .payload(payload, crcType: crc),
            ])
    }

    @Test(arguments: [CRCType.none, .crc16, .crc32c])
    func roundTrip(_ crc: CRCType) throws {
        let b = Self.sample(crc: crc)
        let bytes = BundleCodec.encode(b)
        #expect(bytes.first == 0x9F && bytes.last == 0xFF)
        #expect(try BundleCodec.decode(bytes) == b)
    }

    @Test func everyFlipInACheckedBundleIsDetected() throws {
        let bytes = BundleCodec.encode(Self.sample())
        for i in bytes.indices {
            var damaged = bytes
            damaged[i] ^= 0x01
            #expect(throws: WireError.self, "flip at \(i)") { _ = try BundleCodec.decode(damaged) }
        }
    }

    @Test func rejectsWrongVersionAndTrailingBytes() throws {
        var bytes = BundleCodec.encode(Self.sample(crc: .none))
        #expect(throws: WireError.trailingBytes(count: 1)) { try BundleCodec.decode(bytes + [0]) }
        bytes[2] = 6
        #expect(throws: WireError.unknownVersion("bundle protocol", 6)) { try BundleCodec.decode(bytes) }
    }

    @Test func muleBundleShapeIsEnforced() throws {
        let mb = MuleBundle(
            tag: [UInt8](repeating: 0xAB, count: 16), creationTime: 3_600_000 * 200_000, lifetime: 3_600_000,
            envelope: .receipt(.init(acks: [[UInt8](repeating: 1, count: 32)])))
        let decoded = try MuleBundle(try BundleCodec.decode(mb.encode()))
        #expect(decoded == mb)
        #expect(throws: WireError.self) { try MuleBundle(Self.sample()) }
        var b = mb.bundle
        b.primary.creationTime += 1
        #expect(throws: WireError.invalidField("creation time is not rounded to the hour")) { try MuleBundle(b) }
    }
}

@Suite struct BundleFileTests {
    func file(_ n: Int) -> ([UInt8], [BPBundle]) {
        let bundles = (0..<n).map { i in BundleCodecTests.sample(payload: Array("bundle number \(i)".utf8)) }
        return (BundleFile.write(bundles.map(BundleCodec.encode)), bundles)
    }

    @Test func readsAllBundles() throws {
        let (bytes, bundles) = file(3)
        let entries = try BundleFile.parse(bytes)
        #expect(entries.count == 3)
        for (e, b) in zip(entries, bundles) {
            guard case .bundle(let got, _) = e else { Issue.record("damaged"); continue }
            #expect(got == b)
        }
    }

    @Test func headerErrors() throws {
        #expect(throws: WireError.wrongMagic) { try BundleFile.parse(Array("hello, world".utf8)) }
        #expect(throws: WireError.wrongMagic) { try BundleFile.parse([]) }
        #expect(throws: WireError.unknownVersion("bundle file", 2)) { try BundleFile.parse(BundleFile.magic + [2]) }
        #expect(try BundleFile.parse(BundleFile.header).isEmpty)
    }

    /// A crafted file whose every bundle's payload holds the next, every payload CRC wrong
    /// (issue 11: 512 KiB took 3 s, 2 MiB 78 s, because resynchronising re-read the rest of the
    /// file from every nested start). The work is now bounded by a multiple of the file size.
    @Test func nestedDamageCostsLinearWork() throws {
        let empty = BundleCodec.encode(BundleCodecTests.sample(payload: []))
        // [0x86, 1, 1, 0, 2] payload block head, 0x40 empty byte string, 0x44 + 4-byte CRC, 0xFF.
        #expect(Array(empty.suffix(12).prefix(6)) == [0x86, 0x01, 0x01, 0x00, 0x02, 0x40])
        let head = Array(empty.dropLast(12)) + [0x86, 0x01, 0x01, 0x00, 0x02]
        let tail: [UInt8] = [0x44, 0xDE, 0xAD, 0xBE, 0xEF, 0xFF]
        func byteStringHeader(_ n: Int) -> [UInt8] {
            n < 24
                ? [0x40 | UInt8(n)]
                : n < 256
                    ? [0x58, UInt8(n)]
                    : n < 65536
                        ? [0x59, UInt8(n >> 8), UInt8(n & 0xFF)]
                        : [0x5A, UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
        var lengths = [3]  // the innermost payload
        while lengths.last! < 2 << 20 {
            let l = lengths.last!
            lengths.append(head.count + byteStringHeader(l).count + l + tail.count)
        }
        var bytes = BundleFile.header
        bytes.reserveCapacity(lengths.last! + 64)
        for l in lengths.dropLast().reversed() { bytes += head + byteStringHeader(l) }
        bytes += [1, 2, 3]
        for _ in lengths.dropLast() { bytes += tail }
        var examined = 0
        let entries = try BundleFile.parse(bytes, examined: &examined)
        #expect(examined <= BundleFile.workBudget(forFileOf: bytes.count) + bytes.count)
        #expect(entries.allSatisfy { if case .damaged = $0 { true } else { false } })
        // The entries cover the file to its end.
        guard case .damaged(_, let last) = entries.last else { return }
        #expect(last.upperBound == bytes.count)
        print("nested damaged file of \(bytes.count) bytes: \(examined) bytes examined, \(entries.count) entries")
    }

    /// Damage anywhere inside the middle bundle never hides its neighbours.
    @Test func damagedBundleDoesNotStopTheOthers() throws {
        let (bytes, bundles) = file(3)
        let first = BundleCodec.encode(bundles[0]).count
        let second = BundleCodec.encode(bundles[1]).count
        let start = BundleFile.header.count + first
        for i in start..<(start + second) {
            var damaged = bytes
            damaged[i] ^= 0x20
            let entries = try BundleFile.parse(damaged)
            let good = entries.compactMap { e -> BPBundle? in if case .bundle(let b, _) = e { return b } else { return nil } }
            #expect(good == [bundles[0], bundles[2]], "flip at \(i)")
        }
        // Truncation keeps everything before the cut.
        let cut = Array(bytes.prefix(start + second / 2))
        let entries = try BundleFile.parse(cut)
        #expect(entries.count == 2)
        guard case .damaged(.truncated, _) = entries[1] else {
            Issue.record("expected a truncated bundle, got \(entries[1])")
            return
        }
    }
}
