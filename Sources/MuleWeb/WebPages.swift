import Foundation
import HTTPTypes
import Hummingbird
import MuleMesh
import MuleNode
import MuleQR
import MuleStore
import MuleWire

/// The pages: rendered here, made live by `/assets/app.js` (the node's events, sending, uploads).
/// Every asset is in the binary; nothing is fetched from elsewhere.
enum WebPages {
    /// Messages a conversation page shows at first; earlier ones load on demand.
    static let firstMessages = 200

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func page(
        title: String, body: String, csrf: String, status: HTTPResponse.Status = .ok, nav: String? = nil, data: String = ""
    ) -> Response {
        let tabs = [("/", "Chats"), ("/contacts", "Contacts"), ("/stick", "Stick"), ("/network", "Network")]
        let navigation =
            nav == nil
            ? ""
            : "<nav>"
                + tabs.map { "<a href=\"\($0.0)\"\($0.0 == nav ? " class=\"here\"" : "")>\($0.1)</a>" }.joined() + "</nav>"
        let html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="csrf" content="\(csrf)">
            <title>\(escape(title)) · Mule</title>
            <link rel="stylesheet" href="/assets/app.css">
            <script src="/assets/app.js" defer></script>
            </head><body\(data)>
            <header><span class="brand">Mule</span>\(navigation)</header>
            <main>\(body)</main>
            </body></html>
            """
        return Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    static func messageItem(_ m: Message) -> String {
        let r = m.record
        let dir = r.direction == .outgoing ? "out" : "in"
        var content: String
        if let body = r.body {
            content = "<span class=\"text\">\(escape(body))</span>"
        } else {
            let name = escape(r.fileName ?? "file")
            let size = r.fileSize.map { " (\(ByteCount.format($0)))" } ?? ""
            content =
                r.direction == .incoming && r.filePath != nil
                ? "<a class=\"file\" href=\"/api/v1/messages/\(r.id)/file\" download>\(name)</a>\(size)"
                : "<span class=\"file\">\(name)</span>\(size)"
        }
        let status = r.direction == .outgoing ? r.status.rawValue : "received"
        let path = r.path.map { " · \($0.rawValue)" } ?? ""
        return """
            <li class="msg \(dir)" data-id="\(r.id)"><div class="bubble">\(content)</div>\
            <div class="meta"><time data-ts="\(r.sentAt)"></time> · <span class="status">\(status)</span>\
            <span class="path">\(path)</span></div></li>
            """
    }

    static func add(to router: Router<BasicRequestContext>, _ web: WebContext, _ auth: WebAuth) {
        let node = web.node
        router.get("assets/app.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: WebAssets.css)))
        }
        router.get("assets/app.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "max-age=3600"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: WebAssets.js)))
        }

        router.get("/") { _, _ -> Response in
            let list = try WebApp.run { () throws(NodeError) in try node.conversations() }
            var items = ""
            for c in list {
                let contact = c.contact
                let mark = contact.verified ? " <span class=\"verified\" title=\"fingerprint compared\">✔</span>" : ""
                let request =
                    contact.state == .request ? " <span class=\"tag\">request · not your contact</span>" : ""
                let unread = c.unread > 0 ? "<span class=\"unread\">\(c.unread)</span>" : ""
                let last =
                    c.last.map { m in escape(String((m.body ?? "📎 \(m.fileName ?? "file")").prefix(80))) } ?? "No messages yet"
                items += """
                    <li><a href="/c/\(contact.id)"><span class="who">\(escape(contact.name))\(mark)\(request)</span>\
                    \(unread)<span class="last">\(last)</span></a></li>
                    """
            }
            let body =
                list.isEmpty
                ? "<p class=\"empty\">No conversations yet. <a href=\"/contacts\">Add a contact</a> with their invite code.</p>"
                : "<ul class=\"conversations\" id=\"conversations\">\(items)</ul>"
            return page(title: "Chats", body: "<h1>Chats</h1>" + body, csrf: auth.csrf, nav: "/", data: " data-page=\"chats\"")
        }

        router.get("c/:contact") { _, context -> Response in
            let query = try context.parameters.require("contact")
            let (contact, messages) = try WebApp.run { () throws(NodeError) in
                let c = try node.resolveContact(query)
                let list = try node.messages(with: c.id, limit: firstMessages)
                try node.markRead(c)
                return (c, list)
            }
            let mark = contact.verified ? " <span class=\"verified\" title=\"fingerprint compared\">✔ verified</span>" : ""
            let warning =
                contact.state == .request
                ? """
                <p class="warning">\(escape(contact.name)) is not your contact: anyone can choose a name. Compare the \
                fingerprint <code>\(escape(contact.fingerprint))</code> with them before you \
                <a href="/contacts">accept</a>.</p>
                """ : ""
            let earlier =
                messages.count >= firstMessages
                ? "<button id=\"earlier\" data-before=\"\(messages.first?.record.sentAt ?? 0)\">Earlier messages</button>" : ""
            let body = """
                <h1>\(escape(contact.name))\(mark)</h1>
                <p class="fingerprint">\(escape(contact.fingerprint))</p>
                \(warning)
                \(earlier)
                <ul class="messages" id="messages">\(messages.map(messageItem).joined())</ul>
                <form id="send" autocomplete="off">
                <input id="text" name="text" placeholder="Message" aria-label="Message" maxlength="60000">
                <button type="submit">Send</button>
                <label class="attach button">File<input id="file" type="file" hidden></label>
                </form>
                <progress id="upload" max="100" value="0" hidden></progress>
                <p id="error" class="error" hidden></p>
                """
            return page(
                title: contact.name, body: body, csrf: auth.csrf, nav: "/",
                data: " data-page=\"conversation\" data-contact=\"\(contact.id)\"")
        }

        router.get("contacts") { _, _ -> Response in
            let contacts = try WebApp.run { () throws(NodeError) in try node.contacts() }
            let qr = QRCode(node.invite.uppercased())?.svg() ?? ""
            var requests = ""
            var known = ""
            for c in contacts {
                let verified = c.verified ? " <span class=\"verified\">✔ verified</span>" : ""
                let buttons: String
                switch c.state {
                case .request:
                    buttons = """
                        <button data-act="accept" data-contact="\(c.id)">Accept</button>\
                        <button data-act="block" data-contact="\(c.id)">Block</button>
                        """
                case .contact:
                    buttons =
                        (c.verified
                            ? "" : "<button data-act=\"verify\" data-contact=\"\(c.id)\">I compared it: verified</button>")
                        + "<button data-act=\"block\" data-contact=\"\(c.id)\">Block</button>"
                case .blocked:
                    buttons = "<span class=\"tag\">blocked</span>"
                }
                let item = """
                    <li><span class="who">\(escape(c.name)) <small>[\(c.id)]</small>\(verified)</span>\
                    <span class="fingerprint">\(escape(c.fingerprint))</span><span class="actions">\(buttons)</span></li>
                    """
                if c.state == .request { requests += item } else { known += item }
            }
            let body = """
                <h1>Contacts</h1>
                <section class="invite"><h2>Your invite</h2>
                <div class="qr">\(qr)</div>
                <p>Show the code to someone, or send them the text:</p>
                <textarea id="invite" readonly rows="3">\(escape(node.invite))</textarea>
                <p class="fingerprint">Your fingerprint: \(escape(node.identity.publicIdentity.fingerprint))</p></section>
                <section><h2>Add a contact</h2>
                <form id="add"><textarea id="code" rows="3" placeholder="Their invite code (mule1…)" aria-label="Invite code"></textarea>
                <input id="name" placeholder="Name (optional)" aria-label="Name"><button type="submit">Add</button></form>
                <p id="added" hidden></p><p id="error" class="error" hidden></p></section>
                \(requests.isEmpty ? "" : "<section><h2>Requests</h2><p>Someone wrote to you who is not your contact. Compare the fingerprint with them by another way before you accept.</p><ul class=\"contacts\">\(requests)</ul></section>")
                <section><h2>Your contacts</h2><ul class="contacts">\(known.isEmpty ? "<li>None yet.</li>" : known)</ul></section>
                """
            return page(title: "Contacts", body: body, csrf: auth.csrf, nav: "/contacts", data: " data-page=\"contacts\"")
        }

        router.get("stick") { _, _ -> Response in
            let status = try WebApp.run { () throws(NodeError) in try node.status() }
            let body = """
                <h1>Stick</h1>
                <p>Carry messages where no network reaches: save a bundle file onto a USB stick, and open it on \
                the other side. Carriers can read none of it.</p>
                <section><h2>Export</h2>
                <p>\(status.ownBundles) bundle(s) of yours and \(status.carriedBundles) carried for others.</p>
                <p><a class="button" id="export" href="/api/v1/stick/export" download>Download a bundle file</a></p></section>
                <section><h2>Import</h2>
                <form id="import"><input id="files" type="file" multiple aria-label="Bundle files">\
                <button type="submit">Import</button></form>
                <progress id="upload" max="100" value="0" hidden></progress>
                <ul id="results"></ul><p id="error" class="error" hidden></p></section>
                """
            return page(title: "Stick", body: body, csrf: auth.csrf, nav: "/stick", data: " data-page=\"stick\"")
        }

        router.get("network") { _, _ -> Response in
            let body = """
                <h1>Network</h1>
                <div id="network"><p>Loading…</p></div>
                """
            return page(title: "Network", body: body, csrf: auth.csrf, nav: "/network", data: " data-page=\"network\"")
        }
    }
}
