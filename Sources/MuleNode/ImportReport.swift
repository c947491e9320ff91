/// What `mule import` did, in the counts the CLI prints and one line per problem.
public struct ImportReport: Sendable {
    /// New bundles accepted: delivered here, carried for others, or discarded from a blocked sender.
    public var imported = 0
    /// Messages and receipts addressed to this node.
    public var delivered = 0
    /// Bundles stored to carry further.
    public var carried = 0
    /// Bundles seen before (or whose message was already delivered).
    public var duplicates = 0
    /// Files or bundles that could not be used; see `problems`.
    public var rejected = 0
    public var problems: [ImportProblem] = []
    /// Outgoing messages that a receipt in this import marked delivered.
    public var receiptsApplied = 0
    /// Carried bundles dropped because a receipt showed they had arrived.
    public var dropped = 0
    /// Keys for missing version-2 messages given up because the bound on kept keys was reached:
    /// those messages can no longer be opened (each is also a `keysDropped` event).
    public var keysDropped = 0
    /// Proofs that bundles addressed here arrived, for a relay to delete its copies: the ack secret
    /// of each message opened (new or not), the id of each receipt. Not compared by `==`.
    public var releases: [[UInt8]] = []
    /// What the import changed, published once its transaction committed.
    public internal(set) var events: [NodeEvent] = []

    public init() {}
}

public struct ImportProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based position of the bundle in the file, nil when the whole file was refused.
    public var bundle: Int?
    public var reason: String

    public var description: String {
        if let bundle { return "\(file): bundle \(bundle): \(reason)" }
        return "\(file): \(reason)"
    }
}
