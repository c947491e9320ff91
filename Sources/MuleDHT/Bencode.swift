/// Bencode (BEP 3), the encoding of every KRPC message.
///
/// The decoder is strict where strictness is free (no leading zeros, no `-0`, byte strings within
/// the input, bounded depth) and records, for each dictionary value, the exact bytes it was read
/// from: BEP 44 signatures are checked over `v` as received, never over a re-encoding.
public indirect enum BValue: Equatable, Sendable {
    case int(Int64)
    case bytes([UInt8])
    case list([BValue])
    case dict(BDict)

    public var bytes: [UInt8]? {
        if case .bytes(let b) = self { return b }
        return nil
    }
    public var int: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }
    public var list: [BValue]? {
        if case .list(let l) = self { return l }
        return nil
    }
    public var dict: BDict? {
        if case .dict(let d) = self { return d }
        return nil
    }

    public static func string(_ s: String) -> BValue { .bytes(Array(s.utf8)) }

    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    public func encode(into out: inout [UInt8]) {
        switch self {
        case .int(let i):
            out.append(UInt8(ascii: "i"))
            out += Array(String(i).utf8)
            out.append(UInt8(ascii: "e"))
        case .bytes(let b):
            out += Array(String(b.count).utf8)
            out.append(UInt8(ascii: ":"))
            out += b
        case .list(let l):
            out.append(UInt8(ascii: "l"))
            for v in l { v.encode(into: &out) }
            out.append(UInt8(ascii: "e"))
        case .dict(let d):
            out.append(UInt8(ascii: "d"))
            for e in d.entries.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                BValue.bytes(e.key).encode(into: &out)
                if let raw = e.raw { out += raw } else { e.value.encode(into: &out) }
            }
            out.append(UInt8(ascii: "e"))
        }
    }
}

/// A bencoded dictionary. Entries keep the bytes they were decoded from (`raw`), and encoding
/// writes those bytes back unchanged, so a forwarded value keeps its signature.
public struct BDict: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var key: [UInt8]
        public var value: BValue
        public var raw: [UInt8]?
    }
    public var entries: [Entry] = []

    public init() {}

    public init(_ pairs: [(String, BValue)]) {
        for (k, v) in pairs { self[k] = v }
    }

    public subscript(key: String) -> BValue? {
        get { self[Array(key.utf8)] }
        set { self[Array(key.utf8)] = newValue }
    }

    public subscript(key: [UInt8]) -> BValue? {
        get { entries.first(where: { $0.key == key })?.value }
        set {
            let i = entries.firstIndex(where: { $0.key == key })
            switch (i, newValue) {
            case (let i?, let v?): entries[i] = Entry(key: key, value: v, raw: nil)
            case (let i?, nil): entries.remove(at: i)
            case (nil, let v?): entries.append(Entry(key: key, value: v, raw: nil))
            case (nil, nil): break
            }
        }
    }

    /// The bytes `key`'s value was decoded from, or its encoding if it was built here.
    public func raw(_ key: String) -> [UInt8]? {
        let k = Array(key.utf8)
        guard let e = entries.first(where: { $0.key == k }) else { return nil }
        return e.raw ?? e.value.encoded()
    }

    /// Sets a value whose encoding must travel exactly as given (a signed BEP 44 `v`).
    public mutating func setRaw(_ key: String, value: BValue, raw: [UInt8]) {
        self[key] = nil
        entries.append(Entry(key: Array(key.utf8), value: value, raw: raw))
    }
}

public enum BencodeError: Error, Equatable, Sendable {
    case truncated
    case invalid(String)
    case tooDeep
    case trailingBytes
}

public enum Bencode {
    public static let maxDepth = 16

    /// Decodes exactly one value that spans all of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(BencodeError) -> BValue {
        var i = 0
        let v = try bytes.withUnsafeBufferPointer { (p) throws(BencodeError) -> BValue in
            try value(p, &i, depth: 0)
        }
        guard i == bytes.count else { throw .trailingBytes }
        return v
    }

    static func value(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, depth: Int) throws(BencodeError) -> BValue {
        guard depth < maxDepth else { throw .tooDeep }
        guard i < p.count else { throw .truncated }
        switch p[i] {
        case UInt8(ascii: "i"):
            i += 1
            let n = try integer(p, &i, until: UInt8(ascii: "e"))
            return .int(n)
        case UInt8(ascii: "l"):
            i += 1
            var items: [BValue] = []
            while true {
                guard i < p.count else { throw .truncated }
                if p[i] == UInt8(ascii: "e") {
                    i += 1
                    return .list(items)
                }
                items.append(try value(p, &i, depth: depth + 1))
            }
        case UInt8(ascii: "d"):
            i += 1
            var d = BDict()
            var last: [UInt8]?
            while true {
                guard i < p.count else { throw .truncated }
                if p[i] == UInt8(ascii: "e") {
                    i += 1
                    return .dict(d)
                }
                guard case .bytes(let key) = try value(p, &i, depth: depth + 1) else {
                    throw .invalid("dictionary key is not a byte string")
                }
                if let last, !last.lexicographicallyPrecedes(key) {
                    throw .invalid("dictionary keys out of order or repeated")
                }
                last = key
                let start = i
                let v = try value(p, &i, depth: depth + 1)
                d.entries.append(BDict.Entry(key: key, value: v, raw: Array(p[start..<i])))
            }
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            let n = try integer(p, &i, until: UInt8(ascii: ":"))
            guard n >= 0, n <= p.count - i else { throw .truncated }
            let b = Array(p[i..<i + Int(n)])
            i += Int(n)
            return .bytes(b)
        default:
            throw .invalid("unexpected byte 0x\(String(p[i], radix: 16))")
        }
    }

    static func integer(_ p: UnsafeBufferPointer<UInt8>, _ i: inout Int, until end: UInt8) throws(BencodeError) -> Int64 {
        var negative = false
        if i < p.count, p[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        let start = i
        var n: Int64 = 0
        while true {
            guard i < p.count else { throw .truncated }
            let c = p[i]
            if c == end { break }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { throw .invalid("bad digit in integer") }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(c - UInt8(ascii: "0")))
            guard !o1, !o2 else { throw .invalid("integer overflow") }
            n = s
            i += 1
        }
        let digits = i - start
        guard digits > 0 else { throw .invalid("empty integer") }
        guard !(digits > 1 && p[start] == UInt8(ascii: "0")) else { throw .invalid("leading zero") }
        guard !(negative && n == 0) else { throw .invalid("negative zero") }
        guard !(negative && end == UInt8(ascii: ":")) else { throw .invalid("negative length") }
        i += 1
        return negative ? -n : n
    }
}
