/// A Kademlia routing table with BEP 5 semantics: one bucket per shared-prefix length with the
/// own id, at most `k` nodes each plus a replacement cache, nodes that stop answering dropped
/// after `maxFailures` timeouts, and limits on how many entries one address block may hold, in a
/// bucket and in the whole table, so one network cannot crowd out everyone else. A pure value.
public struct RoutingTable: Sendable {
    public struct Entry: Sendable, Equatable {
        public var node: NodeInfo
        public var lastSeenMs: UInt64
        public var failures: Int
        /// It has answered a query of ours (not only sent us one).
        public var verified: Bool
    }

    public let ownID: NodeID
    public let k: Int
    public let perBlockInBucket: Int
    public let perBlockInTable: Int
    public let maxFailures = 2
    private(set) var buckets: [[Entry]]
    private(set) var replacements: [[Entry]]
    private var blockCounts: [UInt64: Int] = [:]

    public init(ownID: NodeID, k: Int = 8, perBlockInBucket: Int = 2, perBlockInTable: Int = 8) {
        self.ownID = ownID
        self.k = k
        self.perBlockInBucket = perBlockInBucket
        self.perBlockInTable = perBlockInTable
        buckets = Array(repeating: [], count: 161)
        replacements = Array(repeating: [], count: 161)
    }

    public var count: Int { buckets.reduce(0) { $0 + $1.count } }
    public var allNodes: [NodeInfo] { buckets.flatMap { $0.map(\.node) } }

    func bucketIndex(_ id: NodeID) -> Int { ownID.commonPrefixLength(with: id) }

    /// Records that `node` was heard from: `verified` when it answered a query of ours. Returns
    /// whether it is now in the table.
    @discardableResult
    public mutating func heard(_ node: NodeInfo, verified: Bool, nowMs: UInt64) -> Bool {
        guard node.id != ownID, node.address.port != 0 else { return false }
        let b = bucketIndex(node.id)
        if let i = buckets[b].firstIndex(where: { $0.node.id == node.id }) {
            // Same id from a new address: keep the old one unless this one proved itself.
            if buckets[b][i].node.address != node.address {
                guard verified, !buckets[b][i].verified || buckets[b][i].failures > 0 else { return true }
                release(buckets[b][i].node.address.block)
                guard admit(node.address.block, bucket: b) else {
                    buckets[b].remove(at: i)
                    return false
                }
                buckets[b][i].node = node
            }
            buckets[b][i].lastSeenMs = nowMs
            buckets[b][i].failures = 0
            buckets[b][i].verified = buckets[b][i].verified || verified
            return true
        }
        // One entry per address: a node that changes its id replaces its old entry.
        if let (ob, oi) = locate(address: node.address) {
            release(buckets[ob][oi].node.address.block)
            buckets[ob].remove(at: oi)
        }
        let entry = Entry(node: node, lastSeenMs: nowMs, failures: 0, verified: verified)
        if buckets[b].count < k {
            guard admit(node.address.block, bucket: b) else { return false }
            buckets[b].append(entry)
            return true
        }
        // Full: replace a node that has failed, else keep this one as a replacement.
        if verified, let worst = buckets[b].indices.max(by: { buckets[b][$0].failures < buckets[b][$1].failures }),
            buckets[b][worst].failures > 0
        {
            release(buckets[b][worst].node.address.block)
            guard admit(node.address.block, bucket: b) else {
                buckets[b].remove(at: worst)
                return false
            }
            buckets[b][worst] = entry
            return true
        }
        replacements[b].removeAll { $0.node.id == node.id || $0.node.address == node.address }
        replacements[b].append(entry)
        if replacements[b].count > k { replacements[b].removeFirst() }
        return false
    }

    /// Records a timeout; after `maxFailures` the node leaves and a replacement takes its place.
    public mutating func failed(_ address: DHTAddress) {
        guard let (b, i) = locate(address: address) else {
            for r in replacements.indices { replacements[r].removeAll { $0.node.address == address } }
            return
        }
        buckets[b][i].failures += 1
        guard buckets[b][i].failures > maxFailures || !buckets[b][i].verified else { return }
        release(buckets[b][i].node.address.block)
        buckets[b].remove(at: i)
        while let r = replacements[b].popLast() {
            if admit(r.node.address.block, bucket: b) {
                buckets[b].append(r)
                break
            }
        }
    }

    public func contains(_ id: NodeID) -> Bool { buckets[bucketIndex(id)].contains { $0.node.id == id } }

    /// The `count` known nodes closest to `target`, nodes that have answered first among equals.
    public func closest(to target: NodeID, count: Int) -> [NodeInfo] {
        var all = buckets.flatMap { $0 }.filter { $0.failures == 0 || $0.verified }
        all.sort { target.closer($0.node.id, than: $1.node.id) }
        return Array(all.prefix(count).map(\.node))
    }

    /// Entries not heard from for `staleMs`: candidates for a refreshing ping.
    public func stale(nowMs: UInt64, staleMs: UInt64) -> [NodeInfo] {
        buckets.flatMap { $0 }.filter { nowMs &- $0.lastSeenMs > staleMs }.map(\.node)
    }

    private func locate(address: DHTAddress) -> (Int, Int)? {
        for b in buckets.indices {
            if let i = buckets[b].firstIndex(where: { $0.node.address == address }) { return (b, i) }
        }
        return nil
    }

    private mutating func admit(_ block: UInt64, bucket: Int) -> Bool {
        guard blockCounts[block, default: 0] < perBlockInTable else { return false }
        guard buckets[bucket].filter({ $0.node.address.block == block }).count < perBlockInBucket else { return false }
        blockCounts[block, default: 0] += 1
        return true
    }

    private mutating func release(_ block: UInt64) {
        let n = blockCounts[block, default: 0] - 1
        blockCounts[block] = n > 0 ? n : nil
    }
}
