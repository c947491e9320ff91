import MuleStore
import MuleWire

/// A `NodeEvent` as JSON: one object per event with a `type` and the fields of that type. What
/// the node socket streams (Docs/API.md) and what a user interface reads.
public struct EventRecord: Codable, Sendable, Equatable {
    public var type: String
    public var message: MessageJSON?
    public var id: String?
    public var contactID: String?
    public var status: String?
    public var path: String?
    public var contact: ContactJSON?
    public var presence: String?
    public var address: String?
    public var direction: String?
    public var reason: String?
    public var receiving: Bool?
    public var bytes: Int64?
    public var total: Int64?
    public var bundles: Int?
    public var messages: Int?
    public var imported: ImportSummary?
    public var count: Int?

    public init(type: String) { self.type = type }

    /// A message in the shape user interfaces show.
    public struct MessageJSON: Codable, Sendable, Equatable {
        public var id: String
        public var contactID: String
        public var contactName: String
        public var direction: String
        public var text: String?
        public var fileName: String?
        public var fileSize: Int64?
        public var status: String
        public var path: String?
        /// Unix ms.
        public var sentAt: Int64
        public var receivedAt: Int64?
        public var deliveredAt: Int64?

        public init(_ m: Message) {
            id = m.record.id
            contactID = m.contact.id
            contactName = m.contact.name
            direction = m.record.direction.rawValue
            text = m.record.body
            fileName = m.record.fileName
            fileSize = m.record.fileSize
            status = m.record.status.rawValue
            path = m.record.path?.rawValue
            sentAt = m.record.sentAt
            receivedAt = m.record.receivedAt
            deliveredAt = m.record.deliveredAt
        }
    }

    public struct ContactJSON: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var state: String
        public var fingerprint: String

        public init(_ c: Contact) {
            id = c.id
            name = c.name
            state = c.state.rawValue
            fingerprint = c.fingerprint
        }
    }

    public init(_ event: NodeEvent, contactIDs: (Int64) -> String? = { _ in nil }) {
        switch event {
        case .messageArrived(let m):
            self.init(type: "messageArrived")
            message = MessageJSON(m)
        case .messageQueued(let m):
            self.init(type: "messageQueued")
            message = MessageJSON(m)
        case .messageStatus(let id, let contact, let status, let path):
            self.init(type: "messageStatus")
            self.id = id
            contactID = contactIDs(contact)
            self.status = status.rawValue
            self.path = path?.rawValue
        case .contactRequest(let c):
            self.init(type: "contactRequest")
            contact = ContactJSON(c)
        case .contactsChanged:
            self.init(type: "contactsChanged")
        case .relaysChanged:
            self.init(type: "relaysChanged")
        case .presence(let contact, let p):
            self.init(type: "presence")
            contactID = contactIDs(contact)
            presence = p.rawValue
        case .stored:
            self.init(type: "stored")
        case .stickImported(let s):
            self.init(type: "stickImported")
            imported = s
        case .listening(let a):
            self.init(type: "listening")
            address = a.description
        case .linkUp(let a, let d):
            self.init(type: "linkUp")
            address = a
            direction = d.rawValue
        case .linkDown(let a, let r):
            self.init(type: "linkDown")
            address = a
            reason = r
        case .transfer(let a, let receiving, let bytes, let total):
            self.init(type: "transfer")
            address = a
            self.receiving = receiving
            self.bytes = bytes
            self.total = total
        case .received(let b, let m):
            self.init(type: "received")
            bundles = b
            messages = m
        case .deposited(let relay, let n):
            self.init(type: "deposited")
            address = relay
            bundles = n
        case .discoveryOff(let r):
            self.init(type: "discoveryOff")
            reason = r
        case .keysDropped(let contact, let n):
            self.init(type: "keysDropped")
            contactID = contactIDs(contact)
            count = n
        }
    }
}
