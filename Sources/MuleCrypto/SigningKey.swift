import CSodium

/// An Ed25519 key pair: the long-term identity key that signs what a node seals.
public struct SigningKey: Sendable {
    public let publicKey: [UInt8]
    let secret: SecretBytes

    public static let publicKeyLength = 32
    public static let secretKeyLength = 64
    public static let signatureLength = 64

    public static func generate() -> SigningKey {
        var pk = [UInt8](repeating: 0, count: publicKeyLength)
        let sk = SecretBytes(count: secretKeyLength) { buf in
            _ = crypto_sign_keypair(&pk, buf.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return SigningKey(publicKey: pk, secret: sk)
    }

    /// Restores from the 64-byte libsodium secret key (seed followed by public key).
    public init(secretKey: [UInt8]) throws(CryptoError) {
        try Sodium.ensureReady()
        guard secretKey.count == SigningKey.secretKeyLength else { throw .invalidKey("Ed25519 secret key must be 64 bytes") }
        var pk = [UInt8](repeating: 0, count: SigningKey.publicKeyLength)
        _ = secretKey.withUnsafeBufferPointer { crypto_sign_ed25519_sk_to_pk(&pk, $0.baseAddress!) }
        var check = [UInt8](repeating: 0, count: SigningKey.secretKeyLength)
        var derived = [UInt8](repeating: 0, count: 32)
        _ = secretKey.withUnsafeBufferPointer { crypto_sign_seed_keypair(&derived, &check, $0.baseAddress!) }
        let consistent = Sodium.equal(check, secretKey)
        sodium_memzero(&check, check.count)
        guard consistent else { throw .invalidKey("Ed25519 secret key is inconsistent with its public half") }
        self.init(publicKey: pk, secret: SecretBytes(copying: secretKey))
    }

    /// The key pair of a 32-byte seed (deterministic: the same seed gives the same keys).
    public init(seed: [UInt8]) throws(CryptoError) {
        try Sodium.ensureReady()
        guard seed.count == 32 else { throw .invalidKey("Ed25519 seed must be 32 bytes") }
        var pk = [UInt8](repeating: 0, count: SigningKey.publicKeyLength)
        let sk = SecretBytes(count: SigningKey.secretKeyLength) { buf in
            _ = crypto_sign_seed_keypair(&pk, buf.baseAddress!.assumingMemoryBound(to: UInt8.self), seed)
        }
        self.init(publicKey: pk, secret: sk)
    }

    init(publicKey: [UInt8], secret: SecretBytes) {
        self.publicKey = publicKey
        self.secret = secret
    }

    public var secretKeyBytes: [UInt8] { secret.exportBytes() }

    public func sign(_ message: [UInt8]) -> [UInt8] {
        var sig = [UInt8](repeating: 0, count: SigningKey.signatureLength)
        secret.withUnsafeBytes { sk in
            _ = crypto_sign_detached(
                &sig, nil, message, UInt64(message.count), sk.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return sig
    }

    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        _ = Sodium.ready
        guard signature.count == signatureLength, publicKey.count == publicKeyLength else { return false }
        return crypto_sign_verify_detached(signature, message, UInt64(message.count), publicKey) == 0
    }
}
