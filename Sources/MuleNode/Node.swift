import Foundation
import Logging
import MuleCrypto
import MuleStore
import MuleWire

/// One Mule node: a profile and its store, and the operations a user runs on them.
///
/// The clock and the logger come in through `init`, so tests can run a node at any time of day
/// and read what it logged.
public final class Node {
    public let profile: Profile
    /// The store: only the node reads and writes it, so every change it makes is published.
    let store: Store
    /// What this node did, for whoever shows it or reacts to it.
    public let events = NodeEvents()
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// Bounds on the keys kept for version-2 messages that have not arrived (per session).
    public let keyLimits: KeyLimits

    /// How many keys for missing messages a session keeps (Docs/PROTOCOL.md §13.5).
    public struct KeyLimits: Sendable, Equatable {
        /// Most keys one arriving message may make the node keep for messages before it.
        public var perMessage: Int
        /// Most keys kept per session; past it the oldest go, reported as `keysDropped`.
        public var perSession: Int
        public static let standard = KeyLimits(perMessage: 2_000, perSession: 5_000)

        public init(perMessage: Int, perSession: Int) {
            self.perMessage = perMessage
            self.perSession = perSession
        }
    }

    public static let defaultLifetimeMs: UInt64 = 14 * 86_400_000
    public static let defaultQuota: Int64 = 512 << 20
    public static let maxAttachmentBytes: Int64 = 64 << 20

    /// The wall clock (``WallClock``, which tests of the executable may move).
    public static func systemClock() -> Int64 { WallClock.nowMs() }

    public init(
        profile: Profile, clock: @escaping @Sendable () -> Int64 = Node.systemClock,
        logger: Logger = Logger(label: "mule.node"), keyLimits: KeyLimits = .standard
    ) throws(NodeError) {
        self.profile = profile
        self.clock = clock
        self.logger = logger
        self.keyLimits = keyLimits
        for r in profile.repairs { logger.warning("\(r)") }
        // An empty file would be taken for a new store: contacts and messages would vanish unsaid.
        if let size = (try? FileManager.default.attributesOfItem(atPath: profile.storePath))?[.size] as? Int64, size == 0 {
            throw .profileDamaged(
                "\(profile.storePath) is empty (0 bytes), so contacts and messages are not in it; "
                    + "restore it from a backup, or move it away to start with an empty store (nothing was changed)")
        }
        do {
            store = try Store(path: profile.storePath)
        } catch {
            throw .store(error)
        }
    }

    /// Opens the profile in `home` and its store.
    public convenience init(
        home: String, clock: @escaping @Sendable () -> Int64 = Node.systemClock,
        logger: Logger = Logger(label: "mule.node")
    ) throws(NodeError) {
        try self.init(profile: try Profile.open(home: home), clock: clock, logger: logger)
    }

    public var identity: Identity { profile.identity }
    /// The node's clock, Unix ms.
    public var nowMs: Int64 { clock() }
    /// This node's invite code; it names the relays the node fetches from, if any, and carries the
    /// current prekey, so a first message is forward secret (Docs/PROTOCOL.md §13.7).
    public var invite: String {
        Invite.encode(identity.publicIdentity, relays: (try? relays()) ?? [], prekey: currentPrekey())
    }

    /// Runs `body` in one write transaction. A `NodeError` or `CryptoError` thrown inside rolls
    /// the transaction back and comes out as itself.
    func write<T>(_ body: (StoreTransaction) throws -> T) throws(NodeError) -> T {
        var inner: NodeError?
        do {
            return try store.write { tx in
                do { return try body(tx) } catch let e as NodeError {
                    inner = e
                    throw e
                } catch let e as CryptoError {
                    inner = .crypto(e)
                    throw e
                }
            }
        } catch { throw inner ?? .store(error) }
    }

    func read<T>(_ body: (StoreTransaction) throws -> T) throws(NodeError) -> T {
        do { return try store.read(body) } catch { throw .store(error) }
    }

    // MARK: Settings

    public func quota() throws(NodeError) -> Int64 {
        try read { tx in try tx.setting("quota").flatMap(Int64.init) } ?? Node.defaultQuota
    }

    public func setQuota(_ bytes: Int64) throws(NodeError) {
        guard bytes >= 0 else { throw .invalidArgument("the quota must not be negative") }
        try write { tx in
            try tx.setSetting("quota", String(bytes))
            _ = try tx.evict(toFit: bytes)
        }
    }

    // MARK: Relays

    /// The relays this node fetches from and deposits at (`mule relay add`), `HOST:PORT` each.
    public func relays() throws(NodeError) -> [String] {
        try read { tx in try tx.setting("relays") }.map { $0.split(separator: "\n").map(String.init) } ?? []
    }

    /// True for a `HOST:PORT` (`HostPort`) of at most 64 bytes with a host and a port in 1…65535.
    public static func isRelayAddress(_ text: String) -> Bool {
        guard text.utf8.count <= 64, let a = HostPort(parsing: text, defaultHost: "") else { return false }
        return a.port >= 1 && !a.host.isEmpty
    }

    @discardableResult
    public func addRelay(_ address: String) throws(NodeError) -> [String] {
        guard Node.isRelayAddress(address) else { throw .invalidArgument("'\(address)' is not HOST:PORT") }
        var list = try relays()
        guard !list.contains(address) else { return list }
        guard list.count < Invite.maxRelays else {
            throw .invalidArgument("at most \(Invite.maxRelays) relays; remove one first")
        }
        list.append(address)
        try write { tx in try tx.setSetting("relays", list.joined(separator: "\n")) }
        events.publish(.relaysChanged)
        return list
    }

    @discardableResult
    public func removeRelay(_ address: String) throws(NodeError) -> [String] {
        var list = try relays()
        guard let i = list.firstIndex(of: address) else { throw .invalidArgument("'\(address)' is not one of your relays") }
        list.remove(at: i)
        try write { tx in try tx.setSetting("relays", list.joined(separator: "\n")) }
        events.publish(.relaysChanged)
        return list
    }

    // MARK: Status

    public struct Status: Sendable {
        public var queued: Int
        public var sent: Int
        public var delivered: Int
        public var received: Int
        public var ownBundles: Int
        public var carriedBundles: Int
        public var carriedBytes: Int64
        public var storeBytes: Int64
        public var quota: Int64
    }

    public func status() throws(NodeError) -> Status {
        let now = clock()
        let stats =
            store.isReadOnly
            ? try read { tx in try tx.statistics() }
            : try write { tx -> StoreStatistics in
                try tx.deleteExpired(now: now)
                return try tx.statistics()
            }
        return Status(
            queued: stats.queuedMessages, sent: stats.sentMessages, delivered: stats.deliveredMessages,
            received: stats.receivedMessages, ownBundles: stats.ownBundles, carriedBundles: stats.carriedBundles,
            carriedBytes: stats.carriedBytes, storeBytes: store.fileSize(), quota: try quota())
    }
}
