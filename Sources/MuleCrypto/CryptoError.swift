import MuleWire

/// Failures of key handling, sealing and opening.
public enum CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    case libraryInitFailed
    case invalidKey(String)
    /// The AEAD tag did not verify: the bundle was altered or is not for this key.
    case cannotDecrypt
    /// The signature does not verify under the signing key named inside the envelope.
    case badSignature
    /// The ack secret inside does not hash to the drop hash outside.
    case dropHashMismatch
    case malformed(WireError)
    /// A ratchet header asked to skip more message keys than the bound allows.
    case skipLimit(Int)
    /// An envelope version this path does not open (version 2 needs the sender's ratchet session).
    case unsupportedEnvelope(UInt64)
    /// A session start named a prekey this node has deleted on schedule.
    case prekeyDeleted(UInt32)

    public var description: String {
        switch self {
        case .libraryInitFailed: return "libsodium failed to initialise"
        case .invalidKey(let what): return "invalid key: \(what)"
        case .cannotDecrypt: return "cannot decrypt: the bundle was altered or is not for this identity"
        case .badSignature: return "signature does not match the sender key inside the envelope"
        case .dropHashMismatch: return "ack secret does not match the drop hash"
        case .malformed(let e): return "malformed sealed content: \(e)"
        case .unsupportedEnvelope(let v): return "envelope version \(v) cannot be opened here (version 2 needs a ratchet session)"
        case .prekeyDeleted(let id):
            return "the message starts a session with prekey \(id), deleted on schedule since, so it can no longer be opened"
        case .skipLimit(let n): return "the message is \(n) messages ahead of the last one opened, more than the bound allows"
        }
    }
}
