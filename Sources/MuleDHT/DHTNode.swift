import Logging
import MuleCrypto
import MuleWire
import NIOCore
import NIOPosix

/// A Mainline DHT node (BEP 5, BEP 44) on one SwiftNIO UDP socket. The actor owns the routing
/// table, the item store, the write tokens and the pending queries; the channel handler only
/// hands datagrams in.
public actor DHTNode {
    public nonisolated let ownID: NodeID
    let configuration: DHTConfiguration
    let logger: Logger
    let clock: @Sendable () -> UInt64
    var table: RoutingTable
    var store: ItemStore
    var tokens: TokenIssuer
    var channel: Channel?
    var pending: [UInt16: Pending] = [:]
    var nextTransaction = UInt16.random(in: 0...UInt16.max)
    var bootstrapAddresses: [DHTAddress] = []
    var observed: [DHTAddress: Int] = [:]
    var rate: [UInt64: (second: UInt64, count: Int)] = [:]
    var drops = DropLog()
    var maintenance: Task<Void, Never>?
    public private(set) var counters = Counters()
    var lookupInboxes: [UInt64: LookupInbox] = [:]

    struct LookupInbox {
        var results: [(DHTAddress, Result<BDict, DHTError>)] = []
        var waiter: CheckedContinuation<[(DHTAddress, Result<BDict, DHTError>)], Never>?
    }

    public struct Counters: Sendable {
        public var queriesAnswered = 0
        public var queriesSent = 0
        public var timeouts = 0
        public var dropped = 0
    }

    struct Pending {
        var address: DHTAddress
        var continuation: CheckedContinuation<KRPCMessage, Error>
    }

    public init(
        configuration: DHTConfiguration, logger: Logger = Logger(label: "mule.dht"),
        clock: @escaping @Sendable () -> UInt64 = DHTNode.systemClock
    ) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        ownID = NodeID(Sodium.randomBytes(NodeID.length))!
        table = RoutingTable(ownID: ownID, k: configuration.k)
        store = ItemStore(limits: configuration.storeLimits)
        tokens = TokenIssuer(nowMs: clock(), random: { Sodium.randomBytes($0) })
    }

    @Sendable public static func systemClock() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1000 + UInt64(ts.tv_nsec) / 1_000_000
    }

    // MARK: Life cycle

    /// Binds the socket and resolves the bootstrap names. Sends nothing yet.
    public func start(group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws(DHTError) -> DHTAddress {
        let (stream, continuation) = AsyncStream<(UInt32, UInt16, [UInt8])>.makeStream(
            bufferingPolicy: .bufferingNewest(4096))
        do {
            let ch = try await DatagramBootstrap(group: group)
                .channelInitializer { ch in
                    ch.eventLoop.makeCompletedFuture {
                        try ch.pipeline.syncOperations.addHandler(DatagramInbound(continuation: continuation))
                    }
                }
                .bind(host: configuration.listen.host, port: Int(configuration.listen.port)).get()
            channel = ch
        } catch {
            throw .cannotBind("\(configuration.listen): \(error)")
        }
        Task { [weak self] in
            for await (ip, port, bytes) in stream {
                guard let self else { return }
                await self.received(bytes, from: DHTAddress(ip: ip, port: port))
            }
        }
        bootstrapAddresses = await DHTNode.resolve(configuration.bootstrap, logger: logger)
        guard let local = channel?.localAddress, let port = local.port else { throw .cannotBind("no local address") }
        return DHTAddress(ip: configuration.listen.ip, port: UInt16(port))
    }

    public func stop() async {
        maintenance?.cancel()
        maintenance = nil
        for (_, p) in pending { p.continuation.resume(throwing: DHTError.stopped) }
        pending = [:]
        try? await channel?.close()
        channel = nil
    }

    /// Joins through the bootstrap nodes (a lookup of the own id) and keeps the table fresh.
    public func join() async throws(DHTError) {
        let result = await lookup(ownID, method: "find_node")
        guard result.answered > 0 else { throw .noNodes }
        maintenance = Task { [weak self, interval = configuration.maintenanceInterval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                await self?.maintain()
            }
        }
    }

    func maintain() async {
        let now = clock()
        for n in table.stale(nowMs: now, staleMs: 15 * 60_000).prefix(8) { _ = try? await ping(n.address) }
        if table.count < configuration.k { _ = await lookup(ownID, method: "find_node") }
        _ = await lookup(NodeID(Sodium.randomBytes(NodeID.length))!, method: "find_node")
    }

    public var nodeCount: Int { table.count }
    public var knownNodes: [NodeInfo] { table.allNodes }
    public var storedItems: Int { store.itemCount }

    /// The address most responders saw this node's queries come from (BEP 42 `ip`), if any.
    public var externalAddress: DHTAddress? { observed.max(by: { $0.value < $1.value })?.key }

    /// Adds a node to try, as `add_dht_node` does elsewhere.
    public func addBootstrap(_ address: DHTAddress) { bootstrapAddresses.append(address) }

    static func resolve(_ names: [String], logger: Logger) async -> [DHTAddress] {
        var out: [DHTAddress] = []
        for name in names {
            if let a = DHTAddress(name) {
                out.append(a)
                continue
            }
            guard let a = HostPort(parsing: name, defaultHost: ""), !a.host.isEmpty else {
                logger.warning("ignoring bootstrap node \(name): not HOST:PORT")
                continue
            }
            let (host, port) = (a.host, a.port)
            // getaddrinfo blocks; keep it off the cooperative pool.
            let resolved = try? await NIOThreadPool.singleton.runIfActive {
                try SocketAddress.makeAddressResolvingHost(host, port: port)
            }
            if case .v4(let v4)? = resolved {
                out.append(DHTAddress(ip: UInt32(bigEndian: v4.address.sin_addr.s_addr), port: UInt16(port)))
            } else {
                logger.warning("cannot resolve bootstrap node \(name)")
            }
        }
        return out
    }

    // MARK: Sending

    func send(_ message: KRPCMessage, to address: DHTAddress) {
        guard let channel else { return }
        let bytes = message.encoded()
        guard let remote = try? SocketAddress(ipAddress: address.host, port: Int(address.port)) else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
    }

    /// Sends a query and waits for its answer; a KRPC error answer throws `.remote`.
    public func query(_ method: String, _ arguments: BDict, to address: DHTAddress) async throws(DHTError) -> BDict {
        guard channel != nil else { throw .stopped }
        var args = arguments
        args["id"] = .bytes(ownID.bytes)
        nextTransaction &+= 1
        while pending[nextTransaction] != nil { nextTransaction &+= 1 }
        let t = nextTransaction
        let message = KRPCMessage(
            transaction: [UInt8(t >> 8), UInt8(t & 0xFF)], body: .query(method: method, arguments: args))
        counters.queriesSent += 1
        let timeout = configuration.queryTimeout
        let reply: KRPCMessage
        do {
            reply = try await withCheckedThrowingContinuation { c in
                pending[t] = Pending(address: address, continuation: c)
                send(message, to: address)
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    await self?.expire(t)
                }
            }
        } catch let e as DHTError {
            throw e
        } catch {
            throw .stopped
        }
        switch reply.body {
        case .response(let r): return r
        case .error(let code, let m): throw .remote(code: code, message: m)
        case .query: throw .malformed("query in place of an answer")
        }
    }

    func expire(_ t: UInt16) {
        guard let p = pending.removeValue(forKey: t) else { return }
        counters.timeouts += 1
        table.failed(p.address)
        p.continuation.resume(throwing: DHTError.timeout(p.address))
    }

    // MARK: Receiving

    func received(_ bytes: [UInt8], from address: DHTAddress) {
        guard bytes.count <= KRPCMessage.maxDatagram else {
            return drop("oversized datagram (\(bytes.count) bytes)", from: address)
        }
        let message: KRPCMessage
        do { message = try KRPCMessage.decode(bytes) } catch { return drop("\(error)", from: address) }
        switch message.body {
        case .query(let method, let args):
            let now = clock()
            let second = now / 1000
            let block = address.block
            var r = rate[block] ?? (second, 0)
            if r.second != second { r = (second, 0) }
            r.count += 1
            rate[block] = r
            if rate.count > 10_000 { rate = rate.filter { $0.value.second == second } }
            guard r.count <= configuration.queriesPerSecondPerBlock else {
                return drop("query rate over the limit", from: address)
            }
            if !message.readOnly, configuration.allows(address), let id = message.senderID {
                table.heard(NodeInfo(id: id, address: address), verified: false, nowMs: now)
            }
            counters.queriesAnswered += 1
            let body = answer(method, args, from: address)
            send(KRPCMessage(transaction: message.transaction, body: body, observedAddress: address), to: address)
        case .response, .error:
            guard message.transaction.count == 2 else { return drop("answer to no query of ours", from: address) }
            let t = UInt16(message.transaction[0]) << 8 | UInt16(message.transaction[1])
            guard let p = pending[t], p.address == address else { return drop("answer to no query of ours", from: address) }
            pending[t] = nil
            if let id = message.senderID, configuration.allows(address) {
                table.heard(NodeInfo(id: id, address: address), verified: true, nowMs: clock())
            }
            if let ip = message.observedAddress {
                observed[ip, default: 0] += 1
                if observed.count > 64 { observed = observed.filter { $0.value > 1 } }
            }
            p.continuation.resume(returning: message)
        }
    }

    func drop(_ why: String, from address: DHTAddress) {
        counters.dropped += 1
        if let line = drops.note(why, from: address, nowMs: clock()) { logger.notice("\(line)") }
    }

    // MARK: Answering

    func answer(_ method: String, _ args: BDict, from address: DHTAddress) -> KRPCMessage.Body {
        var r = BDict()
        r["id"] = .bytes(ownID.bytes)
        let now = clock()
        switch method {
        case "ping":
            return .response(r)
        case "find_node":
            guard let t = args["target"]?.bytes.flatMap(NodeID.init) else { return protocolError("find_node without a target") }
            r["nodes"] = .bytes(NodeInfo.encodeCompact(table.closest(to: t, count: configuration.k)))
            return .response(r)
        case "get_peers":
            guard let h = args["info_hash"]?.bytes.flatMap(NodeID.init) else {
                return protocolError("get_peers without an info_hash")
            }
            r["token"] = .bytes(tokens.token(for: address, nowMs: now))
            let peers = store.peers(h, nowMs: now)
            if peers.isEmpty {
                r["nodes"] = .bytes(NodeInfo.encodeCompact(table.closest(to: h, count: configuration.k)))
            } else {
                r["values"] = .list(peers.map { .bytes($0.compact) })
            }
            return .response(r)
        case "announce_peer":
            guard let h = args["info_hash"]?.bytes.flatMap(NodeID.init), let token = args["token"]?.bytes else {
                return protocolError("announce_peer without info_hash or token")
            }
            guard tokens.check(token, from: address, nowMs: now) else { return protocolError("bad token") }
            let implied = args["implied_port"]?.int == 1
            guard let port = implied ? Int64(address.port) : args["port"]?.int, (1...65535).contains(port) else {
                return protocolError("bad port")
            }
            _ = store.announce(DHTAddress(ip: address.ip, port: UInt16(port)), infoHash: h, nowMs: now)
            return .response(r)
        case "get":
            guard let t = args["target"]?.bytes.flatMap(NodeID.init) else { return protocolError("get without a target") }
            r["token"] = .bytes(tokens.token(for: address, nowMs: now))
            r["nodes"] = .bytes(NodeInfo.encodeCompact(table.closest(to: t, count: configuration.k)))
            if let item = store.item(t, nowMs: now) {
                if let m = item.mutable {
                    r["k"] = .bytes(m.publicKey)
                    r["seq"] = .int(m.sequence)
                    r["sig"] = .bytes(m.signature)
                    if let have = args["seq"]?.int, have >= m.sequence { return .response(r) }
                }
                if let v = try? Bencode.decode(item.value) { r.setRaw("v", value: v, raw: item.value) }
            }
            return .response(r)
        case "put":
            return put(args, from: address, nowMs: now, reply: r)
        default:
            return .error(code: KRPCErrorCode.methodUnknown, message: "Method Unknown")
        }
    }

    func put(_ args: BDict, from address: DHTAddress, nowMs now: UInt64, reply r: BDict) -> KRPCMessage.Body {
        guard let token = args["token"]?.bytes, let v = args.raw("v"), args["v"] != nil else {
            return protocolError("put without token or v")
        }
        guard v.count <= DHTItem.maxValue else { return .error(code: KRPCErrorCode.valueTooBig, message: "v too big") }
        guard tokens.check(token, from: address, nowMs: now) else { return protocolError("bad token") }
        var item = DHTItem(immutable: v)
        var cas: Int64?
        if let k = args["k"]?.bytes {
            guard let sig = args["sig"]?.bytes, let seq = args["seq"]?.int else { return protocolError("put without sig or seq") }
            let salt = args["salt"]?.bytes ?? []
            guard salt.count <= DHTItem.maxSalt else { return .error(code: KRPCErrorCode.saltTooBig, message: "salt too big") }
            item = DHTItem(value: v, mutable: .init(publicKey: k, salt: salt, sequence: seq, signature: sig))
            cas = args["cas"]?.int
        }
        do { try item.validate() } catch {
            drop("put refused: \(error)", from: address)
            return .error(code: KRPCErrorCode.invalidSignature, message: "invalid signature")
        }
        do { try store.put(item, cas: cas, from: address.block, nowMs: now) } catch {
            switch error {
            case .sequenceTooLow: return .error(code: KRPCErrorCode.sequenceTooLow, message: "sequence number less than current")
            case .casMismatch: return .error(code: KRPCErrorCode.casMismatch, message: "CAS mismatch")
            case .full: return .error(code: KRPCErrorCode.server, message: "storage full")
            }
        }
        return .response(r)
    }

    func protocolError(_ m: String) -> KRPCMessage.Body { .error(code: KRPCErrorCode.protocolError, message: m) }
}

