import Foundation
import Logging
import MuleCrypto
import MuleLink
import MuleMesh
import MuleNode
import MuleRelay
import NIOConcurrencyHelpers

#if canImport(Glibc)
    import Glibc
#endif

/// Collects log lines so a test can check that each dropped link was reported once.
///
/// A pthread lock (NIOLockedValueBox), not Synchronization's Mutex: ThreadSanitizer sees the
/// former's synchronisation and not the latter's, and the sanitizer passes run these tests.
final class LogLines: Sendable {
    let lines = NIOLockedValueBox<[String]>([])

    /// A copy made under the lock. Handing out the stored array itself would share its buffer,
    /// and whether the next append copies it is decided by reference counting, which
    /// ThreadSanitizer does not see as synchronisation.
    var all: [String] { lines.withLockedValue { $0.map { $0 } } }

    func logger(_ label: String) -> Logger {
        var l = Logger(label: label) { _ in Handler(sink: self) }
        l.logLevel = .info
        return l
    }

    struct Handler: LogHandler {
        let sink: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.lines.withLockedValue { $0.append("\(event.message) \(meta)") }
        }
    }
}

final class TempDir: Sendable {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mule-mesh-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Two or more profiles that know each other, each with a mesh on 127.0.0.1 and an ephemeral port.
struct MeshWorld {
    let dir = TempDir()
    let log = LogLines()

    func profile(_ name: String) throws -> String {
        let home = dir.file(name.lowercased())
        _ = try Profile.create(home: home, name: name)
        return home
    }

    /// Makes every pair of these profiles contacts.
    func introduce(_ homes: [String]) throws {
        let nodes = try homes.map { try Node(home: $0) }
        for a in nodes {
            for b in nodes where a.identity.signing.publicKey != b.identity.signing.publicKey {
                try a.addContact(invite: b.invite)
            }
        }
    }

    func mesh(_ home: String, peers: [Int] = [], configure: (inout MeshConfiguration) -> Void = { _ in }) async throws -> Mesh {
        var c = MeshConfiguration()
        c.listen = PeerAddress(host: "127.0.0.1", port: 0)
        c.mdns = false
        c.staticPeers = peers.map { PeerAddress(host: "127.0.0.1", port: $0) }
        c.handshakeTimeout = .seconds(1)
        configure(&c)
        let m = try Mesh(home: home, configuration: c, logger: log.logger((home as NSString).lastPathComponent))
        try await m.start()
        return m
    }
}

extension MeshWorld {
    /// A relay on 127.0.0.1 keeping its data in this world's `relay` folder; returns it and its port.
    func relay(
        port: Int = 0, bits: UInt8 = 8, configure: (inout RelayConfiguration) -> Void = { _ in }
    ) async throws -> (RelayServer, Int) {
        var c = RelayConfiguration(dataDirectory: dir.file("relay"))
        c.host = "127.0.0.1"
        c.port = port
        c.stampBits = bits
        configure(&c)
        let r = try RelayServer(configuration: c, logger: log.logger("relay"))
        return (r, try await r.start())
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass (generous: it returns as soon as
/// the condition holds, and the parallel suite on two cores can stall a task for many seconds).
func eventually(_ seconds: Double = 30, _ condition: () async throws -> Bool) async -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return (try? await condition()) == true
}

/// Runs blocking work on a thread of its own: a test that blocked a thread of the cooperative
/// pool (two threads on two cores) would stall the in-process nodes it is waiting for.
///
/// The result passes through a lock, taken by the thread after its work and by the caller after it
/// resumes: ThreadSanitizer does not see a continuation's resumption as synchronisation, and the
/// work changes the caller's objects (a `RawPeer`'s cipher states).
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    let handOver = NIOLockedValueBox<Result<T, any Error>?>(nil)
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        Thread {
            let result = Result { try work() }
            handOver.withLockedValue { $0 = result }
            continuation.resume()
        }.start()
    }
    return try handOver.withLockedValue { $0! }.get()
}

/// A hand-driven link peer over a blocking socket: what a hostile or broken node can send.
/// Whatever waits for the other side runs off the cooperative pool (`offPool`); one test uses a
/// peer at a time, so the unchecked sendability holds.
final class RawPeer: @unchecked Sendable {
    let fd: Int32
    var noise: NoiseXX
    var send: NoiseCipherState?
    var receive: NoiseCipherState?

    /// Connects to 127.0.0.1:`port` from the loopback address `from` (any of 127.0.0.0/8).
    init(port: Int, from: String = "127.0.0.1") throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(from)
        _ = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        self.fd = fd
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        noise = NoiseXX(initiator: true, staticKey: AgreementKey.generate(), prologue: LinkConfiguration.prologue)
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    func writeMessage(_ m: [UInt8]) {
        write([UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m)
    }

    /// One length-prefixed message, or nil when the other side closed (or nothing came in time).
    func readMessage() async -> [UInt8]? {
        (try? await offPool { self.readMessageBlocking() }) ?? nil
    }

    private func readMessageBlocking() -> [UInt8]? {
        guard let h = readExactly(2) else { return nil }
        return readExactly(Int(h[0]) << 8 | Int(h[1]))
    }

    func readExactly(_ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }

    /// True once the other side has closed the connection (reads until EOF or `seconds`).
    func closedByPeer(within seconds: Int = 10) async -> Bool {
        (try? await offPool { self.closedByPeerBlocking(within: seconds) }) ?? false
    }

    private func closedByPeerBlocking(within seconds: Int) -> Bool {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let r = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if r == 0 { return true }
            if r < 0 { return errno == ECONNRESET }
        }
    }

    /// Runs the whole handshake as initiator.
    func handshake() async throws {
        try await offPool { try self.handshakeBlocking() }
    }

    /// The hello the other side sent in handshake message 2.
    var theirHello: LinkHello?

    private func handshakeBlocking() throws {
        writeMessage(try noise.writeMessage())
        guard let m2 = readMessageBlocking() else { throw POSIXError(.ECONNRESET) }
        theirHello = try LinkHello.decode(try noise.readMessage(m2))
        writeMessage(try noise.writeMessage(payload: LinkHello().encode()))
        let (s, r) = try noise.split()
        send = s
        receive = r
    }

    /// Encrypts plaintext as one transport message (not sent).
    func seal(_ plain: [UInt8]) throws -> [UInt8] {
        try send!.encrypt(ad: [], plain)
    }

    /// Sends a frame on the plaintext stream, in as many Noise messages as it takes.
    func sendFrame(_ f: LinkFrame) throws {
        let bytes = f.encoded
        for start in stride(from: 0, to: bytes.count, by: 65_000) {
            writeMessage(try seal(Array(bytes[start..<min(start + 65_000, bytes.count)])))
        }
    }

    var assembler = FrameAssembler()

    /// The next frame from the other side, or nil when it closed or went quiet.
    func readFrame() async throws -> LinkFrame? {
        try await offPool { try self.readFrameBlocking() }
    }

    private func readFrameBlocking() throws -> LinkFrame? {
        while true {
            if let f = try assembler.next() { return f }
            guard let m = readMessageBlocking() else { return nil }
            assembler.append(try receive!.decrypt(ad: [], m))
        }
    }
}
