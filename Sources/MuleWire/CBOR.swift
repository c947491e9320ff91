/// A generic CBOR data item (RFC 8949), for diagnostics, tests and extension data.
///
/// Mule's own structures are encoded and decoded field by field with ``CBORWriter`` and
/// ``CBORReader``; this type exists for everything that is not known in advance.
public indirect enum CBOR: Hashable, Sendable {
    case unsigned(UInt64)
    /// The negative integer `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([CBORPair])
    case tagged(UInt64, CBOR)
    case simple(UInt8)
    case bool(Bool)
    case null
    case undefined
    case float(Double)

    public struct CBORPair: Hashable, Sendable {
        public var key: CBOR
        public var value: CBOR
        public init(_ key: CBOR, _ value: CBOR) {
            self.key = key
            self.value = value
        }
    }

    /// Encodes with preferred serialization (shortest heads, shortest exact float).
    public func encoded() -> [UInt8] {
        var w = CBORWriter()
        encode(into: &w)
        return w.bytes
    }

    public func encode(into w: inout CBORWriter) {
        switch self {
        case .unsigned(let v): w.head(0, v)
        case .negative(let v): w.head(1, v)
        case .bytes(let b): w.byteString(b)
        case .text(let s): w.text(s)
        case .array(let a):
            w.arrayHeader(a.count)
            for e in a { e.encode(into: &w) }
        case .map(let m):
            w.mapHeader(m.count)
            for p in m {
                p.key.encode(into: &w)
                p.value.encode(into: &w)
            }
        case .tagged(let t, let v):
            w.tag(t)
            v.encode(into: &w)
        case .simple(let s):
            if s < 24 { w.raw([0xE0 | s]) } else { w.raw([0xF8, s]) }
        case .bool(let b): w.bool(b)
        case .null: w.null()
        case .undefined: w.raw([0xF7])
        case .float(let d): CBOR.encodeFloat(d, into: &w)
        }
    }

    static func encodeFloat(_ d: Double, into w: inout CBORWriter) {
        if d.isNaN {
            w.raw([0xF9, 0x7E, 0x00])
            return
        }
        let f = Float(d)
        if Double(f) == d {
            if let h = halfBits(f) {
                w.raw([0xF9, UInt8(h >> 8), UInt8(h & 0xFF)])
                return
            }
            let b = f.bitPattern
            w.raw([0xFA, UInt8(b >> 24), UInt8((b >> 16) & 0xFF), UInt8((b >> 8) & 0xFF), UInt8(b & 0xFF)])
            return
        }
        let b = d.bitPattern
        var out: [UInt8] = [0xFB]
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8((b >> UInt64(shift)) & 0xFF)) }
        w.raw(out)
    }

    /// The IEEE 754 half-precision bits of `f` if it is exactly representable.
    static func halfBits(_ f: Float) -> UInt16? {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exp = Int((bits >> 23) & 0xFF)
        let mant = bits & 0x7F_FFFF
        if exp == 0xFF { return sign | 0x7C00 | (mant == 0 ? 0 : 0x200) }
        if exp == 0 && mant == 0 { return sign }
        let e = exp - 127
        if e >= -14 && e <= 15 {
            guard mant & 0x1FFF == 0 else { return nil }
            return sign | UInt16(e + 15) << 10 | UInt16(mant >> 13)
        }
        if e >= -24 && e < -14 {
            // Subnormal half: value = m * 2^-24.
            let full = mant | 0x80_0000
            let shift = UInt32(-e - 14 + 13)
            guard full & ((1 << shift) - 1) == 0 else { return nil }
            return sign | UInt16(full >> shift)
        }
        return nil
    }

    static func halfToDouble(_ h: UInt16) -> Double {
        let sign: Double = (h & 0x8000) != 0 ? -1 : 1
        let exp = Int((h >> 10) & 0x1F)
        let mant = Double(h & 0x3FF)
        if exp == 0 { return sign * mant * 0x1p-24 }
        if exp == 31 { return mant == 0 ? sign * .infinity : .nan }
        return sign * (1 + mant / 1024) * Double(sign: .plus, exponent: exp - 15, significand: 1)
    }

    /// Decodes exactly one data item that spans all of `bytes`.
    ///
    /// - Parameter allowIndefinite: accept indefinite-length strings, arrays and maps. Mule's own
    ///   formats never allow them except for the outer bundle array, which its codec reads itself.
    public static func decode(_ bytes: [UInt8], allowIndefinite: Bool = false) throws(WireError) -> CBOR {
        var r = CBORReader(bytes)
        let v = try decodeItem(&r, allowIndefinite: allowIndefinite, depth: 0)
        try r.expectEnd()
        return v
    }

    public static func decodeItem(_ r: inout CBORReader, allowIndefinite: Bool, depth: Int) throws(WireError) -> CBOR {
        let start = r.offset
        guard depth < 64 else { throw .tooDeep(at: start) }
        let h = try r.readHead()
        if h.info == 31 {
            guard allowIndefinite else { throw .nonCanonical("indefinite length", at: start) }
            return try decodeIndefinite(&r, major: h.major, allowIndefinite: allowIndefinite, depth: depth, start: start)
        }
        switch h.major {
        case 0: return .unsigned(h.argument)
        case 1: return .negative(h.argument)
        case 2, 3:
            guard h.argument <= UInt64(r.end - r.offset) else { throw .truncated(at: r.offset) }
            let range = r.offset..<(r.offset + Int(h.argument))
            r = CBORReader(r.bytes, offset: range.upperBound, end: r.end)
            if h.major == 2 { return .bytes(Array(r.bytes[range])) }
            guard let s = String(validating: r.bytes[range], as: UTF8.self) else { throw .invalidUTF8(at: start) }
            return .text(s)
        case 4:
            guard h.argument <= UInt64(r.end - r.offset) else { throw .truncated(at: r.offset) }
            var a: [CBOR] = []
            a.reserveCapacity(Int(h.argument))
            for _ in 0..<h.argument { a.append(try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1)) }
            return .array(a)
        case 5:
            guard h.argument <= UInt64(r.end - r.offset) else { throw .truncated(at: r.offset) }
            var m: [CBORPair] = []
            for _ in 0..<h.argument {
                let k = try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1)
                let v = try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1)
                m.append(CBORPair(k, v))
            }
            return .map(m)
        case 6:
            return .tagged(h.argument, try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1))
        default:
            switch h.info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 23: return .undefined
            case 24: return .simple(UInt8(h.argument))
            case 25: return .float(halfToDouble(UInt16(h.argument)))
            case 26: return .float(Double(Float(bitPattern: UInt32(h.argument))))
            case 27: return .float(Double(bitPattern: h.argument))
            default: return .simple(h.info)
            }
        }
    }

    static func decodeIndefinite(
        _ r: inout CBORReader, major: UInt8, allowIndefinite: Bool, depth: Int, start: Int
    ) throws(WireError) -> CBOR {
        switch major {
        case 2, 3:
            var chunks: [UInt8] = []
            while try !r.readBreakIfPresent() {
                let chunkStart = r.offset
                let c = try decodeItem(&r, allowIndefinite: false, depth: depth + 1)
                switch (major, c) {
                case (2, .bytes(let b)): chunks += b
                case (3, .text(let t)): chunks += Array(t.utf8)
                default: throw .unexpectedType(expected: "string chunk of the same type", at: chunkStart)
                }
            }
            if major == 2 { return .bytes(chunks) }
            guard let s = String(validating: chunks, as: UTF8.self) else { throw .invalidUTF8(at: start) }
            return .text(s)
        case 4:
            var a: [CBOR] = []
            while try !r.readBreakIfPresent() {
                a.append(try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1))
            }
            return .array(a)
        case 5:
            var m: [CBORPair] = []
            while try !r.readBreakIfPresent() {
                let k = try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1)
                let v = try decodeItem(&r, allowIndefinite: allowIndefinite, depth: depth + 1)
                m.append(CBORPair(k, v))
            }
            return .map(m)
        default:
            throw .unsupported("indefinite length for major type \(major)", at: start)
        }
    }
}
