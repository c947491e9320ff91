import MuleWire

/// One direction-pair of envelope v2's double ratchet between two identities (Docs/PROTOCOL.md
/// §13): a pure state machine, with no clock, storage or I/O of its own.
///
/// - Forward secrecy: each message has its own key, derived from a chain that only moves forward;
///   the key is gone once the message opened. A key kept for a message that has not come yet (a
///   *skipped* key) is kept until a deadline the caller sets (the bundle lifetime and a grace),
///   and there are never more than `Limits.maxSkipped` of them.
/// - Post-compromise security: every time the sender hears from its peer it starts a new sending
///   chain from a fresh X25519 key, mixed into a root key that an attacker who copied an older
///   state cannot follow.
/// - Delay tolerance: messages may come in any order, twice, or never. Opening works on a copy
///   of the state and keeps it only when the message authenticated, so a forged, replayed or
///   hopelessly late message changes nothing.
public struct RatchetSession: Sendable {
    /// Bounds on the state kept for messages that have not arrived.
    public struct Limits: Sendable, Equatable {
        /// Most message keys a single header may make the receiver skip (derive and keep).
        public var maxSkipPerMessage: Int
        /// Most skipped keys kept in total; past it the oldest are dropped, and reported.
        public var maxSkipped: Int
        /// How long a skipped key is kept, in milliseconds.
        public var skippedLifetimeMs: UInt64

        public init(maxSkipPerMessage: Int = 2_000, maxSkipped: Int = 5_000, skippedLifetimeMs: UInt64) {
            self.maxSkipPerMessage = maxSkipPerMessage
            self.maxSkipped = maxSkipped
            self.skippedLifetimeMs = skippedLifetimeMs
        }
    }

    struct Chain: Sendable {
        var key: SecretBytes
        var index: UInt32
    }

    /// A message key kept for a message that has not arrived yet.
    struct Skipped: Sendable {
        var ratchetKey: [UInt8]
        var index: UInt32
        var key: SecretBytes
        var deadline: UInt64
    }

    /// What opening did besides returning the plaintext.
    public struct Opened: Sendable {
        public var plaintext: [UInt8]
        /// Skipped keys dropped by this message because the bound was reached: messages that can
        /// no longer be opened if they ever arrive.
        public var droppedSkippedKeys: Int
    }

    /// Identifies the session on both sides: BLAKE2b-128("mule-v2-session" || start key).
    public let id: [UInt8]
    var root: SecretBytes
    var ours: AgreementKey
    var theirs: [UInt8]?
    var sending: Chain?
    var previousCount: UInt32 = 0
    var receiving: Chain?
    var skipped: [Skipped] = []
    /// Sent in every header until the peer is heard from in this session.
    public private(set) var start: RatchetHeader.Start?
    /// True on the side that started the session.
    public let initiator: Bool

    /// Message keys kept for messages that have not arrived.
    public var skippedCount: Int { skipped.count }
    /// Whether the peer has been heard from in this session.
    public var heardFromPeer: Bool { receiving != nil }
    /// The earliest deadline among the skipped keys, if any are kept.
    public var nextSkippedDeadline: UInt64? { skipped.lazy.map(\.deadline).min() }
    /// The id of the session a header's `start` begins.
    public static func id(of start: RatchetHeader.Start) -> [UInt8] { sessionID(start.ephemeralKey) }

    // MARK: Starting

    /// The shared secret of a session start: `BLAKE2b-256("mule-v2-start" || IK_i || IK_r || E ||
    /// P || dh1 || dh2 [|| dh3])` where, with a prekey P, dh1 = X25519(IK_i, P),
    /// dh2 = X25519(E, IK_r), dh3 = X25519(E, P), and without one dh1 = X25519(IK_i, IK_r),
    /// dh2 = X25519(E, IK_r).
    static func startSecret(
        initiatorIdentity: [UInt8], responderIdentity: [UInt8], ephemeral: [UInt8], prekey: [UInt8]?, dh: [SecretBytes]
    ) -> SecretBytes {
        RatchetKDF.hash(
            outputLength: 32, key: nil,
            parts: [RatchetKDF.startLabel, initiatorIdentity, responderIdentity, ephemeral, prekey ?? []], secretParts: dh)
    }

