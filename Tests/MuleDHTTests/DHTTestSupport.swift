import Foundation
import Logging
import MuleCrypto

@testable import MuleDHT

/// In-process Mule DHT nodes on 127.0.0.1.
struct LocalNetwork {
    var nodes: [DHTNode] = []
    var addresses: [DHTAddress] = []

    static func configuration(bootstrap: [DHTAddress], timeout: Duration = .seconds(2)) -> DHTConfiguration {
        var c = DHTConfiguration()
        c.listen = DHTAddress(ip: 0x7F00_0001, port: 0)
        c.bootstrap = bootstrap.map(\.description)
        c.queryTimeout = timeout
        return c
    }

    /// `count` nodes, each joining through the first (and `alsoBootstrap`, if given).
    static func make(count: Int, logger: Logger = quietLogger) async throws -> LocalNetwork {
        var net = try await first(logger: logger)
        try await net.grow(to: count, logger: logger)
        return net
    }

    static func first(logger: Logger = quietLogger) async throws -> LocalNetwork {
        var net = LocalNetwork()
        let first = DHTNode(configuration: configuration(bootstrap: []), logger: logger)
        let a = try await first.start()
        net.nodes.append(first)
        net.addresses.append(DHTAddress(ip: 0x7F00_0001, port: a.port))
        return net
    }

    mutating func grow(to count: Int, alsoBootstrap: [DHTAddress] = [], logger: Logger = quietLogger) async throws {
        let net = self
        let start = nodes.count
        for _ in start..<count {
            let n = DHTNode(
                configuration: LocalNetwork.configuration(bootstrap: [net.addresses[0]] + alsoBootstrap), logger: logger)
            let a = try await n.start()
            nodes.append(n)
            addresses.append(DHTAddress(ip: 0x7F00_0001, port: a.port))
        }
        // Tests run in parallel on a small machine: a join may meet only timeouts, so try again.
        for n in nodes[start...] {
            var attempt = 0
            while true {
                do {
                    try await n.join()
                    break
                } catch {
                    attempt += 1
                    if attempt == 3 { throw error }
                }
            }
        }
        // A second round so early joiners learn of later ones.
        for n in nodes { _ = await n.lookup(NodeID(Sodium.randomBytes(20))!, method: "find_node") }
    }

    func stop() async {
        for n in nodes { await n.stop() }
    }
}

let quietLogger: Logger = {
    var l = Logger(label: "test.dht")
    l.logLevel = .critical
    return l
}()

/// Collects log lines so tests can check what a node reported.
final class LogLines: @unchecked Sendable, LogHandler {
    private let lock = NSLock()
    private var stored: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lock.lock()
        stored.append("\(event.message)")
        lock.unlock()
    }

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }

    func logger() -> Logger { Logger(label: "test") { _ in self } }
}

/// A blocking UDP socket on 127.0.0.1 for speaking raw KRPC at a node.
final class RawUDP: @unchecked Sendable {
    let fd: Int32
    let port: UInt16

    init() {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    var address: DHTAddress { DHTAddress(ip: 0x7F00_0001, port: port) }

    func send(_ bytes: [UInt8], to a: DHTAddress) {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = a.ip.bigEndian
        addr.sin_port = a.port.bigEndian
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, bytes, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// The next datagram and its sender, or nil after the receive timeout.
    func receive() -> ([UInt8], DHTAddress)? {
        var buf = [UInt8](repeating: 0, count: 4096)
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &len) }
        }
        guard n > 0 else { return nil }
        return (
            Array(buf[0..<n]), DHTAddress(ip: UInt32(bigEndian: addr.sin_addr.s_addr), port: UInt16(bigEndian: addr.sin_port))
        )
    }

    func query(_ method: String, _ args: BDict, to a: DHTAddress, t: String = "xx") -> KRPCMessage? {
        var args = args
        if args["id"] == nil { args["id"] = .bytes([UInt8](repeating: 0x42, count: 20)) }
        send(KRPCMessage(transaction: Array(t.utf8), body: .query(method: method, arguments: args)).encoded(), to: a)
        while let (bytes, _) = receive() {
            if let m = try? KRPCMessage.decode(bytes), m.transaction == Array(t.utf8) { return m }
        }
        return nil
    }
}
