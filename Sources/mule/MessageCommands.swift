import ArgumentParser
import Foundation
import MuleNode

struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue an encrypted message or file for a contact.",
        discussion: "A running node (mule run) sends it at once; otherwise the next 'mule export' carries it.")
    @ParentCommand var root: Mule
    @Argument(help: "Contact name or id.") var contact: String
    @Argument(help: "The message text.") var text: String?
    @Option(help: "Send this file instead of text (up to 64 MiB).") var file: String?
    @Option(help: "How long carriers keep it, e.g. 36h, 14d, 2w (default 14d).") var lifetime: String?
    @Flag(help: "Send each line of standard input as one message, all in one transaction.") var stdin = false

    func validate() throws {
        let sources = [text != nil, file != nil, stdin].filter { $0 }.count
        if sources != 1 { throw ValidationError("give one of TEXT, --file PATH or --stdin") }
        if let text, text.isEmpty { throw ValidationError("the message is empty") }
        if let lifetime, TimeSpan.parseMs(lifetime) == nil {
            throw ValidationError("--lifetime: '\(lifetime)' is not a duration like 90m, 36h or 14d")
        }
    }

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
                let sent = try node.send(to: contact, texts: lines, lifetimeMs: ms)
                print("Queued \(sent.count) messages for \(sent[0].contact.name)")
                return
            }
            let m: Message
            if let file {
                m = try node.sendFile(to: contact, path: file, lifetimeMs: ms)
            } else {
                m = try node.send(to: contact, .text(text ?? ""), lifetimeMs: ms)
            }
            print("Queued for \(m.contact.name) [\(m.record.id.prefix(8))]")
        }
    }
}

struct Messages: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show conversations and each message's status.")
    @ParentCommand var root: Mule
    @Argument(help: "Only the conversation with this contact.") var contact: String?
    @Flag var json = false

    struct Out: Encodable {
        var id: String
        var contact: String
        var contactId: String
        var request: Bool
        var direction: String
        var text: String?
        var file: String?
        var path: String?
        var size: Int64?
        var status: String
        var sentAt: String
        var receivedAt: String?
        var deliveredAt: String?
        /// How it travelled: lan, direct, relay or file (for an outgoing message, how its receipt came).
        var via: String?
    }

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            let list = try node.messages(with: contact)
            if json {
                try Output.json(
                    list.map { m in
                        Out(
                            id: m.record.id, contact: m.contact.name, contactId: m.contact.id,
                            request: m.contact.state == .request, direction: m.record.direction.rawValue,
                            text: m.record.body, file: m.record.fileName, path: m.record.filePath,
                            size: m.record.fileSize, status: m.record.status.rawValue, sentAt: Output.iso(m.record.sentAt),
                            receivedAt: m.record.receivedAt.map(Output.iso), deliveredAt: m.record.deliveredAt.map(Output.iso),
                            via: m.record.path?.rawValue)
                    })
                return
            }
            if list.isEmpty { print("No messages.") }
            var current: String?
            for m in list {
                if current != m.contact.id {
                    current = m.contact.id
                    let req = m.contact.state == .request ? "  (request: 'mule contacts accept \(m.contact.name)')" : ""
                    print("── \(m.contact.name) [\(m.contact.id)]\(req)")
                }
                let arrow = m.record.direction == .outgoing ? "→" : "←"
                var what = m.record.body ?? ""
                if let f = m.record.fileName {
                    what = "[file \(f), \(ByteCount.format(m.record.fileSize ?? 0))]"
                    if m.record.direction == .incoming, let p = m.record.filePath { what += " saved to \(p)" }
                }
                let via = m.record.path.map { ", \($0)" } ?? ""
                print("\(Output.date(m.record.sentAt))  \(arrow) \(what)  (\(m.record.status.rawValue)\(via))")
            }
        }
    }
}
