import Foundation
import GRDB

extension StoreTransaction {
    public func insert(_ m: MessageRecord) throws {
        try db.cachedStatement(
            sql: """
                INSERT INTO message(id, contactId, direction, body, fileName, filePath, fileSize, status, sentAt,
                                    receivedAt, deliveredAt, dropHash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            m.id, m.contactId, m.direction.rawValue, m.body, m.fileName, m.filePath, m.fileSize, m.status.rawValue,
            m.sentAt, m.receivedAt, m.deliveredAt, m.dropHash.data,
        ])
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

    /// Marks an outgoing message delivered. Returns true if it was this node's and not yet delivered.
    @discardableResult
    public func markMessageDelivered(dropHash: [UInt8], at time: Int64) throws -> Bool {
        try db.cachedStatement(
            sql: """
                UPDATE message SET status = 'delivered', deliveredAt = ?
                WHERE dropHash = ? AND direction = 'out' AND status != 'delivered'
                """
        ).execute(arguments: [time, dropHash.data])
        return db.changesCount > 0
    }

    /// queued → sent for every outgoing message whose bundle left this node.
    @discardableResult
    public func markQueuedSent() throws -> Int {
        try db.execute(sql: "UPDATE message SET status = 'sent' WHERE direction = 'out' AND status = 'queued'")
        return db.changesCount
    }
}

extension MessageRecord {
    init(row: Row) {
        self.init(
            id: row["id"], contactId: row["contactId"], direction: Direction(rawValue: row["direction"]) ?? .incoming,
            body: row["body"], fileName: row["fileName"], filePath: row["filePath"], fileSize: row["fileSize"],
            status: Status(rawValue: row["status"]) ?? .queued, sentAt: row["sentAt"], receivedAt: row["receivedAt"],
            deliveredAt: row["deliveredAt"], dropHash: row.bytes("dropHash"))
    }
}

extension StoreTransaction {
    /// queued → sent for the outgoing message with this drop hash, once its bundle left on a link.
    @discardableResult
    public func markSent(dropHash: [UInt8]) throws -> Bool {
        try db.cachedStatement(
            sql: "UPDATE message SET status = 'sent' WHERE dropHash = ? AND direction = 'out' AND status = 'queued'"
        ).execute(arguments: [dropHash.data])
        return db.changesCount > 0
    }
}
