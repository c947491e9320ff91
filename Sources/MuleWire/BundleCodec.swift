/// Encodes and decodes BPv7 bundles (RFC 9171 §4) in CBOR, computing and checking CRCs.
public enum BundleCodec {
    /// Encodes `bundle` as an indefinite-length CBOR array of blocks, filling in every CRC.
    public static func encode(_ bundle: BPBundle) -> [UInt8] {
        var w = CBORWriter(capacity: bundle.payload.count + 96)
        w.beginIndefiniteArray()
        encodePrimary(bundle.primary, into: &w)
        for block in bundle.blocks { encodeCanonical(block, into: &w) }
        w.breakCode()
        return w.bytes
    }

    static func encodePrimary(_ p: PrimaryBlock, into w: inout CBORWriter) {
        let start = w.bytes.count
        let fragment = p.flags & PrimaryBlock.isFragment != 0
        var count = 8 + (fragment ? 2 : 0)
        if p.crcType != .none { count += 1 }
        w.arrayHeader(count)
        w.unsigned(7)
        w.unsigned(p.flags)
        w.unsigned(p.crcType.rawValue)
        p.destination.encode(into: &w)
        p.source.encode(into: &w)
        p.reportTo.encode(into: &w)
        w.arrayHeader(2)
        w.unsigned(p.creationTime)
        w.unsigned(p.sequenceNumber)
        w.unsigned(p.lifetime)
        if fragment {
            w.unsigned(p.fragmentOffset ?? 0)
            w.unsigned(p.totalADULength ?? 0)
        }
        appendCRC(p.crcType, blockStart: start, into: &w)
    }

    static func encodeCanonical(_ b: CanonicalBlock, into w: inout CBORWriter) {
        let start = w.bytes.count
        w.arrayHeader(b.crcType == .none ? 5 : 6)
        w.unsigned(b.type)
        w.unsigned(b.number)
        w.unsigned(b.flags)
        w.unsigned(b.crcType.rawValue)
        w.byteString(b.data)
        appendCRC(b.crcType, blockStart: start, into: &w)
    }

    /// Appends the CRC byte string: computed over the block with the CRC value set to zeros.
    static func appendCRC(_ type: CRCType, blockStart: Int, into w: inout CBORWriter) {
        guard type != .none else { return }
        let zeros = [UInt8](repeating: 0, count: type.valueLength)
        w.byteString(zeros)
        let valueStart = w.bytes.count - type.valueLength
        let crc = computeCRC(type, w.bytes, blockStart..<w.bytes.count)
        for i in 0..<type.valueLength {
            w.patch(at: valueStart + i, UInt8(truncatingIfNeeded: crc >> UInt32(8 * (type.valueLength - 1 - i))))
        }
    }

