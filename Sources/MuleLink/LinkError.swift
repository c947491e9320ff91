import MuleCrypto

/// Why a link was dropped. Each case reads as one log line.
public enum LinkError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformedFrame(String)
    case oversizedFrame(Int)
    case noise(NoiseError)
    case malformedHello(String)
    case handshakeTimeout
    case idleTimeout
    case unexpected(String)

    public var description: String {
        switch self {
        case .malformedFrame(let r): "malformed frame: \(r)"
        case .oversizedFrame(let n): "frame of \(n) bytes is over the limit of \(LinkFrame.maxSize)"
        case .noise(let e): "noise: \(e)"
        case .malformedHello(let r): "malformed hello: \(r)"
        case .handshakeTimeout: "handshake not finished in time"
        case .idleTimeout: "no traffic in time"
        case .unexpected(let r): "out of order: \(r)"
        }
    }
}
