import MuleCrypto
import MuleStore
import MuleWire

/// Errors a user can meet, each with a one-line message that says what to do.
public enum NodeError: Error, Sendable, CustomStringConvertible {
    case profileExists(String)
    case noProfile(String)
    case profileDamaged(String)
    case invalidName(String)
    case invite(Invite.DecodeError)
    case ownInvite
    case alreadyContact(String)
    case unknownContact(String)
    case ambiguousContact(String, candidates: [String])
    case blocked(String)
    case fileError(path: String, reason: String)
    case tooLarge(path: String, size: Int64, limit: Int64)
    case invalidArgument(String)
    case store(StoreError)
    case crypto(CryptoError)

    public var description: String {
        switch self {
        case .profileExists(let home):
            return "an identity already exists in \(home); mule init never overwrites one"
        case .noProfile(let home): return "no identity in \(home): run 'mule init --name NAME' first"
        case .profileDamaged(let why): return "the profile is damaged: \(why)"
        case .invalidName(let why): return "invalid name: \(why)"
        case .invite(let e): return e.description
        case .ownInvite: return "that is your own invite code"
        case .alreadyContact(let name): return "already in your contacts as '\(name)'"
        case .unknownContact(let q): return "no contact matches '\(q)' (see 'mule contacts list')"
        case .ambiguousContact(let q, let c):
            return "'\(q)' matches \(c.count) contacts (\(c.joined(separator: ", "))): name one by its id"
        case .blocked(let name): return "'\(name)' is blocked"
        case .fileError(let path, let reason): return "\(path): \(reason)"
        case .tooLarge(let path, let size, let limit):
            return "\(path): \(ByteCount.format(size)) is larger than the \(ByteCount.format(limit)) limit"
        case .invalidArgument(let m): return m
        case .store(let e): return e.description
        case .crypto(let e): return e.description
        }
    }
}
