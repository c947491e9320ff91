/// A `HOST:PORT` as users write it and as links report their peers: `10.0.0.7:4747`,
/// `relay.example.org:4749`, `[fe80::1]:4747`, or `:4747` (the host left to a default).
///
/// The one parser of the project: the mesh, the relay, the DHT and the CLI all read addresses
/// through it, so they agree on what an address is.
public struct HostPort: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[V6]:PORT`, or `:PORT` (then the host is `defaultHost`). The port is
    /// 0…65535; the host has no spaces or slashes and is at most 253 bytes.
    public init?(parsing text: String, defaultHost: String = "0.0.0.0") {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard !host.isEmpty, host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            // An IPv6 address must be in brackets, or its last group would be taken for the port.
            guard !host.contains(":") else { return nil }
        }
        if host.isEmpty { host = Substring(defaultHost) }
        guard portText.utf8.count <= 5, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let port = Int(portText),
            (0...65535).contains(port), host.utf8.count <= 253,
            !host.contains(where: { $0 == " " || $0 == "/" || $0 == "\t" || $0 == "\n" })
        else { return nil }
        self.init(host: String(host), port: port)
    }

    /// `host:port`, with an IPv6 host in brackets.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The host as an IPv4 address in host byte order, if it is one (`a.b.c.d`).
    public var ipv4: UInt32? { HostPort.parseIPv4(host) }

    /// True for loopback, RFC 1918, link-local and CGNAT IPv4 hosts and for IPv6 loopback,
    /// link-local and unique-local hosts: an address a peer on the same network would have.
    public var isPrivate: Bool {
        if let ip = ipv4 {
            let a = UInt8(ip >> 24)
            let b = UInt8((ip >> 16) & 0xFF)
            return a == 10 || a == 127 || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
                || (a == 169 && b == 254) || (a == 100 && (64...127).contains(b))
        }
        let h = host.lowercased()
        return h == "::1" || h.hasPrefix("fe80:") || h.hasPrefix("fc") || h.hasPrefix("fd")
    }

    /// The host's network block: the first three octets of an IPv4 host, the first three groups
    /// of an IPv6 host, the whole of a name.
    public var block: String {
        if ipv4 != nil { return host.split(separator: ".").prefix(3).joined(separator: ".") }
        if host.contains(":") {
            return host.split(separator: ":", omittingEmptySubsequences: false).prefix(3).joined(separator: ":")
        }
        return host
    }

    /// Parses a dotted IPv4 address (four decimal octets, no leading signs).
    public static func parseIPv4(_ s: String) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var ip: UInt32 = 0
        for p in parts {
            guard (1...3).contains(p.utf8.count), p.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let v = UInt8(p) else {
                return nil
            }
            ip = ip << 8 | UInt32(v)
        }
        return ip
    }
}
