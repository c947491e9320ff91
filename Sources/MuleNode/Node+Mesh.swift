import MuleStore
import MuleWire

/// What the mesh needs of the store, and nothing more: it reaches the store only through these,
/// so every change it makes is one the node knows of and publishes.
extension Node {
    /// The rowid of the newest stored bundle: the mesh offers what comes after it.
    public func lastBundleRow() throws(NodeError) -> Int64 {
        try read { tx in try tx.lastBundleRow() }
    }

    /// Up to `limit` stored bundles after `row`, oldest first, and the whole bytes of the own
    /// ones no larger than `pushLimit` (pushed to links without being asked for).
    public func bundlesStored(after row: Int64, limit: Int, pushLimit: Int) throws(NodeError) -> (
        rows: [BundleRow], push: [StoredBundle]
    ) {
        try read { tx in
            let rows = try tx.bundleRows(after: row, limit: limit)
            var push: [StoredBundle] = []
            for r in rows where r.own && r.size <= pushLimit {
                if let b = try tx.bundle(id: r.id) { push.append(b) }
            }
            return (rows, push)
        }
    }

    /// The stored bundles with these ids, in order, nil for one not held; stops once
    /// `byteBudget` bytes were read (the rest is left for the next call).
    public func bundles(_ ids: [[UInt8]], byteBudget: Int) throws(NodeError) -> [StoredBundle?] {
        try read { tx in
            var out: [StoredBundle?] = []
            var bytes = 0
            for id in ids {
                if bytes >= byteBudget { break }
                let b = try tx.bundle(id: id)
                bytes += b?.data.count ?? 0
                out.append(b)
            }
            return out
        }
    }

    public func bundle(id: [UInt8]) throws(NodeError) -> StoredBundle? {
        try read { tx in try tx.bundle(id: id) }
    }

    /// queued → sent for the own messages among `bundles`, which left on a link or at a relay.
    public func markSent(_ bundles: [StoredBundle]) throws(NodeError) {
        let hashes = bundles.compactMap { $0.own && $0.kind == .message ? $0.dropHash : nil }
        guard !hashes.isEmpty else { return }
        let changed = try write { tx in
            try hashes.compactMap { h in try tx.markSent(dropHash: h).map { (h, $0) } }
        }
        events.publish(
            changed.map { .messageStatus(id: Node.messageID($0.0), contactID: $0.1, status: .sent, path: nil) })
    }

    /// The (expiry, id) of every stored bundle: what reconciliation runs over.
    public func syncItems() throws(NodeError) -> [(expiresAt: Int64, id: [UInt8])] {
        try read { tx in try tx.syncItems() }
    }

    /// The ids among `ids` that this node neither holds nor has seen delivered.
    public func unknownIDs(_ ids: [[UInt8]]) throws(NodeError) -> [[UInt8]] {
        try read { tx in try tx.unknownIDs(ids) }
    }
}

/// What the relay client needs of the store.
extension Node {
    /// The relays that contacts fetch from (from their invites and DHT records).
    public func contactRelays() throws(NodeError) -> Set<String> {
        Set(try read { tx in try tx.contacts() }.flatMap(\.relays))
    }

    /// Own message bundles queued before `cutoff` (Unix ms), undelivered and not yet deposited at
    /// `relay`; at one of the node's own relays (`own`) receipts too.
    public func undeliveredOwnBundles(queuedBefore cutoff: Int64, notAt relay: String, own: Bool) throws(NodeError)
        -> [PendingDeposit]
    {
        try read { tx in try tx.undeliveredOwnBundles(queuedBefore: cutoff, notAt: relay, own: own) }
    }

    /// Drop hashes of own messages deposited at `relay` and not yet delivered: the relay tells
    /// when their recipient fetched them.
    public func watchedDropHashes(at relay: String) throws(NodeError) -> [[UInt8]] {
        try read { tx in try tx.watchedDropHashes(at: relay) }
    }

    /// Records that `relay` holds bundle `id`; returns the bundle.
    public func markDeposited(at relay: String, id: [UInt8]) throws(NodeError) -> StoredBundle? {
        let now = clock()
        return try write { tx in
            try tx.markDeposited(at: relay, id: id, now: now)
            return try tx.bundle(id: id)
        }
    }
}
