/// Appends deterministically encoded CBOR (RFC 8949 §4.2.1: shortest heads, definite lengths)
/// to a byte buffer.
public struct CBORWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func head(_ major: UInt8, _ value: UInt64) {
        let m = major << 5
        switch value {
        case 0..<24:
            bytes.append(m | UInt8(value))
        case 24...0xFF:
            bytes.append(m | 24)
            bytes.append(UInt8(value))
        case 0x100...0xFFFF:
            bytes.append(m | 25)
            bytes.append(UInt8(value >> 8))
            bytes.append(UInt8(truncatingIfNeeded: value))
        case 0x1_0000...0xFFFF_FFFF:
            bytes.append(m | 26)
            for shift in stride(from: 24, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        default:
            bytes.append(m | 27)
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            }
        }
    }

    public mutating func unsigned(_ v: UInt64) { head(0, v) }

    public mutating func int(_ v: Int64) {
        if v >= 0 { head(0, UInt64(v)) } else { head(1, UInt64(-(v + 1))) }
    }

    public mutating func byteString<C: Collection>(_ data: C) where C.Element == UInt8 {
        head(2, UInt64(data.count))
        bytes.append(contentsOf: data)
    }

    public mutating func text(_ s: String) {
        let utf8 = Array(s.utf8)
        head(3, UInt64(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    public mutating func arrayHeader(_ count: Int) { head(4, UInt64(count)) }
    public mutating func mapHeader(_ count: Int) { head(5, UInt64(count)) }
    public mutating func tag(_ t: UInt64) { head(6, t) }
    public mutating func bool(_ b: Bool) { bytes.append(b ? 0xF5 : 0xF4) }
    public mutating func null() { bytes.append(0xF6) }

    /// Start / end of an indefinite-length array (used only for the outer BPv7 bundle array).
    public mutating func beginIndefiniteArray() { bytes.append(0x9F) }
    public mutating func breakCode() { bytes.append(0xFF) }

    /// Overwrites one byte already written (used to fill in a CRC).
    public mutating func patch(at index: Int, _ byte: UInt8) { bytes[index] = byte }

    /// Appends bytes that are already valid CBOR.
    public mutating func raw<C: Collection>(_ encoded: C) where C.Element == UInt8 {
        bytes.append(contentsOf: encoded)
    }
}
