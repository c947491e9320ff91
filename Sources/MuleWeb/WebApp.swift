import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MuleMesh
import MuleNode
import MuleQR
import MuleStore
import MuleWire
import NIOCore

/// Where the web app listens. Loopback unless `allowRemote`: anyone who can reach the port and
/// steal a cookie could read and send a person's messages.
public struct WebConfiguration: Sendable {
    public static let defaultPort = 4780
    public var listen = HostPort(host: "127.0.0.1", port: WebConfiguration.defaultPort)
    /// Binding to anything but loopback needs this (`--ui-allow-remote`).
    public var allowRemote = false

    public init() {}

    public var isLoopback: Bool {
        listen.host == "127.0.0.1" || listen.host == "::1" || listen.host == "localhost" || listen.host.hasPrefix("127.")
    }
}

/// What the web app stands on: the node (the store, through `Node`), the node's events, and
/// the running node's network state.
public struct WebContext: Sendable {
    public let node: Node
    /// A new stream of the node's events for each subscriber (a page's event stream).
    public let events: @Sendable () -> AsyncStream<EventRecord>
    /// The running node's state (links, nearby people, discovery), as node.json has it.
    public let network: @Sendable () -> RunState?

    public init(
        node: Node, events: @escaping @Sendable () -> AsyncStream<EventRecord>, network: @escaping @Sendable () -> RunState?
    ) {
        self.node = node
        self.events = events
        self.network = network
    }

    /// For a node run in this process: its events as they are published.
    public static func inProcess(node: Node) -> WebContext {
        let profile = node.profile
        return WebContext(
            node: node,
            events: { [node] in
                let stream = node.events.subscribe()
                return AsyncStream { c in
                    let t = Task {
                        var ids = WebContext.contactIDs(node)
                        for await e in stream {
                            if case .contactsChanged = e { ids = WebContext.contactIDs(node) }
                            if case .contactRequest = e { ids = WebContext.contactIDs(node) }
                            c.yield(EventRecord(e) { ids[$0] })
                        }
                        c.finish()
                    }
                    c.onTermination = { _ in t.cancel() }
                }
            },
            network: { RunState.read(profile: profile) })
    }

    /// For a node running in another process: its events through its node.sock, with what this
    /// process itself does.
    public static func attached(node: Node) -> WebContext {
        let profile = node.profile
        let local = inProcess(node: node)
        return WebContext(
            node: node,
            events: {
                let mine = local.events()
                let theirs = NodeSocket.events(profile: profile)
                return AsyncStream { c in
                    let tasks = [
                        Task {
                            for await e in mine { c.yield(e) }
                            c.finish()
                        },
                        Task {
                            guard let theirs else { return }
                            for await e in theirs { c.yield(e) }
                            c.finish()
                        },
                    ]
                    c.onTermination = { _ in for t in tasks { t.cancel() } }
                }
            },
            network: { RunState.read(profile: profile) })
    }

    static func contactIDs(_ node: Node) -> [Int64: String] {
        Dictionary(((try? node.contacts()) ?? []).map { ($0.record.id, $0.id) }) { a, _ in a }
    }
}

/// An error as the API answers it: a status and one line, `{"error": "…"}`.
struct WebError: HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        WebApp.json(["error": message], status: status)
    }

    /// The status a node error stands for.
    init(_ e: NodeError) {
        switch e {
        case .unknownContact: self.init(.notFound, e.description)
        case .ambiguousContact, .alreadyContact: self.init(.conflict, e.description)
        case .tooLarge: self.init(.contentTooLarge, e.description)
        case .store, .fileError, .profileDamaged: self.init(.internalServerError, e.description)
        default: self.init(.badRequest, e.description)
        }
    }
}

/// The local web app: pages and the JSON API under `/api/v1` (Docs/API.md).
public enum WebApp {
    /// The largest upload: an attachment (64 MiB) or a stick file.
    public static let maxUpload = 256 << 20

