import Foundation
import GRDB

/// The store of a relay (`mule relay --listen`): opaque bundles by recipient tag, the drop hashes
/// recipients proved delivered, and the relay's settings. A separate database from a node's store:
/// a relay has no profile, no contacts and no messages.
///
/// A bundle row keeps the tag, the drop hash (messages), the size, the expiry and an 8-byte keyed
/// hash of the depositor's address block (for the per-source quota); nothing else about who sent it.
public final class RelayStore: Sendable {
    let pool: DatabasePool
    public let path: String

    public struct Limits: Sendable, Equatable {
        /// All bundles together.
        public var capacity: Int64 = 1 << 30
        /// The bundles deposited from one address block.
        public var perSource: Int64 = 64 << 20
        /// The bundles waiting for one recipient tag.
        public var perTag: Int64 = 32 << 20
        public init() {}
    }

    public enum Admission: Equatable, Sendable {
        case stored
        case known
        case overQuota(String)
    }

    public struct Entry: Sendable, Equatable {
        public var id: [UInt8]
        public var tag: [UInt8]
        public var dropHash: [UInt8]?
        public var source: [UInt8]
        public var expiresAt: Int64
        public var data: [UInt8]
        public init(id: [UInt8], tag: [UInt8], dropHash: [UInt8]?, source: [UInt8], expiresAt: Int64, data: [UInt8]) {
            self.id = id
            self.tag = tag
            self.dropHash = dropHash
            self.source = source
            self.expiresAt = expiresAt
            self.data = data
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var bundles: Int
        public var bytes: Int64
        public var delivered: Int
    }

