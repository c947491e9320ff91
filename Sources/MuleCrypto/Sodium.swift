import CSodium

/// Thin, typed wrappers around the libsodium calls Mule uses. Every function checks the return code.
public enum Sodium {
    /// `sodium_init` is idempotent and thread-safe; this constant runs it once per process.
    static let ready: Bool = sodium_init() >= 0

    public static func ensureReady() throws(CryptoError) {
        guard ready else { throw .libraryInitFailed }
    }

    public static func randomBytes(_ n: Int) -> [UInt8] {
        _ = ready
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, n) }
        return out
    }

    /// BLAKE2b with an optional key, over the concatenation of `parts`.
    public static func blake2b(outputLength: Int = 32, key: [UInt8]? = nil, _ parts: [UInt8]...) -> [UInt8] {
        blake2b(outputLength: outputLength, key: key, parts: parts)
    }

    public static func blake2b(outputLength: Int = 32, key: [UInt8]? = nil, parts: [[UInt8]]) -> [UInt8] {
        _ = ready
        if parts.count == 1 {
            // One-shot: no state to allocate (the bundle id of every imported bundle takes this path).
            var out = [UInt8](repeating: 0, count: outputLength)
            let p = parts[0]
            _ = p.withUnsafeBufferPointer { input in
                out.withUnsafeMutableBufferPointer { o in
                    if let key {
                        key.withUnsafeBufferPointer { k in
                            crypto_generichash(
                                o.baseAddress!, outputLength, input.baseAddress, UInt64(p.count), k.baseAddress, key.count)
                        }
                    } else {
                        crypto_generichash(o.baseAddress!, outputLength, input.baseAddress, UInt64(p.count), nil, 0)
                    }
                }
            }
            return out
        }
        // The state struct is 64-byte aligned in C, which Swift imports as opaque: allocate it by size.
        let size = crypto_generichash_statebytes()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer {
            sodium_memzero(raw, size)
            raw.deallocate()
        }
        let state = OpaquePointer(raw)
        var out = [UInt8](repeating: 0, count: outputLength)
        if let key {
            _ = key.withUnsafeBufferPointer { crypto_generichash_init(state, $0.baseAddress, key.count, outputLength) }
        } else {
            _ = crypto_generichash_init(state, nil, 0, outputLength)
        }
        for p in parts {
            _ = p.withUnsafeBufferPointer { crypto_generichash_update(state, $0.baseAddress, UInt64(p.count)) }
        }
        _ = out.withUnsafeMutableBufferPointer { crypto_generichash_final(state, $0.baseAddress!, outputLength) }
        return out
    }

    /// Constant-time comparison.
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 } }
    }

    /// XChaCha20-Poly1305 (IETF) encryption.
    static func aeadSeal(_ plaintext: [UInt8], ad: [UInt8], nonce: [UInt8], key: SecretBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + Int(crypto_aead_xchacha20poly1305_ietf_ABYTES))
        var outLen: UInt64 = 0
        key.withUnsafeBytes { k in
            _ = crypto_aead_xchacha20poly1305_ietf_encrypt(
                &out, &outLen, plaintext, UInt64(plaintext.count), ad, UInt64(ad.count), nil, nonce,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        return out
    }

    static func aeadOpen(_ ciphertext: [UInt8], ad: [UInt8], nonce: [UInt8], key: SecretBytes) throws(CryptoError) -> [UInt8] {
        let abytes = Int(crypto_aead_xchacha20poly1305_ietf_ABYTES)
        guard ciphertext.count >= abytes else { throw .cannotDecrypt }
        var out = [UInt8](repeating: 0, count: ciphertext.count - abytes)
        var outLen: UInt64 = 0
        let rc = key.withUnsafeBytes { k in
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                &out, &outLen, nil, ciphertext, UInt64(ciphertext.count), ad, UInt64(ad.count), nonce,
                k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        guard rc == 0 else { throw .cannotDecrypt }
        return out
    }
}
