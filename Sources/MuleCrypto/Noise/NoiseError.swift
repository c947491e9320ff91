/// Failures of a Noise handshake or transport message.
public enum NoiseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A message arrived, or was asked for, out of the pattern's order.
    case outOfOrder
    case tooShort(Int)
    case tooLong(Int)
    /// The AEAD tag did not verify: a forged, altered or replayed message.
    case decryptFailed
    case invalidKey
    case nonceExhausted

    public var description: String {
        switch self {
        case .outOfOrder: return "Noise message out of order"
        case .tooShort(let n): return "Noise message too short (\(n) bytes)"
        case .tooLong(let n): return "Noise message too long (\(n) bytes)"
        case .decryptFailed: return "Noise message failed authentication"
        case .invalidKey: return "Noise peer sent an invalid key"
        case .nonceExhausted: return "Noise nonce exhausted"
        }
    }
}
