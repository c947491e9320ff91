import MuleStore
import MuleWire

#if canImport(Glibc)
    import Glibc
#endif

/// What a node tells the programs that show it (the chat, the web app) and the parts of itself
/// that react (the mesh offers what was stored): typed, in the order it happened, so nothing has
/// to poll the store to learn of a change.
public enum NodeEvent: Sendable {
    /// A message addressed here was stored.
    case messageArrived(Message)
    /// This node queued a message (sent from this process): a view of the conversation adds it.
    case messageQueued(Message)
    /// An outgoing message changed status (queued → sent → delivered); `path` is how its receipt came.
    case messageStatus(id: String, contactID: Int64, status: MessageRecord.Status, path: MessagePath?)
    /// Someone who is not a contact wrote; they are a request now.
    case contactRequest(Contact)
    /// A contact was added, accepted, blocked, renamed or removed.
    case contactsChanged
    /// The node's own relays changed (`mule relay add`, `remove`).
    case relaysChanged
    /// Whether a contact can be reached now, as the mesh sees it.
    case presence(contactID: Int64, Presence)
    /// Own bundles were stored (messages, receipts): the mesh offers them at once.
    case stored
    /// A bundle file (a stick) was imported.
    case stickImported(ImportSummary)
    /// The node listens for links on this address.
    case listening(HostPort)
    case linkUp(address: String, direction: LinkDirection)
    case linkDown(address: String, reason: String)
    /// A bundle moving in parts on a link: bytes so far of the whole, once per part.
    case transfer(address: String, receiving: Bool, bytes: Int64, total: Int64)
    /// Bundles arrived on links and were stored (`messages` of them addressed here).
    case received(bundles: Int, messages: Int)
    /// Own bundles a relay stored (the recipient was not reached within the relay window).
    case deposited(relay: String, bundles: Int)
    /// mDNS discovery stopped or could not start.
    case discoveryOff(String)
    /// A message from the contact came so far ahead of others still missing that the bound on
    /// kept keys was reached: `count` of those missing messages can no longer be opened if they
    /// ever arrive (Docs/PROTOCOL.md §13.5).
    case keysDropped(contactID: Int64, count: Int)
}

/// How a contact can be reached now.
public enum Presence: String, Sendable, Codable {
    /// A link to the contact's node is up (it announced itself, or a bundle it sealed came over it).
    case linked
    /// No link, but a relay the contact fetches from is linked: messages wait there for it.
    case relay
    case offline
}

/// Which side dialled a link, or that it is a link to a relay.
public enum LinkDirection: String, Sendable, Codable {
    case incoming = "in"
    case outgoing = "out"
    case relay
}

/// The counts of a finished import, as events and the API report them.
public struct ImportSummary: Sendable, Codable, Equatable {
    public var imported: Int
    public var delivered: Int
    public var carried: Int
    public var duplicates: Int
    public var rejected: Int

    public init(_ r: ImportReport) {
        imported = r.imported
        delivered = r.delivered
        carried = r.carried
        duplicates = r.duplicates
        rejected = r.rejected
    }
}

/// Hands every event to every subscriber. Each subscriber has its own stream and a bounded
/// buffer: one that does not keep up loses its oldest events, never the node's memory or the
/// other subscribers' events.
public final class NodeEvents: @unchecked Sendable {
    // Guarded by `lock` (a pthread mutex, which ThreadSanitizer understands).
    private var lock = pthread_mutex_t()
    private var subscribers: [Int: AsyncStream<NodeEvent>.Continuation] = [:]
    private var observers: [@Sendable (NodeEvent) -> Void] = []
    private var nextID = 0
    private var finished = false

    /// Events kept for a subscriber that has not read them yet.
    public static let bufferPerSubscriber = 4096

    public init() {
        pthread_mutex_init(&lock, nil)
    }

    deinit {
        for c in subscribers.values { c.finish() }
        pthread_mutex_destroy(&lock)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return body()
    }

    /// A stream of the events published from now on; it ends when the node finishes or the
    /// consumer stops iterating.
    public func subscribe(buffer: Int = NodeEvents.bufferPerSubscriber) -> AsyncStream<NodeEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: NodeEvent.self, bufferingPolicy: .bufferingNewest(buffer))
        let id: Int? = locked {
            guard !finished else { return nil }
            nextID += 1
            subscribers[nextID] = continuation
            return nextID
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.locked { _ = self?.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    public var subscriberCount: Int { locked { subscribers.count } }

    /// Calls `body` with every event, synchronously on the publishing thread, for as long as the
    /// node lives: for a short-lived process (the CLI) that must act before it exits.
    public func observe(_ body: @escaping @Sendable (NodeEvent) -> Void) {
        locked { observers.append(body) }
    }

    public func publish(_ event: NodeEvent) {
        publish(CollectionOfOne(event))
    }

    public func publish<C: Collection<NodeEvent>>(_ events: C) {
        guard !events.isEmpty else { return }
        let (targets, observing) = locked { (Array(subscribers.values), observers) }
        for c in targets { for e in events { c.yield(e) } }
        for o in observing { for e in events { o(e) } }
    }

    /// Ends every stream; later subscribers get an ended stream.
    public func finish() {
        let targets = locked {
            finished = true
            let all = Array(subscribers.values)
            subscribers.removeAll()
            return all
        }
        for c in targets { c.finish() }
    }
}
