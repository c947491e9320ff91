import CSodium

/// An X25519 key pair for key agreement: the long-term encryption key of an identity, or a
/// one-time ephemeral key of a sealed envelope.
public struct AgreementKey: Sendable {
    public let publicKey: [UInt8]
    let secret: SecretBytes

    public static let length = 32

    public static func generate() -> AgreementKey {
        var pk = [UInt8](repeating: 0, count: length)
        let sk = SecretBytes(count: length) { buf in
            _ = crypto_box_keypair(&pk, buf.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return AgreementKey(publicKey: pk, secret: sk)
    }

    public init(secretKey: [UInt8]) throws(CryptoError) {
        try Sodium.ensureReady()
        guard secretKey.count == AgreementKey.length else { throw .invalidKey("X25519 secret key must be 32 bytes") }
        var pk = [UInt8](repeating: 0, count: AgreementKey.length)
        _ = secretKey.withUnsafeBufferPointer { crypto_scalarmult_base(&pk, $0.baseAddress!) }
        self.init(publicKey: pk, secret: SecretBytes(copying: secretKey))
    }

    init(publicKey: [UInt8], secret: SecretBytes) {
        self.publicKey = publicKey
        self.secret = secret
    }

    public var secretKeyBytes: [UInt8] { secret.exportBytes() }

    /// X25519 with a peer's public key; rejects low-order points (an all-zero shared secret).
    public func sharedSecret(with peer: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard peer.count == AgreementKey.length else { throw .invalidKey("X25519 public key must be 32 bytes") }
        var rc: Int32 = 0
        let out = SecretBytes(count: AgreementKey.length) { buf in
            secret.withUnsafeBytes { sk in
                rc = crypto_scalarmult(
                    buf.baseAddress!.assumingMemoryBound(to: UInt8.self),
                    sk.baseAddress!.assumingMemoryBound(to: UInt8.self), peer)
            }
        }
        guard rc == 0 else { throw .invalidKey("X25519 public key is a low-order point") }
        return out
    }
}
