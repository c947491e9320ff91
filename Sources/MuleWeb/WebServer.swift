import Foundation
import Hummingbird
import Logging
import MuleWire
import NIOCore

/// The web app, running: a Hummingbird server on `configuration.listen` until `stop()`.
public final class WebServer: Sendable {
    public let auth: WebAuth
    public let port: Int
    public let configuration: WebConfiguration
    private let task: Task<Void, Never>

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

    private init(auth: WebAuth, port: Int, configuration: WebConfiguration, task: Task<Void, Never>) {
        self.auth = auth
        self.port = port
        self.configuration = configuration
        self.task = task
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
        let router = WebApp.router(context: context, auth: auth, configuration: configuration) { box.port }
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
        let task = Task {
            do { try await app.run() } catch {
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
            return WebServer(auth: auth, port: port, configuration: configuration, task: task)
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

    public func stop() async {
        task.cancel()
        await task.value
    }
}
