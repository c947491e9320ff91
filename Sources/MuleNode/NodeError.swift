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
    /// Another accepted contact already has this name.
    case nameTaken(String)
    /// A request uses the name of an accepted contact: it needs a name of its own to be accepted.
    case namesakeRequest(String, id: String)
    case fileError(path: String, reason: String)
    case tooLarge(path: String, size: Int64, limit: Int64)
    case invalidArgument(String)
    /// A backup file that cannot be restored, and why.
    case backup(path: String, reason: String)
    case wrongPassphrase(String)
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
        case .blocked(let name): return "'\(name)' is blocked (unblock with 'mule contacts unblock')"
        case .nameTaken(let name):
            return "you already have a contact named '\(name)' with a different key: give this one another name (--name)"
        case .namesakeRequest(let name, let id):
            return
                "[\(id)] uses the name of your contact '\(name)' but has a different key: compare fingerprints, then "
                + "'mule contacts accept \(id) --name NEW' or 'mule contacts block \(id)'"
        case .fileError(let path, let reason): return "\(path): \(reason)"
        case .tooLarge(let path, let size, let limit):
            return "\(path): \(ByteCount.format(size)) is larger than the \(ByteCount.format(limit)) limit"
        case .invalidArgument(let m): return m
        case .backup(let path, let reason): return "\(path): \(reason); nothing was restored"
        case .wrongPassphrase(let path): return "\(path): wrong passphrase; nothing was restored"
        case .store(let e): return e.description
        case .crypto(let e): return e.description
        }
    }
}
