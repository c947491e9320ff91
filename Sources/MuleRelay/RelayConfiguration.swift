import MuleStore

/// How a relay runs: where it listens, where it keeps bundles, and what it admits.
public struct RelayConfiguration: Sendable {
    public static let defaultPort = 4748

    public var host = "0.0.0.0"
    public var port = RelayConfiguration.defaultPort
    /// The directory of the relay's database (created if missing).
    public var dataDirectory: String
    /// Leading zero bits of the proof-of-work stamp for a bundle under 1 MiB; one more per doubling.
    public var stampBits: UInt8 = 16
    public var limits = RelayStore.Limits()
    /// The largest bundle accepted.
    public var maxBundle: UInt32 = 32 << 20
    /// Bundles are kept at most this long, whatever lifetime they carry.
    public var maxKeepMs: Int64 = 7 * 86_400_000
    /// Bytes of deposits being received at once, over all links; beyond, a deposit gets `busy`.
    public var maxBufferedBytes = 128 << 20
    /// A link that sends this many bad stamps is closed.
    public var maxBadStamps = 8
    public var maxLinks = 256
    /// Recipient tags subscribed over all links at once (a link holds at most
    /// `LinkFrame.maxSubscribedTags`); a subscription beyond it closes its link. About 570 people
    /// with 50 contacts each.
    public var maxSubscribedTags = 256 * 1024
    public var maxHandshakes = 16
    /// Links and handshakes from one IP address (many clients may share one behind a NAT).
    public var maxLinksPerAddress = 16
    public var maxHandshakesPerAddress = 4
    /// Bytes of deposits being received at once from one source address block (/24, /48), and
    /// from one link: so a few links cannot hold the whole buffer.
    public var maxBufferedBytesPerSource = 48 << 20
    /// A deposit whose next part does not come within this time is dropped with its link, and its
    /// buffer is freed.
    public var depositStallTimeout: Swift.Duration = .seconds(15)
    public var handshakeTimeout: Swift.Duration = .seconds(5)
    public var idleTimeout: Swift.Duration = .seconds(90)
    /// How often expired bundles are deleted and a summary is logged.
    public var sweepInterval: Swift.Duration = .seconds(60)

    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }
}

/// Why a relay could not start.
public enum RelayError: Error, Sendable, CustomStringConvertible {
    case cannotListen(String, String)
    case store(StoreError)
    case dataDirectory(String, String)

    public var description: String {
        switch self {
        case .cannotListen(let a, let r): return "cannot listen on \(a): \(r)"
        case .store(let e): return e.description
        case .dataDirectory(let d, let r): return "cannot use the relay directory \(d): \(r)"
        }
    }
}
