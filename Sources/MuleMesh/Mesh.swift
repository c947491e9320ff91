import Foundation
import Logging
import MuleCrypto
import MuleDHT
import MuleDiscovery
import MuleLink
import MuleNode
import MuleStore
import MuleSync
import MuleWire
import NIOCore
import NIOPosix

/// A running node: it owns the `Node` (profile and store) and every link, and moves bundles
/// between them. All of its state is isolated to this actor; NIO event loops hand it each link's
/// frames in order through `NIOAsyncChannel`, and Avahi hands it discoveries through an
/// `AsyncStream`.
///
/// Sync on a link: the side that dialled runs range reconciliation over the ids of stored bundles
/// when the link comes up and every `syncInterval`; then each side asks (`want`) for what it lacks
/// and does not know. New bundles are offered to every link as they appear; the node's own small
/// bundles (messages, receipts) are pushed whole to save a round trip. A bundle arrives in parts;
/// the parts received before a link dropped are kept, and the next `want` resumes from there.
public actor Mesh {
    let node: Node
    let configuration: MeshConfiguration
    let logger: Logger
    let linkKey: AgreementKey
    /// Listens, dials, runs every link on this actor, closes them on `stop()`.
    let host: LinkHost
    var group: MultiThreadedEventLoopGroup { host.group }
    /// The node's events: what the mesh publishes (links, transfers, presence) with what the node
    /// does (messages, contacts, imports).
    public nonisolated let events: NodeEvents
    let instanceName: String

    var links: [Int: Link] = [:]
    var nextLinkID = 1
    var cursor: Int64 = 0
    var tagCache = TagCache()
    var intake = Intake(
        maxPartialBytes: Mesh.maxPartialBytes, maxPartials: Mesh.maxPartials, maxAskedPerLink: Mesh.maxInFlightPerLink)
    var pendingImports: [PendingImport] = []
    /// Which link each just-imported bundle came from, so it is not offered straight back.
    var receivedFrom: [[UInt8]: Int] = [:]
    var flushScheduled = false
    /// Counts what this node stored (imports and new bundles), so the sync set is rebuilt only then.
    var storeGeneration = 0
    var syncSetCache: SyncSetCache?
    var announceScheduled = false
    var directory = PeerDirectory()
    /// Each contact's presence as last published.
    var presence: [Int64: Presence] = [:]
    var dialing: Set<String> = []
    /// Services that mDNS reported and has not withdrawn: redialled while no link to them is up.
    var discoveredServices: [String: PeerAddress] = [:]
    var discovery: AvahiDiscovery?
    var mdnsState = DiscoveryState.off("not started")
    var dht: DHTNode?
    var dhtState = DiscoveryState.off("not started")
    /// Addresses found in contacts' DHT records, by contact id.
    var rendezvous: [String: [PeerAddress]] = [:]
    /// Relay addresses and the state of their links, and the node's own relays as last read.
    var relays: [String: RelayState] = [:]
    var ownRelays: [String] = []
    /// The node's own relays and those its contacts fetch from, until they change.
    var relayLists: (own: [String], contacts: Set<String>)?
    var tasks: [Task<Void, Never>] = []
    var stopped = false
    var stateDirty = true
    /// The profile's `node.sock`, through which other processes say they changed the store.
    var socketChannel: Channel?
    /// Without `node.sock` (see `startSocket`), the store is looked at every poll interval instead.
    var watchStore = true
    /// More requests node.sock answers (`addSocketCommand`).
    var socketCommands: [String: @Sendable () -> String] = [:]
    public private(set) var boundPort: Int?
    /// The prekey a visible node's hello carries.
    var announcedPrekey: SignedPrekey?

    /// The most bytes of unfinished bundles kept for resuming, and the most of them.
    static let maxPartialBytes = 256 << 20
    static let maxPartials = 4096
    /// Bundles asked of one link and not yet arrived.
    static let maxInFlightPerLink = 32_768
    /// Bundles a peer may have asked for and not yet been sent.
    static let maxQueuedWants = 32_768
    /// Reconciliation rounds a peer may start in 10 s.
    static let maxSyncStartsPer10s = 5
    /// Bytes written to a link and not yet taken by the socket: past `high` the link is not
    /// writable, and a peer that asks for more then is dropped (it does not read).
    static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 8 << 20, high: 16 << 20)

    final class Link {
        let id: Int
        let channel: Channel
        let peer: LinkPeer
        let since: Int64
        /// The relay address, for a link to a relay.
        let relay: String?
        /// How the link came about.
        let via: LinkOrigin
        var reconciler: Reconciler?
        var lastSync = ContinuousClock.now
        var lastSent = ContinuousClock.now
        var queue: [LinkFrame.Want] = []
        var pumping = false
        /// When the peer started its recent reconciliation rounds.
        var syncStarts: [ContinuousClock.Instant] = []
        var bundlesSent = 0
        var bundlesReceived = 0
        var bytesSent: Int64 = 0
        var bytesReceived: Int64 = 0
        var sending: RunState.Progress?

        init(id: Int, channel: Channel, peer: LinkPeer, since: Int64, relay: String?, via: LinkOrigin) {
            self.id = id
            self.channel = channel
            self.peer = peer
            self.since = since
            self.relay = relay
            self.via = via
        }
    }

    struct SyncSetCache {
        var built: ContinuousClock.Instant
        var generation: Int
        var set: SyncItemSet
    }

    /// How long a sync set is reused when nothing was stored in this process.
    static let syncSetMaxAge = Duration.seconds(2)

    /// A whole bundle from a link, waiting for the next import transaction.
    struct PendingImport {
        /// The link it came over, kept even if the link is gone by the time the batch is imported
        /// (a relay killed mid-transfer): its messages still came through it.
        var link: Link
        var bytes: [UInt8]
        /// Sent unasked: a node pushes only its own bundles.
        var pushed: Bool
    }

    /// Opens the profile in `home` for this node. Nothing listens until `start()`.
    public init(
        home: String, configuration: MeshConfiguration, clock: @escaping @Sendable () -> Int64 = Node.systemClock,
        logger: Logger = Logger(label: "mule.mesh")
    ) throws(NodeError) {
        self.init(node: try Node(home: home, clock: clock, logger: logger), configuration: configuration, logger: logger)
    }

    /// Runs `node`, which the caller may share (the web app serves the same node).
    public init(node: Node, configuration: MeshConfiguration, logger: Logger = Logger(label: "mule.mesh")) {
        self.node = node
        self.configuration = configuration
        self.logger = logger
        linkKey = AgreementKey.generate()
        var hello = LinkHello()
        if let name = configuration.visibleAs {
            announcedPrekey = node.currentPrekey()
            hello.visible = LinkHello.Visible(
                identity: node.identity, name: name, linkKey: linkKey.publicKey, prekey: announcedPrekey)
        }
        var lc = LinkConfiguration(
            staticKey: linkKey, hello: hello,
            gate: LinkGate(
                maxLinks: configuration.maxLinks, maxHandshakes: configuration.maxHandshakes,
                maxPerAddress: configuration.maxLinksPerAddress, maxHandshakesPerAddress: configuration.maxHandshakesPerAddress),
            logger: logger)
        lc.handshakeTimeout = .nanoseconds(Int64(configuration.handshakeTimeout / .nanoseconds(1)))
        lc.idleTimeout = .nanoseconds(Int64(configuration.idleTimeout / .nanoseconds(1)))
        host = LinkHost(configuration: lc, waterMark: Mesh.writeBufferWaterMark)
        events = node.events
        instanceName = "mule-" + Hex.encode(Sodium.randomBytes(5))
    }

    public var profile: Profile { node.profile }

    /// The events from now on, until the node stops.
    public nonisolated func subscribe() -> AsyncStream<NodeEvent> { events.subscribe() }

    // MARK: Life cycle

    /// Listens, starts discovery and the static peers, and the background work. Returns once listening.
    public func start() async throws {
        cursor = try node.lastBundleRow()
        do {
            boundPort = try await host.listen(host: configuration.listen.host, port: configuration.listen.port) {
                [weak self] child in await self?.runLink(child, via: .incoming, dialed: nil)
            }
        } catch {
            throw MeshError.cannotListen(error.address, error.reason)
        }
        let listening = PeerAddress(host: configuration.listen.host, port: boundPort ?? configuration.listen.port)
        events.publish(.listening(listening))
        for peer in configuration.staticPeers {
            tasks.append(Task { [weak self] in await self?.keepDialing(peer) })
        }
        if configuration.publishState { watchStore = !(await startSocket()) }
        if configuration.mdns { startDiscovery() } else { mdnsState = .off("--no-mdns") }
        let stream = events.subscribe()
        tasks.append(Task { [weak self] in await self?.follow(stream) })
        if let c = configuration.dht { tasks.append(Task { [weak self] in await self?.runRendezvous(c) }) }
        tasks.append(Task { [weak self] in await self?.tick() })
        // node.json at once, so that `mule peers` and the web app see the node from its start.
        publishState()
    }

    /// Closes every link and the listener, withdraws the mDNS service, and writes the final state.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        for t in tasks { t.cancel() }
        discovery?.stop()
        discovery = nil
        await dht?.stop()
        dht = nil
        if let socketChannel {
            try? await socketChannel.close()
            unlink(node.profile.socketPath)
        }
        // Let connections finish closing on the event loop before it goes away, and give a dial that
        // is about to connect a moment to hand its channel over (a connect that hangs is not waited for).
        let start = ContinuousClock.now
        await host.close { dialing.isEmpty || ContinuousClock.now - start > .milliseconds(300) }
        links.removeAll()
        flushImports()
        stateDirty = true
        publishState()
        events.finish()
        await host.shutdown()
    }

    // MARK: Background work

    /// Disappearing messages go within a second of their time while the node runs.
    private func eraseDisappeared() {
        do { try node.eraseDisappeared() } catch {
            logger.warning("could not erase disappearing messages", metadata: ["reason": "\(error)"])
        }
    }

    /// Keys whose time has come are deleted within a second, and the write-ahead log is emptied
    /// so no older copy of a session stays in the profile.
    /// A visible node's hello carries the prekey current now: a rotated one goes into links made
    /// from now on.
    private func maintainKeys() {
        do { try node.maintainKeys() } catch {
            logger.warning("could not delete expired keys", metadata: ["reason": "\(error)"])
        }
        if let name = configuration.visibleAs, let p = node.currentPrekey(), p != announcedPrekey {
            announcedPrekey = p
            host.setHello(
                LinkHello(visible: .init(identity: node.identity, name: name, linkKey: linkKey.publicKey, prekey: p)))
        }
    }

    private func tick() async {
        var lastState = ContinuousClock.now
        var lastRedial = ContinuousClock.now
        var lastRelay = ContinuousClock.now - .seconds(1)
        while !Task.isCancelled && !stopped {
            try? await Task.sleep(for: configuration.pollInterval)
            if stopped { return }
            if watchStore { checkStore() }
            let now = ContinuousClock.now
            for link in links.values {
                if link.relay == nil, link.peer.weInitiated, link.reconciler == nil,
                    now - link.lastSync >= configuration.syncInterval
                {
                    startSync(link)
                }
                if now - link.lastSent >= configuration.pingInterval {
                    send(.ping, on: link)
                }
            }
            if now - lastRedial >= .seconds(3) {
                lastRedial = now
                redialDiscovered()
            }
            if now - lastRelay >= .seconds(1) {
                lastRelay = now
                relayTick()
                eraseDisappeared()
                maintainKeys()
            }
            if now - lastState >= .seconds(1) {
                lastState = now
                publishState()
            }
        }
    }

    /// Offers bundles that another process (the CLI) stored since the last look: only when
    /// `node.sock` could not be opened, through which the CLI says so itself.
    private func checkStore() {
        do {
            let last = try node.lastBundleRow()
            if last != cursor { announce() }
        } catch {
            logger.warning("store check failed", metadata: ["reason": "\(error)"])
        }
    }

    /// Reacts to what the node did in this process: what it stored is offered at once.
    private func follow(_ stream: AsyncStream<NodeEvent>) async {
        for await e in stream {
            if stopped { return }
            switch e {
            case .stored: scheduleAnnounce()
            case .contactsChanged, .relaysChanged:
                relayLists = nil
                stateDirty = true
            default: break
            }
        }
    }

    // MARK: Sending on a link

    func send(_ frame: LinkFrame, on link: Link) {
        link.lastSent = .now
        link.channel.writeAndFlush(frame, promise: nil)
    }

}
