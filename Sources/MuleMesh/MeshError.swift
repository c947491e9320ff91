/// What a running node reports to whoever runs it (the `mule run` terminal, a chat, a test).
public enum MeshError: Error, Sendable, CustomStringConvertible {
    case cannotListen(String, String)

    public var description: String {
        switch self {
        case .cannotListen(let address, let reason): "cannot listen on \(address): \(reason)"
        }
    }
}