    /// The router for `context`, guarded by `auth` (`WebGuard`).
    public static func router(
        context web: WebContext, auth: WebAuth, configuration: WebConfiguration, port: @escaping @Sendable () -> Int
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: WebGuard(auth: auth, configuration: configuration, port: port))
        WebApp.addAPI(to: router, web, auth)
        WebPages.add(to: router, web, auth)
        return router
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs a node call, turning its error into the API's.
    static func run<T>(_ body: () throws(NodeError) -> T) throws(WebError) -> T {
        do { return try body() } catch { throw WebError(error) }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ request: inout Request) async throws -> T {
        let buffer = try await request.body.collect(upTo: 64 << 10)
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: buffer)) } catch {
            throw WebError(.badRequest, "the request body is not the JSON this call takes")
        }
    }

    /// The body, up to `limit` bytes; more is refused as too large.
    static func upload(_ request: inout Request, limit: Int) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let e as any HTTPResponseError where e.status == .contentTooLarge {
            // NIO's "too many bytes" error, which Hummingbird answers 413 without a word.
            throw WebError(.contentTooLarge, "the upload is larger than \(ByteCount.format(Int64(limit)))")
        }
    }
}

// MARK: The JSON API

struct ConversationJSON: Codable, Sendable {
    var contact: ContactInfo
    var last: EventRecord.MessageJSON?
    var unread: Int
}

struct NetworkJSON: Codable, Sendable {
    var running: Bool
    var listen: String?
    var mdns: String?
    var dht: String?
    var links: [RunState.Link]
    var nearby: [RunState.Nearby]
    var recent: [RunState.Seen]
    var relays: [String]
}

extension WebApp {
    static func addAPI(to router: Router<BasicRequestContext>, _ web: WebContext, _ auth: WebAuth) {
        let node = web.node
        let api = router.group("api/v1")

        api.get("me") { _, _ -> Response in
            let me = node.identity.publicIdentity
            return json([
                "id": Hex.encode(me.signingKey.prefix(4)), "name": me.name, "fingerprint": me.fingerprint, "invite": node.invite,
            ])
        }
        api.get("me/qr.svg") { _, _ -> Response in
            guard let qr = QRCode(node.invite.uppercased()) else {
                throw WebError(.internalServerError, "the invite does not fit a QR code")
            }
            return Response(
                status: .ok, headers: [.contentType: "image/svg+xml"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: qr.svg())))
        }