/// Rate-limited drop logging: one line per reason per 5 seconds, with how many were not shown,
/// so a flood costs a counter increment, not a log line per packet.
struct DropLog {
    var last: [String: (ms: UInt64, suppressed: Int)] = [:]

    mutating func note(_ why: String, from address: DHTAddress, nowMs: UInt64) -> String? {
        let key = String(why.prefix(40))
        if var l = last[key], nowMs &- l.ms < 5000 {
            l.suppressed += 1
            last[key] = l
            return nil
        }
        let suppressed = last[key]?.suppressed ?? 0
        last[key] = (nowMs, 0)
        if last.count > 256 { last = [:] }
        return "dht: dropped a datagram from \(address): \(why)" + (suppressed > 0 ? " (and \(suppressed) more like it)" : "")
    }
}

/// Hands each inbound datagram to the node's stream.
final class DatagramInbound: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<(UInt32, UInt16, [UInt8])>.Continuation

    init(continuation: AsyncStream<(UInt32, UInt16, [UInt8])>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard case .v4(let v4) = envelope.remoteAddress, let port = envelope.remoteAddress.port else { return }
        var buffer = envelope.data
        // Read at most one byte past the limit: enough to know it is too big.
        let n = min(buffer.readableBytes, KRPCMessage.maxDatagram + 1)
        let bytes = buffer.readBytes(length: n) ?? []
        continuation.yield((UInt32(bigEndian: v4.address.sin_addr.s_addr), UInt16(port), bytes))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }
}
