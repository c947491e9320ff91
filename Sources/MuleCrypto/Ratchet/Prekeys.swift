import MuleWire

/// A medium-term X25519 prekey as published in invites and DHT records, signed by the identity's
/// Ed25519 key (Docs/PROTOCOL.md §13.7).
///
/// CBOR: `[id: uint, h'publicKey'(32), validUntil: uint (Unix ms), h'signature'(64)]`, the signature
/// over `"mule-prekey-v2" || u32be(id) || publicKey || u64be(validUntil)`.
public struct SignedPrekey: Equatable, Sendable {
    public var id: UInt32
    public var publicKey: [UInt8]
    public var validUntil: UInt64
    public var signature: [UInt8]

    static let label = Array("mule-prekey-v2".utf8)

    static func signedBytes(id: UInt32, publicKey: [UInt8], validUntil: UInt64) -> [UInt8] {
        var out = label
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: id >> UInt32(shift))) }
        out += publicKey
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: validUntil >> UInt64(shift))) }
        return out
    }

    /// Whether `signingKey` signed this prekey.
    public func verify(signingKey: [UInt8]) -> Bool {
        SigningKey.verify(
            signature: signature, message: Self.signedBytes(id: id, publicKey: publicKey, validUntil: validUntil),
            publicKey: signingKey)
    }

    /// Whether a sender may start a session with it at `now` (else it starts with the identity key).
    public func usable(now: UInt64) -> Bool { now < validUntil }

    public func encode() -> [UInt8] {
        var w = CBORWriter(capacity: 112)
        w.arrayHeader(4)
        w.unsigned(UInt64(id))
        w.byteString(publicKey)
        w.unsigned(validUntil)
        w.byteString(signature)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SignedPrekey {
        var r = CBORReader(bytes)
        try r.readArrayHeader(count: 4, what: "signed prekey")
        let id = try RatchetHeader.readUInt32(&r, "prekey id")
        let key = try r.readByteString(count: 32, field: "prekey")
        let validUntil = try r.readUnsigned()
        let signature = try r.readByteString(count: 64, field: "prekey signature")
        try r.expectEnd()
        return SignedPrekey(id: id, publicKey: key, validUntil: validUntil, signature: signature)
    }
}

/// This identity's prekeys: one current, published; older ones kept only as long as a message
/// started with them may still arrive, then deleted (which is what makes first messages forward
/// secret). A pure state machine: the caller passes the time and stores `encode()`.
public struct PrekeyRing: Sendable {
    /// The schedule, in milliseconds.
    public struct Schedule: Sendable, Equatable {
        /// A new prekey is made when the current one is this old.
        public var rotation: UInt64
        /// How long after its creation senders may start sessions with a prekey.
        public var validity: UInt64
        /// How long after its validity a prekey is kept: the longest lifetime of a bundle that
        /// starts a session, and a grace for clocks.
        public var retention: UInt64

        public static let day: UInt64 = 86_400_000
        /// Weekly rotation, 30 days' validity (an invite stays good for a month), kept 31 days more.
        public static let standard = Schedule(rotation: 7 * day, validity: 30 * day, retention: 31 * day)

        public init(rotation: UInt64, validity: UInt64, retention: UInt64) {
            self.rotation = rotation
            self.validity = validity
            self.retention = retention
        }
    }

    struct Entry: Sendable {
        var prekey: SignedPrekey
        var key: AgreementKey
        var createdAt: UInt64
    }

    var entries: [Entry] = []
    var nextID: UInt32 = 1
    public let schedule: Schedule

    public init(schedule: Schedule = .standard) { self.schedule = schedule }

    /// The prekey to publish, if one was made.
    public var current: SignedPrekey? { entries.last?.prekey }
    /// When `rotate` next has something to do (Unix ms): a new prekey is due or an old one goes.
    public var nextChange: UInt64? {
        guard let last = entries.last else { return nil }
        return entries.map { $0.prekey.validUntil + schedule.retention }.reduce(last.createdAt + schedule.rotation, min)
    }
    /// How many prekeys are kept (current and retired).
    public var count: Int { entries.count }

    /// The key pair a session start names, if it is still kept.
    public func key(id: UInt32) -> AgreementKey? { entries.first { $0.prekey.id == id }?.key }

    /// Makes a new prekey when there is none or the current one is due, and deletes those past
    /// their retention. Returns whether the published prekey changed.
    @discardableResult
    public mutating func rotate(now: UInt64, signer: SigningKey) -> Bool {
        deleteExpired(now: now)
        if let last = entries.last, now < last.createdAt + schedule.rotation { return false }
        let key = AgreementKey.generate()
        let id = nextID
        nextID = nextID == UInt32.max ? 1 : nextID + 1
        let validUntil = now + schedule.validity
        let signature = signer.sign(SignedPrekey.signedBytes(id: id, publicKey: key.publicKey, validUntil: validUntil))
        entries.append(
            Entry(
                prekey: SignedPrekey(id: id, publicKey: key.publicKey, validUntil: validUntil, signature: signature), key: key,
                createdAt: now))
        return true
    }

    /// Deletes the prekeys whose validity and retention have passed. Returns how many.
    @discardableResult
    public mutating func deleteExpired(now: UInt64) -> Int {
        let before = entries.count
        entries.removeAll { $0.prekey.validUntil + schedule.retention <= now }
        return before - entries.count
    }

    /// CBOR `[1, nextID, [* [h'signedPrekey', h'secret'(32), createdAt]]]`; holds secrets.
    public func encode() -> [UInt8] {
        var w = CBORWriter(capacity: 16 + entries.count * 160)
        w.arrayHeader(3)
        w.unsigned(1)
        w.unsigned(UInt64(nextID))
        w.arrayHeader(entries.count)
        for e in entries {
            w.arrayHeader(3)
            w.byteString(e.prekey.encode())
            w.byteString(e.key.secretKeyBytes)
            w.unsigned(e.createdAt)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], schedule: Schedule = .standard) throws(WireError) -> PrekeyRing {
        var r = CBORReader(bytes)
        try r.readArrayHeader(count: 3, what: "prekey ring")
        let version = try r.readUnsigned()
        guard version == 1 else { throw .unknownVersion("prekey ring", version) }
        var ring = PrekeyRing(schedule: schedule)
        ring.nextID = try RatchetHeader.readUInt32(&r, "next prekey id")
        let n = try r.readArrayHeader()
        for _ in 0..<n {
            try r.readArrayHeader(count: 3, what: "prekey")
            let prekey = try SignedPrekey.decode(try r.readByteString())
            let key: AgreementKey
            do { key = try AgreementKey(secretKey: try r.readByteString(count: 32, field: "prekey secret")) } catch {
                throw .invalidField("prekey secret")
            }
            guard key.publicKey == prekey.publicKey else { throw .invalidField("prekey secret does not match its public key") }
            ring.entries.append(Entry(prekey: prekey, key: key, createdAt: try r.readUnsigned()))
        }
        try r.expectEnd()
        return ring
    }
}
