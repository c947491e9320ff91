/// The two CRCs BPv7 allows (RFC 9171 §4.2.1): CRC-16 X.25 and CRC-32C (Castagnoli).
/// Both are reflected, with initial value and final XOR of all ones.
public enum CRC {
    static let table16: [UInt16] = (0..<256).map { i in
        var c = UInt16(i)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x8408 : c >> 1 }
        return c
    }

    /// Slicing-by-8 tables for CRC-32C: 8 × 256 entries, table k at offset k*256.
    static let table32: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            for k in 1..<8 {
                let prev = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xFF)]
            }
        }
        return t
    }()

    /// Running CRC-16/X.25 state. Start with `0xFFFF`; finish by XOR with `0xFFFF`.
    public static func update16(_ crc: UInt16, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var c = crc
        table16.withUnsafeBufferPointer { t in
            for b in bytes { c = (c >> 8) ^ t[Int((c ^ UInt16(b)) & 0xFF)] }
        }
        return c
    }

    /// Running CRC-32C state. Start with `0xFFFFFFFF`; finish by XOR with `0xFFFFFFFF`.
    public static func update32(_ crc: UInt32, _ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var c = crc
        table32.withUnsafeBufferPointer { t in
            var i = 0
            let n = bytes.count
            while n - i >= 8 {
                let lo =
                    c ^ (UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
                let hi =
                    UInt32(bytes[i + 4]) | UInt32(bytes[i + 5]) << 8 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 24
                c =
                    t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < n {
                c = (c >> 8) ^ t[Int((c ^ UInt32(bytes[i])) & 0xFF)]
                i += 1
            }
        }
        return c
    }

    public static func crc16X25<C: Collection>(_ data: C) -> UInt16 where C.Element == UInt8 {
        let a = Array(data)
        return a.withUnsafeBufferPointer { update16(0xFFFF, $0) } ^ 0xFFFF
    }

    public static func crc32C<C: Collection>(_ data: C) -> UInt32 where C.Element == UInt8 {
        let a = Array(data)
        return a.withUnsafeBufferPointer { update32(0xFFFF_FFFF, $0) } ^ 0xFFFF_FFFF
    }
}
