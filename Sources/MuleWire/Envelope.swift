/// The payload of a Mule bundle: what a carrier can see of a message or a receipt.
///
/// Message: `[v, 0, dropHash(32), ephemeralKey(32), ciphertext]`, v = 1 (sealed to the recipient's
/// long-term key) or 2 (the same outer shape around a ratchet message, Docs/PROTOCOL.md §13.8)
/// Receipt: `[1, 1, [ackSecret(32), ...]]`
/// The leading number is the envelope version.
public enum Envelope: Hashable, Sendable {
    case message(MessageEnvelope)
    case receipt(ReceiptEnvelope)

    public static let version: UInt64 = 1
    /// The message envelope versions this code reads (and carries).
    public static let messageVersions: ClosedRange<UInt64> = 1...2
    public static let maxAcksPerReceipt = 1024

    public func encode() -> [UInt8] {
        switch self {
        case .message(let m):
            var w = CBORWriter(capacity: m.ciphertext.count + 90)
            w.arrayHeader(5)
            w.unsigned(m.version)
            w.unsigned(0)
            w.byteString(m.dropHash)
            w.byteString(m.ephemeralKey)
            w.byteString(m.ciphertext)
            return w.bytes
        case .receipt(let r):
            var w = CBORWriter(capacity: 8 + 34 * r.acks.count)
            w.arrayHeader(3)
            w.unsigned(Envelope.version)
            w.unsigned(1)
            w.arrayHeader(r.acks.count)
            for a in r.acks { w.byteString(a) }
            return w.bytes
        }
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> Envelope {
        var r = CBORReader(bytes)
        let count = try r.readArrayHeader()
        guard count >= 2 else { throw .invalidField("envelope has \(count) fields") }
        let version = try r.readUnsigned()
        guard Envelope.messageVersions.contains(version) else { throw .unknownVersion("envelope", version) }
        let kind = try r.readUnsigned()
        guard kind == 0 || version == Envelope.version else { throw .unknownVersion("receipt envelope", version) }
        let result: Envelope
        switch kind {
        case 0:
            guard count == 5 else { throw .invalidField("message envelope has \(count) fields") }
            let drop = try r.readByteString(count: 32, field: "drop hash")
            let epk = try r.readByteString(count: 32, field: "ephemeral key")
            let ct = try r.readByteString()
            guard ct.count >= MessageEnvelope.minimumCiphertext else {
                throw .invalidField("ciphertext of \(ct.count) bytes is shorter than the smallest padded message")
            }
            result = .message(MessageEnvelope(version: version, dropHash: drop, ephemeralKey: epk, ciphertext: ct))
        case 1:
            guard count == 3 else { throw .invalidField("receipt envelope has \(count) fields") }
            let n = try r.readArrayHeader()
            guard n >= 1, n <= maxAcksPerReceipt else { throw .invalidField("receipt holds \(n) acknowledgements") }
            var acks: [[UInt8]] = []
            acks.reserveCapacity(n)
            for _ in 0..<n { acks.append(try r.readByteString(count: 32, field: "ack secret")) }
            result = .receipt(ReceiptEnvelope(acks: acks))
        default:
            throw .invalidField("unknown envelope kind \(kind)")
        }
        try r.expectEnd()
        return result
    }
}

public struct MessageEnvelope: Hashable, Sendable {
    /// 1: sealed to the recipient's long-term key; 2: a ratchet message inside (§13.8).
    public var version: UInt64
    /// BLAKE2b of the ack secret sealed inside; a receipt that reveals the secret lets carriers drop this bundle.
    public var dropHash: [UInt8]
    /// The sender's one-time X25519 public key.
    public var ephemeralKey: [UInt8]
    /// XChaCha20-Poly1305 ciphertext of the padded plaintext, with its 16-byte tag.
    public var ciphertext: [UInt8]

    public static let minimumCiphertext = Padding.minimumSize + 16

    public init(version: UInt64 = 1, dropHash: [UInt8], ephemeralKey: [UInt8], ciphertext: [UInt8]) {
        self.version = version
        self.dropHash = dropHash
        self.ephemeralKey = ephemeralKey
        self.ciphertext = ciphertext
    }
}

public struct ReceiptEnvelope: Hashable, Sendable {
    /// Ack secrets of delivered messages, each the preimage of a message's drop hash.
    public var acks: [[UInt8]]
    public init(acks: [[UInt8]]) { self.acks = acks }
}
