import Foundation
import GRDB
import GRDBSQLite

extension StoreTransaction {
    /// True if this bundle was stored or accepted before, or (for a message) its drop hash is
    /// known to be delivered: one query, because import asks it for every bundle.
    public func isKnown(id: [UInt8], dropHash: [UInt8]?) throws -> Bool {
        let s = try db.cachedStatement(
            sql: """
                SELECT EXISTS(SELECT 1 FROM bundle WHERE id = ?1) OR EXISTS(SELECT 1 FROM seen WHERE id = ?1)
                    OR (?2 IS NOT NULL AND EXISTS(SELECT 1 FROM delivered WHERE dropHash = ?2))
                """)
        return try Bool.fetchOne(s, arguments: [id.data, dropHash?.data]) ?? false
    }

    /// True if a receipt (or this node's own opening of it) proved the message with this drop
    /// hash delivered.
    public func isDelivered(dropHash: [UInt8]) throws -> Bool {
        let s = try db.cachedStatement(sql: "SELECT EXISTS(SELECT 1 FROM delivered WHERE dropHash = ?)")
        return try Bool.fetchOne(s, arguments: [dropHash.data]) ?? false
    }

    public func markSeen(id: [UInt8], expiresAt: Int64) throws {
        let s = try db.cachedStatement(sql: "INSERT OR IGNORE INTO seen(id, expiresAt) VALUES (?, ?)")
        try s.execute(arguments: [id.data, expiresAt])
    }

