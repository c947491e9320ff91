/// What a running node reports to whoever runs it (the `mule run` terminal, a chat, a test).
public enum MeshEvent: Sendable {
    case listening(String)
    case linkUp(address: String, direction: String)
    case linkDown(address: String, reason: String)
    /// A bundle moving in parts: received or sent bytes of the whole, once per part.
    case progress(address: String, receiving: Bool, bytes: Int64, total: Int64)
    case received(bundles: Int, messages: Int)
    case discoveryOff(String)
    /// Own bundles a relay stored (the recipient was not reached within the relay window).
    case deposited(relay: String, bundles: Int)
}

public enum MeshError: Error, Sendable, CustomStringConvertible {
    case cannotListen(String, String)

    public var description: String {
        switch self {
        case .cannotListen(let address, let reason): "cannot listen on \(address): \(reason)"
        }
    }
}
