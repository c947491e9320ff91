import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MuleCrypto
import MuleMesh
import MuleNode
import MuleStore
import MuleWire
import Testing

@testable import MuleWeb

/// The web app's API through Hummingbird's test client: every endpoint, and every refusal.
@Suite struct WebAPITests {
    final class Temp: Sendable {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mule-web-\(UUID().uuidString)").path
        init() { try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ n: String) -> String { path + "/" + n }
    }

    /// Alice (whose web app is tested) and Bob, contacts of each other, and the app over Alice's node.
    struct Setup: @unchecked Sendable {
        let temp = Temp()
        let alice: Node
        let bob: Node
        let auth: WebAuth
        let app: Application<RouterResponder<BasicRequestContext>>
        var cookie: String { "\(WebAuth.cookieName)=\(auth.session)" }

        init(events: (@Sendable () -> AsyncStream<EventRecord>)? = nil) throws {
            alice = try Node(profile: try Profile.create(home: temp.file("alice"), name: "Alice"))
            bob = try Node(profile: try Profile.create(home: temp.file("bob"), name: "Bob"))
            try alice.addContact(invite: bob.invite)
            try bob.addContact(invite: alice.invite)
            auth = try WebAuth(profile: alice.profile)
            var context = WebContext.inProcess(node: alice)
            if let events { context = WebContext(node: alice, events: events, network: context.network) }
            var configuration = WebConfiguration()
            configuration.listen = HostPort(host: "127.0.0.1", port: 4780)
            app = Application(router: WebApp.router(context: context, auth: auth, configuration: configuration) { 4780 })
        }

        /// Headers of a signed-in page request; `csrf` for a request that changes state.
        func headers(csrf: Bool = false, json: Bool = false) -> HTTPFields {
            var h: HTTPFields = [.cookie: cookie]
            if csrf { h[HTTPField.Name(WebAuth.csrfHeader)!] = auth.csrf }
            if json { h[.contentType] = "application/json" }
            return h
        }

        /// Bob's bundles for Alice, as a stick file.
        func bobsStick(_ texts: [String]) throws -> [UInt8] {
            for t in texts { try bob.send(to: "Alice", .text(t)) }
            let file = temp.file("bob-\(UUID().uuidString).mule")
            _ = try bob.export(to: file)
            return try SecureFile.read(file)
        }
    }

    static func json(_ r: TestResponse) throws -> Any { try JSONSerialization.jsonObject(with: Data(buffer: r.body)) }
    static func error(_ r: TestResponse) -> String? { (try? json(r) as? [String: Any])?["error"] as? String }

    @Test func signInOnceThenTheCookieOpensEverything() async throws {
        let s = try Setup()
        try await s.app.test(.router) { client in
            // No cookie: 401, for pages and for the API.
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/me", method: .get) { r in
                #expect(r.status == .unauthorized)
                #expect(Self.error(r)?.contains("sign in") == true)
            }
            // A wrong cookie.
            try await client.execute(uri: "/api/v1/me", method: .get, headers: [.cookie: "\(WebAuth.cookieName)=00"]) {
                #expect($0.status == .unauthorized)
            }
            // A one-time token becomes the cookie, once.
            let token = s.auth.mintToken()
            try await client.execute(uri: "/login?token=\(token)", method: .get) { r in
                #expect(r.status == .seeOther)
                let cookie = r.headers[.setCookie] ?? ""
                #expect(cookie.contains("\(WebAuth.cookieName)=\(s.auth.session)"))
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
                #expect(r.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            }
            try await client.execute(uri: "/login?token=\(token)", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/login?token=nonsense", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/api/v1/me", method: .get, headers: s.headers()) { r in
                #expect(r.status == .ok)
                let me = try Self.json(r) as! [String: String]
                #expect(me["name"] == "Alice" && me["invite"] == s.alice.invite)
                #expect(me["fingerprint"] == s.alice.identity.publicIdentity.fingerprint)
            }
        }
    }

