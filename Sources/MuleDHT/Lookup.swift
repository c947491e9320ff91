/// An iterative Kademlia lookup as a pure state machine: it says which nodes to query next (at
/// most `alpha` at a time among the `k` closest not yet failed), takes answers and timeouts, and
/// is done when the `k` closest live nodes have all answered. Answers are untrusted: each may add
/// at most `perAnswer` candidates, duplicates and the asker itself are ignored, a node that
/// answers under another id than it was introduced with counts as failed, and the candidate list
/// keeps only the `maxCandidates` closest, so a liar costs at most a few timeouts.
public struct Lookup: Sendable {
    public enum State: Sendable, Equatable { case fresh, inFlight, answered, failed }

    public struct Candidate: Sendable {
        public var node: NodeInfo
        /// 0 for nodes from the own table or the bootstrap list, else the referrer's depth + 1.
        public var depth: Int
        public var state: State
        public var token: [UInt8]?
        public var reply: BDict?
    }

    public let target: NodeID
    public let k: Int
    public let alpha: Int
    public let perAnswer: Int
    public let maxCandidates: Int
    public private(set) var candidates: [Candidate] = []
    public private(set) var queries = 0
    private var seen: Set<DHTAddress> = []

    public init(target: NodeID, start: [NodeInfo], k: Int = 8, alpha: Int = 3, perAnswer: Int = 16, maxCandidates: Int = 64) {
        self.target = target
        self.k = k
        self.alpha = alpha
        self.perAnswer = perAnswer
        self.maxCandidates = maxCandidates
        add(start, depth: 0)
    }

    /// Bootstrap addresses with no known id are queried like nodes whose id is unknown.
    public init(target: NodeID, bootstrap: [DHTAddress], k: Int = 8, alpha: Int = 3) {
        self.init(target: target, start: [], k: k, alpha: alpha)
        for a in bootstrap where seen.insert(a).inserted {
            // An unknown id sorts as the target itself, so bootstrap nodes are asked first.
            candidates.append(Candidate(node: NodeInfo(id: target, address: a), depth: 0, state: .fresh))
        }
        unknownIDs = Set(bootstrap)
    }

    private var unknownIDs: Set<DHTAddress> = []

    /// Adds a known node (depth 0) next to bootstrap addresses.
    public mutating func add(external node: NodeInfo) { add([node], depth: 0) }

    /// The next nodes to query; marks them in flight.
    public mutating func next() -> [NodeInfo] {
        var inFlight = candidates.filter { $0.state == .inFlight }.count
        var out: [NodeInfo] = []
        var live = 0
        for i in candidates.indices where candidates[i].state != .failed {
            live += 1
            if live > k { break }
            if candidates[i].state == .fresh, inFlight < alpha {
                candidates[i].state = .inFlight
                inFlight += 1
                queries += 1
                out.append(candidates[i].node)
            }
        }
        return out
    }

    public var isDone: Bool {
        var live = 0
        for c in candidates where c.state != .failed {
            if c.state != .answered { return false }
            live += 1
            if live >= k { break }
        }
        return true
    }

    /// An answer from `address` under `id`, with the nodes it named and its write token.
    public mutating func answered(
        from address: DHTAddress, id: NodeID, nodes: [NodeInfo], token: [UInt8]?, reply: BDict
    ) {
        guard let i = candidates.firstIndex(where: { $0.node.address == address && $0.state == .inFlight }) else { return }
        if unknownIDs.remove(address) != nil {
            candidates[i].node.id = id
            candidates[i].state = .answered
            candidates[i].token = token
            candidates[i].reply = reply
            let t = target
            candidates.sort { t.closer($0.node.id, than: $1.node.id) }
            add(Array(nodes.prefix(perAnswer)), depth: 1)
            return
        } else if candidates[i].node.id != id {
            candidates[i].state = .failed
            return
        }
        candidates[i].state = .answered
        candidates[i].token = token
        candidates[i].reply = reply
        let depth = candidates[i].depth + 1
        add(Array(nodes.prefix(perAnswer)), depth: depth)
    }

    public mutating func failed(_ address: DHTAddress) {
        guard let i = candidates.firstIndex(where: { $0.node.address == address && $0.state == .inFlight }) else { return }
        candidates[i].state = .failed
    }

    /// The closest nodes that answered, closest first.
    public var closestAnswered: [Candidate] { Array(candidates.filter { $0.state == .answered }.prefix(k)) }

    private mutating func add(_ nodes: [NodeInfo], depth: Int) {
        var changed = false
        for n in nodes where n.address.port != 0 && seen.insert(n.address).inserted {
            candidates.append(Candidate(node: n, depth: depth, state: .fresh))
            changed = true
        }
        guard changed else { return }
        let t = target
        candidates.sort { t.closer($0.node.id, than: $1.node.id) }
        if candidates.count > maxCandidates {
            // Drop the farthest that are not in flight; in-flight ones must stay to be matched.
            var keep: [Candidate] = []
            var extra = candidates.count - maxCandidates
            for c in candidates.reversed() {
                if extra > 0, c.state == .fresh {
                    extra -= 1
                    continue
                }
                keep.append(c)
            }
            candidates = keep.reversed()
        }
    }
}
