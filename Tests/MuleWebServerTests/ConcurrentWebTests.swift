import Foundation
import Logging
import MuleMesh
import MuleNode
import MuleWire
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import MuleWeb

/// The web app as a browser meets it — a real server on loopback — under concurrent load: pages,
/// sends and event streams at once, over one shared `Node`. Runs in the sanitizer passes too (it
/// needs no HummingbirdTesting, whose TLS stack those builds leave out).
@Suite struct ConcurrentWebTests {
    /// A minimal HTTP/1.1 client on NIO: one request per connection.
    struct Client {
        let group: MultiThreadedEventLoopGroup
        let port: Int
        let cookie: String
        let csrf: String

        struct Reply {
            var status: Int
            var body: [UInt8]
        }

        func request(_ method: HTTPMethod, _ path: String, json: String? = nil, stopAfter: Int? = nil) async throws -> Reply {
            let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel)
                }
            }
            return try await channel.executeThenClose { inbound, outbound in
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
                head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
                head.headers.add(name: "Cookie", value: cookie)
                head.headers.add(name: "X-CSRF-Token", value: csrf)
                head.headers.add(name: "Connection", value: "close")
                let body = json.map { ByteBuffer(string: $0) }
                if let body {
                    head.headers.add(name: "Content-Type", value: "application/json")
                    head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
                }
                try await outbound.write(.head(head))
                if let body { try await outbound.write(.body(.byteBuffer(body))) }
                try await outbound.write(.end(nil))
                var reply = Reply(status: 0, body: [])
                for try await part in inbound {
                    switch part {
                    case .head(let h): reply.status = Int(h.status.code)
                    case .body(var b):
                        reply.body += b.readBytes(length: b.readableBytes) ?? []
                        if let stopAfter, reply.body.count >= stopAfter { return reply }
                    case .end: return reply
                    }
                }
                return reply
            }
        }
    }

    @Test func pagesSendsAndEventStreamsAtOnce() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mule-webc-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let alice = try Node(profile: try Profile.create(home: dir + "/alice", name: "Alice"))
        let bob = try Node(profile: try Profile.create(home: dir + "/bob", name: "Bob"))
        try alice.addContact(invite: bob.invite)
        var configuration = WebConfiguration()
        configuration.listen = HostPort(host: "127.0.0.1", port: 0)
        let auth = try WebAuth(profile: alice.profile)
        var quiet = Logger(label: "test")
        quiet.logLevel = .critical
        let web = try await WebServer.start(
            context: .inProcess(node: alice), configuration: configuration, auth: auth, logger: quiet)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = Client(group: group, port: web.port, cookie: "\(WebAuth.cookieName)=\(auth.session)", csrf: auth.csrf)

        // Three event streams read until they have seen the 20 messages of the first sender.
        let streams = (0..<3).map { _ in
            Task { try await client.request(.GET, "/api/v1/events", stopAfter: 4000) }
        }
        try await Task.sleep(for: .milliseconds(300))
        // Four senders and four readers at once.
        try await withThrowingTaskGroup(of: Int.self) { tasks in
            for s in 0..<4 {
                tasks.addTask {
                    var created = 0
                    for i in 0..<20 {
                        let r = try await client.request(
                            .POST, "/api/v1/conversations/Bob/messages", json: #"{"text":"s\#(s) m\#(i)"}"#)
                        if r.status == 201 { created += 1 }
                    }
                    return created
                }
                tasks.addTask {
                    var ok = 0
                    for path in [
                        "/", "/c/Bob", "/api/v1/conversations", "/api/v1/conversations/Bob/messages?limit=50", "/network",
                    ] {
                        if try await client.request(.GET, path).status == 200 { ok += 1 }
                    }
                    return ok == 5 ? 0 : -1000
                }
            }
            var total = 0
            for try await n in tasks { total += n }
            #expect(total == 80)
        }
        #expect(try alice.messages(with: "Bob").count == 80)
        for s in streams {
            let r = try await s.value
            #expect(r.status == 200)
            #expect(String(decoding: r.body, as: UTF8.self).contains("event: messageQueued"))
        }
        await web.stop()
        try await group.shutdownGracefully()
    }
}
