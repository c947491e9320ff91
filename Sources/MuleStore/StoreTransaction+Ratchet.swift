import Foundation
import GRDB

/// A ratchet session as stored: its secret state is opaque here (MuleCrypto encodes it).
public struct StoredSession: Sendable, Equatable {
    public var id: [UInt8]
    public var contactId: Int64
    public var state: [UInt8]
    public var current: Bool
    public var usedAt: Int64
    public var nextDeadline: Int64?

    public init(id: [UInt8], contactId: Int64, state: [UInt8], current: Bool, usedAt: Int64, nextDeadline: Int64?) {
        self.id = id
        self.contactId = contactId
        self.state = state
        self.current = current
        self.usedAt = usedAt
        self.nextDeadline = nextDeadline
    }
}

extension StoredSession {
    init(row: Row) throws(StoreError) {
        let r = row.checked("ratchet_session")
        self.init(
            id: try r.bytes("id"), contactId: try r.value("contactId"), state: try r.bytes("state"),
            current: try r.value("current"), usedAt: try r.value("usedAt"), nextDeadline: try r.value("nextDeadline"))
    }
}

extension StoreTransaction {
    /// The sessions with contact `contactId`: the current one first, then the most recently used.
    public func ratchetSessions(contactId: Int64) throws -> [StoredSession] {
        try Row.fetchAll(
            try db.cachedStatement(sql: "SELECT * FROM ratchet_session WHERE contactId = ? ORDER BY current DESC, usedAt DESC"),
            arguments: [contactId]
        ).map(StoredSession.init(row:))
    }

    /// Sessions holding skipped keys whose deadline is at or before `now`.
    public func ratchetSessions(deadlineBy now: Int64) throws -> [StoredSession] {
        try Row.fetchAll(
            db, sql: "SELECT * FROM ratchet_session WHERE nextDeadline <= ?", arguments: [now]
        ).map(StoredSession.init(row:))
    }

    /// Inserts or replaces a session. Making it current makes the contact's other sessions not
    /// current (`demoteOthers` false: the caller knows it already was the current one).
    public func save(_ s: StoredSession, demoteOthers: Bool = true) throws {
        if s.current && demoteOthers {
            try db.cachedStatement(
                sql: "UPDATE ratchet_session SET current = 0 WHERE contactId = ? AND current = 1 AND id != ?"
            ).execute(arguments: [s.contactId, s.id.data])
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO ratchet_session(id, contactId, state, current, usedAt, nextDeadline) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET state = excluded.state, current = excluded.current,
                  usedAt = excluded.usedAt, nextDeadline = excluded.nextDeadline
                """
        ).execute(arguments: [s.id.data, s.contactId, s.state.data, s.current, s.usedAt, s.nextDeadline])
    }

    /// Deletes sessions that are not current and were last used before `before`. Returns how many.
    @discardableResult
    public func deleteIdleSessions(usedBefore before: Int64) throws -> Int {
        try db.execute(sql: "DELETE FROM ratchet_session WHERE current = 0 AND usedAt < ?", arguments: [before])
        return db.changesCount
    }

    /// Makes no session current: the next message to each contact starts a new session.
    public func retireCurrentSessions() throws {
        try db.execute(sql: "UPDATE ratchet_session SET current = 0 WHERE current = 1")
    }

    /// Whether a skipped key's deadline has passed or a session that is not current went idle.
    public func keysDue(now: Int64, idleBefore: Int64) throws -> Bool {
        try Bool.fetchOne(
            db,
            sql: """
                SELECT EXISTS(SELECT 1 FROM ratchet_session WHERE nextDeadline <= ?)
                    OR EXISTS(SELECT 1 FROM ratchet_session WHERE current = 0 AND usedAt < ?)
                """, arguments: [now, idleBefore]) ?? false
    }

    public func sessionCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ratchet_session") ?? 0
    }

    /// This node's prekey ring in its stored form (secret), if it has one.
    public func prekeyRing() throws -> [UInt8]? {
        try Data.fetchOne(db, sql: "SELECT ring FROM prekey_ring WHERE one = 1").map { [UInt8]($0) }
    }

    public func setPrekeyRing(_ ring: [UInt8]) throws {
        try db.execute(
            sql: "INSERT INTO prekey_ring(one, ring) VALUES (1, ?) ON CONFLICT(one) DO UPDATE SET ring = excluded.ring",
            arguments: [ring.data])
    }

    /// Records a contact's signed prekey (encoded).
    public func setContactPrekey(id: Int64, _ prekey: [UInt8]?) throws {
        try db.execute(sql: "UPDATE contact SET prekey = ? WHERE id = ?", arguments: [prekey?.data, id])
    }

    /// Records that a version-2 message created at `creation` came from contact `id`; the earliest is kept.
    public func noteVersion2(id: Int64, creation: Int64) throws {
        try db.execute(
            sql: "UPDATE contact SET v2Since = ? WHERE id = ? AND (v2Since IS NULL OR v2Since > ?)",
            arguments: [creation, id, creation])
    }

    /// Keeps the ack secret of an incoming message, so its arrival can be proved again to a relay
    /// after the message key is gone.
    public func setAckSecret(dropHash: [UInt8], _ ack: [UInt8]) throws {
        try db.cachedStatement(sql: "UPDATE message SET ackSecret = ? WHERE dropHash = ?").execute(
            arguments: [ack.data, dropHash.data])
    }

    public func ackSecret(dropHash: [UInt8]) throws -> [UInt8]? {
        try Data.fetchOne(db, sql: "SELECT ackSecret FROM message WHERE dropHash = ?", arguments: [dropHash.data])
            .map { [UInt8]($0) }
    }
}
