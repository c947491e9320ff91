/// Length-hiding padding of plaintexts before encryption.
///
/// Layout: `length (u32, big-endian) || content || zeros`, padded to the PADMÉ size
/// (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication with PURBs",
/// 2019) of the framed length, and never below ``minimumSize``. PADMÉ keeps overhead under 12%
/// while leaking O(log log n) bits of the length.
public enum Padding {
    public static let minimumSize = 512

    public static func paddedSize(_ length: Int) -> Int {
        let l = max(length, minimumSize)
        let e = Int.bitWidth - 1 - l.leadingZeroBitCount
        let s = Int.bitWidth - (e.leadingZeroBitCount)
        let lastBits = e - s
        let mask = (1 << lastBits) - 1
        return (l + mask) & ~mask
    }

    public static func pad(_ content: [UInt8]) -> [UInt8] {
        let framed = content.count + 4
        var out = [UInt8]()
        out.reserveCapacity(paddedSize(framed))
        let n = UInt32(content.count)
        out += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        out += content
        out += [UInt8](repeating: 0, count: paddedSize(framed) - framed)
        return out
    }

    /// Returns the content; rejects a wrong total size, a length beyond the buffer and nonzero padding.
    public static func unpad(_ padded: [UInt8]) throws(WireError) -> [UInt8] {
        guard padded.count >= 4 else { throw .invalidField("padded plaintext shorter than its length field") }
        let n = Int(padded[0]) << 24 | Int(padded[1]) << 16 | Int(padded[2]) << 8 | Int(padded[3])
        guard n <= padded.count - 4 else { throw .invalidField("padded length \(n) exceeds the plaintext") }
        guard paddedSize(n + 4) == padded.count else { throw .nonCanonical("padding", at: 0) }
        guard padded[(4 + n)...].allSatisfy({ $0 == 0 }) else { throw .nonCanonical("padding", at: 4 + n) }
        return Array(padded[4..<(4 + n)])
    }
}
