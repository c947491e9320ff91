import NIOConcurrencyHelpers

/// Bounds how many links and handshakes run at once, so a flood of connections costs a bounded
/// amount. Shared by every link of one node; safe from any event loop.
public final class LinkGate: Sendable {
    public let maxLinks: Int
    public let maxHandshakes: Int
    private let counts = NIOLockedValueBox((links: 0, handshakes: 0))

    public init(maxLinks: Int = 32, maxHandshakes: Int = 8) {
        self.maxLinks = maxLinks
        self.maxHandshakes = maxHandshakes
    }

    func enterHandshake() -> Bool {
        counts.withLockedValue { c in
            guard c.handshakes < maxHandshakes, c.links + c.handshakes < maxLinks else { return false }
            c.handshakes += 1
            return true
        }
    }

    func handshakeDone() {
        counts.withLockedValue { c in
            c.handshakes -= 1
            c.links += 1
        }
    }

    func leave(established: Bool) {
        counts.withLockedValue { c in
            if established { c.links -= 1 } else { c.handshakes -= 1 }
        }
    }

    public var current: (links: Int, handshakes: Int) { counts.withLockedValue { $0 } }
}
