import Foundation
import GRDB

/// The node's SQLite database (WAL mode), the single owner of its connection pool.
///
/// All access goes through ``read(_:)`` and ``write(_:)``, which run a closure inside one
/// transaction: either every change of the closure is stored, or none is.
public final class Store: Sendable {
    /// A WAL `DatabasePool`, or a read-only `DatabaseQueue` when the store cannot be written.
    let pool: any DatabaseWriter
    public let path: String
    /// True when the database or its folder cannot be written (a read-only mount, a locked-down
    /// backup): every read works, and a write fails with one line that says why.
    public let isReadOnly: Bool

    public init(path: String) throws(StoreError) {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        let exists = FileManager.default.fileExists(atPath: path)
        if exists && (access(path, W_OK) != 0 || access(directory.isEmpty ? "." : directory, W_OK) != 0) {
            isReadOnly = true
            pool = try Store.openReadOnly(path: path, migrator: Schema.migrator)
        } else {
            isReadOnly = false
            if !exists {
                // Private from the start (SQLite gives its -wal and -shm files the same mode).
                let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                if fd >= 0 { close(fd) }
            }
            pool = try Store.openPool(path: path, migrator: Schema.migrator)
        }
    }

    /// Writes a consistent copy of the whole store to a new file at `path` (SQLite's online
    /// backup: page by page, so row numbers stay as they are), while the store stays in use.
    public func snapshot(to path: String) throws(StoreError) {
        do {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw StoreError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
            close(fd)
            let copy = try DatabaseQueue(path: path)
            try pool.backup(to: copy)
            try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try copy.close()
        } catch let e as StoreError {
            throw e
        } catch {
            throw .database("cannot copy the store: \(error)")
        }
    }

    /// Points received files saved under `old` at `new` (a profile restored into another folder).
    public func relocateFiles(from old: String, to new: String) throws(StoreError) {
        try write { tx in
            try tx.db.execute(
                sql: """
                    UPDATE message SET filePath = ? || substr(filePath, ?)
                    WHERE filePath IS NOT NULL AND substr(filePath, 1, ?) = ?
                    """, arguments: [new, old.unicodeScalars.count + 1, old.unicodeScalars.count, old])
        }
    }

    /// Opens an existing store without writing to it, not even its journal; it must be at the
    /// newest schema already.
    static func openReadOnly(path: String, migrator: DatabaseMigrator) throws(StoreError) -> DatabaseQueue {
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        do {
            // SQLite cannot open a WAL database read-only when its -shm file is missing and cannot
            // be made (a clean close removes it); with no -wal file either, the database file holds
            // everything, so it is opened as immutable. A -wal left by a crash comes with its -shm.
            let fm = FileManager.default
            let immutable = !fm.fileExists(atPath: path + "-wal") && !fm.fileExists(atPath: path + "-shm")
            let pool = try DatabaseQueue(path: immutable ? "file:\(path)?immutable=1" : path, configuration: config)
            guard try pool.read({ db in try migrator.hasCompletedMigrations(db) }) else {
                throw StoreError.cannotOpen(
                    path: path, reason: "it is read-only and was written by an older Mule, so it cannot be upgraded here")
            }
            return pool
        } catch let e as StoreError {
            throw e
        } catch let e as DatabaseError {
            throw .cannotOpen(path: path, reason: "it is read-only and cannot be read: " + (e.message ?? e.description))
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
    }

    /// A WAL pool with the settings every Mule database uses, migrated to the newest schema.
    static func openPool(path: String, migrator: DatabaseMigrator) throws(StoreError) -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Deleted rows are overwritten with zeros, so an erased (disappeared, removed) message is
            // not left readable in free pages of the file.
            try db.execute(sql: "PRAGMA secure_delete = ON")
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

    /// The size of the `-wal` file (0 when it is empty or absent).
    public var logBytes: Int64 {
        var st = stat()
        return stat(path + "-wal", &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Copies the write-ahead log into the database and empties it, so no older version of a
    /// changed row stays in the `-wal` file (with `secure_delete`, none stays in the database).
    /// Fails, changing nothing, while another connection reads.
    public func truncateLog() throws(StoreError) {
        try StoreError.wrap { try pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) } }
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

    /// Reads the rows of `table` whose values a user or a damaged file could have changed: a value
    /// of the wrong type, text that is not UTF-8 or an unknown state throws `StoreError.damagedRow`
    /// naming the table, the row and the column, where GRDB's subscripts would stop the process.
    func checked(_ table: String) -> CheckedRow { CheckedRow(row: self, table: table) }
}

struct CheckedRow {
    let row: Row
    let table: String

    var label: String {
        if let id = row["id"] as DatabaseValue?, !id.isNull { return "row \(id.description)" }
        return "row"
    }

    func damaged(_ column: String, _ why: String) -> StoreError {
        .damagedRow(table: table, row: label, reason: "\(column) \(why)")
    }

    func value<T: DatabaseValueConvertible>(_ column: String, _ type: T.Type = T.self) throws(StoreError) -> T {
        do { return try row.decode(T.self, forColumn: column) } catch {
            let raw = (row[column] as DatabaseValue?)?.description ?? "missing"
            throw damaged(column, "holds \(raw.prefix(40)), not \(String(describing: T.self).lowercased())")
        }
    }

    func text(_ column: String) throws(StoreError) -> String {
        let d: DatabaseValue = row[column] ?? .null
        if case .blob(let data) = d.storage {
            guard let s = String(validating: data, as: UTF8.self) else { throw damaged(column, "is not UTF-8 text") }
            return s
        }
        return try value(column, String.self)
    }

    func optionalText(_ column: String) throws(StoreError) -> String? {
        ((row[column] as DatabaseValue?) ?? .null).isNull ? nil : try text(column)
    }

    func bytes(_ column: String) throws(StoreError) -> [UInt8] { [UInt8](try value(column, Data.self)) }

    func optionalBytes(_ column: String) throws(StoreError) -> [UInt8]? {
        try value(column, Data?.self).map { [UInt8]($0) }
    }

    func state<T: RawRepresentable>(_ column: String, _ type: T.Type) throws(StoreError) -> T where T.RawValue == String {
        let raw = try text(column)
        guard let v = T(rawValue: raw) else { throw damaged(column, "holds an unknown value '\(raw.prefix(40))'") }
        return v
    }

    func state<T: RawRepresentable>(_ column: String, _ type: T.Type) throws(StoreError) -> T where T.RawValue == Int {
        let raw = try value(column, Int.self)
        guard let v = T(rawValue: raw) else { throw damaged(column, "holds an unknown value \(raw)") }
        return v
    }
}
