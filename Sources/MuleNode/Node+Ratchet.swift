import Foundation
import MuleCrypto
import MuleStore
import MuleWire

/// Envelope version 2 on a node (Docs/PROTOCOL.md §13): the prekey ring, the ratchet session with
/// each contact, and the transition from version 1.
extension Node {
    /// Version 1 is sealed only to contacts not known to read version 2, and only until
    /// 2027-03-01T00:00Z; from then on every message is sealed in version 2.
    public static let version1SealingEndsMs: Int64 = 1_803_859_200_000
    /// Version-1 messages are opened until 2028-03-01T00:00Z, when the last ones sealed, with the
    /// longest lifetime (364 days), have expired.
    public static let version1OpeningEndsMs: Int64 = 1_835_481_600_000
    /// How long past a bundle's expiry a key that could open it is kept, for clocks that differ.
    public static let keyGraceMs: UInt64 = 86_400_000
    /// A session that is not current is deleted this long after it last opened or sealed a message:
    /// by then every bundle it sealed has expired.
    public static let idleSessionMs = Int64(MuleBundle.maxLifetimeMs + keyGraceMs)

    /// This node's prekey ring in `tx`, made, rotated and pruned on schedule.
    func prekeyRing(_ tx: StoreTransaction, now: Int64) throws -> PrekeyRing {
        var ring = try tx.prekeyRing().map { try PrekeyRing.decode($0) } ?? PrekeyRing()
        let (id, count) = (ring.current?.id, ring.count)
        ring.rotate(now: UInt64(max(now, 0)), signer: identity.signing)
        if ring.current?.id != id || ring.count != count { try tx.setPrekeyRing(ring.encode()) }
        return ring
    }

    /// The prekey invites carry: rotated on schedule when the store can be written; nil when none
    /// can be made (a read-only store that has none yet).
    public func currentPrekey() -> SignedPrekey? {
        let now = clock()
        if !store.isReadOnly, let ring = try? write({ tx in try prekeyRing(tx, now: now) }) { return ring.current }
        let stored = (try? read { tx in try tx.prekeyRing() }) ?? nil
        return stored.flatMap { try? PrekeyRing.decode($0) }?.current.flatMap { $0.usable(now: UInt64(max(now, 0))) ? $0 : nil }
    }

    /// Whether messages to `c` are sealed in version 2: once it sent version 2, gave a prekey, or
    /// started a session, and for everyone once version-1 sealing has ended.
    func sealsVersion2(_ c: ContactRecord, tx: StoreTransaction, now: Int64) throws -> Bool {
        if c.v2Since != nil || c.prekey != nil || now >= Node.version1SealingEndsMs { return true }
        return try !tx.ratchetSessions(contactId: c.id).isEmpty
    }

    /// The session to seal with for `c`: the current one, or a new one started from the contact's
    /// prekey (when it is signed by the contact and still valid) or, failing that, its identity key.
    func sendingSession(for c: ContactRecord, tx: StoreTransaction, now: Int64) throws -> (StoredSession, RatchetSession) {
        if let s = try tx.ratchetSessions(contactId: c.id).first(where: \.current) {
            return (s, try RatchetSession.decode(s.state))
        }
        var prekey: (id: UInt32, key: [UInt8])?
        if let bytes = c.prekey, let p = try? SignedPrekey.decode(bytes), p.usable(now: UInt64(max(now, 0))),
            p.verify(signingKey: c.signingKey)
        {
            prekey = (p.id, p.publicKey)
        }
        let session = try RatchetSession.initiate(
            identity: identity.agreement, theirIdentity: c.agreementKey, theirPrekey: prekey)
        return (StoredSession(id: session.id, contactId: c.id, state: [], current: true, usedAt: now, nextDeadline: nil), session)
    }

    /// `s` with `session`'s state, used now.
    static func updated(_ s: StoredSession, _ session: RatchetSession, now: Int64) -> StoredSession {
        var s = s
        s.state = session.encode()
        s.usedAt = now
        s.nextDeadline = session.nextSkippedDeadline.map { Int64(clamping: $0) }
        return s
    }

    /// A version-2 message opened, with the session state to store once it is accepted.
    struct OpenedVersion2 {
        var content: MessageContent
        var session: RatchetSession
        /// The stored session it opened in; nil for a session its header started.
        var stored: StoredSession?
        var droppedKeys: Int
    }

