import Foundation
import Hummingbird
import Logging
import MuleNode
import MuleWire
import NIOCore
import ServiceLifecycle

/// The web app, running: a Hummingbird server on `configuration.listen` until `stop()`.
public final class WebServer: Sendable {
    public let auth: WebAuth
    public let port: Int
    public let configuration: WebConfiguration
    private let task: Task<Void, Never>
    private let group: ServiceGroup
    private let streams: EventStreams

    /// Why the web app could not start.
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Holds the bound port for the guard, which is built before the server binds.
    final class PortBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        var port: Int {
            get { lock.withLock { value } }
            set { lock.withLock { value = newValue } }
        }
    }

    /// The pages' event streams: ended first when the server stops, so that it can finish its
    /// requests and stop gracefully (an open stream would hold it).
    final class EventStreams: @unchecked Sendable {
        private let lock = NSLock()
        private var open: [Int: (AsyncStream<EventRecord>.Continuation, Task<Void, Never>)] = [:]
        private var next = 0
        private var closed = false

        func wrap(_ inner: AsyncStream<EventRecord>) -> AsyncStream<EventRecord> {
            let (stream, continuation) = AsyncStream.makeStream(of: EventRecord.self)
            let forward = Task {
                for await e in inner { continuation.yield(e) }
                continuation.finish()
            }
            let id: Int? = lock.withLock {
                guard !closed else { return nil }
                next += 1
                open[next] = (continuation, forward)
                return next
            }
            guard let id else {
                forward.cancel()
                continuation.finish()
                return stream
            }
            continuation.onTermination = { [weak self] _ in
                forward.cancel()
                self?.lock.withLock { _ = self?.open.removeValue(forKey: id) }
            }
            return stream
        }

        func closeAll() {
            let all = lock.withLock {
                closed = true
                let all = Array(open.values)
                open.removeAll()
                return all
            }
            for (c, t) in all {
                t.cancel()
                c.finish()
            }
        }
    }

    private init(
        auth: WebAuth, port: Int, configuration: WebConfiguration, task: Task<Void, Never>, group: ServiceGroup,
        streams: EventStreams
    ) {
        self.auth = auth
        self.port = port
        self.configuration = configuration
        self.task = task
        self.group = group
        self.streams = streams
    }

    /// Starts serving `context`; returns once the server listens.
    public static func start(
        context: WebContext, configuration: WebConfiguration, auth: WebAuth, logger: Logger
    ) async throws(StartError) -> WebServer {
        guard configuration.isLoopback || configuration.allowRemote else {
            throw StartError(
                description: "the web app listens on loopback only; binding to \(configuration.listen) needs --ui-allow-remote")
        }
        let box = PortBox()
        box.port = configuration.listen.port
        let streams = EventStreams()
        let served = WebContext(node: context.node, events: { streams.wrap(context.events()) }, network: context.network)
        let router = WebApp.router(context: served, auth: auth, configuration: configuration) { box.port }
        let (ready, readySink) = AsyncStream.makeStream(of: Result<Int, StartError>.self)
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let app = Application(
            router: router,
            configuration: .init(
                address: .hostname(configuration.listen.host, port: configuration.listen.port), serverName: nil,
                reuseAddress: true),
            onServerRunning: { channel in
                readySink.yield(.success(channel.localAddress?.port ?? 0))
                readySink.finish()
            },
            logger: quiet)
        let group = ServiceGroup(services: [app], logger: quiet)
        let task = Task {
            do { try await group.run() } catch {
                readySink.yield(.failure(StartError(description: "cannot listen on \(configuration.listen): \(error)")))
                readySink.finish()
            }
        }
        var result: Result<Int, StartError> = .failure(StartError(description: "the web app did not start"))
        for await r in ready {
            result = r
            break
        }
        switch result {
        case .success(let port):
            box.port = port
            return WebServer(auth: auth, port: port, configuration: configuration, task: task, group: group, streams: streams)
        case .failure(let e):
            task.cancel()
            throw e
        }
    }

    /// A new login link: opening it once signs a browser in.
    public func loginURL() -> String {
        let host = configuration.isLoopback || configuration.listen.host == "0.0.0.0" ? "127.0.0.1" : configuration.listen.host
        return "http://\(HostPort(host: host, port: port))/login?token=\(auth.mintToken())"
    }

    /// Ends the pages' event streams, lets the requests in progress finish, and stops; what has
    /// not finished within 3 s is cancelled.
    public func stop() async {
        streams.closeAll()
        await group.triggerGracefulShutdown()
        let task = self.task
        let deadline = Task {
            try? await Task.sleep(for: .seconds(3))
            task.cancel()
        }
        await task.value
        deadline.cancel()
    }
}
