import Foundation
import MuleCrypto
import MuleStore
import MuleWire

/// A contact as the user sees it.
public struct Contact: Sendable {
    public var record: ContactRecord
    public var id: String { Hex.encode(record.signingKey.prefix(4)) }
    public var name: String { record.name }
    public var state: ContactRecord.State { record.state }
    /// True once the person said they compared the fingerprint.
    public var verified: Bool { record.verifiedAt != nil }
    public var fingerprint: String {
        PublicIdentity(name: record.name, signingKey: record.signingKey, agreementKey: record.agreementKey).fingerprint
    }

    /// The accepted contact whose name this request (or blocked key) also uses: a stranger, or the
    /// contact on a new device. Names are labels; keys are who someone is, so the two are never merged.
    public func namesake(among all: [Contact]) -> Contact? {
        guard state != .contact else { return nil }
        let n = name.lowercased()
        return all.first { $0.state == .contact && $0.record.id != record.id && $0.name.lowercased() == n }
    }

    /// How to show this contact: a request that uses an accepted contact's name says so.
    public func label(among all: [Contact]) -> String {
        guard let other = namesake(among: all) else { return name }
        return "\(name) (new key, not your contact \(other.name))"
    }

    /// The warning to print beside a request that uses an accepted contact's name, if any.
    public func warning(among all: [Contact]) -> String? {
        guard let other = namesake(among: all) else { return nil }
        return
            "warning: [\(id)] calls itself '\(name)' but is not your contact \(other.name) [\(other.id)]: "
            + "a different key (a stranger, or \(other.name) on a new device: ask them by another way)"
    }
}

/// A contact as JSON shows it (`mule contacts list --json`, the web API).
public struct ContactInfo: Codable, Sendable {
    public var id: String
    public var name: String
    public var state: String
    public var fingerprint: String
    public var verified: Bool
    /// The relays the contact fetches from (its invite or DHT record named them).
    public var relays: [String]
    /// Set on a request that uses an accepted contact's name: that contact's id.
    public var namesakeOf: String?

    public init(_ c: Contact, among all: [Contact] = []) {
        id = c.id
        name = c.name
        state = c.state.rawValue
        fingerprint = c.fingerprint
        verified = c.verified
        relays = c.record.relays
        namesakeOf = c.namesake(among: all)?.id
    }
}

extension Node {
    public func contacts() throws(NodeError) -> [Contact] {
        try read { tx in try tx.contacts() }.map(Contact.init(record:))
    }

    /// Adds a contact from an invite code. An existing request from the same key becomes a contact.
    @discardableResult
    public func addContact(invite code: String, name: String? = nil) throws(NodeError) -> Contact {
        let decoded: Invite.Contents
        do { decoded = try Invite.read(code) } catch { throw .invite(error) }
        var c = try addContact(decoded.identity, name: name)
        if !decoded.relays.isEmpty {
            let relays = decoded.relays.filter { Node.isRelayAddress($0) }
            try setContactRelays(c.record.id, relays)
            c.record.relays = relays
        }
        if let prekey = decoded.prekey {
            try setContactPrekey(c.record.id, prekey)
            c.record.prekey = prekey.encode()
        }
        return c
    }

    /// Records a contact's signed prekey (from its invite or DHT record) if it is signed by the
    /// contact and newer than the one kept.
    public func setContactPrekey(_ id: Int64, _ prekey: SignedPrekey) throws(NodeError) {
        try write { tx in
            guard let c = try tx.contact(id: id), prekey.verify(signingKey: c.signingKey) else { return }
            if let old = c.prekey.flatMap({ try? SignedPrekey.decode($0) }), old.validUntil >= prekey.validUntil { return }
            try tx.setContactPrekey(id: id, prekey.encode())
        }
    }

    /// Records the relays a contact fetches from (from its invite or its DHT record).
    public func setContactRelays(_ id: Int64, _ relays: [String]) throws(NodeError) {
        try write { tx in try tx.setContactRelays(id: id, Array(relays.prefix(Invite.maxRelays))) }
        events.publish(.contactsChanged)
    }