    /// Opens the inner layer of a version-2 message with the session its header names (a start)
    /// or, failing that, each session with the sender in turn. A start of an unknown session
    /// begins one, with the prekey it names. Nothing is stored here.
    func openVersion2(
        _ outer: SealerV2.Outer, dropHash: [UInt8], sender: ContactRecord?, expiresAt: Int64, tx: StoreTransaction,
        now: Int64
    ) throws -> OpenedVersion2 {
        // A key kept for a missing message lives as long as the bundle that made it skip, and a grace.
        let limits = RatchetSession.Limits(
            maxSkipPerMessage: keyLimits.perMessage, maxSkipped: keyLimits.perSession,
            skippedLifetimeMs: UInt64(max(expiresAt - now, 0)) + Node.keyGraceMs)
        let sessions = try sender.map { try tx.ratchetSessions(contactId: $0.id) } ?? []
        let t = UInt64(max(now, 0))
        func open(_ stored: StoredSession?, _ session: RatchetSession) throws(CryptoError) -> OpenedVersion2 {
            var s = session
            let r = try SealerV2.openInner(outer, dropHash: dropHash, as: identity, session: &s, now: t, limits: limits)
            return OpenedVersion2(content: r.content, session: s, stored: stored, droppedKeys: r.droppedSkippedKeys)
        }
        if let start = outer.header.start {
            let id = RatchetSession.id(of: start)
            if let s = sessions.first(where: { $0.id == id }) { return try open(s, try RatchetSession.decode(s.state)) }
            var prekey: AgreementKey?
            if let pid = start.prekeyID {
                guard let k = try prekeyRing(tx, now: now).key(id: pid) else { throw CryptoError.prekeyDeleted(pid) }
                prekey = k
            }
            let session = try RatchetSession.respond(
                identity: identity.agreement, prekey: prekey, theirIdentity: outer.senderAgreementKey, start: start)
            return try open(nil, session)
        }
        var failure = CryptoError.cannotDecrypt
        for s in sessions {
            do { return try open(s, try RatchetSession.decode(s.state)) } catch let e as CryptoError {
                if case .skipLimit = e { failure = e }
            }
        }
        throw failure
    }

    /// Stores the session a message from `sender` opened in. A session the sender just started
    /// becomes the one this node seals with, unless this node's own start is still unanswered
    /// and this node's identity key is the lower: then both sides keep the lower key's session.
    func keep(_ opened: OpenedVersion2, sender: ContactRecord, tx: StoreTransaction, now: Int64) throws {
        if let s = opened.stored {
            try tx.save(Node.updated(s, opened.session, now: now))
            return
        }
        var current = true
        if let mine = try tx.ratchetSessions(contactId: sender.id).first(where: \.current),
            let session = try? RatchetSession.decode(mine.state), session.initiator, !session.heardFromPeer,
            identity.agreement.publicKey.lexicographicallyPrecedes(sender.agreementKey)
        {
            current = false
        }
        let fresh = StoredSession(
            id: opened.session.id, contactId: sender.id, state: [], current: current, usedAt: now, nextDeadline: nil)
        try tx.save(Node.updated(fresh, opened.session, now: now))
    }

    /// Deletes key material whose time has come: skipped keys past their deadline, sessions idle
    /// for longer than any bundle lives, prekeys past their retention (and makes a new prekey when
    /// one is due). Then the write-ahead log is truncated so no older copy of a deleted key stays
    /// in the profile. Returns how many keys and sessions were deleted. A read-only store is left alone.
    @discardableResult
    public func maintainKeys() throws(NodeError) -> Int {
        guard !store.isReadOnly else { return 0 }
        let now = clock()
        let due = try read { tx in
            try tx.keysDue(now: now, idleBefore: now - Node.idleSessionMs)
                || (try tx.prekeyRing().flatMap { try? PrekeyRing.decode($0) }?.nextChange).map { $0 <= UInt64(max(now, 0)) }
                    ?? true
        }
        guard due else {
            if store.logBytes > 0 { try? store.truncateLog() }
            return 0
        }
        let deleted = try write { tx -> Int in
            var n = 0
            for s in try tx.ratchetSessions(deadlineBy: now) {
                var session = try RatchetSession.decode(s.state)
                n += session.expire(now: UInt64(max(now, 0)))
                try tx.save(Node.updated(s, session, now: s.usedAt))
            }
            n += try tx.deleteIdleSessions(usedBefore: now - Node.idleSessionMs)
            var ring = try tx.prekeyRing().map { try PrekeyRing.decode($0) } ?? PrekeyRing()
            let gone = ring.deleteExpired(now: UInt64(max(now, 0)))
            if ring.rotate(now: UInt64(max(now, 0)), signer: identity.signing) || gone > 0 {
                try tx.setPrekeyRing(ring.encode())
            }
            n += gone
            return n
        }
        try? store.truncateLog()
        return deleted
    }
}
