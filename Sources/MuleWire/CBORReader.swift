/// A strict, allocation-light CBOR reader over a byte buffer.
///
/// It accepts only deterministic encodings (RFC 8949 §4.2.1): integers and lengths in their
/// shortest form and definite lengths, unless a caller explicitly reads an indefinite-length array.
/// Every failure carries the byte offset.
public struct CBORReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    public let end: Int

    public init(_ bytes: [UInt8], offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    public var isAtEnd: Bool { offset >= end }

    public func peekByte() throws(WireError) -> UInt8 {
        guard offset < end else { throw .truncated(at: offset) }
        return bytes[offset]
    }

    /// Reads an initial byte and its argument. Returns (major type, additional info, argument).
    /// `argument` is meaningless when `info == 31` (indefinite / break).
    mutating func readHead() throws(WireError) -> (major: UInt8, info: UInt8, argument: UInt64) {
        let start = offset
        guard offset < end else { throw .truncated(at: offset) }
        let ib = bytes[offset]
        offset += 1
        let major = ib >> 5
        let info = ib & 0x1F
        switch info {
        case 0..<24:
            return (major, info, UInt64(info))
        case 24, 25, 26, 27:
            let n = 1 << Int(info - 24)
            guard end - offset >= n else { throw .truncated(at: offset) }
            var v: UInt64 = 0
            for i in 0..<n { v = (v << 8) | UInt64(bytes[offset + i]) }
            offset += n
            // Major type 7 with info 25/26/27 are floats: their width is not an integer argument.
            if major != 7 {
                let minimum: UInt64 = [24, 0x100, 0x1_0000, 0x1_0000_0000][Int(info - 24)]
                if v < minimum { throw .nonCanonical("integer or length", at: start) }
            } else if info == 24 && v < 32 {
                throw .nonCanonical("simple value", at: start)
            }
            return (major, info, v)
        case 31:
            return (major, info, 0)
        default:
            throw .unsupported("additional information \(info)", at: start)
        }
    }

    public mutating func readUnsigned() throws(WireError) -> UInt64 {
        let start = offset
        let h = try readHead()
        guard h.major == 0 else { throw .unexpectedType(expected: "unsigned integer", at: start) }
        return h.argument
    }

    public mutating func readInt() throws(WireError) -> Int64 {
        let start = offset
        let h = try readHead()
        switch h.major {
        case 0:
            guard h.argument <= UInt64(Int64.max) else { throw .tooLarge("integer", at: start) }
            return Int64(h.argument)
        case 1:
            guard h.argument <= UInt64(Int64.max) else { throw .tooLarge("integer", at: start) }
            return -1 - Int64(h.argument)
        default:
            throw .unexpectedType(expected: "integer", at: start)
        }
    }

    /// Reads a definite-length byte string and returns the range of its content in `bytes`.
    public mutating func readByteStringRange() throws(WireError) -> Range<Int> {
        let start = offset
        let h = try readHead()
        guard h.major == 2 else { throw .unexpectedType(expected: "byte string", at: start) }
        guard h.info != 31 else { throw .nonCanonical("indefinite-length byte string", at: start) }
        guard h.argument <= UInt64(end - offset) else { throw .truncated(at: offset) }
        let r = offset..<(offset + Int(h.argument))
        offset = r.upperBound
        return r
    }

    public mutating func readByteString() throws(WireError) -> [UInt8] {
        Array(bytes[try readByteStringRange()])
    }

    /// Reads a byte string that must be exactly `count` bytes long.
    public mutating func readByteString(count: Int, field: String) throws(WireError) -> [UInt8] {
        let r = try readByteStringRange()
        guard r.count == count else { throw .invalidField("\(field) must be \(count) bytes, not \(r.count)") }
        return Array(bytes[r])
    }

    public mutating func readText() throws(WireError) -> String {
        let start = offset
        let h = try readHead()
        guard h.major == 3 else { throw .unexpectedType(expected: "text string", at: start) }
        guard h.info != 31 else { throw .nonCanonical("indefinite-length text string", at: start) }
        guard h.argument <= UInt64(end - offset) else { throw .truncated(at: offset) }
        let r = offset..<(offset + Int(h.argument))
        offset = r.upperBound
        guard let s = String(validating: bytes[r], as: UTF8.self) else { throw .invalidUTF8(at: start) }
        return s
    }

    /// Reads a definite-length array header and returns its element count.
    public mutating func readArrayHeader() throws(WireError) -> Int {
        let start = offset
        let h = try readHead()
        guard h.major == 4 else { throw .unexpectedType(expected: "array", at: start) }
        guard h.info != 31 else { throw .nonCanonical("indefinite-length array", at: start) }
        guard h.argument <= UInt64(end - offset) else { throw .truncated(at: offset) }
        return Int(h.argument)
    }

    /// Reads an array header that must have exactly `count` elements.
    public mutating func readArrayHeader(count: Int, what: String) throws(WireError) -> Void {
        let n = try readArrayHeader()
        guard n == count else { throw .invalidField("\(what) must have \(count) elements, not \(n)") }
    }

    /// Reads the start of an indefinite-length array (0x9F).
    public mutating func readIndefiniteArrayStart() throws(WireError) {
        guard offset < end else { throw .truncated(at: offset) }
        guard bytes[offset] == 0x9F else { throw .unexpectedType(expected: "indefinite-length array", at: offset) }
        offset += 1
    }

    /// True (and consumes it) if the next byte is the break code 0xFF.
    public mutating func readBreakIfPresent() throws(WireError) -> Bool {
        guard offset < end else { throw .truncated(at: offset) }
        if bytes[offset] == 0xFF {
            offset += 1
            return true
        }
        return false
    }

    public mutating func readBool() throws(WireError) -> Bool {
        guard offset < end else { throw .truncated(at: offset) }
        switch bytes[offset] {
        case 0xF4: offset += 1; return false
        case 0xF5: offset += 1; return true
        default: throw .unexpectedType(expected: "boolean", at: offset)
        }
    }

    /// Skips one complete data item (strictly), returning the range it occupied.
    @discardableResult
    public mutating func skipItem(depth: Int = 0) throws(WireError) -> Range<Int> {
        let start = offset
        guard depth < 64 else { throw .tooDeep(at: offset) }
        let h = try readHead()
        switch h.major {
        case 0, 1:
            break
        case 2, 3:
            guard h.info != 31 else { throw .nonCanonical("indefinite-length string", at: start) }
            guard h.argument <= UInt64(end - offset) else { throw .truncated(at: offset) }
            offset += Int(h.argument)
        case 4, 5:
            guard h.info != 31 else { throw .nonCanonical("indefinite-length container", at: start) }
            // Each item takes at least a byte; a map's pair count is checked before doubling, so a
            // header claiming 2^63 pairs cannot wrap to a small count.
            let remaining = UInt64(end - offset)
            guard h.argument <= (h.major == 4 ? remaining : remaining / 2) else { throw .truncated(at: offset) }
            let items = h.major == 4 ? h.argument : h.argument * 2
            for _ in 0..<items { try skipItem(depth: depth + 1) }
        case 6:
            try skipItem(depth: depth + 1)
        default:
            guard h.info != 31 else { throw .unsupported("break outside indefinite item", at: start) }
        }
        return start..<offset
    }

    /// Throws unless every byte has been consumed.
    public func expectEnd() throws(WireError) {
        if offset < end { throw .trailingBytes(count: end - offset) }
    }
}
