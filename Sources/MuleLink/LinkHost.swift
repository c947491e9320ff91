import MuleWire
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A link as its owner runs it: Noise events in, frames out.
public typealias LinkChannel = NIOAsyncChannel<LinkEvent, LinkFrame>

/// Why a host could not listen.
public struct LinkListenError: Error, Sendable, CustomStringConvertible {
    public var address: String
    public var reason: String
    public var description: String { "cannot listen on \(address): \(reason)" }
}

/// What every owner of links (the mesh, the relay) needs and nothing of what it does with them:
/// an event loop, a listener whose connections start the Noise handshake, dialling, running each
/// connection to its end on the owner's actor, and closing them all on the way out.
///
/// One per owner, kept in the owner's actor and used only there: its methods run on their
/// caller's actor, so its bookkeeping is the owner's state and needs no lock.
public final class LinkHost {
    public let group: MultiThreadedEventLoopGroup
    private let base: LinkConfiguration
    /// The hello new links send: it changes when a visible node's prekey rotates, and the listener
    /// reads it on the event loop, hence the lock.
    private let hello: NIOLockedValueBox<LinkHello>
    let waterMark: ChannelOptions.Types.WriteBufferWaterMark?
    private var listener: Channel?
    /// Accepts connections; it closes the listening channel on its way out, so `close` waits for it.
    private var listenerTask: Task<Void, Never>?
    /// Every connection being run, handshaking or linked.
    private var open: [ObjectIdentifier: Channel] = [:]
    public private(set) var closing = false
    public private(set) var boundPort: Int?

    /// `waterMark` bounds what is written to a link and not yet taken by its socket.
    public init(configuration: LinkConfiguration, waterMark: ChannelOptions.Types.WriteBufferWaterMark? = nil) {
        base = configuration
        hello = NIOLockedValueBox(configuration.hello)
        self.waterMark = waterMark
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    /// The configuration new links use, with the current hello.
    public var configuration: LinkConfiguration {
        var c = base
        c.hello = hello.withLockedValue { $0 }
        return c
    }

    /// Replaces the hello that links made from now on send (links up already keep theirs).
    public func setHello(_ new: LinkHello) {
        hello.withLockedValue { $0 = new }
    }

    /// Connections being run now, handshaking or linked.
    public var openCount: Int { open.count }

    static func configure(_ channel: Channel, _ configuration: LinkConfiguration, initiator: Bool) throws -> LinkChannel {
        try channel.pipeline.syncOperations.addHandler(NoiseLinkHandler(configuration: configuration, initiator: initiator))
        return try LinkChannel(wrappingChannelSynchronously: channel)
    }

    /// Listens on `host:port` and hands each accepted connection, handshake under way, to
    /// `accept` on a task of its own. Returns the bound port.
    @discardableResult
    public func listen(
        host: String, port: Int, backlog: Int32 = 64, accept: @escaping @Sendable (LinkChannel) async -> Void
    ) async throws(LinkListenError) -> Int {
        let address = HostPort(host: host, port: port).description
        let server: NIOAsyncChannel<LinkChannel, Never>
        do {
            var bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.backlog, value: backlog)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            if let waterMark { bootstrap = bootstrap.childChannelOption(.writeBufferWaterMark, value: waterMark) }
            server = try await bootstrap.bind(host: host, port: port) { [base, hello] channel in
                var c = base
                c.hello = hello.withLockedValue { $0 }
                return channel.eventLoop.makeCompletedFuture { try LinkHost.configure(channel, c, initiator: false) }
            }
        } catch let e as IOError {
            throw LinkListenError(address: address, reason: String(cString: strerror(e.errnoCode)))
        } catch {
            throw LinkListenError(address: address, reason: "\(error)")
        }
        listener = server.channel
        boundPort = server.channel.localAddress?.port
        let logger = configuration.logger
        listenerTask = Task {
            do {
                try await server.executeThenClose { inbound in
                    for try await child in inbound {
                        Task { await accept(child) }
                    }
                }
            } catch {
                logger.debug("listener closed", metadata: ["reason": "\(error)"])
            }
        }
        return boundPort ?? port
    }

    /// Connects to `host:port` and starts the handshake as the initiator; `configuration`
    /// replaces the host's own for this link (a relay gets a key of its own).
    public func dial(
        host: String, port: Int, timeout: TimeAmount = .seconds(5), configuration: LinkConfiguration? = nil
    ) async throws -> LinkChannel {
        let c = configuration ?? self.configuration
        var bootstrap = ClientBootstrap(group: group)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        if let waterMark { bootstrap = bootstrap.channelOption(.writeBufferWaterMark, value: waterMark) }
        return try await bootstrap.connect(host: host, port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try LinkHost.configure(channel, c, initiator: true) }
        }
    }

    /// Runs one connection to its end on the caller's actor (`runLink`), and keeps it in the set
    /// that `close` closes. A connection that arrives while closing is closed at once.
    public func run<ID>(
        _ channel: LinkChannel,
        isolation: isolated (any Actor)? = #isolation,
        attach: (LinkPeer) -> ID?,
        handle: (LinkFrame, ID) throws(LinkError) -> Void
    ) async -> LinkEnd<ID> {
        let key = ObjectIdentifier(channel.channel)
        open[key] = channel.channel
        defer { open[key] = nil }
        if closing { channel.channel.close(promise: nil) }
        return await channel.runLink(isolation: isolation, attach: attach, handle: handle)
    }

    /// Stops listening and closes every connection, then waits (at most 3 s) until they have
    /// finished closing and `settled()` holds.
    public func close(isolation: isolated (any Actor)? = #isolation, settled: () -> Bool = { true }) async {
        closing = true
        try? await listener?.close()
        await listenerTask?.value
        for channel in open.values { channel.close(promise: nil) }
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(3) {
            if open.isEmpty && settled() { break }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Ends the event loop: after `close`.
    public func shutdown() async {
        try? await group.shutdownGracefully()
    }
}
