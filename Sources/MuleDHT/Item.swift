import MuleCrypto

/// A BEP 44 item: an immutable value addressed by its SHA-1, or a mutable one addressed by
/// SHA-1(public key ‖ salt) and signed with Ed25519 over `salt`, `seq` and `v` as bencoded bytes.
public struct DHTItem: Equatable, Sendable {
    /// The bencoded value, exactly as signed and sent (at most 1000 bytes).
    public var value: [UInt8]
    public var mutable: Mutable?

    public struct Mutable: Equatable, Sendable {
        public var publicKey: [UInt8]
        public var salt: [UInt8]
        public var sequence: Int64
        public var signature: [UInt8]
    }

    public static let maxValue = 1000
    public static let maxSalt = 64

    public init(immutable value: [UInt8]) {
        self.value = value
        self.mutable = nil
    }

    public init(value: [UInt8], mutable: Mutable) {
        self.value = value
        self.mutable = mutable
    }

    /// Signs a mutable item.
    public static func signed(value: [UInt8], key: SigningKey, salt: [UInt8], sequence: Int64) -> DHTItem {
        let sig = key.sign(signatureBuffer(salt: salt, sequence: sequence, value: value))
        return DHTItem(
            value: value, mutable: Mutable(publicKey: key.publicKey, salt: salt, sequence: sequence, signature: sig))
    }

    public var target: NodeID {
        if let m = mutable { return DHTItem.mutableTarget(publicKey: m.publicKey, salt: m.salt) }
        return NodeID(SHA1.hash(value))!
    }

    public static func mutableTarget(publicKey: [UInt8], salt: [UInt8]) -> NodeID { NodeID(SHA1.hash(publicKey, salt))! }

    /// BEP 44: `4:salt<len>:<salt>` (only if the salt is not empty) `3:seqi<seq>e1:v<value>`.
    public static func signatureBuffer(salt: [UInt8], sequence: Int64, value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        if !salt.isEmpty {
            out += Array("4:salt".utf8)
            BValue.bytes(salt).encode(into: &out)
        }
        out += Array("3:seqi\(sequence)e1:v".utf8)
        out += value
        return out
    }

    /// Checks sizes, and for a mutable item the signature over the bytes as received.
    public func validate() throws(DHTError) {
        guard value.count <= DHTItem.maxValue else { throw .invalidItem("value of \(value.count) bytes") }
        guard let m = mutable else { return }
        guard m.publicKey.count == 32 else { throw .invalidItem("public key of \(m.publicKey.count) bytes") }
        guard m.salt.count <= DHTItem.maxSalt else { throw .invalidItem("salt of \(m.salt.count) bytes") }
        guard m.sequence >= 0 else { throw .invalidItem("negative sequence number") }
        let buffer = DHTItem.signatureBuffer(salt: m.salt, sequence: m.sequence, value: value)
        guard SigningKey.verify(signature: m.signature, message: buffer, publicKey: m.publicKey) else {
            throw .invalidItem("signature does not verify")
        }
    }
}
