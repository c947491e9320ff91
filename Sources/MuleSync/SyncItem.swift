/// An element of a reconciled set: a timestamp and a 32-byte id, ordered by (timestamp, id).
/// For bundles the timestamp is the expiry (derived from the bundle, so equal on both sides).
public struct SyncItem: Hashable, Comparable, Sendable {
    public var timestamp: UInt64
    public var id: [UInt8]

    public static let idLength = 32

    public init(timestamp: UInt64, id: [UInt8]) {
        self.timestamp = timestamp
        self.id = id
    }

    public static func < (a: SyncItem, b: SyncItem) -> Bool {
        a.timestamp != b.timestamp ? a.timestamp < b.timestamp : a.id.lexicographicallyPrecedes(b.id)
    }
}

/// A range boundary: a timestamp and an id prefix, standing for that prefix followed by zeros.
struct SyncBound: Equatable {
    var timestamp: UInt64
    var prefix: [UInt8]

    static let infinity = SyncBound(timestamp: .max, prefix: [])
    static let zero = SyncBound(timestamp: 0, prefix: [])

    /// True if `item` sorts before this bound.
    func isAbove(_ item: SyncItem) -> Bool {
        if self == .infinity { return true }
        if item.timestamp != timestamp { return item.timestamp < timestamp }
        for (i, p) in prefix.enumerated() where item.id[i] != p { return item.id[i] < p }
        return false
    }

    /// The shortest bound b with `previous < b <= next`.
    static func between(_ previous: SyncItem, _ next: SyncItem) -> SyncBound {
        guard previous.timestamp == next.timestamp else { return SyncBound(timestamp: next.timestamp, prefix: []) }
        var k = 0
        while k < next.id.count, previous.id[k] == next.id[k] { k += 1 }
        return SyncBound(timestamp: next.timestamp, prefix: Array(next.id.prefix(k + 1)))
    }

    /// Orders two bounds (for checking that a message's bounds increase).
    static func < (a: SyncBound, b: SyncBound) -> Bool {
        if a == b { return false }
        if b == .infinity { return true }
        if a == .infinity { return false }
        if a.timestamp != b.timestamp { return a.timestamp < b.timestamp }
        let n = max(a.prefix.count, b.prefix.count)
        let pa = a.prefix + [UInt8](repeating: 0, count: n - a.prefix.count)
        let pb = b.prefix + [UInt8](repeating: 0, count: n - b.prefix.count)
        return pa.lexicographicallyPrecedes(pb)
    }
}
