/// Everything that can be wrong with bytes handed to a MuleWire decoder.
///
/// Each case names the field or structure that failed, so a caller can print one line that says
/// what was wrong without a stack trace.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(at: Int)
    case trailingBytes(count: Int)
    case nonCanonical(String, at: Int)
    case unexpectedType(expected: String, at: Int)
    case unsupported(String, at: Int)
    case invalidUTF8(at: Int)
    case tooDeep(at: Int)
    case tooLarge(String, at: Int)
    case invalidField(String)
    case crcMismatch(block: Int)
    case wrongMagic
    case unknownVersion(String, UInt64)

    public var description: String {
        switch self {
        case .truncated(let at): return "truncated at byte \(at)"
        case .trailingBytes(let n): return "\(n) trailing byte(s)"
        case .nonCanonical(let what, let at): return "non-canonical encoding of \(what) at byte \(at)"
        case .unexpectedType(let expected, let at): return "expected \(expected) at byte \(at)"
        case .unsupported(let what, let at): return "unsupported \(what) at byte \(at)"
        case .invalidUTF8(let at): return "invalid UTF-8 text at byte \(at)"
        case .tooDeep(let at): return "nesting too deep at byte \(at)"
        case .tooLarge(let what, let at): return "\(what) too large at byte \(at)"
        case .invalidField(let what): return what
        case .crcMismatch(let block): return "CRC mismatch in block \(block)"
        case .wrongMagic: return "not a Mule bundle file (wrong magic)"
        case .unknownVersion(let what, let v): return "unknown \(what) version \(v)"
        }
    }
}
