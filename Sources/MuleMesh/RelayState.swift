import MuleLink

/// What the node knows about one relay address.
struct RelayState: Equatable {
    var linkID: Int?
    var welcome: LinkFrame.RelayWelcome?
    var subscribed: [[UInt8]] = []
    /// Deposits queued or sent on the current link, waiting for their result.
    var waiting: Set<[UInt8]> = []
    var queue: [[UInt8]] = []
    var pumping = false
    var lastDial: ContinuousClock.Instant?
    /// Dials in a row that did not leave a link: each doubles the wait before the next one.
    var failedDials = 0

    /// 5 s after a drop, doubling while the relay stays unreachable: up to 30 s for an own
    /// relay (it is where this node's mail waits) and 5 min for a contact's.
    func redialDelay(own: Bool) -> Duration {
        let delay = Duration.seconds(5) * (1 << min(failedDials, 6))
        return min(delay, own ? .seconds(30) : .seconds(300))
    }
}
