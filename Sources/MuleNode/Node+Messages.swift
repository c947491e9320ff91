import Foundation
import MuleCrypto
import MuleStore
import MuleWire

/// A message as the user sees it.
public struct Message: Sendable {
    public var record: MessageRecord
    public var contact: Contact

    public init(record: MessageRecord, contact: Contact) {
        self.record = record
        self.contact = contact
    }
}

extension Node {
    /// Expiry is rounded up to a whole hour like the creation time, so the lifetime reveals no more
    /// of the creation time than the hour.
    static func coarseLifetime(requested: UInt64, now: Int64) -> (creation: UInt64, lifetime: UInt64) {
        let creation = MuleBundle.coarseCreationTime(unixMs: UInt64(max(now, 0)))
        let elapsed = UInt64(max(now, 0)) - BPBundle.dtnEpochOffsetMs - creation
        let g = MuleBundle.creationGranularityMs
        let lifetime = (elapsed + requested + g - 1) / g * g
        return (creation, min(lifetime, MuleBundle.maxLifetimeMs))
    }

    /// Seals a message for a contact and queues its bundle.
    @discardableResult
    public func send(
        to query: String, _ body: MessageContent.Body, lifetimeMs: UInt64? = nil, disappearAfterMs: UInt64? = nil
    ) throws(NodeError) -> Message {
        try send(to: query, [body], lifetimeMs: lifetimeMs, disappearAfterMs: disappearAfterMs)[0]
    }

    /// Seals several text messages for one contact and queues them in one transaction.
    @discardableResult
    public func send(
        to query: String, texts: [String], lifetimeMs: UInt64? = nil, disappearAfterMs: UInt64? = nil
    ) throws(NodeError) -> [Message] {
        try send(to: query, texts.map { .text($0) }, lifetimeMs: lifetimeMs, disappearAfterMs: disappearAfterMs)
    }

    /// The longest disappearing time: a year, like a bundle's longest lifetime.
    public static let maxDisappearMs = MuleBundle.maxLifetimeMs - MuleBundle.creationGranularityMs

    /// `disappearAfterMs` nil takes the contact's default (`setDisappearing`), 0 means none; a disappearing
    /// message's bundle lives no longer than the message, so carriers drop it by then too.
    func send(
        to query: String, _ bodies: [MessageContent.Body], lifetimeMs: UInt64?, disappearAfterMs: UInt64? = nil
    ) throws(NodeError) -> [Message] {
        var requested = lifetimeMs ?? Node.defaultLifetimeMs
        guard requested > 0, requested <= MuleBundle.maxLifetimeMs - MuleBundle.creationGranularityMs else {
            throw .invalidArgument("the lifetime must be between 1 second and 364 days")
        }
        var contact = try resolveContact(query)
        guard contact.state != .blocked else { throw .blocked(contact.name) }
        let disappear =
            disappearAfterMs == 0 ? nil : disappearAfterMs ?? contact.record.disappearAfterMs.map { UInt64(max($0, 1)) }
        if let disappear {
            guard disappear >= 1000, disappear <= Node.maxDisappearMs else {
                throw .invalidArgument("the disappearing time must be between 1 second and 364 days")
            }
            requested = min(requested, disappear)
        }
        // Replying accepts a request; one that uses an accepted contact's name is accepted by name first.
        if contact.state == .request, try contact.namesake(among: contacts()) != nil {
            throw .namesakeRequest(contact.name, id: contact.id)
        }
        let now = clock()
        let (creation, lifetime) = Node.coarseLifetime(requested: requested, now: now)
        let tag = try outgoingTag(to: contact.record, day: MuleBundle.day(ofCreationTime: creation))
        let promote = contact.state == .request
        let record = contact.record
        // Sealed inside the transaction: a version-2 message moves the session, and the new
        // state is stored with the bundles it sealed, or not at all.
        let prepared = try write { tx -> [(StoredBundle, MessageRecord)] in
            var session: (stored: StoredSession, state: RatchetSession)? = try sendingSession(for: record, tx: tx, now: now)
            var prepared: [(StoredBundle, MessageRecord)] = []
            prepared.reserveCapacity(bodies.count)
            for body in bodies {
                let sealed: Sealer.Sealed
                if var s = session {
                    sealed = try SealerV2.seal(
                        body, from: identity, toAgreementKey: record.agreementKey, session: &s.state, tag: tag,
                        creationTime: creation, lifetime: lifetime, sentAt: UInt64(now), disappearAfterMs: disappear)
                    session = s
                } else {
                    sealed = try Sealer.seal(
                        body, from: identity, toAgreementKey: record.agreementKey, tag: tag, creationTime: creation,
                        lifetime: lifetime, sentAt: UInt64(now), disappearAfterMs: disappear)
                }
                let bytes = sealed.bundle.encode()
                let stored = StoredBundle(
                    id: Node.bundleID(bytes), tag: tag, kind: .message, dropHash: sealed.dropHash,
                    expiresAt: Int64(sealed.bundle.expiresAtUnixMs), receivedAt: now, own: true, data: bytes)
                var message = MessageRecord(
                    id: Node.messageID(sealed.dropHash), contactId: record.id, direction: .outgoing, body: nil,
                    fileName: nil, filePath: nil, fileSize: nil, status: .queued, sentAt: now, receivedAt: nil,
                    deliveredAt: nil, dropHash: sealed.dropHash)
                message.disappearAt = disappear.map { now + Int64($0) }
                switch body {
                case .text(let t): message.body = t
                case .file(let name, let data):
                    message.fileName = name
                    message.fileSize = Int64(data.count)
                }
                try tx.insert(stored)
                try tx.insert(message)
                prepared.append((stored, message))
            }
            if let s = session { try tx.save(Node.updated(s.stored, s.state, now: now), demoteOthers: s.stored.state.isEmpty) }
            if promote { try tx.setContactState(id: record.id, .contact) }
            return prepared
        }
        if promote { contact.record.state = .contact }
        logger.debug("queued messages", metadata: ["count": "\(prepared.count)"])
        let messages = prepared.map { Message(record: $0.1, contact: contact) }
        events.publish(messages.map { .messageQueued($0) } + (promote ? [.contactsChanged] : []) + [.stored])
        return messages
    }

