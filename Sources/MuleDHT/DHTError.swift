/// Errors of the DHT: bad input from the network, and outcomes of the operations a user asks for.
public enum DHTError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(String)
    case timeout(DHTAddress)
    case remote(code: Int64, message: String)
    case invalidItem(String)
    case notFound
    case noNodes
    case cannotBind(String)
    case stopped

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed message: \(why)"
        case .timeout(let a): return "no answer from \(a)"
        case .remote(let code, let message): return "the node answered with error \(code): \(message)"
        case .invalidItem(let why): return "invalid item: \(why)"
        case .notFound: return "no node along the lookup holds that item"
        case .noNodes: return "no DHT node answered (check the bootstrap address)"
        case .cannotBind(let why): return "cannot open the DHT socket: \(why)"
        case .stopped: return "the DHT node has stopped"
        }
    }
}
