import NIOConcurrencyHelpers

/// Bounds how many links and handshakes run at once, in all and per remote address, so a flood of
/// connections costs a bounded amount and one address cannot take every slot. Shared by every link
/// of one node; safe from any event loop (one lock).
public final class LinkGate: Sendable {
    public let maxLinks: Int
    public let maxHandshakes: Int
    /// Links (handshaking or established) from one IP address.
    public let maxPerAddress: Int
    /// Handshakes in progress from one IP address.
    public let maxHandshakesPerAddress: Int

    private struct Counts {
        var links = 0
        var handshakes = 0
        var perAddress: [String: (links: Int, handshakes: Int)] = [:]
    }

    private let counts = NIOLockedValueBox(Counts())

    public init(maxLinks: Int = 32, maxHandshakes: Int = 8, maxPerAddress: Int = 4, maxHandshakesPerAddress: Int = 2) {
        self.maxLinks = maxLinks
        self.maxHandshakes = maxHandshakes
        self.maxPerAddress = maxPerAddress
        self.maxHandshakesPerAddress = maxHandshakesPerAddress
    }

    /// Why a connection was refused, or nil when it may start its handshake.
    func enterHandshake(from address: String) -> String? {
        counts.withLockedValue { c in
            guard c.handshakes < maxHandshakes, c.links + c.handshakes < maxLinks else { return "too many links or handshakes" }
            let a = c.perAddress[address] ?? (0, 0)
            guard a.handshakes < maxHandshakesPerAddress, a.links + a.handshakes < maxPerAddress else {
                return "too many links or handshakes from one address"
            }
            c.handshakes += 1
            c.perAddress[address] = (a.links, a.handshakes + 1)
            return nil
        }
    }

    func handshakeDone(from address: String) {
        counts.withLockedValue { c in
            c.handshakes -= 1
            c.links += 1
            if let a = c.perAddress[address] { c.perAddress[address] = (a.links + 1, a.handshakes - 1) }
        }
    }

    func leave(established: Bool, from address: String) {
        counts.withLockedValue { c in
            if established { c.links -= 1 } else { c.handshakes -= 1 }
            if let a = c.perAddress[address] {
                let left = established ? (a.links - 1, a.handshakes) : (a.links, a.handshakes - 1)
                c.perAddress[address] = left.0 == 0 && left.1 == 0 ? nil : left
            }
        }
    }

    public var current: (links: Int, handshakes: Int) { counts.withLockedValue { ($0.links, $0.handshakes) } }
}
