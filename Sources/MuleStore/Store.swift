import Foundation
import GRDB

/// The node's SQLite database (WAL mode), the single owner of its connection pool.
///
/// All access goes through ``read(_:)`` and ``write(_:)``, which run a closure inside one
/// transaction: either every change of the closure is stored, or none is.
public final class Store: Sendable {
    let pool: DatabasePool
    public let path: String

    public init(path: String) throws(StoreError) {
        self.path = path
        pool = try Store.openPool(path: path, migrator: Schema.migrator)
    }

    /// A WAL pool with the settings every Mule database uses, migrated to the newest schema.
    static func openPool(path: String, migrator: DatabaseMigrator) throws(StoreError) -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            try migrator.migrate(pool)
            return pool
        } catch let e as DatabaseError {
            throw .cannotOpen(path: path, reason: e.message ?? e.description)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    public func write<T>(_ body: (StoreTransaction) throws -> T) throws(StoreError) -> T {
        try StoreError.wrap { try pool.write { db in try body(StoreTransaction(db: db)) } }
    }

    public func read<T>(_ body: (StoreTransaction) throws -> T) throws(StoreError) -> T {
        try StoreError.wrap { try pool.read { db in try body(StoreTransaction(db: db)) } }
    }

    /// `PRAGMA integrity_check`: "ok" for a sound database.
    public func integrityCheck() throws(StoreError) -> String {
        try StoreError.wrap {
            try pool.read { db in
                try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ")
            }
        }
    }

    /// Bytes on disk: the database file and its write-ahead log.
    public func fileSize() -> Int64 {
        let fm = FileManager.default
        return [path, path + "-wal"].reduce(Int64(0)) { sum, p in
            sum + ((try? fm.attributesOfItem(atPath: p)[.size] as? Int64) ?? 0)
        }
    }
}

/// The queries of one transaction. Valid only inside the closure it was handed to.
public struct StoreTransaction {
    let db: Database
}

extension Array where Element == UInt8 {
    var data: Data { Data(self) }
}

extension Row {
    func bytes(_ column: String) -> [UInt8] {
        let d: Data = self[column]
        return [UInt8](d)
    }

    func optionalBytes(_ column: String) -> [UInt8]? {
        let d: Data? = self[column]
        return d.map { [UInt8]($0) }
    }
}