    public init(path: String) throws(StoreError) {
        self.path = path
        pool = try Store.openPool(path: path, migrator: RelayStore.migrator)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("relay-v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE relay_bundle (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id BLOB NOT NULL UNIQUE,        -- BLAKE2b-256 of the bundle's bytes
                        tag BLOB NOT NULL,              -- recipient tag (16 bytes)
                        dropHash BLOB,                  -- message bundles only
                        source BLOB NOT NULL,           -- keyed hash of the depositor's address block (8 bytes)
                        size INTEGER NOT NULL,
                        expiresAt INTEGER NOT NULL,     -- Unix ms
                        data BLOB NOT NULL
                    );
                    CREATE INDEX relay_bundle_tag ON relay_bundle(tag);
                    CREATE INDEX relay_bundle_source ON relay_bundle(source);
                    CREATE INDEX relay_bundle_dropHash ON relay_bundle(dropHash) WHERE dropHash IS NOT NULL;
                    CREATE INDEX relay_bundle_expiry ON relay_bundle(expiresAt);
                    CREATE TABLE relay_delivered (
                        dropHash BLOB PRIMARY KEY,      -- a message its recipient proved delivered
                        ack BLOB NOT NULL,              -- the ack secret, for the sender to learn
                        expiresAt INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE relay_setting (key TEXT PRIMARY KEY, value BLOB NOT NULL);
                    """)
        }
        return m
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        try StoreError.wrap { try pool.write { db in try body(db) } }
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        try StoreError.wrap { try pool.read { db in try body(db) } }
    }

    /// A random secret kept in the store, created on first use (`bytes` long).
    public func secret(_ key: String, make: () -> [UInt8]) throws(StoreError) -> [UInt8] {
        try write { db in
            if let d = try Data.fetchOne(db, sql: "SELECT value FROM relay_setting WHERE key = ?", arguments: [key]) {
                return [UInt8](d)
            }
            let v = make()
            try db.execute(sql: "INSERT INTO relay_setting(key, value) VALUES (?, ?)", arguments: [key, v.data])
            return v
        }
    }

    /// Whether a bundle of `size` bytes from `source` for `tag` would fit now; checked before its
    /// bytes are accepted. Nil if it fits, else the limit it breaks.
    public func wouldExceed(source: [UInt8], tag: [UInt8]?, size: Int64, limits: Limits) throws(StoreError) -> String? {
        try read { db in try RelayStore.exceeded(db, source: source, tag: tag, size: size, limits: limits) }
    }

    static func exceeded(_ db: Database, source: [UInt8], tag: [UInt8]?, size: Int64, limits: Limits) throws -> String? {
        let total = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(size), 0) FROM relay_bundle") ?? 0
        if total + size > limits.capacity { return "relay full" }
        let mine =
            try Int64.fetchOne(
                db, sql: "SELECT COALESCE(SUM(size), 0) FROM relay_bundle WHERE source = ?", arguments: [source.data]) ?? 0
        if mine + size > limits.perSource { return "source quota" }
        if let tag {
            let waiting =
                try Int64.fetchOne(
                    db, sql: "SELECT COALESCE(SUM(size), 0) FROM relay_bundle WHERE tag = ?", arguments: [tag.data]) ?? 0
            if waiting + size > limits.perTag { return "recipient quota" }
        }
        return nil
    }

    /// Stores a deposited bundle unless it is held or its message was delivered, within the limits.
    public func admit(_ e: Entry, limits: Limits) throws(StoreError) -> Admission {
        try write { db in
            if try Bool.fetchOne(
                db,
                sql: """
                    SELECT EXISTS(SELECT 1 FROM relay_bundle WHERE id = ?1)
                        OR (?2 IS NOT NULL AND EXISTS(SELECT 1 FROM relay_delivered WHERE dropHash = ?2))
                    """, arguments: [e.id.data, e.dropHash?.data]) == true
            {
                return .known
            }
            if let why = try RelayStore.exceeded(db, source: e.source, tag: e.tag, size: Int64(e.data.count), limits: limits) {
                return .overQuota(why)
            }
            try db.execute(
                sql: """
                    INSERT INTO relay_bundle(id, tag, dropHash, source, size, expiresAt, data)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    e.id.data, e.tag.data, e.dropHash?.data, e.source.data, e.data.count, e.expiresAt, e.data.data,
                ])
            return .stored
        }
    }

    /// Ids of the unexpired bundles for these tags, oldest first.
    public func ids(forTags tags: [[UInt8]], now: Int64) throws(StoreError) -> [[UInt8]] {
        guard !tags.isEmpty else { return [] }
        return try read { db in
            var out: [[UInt8]] = []
            for chunk in stride(from: 0, to: tags.count, by: 500) {
                let part = tags[chunk..<min(chunk + 500, tags.count)]
                let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                var args: [(any DatabaseValueConvertible)?] = part.map { $0.data }
                args.append(now)
                out += try Data.fetchAll(
                    db, sql: "SELECT id FROM relay_bundle WHERE tag IN (\(marks)) AND expiresAt > ? ORDER BY seq",
                    arguments: StatementArguments(args)
                ).map { [UInt8]($0) }
            }
            return out
        }
    }

    /// One stored bundle.
    public func entry(id: [UInt8]) throws(StoreError) -> Entry? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM relay_bundle WHERE id = ?", arguments: [id.data]).map {
                Entry(
                    id: $0.bytes("id"), tag: $0.bytes("tag"), dropHash: $0.optionalBytes("dropHash"),
                    source: $0.bytes("source"), expiresAt: $0["expiresAt"], data: $0.bytes("data"))
            }
        }
    }

    /// Applies proofs of delivery: `acks` are (drop hash, ack secret) pairs that a recipient or a
    /// receipt revealed, and delete every message with that drop hash; `receipts` are ids of
    /// bundles without a drop hash that may go if their tag is one of `tags`. An ack is remembered
    /// (for its sender) only if it deleted something or its drop hash is in `watched`: made-up
    /// acks cost nothing. Returns the count deleted.
    @discardableResult
    public func release(
        acks: [(dropHash: [UInt8], ack: [UInt8])], receipts: [[UInt8]], tags: Set<[UInt8]>,
        watched: Set<[UInt8]> = [], keepUntil: Int64
    ) throws(StoreError) -> Int {
        try write { db in
            var deleted = 0
            for (h, ack) in acks {
                try db.execute(sql: "DELETE FROM relay_bundle WHERE dropHash = ?", arguments: [h.data])
                let n = db.changesCount
                deleted += n
                guard n > 0 || watched.contains(h) else { continue }
                try db.execute(
                    sql: "INSERT OR IGNORE INTO relay_delivered(dropHash, ack, expiresAt) VALUES (?, ?, ?)",
                    arguments: [h.data, ack.data, keepUntil])
            }
            for id in receipts {
                guard
                    let tag = try Data.fetchOne(
                        db, sql: "SELECT tag FROM relay_bundle WHERE id = ? AND dropHash IS NULL", arguments: [id.data]),
                    tags.contains([UInt8](tag))
                else { continue }
                try db.execute(sql: "DELETE FROM relay_bundle WHERE id = ?", arguments: [id.data])
                deleted += db.changesCount
            }
            return deleted
        }
    }

    /// The ack secrets known for these drop hashes.
    public func acks(for dropHashes: [[UInt8]]) throws(StoreError) -> [[UInt8]] {
        try read { db in
            try dropHashes.compactMap { h in
                try Data.fetchOne(db, sql: "SELECT ack FROM relay_delivered WHERE dropHash = ?", arguments: [h.data])
                    .map { [UInt8]($0) }
            }
        }
    }

    /// Deletes expired bundles and delivery marks; returns the bundles deleted.
    @discardableResult
    public func deleteExpired(now: Int64) throws(StoreError) -> Int {
        try write { db in
            try db.execute(sql: "DELETE FROM relay_bundle WHERE expiresAt <= ?", arguments: [now])
            let n = db.changesCount
            try db.execute(sql: "DELETE FROM relay_delivered WHERE expiresAt <= ?", arguments: [now])
            return n
        }
    }

    public func statistics() throws(StoreError) -> Statistics {
        try read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM relay_bundle")
            let d = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM relay_delivered") ?? 0
            return Statistics(bundles: row?["n"] ?? 0, bytes: row?["b"] ?? 0, delivered: d)
        }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound database.
    public func integrityCheck() throws(StoreError) -> String {
        try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }
}
