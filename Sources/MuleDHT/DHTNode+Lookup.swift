/// Lookups and the BEP 44 operations built on them.
extension DHTNode {
    /// What a lookup found and what it cost.
    public struct LookupResult: Sendable {
        public var target: NodeID
        /// The closest nodes that answered, closest first, with their write tokens and answers.
        public var closest: [Lookup.Candidate]
        public var queries: Int
        public var answered: Int
        /// Query rounds along the path to the closest node that answered (1: it was already known).
        public var hops: Int
        public var elapsed: Duration
        /// Every node that answered, closest first: a get reads items from all of them, since
        /// tables that are not yet complete can make a put and a get settle on different sets.
        public var answeredNodes: [Lookup.Candidate]
    }

    /// An iterative lookup of `target` using `method` (`find_node`, `get_peers` or `get`).
    public func lookup(_ target: NodeID, method: String, arguments: BDict = BDict()) async -> LookupResult {
        let start = ContinuousClock.now
        var state: Lookup
        let known = table.closest(to: target, count: configuration.k)
        if known.count >= configuration.k || bootstrapAddresses.isEmpty {
            state = Lookup(target: target, start: known, k: configuration.k, alpha: configuration.alpha)
        } else {
            state = Lookup(target: target, bootstrap: bootstrapAddresses, k: configuration.k, alpha: configuration.alpha)
            for n in known { state.add(external: n) }
        }
        var args = arguments
        args[method == "get_peers" ? "info_hash" : "target"] = .bytes(target.bytes)
        let frozenArgs = args
        var group = LookupRun()
        var toQuery = state.next()
        var finished: [(DHTAddress, Result<BDict, DHTError>)] = []
        while true {
            for n in toQuery {
                group.running += 1
                let address = n.address
                let runID = group.id
                Task { [self] in
                    let r: Result<BDict, DHTError>
                    do { r = .success(try await self.query(method, frozenArgs, to: address)) } catch {
                        r = .failure(error as? DHTError ?? .stopped)
                    }
                    self.lookupAnswer(runID, address, r)
                }
            }
            guard group.running > 0 else { break }
            finished = await nextLookupAnswers(group.id)
            group.running -= finished.count
            for (address, result) in finished {
                switch result {
                case .success(let r):
                    if let id = r["id"]?.bytes.flatMap(NodeID.init) {
                        let nodes = (r["nodes"]?.bytes.flatMap(NodeInfo.decodeCompact) ?? [])
                            .filter { configuration.allows($0.address) && $0.id != ownID }
                        state.answered(from: address, id: id, nodes: nodes, token: r["token"]?.bytes, reply: r)
                    } else {
                        state.failed(address)
                    }
                case .failure:
                    state.failed(address)
                }
            }
            toQuery = state.isDone ? [] : state.next()
        }
        lookupInboxes[group.id] = nil
        let closest = state.closestAnswered
        let answered = state.candidates.filter { $0.state == .answered }
        return LookupResult(
            target: target, closest: closest, queries: state.queries,
            answered: answered.count,
            hops: (closest.first?.depth ?? -1) + 1, elapsed: ContinuousClock.now - start,
            answeredNodes: answered)
    }

    struct LookupRun {
        let id = UInt64.random(in: 0...UInt64.max)
        var running = 0
    }

    func lookupAnswer(_ id: UInt64, _ address: DHTAddress, _ r: Result<BDict, DHTError>) {
        guard var inbox = lookupInboxes[id] else {
            lookupInboxes[id] = LookupInbox(results: [(address, r)])
            return
        }
        inbox.results.append((address, r))
        if let w = inbox.waiter {
            inbox.waiter = nil
            let results = inbox.results
            inbox.results = []
            lookupInboxes[id] = inbox
            w.resume(returning: results)
        } else {
            lookupInboxes[id] = inbox
        }
    }

    func nextLookupAnswers(_ id: UInt64) async -> [(DHTAddress, Result<BDict, DHTError>)] {
        if var inbox = lookupInboxes[id], !inbox.results.isEmpty {
            let r = inbox.results
            inbox.results = []
            lookupInboxes[id] = inbox
            return r
        }
        return await withCheckedContinuation { c in
            var inbox = lookupInboxes[id] ?? LookupInbox()
            inbox.waiter = c
            lookupInboxes[id] = inbox
        }
    }

