/// What a DHT node keeps for others: BEP 44 items and BEP 5 peer announcements, bounded in
/// number, per source address block, and in time. A pure value; the node owns the one copy.
public struct ItemStore: Sendable {
    public struct Limits: Sendable {
        public var maxItems = 4096
        public var maxItemsPerBlock = 64
        public var itemLifetimeMs: UInt64 = 2 * 3_600_000
        public var maxSwarms = 1024
        public var maxPeersPerSwarm = 64
        public var peerLifetimeMs: UInt64 = 30 * 60_000
        public init() {}
    }

    public enum PutError: Error, Equatable, Sendable {
        case sequenceTooLow
        case casMismatch
        case full
    }

    struct Stored: Sendable {
        var item: DHTItem
        var block: UInt64
        var storedAtMs: UInt64
    }

    public let limits: Limits
    private var items: [NodeID: Stored] = [:]
    private var perBlock: [UInt64: Int] = [:]
    private var swarms: [NodeID: [DHTAddress: UInt64]] = [:]

    public init(limits: Limits = Limits()) { self.limits = limits }

    public var itemCount: Int { items.count }

    public func item(_ target: NodeID, nowMs: UInt64) -> DHTItem? {
        guard let s = items[target], nowMs &- s.storedAtMs < limits.itemLifetimeMs else { return nil }
        return s.item
    }

    /// Stores an item that has already been validated. A mutable item must carry a sequence
    /// number above the stored one (or the same item again, which refreshes it); `cas`, when
    /// given, must equal the stored sequence number.
    public mutating func put(_ item: DHTItem, cas: Int64? = nil, from block: UInt64, nowMs: UInt64) throws(PutError) {
        expire(nowMs)
        let target = item.target
        if let old = items[target] {
            if let m = item.mutable, let om = old.item.mutable {
                if let cas, cas != om.sequence { throw .casMismatch }
                if m.sequence < om.sequence || (m.sequence == om.sequence && item != old.item) { throw .sequenceTooLow }
            }
            items[target]!.item = item
            items[target]!.storedAtMs = nowMs
            return
        }
        guard items.count < limits.maxItems, perBlock[block, default: 0] < limits.maxItemsPerBlock else { throw .full }
        items[target] = Stored(item: item, block: block, storedAtMs: nowMs)
        perBlock[block, default: 0] += 1
    }

    public mutating func announce(_ peer: DHTAddress, infoHash: NodeID, nowMs: UInt64) -> Bool {
        if swarms[infoHash] == nil {
            guard swarms.count < limits.maxSwarms else { return false }
            swarms[infoHash] = [:]
        }
        var s = swarms[infoHash]!
        s = s.filter { nowMs &- $0.value < limits.peerLifetimeMs }
        guard s[peer] != nil || s.count < limits.maxPeersPerSwarm else { return false }
        guard s[peer] != nil || s.keys.filter({ $0.block == peer.block }).count < 4 else { return false }
        s[peer] = nowMs
        swarms[infoHash] = s
        return true
    }

    public func peers(_ infoHash: NodeID, nowMs: UInt64, max: Int = 50) -> [DHTAddress] {
        (swarms[infoHash] ?? [:]).filter { nowMs &- $0.value < limits.peerLifetimeMs }.map(\.key).prefix(max).map { $0 }
    }

    mutating func expire(_ nowMs: UInt64) {
        guard items.count >= limits.maxItems / 2 else { return }
        for (t, s) in items where nowMs &- s.storedAtMs >= limits.itemLifetimeMs {
            items[t] = nil
            let n = perBlock[s.block, default: 1] - 1
            perBlock[s.block] = n > 0 ? n : nil
        }
    }
}
