/// The line being typed, fed byte by byte from a terminal in raw mode: UTF-8 is put together,
/// Backspace removes a whole character, Ctrl-U clears the line, Enter submits it, Ctrl-D on an
/// empty line or Ctrl-C ends. Escape sequences (arrow keys and the like) are skipped.
public struct LineEditor: Sendable {
    public enum Action: Equatable, Sendable {
        /// The line changed (redraw it).
        case edited
        case submit(String)
        case end
    }

    public private(set) var line = ""
    private var pending: [UInt8] = []
    private var escape = EscapeState.none
    /// The longest line kept: more typed is ignored (a paste cannot grow memory without bound).
    public static let maxBytes = 64 * 1024

    enum EscapeState: Sendable {
        case none, started, csi
    }

    public init() {}

    public mutating func feed(_ byte: UInt8) -> Action? {
        switch escape {
        case .started:
            escape = byte == UInt8(ascii: "[") || byte == UInt8(ascii: "O") ? .csi : .none
            return nil
        case .csi:
            if (0x40...0x7E).contains(byte) { escape = .none }
            return nil
        case .none:
            break
        }
        switch byte {
        case 0x1B:
            escape = .started
            return nil
        case 0x03:
            return .end
        case 0x04:
            return line.isEmpty ? .end : nil
        case 0x0D, 0x0A:
            let text = line
            line = ""
            pending = []
            return .submit(text)
        case 0x7F, 0x08:
            pending = []
            guard !line.isEmpty else { return nil }
            line.removeLast()
            return .edited
        case 0x15:
            line = ""
            pending = []
            return .edited
        case 0x09:
            return append([0x20])
        case ..<0x20:
            return nil
        default:
            pending.append(byte)
            let need = Self.sequenceLength(pending[0])
            if need == 0 {
                pending = []
                return nil
            }
            guard pending.count >= need else { return nil }
            let bytes = pending
            pending = []
            return append(bytes)
        }
    }

    private mutating func append(_ bytes: [UInt8]) -> Action? {
        guard line.utf8.count + bytes.count <= Self.maxBytes, let s = String(validating: bytes, as: UTF8.self) else {
            return nil
        }
        line += s
        return .edited
    }

    /// Bytes in the UTF-8 sequence that starts with `lead` (0: not a lead byte).
    static func sequenceLength(_ lead: UInt8) -> Int {
        switch lead {
        case 0x20..<0x80: return 1
        case 0xC2..<0xE0: return 2
        case 0xE0..<0xF0: return 3
        case 0xF0..<0xF5: return 4
        default: return 0
        }
    }
}