    /// Adds a contact whose keys came by another way than an invite (a node announcing itself on the LAN).
    @discardableResult
    public func addContact(_ who: PublicIdentity, name: String? = nil) throws(NodeError) -> Contact {
        guard who.signingKey != identity.signing.publicKey else { throw .ownInvite }
        let display = try Profile.validateName(name ?? who.name)
        let now = clock()
        let record = try write { tx -> Result<ContactRecord, NodeError> in
            if var existing = try tx.contact(signingKey: who.signingKey) {
                guard existing.state == .request else { return .failure(.alreadyContact(existing.name)) }
                guard existing.agreementKey == who.agreementKey else {
                    return .failure(
                        .invalidArgument("this invite's encryption key differs from the key '\(existing.name)' wrote with"))
                }
                if let taken = try Node.acceptedNamesake(display, except: existing.id, tx) {
                    return .failure(.nameTaken(taken.name))
                }
                try tx.setContactState(id: existing.id, .contact)
                if name != nil { try tx.renameContact(id: existing.id, to: display) }
                existing.state = .contact
                existing.name = name != nil ? display : existing.name
                return .success(existing)
            }
            if let taken = try Node.acceptedNamesake(display, except: nil, tx) { return .failure(.nameTaken(taken.name)) }
            return .success(
                try tx.insertContact(
                    signingKey: who.signingKey, agreementKey: who.agreementKey, name: display, state: .contact, now: now))
        }
        let contact = Contact(record: try record.get())
        events.publish(.contactsChanged)
        return contact
    }

    /// Finds one contact by its id (a hex prefix of its signing key, at least 4 digits) or its name.
    /// A name means an accepted contact first: a request or a blocked key that uses the same name
    /// (anyone may choose any name) never makes a name ambiguous; it is reached by its id.
    public func resolveContact(_ query: String) throws(NodeError) -> Contact {
        try Node.resolve(query, in: try contacts())
    }

    static func resolve(_ query: String, in all: [Contact]) throws(NodeError) -> Contact {
        let q = query.trimmingCharacters(in: .whitespaces).lowercased()
        if q.count >= 4, q.allSatisfy(\.isHexDigit) {
            let byID = all.filter { Hex.encode($0.record.signingKey).hasPrefix(q) }
            if byID.count == 1 { return byID[0] }
        }
        let byName = all.filter { $0.name.lowercased() == q }
        let accepted = byName.filter { $0.state == .contact }
        let found = accepted.isEmpty ? byName : accepted
        switch found.count {
        case 1: return found[0]
        case 0: throw .unknownContact(query)
        default: throw .ambiguousContact(query, candidates: found.map { "\($0.name) [\($0.id)]" })
        }
    }

    /// The accepted contact, other than `except`, named `name` (case-insensitively), if any.
    static func acceptedNamesake(_ name: String, except: Int64?, _ tx: StoreTransaction) throws -> ContactRecord? {
        let n = name.lowercased()
        return try tx.contacts().first { $0.state == .contact && $0.id != except && $0.name.lowercased() == n }
    }

    /// Accepts a message request, under `name` if given. A request whose name an accepted contact
    /// already uses needs a name of its own, so that names stay unambiguous.
    @discardableResult
    public func acceptContact(_ query: String, name: String? = nil) throws(NodeError) -> Contact {
        var c = try resolveContact(query)
        if c.state == .contact, name == nil { throw .alreadyContact(c.name) }
        let display = try name.map { n throws(NodeError) in try Profile.validateName(n) } ?? c.name
        try write { tx -> Result<Void, NodeError> in
            if let taken = try Node.acceptedNamesake(display, except: c.record.id, tx) {
                return .failure(name == nil ? .namesakeRequest(c.name, id: c.id) : .nameTaken(taken.name))
            }
            try tx.setContactState(id: c.record.id, .contact)
            if display != c.name { try tx.renameContact(id: c.record.id, to: display) }
            return .success(())
        }.get()
        c.record.state = .contact
        c.record.name = display
        events.publish(.contactsChanged)
        return c
    }

