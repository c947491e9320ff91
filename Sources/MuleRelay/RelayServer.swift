import Foundation
import Logging
import MuleCrypto
import MuleLink
import MuleStore
import MuleWire
import NIOCore
import NIOPosix

/// A store-and-forward relay (`mule relay --listen`): clients deposit sealed bundles over Noise
/// links, each paid for with a proof-of-work stamp, and fetch the bundles for the recipient tags
/// they name. The relay reads only what every carrier reads: a bundle's tag, lifetime, drop hash,
/// and a receipt's ack secrets. Docs/PROTOCOL.md §11 has the protocol.
///
/// Every link's frames arrive in order through `NIOAsyncChannel`; all state is isolated to this
/// actor, and the store is the only thing that survives a restart.
public actor RelayServer {
    let configuration: RelayConfiguration
    let store: RelayStore
    let logger: Logger
    /// Listens, runs every link on this actor, closes them on `stop()`.
    let host: LinkHost
    let clock: @Sendable () -> Int64
    /// Keys the hash of a depositor's address block, so the store holds no addresses.
    let sourceKey: [UInt8]
    var clients: [Int: Client] = [:]
    /// Tags subscribed over all links, bounded by `configuration.maxSubscribedTags`.
    var subscribedTags = 0
    var nextID = 1
    var tasks: [Task<Void, Never>] = []
    var stopped = false
    /// Bytes of deposits being received on all links: bounded by `maxBufferedBytes`.
    var buffered = 0
    /// Bytes of deposits in progress by source address block (what `maxBufferedBytesPerSource` bounds).
    var bufferedBySource: [[UInt8]: Int] = [:]
    /// When each kind of closed link was last logged, and how many since were not.
    var closeLog: [String: (at: ContinuousClock.Instant, suppressed: Int)] = [:]
    public private(set) var boundPort: Int?
    /// Counters for the log summary and tests.
    public private(set) var counters = Counters()

    public struct Counters: Sendable, Equatable {
        public var stored = 0
        public var refused = 0
        public var badStamps = 0
        public var handedOut = 0
        public var released = 0
        public var linksClosed = 0
    }

    final class Client {
        let id: Int
        let channel: Channel
        let address: String
        let source: [UInt8]
        let challenge: [UInt8]
        var tags: Set<[UInt8]> = []
        var watched: Set<[UInt8]> = []
        var incoming: Incoming = .idle
        var queue: [LinkFrame.Want] = []
        var pumping = false
        var badStamps = 0
        /// When the deposit in progress last received a part (or began).
        var lastProgress = ContinuousClock.now

        enum Incoming {
            case idle
            case receiving(LinkFrame.Deposit, [UInt8])
            /// A refused deposit whose parts are still arriving: counted, not kept.
            case discarding(id: [UInt8], left: Int)
        }

        init(id: Int, channel: Channel, address: String, source: [UInt8], challenge: [UInt8]) {
            self.id = id
            self.channel = channel
            self.address = address
            self.source = source
            self.challenge = challenge
        }
    }

    public init(
        configuration: RelayConfiguration,
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMs,
        logger: Logger = Logger(label: "mule.relay")
    ) throws(RelayError) {
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        do {
            try FileManager.default.createDirectory(
                atPath: configuration.dataDirectory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw .dataDirectory(configuration.dataDirectory, "\(error.localizedDescription)")
        }
        do {
            store = try RelayStore(path: configuration.dataDirectory + "/relay.sqlite")
            sourceKey = try store.secret("source-key") { Sodium.randomBytes(32) }
        } catch { throw .store(error) }
        var lc = LinkConfiguration(
            staticKey: AgreementKey.generate(), hello: LinkHello(),
            gate: LinkGate(
                maxLinks: configuration.maxLinks, maxHandshakes: configuration.maxHandshakes,
                maxPerAddress: configuration.maxLinksPerAddress, maxHandshakesPerAddress: configuration.maxHandshakesPerAddress),
            logger: logger)
        lc.handshakeTimeout = .nanoseconds(Int64(configuration.handshakeTimeout / .nanoseconds(1)))
        lc.idleTimeout = .nanoseconds(Int64(configuration.idleTimeout / .nanoseconds(1)))
        host = LinkHost(configuration: lc)
    }

    /// What the store holds now.
    public func statistics() throws(RelayError) -> RelayStore.Statistics {
        do { return try store.statistics() } catch { throw .store(error) }
    }

    // MARK: Life cycle

    /// Listens; returns the bound port once it does.
    @discardableResult
    public func start() async throws(RelayError) -> Int {
        do {
            boundPort = try await host.listen(host: configuration.host, port: configuration.port, backlog: 128) {
                [weak self] child in await self?.run(child)
            }
        } catch {
            throw .cannotListen(error.address, error.reason)
        }
        tasks.append(Task { [weak self] in await self?.sweep() })
        let stats = try? store.statistics()
        logger.notice(
            "relay listening",
            metadata: [
                "address": "\(configuration.host):\(boundPort ?? configuration.port)", "bundles": "\(stats?.bundles ?? 0)",
                "stampBits": "\(configuration.stampBits)",
            ])
        return boundPort ?? configuration.port
    }

    public func stop() async {
        guard !stopped else { return }
        stopped = true
        for t in tasks { t.cancel() }
        // Lets the links finish closing on the event loop before it goes away.
        await host.close()
        clients.removeAll()
        await host.shutdown()
    }

    func sweep() async {
        var lastSweep = ContinuousClock.now
        while !Task.isCancelled && !stopped {
            try? await Task.sleep(for: .seconds(1))
            if stopped { return }
            dropStalledDeposits()
            guard ContinuousClock.now - lastSweep >= configuration.sweepInterval else { continue }
            lastSweep = .now
            do {
                let n = try store.deleteExpired(now: clock())
                let s = try store.statistics()
                logger.info(
                    "relay summary",
                    metadata: [
                        "bundles": "\(s.bundles)", "bytes": "\(s.bytes)", "expired": "\(n)", "links": "\(clients.count)",
                        "stored": "\(counters.stored)", "refused": "\(counters.refused)", "handedOut": "\(counters.handedOut)",
                    ])
            } catch {
                logger.warning("relay sweep failed", metadata: ["reason": "\(error)"])
            }
        }
    }

    // MARK: Links

    func run(_ channel: LinkChannel) async {
        let end = await host.run(
            channel,
            attach: { peer in attach(peer, channel: channel.channel) },
            handle: { frame, id throws(LinkError) in try handle(frame, from: id) })
        let reason = end.reason
        if let id = end.id, let c = clients.removeValue(forKey: id) {
            counters.linksClosed += 1
            subscribedTags -= c.tags.count
            if case .receiving(let d, _) = c.incoming { release(d, from: c) }
            if reason != "closed" {
                logClosed(c.address, reason)
            } else {
                logger.debug("relay link closed", metadata: ["peer": "\(c.address)"])
            }
        }
    }

    /// One line per kind of reason every 5 s, with a count of the ones not shown: a flood of bad
    /// links costs a counter, not a log line each.
    func logClosed(_ address: String, _ reason: String) {
        let key = String(reason.prefix(32))
        let now = ContinuousClock.now
        if let last = closeLog[key], now - last.at < .seconds(5) {
            closeLog[key]?.suppressed += 1
            return
        }
        let more = closeLog[key]?.suppressed ?? 0
        if closeLog.count > 64 { closeLog.removeAll() }
        closeLog[key] = (now, 0)
        var metadata: Logger.Metadata = ["peer": "\(address)", "reason": "\(reason)"]
        if more > 0 { metadata["moreLikeIt"] = "\(more)" }
        logger.notice("closed a relay link", metadata: metadata)
    }

    func attach(_ peer: LinkPeer, channel: Channel) -> Int? {
        guard !stopped else { return nil }
        let id = nextID
        nextID += 1
        let c = Client(
            id: id, channel: channel, address: peer.address, source: sourceHash(peer.address),
            challenge: Sodium.randomBytes(16))
        clients[id] = c
        channel.writeAndFlush(
            LinkFrame.relayWelcome(
                .init(challenge: c.challenge, bits: configuration.stampBits, maxBundle: configuration.maxBundle)),
            promise: nil)
        logger.debug("relay link up", metadata: ["peer": "\(peer.address)"])
        return id
    }

    /// An 8-byte keyed hash of the address block (IPv4 /24, IPv6 /48) a link comes from.
    func sourceHash(_ address: String) -> [UInt8] {
        let block = HostPort(parsing: address)?.block ?? address
        return Sodium.blake2b(outputLength: 8, key: sourceKey, Array("mule-relay-source-v1".utf8), Array(block.utf8))
    }

    func send(_ frame: LinkFrame, to c: Client) {
        c.channel.writeAndFlush(frame, promise: nil)
    }

    // MARK: Frames

    func handle(_ frame: LinkFrame, from id: Int) throws(LinkError) {
        assertIsolated("a link's frame handled off the relay actor")
        guard let c = clients[id] else { return }
        switch frame {
        case .ping:
            break
        case .deposit(let d):
            try deposit(d, from: c)
        case .part(let p):
            try part(p, from: c)
        case .subscribe(let tags), .subscribeMore(let tags):
            subscribedTags -= c.tags.count
            if case .subscribe = frame { c.tags = [] }
            c.tags.formUnion(tags)
            subscribedTags += c.tags.count
            if c.tags.count > LinkFrame.maxSubscribedTags { throw .unexpected("subscribing to too many tags") }
            if subscribedTags > configuration.maxSubscribedTags {
                throw .unexpected("the relay holds as many subscribed tags as it takes")
            }
            let ids: [[UInt8]]
            do { ids = try store.ids(forTags: tags, now: clock()) } catch {
                logger.warning("relay store read failed", metadata: ["reason": "\(error)"])
                return
            }
            for f in LinkFrame.batches(ids, LinkFrame.offer) { send(f, to: c) }
        case .want(let wants):
            c.queue += wants
            if !c.pumping {
                c.pumping = true
                Task { await self.pump(id) }
            }
        case .release(let values):
            release(values, from: c)
        case .watch(let hashes):
            c.watched.formUnion(hashes)
            if c.watched.count > 4 * LinkFrame.maxIDs { throw .unexpected("watching too many drop hashes") }
            if let acks = try? store.acks(for: hashes), !acks.isEmpty { send(.acks(acks), to: c) }
        case .syncStart, .sync, .offer, .relayWelcome, .depositResult, .acks:
            throw .unexpected("a frame a relay does not take")
        }
    }

    func refuse(_ id: [UInt8], _ result: LinkFrame.DepositResult, on c: Client, reason: String) {
        counters.refused += 1
        send(.depositResult(id: id, result: result), to: c)
        logger.debug("refused a deposit", metadata: ["peer": "\(c.address)", "reason": "\(reason)"])
    }

    /// A deposit's header: everything that can be checked before its bytes is checked here, and a
    /// refused deposit's bytes are only counted as they pass.
    func deposit(_ d: LinkFrame.Deposit, from c: Client) throws(LinkError) {
        guard case .idle = c.incoming else { throw .unexpected("a deposit before the previous one finished") }
        let total = Int(d.total)
        let bits = RelayStamp.bits(base: configuration.stampBits, total: d.total)
        guard RelayStamp.verify(challenge: c.challenge, id: d.id, total: d.total, nonce: d.nonce, bits: bits) else {
            c.badStamps += 1
            counters.badStamps += 1
            refuse(d.id, .badStamp, on: c, reason: "bad stamp")
            c.incoming = .discarding(id: d.id, left: total)
            if c.badStamps >= configuration.maxBadStamps {
                throw .unexpected("\(c.badStamps) deposits with a bad proof-of-work stamp")
            }
            return
        }
        if d.total > configuration.maxBundle {
            refuse(d.id, .tooLarge, on: c, reason: "\(d.total) bytes")
            c.incoming = .discarding(id: d.id, left: total)
            return
        }
        do {
            if let why = try store.wouldExceed(source: c.source, tag: nil, size: Int64(total), limits: configuration.limits) {
                refuse(d.id, .overQuota, on: c, reason: why)
                c.incoming = .discarding(id: d.id, left: total)
                return
            }
        } catch {
            logger.warning("relay store read failed", metadata: ["reason": "\(error)"])
            refuse(d.id, .busy, on: c, reason: "store")
            c.incoming = .discarding(id: d.id, left: total)
            return
        }
        guard buffered + total <= configuration.maxBufferedBytes else {
            refuse(d.id, .busy, on: c, reason: "\(buffered) bytes of deposits in progress")
            c.incoming = .discarding(id: d.id, left: total)
            return
        }
        // One source address block may hold only a share of the buffer, so a few links from one
        // place cannot make every other node's deposits busy.
        let fromSource = bufferedBySource[c.source, default: 0]
        guard fromSource + total <= configuration.maxBufferedBytesPerSource else {
            refuse(d.id, .busy, on: c, reason: "\(fromSource) bytes of deposits in progress from this source")
            c.incoming = .discarding(id: d.id, left: total)
            return
        }
        buffered += total
        bufferedBySource[c.source] = fromSource + total
        c.lastProgress = .now
        var buffer: [UInt8] = []
        buffer.reserveCapacity(min(total, 1 << 20))
        c.incoming = .receiving(d, buffer)
    }

    func part(_ p: LinkFrame.Part, from c: Client) throws(LinkError) {
        switch c.incoming {
        case .idle:
            throw .unexpected("a bundle part without a deposit")
        case .discarding(let id, let left):
            guard p.id == id, p.data.count <= left else { throw .unexpected("a part of another bundle") }
            c.incoming = left - p.data.count == 0 ? .idle : .discarding(id: id, left: left - p.data.count)
        case .receiving(let d, var buffer):
            guard p.id == d.id, p.total == d.total, Int(p.offset) == buffer.count else {
                throw .unexpected("a part that does not continue the deposit")
            }
            c.incoming = .idle
            buffer += p.data
            c.lastProgress = .now
            if buffer.count < Int(d.total) {
                c.incoming = .receiving(d, buffer)
                return
            }
            release(d, from: c)
            finish(d, buffer, from: c)
        }
    }

    /// Gives back the buffer share of a deposit that finished or whose link ended.
    func release(_ d: LinkFrame.Deposit, from c: Client) {
        buffered -= Int(d.total)
        let left = bufferedBySource[c.source, default: 0] - Int(d.total)
        bufferedBySource[c.source] = left > 0 ? left : nil
    }

    /// Closes the links whose deposit stopped arriving: a stalled deposit holds buffer space that
    /// other nodes' deposits need. Freed when the link ends.
    func dropStalledDeposits() {
        let now = ContinuousClock.now
        for c in clients.values {
            if case .receiving = c.incoming, now - c.lastProgress > configuration.depositStallTimeout {
                logClosed(c.address, "a deposit stalled")
                c.channel.close(promise: nil)
            }
        }
    }

    /// A deposit whose bytes all arrived: the bundle must match its id, be a Mule bundle, and be
    /// unexpired; then it is stored, and offered to the links that asked for its tag.
    func finish(_ d: LinkFrame.Deposit, _ bytes: [UInt8], from c: Client) {
        guard Sodium.blake2b(outputLength: 32, bytes) == d.id else {
            refuse(d.id, .invalid, on: c, reason: "bytes do not match the id")
            return
        }
        let bundle: MuleBundle
        do { bundle = try MuleBundle(try BundleCodec.decode(bytes)) } catch {
            refuse(d.id, .invalid, on: c, reason: "\(error)")
            return
        }
        let now = clock()
        let expires = Int64(clamping: bundle.expiresAtUnixMs)
        guard expires > now else {
            refuse(d.id, .invalid, on: c, reason: "expired")
            return
        }
        var dropHash: [UInt8]?
        if case .message(let env) = bundle.envelope { dropHash = env.dropHash }
        if case .receipt(let r) = bundle.envelope {
            // A receipt proves its messages delivered, as it does to any carrier.
            applyAcks(r.acks.map { (Sealer.dropHash(ackSecret: $0), $0) }, receipts: [], tags: [])
        }
        let entry = RelayStore.Entry(
            id: d.id, tag: bundle.tag, dropHash: dropHash, source: c.source,
            expiresAt: min(expires, now + configuration.maxKeepMs), data: bytes)
        let admission: RelayStore.Admission
        do { admission = try store.admit(entry, limits: configuration.limits) } catch {
            logger.warning("relay store write failed", metadata: ["reason": "\(error)"])
            refuse(d.id, .busy, on: c, reason: "store")
            return
        }
        switch admission {
        case .known:
            send(.depositResult(id: d.id, result: .known), to: c)
        case .overQuota(let why):
            refuse(d.id, .overQuota, on: c, reason: why)
        case .stored:
            counters.stored += 1
            send(.depositResult(id: d.id, result: .stored), to: c)
            for other in clients.values where other.tags.contains(bundle.tag) {
                send(.offer([d.id]), to: other)
            }
        }
    }

    /// Proofs of delivery from a recipient: ack secrets delete their messages (and tell the
    /// senders watching them); receipt ids delete receipts whose tag the link subscribed to.
    func release(_ values: [[UInt8]], from c: Client) {
        applyAcks(values.map { (Sealer.dropHash(ackSecret: $0), $0) }, receipts: values, tags: c.tags)
    }

    func applyAcks(_ acks: [(dropHash: [UInt8], ack: [UInt8])], receipts: [[UInt8]], tags: Set<[UInt8]>) {
        let watched = clients.values.reduce(into: Set<[UInt8]>()) { $0.formUnion($1.watched) }
        do {
            let n = try store.release(
                acks: acks, receipts: receipts, tags: tags, watched: watched, keepUntil: clock() + configuration.maxKeepMs)
            counters.released += n
        } catch {
            logger.warning("relay store write failed", metadata: ["reason": "\(error)"])
            return
        }
        for other in clients.values where !other.watched.isEmpty {
            let mine = acks.filter { other.watched.contains($0.dropHash) }
            guard !mine.isEmpty else { continue }
            send(.acks(mine.map(\.ack)), to: other)
            for m in mine { other.watched.remove(m.dropHash) }
        }
    }

    /// Sends the bundles a link asked for, in parts, a batch at a time.
    func pump(_ id: Int) async {
        guard let channel = clients[id]?.channel else { return }
        let done = await channel.sendWanted(
            next: { () -> [(LinkFrame.Want, RelayStore.Entry?)] in
                guard let c = clients[id] else { return [] }
                let batch = c.queue.prefix(64)
                c.queue.removeFirst(batch.count)
                // Only bundles under a tag the link subscribed to; anything else is `gone` to it.
                return batch.map { w in (w, (try? store.entry(id: w.id)).flatMap { c.tags.contains($0.tag) ? $0 : nil }) }
            },
            data: \.data,
            progress: { _, _ in clients[id] != nil },
            sent: { _ in counters.handedOut += 1 })
        if done { clients[id]?.pumping = false }
    }
}
