import Logging
import MuleCrypto
import NIOCore

/// What a link hands to its owner: first the peer it reached, then that peer's frames in order,
/// as many as one read from the socket held at once (each event costs its owner a hop onto its
/// actor, so frames that arrive together travel together).
public enum LinkEvent: Sendable {
    case established(LinkPeer)
    case frames([LinkFrame])
}

/// The far end of an established link.
public struct LinkPeer: Sendable {
    /// The peer's Noise static key: random for each run of the peer, learnt inside the handshake.
    public var linkKey: [UInt8]
    public var hello: LinkHello
    /// True if this side opened the connection.
    public var weInitiated: Bool
    public var address: String
}

/// The settings every link of a node shares.
public struct LinkConfiguration: Sendable {
    public static let prologue = Array("mule-link-v1".utf8)

    /// This run's Noise static key (not the identity key).
    public var staticKey: AgreementKey
    public var hello: LinkHello
    public var handshakeTimeout: TimeAmount = .seconds(5)
    public var idleTimeout: TimeAmount = .seconds(90)
    public var gate: LinkGate
    public var logger: Logger

    public init(staticKey: AgreementKey, hello: LinkHello, gate: LinkGate, logger: Logger) {
        self.staticKey = staticKey
        self.hello = hello
        self.gate = gate
        self.logger = logger
    }
}

