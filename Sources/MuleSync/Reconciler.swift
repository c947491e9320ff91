/// Range-based set reconciliation in the manner of Negentropy: two sides compare fingerprints of
/// ranges of their sorted sets and recurse only where they differ, so sets of 100 000 items that
/// differ by a handful cost a few kilobytes and a few round trips.
///
/// The initiator learns both directions: `haves` (ids it has and the peer lacks) and `needs`
/// (ids the peer has and it lacks). A pure state machine: messages in, messages out.
///
/// Every message it writes fits in `frameLimit` bytes, whatever the sizes of the two sets and of
/// their difference (as Negentropy's frameSizeLimit): when the answer to the ranges received so far
/// would not fit, the rest of the set, from there to infinity, is answered with one fingerprint,
/// which the peer splits again in the next round. An id list is answered with the ids the
/// receiver lacks only when they are few (`maxResponseIDs`); a range holding more is split instead.
/// So any difference syncs, over as many round trips as its size needs.
public struct Reconciler: Sendable {
    public let isInitiator: Bool
    public let set: SyncItemSet
    /// Ranges are split into this many sub-ranges when fingerprints differ.
    public var branching = 16
    /// A differing range with at most this many items is sent as a list of ids.
    public var idListThreshold = 16
    /// The most bytes of one message this side writes (a link frame holds 256 KiB).
    public var frameLimit = 100_000
    /// An id list is answered with at most this many ids the peer lacks; a range holding more is split.
    public var maxResponseIDs = 256

    public private(set) var haves: [[UInt8]] = []
    public private(set) var needs: [[UInt8]] = []
    public private(set) var rounds = 0

    public init(set: SyncItemSet, initiator: Bool) {
        self.set = set
        isInitiator = initiator
    }

    /// The initiator's first message: the whole range, split.
    public mutating func initiate() -> [UInt8] {
        var out: [SyncRange] = []
        split(0..<set.count, upper: .infinity, into: &out)
        return SyncCodec.encode(out)
    }

    /// Processes the peer's message. Returns the reply, or nil when the initiator is done.
    public mutating func reconcile(_ message: [UInt8]) throws(SyncError) -> [UInt8]? {
        let ranges = try SyncCodec.decode(message)
        rounds += 1
        var out: [SyncRange] = []
        var size = 1
        var lower = 0
        for r in ranges {
            let upper = set.lowerIndex(r.upper)
            let range = lower..<max(lower, upper)
            if !out.isEmpty, size + worstCase(r.mode, range) > frameLimit - SyncCodec.maxRangeSize {
                // No room for this range's answer: the rest is one fingerprint, split next round.
                let rest = lower..<set.count
                out.append(SyncRange(upper: .infinity, mode: .fingerprint(set.fingerprint(rest))))
                return SyncCodec.encode(out)
            }
            let before = out.count
            defer { size += SyncCodec.estimatedSize(out[min(before, out.count)...]) }
            switch r.mode {
            case .skip:
                skip(r.upper, &out)
            case .fingerprint(let fp):
                if set.fingerprint(range) == fp { skip(r.upper, &out) } else { split(range, upper: r.upper, into: &out) }
            case .idList(let theirs):
                let theirSet = Set(theirs)
                let mine = set.items[range].map(\.id)
                let mineSet = Set(mine)
                let extra = mine.filter { !theirSet.contains($0) }
                if isInitiator {
                    haves += extra
                    needs += theirs.filter { !mineSet.contains($0) }
                    skip(r.upper, &out)
                } else if extra.count > maxResponseIDs {
                    // Too many to list in one answer: the initiator gets sub-ranges to compare.
                    split(range, upper: r.upper, into: &out)
                } else {
                    var bitmap = [UInt8](repeating: 0, count: (theirs.count + 7) / 8)
                    for (i, id) in theirs.enumerated() where !mineSet.contains(id) { bitmap[i / 8] |= 1 << (i % 8) }
                    out.append(SyncRange(upper: r.upper, mode: .idListResponse(have: extra, bitmap: bitmap)))
                }
            case .idListResponse(let have, let bitmap):
                guard isInitiator else { throw .unexpected("id-list response sent to the responder") }
                let mine = set.items[range].map(\.id)
                guard bitmap.count == (mine.count + 7) / 8 else { throw .unexpected("bitmap does not match the range") }
                needs += have
                for (i, id) in mine.enumerated() where bitmap[i / 8] & (1 << (i % 8)) != 0 { haves.append(id) }
                skip(r.upper, &out)
            }
            lower = max(lower, upper)
        }
        if isInitiator, out.allSatisfy({ $0.mode == .skip }) { return nil }
        return SyncCodec.encode(out)
    }

    /// The most bytes that answering a range in `mode` over `range` can add to a message.
    private func worstCase(_ mode: SyncMode, _ range: Range<Int>) -> Int {
        let splitSize = max(branching, 1) * SyncCodec.maxRangeSize + idListThreshold * SyncItem.idLength
        switch mode {
        case .skip, .idListResponse: return SyncCodec.maxRangeSize
        case .fingerprint: return splitSize
        case .idList(let theirs):
            if isInitiator { return SyncCodec.maxRangeSize }
            return SyncCodec.maxRangeSize + splitSize + maxResponseIDs * SyncItem.idLength + theirs.count / 8 + 1
        }
    }

    private func skip(_ upper: SyncBound, _ out: inout [SyncRange]) {
        if out.last?.mode == .skip { out[out.count - 1].upper = upper } else { out.append(SyncRange(upper: upper, mode: .skip)) }
    }

    private func split(_ range: Range<Int>, upper: SyncBound, into out: inout [SyncRange]) {
        let n = range.count
        if n <= idListThreshold {
            out.append(SyncRange(upper: upper, mode: .idList(set.items[range].map(\.id))))
            return
        }
        var start = range.lowerBound
        for k in 0..<branching {
            let end = range.lowerBound + n * (k + 1) / branching
            let bound = k == branching - 1 ? upper : SyncBound.between(set.items[end - 1], set.items[end])
            out.append(SyncRange(upper: bound, mode: .fingerprint(set.fingerprint(start..<end))))
            start = end
        }
    }
}
