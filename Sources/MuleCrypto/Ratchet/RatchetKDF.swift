import CSodium

/// The key derivations of envelope v2's ratchet (Docs/PROTOCOL.md §13), all keyed BLAKE2b from
/// libsodium. Every output is a `SecretBytes`, so it is wiped when the last reference goes.
enum RatchetKDF {
    static let rootLabel = Array("mule-v2-root".utf8)
    static let startLabel = Array("mule-v2-start".utf8)
    static let sessionLabel = Array("mule-v2-session".utf8)

    /// `BLAKE2b(outputLength, key: key, parts...)` into a new secret.
    static func hash(outputLength: Int, key: SecretBytes?, _ parts: [UInt8]...) -> SecretBytes {
        hash(outputLength: outputLength, key: key, parts: parts, secretParts: [])
    }

    static func hash(outputLength: Int, key: SecretBytes?, parts: [[UInt8]], secretParts: [SecretBytes]) -> SecretBytes {
        let size = crypto_generichash_statebytes()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer {
            sodium_memzero(raw, size)
            raw.deallocate()
        }
        let state = OpaquePointer(raw)
        if let key {
            key.withUnsafeBytes { k in
                _ = crypto_generichash_init(state, k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count, outputLength)
            }
        } else {
            _ = crypto_generichash_init(state, nil, 0, outputLength)
        }
        for p in parts {
            _ = p.withUnsafeBufferPointer { crypto_generichash_update(state, $0.baseAddress, UInt64(p.count)) }
        }
        for s in secretParts {
            s.withUnsafeBytes { b in
                _ = crypto_generichash_update(state, b.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(b.count))
            }
        }
        return SecretBytes(count: outputLength) { out in
            _ = crypto_generichash_final(state, out.baseAddress!.assumingMemoryBound(to: UInt8.self), outputLength)
        }
    }

    /// One step of the root chain: `BLAKE2b-512(key: root, "mule-v2-root" || dh)`, split into the
    /// next root key (first 32 bytes) and a new chain key (last 32).
    static func root(_ root: SecretBytes, _ dh: SecretBytes) -> (root: SecretBytes, chain: SecretBytes) {
        let out = hash(outputLength: 64, key: root, parts: [rootLabel], secretParts: [dh])
        return out.withUnsafeBytes { b in
            (
                SecretBytes(count: 32) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<32])) },
                SecretBytes(count: 32) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[32..<64])) }
            )
        }
    }

    /// One step of a sending or receiving chain: the message key is `BLAKE2b-256(key: ck, 0x01)`,
    /// the next chain key `BLAKE2b-256(key: ck, 0x02)`.
    static func chain(_ ck: SecretBytes) -> (next: SecretBytes, message: SecretBytes) {
        (hash(outputLength: 32, key: ck, [0x02]), hash(outputLength: 32, key: ck, [0x01]))
    }
}
