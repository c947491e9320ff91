/// The Noise SymmetricState (spec §5.2) with HASH = BLAKE2b-512 and HMAC per RFC 2104.
struct NoiseSymmetricState: Sendable {
    static let hashLength = 64
    static let blockLength = 128

    private(set) var ck: [UInt8]
    private(set) var h: [UInt8]
    var cipher = NoiseCipherState(key: nil)

    init(protocolName: String) {
        var name = Array(protocolName.utf8)
        if name.count <= Self.hashLength {
            name += [UInt8](repeating: 0, count: Self.hashLength - name.count)
        } else {
            name = Self.hash(name)
        }
        h = name
        ck = name
    }

    static func hash(_ parts: [UInt8]...) -> [UInt8] { Sodium.blake2b(outputLength: hashLength, parts: parts) }

    static func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var k = key.count > blockLength ? hash(key) : key
        k += [UInt8](repeating: 0, count: blockLength - k.count)
        let inner = hash(k.map { $0 ^ 0x36 }, data)
        return hash(k.map { $0 ^ 0x5C }, inner)
    }

    /// HKDF(chainingKey, ikm) with two outputs.
    static func hkdf(_ chainingKey: [UInt8], _ ikm: [UInt8]) -> ([UInt8], [UInt8]) {
        let temp = hmac(key: chainingKey, ikm)
        let o1 = hmac(key: temp, [0x01])
        let o2 = hmac(key: temp, o1 + [0x02])
        return (o1, o2)
    }

    mutating func mixHash(_ data: [UInt8]) { h = Self.hash(h, data) }

    mutating func mixKey(_ ikm: [UInt8]) {
        let (newCK, temp) = Self.hkdf(ck, ikm)
        ck = newCK
        cipher = NoiseCipherState(key: SecretBytes(copying: Array(temp.prefix(32))))
    }

    mutating func encryptAndHash(_ plaintext: [UInt8]) throws(NoiseError) -> [UInt8] {
        let c = try cipher.encrypt(ad: h, plaintext)
        mixHash(c)
        return c
    }

    mutating func decryptAndHash(_ ciphertext: [UInt8]) throws(NoiseError) -> [UInt8] {
        let p = try cipher.decrypt(ad: h, ciphertext)
        mixHash(ciphertext)
        return p
    }

    func split() -> (NoiseCipherState, NoiseCipherState) {
        let (k1, k2) = Self.hkdf(ck, [])
        return (
            NoiseCipherState(key: SecretBytes(copying: Array(k1.prefix(32)))),
            NoiseCipherState(key: SecretBytes(copying: Array(k2.prefix(32))))
        )
    }
}
