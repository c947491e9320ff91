import Foundation
import GRDB

extension StoreTransaction {
    public func contacts() throws -> [ContactRecord] {
        try Row.fetchAll(db, sql: "SELECT * FROM contact ORDER BY name, id").map(ContactRecord.init(row:))
    }

    public func contact(signingKey: [UInt8]) throws -> ContactRecord? {
        try Row.fetchOne(
            try db.cachedStatement(sql: "SELECT * FROM contact WHERE signingKey = ?"), arguments: [signingKey.data]
        ).map(ContactRecord.init(row:))
    }

    public func contact(id: Int64) throws -> ContactRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM contact WHERE id = ?", arguments: [id]).map(ContactRecord.init(row:))
    }

    @discardableResult
    public func insertContact(
        signingKey: [UInt8], agreementKey: [UInt8], name: String, state: ContactRecord.State, now: Int64
    ) throws -> ContactRecord {
        try db.execute(
            sql: "INSERT INTO contact(signingKey, agreementKey, name, state, heardFrom, addedAt) VALUES (?, ?, ?, ?, 0, ?)",
            arguments: [signingKey.data, agreementKey.data, name, state.rawValue, now])
        return ContactRecord(
            id: db.lastInsertedRowID, signingKey: signingKey, agreementKey: agreementKey, name: name, state: state,
            heardFrom: false, addedAt: now)
    }

    /// Replaces the relays a contact said it fetches from.
    public func setContactRelays(id: Int64, _ relays: [String]) throws {
        try db.execute(sql: "UPDATE contact SET relays = ? WHERE id = ?", arguments: [relays.joined(separator: "\n"), id])
    }

    public func setContactState(id: Int64, _ state: ContactRecord.State) throws {
        try db.execute(sql: "UPDATE contact SET state = ? WHERE id = ?", arguments: [state.rawValue, id])
    }

    /// Sets the disappearing time of new messages with contact `id` (nil: they stay).
    public func setDisappearAfter(id: Int64, ms: Int64?) throws {
        try db.execute(sql: "UPDATE contact SET disappearAfterMs = ? WHERE id = ?", arguments: [ms, id])
    }

    public func renameContact(id: Int64, to name: String) throws {
        try db.execute(sql: "UPDATE contact SET name = ? WHERE id = ?", arguments: [name, id])
    }

    /// Records that the fingerprint of contact `id` was compared at `time` (nil: not verified).
    public func setVerified(id: Int64, at time: Int64?) throws {
        try db.execute(sql: "UPDATE contact SET verifiedAt = ? WHERE id = ?", arguments: [time, id])
    }

    /// Deletes a contact, its messages and this node's own bundles for it. Returns the number of
    /// messages deleted and the paths of the files they had saved.
    public func deleteContact(id: Int64) throws -> (messages: Int, files: [String]) {
        let files = try String.fetchAll(
            db, sql: "SELECT filePath FROM message WHERE contactId = ? AND direction = 'in' AND filePath IS NOT NULL",
            arguments: [id])
        try db.execute(
            sql: """
                DELETE FROM bundle WHERE own = 1 AND kind = 0
                  AND dropHash IN (SELECT dropHash FROM message WHERE contactId = ? AND direction = 'out')
                """, arguments: [id])
        try db.execute(sql: "DELETE FROM message WHERE contactId = ?", arguments: [id])
        let n = db.changesCount
        try db.execute(sql: "DELETE FROM contact WHERE id = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM ratchet_session WHERE contactId = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM deposit WHERE id NOT IN (SELECT id FROM bundle)")
        return (n, files)
    }

    public func hasOutgoingMessages(contactId: Int64) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT EXISTS(SELECT 1 FROM message WHERE contactId = ? AND direction = 'out')", arguments: [contactId])
            ?? false
    }

    public func setHeardFrom(id: Int64) throws {
        try db.cachedStatement(sql: "UPDATE contact SET heardFrom = 1 WHERE id = ? AND heardFrom = 0")
            .execute(arguments: [id])
    }

    public func setting(_ key: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key])
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try db.execute(
            sql: "INSERT INTO setting(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [key, value])
    }
}

extension ContactRecord {
    init(row: Row) throws(StoreError) {
        let r = row.checked("contact")
        self.init(
            id: try r.value("id"), signingKey: try r.bytes("signingKey"), agreementKey: try r.bytes("agreementKey"),
            name: try r.text("name"), state: try r.state("state", State.self), heardFrom: try r.value("heardFrom"),
            addedAt: try r.value("addedAt"),
            relays: (try r.optionalText("relays") ?? "").split(separator: "\n").map(String.init),
            verifiedAt: try r.value("verifiedAt"), disappearAfterMs: try r.value("disappearAfterMs"),
            prekey: try r.optionalBytes("prekey"), v2Since: try r.value("v2Since"))
    }
}

extension StoreTransaction {
    /// Changes whenever a contact is added: the keys a tag directory is built from.
    public func contactsVersion() throws -> String {
        try String.fetchOne(db, sql: "SELECT COUNT(*) || ':' || IFNULL(MAX(id), 0) FROM contact") ?? ""
    }
}