    /// A BEP 44 get: the immutable item with this target, or the mutable item with the highest
    /// valid sequence number among the nodes that answered. Every item is checked before it is believed.
    public func get(_ target: NodeID, salt: [UInt8] = [], publicKey: [UInt8]? = nil) async throws(DHTError) -> (
        DHTItem, LookupResult
    ) {
        let result = await lookup(target, method: "get")
        // This node may be one of the closest itself.
        let own = store.item(target, nowMs: clock())
        guard result.answered > 0 || own != nil else { throw .noNodes }
        var best: DHTItem?
        if let own, publicKey == nil || own.mutable?.publicKey == publicKey { best = own }
        for c in result.answeredNodes {
            guard let r = c.reply, let v = r.raw("v"), r["v"] != nil else { continue }
            var item = DHTItem(immutable: v)
            if let k = r["k"]?.bytes {
                guard let sig = r["sig"]?.bytes, let seq = r["seq"]?.int else { continue }
                if let publicKey, k != publicKey { continue }
                item = DHTItem(value: v, mutable: .init(publicKey: k, salt: salt, sequence: seq, signature: sig))
            }
            guard item.target == target, (try? item.validate()) != nil else {
                drop("item that does not match its target or signature", from: c.node.address)
                continue
            }
            if let m = item.mutable, let b = best?.mutable, b.sequence >= m.sequence { continue }
            best = item
            if item.mutable == nil { break }
        }
        guard let best else { throw .notFound }
        return (best, result)
    }

    /// A BEP 44 put to the closest nodes. Returns how many stored it; throws if none did.
    @discardableResult
    public func put(_ item: DHTItem, cas: Int64? = nil) async throws(DHTError) -> (stored: Int, lookup: LookupResult) {
        try item.validate()
        guard (try? Bencode.decode(item.value)) != nil else { throw .invalidItem("v is not bencoded") }
        let result = await lookup(item.target, method: "get")
        guard result.answered > 0 else { throw .noNodes }
        // A node that holds a newer version would refuse; one that has none would take the stale
        // item and serve it. Refuse up front, as the holders would (BEP 44 error 302).
        if let m = item.mutable {
            for c in result.answeredNodes {
                guard let r = c.reply, let seq = r["seq"]?.int, seq >= m.sequence, let v = r.raw("v"),
                    let sig = r["sig"]?.bytes, r["k"]?.bytes == m.publicKey
                else { continue }
                let held = DHTItem(value: v, mutable: .init(publicKey: m.publicKey, salt: m.salt, sequence: seq, signature: sig))
                if held != item, (try? held.validate()) != nil {
                    throw .remote(code: KRPCErrorCode.sequenceTooLow, message: "sequence number less than current")
                }
            }
        }
        // Keep a copy too when this node is as close as the farthest of the closest.
        if result.closest.count < configuration.k
            || result.closest.last.map({ !item.target.closer($0.node.id, than: ownID) }) ?? true
        {
            try? store.put(item, cas: cas, from: 0, nowMs: clock())
        }
        var args = BDict()
        args.setRaw("v", value: try! Bencode.decode(item.value), raw: item.value)
        if let m = item.mutable {
            args["k"] = .bytes(m.publicKey)
            args["seq"] = .int(m.sequence)
            args["sig"] = .bytes(m.signature)
            if !m.salt.isEmpty { args["salt"] = .bytes(m.salt) }
            if let cas { args["cas"] = .int(cas) }
        }
        let frozen = args
        var lastError: DHTError?
        let stored = await withTaskGroup(of: DHTError?.self) { group in
            for c in result.closest {
                guard let token = c.token else { continue }
                var a = frozen
                a["token"] = .bytes(token)
                let send = a
                group.addTask { [self] in
                    do {
                        _ = try await self.query("put", send, to: c.node.address)
                        return nil
                    } catch { return error as? DHTError ?? .stopped }
                }
            }
            var n = 0
            for await e in group {
                if let e { lastError = e } else { n += 1 }
            }
            return n
        }
        if stored == 0 { throw lastError ?? .noNodes }
        return (stored, result)
    }

    /// Pings one address; returns the id it answered with.
    public func ping(_ address: DHTAddress) async throws(DHTError) -> NodeID {
        let r = try await query("ping", BDict(), to: address)
        guard let id = r["id"]?.bytes.flatMap(NodeID.init) else { throw .malformed("ping answer without id") }
        return id
    }
}