    @Test func foreignHostsOriginsAndMissingCSRFAreRefused() async throws {
        let s = try Setup()
        try await s.app.test(.live) { client in
            let origin: HTTPFields = [.cookie: s.cookie, .origin: "http://evil.example"]
            try await client.execute(uri: "/api/v1/me", method: .get, headers: origin) { r in
                #expect(r.status == .forbidden)
                #expect(Self.error(r)?.contains("another site") == true)
            }
            var crossSite = s.headers()
            crossSite[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            try await client.execute(uri: "/api/v1/me", method: .get, headers: crossSite) { #expect($0.status == .forbidden) }
            // The page's own origin is fine.
            let own: HTTPFields = [.cookie: s.cookie, .origin: "http://localhost"]
            try await client.execute(uri: "/api/v1/me", method: .get, headers: own) { #expect($0.status == .ok) }
            // State changes need the CSRF token: missing, then wrong, then right.
            let body = ByteBuffer(string: #"{"text":"hello"}"#)
            try await client.execute(
                uri: "/api/v1/conversations/Bob/messages", method: .post, headers: s.headers(json: true), body: body
            ) { r in
                #expect(r.status == .forbidden)
                #expect(Self.error(r)?.contains("CSRF") == true)
            }
            var wrong = s.headers(json: true)
            wrong[HTTPField.Name(WebAuth.csrfHeader)!] = String(repeating: "0", count: 64)
            try await client.execute(uri: "/api/v1/conversations/Bob/messages", method: .post, headers: wrong, body: body) {
                #expect($0.status == .forbidden)
            }
            #expect(try s.alice.messages().isEmpty)
            try await client.execute(
                uri: "/api/v1/conversations/Bob/messages", method: .post, headers: s.headers(csrf: true, json: true), body: body
            ) { #expect($0.status == .created) }
        }
        // A foreign Host, as a rebinding attack sends it (the test clients always name localhost).
        var configuration = WebConfiguration()
        configuration.listen = HostPort(host: "127.0.0.1", port: 4780)
        let guard_ = WebGuard(auth: s.auth, configuration: configuration) { 4780 }
        func decide(_ authority: String?, origin: String? = nil) -> WebGuard.Decision {
            guard_.decide(
                method: .get, path: "/api/v1/me", authority: authority, origin: origin, fetchSite: nil,
                cookie: s.auth.session, csrf: nil, token: nil)
        }
        for host in ["127.0.0.1:4780", "localhost:4780", "[::1]:4780", "LOCALHOST:4780"] { #expect(decide(host) == .pass) }
        for host in ["evil.example:4780", "127.0.0.1:4781", "127.0.0.1.evil.example:4780", "", nil] {
            guard case .refuse(.forbidden, _) = decide(host) else {
                Issue.record("\(host ?? "nil") was let in")
                continue
            }
        }
        guard case .refuse(.forbidden, _) = decide("127.0.0.1:4780", origin: "http://127.0.0.1:4781") else {
            Issue.record("another port's origin was let in")
            return
        }
        #expect(decide("127.0.0.1:4780", origin: "http://127.0.0.1:4780") == .pass)
    }

    @Test func conversationsMessagesAndFiles() async throws {
        let s = try Setup()
        let stick = try s.bobsStick(["first from Bob", "second from Bob"])
        try await s.app.test(.router) { client in
            // Bob's messages arrive by stick through the API: counts, then two unread.
            try await client.execute(
                uri: "/api/v1/stick/import", method: .post, headers: s.headers(csrf: true), body: ByteBuffer(bytes: stick)
            ) { r in
                #expect(r.status == .ok)
                let out = try Self.json(r) as! [String: Any]
                let imported = out["imported"] as! [String: Int]
                #expect(imported["delivered"] == 2 && imported["rejected"] == 0)
            }
            try await client.execute(uri: "/api/v1/conversations", method: .get, headers: s.headers()) { r in
                let list = try Self.json(r) as! [[String: Any]]
                #expect(list.count == 1 && list[0]["unread"] as? Int == 2)
                #expect((list[0]["last"] as? [String: Any])?["text"] as? String == "second from Bob")
                #expect((list[0]["contact"] as? [String: Any])?["verified"] as? Bool == false)
            }
            // Reading the conversation marks it read.
            try await client.execute(uri: "/api/v1/conversations/Bob/messages?limit=1", method: .get, headers: s.headers()) { r in
                let list = try Self.json(r) as! [[String: Any]]
                #expect(
                    list.count == 1 && list[0]["text"] as? String == "second from Bob" && list[0]["path"] as? String == "file")
            }
            try await client.execute(uri: "/api/v1/conversations", method: .get, headers: s.headers()) { r in
                let j = try Self.json(r) as! [[String: Any]]
                #expect(j[0]["unread"] as? Int == 0)
            }
            // Sending: text, an empty text, an unknown contact, a body that is not JSON.
            try await client.execute(
                uri: "/api/v1/conversations/Bob/messages", method: .post, headers: s.headers(csrf: true, json: true),
                body: ByteBuffer(string: #"{"text":"  hi Bob  "}"#)
            ) { r in
                #expect(r.status == .created)
                let m = try Self.json(r) as! [String: Any]
                #expect(
                    m["text"] as? String == "hi Bob" && m["status"] as? String == "queued" && m["direction"] as? String == "out")
            }
            try await client.execute(
                uri: "/api/v1/conversations/Bob/messages", method: .post, headers: s.headers(csrf: true, json: true),
                body: ByteBuffer(string: #"{"text":"   "}"#)
            ) { r in
                #expect(r.status == .badRequest && Self.error(r) == "the message is empty")
            }
            try await client.execute(
                uri: "/api/v1/conversations/Nobody/messages", method: .post, headers: s.headers(csrf: true, json: true),
                body: ByteBuffer(string: #"{"text":"x"}"#)
            ) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(
                uri: "/api/v1/conversations/Bob/messages", method: .post, headers: s.headers(csrf: true, json: true),
                body: ByteBuffer(string: "text=hello")
            ) { r in
                #expect(r.status == .badRequest && Self.error(r)?.contains("JSON") == true)
            }
            // A file: sent, and refused without a name or when empty; nothing stored then.
            let photo = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
            try await client.execute(
                uri: "/api/v1/conversations/Bob/files?name=photo.jpg", method: .post, headers: s.headers(csrf: true),
                body: ByteBuffer(bytes: photo)
            ) { r in
                #expect(r.status == .created)
                let m = try Self.json(r) as! [String: Any]
                #expect(m["fileName"] as? String == "photo.jpg" && m["fileSize"] as? Int == photo.count)
            }
            let before = try s.alice.messages().count
            try await client.execute(
                uri: "/api/v1/conversations/Bob/files", method: .post, headers: s.headers(csrf: true),
                body: ByteBuffer(bytes: photo)
            ) { #expect($0.status == .badRequest) }
            try await client.execute(
                uri: "/api/v1/conversations/Bob/files?name=empty", method: .post, headers: s.headers(csrf: true),
                body: ByteBuffer()
            ) { #expect($0.status == .badRequest) }
            // Over 64 MiB: 413, nothing stored.
            try await client.execute(
                uri: "/api/v1/conversations/Bob/files?name=big.bin", method: .post, headers: s.headers(csrf: true),
                body: ByteBuffer(repeating: 7, count: Int(Node.maxAttachmentBytes) + 1)
            ) { r in
                #expect(r.status == .contentTooLarge)
                #expect(Self.error(r)?.contains("larger than") == true)
            }
            #expect(try s.alice.messages().count == before)
        }
    }

    @Test func receivedFilesDownloadByteIdentical() async throws {
        let s = try Setup()
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        try s.bob.send(to: "Alice", .file(name: "map.pdf", data: data))
        let file = s.temp.file("bob.mule")
        _ = try s.bob.export(to: file)
        _ = try s.alice.importFiles([file])
        let id = try #require(try s.alice.messages().first { $0.record.fileName == "map.pdf" }).record.id
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/messages/\(id)/file", method: .get, headers: s.headers()) { r in
                #expect(r.status == .ok)
                #expect(Array(buffer: r.body) == data)
                #expect(r.headers[.contentDisposition]?.contains("map.pdf") == true)
            }
            try await client.execute(uri: "/api/v1/messages/0000/file", method: .get, headers: s.headers()) {
                #expect($0.status == .notFound)
            }
        }
    }

    @Test func contactsAddAcceptBlockVerify() async throws {
        let s = try Setup()
        let carol = try Node(profile: try Profile.create(home: s.temp.file("carol"), name: "Carol"))
        // A stranger writes: a request.
        try carol.addContact(invite: s.alice.invite)
        try carol.send(to: "Alice", .text("hello, I am Carol"))
        let file = s.temp.file("carol.mule")
        _ = try carol.export(to: file)
        _ = try s.alice.importFiles([file])
        let dave = try Node(profile: try Profile.create(home: s.temp.file("dave"), name: "Dave"))
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/contacts", method: .get, headers: s.headers()) { r in
                let list = try Self.json(r) as! [[String: Any]]
                #expect(Set(list.map { "\($0["name"]!) \($0["state"]!)" }) == ["Bob contact", "Carol request"])
            }
            let carolID = carol.identity.publicIdentity.signingKey.prefix(4).map { String(format: "%02x", $0) }.joined()
            try await client.execute(uri: "/api/v1/contacts/\(carolID)/accept", method: .post, headers: s.headers(csrf: true)) {
                r in
                let j = try Self.json(r) as! [String: Any]

                #expect(r.status == .ok && j["state"] as? String == "contact")
            }
            try await client.execute(uri: "/api/v1/contacts/Bob/verify", method: .post, headers: s.headers(csrf: true)) { r in
                let j = try Self.json(r) as! [String: Any]

                #expect(j["verified"] as? Bool == true)
            }
            try await client.execute(uri: "/api/v1/contacts/Carol/block", method: .post, headers: s.headers(csrf: true)) { r in
                let j = try Self.json(r) as! [String: Any]

                #expect(j["state"] as? String == "blocked")
            }
            // Add by code: with line breaks an e-mail client put in, then the same again, then garbage.
            let wrapped = dave.invite.enumerated().map { $0.offset % 40 == 39 ? "\($0.element)\n" : "\($0.element)" }.joined()
            let add = { (code: String) in
                ByteBuffer(data: try JSONSerialization.data(withJSONObject: ["invite": code, "name": "Dave"]))
            }
            try await client.execute(
                uri: "/api/v1/contacts", method: .post, headers: s.headers(csrf: true, json: true), body: try add(wrapped)
            ) { r in
                #expect(r.status == .created)
                let j = try Self.json(r) as! [String: Any]

                #expect(j["fingerprint"] as? String == dave.identity.publicIdentity.fingerprint)
            }
            try await client.execute(
                uri: "/api/v1/contacts", method: .post, headers: s.headers(csrf: true, json: true), body: try add(dave.invite)
            ) { #expect($0.status == .conflict) }
            try await client.execute(
                uri: "/api/v1/contacts", method: .post, headers: s.headers(csrf: true, json: true), body: try add("mule1notacode")
            ) { r in
                #expect(r.status == .badRequest && Self.error(r) != nil)
            }
            try await client.execute(uri: "/api/v1/contacts/Zed/verify", method: .post, headers: s.headers(csrf: true)) {
                #expect($0.status == .notFound)
            }
            // The invite as a QR code, an SVG image.
            try await client.execute(uri: "/api/v1/me/qr.svg", method: .get, headers: s.headers()) { r in
                #expect(r.headers[.contentType] == "image/svg+xml")
                #expect(String(buffer: r.body).hasPrefix("<svg"))
            }
        }
    }

    @Test func stickExportAndBadUploads() async throws {
        let s = try Setup()
        try s.alice.send(to: "Bob", .text("for the stick"))
        try await s.app.test(.router) { client in
            let stick = try await client.execute(uri: "/api/v1/stick/export", method: .get, headers: s.headers()) { r in
                #expect(r.status == .ok)
                #expect(r.headers[HTTPField.Name("X-Mule-Bundles")!] == "1")
                return Array(buffer: r.body)
            }
            let file = s.temp.file("stick.mule")
            try SecureFile.write(stick, to: file, mode: 0o600)
            #expect(try s.bob.importFiles([file]).delivered == 1)
            // Not a bundle file: a clear error, nothing stored.
            let snapshot = try s.alice.messages().map(\.record.id)
            try await client.execute(
                uri: "/api/v1/stick/import", method: .post, headers: s.headers(csrf: true), body: ByteBuffer(string: "hello")
            ) { r in
                #expect(r.status == .badRequest && Self.error(r)?.contains("not a Mule bundle file") == true)
            }
            // A damaged bundle file: the problem named, nothing stored.
            var damaged = stick
            damaged[damaged.count - 10] ^= 0xFF
            try await client.execute(
                uri: "/api/v1/stick/import", method: .post, headers: s.headers(csrf: true), body: ByteBuffer(bytes: damaged)
            ) { r in
                #expect(r.status == .ok)
                let out = try Self.json(r) as! [String: Any]
                #expect((out["imported"] as! [String: Int])["rejected"] == 1)
                #expect((out["problems"] as! [String]).count == 1)
            }
            #expect(try s.alice.messages().map(\.record.id) == snapshot)
            try await client.execute(uri: "/api/v1/network", method: .get, headers: s.headers()) { r in
                let n = try Self.json(r) as! [String: Any]
                #expect(n["running"] as? Bool == false && (n["links"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test func pagesRenderAndEscape() async throws {
        let s = try Setup()
        let stick = try s.bobsStick(["<script>alert(1)</script> & more"])
        let file = s.temp.file("in.mule")
        try SecureFile.write(stick, to: file, mode: 0o600)
        _ = try s.alice.importFiles([file])
        try await s.app.test(.router) { client in
            for path in ["/", "/c/Bob", "/contacts", "/stick", "/network"] {
                try await client.execute(uri: path, method: .get, headers: s.headers()) { r in
                    #expect(r.status == .ok, "\(path)")
                    let html = String(buffer: r.body)
                    #expect(html.contains("<meta name=\"csrf\" content=\"\(s.auth.csrf)\">"))
                    #expect(!html.contains("<script>alert"))
                }
            }
            try await client.execute(uri: "/c/Bob", method: .get, headers: s.headers()) { r in
                #expect(String(buffer: r.body).contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"))
            }
            try await client.execute(uri: "/assets/app.js", method: .get, headers: s.headers()) { r in
                #expect(r.headers[.contentType]?.hasPrefix("text/javascript") == true)
            }
            try await client.execute(uri: "/c/Nobody", method: .get, headers: s.headers()) { #expect($0.status == .notFound) }
        }
    }

    @Test func eventsStreamAsServerSentEvents() async throws {
        let records = [EventRecord(.linkUp(address: "10.0.0.2:4747", direction: .incoming)), EventRecord(.stored)]
        let s = try Setup(events: {
            AsyncStream { c in
                for r in records { c.yield(r) }
                c.finish()
            }
        })
        try await s.app.test(.router) { client in
            try await client.execute(uri: "/api/v1/events", method: .get, headers: s.headers()) { r in
                #expect(r.headers[.contentType] == "text/event-stream")
                let text = String(buffer: r.body)
                #expect(text.contains("event: linkUp\ndata: {"))
                #expect(text.contains("\"address\":\"10.0.0.2:4747\""))
                #expect(text.contains("event: stored\n"))
            }
        }
    }
}