    static func sessionID(_ ephemeral: [UInt8]) -> [UInt8] {
        RatchetKDF.hash(outputLength: 16, key: nil, RatchetKDF.sessionLabel, ephemeral).exportBytes()
    }

    /// Starts a session to someone known by identity key and, when known, a current prekey
    /// (`id`, public key). Works offline: the first message can be sent at once.
    public static func initiate(
        identity: AgreementKey, theirIdentity: [UInt8], theirPrekey: (id: UInt32, key: [UInt8])?
    ) throws(CryptoError) -> RatchetSession {
        let e = AgreementKey.generate()
        var dh: [SecretBytes]
        if let p = theirPrekey {
            dh = [
                try identity.sharedSecret(with: p.key), try e.sharedSecret(with: theirIdentity), try e.sharedSecret(with: p.key),
            ]
        } else {
            dh = [try identity.sharedSecret(with: theirIdentity), try e.sharedSecret(with: theirIdentity)]
        }
        let sk = startSecret(
            initiatorIdentity: identity.publicKey, responderIdentity: theirIdentity, ephemeral: e.publicKey,
            prekey: theirPrekey?.key, dh: dh)
        dh.removeAll()
        // The responder's first ratchet key is its prekey (or identity key); ours is fresh.
        let remote = theirPrekey?.key ?? theirIdentity
        let ours = AgreementKey.generate()
        let (root, chain) = RatchetKDF.root(sk, try ours.sharedSecret(with: remote))
        var s = RatchetSession(
            id: sessionID(e.publicKey), root: root, ours: ours, initiator: true,
            start: RatchetHeader.Start(ephemeralKey: e.publicKey, prekeyID: theirPrekey?.id))
        s.theirs = remote
        s.sending = Chain(key: chain, index: 0)
        return s
    }

    /// The responder's side of a start read from a header: `prekey` is the key pair the header's
    /// prekey id names (nil when it names none). Open the message with the returned session.
    public static func respond(
        identity: AgreementKey, prekey: AgreementKey?, theirIdentity: [UInt8], start: RatchetHeader.Start
    ) throws(CryptoError) -> RatchetSession {
        var dh: [SecretBytes]
        if let p = prekey {
            dh = [
                try p.sharedSecret(with: theirIdentity), try identity.sharedSecret(with: start.ephemeralKey),
                try p.sharedSecret(with: start.ephemeralKey),
            ]
        } else {
            dh = [try identity.sharedSecret(with: theirIdentity), try identity.sharedSecret(with: start.ephemeralKey)]
        }
        let sk = startSecret(
            initiatorIdentity: theirIdentity, responderIdentity: identity.publicKey, ephemeral: start.ephemeralKey,
            prekey: prekey?.publicKey, dh: dh)
        dh.removeAll()
        // A copy of the prekey: the session replaces it with a fresh key at its first step.
        let ours = prekey ?? identity
        return RatchetSession(id: sessionID(start.ephemeralKey), root: sk, ours: ours, initiator: false, start: nil)
    }

    init(id: [UInt8], root: SecretBytes, ours: AgreementKey, initiator: Bool, start: RatchetHeader.Start?) {
        self.id = id
        self.root = root
        self.ours = ours
        self.initiator = initiator
        self.start = start
    }

    // MARK: Sealing and opening

    static let nonce = [UInt8](repeating: 0, count: 24)

    /// The AEAD's associated data: the caller's (which binds the bundle's outer fields) followed by
    /// the encoded header.
    static func associatedData(_ ad: [UInt8], _ header: [UInt8]) -> [UInt8] { ad + header }

