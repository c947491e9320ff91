/// The reconciliation message format (see Docs/PROTOCOL.md, "Reconciliation").
///
/// `message = version(0x01) range*`, each range covering from the previous bound (initially the
/// lowest) up to its own bound:
/// `range = timestamp (LEB128: 0 = infinity, else delta from the previous bound's timestamp + 1)
///          prefixLength (LEB128) prefix  mode (LEB128)  payload`
/// Modes: 0 skip; 1 fingerprint (16 bytes); 2 id list (count, ids of 32 bytes);
/// 3 id-list response (count, ids the receiver lacks; bitmap length, bitmap over the receiver's list
/// marking ids the sender lacks).
public enum SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case unexpected(String)

    public var description: String {
        switch self {
        case .malformed(let m): return "malformed reconciliation message: \(m)"
        case .unexpected(let m): return "unexpected reconciliation message: \(m)"
        }
    }
}

enum SyncMode: Equatable {
    case skip
    case fingerprint([UInt8])
    case idList([[UInt8]])
    case idListResponse(have: [[UInt8]], bitmap: [UInt8])
}

struct SyncRange: Equatable {
    var upper: SyncBound
    var mode: SyncMode
}

enum SyncCodec {
    static let version: UInt8 = 0x01
    static let maxIDs = 1 << 20
    /// The most bytes a range takes besides its payload: timestamp (10), prefix length and prefix
    /// (33), mode (1), a fingerprint (16) and a count (5).
    static let maxRangeSize = 10 + 33 + 1 + 16 + 5

    /// An upper estimate of the encoded size of `ranges`.
    static func estimatedSize(_ ranges: ArraySlice<SyncRange>) -> Int {
        ranges.reduce(0) { total, r in
            switch r.mode {
            case .skip, .fingerprint: return total + maxRangeSize
            case .idList(let ids): return total + maxRangeSize + ids.count * SyncItem.idLength
            case .idListResponse(let have, let bitmap):
                return total + maxRangeSize + 5 + have.count * SyncItem.idLength + bitmap.count
            }
        }
    }

    static func appendVarint(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        repeat {
            var b = UInt8(v & 0x7F)
            v >>= 7
            if v != 0 { b |= 0x80 }
            out.append(b)
        } while v != 0
    }

    static func encode(_ ranges: [SyncRange]) -> [UInt8] {
        var out: [UInt8] = [version]
        var lastTimestamp: UInt64 = 0
        for r in ranges {
            if r.upper == .infinity {
                appendVarint(0, to: &out)
            } else {
                appendVarint(r.upper.timestamp - lastTimestamp + 1, to: &out)
                lastTimestamp = r.upper.timestamp
            }
            appendVarint(UInt64(r.upper.prefix.count), to: &out)
            out += r.upper.prefix
            switch r.mode {
            case .skip: appendVarint(0, to: &out)
            case .fingerprint(let fp):
                appendVarint(1, to: &out)
                out += fp
            case .idList(let ids):
                appendVarint(2, to: &out)
                appendVarint(UInt64(ids.count), to: &out)
                for id in ids { out += id }
            case .idListResponse(let have, let bitmap):
                appendVarint(3, to: &out)
                appendVarint(UInt64(have.count), to: &out)
                for id in have { out += id }
                appendVarint(UInt64(bitmap.count), to: &out)
                out += bitmap
            }
        }
        return out
    }

    static func decode(_ bytes: [UInt8]) throws(SyncError) -> [SyncRange] {
        guard bytes.first == version else { throw .malformed("unknown version") }
        var i = 1
        func varint() throws(SyncError) -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < bytes.count else { throw .malformed("truncated") }
                let b = bytes[i]
                i += 1
                guard shift < 64 else { throw .malformed("varint too long") }
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }
        func take(_ n: Int) throws(SyncError) -> [UInt8] {
            guard n >= 0, bytes.count - i >= n else { throw .malformed("truncated") }
            defer { i += n }
            return Array(bytes[i..<(i + n)])
        }
        func ids() throws(SyncError) -> [[UInt8]] {
            let n = try varint()
            guard n <= maxIDs, n * 32 <= UInt64(bytes.count - i) else { throw .malformed("id list too long") }
            var out: [[UInt8]] = []
            out.reserveCapacity(Int(n))
            for _ in 0..<n { out.append(try take(32)) }
            return out
        }
        var ranges: [SyncRange] = []
        var lastTimestamp: UInt64 = 0
        var previous = SyncBound.zero
        while i < bytes.count {
            let t = try varint()
            var bound: SyncBound
            if t == 0 {
                bound = .infinity
            } else {
                let (ts, overflow) = lastTimestamp.addingReportingOverflow(t - 1)
                guard !overflow, ts != .max else { throw .malformed("timestamp out of range") }
                lastTimestamp = ts
                bound = SyncBound(timestamp: ts, prefix: [])
            }
            let plen = try varint()
            guard plen <= 32 else { throw .malformed("prefix longer than an id") }
            let prefix = try take(Int(plen))
            if bound != .infinity { bound.prefix = prefix } else if !prefix.isEmpty { throw .malformed("prefix on infinity") }
            guard previous < bound || (ranges.isEmpty && bound == previous && bound != .zero) else {
                throw .malformed("bounds do not increase")
            }
            previous = bound
            let mode: SyncMode
            switch try varint() {
            case 0: mode = .skip
            case 1: mode = .fingerprint(try take(16))
            case 2: mode = .idList(try ids())
            case 3:
                let have = try ids()
                let n = try varint()
                guard n <= UInt64(maxIDs / 8) else { throw .malformed("bitmap too long") }
                mode = .idListResponse(have: have, bitmap: try take(Int(n)))
            default: throw .malformed("unknown mode")
            }
            ranges.append(SyncRange(upper: bound, mode: mode))
            if bound == .infinity, i < bytes.count { throw .malformed("ranges after infinity") }
        }
        guard ranges.last?.upper == .infinity else { throw .malformed("does not end at infinity") }
        return ranges
    }
}