    /// Reads a file to send, refusing directories and files over the attachment limit.
    public func sendFile(
        to query: String, path: String, lifetimeMs: UInt64? = nil, disappearAfterMs: UInt64? = nil
    ) throws(NodeError) -> Message {
        var st = stat()
        if stat(path, &st) == 0, Int64(st.st_size) > Node.maxAttachmentBytes {
            throw .tooLarge(path: path, size: Int64(st.st_size), limit: Node.maxAttachmentBytes)
        }
        let data = try SecureFile.read(path)
        var m = try send(
            to: query, .file(name: (path as NSString).lastPathComponent, data: data), lifetimeMs: lifetimeMs,
            disappearAfterMs: disappearAfterMs)
        m.record.filePath = path
        return m
    }

    public func messages(with query: String? = nil) throws(NodeError) -> [Message] {
        let contact = try query.map { q throws(NodeError) in try resolveContact(q) }
        let (records, contacts) = try read { tx in
            (try tx.messages(contactId: contact?.record.id), try tx.contacts())
        }
        let byID = Dictionary(uniqueKeysWithValues: contacts.map { ($0.id, Contact(record: $0)) })
        return records.compactMap { r in byID[r.contactId].map { Message(record: r, contact: $0) } }
    }

    /// Sets how long new messages with a contact last (nil: they stay). Returns the contact.
    @discardableResult
    public func setDisappearing(_ query: String, afterMs: UInt64?) throws(NodeError) -> Contact {
        var c = try resolveContact(query)
        if let afterMs, afterMs < 1000 || afterMs > Node.maxDisappearMs {
            throw .invalidArgument("the disappearing time must be between 1 second and 364 days")
        }
        let ms = afterMs.map { Int64($0) }
        try write { tx in try tx.setDisappearAfter(id: c.record.id, ms: ms) }
        c.record.disappearAfterMs = ms
        events.publish(.contactsChanged)
        return c
    }

    /// Erases the messages whose disappearing time has come, with their files. Returns how many.
    /// A read-only store is left alone.
    @discardableResult
    public func eraseDisappeared() throws(NodeError) -> Int {
        guard !store.isReadOnly else { return 0 }
        let now = clock()
        guard try read({ tx in try tx.hasDisappeared(now: now) }) else { return 0 }
        let (count, files) = try write { tx in try tx.eraseDisappeared(now: now) }
        let dir = profile.filesDirectory
        for f in files where f.hasPrefix(dir + "/") { unlink(f) }
        if count > 0 {
            logger.debug("erased disappearing messages", metadata: ["count": "\(count)"])
            events.publish([.stored])
        }
        return count
    }

    public static func bundleID(_ bytes: [UInt8]) -> [UInt8] { Sodium.blake2b(outputLength: 32, bytes) }
    static func messageID(_ dropHash: [UInt8]) -> String { Hex.encode(dropHash.prefix(16)) }
}
