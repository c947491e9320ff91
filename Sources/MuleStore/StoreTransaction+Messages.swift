import Foundation
import GRDB

extension StoreTransaction {
    public func insert(_ m: MessageRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO message(id, contactId, direction, body, fileName, filePath, fileSize, status, sentAt,
                                    receivedAt, deliveredAt, dropHash, path, disappearAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            m.id, m.contactId, m.direction.rawValue, m.body, m.fileName, m.filePath, m.fileSize, m.status.rawValue,
            m.sentAt, m.receivedAt, m.deliveredAt, m.dropHash.data, m.path?.rawValue, m.disappearAt,
        ])
    }

    /// Deletes the messages whose disappearing time has come (their search index entries go with
    /// them), and this node's own bundles for those not delivered yet. Returns their file paths,
    /// for the caller to remove.
    public func eraseDisappeared(now: Int64) throws -> (count: Int, files: [String]) {
        let files = try String.fetchAll(
            db, sql: "SELECT filePath FROM message WHERE disappearAt <= ? AND filePath IS NOT NULL", arguments: [now])
        try db.execute(
            sql: """
                DELETE FROM bundle WHERE own = 1 AND dropHash IN
                    (SELECT dropHash FROM message WHERE disappearAt <= ? AND direction = 'out')
                """, arguments: [now])
        try db.execute(sql: "DELETE FROM message WHERE disappearAt <= ?", arguments: [now])
        return (db.changesCount, files)
    }

    /// Whether any message is due to disappear at or before `now`.
    public func hasDisappeared(now: Int64) throws -> Bool {
        try Int.fetchOne(db, sql: "SELECT 1 FROM message WHERE disappearAt <= ? LIMIT 1", arguments: [now]) != nil
    }

    public func hasMessage(dropHash: [UInt8]) throws -> Bool {
        try Int.fetchOne(
            db.cachedStatement(sql: "SELECT 1 FROM message WHERE dropHash = ?"), arguments: [dropHash.data]) != nil
    }

    /// Messages oldest first, of one contact or of all.
    public func messages(contactId: Int64? = nil) throws -> [MessageRecord] {
        if let contactId {
            return try Row.fetchAll(
                db, sql: "SELECT * FROM message WHERE contactId = ? ORDER BY sentAt, rowid", arguments: [contactId]
            ).map(MessageRecord.init(row:))
        }
        return try Row.fetchAll(db, sql: "SELECT * FROM message ORDER BY sentAt, rowid").map(MessageRecord.init(row:))
    }

    /// The `limit` newest messages of a contact sent before `before` (Unix ms; nil: all), oldest first.
    public func messages(contactId: Int64, limit: Int, before: Int64? = nil) throws -> [MessageRecord] {
        try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT * FROM (SELECT rowid AS r, * FROM message WHERE contactId = ? AND sentAt < ?
                                   ORDER BY sentAt DESC, rowid DESC LIMIT ?)
                    ORDER BY sentAt, r
                    """),
            arguments: [contactId, before ?? Int64.max, limit]
        ).map(MessageRecord.init(row:))
    }

    /// The `query.limit` newest messages that match `query`, oldest first.
    public func messages(matching query: MessageQuery) throws -> [MessageRecord] {
        var conditions: [String] = ["1"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let since = query.since {
            conditions.append("m.sentAt >= ?")
            arguments.append(since)
        }
        if let before = query.before {
            conditions.append("m.sentAt < ?")
            arguments.append(before)
        }
        var from = "message m"
        var order = "m.sentAt DESC, m.rowid DESC"
        if let search = query.search.flatMap(MessageQuery.ftsExpression) {
            // Newest stored first, in the index's own order: the scan stops at `limit` matches
            // instead of sorting every match (a common word matches most of a long history).
            from = "message_fts f JOIN message m ON m.rowid = f.rowid"
            conditions.insert("message_fts MATCH ?", at: 0)
            arguments.insert(search, at: 0)
            order = "f.rowid DESC"
        }
        if let c = query.contactId {
            conditions.append("m.contactId = ?")
            arguments.append(c)
        }
        if query.unreadOnly { conditions.append("m.direction = 'in' AND m.readAt IS NULL") }
        arguments.append(max(1, query.limit))
        return try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT * FROM (SELECT m.rowid AS r, m.* FROM \(from) WHERE \(conditions.joined(separator: " AND "))
                                   ORDER BY \(order) LIMIT ?)
                    ORDER BY sentAt, r
                    """),
            arguments: StatementArguments(arguments)
        ).map(MessageRecord.init(row:))
    }

    /// Marks these incoming messages read at `time`; returns how many were unread.
    @discardableResult
    public func markRead(ids: [String], at time: Int64) throws -> Int {
        let s = try db.cachedStatement(
            sql: "UPDATE message SET readAt = ? WHERE id = ? AND direction = 'in' AND readAt IS NULL")
        var n = 0
        for id in ids {
            try s.execute(arguments: [time, id])
            n += db.changesCount
        }
        return n
    }

    public func message(id: String) throws -> MessageRecord? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM message WHERE id = ?"), arguments: [id])
            .map(MessageRecord.init(row:))
    }

    /// The newest message of a contact, and how many of its incoming messages are unread.
    public func conversation(contactId: Int64) throws -> (last: MessageRecord?, unread: Int) {
        let last = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM message WHERE contactId = ? ORDER BY sentAt DESC, rowid DESC LIMIT 1"),
            arguments: [contactId]
        ).map(MessageRecord.init(row:))
        let unread =
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT COUNT(*) FROM message WHERE contactId = ? AND direction = 'in' AND readAt IS NULL"),
                arguments: [contactId]) ?? 0
        return (last, unread)
    }

    /// Marks the unread incoming messages of a contact read; returns how many.
    @discardableResult
    public func markRead(contactId: Int64, at time: Int64) throws -> Int {
        try db.cachedStatement(
            sql: "UPDATE message SET readAt = ? WHERE contactId = ? AND direction = 'in' AND readAt IS NULL"
        ).execute(arguments: [time, contactId])
        return db.changesCount
    }

    /// Marks an outgoing message delivered. Returns its contact's id if it was this node's and
    /// not yet delivered, nil otherwise.
    @discardableResult
    public func markMessageDelivered(dropHash: [UInt8], at time: Int64, path: MessagePath? = nil) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    UPDATE message SET status = 'delivered', deliveredAt = ?, path = ?
                    WHERE dropHash = ? AND direction = 'out' AND status != 'delivered'
                    RETURNING contactId
                    """),
            arguments: [time, path?.rawValue, dropHash.data])
    }

    /// queued → sent for every outgoing message whose bundle left this node.
    @discardableResult
    public func markQueuedSent() throws -> Int {
        try db.execute(sql: "UPDATE message SET status = 'sent' WHERE direction = 'out' AND status = 'queued'")
        return db.changesCount
    }
}

extension MessageRecord {
    init(row: Row) throws(StoreError) {
        let r = row.checked("message")
        self.init(
            id: try r.text("id"), contactId: try r.value("contactId"), direction: try r.state("direction", Direction.self),
            body: try r.optionalText("body"), fileName: try r.optionalText("fileName"),
            filePath: try r.optionalText("filePath"), fileSize: try r.value("fileSize"),
            status: try r.state("status", Status.self), sentAt: try r.value("sentAt"), receivedAt: try r.value("receivedAt"),
            deliveredAt: try r.value("deliveredAt"), dropHash: try r.bytes("dropHash"),
            path: try r.optionalText("path").map { MessagePath(rawValue: $0) ?? .file })
        readAt = try r.value("readAt")
        disappearAt = try r.value("disappearAt")
    }
}

extension StoreTransaction {
    /// queued → sent for the outgoing message with this drop hash, once its bundle left on a link.
    @discardableResult
    /// Returns the message's contact id if it changed, nil otherwise.
    public func markSent(dropHash: [UInt8]) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    UPDATE message SET status = 'sent' WHERE dropHash = ? AND direction = 'out' AND status = 'queued'
                    RETURNING contactId
                    """),
            arguments: [dropHash.data])
    }
}

