import CSodium

/// The proof-of-work stamp a relay asks for before it writes a deposited bundle.
///
/// A stamp is a 64-bit nonce such that
/// `BLAKE2b-256("mule-relay-stamp-v1" ‖ challenge ‖ id ‖ u32 total ‖ u64 nonce)` (big-endian
/// integers) starts with at least `RelayStamp.bits(base:total:)` zero bits. The challenge is new
/// for every link, so a stamp cannot be spent twice, on another link, or at another relay.
public enum RelayStamp {
    static let domain = Array("mule-relay-stamp-v1".utf8)
    /// The most bits a relay may ask for: 2^32 hashes is hours of work, not a stamp.
    public static let maxBits: UInt8 = 32

    /// Bits needed for a bundle of `total` bytes: the base below 1 MiB, one more per doubling above.
    public static func bits(base: UInt8, total: UInt32) -> Int {
        min(Int(base) + (UInt32.bitWidth - (total >> 20).leadingZeroBitCount), Int(maxBits))
    }

    static func input(challenge: [UInt8], id: [UInt8], total: UInt32) -> [UInt8] {
        var b = domain + challenge + id
        b += [UInt8(total >> 24), UInt8(truncatingIfNeeded: total >> 16), UInt8(truncatingIfNeeded: total >> 8)]
        b.append(UInt8(truncatingIfNeeded: total))
        b += [UInt8](repeating: 0, count: 8)
        return b
    }

    /// Finds a nonce; about 2^bits hashes on average.
    public static func solve(challenge: [UInt8], id: [UInt8], total: UInt32, bits: Int) -> UInt64 {
        _ = Sodium.ready
        var buffer = input(challenge: challenge, id: id, total: total)
        let n = buffer.count
        var hash = [UInt8](repeating: 0, count: 32)
        var nonce: UInt64 = 0
        return buffer.withUnsafeMutableBufferPointer { b in
            hash.withUnsafeMutableBufferPointer { h in
                while true {
                    var v = nonce
                    for i in stride(from: n - 1, through: n - 8, by: -1) {
                        b[i] = UInt8(truncatingIfNeeded: v)
                        v >>= 8
                    }
                    crypto_generichash(h.baseAddress!, 32, b.baseAddress, UInt64(n), nil, 0)
                    if leadingZeroBits(UnsafeBufferPointer(h)) >= bits { return nonce }
                    nonce &+= 1
                }
            }
        }
    }

    /// True if `nonce` is a stamp of at least `bits` for this challenge and bundle.
    public static func verify(challenge: [UInt8], id: [UInt8], total: UInt32, nonce: UInt64, bits: Int) -> Bool {
        var buffer = input(challenge: challenge, id: id, total: total)
        var v = nonce
        for i in stride(from: buffer.count - 1, through: buffer.count - 8, by: -1) {
            buffer[i] = UInt8(truncatingIfNeeded: v)
            v >>= 8
        }
        let h = Sodium.blake2b(outputLength: 32, buffer)
        return h.withUnsafeBufferPointer { leadingZeroBits($0) } >= bits
    }

    static func leadingZeroBits(_ h: UnsafeBufferPointer<UInt8>) -> Int {
        var count = 0
        for byte in h {
            if byte == 0 {
                count += 8
                continue
            }
            return count + byte.leadingZeroBitCount
        }
        return count
    }
}
