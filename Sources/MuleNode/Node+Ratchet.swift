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

    /// This node's prekey ring in `tx`, made, rotated and pruned on schedule (stored if that changed
    /// it), and how many prekeys were deleted.
    func prekeyRing(_ tx: StoreTransaction, now: Int64) throws -> (ring: PrekeyRing, deleted: Int) {
        var ring = try tx.prekeyRing().map { try PrekeyRing.decode($0) } ?? PrekeyRing()
        let t = UInt64(max(now, 0))
        let deleted = ring.deleteExpired(now: t)
        if ring.rotate(now: t, signer: identity.signing) || deleted > 0 { try tx.setPrekeyRing(ring.encode()) }
        return (ring, deleted)
    }

    /// The prekey invites carry: rotated on schedule when the store can be written (a write only
    /// when one is due); nil when none can be made (a read-only store that has none yet).
    public func currentPrekey() -> SignedPrekey? {
        let now = UInt64(max(clock(), 0))
        let stored = ((try? read { tx in try tx.prekeyRing() }) ?? nil).flatMap { try? PrekeyRing.decode($0) }
        if let stored, let next = stored.nextChange, next > now { return stored.current }
        if !store.isReadOnly, let r = try? write({ tx in try prekeyRing(tx, now: Int64(now)) }) { return r.ring.current }
        return stored?.current.flatMap { $0.usable(now: now) ? $0 : nil }
    }

    /// The session to seal with for `c`, or nil while `c` gets version 1. Version 2 once the contact
    /// sent version 2, gave a prekey, or a session exists, and for everyone once version-1 sealing
    /// has ended. The current session, or a new one started from the contact's prekey (when it is
    /// signed by the contact and still valid) or, failing that, its identity key.
    func sendingSession(for c: ContactRecord, tx: StoreTransaction, now: Int64) throws -> (StoredSession, RatchetSession)? {
        let sessions = try tx.ratchetSessions(contactId: c.id)
        guard c.v2Since != nil || c.prekey != nil || now >= Node.version1SealingEndsMs || !sessions.isEmpty else {
            return nil
        }
        if let s = sessions.first(where: \.current) {
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

    /// The sessions an import transaction read and changed: each is read and decoded once, and
    /// written back once at the end (`flush`), however many messages of the batch it opened.
    struct SessionBatch {
        struct Entry {
            var stored: StoredSession
            var session: RatchetSession
            var dirty = false
            /// Started by a message of this batch (not stored yet).
            var isNew = false
        }

        private var byContact: [Int64: [Entry]] = [:]
        /// The earliest creation time of a version-2 message per contact in this batch.
        var firstVersion2: [Int64: Int64] = [:]

        /// The sessions with `contactId`, the current one first, then the most recently used.
        mutating func entries(_ contactId: Int64, tx: StoreTransaction) throws -> [Entry] {
            if let e = byContact[contactId] { return e }
            let e = try tx.ratchetSessions(contactId: contactId).map {
                Entry(stored: $0, session: try RatchetSession.decode($0.state))
            }
            byContact[contactId] = e
            return e
        }

        mutating func set(_ contactId: Int64, _ entries: [Entry]) { byContact[contactId] = entries }

        /// Writes back what changed.
        func flush(tx: StoreTransaction) throws {
            for e in byContact.values.joined() where e.dirty {
                try tx.save(Node.updated(e.stored, e.session, now: e.stored.usedAt), demoteOthers: e.isNew)
            }
            for (id, creation) in firstVersion2 { try tx.noteVersion2(id: id, creation: creation) }
        }
    }

    /// A version-2 message opened, with the session state to keep once it is accepted.
    struct OpenedVersion2 {
        var content: MessageContent
        var session: RatchetSession
        /// The index of the session it opened in among the sender's; nil for a session its header started.
        var entry: Int?
        var droppedKeys: Int
    }

    /// Opens the inner layer of a version-2 message with the session its header names (a start)
    /// or, failing that, each session with the sender in turn. A start of an unknown session
    /// begins one, with the prekey it names. Nothing is changed here.
    func openVersion2(
        _ outer: SealerV2.Outer, dropHash: [UInt8], sender: ContactRecord?, expiresAt: Int64, tx: StoreTransaction,
        now: Int64, batch: inout SessionBatch
    ) throws -> OpenedVersion2 {
        // A key kept for a missing message lives as long as the bundle that made it skip, and a grace.
        let limits = RatchetSession.Limits(
            maxSkipPerMessage: keyLimits.perMessage, maxSkipped: keyLimits.perSession,
            skippedLifetimeMs: UInt64(max(expiresAt - now, 0)) + Node.keyGraceMs)
        let entries = try sender.map { try batch.entries($0.id, tx: tx) } ?? []
        let t = UInt64(max(now, 0))
        func open(_ entry: Int?, _ session: RatchetSession) throws(CryptoError) -> OpenedVersion2 {
            var s = session
            let r = try SealerV2.openInner(outer, dropHash: dropHash, as: identity, session: &s, now: t, limits: limits)
            return OpenedVersion2(content: r.content, session: s, entry: entry, droppedKeys: r.droppedSkippedKeys)
        }
        if let start = outer.header.start {
            let id = RatchetSession.id(of: start)
            if let k = entries.firstIndex(where: { $0.stored.id == id }) { return try open(k, entries[k].session) }
            var prekey: AgreementKey?
            if let pid = start.prekeyID {
                guard let k = try prekeyRing(tx, now: now).ring.key(id: pid) else { throw CryptoError.prekeyDeleted(pid) }
                prekey = k
            }
            let session = try RatchetSession.respond(
                identity: identity.agreement, prekey: prekey, theirIdentity: outer.senderAgreementKey, start: start)
            return try open(nil, session)
        }
        var failure = CryptoError.cannotDecrypt
        for (k, entry) in entries.enumerated() {
            do throws(CryptoError) {
                return try open(k, entry.session)
            } catch {
                if case .skipLimit = error { failure = error }
            }
        }
        throw failure
    }

    /// Keeps the session a message from `sender` opened in (written at the batch's end). A session
    /// the sender just started becomes the one this node seals with, unless this node's own start
    /// is still unanswered and this node's identity key is the lower: then both sides keep the
    /// lower key's session.
    func keep(
        _ opened: OpenedVersion2, sender: ContactRecord, creation: Int64, tx: StoreTransaction, now: Int64,
        batch: inout SessionBatch
    ) throws {
        var entries = try batch.entries(sender.id, tx: tx)
        batch.firstVersion2[sender.id] = min(batch.firstVersion2[sender.id] ?? creation, creation)
        if let k = opened.entry {
            entries[k].session = opened.session
            entries[k].stored.usedAt = now
            entries[k].dirty = true
        } else {
            var current = true
            if let mine = entries.first(where: \.stored.current), mine.session.initiator, !mine.session.heardFromPeer,
                identity.agreement.publicKey.lexicographicallyPrecedes(sender.agreementKey)
            {
                current = false
            }
            if current {
                for k in entries.indices where entries[k].stored.current {
                    entries[k].stored.current = false
                    entries[k].dirty = true
                }
            }
            let stored = StoredSession(
                id: opened.session.id, contactId: sender.id, state: [], current: current, usedAt: now, nextDeadline: nil)
            entries.insert(
                SessionBatch.Entry(stored: stored, session: opened.session, dirty: true, isNew: true),
                at: current ? 0 : entries.count)
        }
        batch.set(sender.id, entries)
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
            n += try prekeyRing(tx, now: now).deleted
            return n
        }
        try? store.truncateLog()
        return deleted
    }
}
