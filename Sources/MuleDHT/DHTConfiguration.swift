import MuleCrypto

/// How a DHT node runs. Nothing here has a public default: a node sends no packet until it is
/// given bootstrap nodes or is asked to ping an address.
public struct DHTConfiguration: Sendable {
    /// Which addresses learned from other nodes may be contacted or stored.
    public enum Scope: Sendable, Equatable {
        /// The public Mainline DHT: only globally routable unicast addresses, so no answer can
        /// steer the node at the LAN or at this host.
        case global
        /// A private DHT (loopback, a lab network): any unicast address.
        case any
    }

    /// UDP address to bind (port 0: any free port).
    public var listen = DHTAddress(ip: 0, port: 0)
    /// `HOST:PORT` of nodes to join through; host names are resolved at start.
    public var bootstrap: [String] = []
    public var scope = Scope.any
    public var queryTimeout = Duration.seconds(2)
    public var k = 8
    public var alpha = 3
    public var storeLimits = ItemStore.Limits()
    /// Queries answered per second from one address block; more are dropped unanswered.
    public var queriesPerSecondPerBlock = 200
    /// How often buckets are refreshed and quiet nodes pinged while the node runs.
    public var maintenanceInterval = Duration.seconds(60)

    public init() {}

    /// The public Mainline routers, by name: used only with `mule run --dht mainline` or
    /// `mule dht … --mainline`.
    public static let mainlineRouters = [
        "router.bittorrent.com:6881", "dht.transmissionbt.com:6881", "router.utorrent.com:6881", "dht.libtorrent.org:25401",
    ]

    /// The public Mainline DHT.
    public static var mainline: DHTConfiguration {
        var c = DHTConfiguration()
        c.bootstrap = mainlineRouters
        c.scope = .global
        return c
    }

    func allows(_ a: DHTAddress) -> Bool {
        guard a.port != 0, a.ip != 0, a.ip >> 28 != 0xE, a.ip != 0xFFFF_FFFF else { return false }
        return scope == .any || a.isGlobal
    }
}