/// An own message bundle that has not been delivered yet: a candidate for a relay.
public struct PendingDeposit: Sendable, Equatable {
    public var id: [UInt8]
    public var contactId: Int64
    public var dropHash: [UInt8]
    public var size: Int
}

extension StoreTransaction {
    /// Own message bundles whose message is not delivered, queued at or before `cutoff` (Unix ms),
    /// and not yet stored at `relay`: for every contact when it is one of the node's own relays,
    /// else for the contacts that named it.
    public func undeliveredOwnBundles(
        queuedBefore cutoff: Int64, notAt relay: String, own: Bool, limit: Int = 256
    ) throws -> [PendingDeposit] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT b.id, b.dropHash, b.size, m.contactId FROM bundle b
                JOIN message m ON m.dropHash = b.dropHash JOIN contact c ON c.id = m.contactId
                WHERE b.own = 1 AND b.kind = 0 AND m.direction = 'out' AND m.status != 'delivered' AND b.receivedAt <= ?
                  AND (? OR instr(char(10) || c.relays || char(10), char(10) || ? || char(10)) > 0)
                  AND NOT EXISTS(SELECT 1 FROM deposit d WHERE d.relay = ? AND d.id = b.id)
                ORDER BY b.seq LIMIT ?
                """, arguments: [cutoff, own, relay, relay, limit]
        ).map { PendingDeposit(id: $0.bytes("id"), contactId: $0["contactId"], dropHash: $0.bytes("dropHash"), size: $0["size"]) }
    }

    /// Which of `ids` were stored at `relay` already.
    public func deposited(at relay: String, ids: [[UInt8]]) throws -> Set<[UInt8]> {
        var out = Set<[UInt8]>()
        let s = try db.cachedStatement(sql: "SELECT 1 FROM deposit WHERE relay = ? AND id = ?")
        for id in ids where try Int.fetchOne(s, arguments: [relay, id.data]) != nil { out.insert(id) }
        return out
    }

    public func markDeposited(at relay: String, id: [UInt8], now: Int64) throws {
        try db.execute(
            sql: "INSERT OR IGNORE INTO deposit(relay, id, at) VALUES (?, ?, ?)", arguments: [relay, id.data, now])
    }

    /// Drop hashes of own messages stored at a relay and not delivered yet.
    public func watchedDropHashes(at relay: String) throws -> [[UInt8]] {
        try Data.fetchAll(
            db,
            sql: """
                SELECT b.dropHash FROM deposit d JOIN bundle b ON b.id = d.id JOIN message m ON m.dropHash = b.dropHash
                WHERE d.relay = ? AND m.status != 'delivered'
                """, arguments: [relay]
        ).map { [UInt8]($0) }
    }

    /// Forgets deposits of bundles this node no longer holds.
    public func pruneDeposits() throws {
        try db.execute(sql: "DELETE FROM deposit WHERE id NOT IN (SELECT id FROM bundle)")
    }
}
