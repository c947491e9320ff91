import CSodium

/// A key from a passphrase: Argon2id (libsodium's crypto_pwhash, version 1.3).
public enum PassphraseKey {
    public static let saltBytes = Int(crypto_pwhash_SALTBYTES)
    /// libsodium's "moderate" limits: about a second and 256 MiB on a laptop.
    public static let opsLimit = UInt64(crypto_pwhash_OPSLIMIT_MODERATE)
    public static let memLimit = UInt64(crypto_pwhash_MEMLIMIT_MODERATE)

    /// Derives a 32-byte key. Limits outside what libsodium accepts, or too little memory, throw.
    public static func derive(
        passphrase: [UInt8], salt: [UInt8], opsLimit: UInt64, memLimit: UInt64
    ) throws(CryptoError) -> SecretBytes {
        guard salt.count == saltBytes else { throw .invalidKey("the salt must be \(saltBytes) bytes") }
        guard opsLimit >= UInt64(crypto_pwhash_OPSLIMIT_MIN), opsLimit <= 16,
            memLimit >= UInt64(crypto_pwhash_MEMLIMIT_MIN), memLimit <= 1 << 32
        else { throw .invalidKey("passphrase hashing limits out of range") }
        var failed = false
        let key = SecretBytes(count: 32) { out in
            failed =
                crypto_pwhash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), 32, passphrase.map { CChar(bitPattern: $0) },
                    UInt64(passphrase.count), salt, opsLimit, Int(memLimit), crypto_pwhash_ALG_ARGON2ID13) != 0
        }
        if failed { throw .invalidKey("not enough memory to hash the passphrase") }
        return key
    }
}

/// The sending side of libsodium's crypto_secretstream_xchacha20poly1305: a sequence of
/// authenticated chunks that cannot be reordered, dropped or cut short without the reader noticing
/// (the last one is tagged final). One owner; its state is wiped when it goes.
public final class SecretStreamWriter {
    public static let headerBytes = Int(crypto_secretstream_xchacha20poly1305_HEADERBYTES)
    public static let overhead = Int(crypto_secretstream_xchacha20poly1305_ABYTES)
    private let state: UnsafeMutableRawPointer
    private let stateBytes = crypto_secretstream_xchacha20poly1305_statebytes()
    public let header: [UInt8]

    public init(key: SecretBytes) throws(CryptoError) {
        guard key.count == 32 else { throw .invalidKey("a stream key is 32 bytes") }
        state = UnsafeMutableRawPointer.allocate(byteCount: stateBytes, alignment: 16)
        var h = [UInt8](repeating: 0, count: Self.headerBytes)
        let st = state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self)
        key.withUnsafeBytes { k in
            _ = crypto_secretstream_xchacha20poly1305_init_push(st, &h, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        header = h
    }

    /// Encrypts one chunk, bound to `ad`; `final` marks the end of the stream.
    public func push(_ plaintext: [UInt8], ad: [UInt8] = [], final: Bool = false) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plaintext.count + Self.overhead)
        let tag = UInt8(
            final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
        let st = state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self)
        _ = crypto_secretstream_xchacha20poly1305_push(
            st, &out, nil, plaintext, UInt64(plaintext.count), ad.isEmpty ? nil : ad, UInt64(ad.count), tag)
        return out
    }

    deinit {
        sodium_memzero(state, stateBytes)
        state.deallocate()
    }
}

/// The receiving side of `SecretStreamWriter`.
public final class SecretStreamReader {
    private let state: UnsafeMutableRawPointer
    private let stateBytes = crypto_secretstream_xchacha20poly1305_statebytes()
    /// True once the final chunk was read.
    public private(set) var finished = false

    public init(key: SecretBytes, header: [UInt8]) throws(CryptoError) {
        guard key.count == 32, header.count == SecretStreamWriter.headerBytes else {
            throw .invalidKey("a stream key is 32 bytes and its header \(SecretStreamWriter.headerBytes)")
        }
        state = UnsafeMutableRawPointer.allocate(byteCount: stateBytes, alignment: 16)
        let st = state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self)
        let rc = key.withUnsafeBytes { k in
            crypto_secretstream_xchacha20poly1305_init_pull(st, header, k.baseAddress!.assumingMemoryBound(to: UInt8.self))
        }
        if rc != 0 { throw .cannotDecrypt }
    }

    /// Decrypts the next chunk. A chunk that was altered, moved, or follows the final one throws.
    public func pull(_ ciphertext: [UInt8], ad: [UInt8] = []) throws(CryptoError) -> [UInt8] {
        guard !finished, ciphertext.count >= SecretStreamWriter.overhead else { throw .cannotDecrypt }
        var out = [UInt8](repeating: 0, count: ciphertext.count - SecretStreamWriter.overhead)
        var tag: UInt8 = 0
        let st = state.assumingMemoryBound(to: crypto_secretstream_xchacha20poly1305_state.self)
        let rc = crypto_secretstream_xchacha20poly1305_pull(
            st, &out, nil, &tag, ciphertext, UInt64(ciphertext.count), ad.isEmpty ? nil : ad, UInt64(ad.count))
        guard rc == 0 else { throw .cannotDecrypt }
        finished = tag == UInt8(crypto_secretstream_xchacha20poly1305_TAG_FINAL)
        return out
    }

    deinit {
        sodium_memzero(state, stateBytes)
        state.deallocate()
    }
}
