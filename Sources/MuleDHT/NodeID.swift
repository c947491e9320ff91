import MuleWire

/// A 160-bit Mainline node id or lookup target.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let length = 20
    public let bytes: [UInt8]

    public init?(_ bytes: [UInt8]) {
        guard bytes.count == NodeID.length else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard hex.count == 40 else { return nil }
        var b: [UInt8] = []
        var it = hex.makeIterator()
        while let h = it.next(), let l = it.next() {
            guard let v = UInt8(String([h, l]), radix: 16) else { return nil }
            b.append(v)
        }
        self.bytes = b
    }

    public static func random(using generate: (Int) -> [UInt8]) -> NodeID { NodeID(generate(length))! }

    public var description: String { bytes.map { String(format2: $0) }.joined() }

    /// XOR distance, compared as a big-endian number.
    public func distance(to other: NodeID) -> [UInt8] { zip(bytes, other.bytes).map { $0 ^ $1 } }

    /// Whether `a` is closer to `self` than `b` is.
    public func closer(_ a: NodeID, than b: NodeID) -> Bool {
        for i in 0..<NodeID.length {
            let x = a.bytes[i] ^ bytes[i]
            let y = b.bytes[i] ^ bytes[i]
            if x != y { return x < y }
        }
        return false
    }

    /// The number of leading bits `self` shares with `other` (160 if equal).
    public func commonPrefixLength(with other: NodeID) -> Int {
        for i in 0..<NodeID.length {
            let x = bytes[i] ^ other.bytes[i]
            if x != 0 { return i * 8 + x.leadingZeroBitCount }
        }
        return 160
    }

    public static func < (a: NodeID, b: NodeID) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

extension String {
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self.init([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}

/// An IPv4 UDP endpoint, the only kind Mule's DHT speaks for now.
public struct DHTAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: UInt32
    public var port: UInt16

    public init(ip: UInt32, port: UInt16) {
        self.ip = ip
        self.port = port
    }

    /// Parses `a.b.c.d:port` (through `HostPort`, the project's one address parser).
    public init?(_ text: String) {
        guard let a = HostPort(parsing: text, defaultHost: ""), let ip = a.ipv4, a.port <= 65535 else { return nil }
        self.init(ip: ip, port: UInt16(a.port))
    }

    public var host: String { "\(ip >> 24).\((ip >> 16) & 0xFF).\((ip >> 8) & 0xFF).\(ip & 0xFF)" }
    public var description: String { "\(host):\(port)" }

    /// 6 bytes: address and port, big-endian (BEP 5 compact peer info).
    public var compact: [UInt8] {
        [
            UInt8(ip >> 24), UInt8((ip >> 16) & 0xFF), UInt8((ip >> 8) & 0xFF), UInt8(ip & 0xFF), UInt8(port >> 8),
            UInt8(port & 0xFF),
        ]
    }

    public init?(compact b: some Collection<UInt8>) {
        guard b.count == 6 else { return nil }
        let a = Array(b)
        self.init(
            ip: UInt32(a[0]) << 24 | UInt32(a[1]) << 16 | UInt32(a[2]) << 8 | UInt32(a[3]),
            port: UInt16(a[4]) << 8 | UInt16(a[5]))
    }

    public var isLoopback: Bool { ip >> 24 == 127 }

    /// Whether this is a unicast address that can be reached across the internet: not loopback,
    /// private (RFC 1918), link-local, CGNAT, multicast, reserved or "this network".
    public var isGlobal: Bool {
        let a = ip >> 24
        let b = (ip >> 16) & 0xFF
        if a == 0 || a == 10 || a == 127 || a >= 224 { return false }
        if a == 169 && b == 254 { return false }
        if a == 172 && (16...31).contains(b) { return false }
        if a == 192 && b == 168 { return false }
        if a == 100 && (64...127).contains(b) { return false }
        if a == 192 && b == 0 && (ip >> 8) & 0xFF == 0 { return false }
        if a == 198 && (b == 18 || b == 19) { return false }
        return true
    }

    /// The unit that limits apply to: the /24 of a real address. Loopback cannot be reached from
    /// elsewhere, so there each endpoint (address and port) is its own block; that is what lets a
    /// private test network of many nodes live on 127.0.0.1.
    public var block: UInt64 {
        isLoopback ? UInt64(ip) << 16 | UInt64(port) : UInt64(ip & 0xFFFF_FF00) << 16
    }
}

/// A node as BEP 5 "compact node info" carries it: id, address, port (26 bytes).
public struct NodeInfo: Hashable, Sendable {
    public var id: NodeID
    public var address: DHTAddress

    public init(id: NodeID, address: DHTAddress) {
        self.id = id
        self.address = address
    }

    public static func encodeCompact(_ nodes: [NodeInfo]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(nodes.count * 26)
        for n in nodes {
            out += n.id.bytes
            out += n.address.compact
        }
        return out
    }

    /// Decodes a `nodes` string; a length that is not a multiple of 26 is an error.
    public static func decodeCompact(_ b: [UInt8]) -> [NodeInfo]? {
        guard b.count % 26 == 0 else { return nil }
        var out: [NodeInfo] = []
        var i = 0
        while i < b.count {
            out.append(NodeInfo(id: NodeID(Array(b[i..<i + 20]))!, address: DHTAddress(compact: b[i + 20..<i + 26])!))
            i += 26
        }
        return out
    }
}