    /// Encrypts `plaintext` under the next sending key. Returns the encoded header and the
    /// ciphertext (XChaCha20-Poly1305, zero nonce: every key is used once).
    public mutating func seal(_ plaintext: [UInt8], ad: [UInt8]) throws(CryptoError) -> (header: [UInt8], ciphertext: [UInt8]) {
        guard let chain = sending else { throw .invalidKey("this session has no sending chain yet") }
        guard chain.index < UInt32.max else { throw .invalidKey("sending chain exhausted") }
        let (next, mk) = RatchetKDF.chain(chain.key)
        let header = RatchetHeader(ratchetKey: ours.publicKey, previousCount: previousCount, index: chain.index, start: start)
            .encode()
        sending = Chain(key: next, index: chain.index + 1)
        return (header, Sodium.aeadSeal(plaintext, ad: Self.associatedData(ad, header), nonce: Self.nonce, key: mk))
    }

    /// Opens a message of this session. On any failure the state is unchanged: a forged or
    /// replayed message, or one whose key was already used, dropped or expired, is `.cannotDecrypt`;
    /// a header that would skip more than `maxSkipPerMessage` keys is `.skipLimit`.
    public mutating func open(
        header encodedHeader: [UInt8], ciphertext: [UInt8], ad: [UInt8], now: UInt64, limits: Limits
    ) throws(CryptoError) -> Opened {
        let header: RatchetHeader
        do { header = try RatchetHeader.decode(encodedHeader) } catch { throw .malformed(error) }
        let fullAD = Self.associatedData(ad, encodedHeader)
        var s = self
        var dropped = 0
        let plaintext: [UInt8]
        if let k = s.skipped.firstIndex(where: { $0.index == header.index && $0.ratchetKey == header.ratchetKey }) {
            plaintext = try Sodium.aeadOpen(ciphertext, ad: fullAD, nonce: Self.nonce, key: s.skipped[k].key)
            s.skipped.remove(at: k)
        } else {
            if header.ratchetKey != s.theirs || s.receiving == nil {
                if s.receiving != nil { dropped += try s.skip(to: header.previousCount, now: now, limits: limits) }
                try s.step(to: header.ratchetKey)
            }
            dropped += try s.skip(to: header.index, now: now, limits: limits)
            guard let chain = s.receiving, chain.index == header.index else { throw .cannotDecrypt }
            let (next, mk) = RatchetKDF.chain(chain.key)
            plaintext = try Sodium.aeadOpen(ciphertext, ad: fullAD, nonce: Self.nonce, key: mk)
            s.receiving = Chain(key: next, index: chain.index + 1)
        }
        s.start = nil
        self = s
        return Opened(plaintext: plaintext, droppedSkippedKeys: dropped)
    }

    /// Derives and keeps the receiving chain's keys up to (not including) `index`. Returns how
    /// many old skipped keys the bound pushed out.
    mutating func skip(to index: UInt32, now: UInt64, limits: Limits) throws(CryptoError) -> Int {
        guard var chain = receiving, chain.index < index else { return 0 }
        guard Int(index - chain.index) <= limits.maxSkipPerMessage else { throw .skipLimit(Int(index - chain.index)) }
        let theirs = self.theirs ?? []
        while chain.index < index {
            let (next, mk) = RatchetKDF.chain(chain.key)
            skipped.append(Skipped(ratchetKey: theirs, index: chain.index, key: mk, deadline: now + limits.skippedLifetimeMs))
            chain = Chain(key: next, index: chain.index + 1)
        }
        receiving = chain
        let over = skipped.count - limits.maxSkipped
        guard over > 0 else { return 0 }
        skipped.removeFirst(over)
        return over
    }

    /// A DH ratchet step on a new key of the peer: a receiving chain from it, then a fresh key of
    /// ours and a sending chain.
    mutating func step(to remote: [UInt8]) throws(CryptoError) {
        let (r1, receive) = RatchetKDF.root(root, try ours.sharedSecret(with: remote))
        let fresh = AgreementKey.generate()
        let (r2, send) = RatchetKDF.root(r1, try fresh.sharedSecret(with: remote))
        previousCount = sending?.index ?? 0
        theirs = remote
        receiving = Chain(key: receive, index: 0)
        ours = fresh
        sending = Chain(key: send, index: 0)
        root = r2
    }

    /// Forgets skipped keys whose deadline has passed. Returns how many.
    @discardableResult
    public mutating func expire(now: UInt64) -> Int {
        let before = skipped.count
        skipped.removeAll { $0.deadline <= now }
        return before - skipped.count
    }
}
