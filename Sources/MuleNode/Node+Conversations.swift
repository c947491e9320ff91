import MuleStore

/// A conversation as a list of them shows it: the contact, the newest message, the unread count.
public struct Conversation: Sendable {
    public var contact: Contact
    public var last: MessageRecord?
    public var unread: Int
}

extension Node {
    /// Every contact and request that is not blocked, with its newest message and unread count,
    /// most recent conversation first.
    public func conversations() throws(NodeError) -> [Conversation] {
        let list = try read { tx in
            try tx.contacts().filter { $0.state != .blocked }.map { c in
                let (last, unread) = try tx.conversation(contactId: c.id)
                return Conversation(contact: Contact(record: c), last: last, unread: unread)
            }
        }
        return list.sorted { ($0.last?.sentAt ?? $0.contact.record.addedAt) > ($1.last?.sentAt ?? $1.contact.record.addedAt) }
    }

    /// The `limit` newest messages with a contact sent before `before` (Unix ms), oldest first.
    public func messages(with query: String, limit: Int, before: Int64? = nil) throws(NodeError) -> [Message] {
        let contact = try resolveContact(query)
        let records = try read { tx in try tx.messages(contactId: contact.record.id, limit: max(1, limit), before: before) }
        return records.map { Message(record: $0, contact: contact) }
    }

    /// The messages that match `query` (of one contact, or of all when `contact` is nil).
    public func messages(with contact: Contact?, matching query: MessageQuery) throws(NodeError) -> [Message] {
        var q = query
        q.contactId = contact?.record.id
        let (records, contacts) = try read { tx in (try tx.messages(matching: q), try tx.contacts()) }
        let byID = Dictionary(uniqueKeysWithValues: contacts.map { ($0.id, Contact(record: $0)) })
        return records.compactMap { r in byID[r.contactId].map { Message(record: r, contact: $0) } }
    }

    /// Marks these messages read (they were shown); returns how many were unread.
    @discardableResult
    public func markRead(_ messages: [Message]) throws(NodeError) -> Int {
        let ids = messages.filter { $0.record.direction == .incoming && $0.record.readAt == nil }.map(\.record.id)
        guard !ids.isEmpty else { return 0 }
        let now = clock()
        let n = try write { tx in try tx.markRead(ids: ids, at: now) }
        if n > 0 { events.publish(.contactsChanged) }
        return n
    }

    /// The message with this id, if any.
    public func message(id: String) throws(NodeError) -> Message? {
        try read { tx -> Message? in
            guard let r = try tx.message(id: id), let c = try tx.contact(id: r.contactId) else { return nil }
            return Message(record: r, contact: Contact(record: c))
        }
    }

    /// Marks what a contact sent as read (it was shown); returns how many messages that was.
    @discardableResult
    public func markRead(_ contact: Contact) throws(NodeError) -> Int {
        let now = clock()
        let n = try write { tx in try tx.markRead(contactId: contact.record.id, at: now) }
        if n > 0 { events.publish(.contactsChanged) }
        return n
    }

    /// Records that the person compared this contact's fingerprint (or scanned its QR code).
    @discardableResult
    public func verifyContact(_ query: String) throws(NodeError) -> Contact {
        var c = try resolveContact(query)
        let now = clock()
        try write { tx in try tx.setVerified(id: c.record.id, at: now) }
        c.record.verifiedAt = now
        events.publish(.contactsChanged)
        return c
    }
}

// A node's stored properties are constants, and its store is a GRDB pool that serialises writes
// and lets reads run alongside: one node may serve the web app's concurrent requests.
extension Node: @unchecked Sendable {}