/// Runs the Noise_XX handshake on a TCP connection, then carries `LinkFrame`s inside Noise
/// transport messages. On the wire every Noise message is `u16 length ‖ message`.
///
/// Any protocol violation, a handshake that does not finish within the timeout, or silence longer
/// than the idle timeout closes the connection with one log line; other links are not affected.
public final class NoiseLinkHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = LinkEvent
    public typealias OutboundIn = LinkFrame
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case handshaking(NoiseXX)
        case transport(send: NoiseCipherState, receive: NoiseCipherState)
        case closed
    }

    static let maxHandshakeMessage = 1024

    private let configuration: LinkConfiguration
    private let isInitiator: Bool
    private var state = State.idle
    private var inbound: ByteBuffer?
    private var assembler = FrameAssembler()
    private var pendingPlain: [UInt8] = []
    private var pendingPromises: [EventLoopPromise<Void>] = []
    private var address = "?"
    /// The remote IP address: what the gate counts links by.
    private var gateKey = "?"
    private var gated = false
    private var established = false
    private var lastRead = NIODeadline.now()

    public init(configuration: LinkConfiguration, initiator: Bool) {
        self.configuration = configuration
        self.isInitiator = initiator
    }

    public func channelActive(context: ChannelHandlerContext) {
        address = context.remoteAddress.map(Self.describe) ?? "?"
        gateKey = context.remoteAddress?.ipAddress ?? address
        if let refused = configuration.gate.enterHandshake(from: gateKey) {
            configuration.logger.notice("refused link", metadata: ["peer": "\(address)", "reason": "\(refused)"])
            state = .closed
            context.close(promise: nil)
            return
        }
        gated = true
        var hs = NoiseXX(initiator: isInitiator, staticKey: configuration.staticKey, prologue: LinkConfiguration.prologue)
        if isInitiator {
            do {
                let m1 = try hs.writeMessage()
                send(m1, context: context)
                context.flush()
            } catch {
                fail(.noise(error), context: context)
                return
            }
        }
        state = .handshaking(hs)
        let idle = configuration.idleTimeout
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        repeatTask = context.eventLoop.scheduleRepeatedTask(
            initialDelay: configuration.handshakeTimeout, delay: .seconds(1)
        ) { _ in
            let (handler, context) = bound.value
            if !handler.established {
                handler.fail(.handshakeTimeout, context: context)
            } else if NIODeadline.now() - handler.lastRead > idle {
                handler.fail(.idleTimeout, context: context)
            }
        }
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        release()
        state = .closed
        let error = ChannelError.ioOnClosedChannel
        for p in pendingPromises { p.fail(error) }
        pendingPromises = []
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func release() {
        repeatTask?.cancel()
        repeatTask = nil
        if gated {
            gated = false
            configuration.gate.leave(established: established, from: gateKey)
        }
    }

    private var repeatTask: RepeatedTask?

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        lastRead = .now()
        if inbound == nil {
            inbound = bytes
        } else {
            if inbound!.readerIndex > 1 << 16 { inbound!.discardReadBytes() }
            inbound!.writeBuffer(&bytes)
        }
        while isOpen, var buf = inbound, buf.readableBytes >= 2 {
            let n = Int(buf.getInteger(at: buf.readerIndex, as: UInt16.self)!)
            if case .handshaking = state, n > NoiseLinkHandler.maxHandshakeMessage {
                // Handshake messages are small: refuse before waiting for the rest.
                fail(.noise(.tooLong(n)), context: context)
                return
            }
            guard buf.readableBytes >= 2 + n else { break }
            buf.moveReaderIndex(forwardBy: 2)
            let message = buf.readBytes(length: n)!
            inbound = buf.readableBytes > 0 ? buf : nil
            do {
                try process(message, context: context)
            } catch {
                deliver(context: context)
                fail(error, context: context)
                return
            }
        }
        deliver(context: context)
    }

    /// The frames decoded from one read, passed on as one event.
    private var batch: [LinkFrame] = []

    private func deliver(context: ChannelHandlerContext) {
        guard !batch.isEmpty else { return }
        let frames = batch
        batch = []
        HandOff.release(context.channel)
        context.fireChannelRead(wrapInboundOut(.frames(frames)))
    }

    private var isOpen: Bool {
        if case .closed = state { return false }
        return true
    }

    private func process(_ message: [UInt8], context: ChannelHandlerContext) throws(LinkError) {
        switch state {
        case .idle, .closed:
            return
        case .handshaking(var hs):
            let payload: [UInt8]
            do { payload = try hs.readMessage(message) } catch { throw .noise(error) }
            if !hs.isComplete {
                // Message 1 is cleartext: its payload must be empty.
                if !isInitiator { guard payload.isEmpty else { throw .malformedHello("message 1 carries a payload") } }
                // Our turn: message 2 (responder) or 3 (initiator) carries our hello, encrypted.
                let reply: [UInt8]
                do { reply = try hs.writeMessage(payload: configuration.hello.encode()) } catch { throw .noise(error) }
                send(reply, context: context)
                context.flush()
                guard hs.isComplete else {
                    state = .handshaking(hs)
                    return
                }
            }
            let hello = try LinkHello.decode(payload)
            let split: (send: NoiseCipherState, receive: NoiseCipherState)
            do { split = try hs.split() } catch { throw .noise(error) }
            state = .transport(send: split.send, receive: split.receive)
            established = true
            configuration.gate.handshakeDone(from: gateKey)
            let peer = LinkPeer(linkKey: hs.remoteStatic ?? [], hello: hello, weInitiated: isInitiator, address: address)
            HandOff.release(context.channel)
            context.fireChannelRead(wrapInboundOut(.established(peer)))
        case .transport(let s, var receive):
            let plain: [UInt8]
            do { plain = try receive.decrypt(ad: [], message) } catch { throw .noise(error) }
            state = .transport(send: s, receive: receive)
            assembler.append(plain)
            while let frame = try assembler.next() { batch.append(frame) }
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .transport = state else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        unwrapOutboundIn(data).encode(into: &pendingPlain)
        if let promise { pendingPromises.append(promise) }
    }

    /// Frames written since the last flush travel together: as few Noise messages as fit.
    public func flush(context: ChannelHandlerContext) {
        guard case .transport(var sendState, let receive) = state, !pendingPlain.isEmpty else {
            context.flush()
            return
        }
        let chunk = NoiseCipherState.maxMessage - NoiseCipherState.tagLength
        var out = context.channel.allocator.buffer(capacity: pendingPlain.count + (pendingPlain.count / chunk + 1) * 18)
        var i = 0
        do {
            while i < pendingPlain.count {
                let end = min(i + chunk, pendingPlain.count)
                let ct = try sendState.encrypt(ad: [], Array(pendingPlain[i..<end]))
                out.writeInteger(UInt16(ct.count))
                out.writeBytes(ct)
                i = end
            }
        } catch {
            fail(.noise(error), context: context)
            return
        }
        state = .transport(send: sendState, receive: receive)
        pendingPlain.removeAll(keepingCapacity: pendingPlain.count < 1 << 20)
        let promises = pendingPromises
        pendingPromises = []
        let p: EventLoopPromise<Void>? = promises.isEmpty ? nil : context.eventLoop.makePromise()
        if let p { p.futureResult.whenComplete { r in for q in promises { q.completeWith(r) } } }
        context.writeAndFlush(wrapOutboundOut(out), promise: p)
    }

    private func send(_ message: [UInt8], context: ChannelHandlerContext) {
        var buf = context.channel.allocator.buffer(capacity: message.count + 2)
        buf.writeInteger(UInt16(message.count))
        buf.writeBytes(message)
        context.write(wrapOutboundOut(buf), promise: nil)
    }

    private func fail(_ error: LinkError, context: ChannelHandlerContext) {
        if case .closed = state { return }
        state = .closed
        configuration.logger.notice("dropped link", metadata: ["peer": "\(address)", "reason": "\(error)"])
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    static func describe(_ a: SocketAddress) -> String {
        guard let ip = a.ipAddress, let port = a.port else { return "\(a)" }
        return ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
}