    /// CRC over `bytes[range]` (whose CRC value bytes must already be zero).
    static func computeCRC(_ type: CRCType, _ bytes: [UInt8], _ range: Range<Int>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf in
            let slice = UnsafeBufferPointer(rebasing: buf[range])
            switch type {
            case .none: return 0
            case .crc16: return UInt32(CRC.update16(0xFFFF, slice) ^ 0xFFFF)
            case .crc32c: return CRC.update32(0xFFFF_FFFF, slice) ^ 0xFFFF_FFFF
            }
        }
    }

    /// CRC over `bytes[range]` treating `valueRange` as zeros, without copying.
    static func computeCRC(_ type: CRCType, _ bytes: [UInt8], block: Range<Int>, zeroing valueRange: Range<Int>) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf in
            let head = UnsafeBufferPointer(rebasing: buf[block.lowerBound..<valueRange.lowerBound])
            let tail = UnsafeBufferPointer(rebasing: buf[valueRange.upperBound..<block.upperBound])
            let zeros: [UInt8] = [0, 0, 0, 0]
            return zeros.withUnsafeBufferPointer { z in
                let zs = UnsafeBufferPointer(rebasing: z[0..<valueRange.count])
                switch type {
                case .none: return 0
                case .crc16: return UInt32(CRC.update16(CRC.update16(CRC.update16(0xFFFF, head), zs), tail) ^ 0xFFFF)
                case .crc32c:
                    return CRC.update32(CRC.update32(CRC.update32(0xFFFF_FFFF, head), zs), tail) ^ 0xFFFF_FFFF
                }
            }
        }
    }

    /// Decodes one bundle spanning exactly `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(WireError) -> BPBundle {
        var r = CBORReader(bytes)
        let b = try decode(&r)
        try r.expectEnd()
        return b
    }

    /// Decodes one bundle starting at the reader's offset, checking every CRC.
    public static func decode(_ r: inout CBORReader) throws(WireError) -> BPBundle {
        try r.readIndefiniteArrayStart()
        let primary = try decodePrimary(&r)
        var blocks: [CanonicalBlock] = []
        var numbers: Set<UInt64> = []
        while try !r.readBreakIfPresent() {
            let b = try decodeCanonical(&r, index: blocks.count + 1)
            guard numbers.insert(b.number).inserted else {
                throw .invalidField("duplicate block number \(b.number)")
            }
            blocks.append(b)
            guard blocks.count <= 64 else { throw .tooLarge("block count", at: r.offset) }
        }
        guard let last = blocks.last, last.type == CanonicalBlock.payloadType, last.number == 1 else {
            throw .invalidField("the last block is not a payload block")
        }
        guard blocks.dropLast().allSatisfy({ $0.type != CanonicalBlock.payloadType }) else {
            throw .invalidField("more than one payload block")
        }
        return BPBundle(primary: primary, blocks: blocks)
    }

    static func decodePrimary(_ r: inout CBORReader) throws(WireError) -> PrimaryBlock {
        let blockStart = r.offset
        let count = try r.readArrayHeader()
        guard count >= 8 else { throw .invalidField("primary block has \(count) fields") }
        let version = try r.readUnsigned()
        guard version == 7 else { throw .unknownVersion("bundle protocol", version) }
        let flags = try r.readUnsigned()
        let crcCode = try r.readUnsigned()
        guard let crcType = CRCType(rawValue: crcCode) else { throw .invalidField("unknown CRC type \(crcCode)") }
        let fragment = flags & PrimaryBlock.isFragment != 0
        let expected = 8 + (fragment ? 2 : 0) + (crcType == .none ? 0 : 1)
        guard count == expected else { throw .invalidField("primary block has \(count) fields, expected \(expected)") }
        let dest = try EndpointID.decode(&r, field: "destination")
        let source = try EndpointID.decode(&r, field: "source")
        let reportTo = try EndpointID.decode(&r, field: "report-to")
        try r.readArrayHeader(count: 2, what: "creation timestamp")
        let time = try r.readUnsigned()
        let seq = try r.readUnsigned()
        let lifetime = try r.readUnsigned()
        var p = PrimaryBlock(
            flags: flags, crcType: crcType, destination: dest, source: source, reportTo: reportTo,
            creationTime: time, sequenceNumber: seq, lifetime: lifetime)
        if fragment {
            p.fragmentOffset = try r.readUnsigned()
            p.totalADULength = try r.readUnsigned()
        }
        try checkCRC(crcType, &r, blockStart: blockStart, blockIndex: 0)
        return p
    }

    static func decodeCanonical(_ r: inout CBORReader, index: Int) throws(WireError) -> CanonicalBlock {
        let blockStart = r.offset
        let count = try r.readArrayHeader()
        guard count == 5 || count == 6 else { throw .invalidField("block \(index) has \(count) fields") }
        let type = try r.readUnsigned()
        let number = try r.readUnsigned()
        let flags = try r.readUnsigned()
        let crcCode = try r.readUnsigned()
        guard let crcType = CRCType(rawValue: crcCode) else { throw .invalidField("unknown CRC type \(crcCode)") }
        guard count == (crcType == .none ? 5 : 6) else { throw .invalidField("block \(index) has \(count) fields") }
        if type == CanonicalBlock.payloadType, number != 1 {
            throw .invalidField("payload block has number \(number)")
        }
        if type != CanonicalBlock.payloadType, number < 2 {
            throw .invalidField("extension block \(index) has number \(number)")
        }
        let dataRange = try r.readByteStringRange()
        try checkCRC(crcType, &r, blockStart: blockStart, blockIndex: index)
        return CanonicalBlock(type: type, number: number, flags: flags, crcType: crcType, data: Array(r.bytes[dataRange]))
    }

    static func checkCRC(_ type: CRCType, _ r: inout CBORReader, blockStart: Int, blockIndex: Int) throws(WireError) {
        guard type != .none else { return }
        let valueRange = try r.readByteStringRange()
        guard valueRange.count == type.valueLength else {
            throw .invalidField("block \(blockIndex) CRC is \(valueRange.count) bytes")
        }
        var stored: UInt32 = 0
        for i in valueRange { stored = (stored << 8) | UInt32(r.bytes[i]) }
        let computed = computeCRC(type, r.bytes, block: blockStart..<r.offset, zeroing: valueRange)
        guard stored == computed else { throw .crcMismatch(block: blockIndex) }
    }
}
