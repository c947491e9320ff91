import ArgumentParser
import Foundation
import MuleMesh
import MuleNode
import MuleStore
import MuleTerminal

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
        let tty = isatty(0) != 0 && isatty(1) != 0
        var running: RunningNode?
        if !RunLock.isHeld(profile: node.profile) {
            running = try await RunningNode.start(
                home: home, options: options, logger: root.global.logger(level: .error), quiet: true)
        }
        // What the node does, as it happens: from the node started here, or from the one already
        // running on the profile through its node.sock.
        let nodeEvents: AsyncStream<EventRecord>
        if let running {
            let stream = running.mesh.subscribe()
            let ids = Dictionary(((try? node.contacts()) ?? []).map { ($0.record.id, $0.id) }) { a, _ in a }
            let now = await running.mesh.contactPresence
            nodeEvents = AsyncStream { c in
                for (id, p) in now { c.yield(EventRecord(.presence(contactID: id, p)) { ids[$0] }) }
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
        let all = (try? node.contacts()) ?? []
        if tty {
            try await ChatSession(node: node, peer: peer, contacts: all, history: history, own: running != nil)
                .run(events: nodeEvents)
        } else {
            try await lines(node: node, peer: peer, events: nodeEvents, own: running != nil)
        }
        await running?.stop()
    }

    /// Without a terminal (a pipe, a script): one line per message, status change and notice.
    func lines(node: Node, peer: Contact, events nodeEvents: AsyncStream<EventRecord>, own: Bool) async throws {
        var view = ChatView(tty: false, contact: peer.name)
        Chat.write("Chat with \(peer.name) [\(peer.id)], fingerprint \(peer.fingerprint)\n")
        Chat.write(own ? "(node started for this chat)\n" : "(through the node already running on this profile)\n")
        let earlier = try node.messages(with: peer.id)
        for m in earlier.suffix(history) { view.show(m.record) }
        view.markSeen(earlier.map(\.record))
        try node.markRead(peer)
        Chat.write("Type a line and press Enter to send it; Ctrl-D ends the chat.\n")
        let lines = Chat.stdinLines()
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
                        Output.error(Output.describe(error))
                    }
                case .event(let e):
                    switch e.type {
                    case "messageArrived" where e.message?.contactID == peer.id, "messageStatus" where e.contactID == peer.id:
                        if let list = try? node.messages(with: peer.id) { view.update(list.map(\.record)) }
                        _ = try? node.markRead(peer)
                    case "messageArrived":
                        if let m = e.message {
                            Chat.write(Terminal.printable(ChatSession.notice(from: m)) + "\n")
                        }
                    case "presence" where e.contactID == peer.id:
                        Chat.write("  (\(peer.name) is \(ChatSession.describe(presence: e.presence)))\n")
                    default:
                        break
                    }
                case .end:
                    break loop
                }
            }
            // Give the last lines a moment to leave before a node started here stops.
            if own {
                try? await Task.sleep(for: .milliseconds(500))
                if let list = try? node.messages(with: peer.id) { view.update(list.map(\.record)) }
            }
            group.cancelAll()
        }
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

/// The chat without a terminal: each message once, each status change as a line of its own.
struct ChatView {
    let contact: String
    private var status: [String: MessageRecord.Status] = [:]

    init(tty: Bool, contact: String) {
        self.contact = contact
    }

    func text(_ m: MessageRecord) -> String { ChatSession.line(m, contact: contact) }

    mutating func show(_ m: MessageRecord) {
        Chat.write(text(m) + "\n")
        status[m.id] = m.status
    }

    mutating func markSeen(_ list: [MessageRecord]) {
        for m in list where status[m.id] == nil { status[m.id] = m.status }
    }

    /// Shows new messages and a line for each status that changed.
    mutating func update(_ list: [MessageRecord]) {
        for m in list {
            guard let old = status[m.id] else {
                show(m)
                continue
            }
            guard old != m.status else { continue }
            status[m.id] = m.status
            Chat.write("  \(m.status.rawValue): \(Output.snippet(Terminal.printable(m.body ?? m.fileName ?? m.id), 60))\n")
        }
    }
}

/// The chat on a terminal: raw input through `LineEditor`, the alternate screen redrawn from a
/// `ChatScreen` after every change (a key, a message, a status, presence, a resize).
struct ChatSession {
    let node: Node
    let peer: Contact
    let contacts: [Contact]
    let history: Int
    let own: Bool

    enum Input: Sendable {
        case bytes([UInt8])
        case event(EventRecord)
        case resize
        case end
    }

    static func line(_ m: MessageRecord, contact: String) -> String {
        let who = m.direction == .outgoing ? "you" : contact
        let shown =
            m.body.map(Terminal.printable) ?? "[file \(m.fileName ?? "?")\(m.filePath.map { " saved to \($0)" } ?? "")]"
        let time = Output.date(m.sentAt).suffix(5)
        let mark = m.direction == .outgoing ? "  (\(m.status.rawValue))" : ""
        return "[\(time)] \(who): \(shown)\(mark)"
    }

