import MuleLink
import MuleNode

/// Bundles on their way in: which link each asked-for bundle is expected from, and the parts of
/// unfinished bundles, kept so that the next `want` resumes where a dropped link stopped.
///
/// A state machine of the mesh with no I/O: the mesh feeds it what links offer and send, and
/// it says what to ask for and what arrived whole. Every table it keeps is bounded.
struct Intake {
    struct Partial {
        var bytes: [UInt8]
        var total: Int
        var touched: ContinuousClock.Instant
    }

    /// What a part amounted to.
    enum Arrival: Equatable {
        /// Nothing to do (a `gone` answer, or a part of a bundle still arriving).
        case nothing
        /// A bundle still arriving: bytes so far of its whole size.
        case progress(bytes: Int, total: Int)
        /// A whole bundle that matches its id. `pushed` when it came unasked (a node pushes
        /// only its own small bundles).
        case complete([UInt8], pushed: Bool)
    }

    /// The most bytes of unfinished bundles kept, and the most of them.
    let maxPartialBytes: Int
    let maxPartials: Int
    /// Bundles asked of one link and not yet arrived.
    let maxAskedPerLink: Int

    private(set) var partials: [[UInt8]: Partial] = [:]
    /// The link each asked-for bundle is expected from.
    private(set) var inFlight: [[UInt8]: Int] = [:]
    private var askedPerLink: [Int: Int] = [:]

    init(maxPartialBytes: Int, maxPartials: Int, maxAskedPerLink: Int) {
        self.maxPartialBytes = maxPartialBytes
        self.maxPartials = maxPartials
        self.maxAskedPerLink = maxAskedPerLink
    }

    /// Bundles asked of `link` that have not arrived.
    func asked(on link: Int) -> Int { askedPerLink[link, default: 0] }

    /// What to ask `link` for among `ids` (which this node lacks): those not already expected
    /// from a live link (`isLive`), up to `maxAskedPerLink` in flight on it; each from the byte
    /// its unfinished copy reached. What is not asked now is offered again later.
    mutating func ask(_ ids: [[UInt8]], on link: Int, isLive: (Int) -> Bool) -> [LinkFrame.Want] {
        var wants: [LinkFrame.Want] = []
        var asked = askedPerLink[link, default: 0]
        for id in ids {
            if let owner = inFlight[id], isLive(owner) { continue }
            guard asked < maxAskedPerLink else { break }
            if let owner = inFlight[id] { askedPerLink[owner, default: 1] -= 1 }
            asked += 1
            inFlight[id] = link
            wants.append(LinkFrame.Want(id: id, offset: UInt32(partials[id]?.bytes.count ?? 0)))
        }
        askedPerLink[link] = asked
        return wants
    }

    /// One part from `link`. Parts of a bundle this node asked for must continue where the last
    /// one ended; a whole small bundle may also arrive unasked (a push). Throws for a part nobody
    /// asked for, one that does not continue, and a whole bundle that does not match its id.
    mutating func receive(_ p: LinkFrame.Part, on link: Int, now: ContinuousClock.Instant) throws(LinkError) -> Arrival {
        let asked = inFlight[p.id] == link
        if p.total == 0 {
            // The peer no longer has it.
            if asked { settle(p.id, link) }
            return .nothing
        }
        let whole = p.offset == 0 && p.data.count == Int(p.total)
        guard asked || whole else { throw .unexpected("a part of a bundle nobody asked for") }
        var bytes: [UInt8]
        if whole {
            bytes = p.data
            partials[p.id] = nil
        } else {
            // Taken out of the dictionary while it grows, so appending never copies what came before.
            var partial = partials.removeValue(forKey: p.id) ?? Partial(bytes: [], total: Int(p.total), touched: now)
            guard partial.total == Int(p.total), Int(p.offset) == partial.bytes.count else {
                partials[p.id] = partial
                throw .unexpected("a bundle part at offset \(p.offset), expected \(partial.bytes.count)")
            }
            // Grown as bytes arrive, never reserved from the declared total: a peer can claim
            // 80 MiB and send 16 bytes.
            partial.bytes += p.data
            partial.touched = now
            if partial.bytes.count < partial.total {
                let progress = Arrival.progress(bytes: partial.bytes.count, total: partial.total)
                partials[p.id] = partial
                trim()
                return progress
            }
            partials[p.id] = nil
            bytes = partial.bytes
        }
        if asked { settle(p.id, link) }
        guard Node.bundleID(bytes) == p.id else { throw .malformedFrame("a bundle that does not match its id") }
        return .complete(bytes, pushed: !asked)
    }

    private mutating func settle(_ id: [UInt8], _ link: Int) {
        inFlight[id] = nil
        let left = askedPerLink[link, default: 1] - 1
        askedPerLink[link] = left > 0 ? left : nil
    }

    /// A link is gone: what it was asked for may be asked of another link; what arrived of it
    /// is kept for resuming.
    mutating func dropLink(_ link: Int) {
        for (bundle, owner) in inFlight where owner == link { inFlight[bundle] = nil }
        askedPerLink[link] = nil
    }

    /// The bundle `link` is sending now, if one is arriving in parts.
    func receiving(on link: Int) -> (bytes: Int, total: Int)? {
        for (id, owner) in inFlight where owner == link {
            if let p = partials[id] { return (p.bytes.count, p.total) }
        }
        return nil
    }

    /// Drops the least recently touched unfinished bundles beyond the memory and count bounds.
    private mutating func trim() {
        var total = partials.values.reduce(0) { $0 + $1.bytes.capacity }
        while total > maxPartialBytes || partials.count > maxPartials,
            let oldest = partials.min(by: { $0.value.touched < $1.value.touched })
        {
            total -= oldest.value.bytes.capacity
            partials[oldest.key] = nil
        }
    }
}
