import CSodium

/// The Noise CipherState for ChaChaPoly (Noise spec §5.1, §12.3): a key and a 64-bit counter
/// nonce, encoded as 4 zero bytes then the counter little-endian.
public struct NoiseCipherState: Sendable {
    private var key: SecretBytes?
    public private(set) var nonce: UInt64 = 0

    public static let tagLength = 16
    public static let maxMessage = 65535

    init(key: SecretBytes?) { self.key = key }

    public var hasKey: Bool { key != nil }

    static func nonceBytes(_ n: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 12)
        for i in 0..<8 { out[4 + i] = UInt8(truncatingIfNeeded: n >> UInt64(8 * i)) }
        return out
    }

    /// ENCRYPT with the next nonce; returns plaintext unchanged when there is no key yet.
    public mutating func encrypt(ad: [UInt8], _ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard let key else { return plaintext }
        guard nonce < UInt64.max else { throw .nonceExhausted }
        guard plaintext.count + Self.tagLength <= Self.maxMessage else { throw .tooLong(plaintext.count) }
        var out = [UInt8](repeating: 0, count: plaintext.count + Self.tagLength)
        var outLen: UInt64 = 0
        let n = Self.nonceBytes(nonce)
        key.withUnsafeBytes { k in
            _ = crypto_aead_chacha20poly1305_ietf_encrypt(
                &out, &outLen, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, n,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        nonce += 1
        return out
    }

    /// DECRYPT with the next nonce; the nonce advances only on success.
    public mutating func decrypt(ad: [UInt8], _ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard let key else { return ciphertext }
        guard nonce < UInt64.max else { throw .nonceExhausted }
        guard ciphertext.count >= Self.tagLength else { throw .tooShort(ciphertext.count) }
        var out = [UInt8](repeating: 0, count: ciphertext.count - Self.tagLength)
        var outLen: UInt64 = 0
        let n = Self.nonceBytes(nonce)
        let rc = key.withUnsafeBytes { k in
            crypto_aead_chacha20poly1305_ietf_decrypt(
                &out, &outLen, nil, ciphertext, UInt64(ciphertext.count), ad, UInt64(ad.count), n,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard rc == 0 else { throw .decryptFailed }
        nonce += 1
        return out
    }
}
