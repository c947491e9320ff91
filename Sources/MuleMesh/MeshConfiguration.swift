import MuleDHT
import MuleWire

/// A `HOST:PORT` to listen on or connect to (`HostPort`, the one parser). IPv6 hosts are
/// written in brackets: `[::1]:4747`.
public typealias PeerAddress = HostPort

/// How a node runs: where it listens, whom it dials, whether it uses mDNS.
public struct MeshConfiguration: Sendable {
    public static let defaultPort = 4747

    public var listen = PeerAddress(host: "0.0.0.0", port: MeshConfiguration.defaultPort)
    public var staticPeers: [PeerAddress] = []
    public var mdns = true
    /// Opt-in: announce this name (and the identity keys) to nodes on the LAN.
    public var visibleAs: String?
    /// How often an established link re-runs reconciliation (it also runs when the link comes up).
    public var syncInterval: Swift.Duration = .seconds(30)
    /// How often the store is checked for bundles that another process (the CLI) added.
    public var pollInterval: Swift.Duration = .milliseconds(100)
    /// Whether to publish node.json in the profile for `mule peers` and `mule nearby`.
    public var publishState = true
    /// A handshake must finish within this; a link silent for `idleTimeout` is dropped.
    public var handshakeTimeout: Swift.Duration = .seconds(5)
    public var idleTimeout: Swift.Duration = .seconds(30)
    /// Keep-alive on quiet links: a third of the idle timeout.
    public var pingInterval: Swift.Duration { idleTimeout / 3 }
    public var maxLinks = 32
    public var maxHandshakes = 8
    /// Links and handshakes from one IP address.
    public var maxLinksPerAddress = 4
    public var maxHandshakesPerAddress = 2
    /// The Mainline DHT to publish and look up reachability records in; nil: no DHT traffic.
    public var dht: DHTConfiguration?
    /// The address contacts should dial, as published in the DHT record; nil: the listen address,
    /// or, when that is a wildcard, the address DHT nodes saw with the listen port.
    public var announce: PeerAddress?
    /// How often contacts' records are looked up, and how often the own records are put again.
    public var rendezvousInterval: Swift.Duration = .seconds(60)
    public var republishInterval: Swift.Duration = .seconds(600)
    /// An own message not delivered after this long goes to the relays (the node's own, and those
    /// the recipient named). Relays come from the profile (`mule relay add`).
    public var relayWindow: Swift.Duration = .seconds(30)

    public init() {}
}