        api.get("conversations") { _, _ -> Response in
            let list = try run { () throws(NodeError) in try node.conversations() }
            return json(
                list.map { c in
                    ConversationJSON(
                        contact: ContactInfo(c.contact),
                        last: c.last.map { EventRecord.MessageJSON(Message(record: $0, contact: c.contact)) }, unread: c.unread)
                })
        }
        api.get("conversations/:contact/messages") { request, context -> Response in
            let query = try context.parameters.require("contact")
            let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000)
            let before = request.uri.queryParameters.get("before", as: Int64.self)
            let messages = try run { () throws(NodeError) in
                let list = try node.messages(with: query, limit: limit, before: before)
                if let c = list.first?.contact { try node.markRead(c) }
                return list
            }
            return json(messages.map(EventRecord.MessageJSON.init))
        }
        api.post("conversations/:contact/messages") { request, context -> Response in
            struct Body: Decodable { var text: String }
            let query = try context.parameters.require("contact")
            var request = request
            let body = try await decode(Body.self, &request)
            let text = body.text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { throw WebError(.badRequest, "the message is empty") }
            let m = try run { () throws(NodeError) in try node.send(to: query, .text(text)) }
            return json(EventRecord.MessageJSON(m), status: .created)
        }
        api.post("conversations/:contact/files") { request, context -> Response in
            let query = try context.parameters.require("contact")
            guard let name = request.uri.queryParameters.get("name"), !name.isEmpty, name.utf8.count <= 255 else {
                throw WebError(.badRequest, "name the file: ?name=FILE")
            }
            var request = request
            let data = try await upload(&request, limit: Int(Node.maxAttachmentBytes))
            guard !data.isEmpty else { throw WebError(.badRequest, "the file is empty") }
            let m = try run { () throws(NodeError) in try node.send(to: query, .file(name: name, data: data)) }
            return json(EventRecord.MessageJSON(m), status: .created)
        }
        api.get("messages/:id/file") { _, context -> Response in
            let id = try context.parameters.require("id")
            guard let m = try run({ () throws(NodeError) in try node.message(id: id) }), let path = m.record.filePath,
                m.record.direction == .incoming
            else { throw WebError(.notFound, "no received file with that message id") }
            let data: [UInt8]
            do { data = try SecureFile.read(path) } catch { throw WebError(.notFound, "the file is no longer in files/") }
            let name = (m.record.fileName ?? "file").replacingOccurrences(of: "\"", with: "_")
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/octet-stream",
                    .contentDisposition: "attachment; filename=\"\(name.unicodeScalars.allSatisfy(\.isASCII) ? name : "file")\"",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }

        api.get("contacts") { _, _ -> Response in
            let all = try run { () throws(NodeError) in try node.contacts() }
            return json(all.map { ContactInfo($0, among: all) })
        }
        api.post("contacts") { request, _ -> Response in
            struct Body: Decodable {
                var invite: String
                var name: String?
            }
            var request = request
            let body = try await decode(Body.self, &request)
            let code = body.invite.filter { !$0.isWhitespace }
            let name = body.name.flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
            let c = try run { () throws(NodeError) in try node.addContact(invite: code, name: name) }
            return json(ContactInfo(c), status: .created)
        }
        for (verb, state) in [("accept", ContactRecord.State.contact), ("block", .blocked)] {
            api.post("contacts/:contact/\(verb)") { _, context -> Response in
                let query = try context.parameters.require("contact")
                return json(ContactInfo(try run { () throws(NodeError) in try node.setContactState(query, state) }))
            }
        }
        api.post("contacts/:contact/verify") { _, context -> Response in
            let query = try context.parameters.require("contact")
            return json(ContactInfo(try run { () throws(NodeError) in try node.verifyContact(query) }))
        }

        api.get("stick/export") { _, _ -> Response in
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mule-web-\(UUID().uuidString)").path
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = dir + "/stick.mule"
            let report = try run { () throws(NodeError) in try node.export(to: file) }
            let data = try run { () throws(NodeError) in try SecureFile.read(file) }
            return Response(
                status: .ok,
                headers: [
                    .contentType: "application/octet-stream",
                    .contentDisposition: "attachment; filename=\"mule-\(Int(Date().timeIntervalSince1970)).mule\"",
                    HTTPField.Name("X-Mule-Bundles")!: "\(report.bundles)",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        api.post("stick/import") { request, _ -> Response in
            var request = request
            let data = try await upload(&request, limit: maxUpload)
            guard (try? BundleFile.checkHeader(data)) != nil else {
                throw WebError(.badRequest, "not a Mule bundle file (it does not start with the bundle file magic)")
            }
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mule-web-\(UUID().uuidString)").path
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = dir + "/upload.mule"
            try run { () throws(NodeError) in try SecureFile.write(data, to: file, mode: 0o600) }
            let report = try run { () throws(NodeError) in try node.importFiles([file]) }
            struct Out: Encodable {
                var imported: ImportSummary
                var problems: [String]
            }
            let problems = report.problems.map { p in
                p.bundle.map { "bundle \($0): \(p.reason)" } ?? p.reason
            }
            return json(Out(imported: ImportSummary(report), problems: problems))
        }

        api.get("network") { _, _ -> Response in
            let s = web.network()
            return json(
                NetworkJSON(
                    running: s != nil && RunLock.isHeld(profile: node.profile), listen: s?.listen, mdns: s?.mdns.description,
                    dht: s?.dht?.description, links: s?.links ?? [], nearby: s?.nearby ?? [], recent: s?.recent ?? [],
                    relays: (try? node.relays()) ?? []))
        }

        api.get("events") { _, _ -> Response in
            let stream = web.events()
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": mule events\n\n"))
                    let encoder = JSONEncoder()
                    for await e in stream {
                        guard let data = try? encoder.encode(e) else { continue }
                        var buffer = ByteBuffer(string: "event: \(e.type)\ndata: ")
                        buffer.writeBytes(data)
                        buffer.writeString("\n\n")
                        try await writer.write(buffer)
                    }
                    try await writer.finish(nil)
                })
        }
    }
}
