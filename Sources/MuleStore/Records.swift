/// A bundle held by this node, with the metadata used for export, delivery and eviction.
public struct StoredBundle: Sendable, Equatable {
    public enum Kind: Int, Sendable { case message = 0, receipt = 1 }

    public var id: [UInt8]
    public var tag: [UInt8]
    public var kind: Kind
    public var dropHash: [UInt8]?
    public var expiresAt: Int64
    public var receivedAt: Int64
    public var own: Bool
    public var data: [UInt8]

    public init(
        id: [UInt8], tag: [UInt8], kind: Kind, dropHash: [UInt8]?, expiresAt: Int64, receivedAt: Int64,
        own: Bool, data: [UInt8]
    ) {
        self.id = id
        self.tag = tag
        self.kind = kind
        self.dropHash = dropHash
        self.expiresAt = expiresAt
        self.receivedAt = receivedAt
        self.own = own
        self.data = data
    }
}

public struct ContactRecord: Sendable, Equatable {
    public enum State: String, Sendable { case contact, request, blocked }

    public var id: Int64
    public var signingKey: [UInt8]
    public var agreementKey: [UInt8]
    public var name: String
    public var state: State
    /// True once anything from this contact arrived: from then on messages use the pair tag.
    public var heardFrom: Bool
    public var addedAt: Int64
    /// Relays this contact fetches from (`HOST:PORT`), from its invite or its DHT record.
    public var relays: [String] = []
    /// When the person said they compared this contact's fingerprint (Unix ms), if they did.
    public var verifiedAt: Int64?
    /// New messages to and from this contact disappear this long after sending or arrival.
    public var disappearAfterMs: Int64?
    /// The contact's signed prekey (its encoded form), from an invite or a DHT record.
    public var prekey: [UInt8]?
    /// The creation time (Unix ms) of the first version-2 message from this contact: from then on a
    /// version-1 message created later is a downgrade.
    public var v2Since: Int64?
}

/// How a message (or, for an outgoing one, its receipt) reached this node.
public enum MessagePath: String, Sendable, Codable, CaseIterable {
    /// Over a link on the local network (mDNS, or a peer at a private address).
    case lan
    /// Over a link across the internet (an address found in the DHT, or a public one).
    case direct
    /// Fetched from a store-and-forward relay.
    case relay
    /// Imported from a bundle file (a stick).
    case file
}

public struct MessageRecord: Sendable, Equatable {
    public enum Direction: String, Sendable { case incoming = "in", outgoing = "out" }
    public enum Status: String, Sendable { case queued, sent, delivered, received }

    public var id: String
    public var contactId: Int64
    public var direction: Direction
    public var body: String?
    public var fileName: String?
    public var filePath: String?
    public var fileSize: Int64?
    public var status: Status
    public var sentAt: Int64
    public var receivedAt: Int64?
    public var deliveredAt: Int64?
    public var dropHash: [UInt8]
    /// How the message (incoming) or its receipt (outgoing) arrived.
    public var path: MessagePath?
    /// An incoming message: when it was shown to the person (nil: unread).
    public var readAt: Int64?
    /// When both its text and its file are erased (Unix ms), for a disappearing message.
    public var disappearAt: Int64?

    public init(
        id: String, contactId: Int64, direction: Direction, body: String?, fileName: String?, filePath: String?,
        fileSize: Int64?, status: Status, sentAt: Int64, receivedAt: Int64?, deliveredAt: Int64?, dropHash: [UInt8],
        path: MessagePath? = nil
    ) {
        self.path = path
        self.id = id
        self.contactId = contactId
        self.direction = direction
        self.body = body
        self.fileName = fileName
        self.filePath = filePath
        self.fileSize = fileSize
        self.status = status
        self.sentAt = sentAt
        self.receivedAt = receivedAt
        self.deliveredAt = deliveredAt
        self.dropHash = dropHash
    }
}

public struct StoreStatistics: Sendable, Equatable {
    public var ownBundles: Int
    public var carriedBundles: Int
    public var carriedBytes: Int64
    public var ownBytes: Int64
    public var queuedMessages: Int
    public var sentMessages: Int
    public var deliveredMessages: Int
    public var receivedMessages: Int
}

/// Which messages to list: the newest `limit` of those that pass every given condition.
public struct MessageQuery: Sendable {
    public var contactId: Int64?
    public var limit: Int
    /// Sent at or after (Unix ms).
    public var since: Int64?
    /// Sent before (Unix ms).
    public var before: Int64?
    /// Incoming messages not yet shown.
    public var unreadOnly: Bool
    /// Words that must all occur in the text (a word may be the start of a longer one).
    public var search: String?

    public init(
        contactId: Int64? = nil, limit: Int, since: Int64? = nil, before: Int64? = nil, unreadOnly: Bool = false,
        search: String? = nil
    ) {
        self.contactId = contactId
        self.limit = limit
        self.since = since
        self.before = before
        self.unreadOnly = unreadOnly
        self.search = search
    }

    /// The FTS5 expression for what a person typed: every word as a quoted prefix term, so no
    /// input is taken as query syntax. Nil when it holds no word.
    static func ftsExpression(_ text: String) -> String? {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map { w in
            "\"" + w.replacingOccurrences(of: "\"", with: "\"\"") + "\"*"
        }
        return words.isEmpty ? nil : words.joined(separator: " ")
    }
}
