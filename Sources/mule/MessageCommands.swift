import ArgumentParser
import Foundation
import MuleNode
import MuleStore
import MuleTerminal

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue an encrypted message or file for a contact.",
        discussion: "A running node (mule run) sends it at once; otherwise the next 'mule export' carries it.")
    @ParentCommand var root: Mule
    @Argument(help: "Contact name or id.") var contact: String
    @Argument(help: "The message text.") var text: String?
    @Option(help: "Send this file instead of text (up to 64 MiB).") var file: String?
    @Option(help: "How long carriers keep it, e.g. 36h, 14d, 2w (default 14d).") var lifetime: String?
    @Option(
        help: """
            Erase it on both sides this long after sending (here) and arrival (there), e.g. 30s, 1h, 7d; \
            'off' for one that stays although the conversation has a default ('mule contacts disappear').
            """) var disappear: String?
    @Flag(help: "Send each line of standard input as one message, all in one transaction.") var stdin = false
    @Flag(help: "Print the result as JSON.") var json = false

    struct Out: Encodable {
        var contact: String
        var contactId: String
        /// The ids of the queued messages, in order.
        var queued: [String]
    }

    func validate() throws {
        let sources = [text != nil, file != nil, stdin].filter { $0 }.count
        if sources != 1 { throw ValidationError("give one of TEXT, --file PATH or --stdin") }
        if let text, text.allSatisfy(\.isWhitespace) { throw ValidationError("the message is empty") }
        if let lifetime, TimeSpan.parseMs(lifetime) == nil {
            throw ValidationError("--lifetime: '\(lifetime)' is not a duration like 90m, 36h or 14d")
        }
        if let disappear, disappear != "off", TimeSpan.parseMs(disappear) == nil {
            throw ValidationError("--disappear: '\(disappear)' is not a duration like 30s, 1h or 7d, nor 'off'")
        }
    }

    /// nil: the conversation's default; 0: 'off'.
    var disappearMs: UInt64? { disappear.map { $0 == "off" ? 0 : TimeSpan.parseMs($0) ?? 0 } }

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            let ms = lifetime.flatMap(TimeSpan.parseMs)
            if stdin {
                var lines: [String] = []
                while let line = readLine(strippingNewline: true) {
                    if !line.isEmpty { lines.append(line) }
                }
                guard !lines.isEmpty else {
                    Output.error("standard input held no message")
                    throw ExitCode(1)
                }
                let sent = try node.send(to: contact, texts: lines, lifetimeMs: ms, disappearAfterMs: disappearMs)
                if json {
                    try Output.json(
                        Out(contact: sent[0].contact.name, contactId: sent[0].contact.id, queued: sent.map(\.record.id)))
                    return
                }
                print("Queued \(sent.count) messages for \(sent[0].contact.name)")
                return
            }
            let m: Message
            if let file {
                m = try node.sendFile(to: contact, path: file, lifetimeMs: ms, disappearAfterMs: disappearMs)
            } else {
                m = try node.send(to: contact, .text(text ?? ""), lifetimeMs: ms, disappearAfterMs: disappearMs)
            }
            if json {
                try Output.json(Out(contact: m.contact.name, contactId: m.contact.id, queued: [m.record.id]))
                return
            }
            print("Queued for \(m.contact.name) [\(m.record.id.prefix(8))]")
        }
    }
}