    public func insert(_ b: StoredBundle) throws {
        let s = try db.cachedStatement(
            sql: """
                INSERT INTO bundle(id, tag, kind, dropHash, expiresAt, receivedAt, size, own, data)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        try s.execute(arguments: [
            b.id.data, b.tag.data, b.kind.rawValue, b.dropHash?.data, b.expiresAt, b.receivedAt, b.data.count,
            b.own, b.data.data,
        ])
    }

    /// Stores a bundle unless it is known (stored, seen, or its drop hash delivered), in one
    /// statement: the common path of importing a carried bundle. Returns true if it was stored.
    public func insertIfNew(_ b: StoredBundle) throws -> Bool {
        let s = try db.cachedStatement(
            sql: """
                INSERT OR IGNORE INTO bundle(id, tag, kind, dropHash, expiresAt, receivedAt, size, own, data)
                SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
                WHERE NOT EXISTS(SELECT 1 FROM seen WHERE id = ?1)
                  AND (?4 IS NULL OR NOT EXISTS(SELECT 1 FROM delivered WHERE dropHash = ?4))
                """)
        // OR IGNORE, not an upsert: SQLite runs INSERT … SELECT … ON CONFLICT about half as fast.
        // The hot statement of an import binds straight through the C API on GRDB's own prepared
        // statement (GRDB still owns it): boxing nine arguments as existentials cost more than SQLite did.
        let h = s.sqliteStatement
        sqlite3_reset(h)
        let rc = b.id.withUnsafeBytes { id in
            b.tag.withUnsafeBytes { tag in
                b.data.withUnsafeBytes { data in
                    (b.dropHash ?? []).withUnsafeBytes { drop -> Int32 in
                        sqlite3_bind_blob(h, 1, id.baseAddress, Int32(id.count), nil)
                        sqlite3_bind_blob(h, 2, tag.baseAddress, Int32(tag.count), nil)
                        sqlite3_bind_int(h, 3, Int32(b.kind.rawValue))
                        if b.dropHash != nil {
                            sqlite3_bind_blob(h, 4, drop.baseAddress, Int32(drop.count), nil)
                        } else {
                            sqlite3_bind_null(h, 4)
                        }
                        sqlite3_bind_int64(h, 5, b.expiresAt)
                        sqlite3_bind_int64(h, 6, b.receivedAt)
                        sqlite3_bind_int64(h, 7, Int64(b.data.count))
                        sqlite3_bind_int(h, 8, b.own ? 1 : 0)
                        sqlite3_bind_blob(h, 9, data.baseAddress, Int32(data.count), nil)
                        let rc = sqlite3_step(h)
                        sqlite3_clear_bindings(h)
                        sqlite3_reset(h)
                        return rc
                    }
                }
            }
        }
        guard rc == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
        return db.changesCount > 0
    }

    /// Records that a receipt revealed the ack secret of `dropHash`, and drops every bundle that
    /// carries it (the delivery mark keeps them from coming back). Returns the number dropped.
    @discardableResult
    public func markDelivered(dropHash: [UInt8], expiresAt: Int64) throws -> Int {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO delivered(dropHash, expiresAt) VALUES (?, ?)")
            .execute(arguments: [dropHash.data, expiresAt])
        try db.cachedStatement(sql: "DELETE FROM bundle WHERE dropHash = ?").execute(arguments: [dropHash.data])
        return db.changesCount
    }

    /// Every bundle this node holds for others, oldest first.
    public func bundlesForExport(now: Int64) throws -> [StoredBundle] {
        var out: [StoredBundle] = []
        try forEachBundleForExport(now: now) { out.append($0) }
        return out
    }

    /// Calls `body` for each bundle without loading them all at once.
    public func forEachBundleForExport(now: Int64, _ body: (StoredBundle) throws -> Void) throws {
        let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM bundle WHERE expiresAt > ? ORDER BY rowid", arguments: [now])
        while let row = try cursor.next() { try body(StoredBundle(row: row)) }
    }

    /// Deletes expired bundles, seen ids and delivery marks. Returns the number of bundles removed.
    @discardableResult
    public func deleteExpired(now: Int64) throws -> Int {
        // `own IN (0, 1)` lets SQLite range-scan the eviction index instead of every bundle.
        try db.execute(sql: "DELETE FROM bundle WHERE own IN (0, 1) AND expiresAt <= ?", arguments: [now])
        let n = db.changesCount
        try db.execute(sql: "DELETE FROM seen WHERE expiresAt <= ?", arguments: [now])
        try db.execute(sql: "DELETE FROM delivered WHERE expiresAt <= ?", arguments: [now])
        return n
    }

    /// Evicts carried bundles (never the node's own) until they fit in `quota` bytes: the soonest
    /// to expire first, then the oldest received. Returns the number evicted.
    public func evict(toFit quota: Int64) throws -> Int {
        var total = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM bundle WHERE own = 0") ?? 0
        guard total > quota else { return 0 }
        var victims: [(rowid: Int64, id: Data, expiresAt: Int64)] = []
        let cursor = try Row.fetchCursor(
            db, sql: "SELECT rowid, id, expiresAt, size FROM bundle WHERE own = 0 ORDER BY expiresAt, receivedAt, rowid")
        while total > quota, let row = try cursor.next() {
            victims.append((row[0], row["id"], row["expiresAt"]))
            total -= row["size"] as Int64
        }
        let delete = try db.cachedStatement(sql: "DELETE FROM bundle WHERE rowid = ?")
        // An evicted bundle stays "seen" so the next stick does not bring it straight back.
        let seen = try db.cachedStatement(sql: "INSERT OR IGNORE INTO seen(id, expiresAt) VALUES (?, ?)")
        for v in victims {
            try delete.execute(arguments: [v.rowid])
            try seen.execute(arguments: [v.id, v.expiresAt])
        }
        return victims.count
    }

    public func statistics() throws -> StoreStatistics {
        let b = try Row.fetchOne(
            db,
            sql: """
                SELECT COALESCE(SUM(own = 1), 0) AS ownN, COALESCE(SUM(own = 0), 0) AS carriedN,
                       COALESCE(SUM(CASE WHEN own = 0 THEN size END), 0) AS carriedBytes,
                       COALESCE(SUM(CASE WHEN own = 1 THEN size END), 0) AS ownBytes
                FROM bundle
                """)!
        let m = try Row.fetchOne(
            db,
            sql: """
                SELECT COALESCE(SUM(status = 'queued'), 0) AS q, COALESCE(SUM(status = 'sent'), 0) AS s,
                       COALESCE(SUM(status = 'delivered'), 0) AS d, COALESCE(SUM(status = 'received'), 0) AS r
                FROM message
                """)!
        return StoreStatistics(
            ownBundles: b["ownN"], carriedBundles: b["carriedN"], carriedBytes: b["carriedBytes"],
            ownBytes: b["ownBytes"], queuedMessages: m["q"], sentMessages: m["s"], deliveredMessages: m["d"],
            receivedMessages: m["r"])
    }

    public func bundleCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bundle") ?? 0
    }

    public func bundleCount(kind: StoredBundle.Kind) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bundle WHERE kind = ?", arguments: [kind.rawValue]) ?? 0
    }

    public func bundleIDs() throws -> [[UInt8]] {
        try Data.fetchAll(db, sql: "SELECT id FROM bundle ORDER BY id").map { [UInt8]($0) }
    }
}

/// A stored bundle's place in the store, without its bytes.
public struct BundleRow: Sendable {
    public var row: Int64
    public var id: [UInt8]
    public var own: Bool
    public var size: Int
}

/// What links need from the store: the reconciliation set, new bundles since a cursor, and one
/// bundle's bytes.
extension StoreTransaction {
    /// Every stored bundle as (expiry, id): expiry is intrinsic to the bundle, so two nodes holding
    /// the same bundle order it the same way.
    public func syncItems() throws -> [(expiresAt: Int64, id: [UInt8])] {
        var out: [(Int64, [UInt8])] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT expiresAt, id FROM bundle")
        while let row = try rows.next() {
            let id: Data = row[1]
            out.append((row[0], [UInt8](id)))
        }
        return out
    }

    /// The largest row number in `bundle`: a cheap change cursor for bundles added by any process.
    public func lastBundleRow() throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT IFNULL(MAX(seq), 0) FROM bundle") ?? 0
    }

    /// Bundles stored after the cursor `row`, oldest first, without their bytes.
    public func bundleRows(after row: Int64, limit: Int = 10_000) throws -> [BundleRow] {
        try Row.fetchAll(
            db.cachedStatement(sql: "SELECT seq, id, own, size FROM bundle WHERE seq > ? ORDER BY seq LIMIT ?"),
            arguments: [row, limit]
        ).map { BundleRow(row: $0[0], id: $0.bytes("id"), own: $0[2], size: $0[3]) }
    }

    /// One bundle by id, or nil if it is gone (delivered, expired or evicted).
    public func bundle(id: [UInt8]) throws -> StoredBundle? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM bundle WHERE id = ?"), arguments: [id.data])
            .map(StoredBundle.init(row:))
    }

    /// Of these ids, the ones this node has never stored or accepted: what to ask a peer for.
    public func unknownIDs(_ ids: [[UInt8]]) throws -> [[UInt8]] {
        let s = try db.cachedStatement(
            sql: "SELECT EXISTS(SELECT 1 FROM bundle WHERE id = ?1) OR EXISTS(SELECT 1 FROM seen WHERE id = ?1)")
        return try ids.filter { id in try !(Bool.fetchOne(s, arguments: [id.data]) ?? false) }
    }
}

extension StoredBundle {
    init(row: Row) throws(StoreError) {
        let r = row.checked("bundle")
        self.init(
            id: try r.bytes("id"), tag: try r.bytes("tag"), kind: try r.state("kind", Kind.self),
            dropHash: try r.optionalBytes("dropHash"), expiresAt: try r.value("expiresAt"),
            receivedAt: try r.value("receivedAt"), own: try r.value("own"), data: try r.bytes("data"))
    }
}
