import Foundation
import MuleNode
import NIOCore
import NIOPosix

/// The running node's local socket, `node.sock` in the profile (mode 0600 in a 0700 directory):
/// how the other `mule` processes on the same profile talk to the node that runs it.
///
/// A client writes one line and the node answers:
/// - `changed` — another process changed the store (queued a message, imported a stick, added a
///   contact): the node offers what is new at once. Answer `ok`.
/// - `events` — the node streams its events, one JSON object per line (`EventRecord`), until
///   the client closes. Answer: the stream.
/// Anything else is answered `error: unknown request` and closed. Docs/API.md describes it.
public enum NodeSocket {
    public static let maxRequestBytes = 64

    /// The longest path a Unix socket takes (`sun_path` less its terminating zero).
    static let maxPathBytes = 107

    /// Sends `request` to the node running on `profile` and returns its one-line answer, or nil
    /// when no node answers.
    public static func ask(profile: Profile, _ request: String) -> String? {
        guard let fd = connect(profile: profile) else { return nil }
        defer { close(fd) }
        guard send(fd, request + "\n") else { return nil }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while out.count < 64 << 10 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[..<n]
            if out.last == 0x0A { break }
        }
        return String(decoding: out, as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// Tells the node running on `profile`, if any, that the store changed. Quietly does nothing
    /// when none runs (the node reads the store when it starts).
    public static func storeChanged(profile: Profile) {
        guard let fd = connect(profile: profile) else { return }
        defer { close(fd) }
        _ = send(fd, "changed\n")
        var byte: UInt8 = 0
        _ = read(fd, &byte, 1)
    }

    /// The events of the node running on `profile`, or nil when no node listens there. The
    /// stream ends when the node stops.
    public static func events(profile: Profile) -> AsyncStream<EventRecord>? {
        guard let fd = connect(profile: profile), send(fd, "events\n") else { return nil }
        return AsyncStream { c in
            let t = Thread {
                var pending: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 16 << 10)
                let decoder = JSONDecoder()
                while true {
                    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    pending += buffer[..<n]
                    while let nl = pending.firstIndex(of: 0x0A) {
                        let line = Data(pending[..<nl])
                        pending.removeSubrange(...nl)
                        if let e = try? decoder.decode(EventRecord.self, from: line) { c.yield(e) }
                    }
                }
                close(fd)
                c.finish()
            }
            c.onTermination = { _ in shutdown(fd, Int32(SHUT_RDWR)) }
            t.start()
        }
    }

    static func connect(profile: Profile) -> Int32? {
        let path = profile.socketPath
        guard path.utf8.count <= maxPathBytes else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
        guard ok else {
            close(fd)
            return nil
        }
        return fd
    }

    static func send(_ fd: Int32, _ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }
}

extension Profile {
    /// The running node's local socket (`NodeSocket`).
    public var socketPath: String { home + "/node.sock" }
}

extension Mesh {
    /// Listens on the profile's `node.sock`. Returns false when it cannot (a path too long for a
    /// Unix socket): then the node falls back to looking at the store every poll interval.
    func startSocket() async -> Bool {
        let path = node.profile.socketPath
        guard path.utf8.count <= NodeSocket.maxPathBytes else {
            logger.notice("profile path too long for node.sock; watching the store instead", metadata: ["path": "\(path)"])
            return false
        }
        do {
            let server = try await ServerBootstrap(group: group)
                .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            chmod(path, 0o600)
            socketChannel = server.channel
            tasks.append(
                Task { [weak self] in
                    try? await server.executeThenClose { inbound in
                        for try await client in inbound {
                            guard let self else { return }
                            Task { await self.serveSocket(client) }
                        }
                    }
                })
            return true
        } catch {
            logger.warning("cannot listen on node.sock; watching the store instead", metadata: ["reason": "\(error)"])
            return false
        }
    }

    func serveSocket(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let events = self.events
        let contactIDs = Dictionary(((try? node.contacts()) ?? []).map { ($0.record.id, $0.id) }) { a, _ in a }
        try? await client.executeThenClose { inbound, outbound in
            var request: [UInt8] = []
            for try await var chunk in inbound {
                request += chunk.readBytes(length: chunk.readableBytes) ?? []
                if request.contains(0x0A) || request.count > NodeSocket.maxRequestBytes { break }
            }
            let line = String(decoding: request.prefix { $0 != 0x0A }, as: UTF8.self)
            switch line {
            case "changed":
                storeChangedElsewhere()
                try await outbound.write(ByteBuffer(string: "ok\n"))
            case let command where socketCommands[command] != nil:
                try await outbound.write(ByteBuffer(string: socketCommands[command]!() + "\n"))
            case "events":
                let stream = events.subscribe()
                let encoder = JSONEncoder()
                var known = contactIDs
                // A new subscriber first learns who is reachable now; changes follow as they happen.
                for (contact, p) in presence.sorted(by: { $0.key < $1.key }) where p != .offline {
                    guard var data = try? encoder.encode(EventRecord(.presence(contactID: contact, p)) { known[$0] })
                    else { continue }
                    data.append(0x0A)
                    try await outbound.write(ByteBuffer(bytes: data))
                }
                for await e in stream {
                    if case .contactsChanged = e {
                        known = Dictionary(((try? node.contacts()) ?? []).map { ($0.record.id, $0.id) }) { a, _ in a }
                    }
                    let record = EventRecord(e) { known[$0] }
                    guard var data = try? encoder.encode(record) else { continue }
                    data.append(0x0A)
                    try await outbound.write(ByteBuffer(bytes: data))
                }
            default:
                try await outbound.write(ByteBuffer(string: "error: unknown request\n"))
            }
        }
    }

    /// Answers `name` on node.sock with what `answer` returns (one line): how an embedding
    /// program (the web app) offers more to the other processes of the profile.
    public func addSocketCommand(_ name: String, _ answer: @escaping @Sendable () -> String) {
        socketCommands[name] = answer
    }

    /// Another process changed the store: offer what it stored, and show what it changed.
    func storeChangedElsewhere() {
        stateDirty = true
        relayLists = nil
        announce()
    }
}