    @discardableResult
    public func setContactState(_ query: String, _ state: ContactRecord.State) throws(NodeError) -> Contact {
        if state == .contact { return try acceptContact(query) }
        var c = try resolveContact(query)
        try write { tx in try tx.setContactState(id: c.record.id, state) }
        c.record.state = state
        events.publish(.contactsChanged)
        return c
    }

    /// Unblocks a blocked key: it becomes a contact again if this node ever wrote to it, else a
    /// request (blocking a stranger and unblocking it does not make it a contact).
    @discardableResult
    public func unblockContact(_ query: String) throws(NodeError) -> Contact {
        var c = try resolveContact(query)
        guard c.state == .blocked else { throw .invalidArgument("'\(c.name)' [\(c.id)] is not blocked") }
        let id = c.record.id
        let state = try write { tx -> ContactRecord.State in
            let wrote = try tx.hasOutgoingMessages(contactId: id)
            let clash = try Node.acceptedNamesake(c.name, except: id, tx) != nil
            let state: ContactRecord.State = wrote && !clash ? .contact : .request
            try tx.setContactState(id: id, state)
            return state
        }
        c.record.state = state
        events.publish(.contactsChanged)
        return c
    }

    /// Removes a contact or request with its conversation: its messages, the files it sent, and
    /// this node's own bundles queued for it. Returns how many messages went.
    @discardableResult
    public func removeContact(_ query: String) throws(NodeError) -> (contact: Contact, messages: Int) {
        let c = try resolveContact(query)
        let (n, files) = try write { tx in try tx.deleteContact(id: c.record.id) }
        let dir = profile.filesDirectory
        for f in files where f.hasPrefix(dir + "/") { unlink(f) }
        events.publish(.contactsChanged)
        return (c, n)
    }

    @discardableResult
    public func renameContact(_ query: String, to name: String) throws(NodeError) -> Contact {
        var c = try resolveContact(query)
        let n = try Profile.validateName(name)
        try write { tx -> Result<Void, NodeError> in
            if c.state == .contact, let taken = try Node.acceptedNamesake(n, except: c.record.id, tx) {
                return .failure(.nameTaken(taken.name))
            }
            try tx.renameContact(id: c.record.id, to: n)
            return .success(())
        }.get()
        c.record.name = n
        events.publish(.contactsChanged)
        return c
    }

    /// The tag under which `recipient` expects bundles from this node created on `day`.
    func outgoingTag(to recipient: ContactRecord, day: UInt32) throws(NodeError) -> [UInt8] {
        guard recipient.heardFrom else {
            return RecipientTags.intro(recipientAgreementKey: recipient.agreementKey, day: day)
        }
        do {
            let key = try RecipientTags.pairKey(
                me: identity, peerSigningKey: recipient.signingKey, peerAgreementKey: recipient.agreementKey)
            return RecipientTags.pair(pairKey: key, recipientSigningKey: recipient.signingKey, day: day)
        } catch { throw .crypto(error) }
    }
}

extension Node {
    /// Every recipient tag under which bundles for this node may travel on `days`: the intro tag
    /// and, per contact that is not blocked, the pair tag addressed here. What a relay is asked for.
    public func incomingTags(days: ClosedRange<UInt32>) throws(NodeError) -> [[UInt8]] {
        let contacts = try read { tx in try tx.contacts() }.filter { $0.state != .blocked }
        let keys = contacts.compactMap {
            try? RecipientTags.pairKey(me: identity, peerSigningKey: $0.signingKey, peerAgreementKey: $0.agreementKey)
        }
        var tags: [[UInt8]] = []
        // Newest day first: a list cut short loses the oldest days.
        for day in days.reversed() {
            tags.append(RecipientTags.intro(recipientAgreementKey: identity.agreement.publicKey, day: day))
            for k in keys {
                tags.append(RecipientTags.pair(pairKey: k, recipientSigningKey: identity.signing.publicKey, day: day))
            }
        }
        return tags
    }
}