    static func notice(from m: EventRecord.MessageJSON) -> String {
        "  · a message from \(m.contactName) [\(m.contactID)]: 'mule chat \(m.contactID)' to answer"
    }

    static func describe(presence: String?) -> String {
        switch presence {
        case "linked": return "linked"
        case "relay": return "reachable through a relay"
        default: return "offline"
        }
    }

    func entry(_ m: MessageRecord) -> ChatScreen.Entry {
        let who = m.direction == .outgoing ? "you" : peer.name
        let body = m.body ?? "[file \(m.fileName ?? "?")\(m.filePath.map { " saved to \($0)" } ?? "")]"
        return ChatScreen.Entry(
            id: m.id, text: "[\(Output.date(m.sentAt).suffix(5))] \(who): \(body)",
            status: m.direction == .outgoing ? m.status.rawValue : nil)
    }

    func run(events nodeEvents: AsyncStream<EventRecord>) async throws {
        let size = Self.size()
        let mark = peer.verified ? " ✓" : ""
        let label = peer.label(among: contacts)
        var screen = ChatScreen(
            title: "Chat with \(label) [\(peer.id)]\(mark)", presence: "offline", columns: size.columns, rows: size.rows)
        if let w = peer.warning(among: contacts) { screen.append(.init(id: nil, text: "  " + w)) }
        for m in try node.messages(with: peer.id).suffix(history) { screen.append(entry(m.record)) }
        try node.markRead(peer)
        screen.append(.init(id: nil, text: "  (Enter sends; Ctrl-D on an empty line or Ctrl-C ends the chat)"))

        let terminal = RawTerminal()
        defer { terminal.restore() }
        Chat.write(screen.render())
        var editor = LineEditor()
        let (inputs, sink) = AsyncStream.makeStream(of: Input.self)
        signal(SIGWINCH, SIG_IGN)
        let resize = DispatchSource.makeSignalSource(signal: SIGWINCH)
        resize.setEventHandler { sink.yield(.resize) }
        resize.resume()
        defer { resize.cancel() }
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                sink.yield(.bytes(Array(buffer[0..<n])))
            }
            sink.yield(.end)
        }
        let forward = Task {
            for await e in nodeEvents { sink.yield(.event(e)) }
        }
        defer { forward.cancel() }

        loop: for await input in inputs {
            switch input {
            case .bytes(let bytes):
                for b in bytes {
                    switch editor.feed(b) {
                    case .submit(let text)?:
                        let t = text.trimmingCharacters(in: .whitespaces)
                        guard !t.isEmpty else { continue }
                        do {
                            let m = try node.send(to: peer.id, .text(t))
                            if !screen.contains(m.record.id) { screen.append(entry(m.record)) }
                        } catch {
                            screen.append(.init(id: nil, text: "  mule: " + Output.describe(error)))
                        }
                    case .end?: break loop
                    case .edited?, nil: break
                    }
                }
                screen.input = editor.line
            case .event(let e):
                switch e.type {
                case "messageArrived" where e.message?.contactID == peer.id:
                    if let m = e.message, !screen.contains(m.id), let r = try? node.message(id: m.id) {
                        screen.append(entry(r.record))
                        _ = try? node.markRead([r])
                    }
                case "messageQueued" where e.message?.contactID == peer.id:
                    if let m = e.message, !screen.contains(m.id), let r = try? node.message(id: m.id) {
                        screen.append(entry(r.record))
                    }
                case "messageStatus" where e.contactID == peer.id:
                    if let id = e.id, let status = e.status { screen.setStatus(id, status) }
                case "messageArrived":
                    if let m = e.message { screen.append(.init(id: nil, text: Self.notice(from: m))) }
                case "presence" where e.contactID == peer.id:
                    let now = Self.describe(presence: e.presence)
                    if now != screen.presence {
                        screen.presence = now
                        screen.append(.init(id: nil, text: "  · \(peer.name) is \(now)"))
                    }
                default:
                    continue loop
                }
            case .resize:
                let s = Self.size()
                screen.columns = s.columns
                screen.rows = s.rows
            case .end:
                break loop
            }
            Chat.write(screen.render())
        }
        // Give the last lines a moment to leave before a node started here stops.
        if own { try? await Task.sleep(for: .milliseconds(500)) }
    }

    static func size() -> (columns: Int, rows: Int) {
        var w = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &w) == 0, w.ws_col > 0, w.ws_row > 2 else { return (80, 24) }
        return (Int(w.ws_col), Int(w.ws_row))
    }
}

/// The terminal in raw mode on the alternate screen, for the life of a chat. `restore()` puts
/// both back (also when the chat ends by an error).
final class RawTerminal {
    private var saved = termios()
    private var active = false

    init() {
        guard tcgetattr(0, &saved) == 0 else { return }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(IXON | ICRNL)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        tcsetattr(0, TCSANOW, &raw)
        active = true
        Chat.write("\u{1B}[?1049h\u{1B}[2J")
    }

    func restore() {
        guard active else { return }
        active = false
        Chat.write("\u{1B}[?1049l")
        tcsetattr(0, TCSANOW, &saved)
    }

    deinit { restore() }
}
