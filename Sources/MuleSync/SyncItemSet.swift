import MuleCrypto

/// A sorted set of items with prefix sums of their ids (as 256-bit little-endian numbers, mod 2^256),
/// so the fingerprint of any index range costs O(1) additions and one hash.
public struct SyncItemSet: Sendable {
    public let items: [SyncItem]
    /// prefix[i] = sum of ids of items[0..<i], four little-endian 64-bit limbs.
    private let prefix: [(UInt64, UInt64, UInt64, UInt64)]

    public init<S: Sequence>(_ items: S) where S.Element == SyncItem {
        let sorted = Array(Set(items)).sorted()
        self.items = sorted
        var p: [(UInt64, UInt64, UInt64, UInt64)] = [(0, 0, 0, 0)]
        p.reserveCapacity(sorted.count + 1)
        var acc = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        for item in sorted {
            acc = Self.add(acc, Self.limbs(item.id))
            p.append(acc)
        }
        prefix = p
    }

    public var count: Int { items.count }

    static func limbs(_ id: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
        func limb(_ k: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(id[k * 8 + i]) << UInt64(8 * i) }
            return v
        }
        return (limb(0), limb(1), limb(2), limb(3))
    }

    static func add(_ a: (UInt64, UInt64, UInt64, UInt64), _ b: (UInt64, UInt64, UInt64, UInt64)) -> (
        UInt64, UInt64, UInt64, UInt64
    ) {
        let (r0, c0) = a.0.addingReportingOverflow(b.0)
        var (r1, c1) = a.1.addingReportingOverflow(b.1)
        if c0 { (r1, c1) = (r1 &+ 1, c1 || r1 == .max) }
        var (r2, c2) = a.2.addingReportingOverflow(b.2)
        if c1 { (r2, c2) = (r2 &+ 1, c2 || r2 == .max) }
        var r3 = a.3 &+ b.3
        if c2 { r3 = r3 &+ 1 }
        return (r0, r1, r2, r3)
    }

    static func subtract(_ a: (UInt64, UInt64, UInt64, UInt64), _ b: (UInt64, UInt64, UInt64, UInt64)) -> (
        UInt64, UInt64, UInt64, UInt64
    ) {
        // a - b = a + (~b + 1) mod 2^256
        add(a, add((~b.0, ~b.1, ~b.2, ~b.3), (1, 0, 0, 0)))
    }

    /// Index of the first item not below `bound`.
    func lowerIndex(_ bound: SyncBound) -> Int {
        var lo = 0, hi = items.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bound.isAbove(items[mid]) { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// BLAKE2b-128 of the 256-bit sum of the ids in `range` (little-endian) followed by the count (LEB128).
    func fingerprint(_ range: Range<Int>) -> [UInt8] {
        let s = Self.subtract(prefix[range.upperBound], prefix[range.lowerBound])
        var bytes: [UInt8] = []
        bytes.reserveCapacity(40)
        for limb in [s.0, s.1, s.2, s.3] {
            for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: limb >> UInt64(8 * i))) }
        }
        SyncCodec.appendVarint(UInt64(range.count), to: &bytes)
        return Sodium.blake2b(outputLength: 16, bytes)
    }
}
