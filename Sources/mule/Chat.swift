import ArgumentParser
import Foundation
import MuleMesh
import MuleNode
import MuleStore

/// `mule chat NAME`: a live conversation. Typed lines are sent; incoming messages appear as they
/// arrive; an outgoing line's status (queued, sent, delivered) is updated in place on a terminal.
struct Chat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a contact live. Starts a node for its own lifetime if none is running.",
        discussion: "Type a line and press Enter to send it. Ctrl-D ends the chat.")
    @ParentCommand var root: Mule
    @Argument(help: "Name or id of the contact.") var contact: String
    @OptionGroup var options: NodeOptions
    @Option(help: "How many earlier messages to show first.") var history = 10

    func run() async throws {
        do {
            try await chat()
        } catch let e as NodeError {
            Output.error(e.description)
            throw ExitCode(1)
        }
    }

    func chat() async throws {
        let home = root.global.resolvedHome
        let node = try root.global.openNode()
        let peer = try node.resolveContact(contact)
        var running: RunningNode?
        if !RunLock.isHeld(profile: node.profile) {
            running = try await RunningNode.start(
                home: home, options: options, logger: root.global.logger(level: .error), quiet: true)
        }
        var view = ChatView(tty: isatty(1) != 0, contact: peer.name)
        Chat.write("Chat with \(peer.name) [\(peer.id)], fingerprint \(peer.fingerprint)\n")
        Chat.write(running == nil ? "(through the node already running on this profile)\n" : "(node started for this chat)\n")
        let earlier = try node.messages(with: peer.id)
        for m in earlier.suffix(history) { view.show(m.record) }
        view.markSeen(earlier.map(\.record))
        Chat.write("Type a line and press Enter to send it; Ctrl-D ends the chat.\n")

        let lines = Chat.stdinLines()
        // What the node does, as it happens: from the node started here, or from the one already
        // running on the profile through its node.sock.
        let nodeEvents: AsyncStream<EventRecord>
        if let running {
            let stream = running.mesh.subscribe()
            let ids = Dictionary(((try? node.contacts()) ?? []).map { ($0.record.id, $0.id) }) { a, _ in a }
            nodeEvents = AsyncStream { c in
                let t = Task {
                    for await e in stream { c.yield(EventRecord(e) { ids[$0] }) }
                    c.finish()
                }
                c.onTermination = { _ in t.cancel() }
            }
        } else if let remote = NodeSocket.events(profile: node.profile) {
            nodeEvents = remote
        } else {
            Output.error("cannot reach the running node's node.sock; the chat shows only what you send")
            nodeEvents = AsyncStream { $0.finish() }
        }
        await withTaskGroup(of: Void.self) { group in
            let (events, sink) = AsyncStream.makeStream(of: ChatInput.self)
            group.addTask {
                for await l in lines { sink.yield(.line(l)) }
                sink.yield(.end)
            }
            group.addTask {
                for await e in nodeEvents { sink.yield(.event(e)) }
            }
            loop: for await e in events {
                switch e {
                case .line(let text):
                    let t = text.trimmingCharacters(in: .whitespaces)
                    guard !t.isEmpty else { continue }
                    do {
                        let m = try node.send(to: peer.id, .text(t))
                        view.show(m.record)
                        view.markSeen([m.record])
                    } catch {
                        Output.error("\(error)")
                    }
                case .event(let e):
                    switch e.type {
                    case "messageArrived" where e.message?.contactID == peer.id, "messageStatus" where e.contactID == peer.id:
                        if let list = try? node.messages(with: peer.id) { view.update(list.map(\.record)) }
                    case "messageArrived":
                        if let m = e.message {
                            Chat.write("  (a message from \(m.contactName) [\(m.contactID)]: 'mule chat \(m.contactID)')\n")
                        }
                    default:
                        break
                    }
                case .end:
                    break loop
                }
            }
            // Give the last lines a moment to leave before a node started here stops.
            if running != nil {
                try? await Task.sleep(for: .milliseconds(500))
                if let list = try? node.messages(with: peer.id) { view.update(list.map(\.record)) }
            }
            group.cancelAll()
        }
        await running?.stop()
    }

    /// Unbuffered, so lines appear at once even when stdout is a pipe.
    static func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    enum ChatInput: Sendable {
        case line(String)
        case event(EventRecord)
        case end
    }

    /// Lines from stdin, read on a thread of their own so the chat keeps updating meanwhile.
    static func stdinLines() -> AsyncStream<String> {
        AsyncStream { c in
            Thread.detachNewThread {
                while let l = readLine() { c.yield(l) }
                c.finish()
            }
        }
    }
}

/// What the chat has printed, so status changes can be written over the right line.
struct ChatView {
    let tty: Bool
    let contact: String
    private var printedLines = 0
    private var lineOf: [String: Int] = [:]
    private var status: [String: MessageRecord.Status] = [:]

    init(tty: Bool, contact: String) {
        self.tty = tty
        self.contact = contact
    }

    func text(_ m: MessageRecord) -> String {
        let who = m.direction == .outgoing ? "you" : contact
        let body = m.body ?? "[file \(m.fileName ?? "?")\(m.filePath.map { " saved to \($0)" } ?? "")]"
        let time = Output.date(m.sentAt).suffix(5)
        let mark = m.direction == .outgoing ? "  (\(m.status.rawValue))" : ""
        return "[\(time)] \(who): \(body)\(mark)"
    }

    mutating func show(_ m: MessageRecord) {
        Chat.write(text(m) + "\n")
        printedLines += 1
        lineOf[m.id] = printedLines
        status[m.id] = m.status
    }

    mutating func markSeen(_ list: [MessageRecord]) {
        for m in list where status[m.id] == nil { status[m.id] = m.status }
    }

    /// Shows new incoming messages and rewrites the lines whose status changed.
    mutating func update(_ list: [MessageRecord]) {
        for m in list {
            guard let old = status[m.id] else {
                show(m)
                continue
            }
            guard old != m.status else { continue }
            status[m.id] = m.status
            if tty, let line = lineOf[m.id] {
                let up = printedLines - line + 1
                Chat.write("\u{1B}[\(up)A\r\u{1B}[2K" + text(m) + "\u{1B}[\(up)B\r")
            } else {
                Chat.write("  \(m.status.rawValue): \(m.body ?? m.fileName ?? m.id)\n")
                printedLines += 1
            }
        }
    }
}
