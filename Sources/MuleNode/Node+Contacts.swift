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
}

extension Node {
    public func contacts() throws(NodeError) -> [Contact] {
        try read { tx in try tx.contacts() }.map(Contact.init(record:))
    }

    /// Adds a contact from an invite code. An existing request from the same key becomes a contact.
    @discardableResult
    public func addContact(invite code: String, name: String? = nil) throws(NodeError) -> Contact {
        let decoded: (identity: PublicIdentity, relays: [String])
        do { decoded = try Invite.decodeWithRelays(code) } catch { throw .invite(error) }
        var c = try addContact(decoded.identity, name: name)
        if !decoded.relays.isEmpty {
            let relays = decoded.relays.filter { Node.isRelayAddress($0) }
            try setContactRelays(c.record.id, relays)
            c.record.relays = relays
        }
        return c
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
                try tx.setContactState(id: existing.id, .contact)
                if name != nil { try tx.renameContact(id: existing.id, to: display) }
                existing.state = .contact
                existing.name = name != nil ? display : existing.name
                return .success(existing)
            }
            return .success(
                try tx.insertContact(
                    signingKey: who.signingKey, agreementKey: who.agreementKey, name: display, state: .contact, now: now))
        }
        let contact = Contact(record: try record.get())
        events.publish(.contactsChanged)
        return contact
    }

    /// Finds one contact by its id (a hex prefix of its signing key, at least 4 digits) or its name.
    public func resolveContact(_ query: String) throws(NodeError) -> Contact {
        let all = try contacts()
        let q = query.lowercased()
        if q.count >= 4, q.allSatisfy(\.isHexDigit) {
            let byID = all.filter { Hex.encode($0.record.signingKey).hasPrefix(q) }
            if byID.count == 1 { return byID[0] }
        }
        let byName = all.filter { $0.name.lowercased() == q }
        switch byName.count {
        case 1: return byName[0]
        case 0: throw .unknownContact(query)
        default: throw .ambiguousContact(query, candidates: byName.map { "\($0.name) [\($0.id)]" })
        }
    }

    @discardableResult
    public func setContactState(_ query: String, _ state: ContactRecord.State) throws(NodeError) -> Contact {
        var c = try resolveContact(query)
        try write { tx in try tx.setContactState(id: c.record.id, state) }
        c.record.state = state
        events.publish(.contactsChanged)
        return c
    }

    public func renameContact(_ query: String, to name: String) throws(NodeError) {
        let c = try resolveContact(query)
        let n = try Profile.validateName(name)
        try write { tx in try tx.renameContact(id: c.record.id, to: n) }
        events.publish(.contactsChanged)
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