struct Messages: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show messages and each one's status, newest last.",
        discussion: """
            Without a contact: the newest messages of every conversation. What is shown counts as read. \
            --search finds messages holding every word given (a word also matches longer words it starts).
            """)
    @ParentCommand var root: Mule
    @Argument(help: "Only the conversation with this contact (name or id).") var contact: String?
    @Option(help: "Show at most this many, the newest (default 50).") var limit = 50
    @Option(help: "Only messages sent since then: a duration ago (90m, 36h, 7d) or a date (2026-12-01, 2026-12-01T18:00).")
    var since: String?
    @Flag(help: "Only messages you have not seen yet.") var unread = false
    @Option(help: "Only messages whose text holds these words.") var search: String?
    @Flag(help: "Print the result as JSON.") var json = false

    struct Out: Encodable {
        var id: String
        var contact: String
        var contactId: String
        var request: Bool
        var verified: Bool
        var direction: String
        var text: String?
        var file: String?
        var path: String?
        var size: Int64?
        var status: String
        var unread: Bool
        var sentAt: String
        var receivedAt: String?
        var deliveredAt: String?
        /// How it travelled: lan, direct, relay or file (for an outgoing message, how its receipt came).
        var via: String?
        /// When a disappearing message is erased.
        var disappearsAt: String?
    }

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit wants a number of messages, 1 or more") }
        if let since, TimeSpec.parse(since, now: Date()) == nil {
            throw ValidationError("--since: '\(since)' is neither a duration like 36h or 7d nor a date like 2026-12-01")
        }
        if let search, search.allSatisfy(\.isWhitespace) { throw ValidationError("--search wants at least one word") }
    }

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            let all = try node.contacts()
            let peer = try contact.map { q throws(NodeError) in try node.resolveContact(q) }
            let query = MessageQuery(
                limit: limit, since: since.flatMap { TimeSpec.parse($0, now: Date()) }, unreadOnly: unread, search: search)
            let list = try node.messages(with: peer, matching: query)
            try node.markRead(list)
            if json {
                try Output.json(
                    list.map { m in
                        Out(
                            id: m.record.id, contact: m.contact.name, contactId: m.contact.id,
                            request: m.contact.state == .request, verified: m.contact.verified,
                            direction: m.record.direction.rawValue, text: m.record.body, file: m.record.fileName,
                            path: m.record.filePath, size: m.record.fileSize, status: m.record.status.rawValue,
                            unread: m.record.direction == .incoming && m.record.readAt == nil,
                            sentAt: Output.iso(m.record.sentAt), receivedAt: m.record.receivedAt.map(Output.iso),
                            deliveredAt: m.record.deliveredAt.map(Output.iso), via: m.record.path?.rawValue,
                            disappearsAt: m.record.disappearAt.map(Output.iso))
                    })
                return
            }
            if list.isEmpty { print(unread || search != nil || since != nil ? "No messages match." : "No messages.") }
            var current: String?
            for m in list {
                if current != m.contact.id {
                    current = m.contact.id
                    print(Terminal.printable(Messages.header(m.contact, among: all)))
                    if let w = m.contact.warning(among: all) { print(Terminal.printable("   \(w)")) }
                }
                let arrow = m.record.direction == .outgoing ? "→" : "←"
                var what = m.record.body ?? ""
                if let f = m.record.fileName {
                    what = "[file \(f), \(ByteCount.format(m.record.fileSize ?? 0))]"
                    if m.record.direction == .incoming, let p = m.record.filePath { what += " saved to \(p)" }
                }
                var via = m.record.path.map { ", \($0)" } ?? ""
                if let at = m.record.disappearAt { via += ", disappears \(Output.date(at))" }
                let new = m.record.direction == .incoming && m.record.readAt == nil ? "• " : ""
                // Text from others is made safe to print: no escape sequence reaches the terminal.
                print(
                    Terminal.printable(
                        "\(Output.date(m.record.sentAt))  \(arrow) \(new)\(what)  (\(m.record.status.rawValue)\(via))"))
            }
        }
    }

    /// `── Bob [4d09088a] ✓`, and for a request how to accept it (by id, which is never ambiguous).
    static func header(_ c: Contact, among all: [Contact]) -> String {
        let mark = c.verified ? " ✓" : ""
        let req =
            c.state == .request
            ? "  (request: 'mule contacts accept \(c.id)\(c.namesake(among: all) != nil ? " --name NEW" : "")')" : ""
        return "── \(c.label(among: all)) [\(c.id)]\(mark)\(req)"
    }
}

struct Conversations: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List conversations: contact, newest message, unread count, most recent first.")
    @ParentCommand var root: Mule
    @Flag(help: "Print the result as JSON.") var json = false

    struct Out: Encodable {
        var contact: String
        var contactId: String
        var state: String
        var verified: Bool
        var namesakeOf: String?
        var unread: Int
        var last: Last?

        struct Last: Encodable {
            var id: String
            var direction: String
            var text: String?
            var file: String?
            var status: String
            var sentAt: String
        }
    }

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            let list = try node.conversations()
            let all = try node.contacts()
            if json {
                try Output.json(
                    list.map { c in
                        Out(
                            contact: c.contact.name, contactId: c.contact.id, state: c.contact.state.rawValue,
                            verified: c.contact.verified, namesakeOf: c.contact.namesake(among: all)?.id, unread: c.unread,
                            last: c.last.map {
                                .init(
                                    id: $0.id, direction: $0.direction.rawValue, text: $0.body, file: $0.fileName,
                                    status: $0.status.rawValue, sentAt: Output.iso($0.sentAt))
                            })
                    })
                return
            }
            if list.isEmpty { print("No conversations yet.") }
            for c in list {
                let mark = c.contact.verified ? " ✓" : ""
                let unread = c.unread > 0 ? "  \(c.unread) unread" : ""
                let req = c.contact.state == .request ? "  (request)" : ""
                print(Terminal.printable("\(c.contact.label(among: all)) [\(c.contact.id)]\(mark)\(req)\(unread)"))
                if let m = c.last {
                    let who = m.direction == .outgoing ? "you: " : ""
                    let what = m.body ?? "[file \(m.fileName ?? "")]"
                    print(Terminal.printable("    \(Output.date(m.sentAt))  \(who)\(Output.snippet(what, 60))"))
                }
            }
        }
    }
}

/// A point in time from the command line: a duration before now, or a date.
enum TimeSpec {
    /// Unix ms, or nil if `text` is neither.
    static func parse(_ text: String, now: Date) -> Int64? {
        if let span = TimeSpan.parseMs(text) { return Int64(now.timeIntervalSince1970 * 1000) - Int64(span) }
        for format in [
            "yyyy-MM-dd'T'HH:mm:ssXXXXX", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd HH:mm", "yyyy-MM-dd",
        ] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.dateFormat = format
            if let d = f.date(from: text) { return Int64(d.timeIntervalSince1970 * 1000) }
        }
        return nil
    }
}
