import Foundation
import MuleNode

/// How a link came about.
public enum LinkOrigin: String, Sendable, Codable {
    /// Dialled: a service mDNS found on the LAN.
    case mdns
    /// Dialled: a `--peer` given on the command line.
    case `static`
    /// Dialled: an address from a contact's DHT record.
    case dht
    /// Dialled: a relay.
    case relay
    /// Accepted: the peer dialled this node.
    case incoming
}

/// Whether a way of finding peers (mDNS, the DHT) runs. Written as `on`, `joining`, or
/// `off: REASON` in node.json.
public enum DiscoveryState: Sendable, Equatable, Codable, CustomStringConvertible {
    case on
    case joining
    case off(String)

    public var description: String {
        switch self {
        case .on: "on"
        case .joining: "joining"
        case .off(let reason): "off: \(reason)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        switch text {
        case "on": self = .on
        case "joining": self = .joining
        default: self = .off(text.hasPrefix("off: ") ? String(text.dropFirst(5)) : text)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// What a running node publishes in its profile (`node.json`) for `mule peers` and `mule nearby`.
public struct RunState: Codable, Sendable {
    public struct Link: Codable, Sendable {
        public var address: String
        public var direction: LinkDirection
        public var since: Int64  // Unix ms
        public var bundlesSent: Int
        public var bundlesReceived: Int
        public var bytesSent: Int64
        public var bytesReceived: Int64
        /// A bundle arriving in parts: bytes so far and its whole size.
        public var receiving: Progress?
        public var sending: Progress?
        public var visibleAs: String?
    }

    public struct Progress: Codable, Sendable {
        public var bytes: Int64
        public var total: Int64
    }

    public struct Seen: Codable, Sendable {
        public var address: String
        public var via: LinkOrigin
        public var lastSeen: Int64
    }

    public struct Nearby: Codable, Sendable {
        public var name: String
        public var fingerprint: String
        public var signingKey: String  // hex
        public var agreementKey: String  // hex
        public var address: String
        public var lastSeen: Int64
        /// The signed prekey the hello carried (hex of its CBOR), for `contacts add-nearby`.
        public var prekey: String?
    }

    public var pid: Int32
    public var listen: String
    public var instance: String?
    public var mdns: DiscoveryState
    /// The DHT, when the node was asked to use one.
    public var dht: DiscoveryState?
    public var updated: Int64
    public var links: [Link] = []
    public var recent: [Seen] = []
    public var nearby: [Nearby] = []

    public static func read(profile: Profile) -> RunState? {
        guard let data = FileManager.default.contents(atPath: profile.runStatePath) else { return nil }
        return try? JSONDecoder().decode(RunState.self, from: data)
    }

    func write(profile: Profile) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        try SecureFile.write(Array(try e.encode(self)), to: profile.runStatePath, mode: 0o600)
    }
}

/// The profile's run lock: held by the one node running on it, released by the kernel when that
/// process ends, however it ends.
public final class RunLock {
    private let fd: Int32

    /// Takes the lock, or returns nil if a node already holds it.
    public init?(profile: Profile) {
        let fd = open(profile.runLockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// True if a node is running on this profile now.
    public static func isHeld(profile: Profile) -> Bool {
        let fd = open(profile.runLockPath, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }
}
