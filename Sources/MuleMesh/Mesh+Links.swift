import Foundation
import Logging
import MuleCrypto
import MuleDiscovery
import MuleLink
import MuleNode
import MuleStore
import MuleSync
import MuleWire
import NIOCore
import NIOPosix

extension Mesh {
    /// Dials a peer and runs the link until it closes.
    func dial(_ address: PeerAddress, via: LinkOrigin) async {
        let key = address.description
        guard !dialing.contains(key), !stopped else { return }
        dialing.insert(key)
        defer { dialing.remove(key) }
        var own: LinkConfiguration?
        if via == .relay {
            // A relay gets a key of its own for every link and never the `--visible-as` announcement.
            own = host.configuration
            own?.staticKey = AgreementKey.generate()
            own?.hello = LinkHello()
        }
        do {
            let channel = try await host.dial(host: address.host, port: address.port, configuration: own)
            await runLink(channel, via: via, dialed: key)
        } catch {
            logger.debug("cannot connect", metadata: ["peer": "\(key)", "reason": "\(error)"])
        }
    }

    /// Keeps a static peer linked: redial after a drop, backing off from 1 s to 30 s.
    func keepDialing(_ address: PeerAddress) async {
        var delay = Swift.Duration.seconds(1)
        while !Task.isCancelled && !stopped {
            let started = ContinuousClock.now
            await dial(address, via: .static)
            if ContinuousClock.now - started > .seconds(10) { delay = .seconds(1) }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(30))
        }
    }

    /// Runs one connection: the handshake result attaches a link, then frames are handled in order.
    func runLink(_ channel: LinkChannel, via: LinkOrigin, dialed: String?) async {
        let end = await host.run(
            channel,
            attach: { peer in attach(peer, channel: channel.channel, via: via, dialed: dialed) },
            handle: { frame, id throws(LinkError) in try handle(frame, on: id) })
        guard let id = end.id else { return }
        // The link layer logs what it drops; what this node dropped is said here, once.
        if end.droppedByOwner, let e = end.error as? LinkError, let link = links[id] {
            logger.notice("dropped link", metadata: ["peer": "\(link.peer.address)", "reason": "\(e)"])
        }
        detach(id, reason: end.reason)
    }

    /// Registers an established link, or refuses it if it duplicates one we keep (the pair keeps the
    /// connection dialled by the lower link key) or reaches this node itself.
    func attach(_ peer: LinkPeer, channel: Channel, via: LinkOrigin, dialed: String?) -> Int? {
        guard !stopped else { return nil }
        if peer.linkKey == linkKey.publicKey {
            logger.debug("dialled ourselves", metadata: ["peer": "\(peer.address)"])
            return nil
        }
        let initiator = peer.weInitiated ? linkKey.publicKey : peer.linkKey
        if let existing = links.values.first(where: { $0.peer.linkKey == peer.linkKey }) {
            let existingInitiator = existing.peer.weInitiated ? linkKey.publicKey : existing.peer.linkKey
            if existingInitiator.lexicographicallyPrecedes(initiator) || existingInitiator == initiator { return nil }
            existing.channel.close(promise: nil)
        }
        let id = nextLinkID
        nextLinkID += 1
        let now = node.nowMs
        let relay = via == .relay ? dialed : nil
        let link = Link(id: id, channel: channel, peer: peer, since: now, relay: relay, via: via)
        links[id] = link
        if let relay { relays[relay, default: RelayState()].linkID = id }
        directory.seen(peer.address, via: via, at: now)
        if let v = peer.hello.visible, v.verify(linkKey: peer.linkKey) {
            directory.announced(v, address: peer.address, at: now)
            if let c = (try? node.contacts())?.first(where: { $0.record.signingKey == v.signingKey }) {
                _ = directory.contact(c.record.id, showedOn: id)
            }
        }
        stateDirty = true
        let direction: LinkDirection = relay != nil ? .relay : peer.weInitiated ? .outgoing : .incoming
        logger.info("link up", metadata: ["peer": "\(peer.address)", "direction": "\(direction.rawValue)"])
        events.publish(.linkUp(address: peer.address, direction: direction))
        updatePresence()
        if peer.weInitiated && relay == nil { startSync(link) }
        return id
    }

    func detach(_ id: Int, reason: String) {
        guard let link = links.removeValue(forKey: id) else { return }
        intake.dropLink(id)
        if let relay = link.relay, relays[relay]?.linkID == id {
            // A link that held for a while counts as success: the next drop is redialled after 5 s.
            // One that a relay closes at once keeps backing off.
            if let dialled = relays[relay]?.lastDial, ContinuousClock.now - dialled >= .seconds(30) {
                relays[relay]?.failedDials = 0
            }
            relays[relay]?.linkID = nil
            relays[relay]?.welcome = nil
            relays[relay]?.subscribed = []
            relays[relay]?.waiting = []
            relays[relay]?.queue = []
        }
        _ = directory.linkEnded(id, address: link.peer.address, announcedKey: link.peer.hello.visible?.signingKey, at: node.nowMs)
        stateDirty = true
        logger.info("link down", metadata: ["peer": "\(link.peer.address)", "reason": "\(reason)"])
        events.publish(.linkDown(address: link.peer.address, reason: reason))
        updatePresence()
    }

    // MARK: Frames

    func handle(_ frame: LinkFrame, on id: Int) throws(LinkError) {
        assertIsolated("a link's frame handled off the mesh actor")
        guard let link = links[id] else { return }
        if let relay = link.relay { return try handleRelay(frame, on: link, relay: relay) }
        switch frame {
        case .ping:
            break
        case .relayWelcome, .deposit, .depositResult, .subscribe, .release, .watch, .acks, .subscribeMore:
            throw .unexpected("a relay frame on a link between nodes")
        case .syncStart(let m):
            guard !link.peer.weInitiated else { throw .unexpected("reconciliation started by the side that was dialled") }
            // A node starts a round every sync interval; one that restarts many times a second only
            // spends this node's CPU.
            let now = ContinuousClock.now
            link.syncStarts = link.syncStarts.filter { now - $0 < .seconds(10) } + [now]
            guard link.syncStarts.count <= Mesh.maxSyncStartsPer10s else {
                throw .unexpected("reconciliation restarted too often")
            }
            try ensureReading(link)
            var r = Reconciler(set: syncSet(), initiator: false)
            let reply: [UInt8]?
            do { reply = try r.reconcile(m) } catch { throw .malformedFrame("reconciliation: \(error)") }
            link.reconciler = r
            if let reply { send(.sync(reply), on: link) }
        case .sync(let m):
            guard var r = link.reconciler else { throw .unexpected("a reconciliation message outside a round") }
            try ensureReading(link)
            let reply: [UInt8]?
            do { reply = try r.reconcile(m) } catch { throw .malformedFrame("reconciliation: \(error)") }
            link.reconciler = r
            if let reply {
                send(.sync(reply), on: link)
            } else if link.peer.weInitiated {
                link.reconciler = nil
                link.lastSync = .now
                logger.debug(
                    "reconciled",
                    metadata: ["peer": "\(link.peer.address)", "needs": "\(r.needs.count)", "haves": "\(r.haves.count)"])
                request(r.needs, from: link)
                for f in LinkFrame.batches(r.haves, LinkFrame.offer) { send(f, on: link) }
            }
        case .offer(let ids):
            request(ids, from: link)
        case .want(let wants):
            try ensureReading(link)
            guard link.queue.count + wants.count <= Mesh.maxQueuedWants else {
                throw .unexpected("asking for too many bundles at once")
            }
            link.queue += wants
            if !link.pumping {
                link.pumping = true
                Task { await self.pump(id) }
            }
        case .part(let p):
            try receive(p, on: link)
        }
    }

    func startSync(_ link: Link) {
        var r = Reconciler(set: syncSet(), initiator: true)
        let first = r.initiate()
        link.reconciler = r
        link.lastSync = .now
        send(.syncStart(first), on: link)
    }

    /// The ids of stored bundles to reconcile. Built once and reused until this node stores
    /// something or `syncSetMaxAge` passes (deletions by the CLI, receipts and expiry are picked up
    /// then): a peer that starts round after round costs a message's worth of work each, not a
    /// scan of the store (issue 11: 15 ms of CPU per 5-byte `syncStart` with 50 000 bundles).
    func syncSet() -> SyncItemSet {
        let now = ContinuousClock.now
        if let c = syncSetCache, c.generation == storeGeneration, now - c.built < Mesh.syncSetMaxAge { return c.set }
        let items = (try? node.syncItems()) ?? []
        let set = SyncItemSet(items.map { SyncItem(timestamp: UInt64(max($0.expiresAt, 0)), id: $0.id) })
        syncSetCache = SyncSetCache(built: now, generation: storeGeneration, set: set)
        return set
    }

    /// Asks a link for the ids this node does not know and is not already fetching elsewhere.
    func request(_ ids: [[UInt8]], from link: Link) {
        guard !ids.isEmpty else { return }
        let unknown: [[UInt8]]
        do { unknown = try node.unknownIDs(ids) } catch {
            logger.warning("store read failed", metadata: ["reason": "\(error)"])
            return
        }
        // Asked of this link and not yet arrived: bounded, so offers cannot grow the table without
        // limit. What is not asked now is offered again at the next reconciliation.
        let wants = intake.ask(unknown, on: link.id) { links[$0] != nil }
        if wants.count < unknown.count {
            logger.debug(
                "not asking for more now", metadata: ["peer": "\(link.peer.address)", "asked": "\(intake.asked(on: link.id))"])
        }
        for w in wants where w.offset > 0 {
            logger.notice(
                "resuming a bundle",
                metadata: [
                    "peer": "\(link.peer.address)", "offset": "\(w.offset)", "total": "\(intake.partials[w.id]?.total ?? 0)",
                ])
        }
        for f in LinkFrame.batches(wants, LinkFrame.want) { send(f, on: link) }
    }

    /// One part of a bundle (`Intake.receive` says what is allowed): a whole bundle is imported soon.
    func receive(_ p: LinkFrame.Part, on link: Link) throws(LinkError) {
        link.bytesReceived += Int64(p.data.count)
        switch try intake.receive(p, on: link.id, now: .now) {
        case .nothing:
            return
        case .progress(let bytes, let total):
            events.publish(.transfer(address: link.peer.address, receiving: true, bytes: Int64(bytes), total: Int64(total)))
            stateDirty = true
        case .complete(let bytes, let pushed):
            link.bundlesReceived += 1
            pendingImports.append(PendingImport(linkID: link.id, bytes: bytes, pushed: pushed))
            stateDirty = true
            scheduleFlush()
        }
    }

    /// Refuses a request from a peer that does not read the answers it asked for: past the write
    /// buffer's high-water mark (`Mesh.writeBufferHigh`), what it asks would pile up in memory.
    func ensureReading(_ link: Link) throws(LinkError) {
        guard link.channel.isWritable else { throw .unexpected("the peer does not read what it asks for") }
    }

    /// A link's incoming bundle in progress, for `mule peers`.
    func receiving(on link: Link) -> RunState.Progress? {
        intake.receiving(on: link.id).map { RunState.Progress(bytes: Int64($0.bytes), total: Int64($0.total)) }
    }

    // MARK: Discovery

    func startDiscovery() {
        let port = boundPort ?? configuration.listen.port
        do {
            let d = try AvahiDiscovery(instanceName: instanceName, port: port, txt: ["v=1"], logger: logger)
            discovery = d
            mdnsState = .on
            tasks.append(
                Task { [weak self] in
                    for await event in d.events {
                        await self?.discovered(event)
                    }
                })
        } catch {
            mdnsState = .off(error.description)
            events.publish(.discoveryOff(error.description))
        }
    }

    func discovered(_ event: DiscoveryEvent) {
        switch event {
        case .found(let s):
            let address = PeerAddress(host: s.host, port: s.port)
            directory.seen(address.description, via: .mdns, at: node.nowMs)
            stateDirty = true
            // Both sides see each other; only the one with the lower instance name dials.
            guard s.txt.contains("v=1"), instanceName < s.name else { return }
            discoveredServices[s.name] = address
            redialDiscovered()
        case .removed(let name):
            discoveredServices[name] = nil
        case .unavailable(let reason):
            mdnsState = .off(reason)
            events.publish(.discoveryOff(reason))
        }
    }

    /// Dials every discovered service with no link up: after a link drops (someone walked out of
    /// range and back) mDNS may not report the service again.
    func redialDiscovered() {
        for (_, address) in discoveredServices {
            let key = address.description
            if dialing.contains(key) || links.values.contains(where: { $0.peer.address == key }) { continue }
            Task { await self.dial(address, via: .mdns) }
        }
    }

    // MARK: State for the CLI

    func publishState() {
        guard configuration.publishState, stateDirty else { return }
        stateDirty = false
        var s = RunState(
            pid: getpid(), listen: PeerAddress(host: configuration.listen.host, port: boundPort ?? 0).description,
            instance: configuration.mdns ? instanceName : nil, mdns: mdnsState, updated: node.nowMs)
        s.links = links.values.sorted { $0.id < $1.id }.map { l in
            RunState.Link(
                address: l.peer.address, direction: l.relay != nil ? .relay : l.peer.weInitiated ? .outgoing : .incoming,
                since: l.since,
                bundlesSent: l.bundlesSent, bundlesReceived: l.bundlesReceived, bytesSent: l.bytesSent,
                bytesReceived: l.bytesReceived, receiving: receiving(on: l), sending: l.sending,
                visibleAs: l.peer.hello.visible.flatMap { $0.verify(linkKey: l.peer.linkKey) ? $0.name : nil })
        }
        (s.recent, s.nearby) = directory.snapshot()
        do { try s.write(profile: node.profile) } catch {
            logger.warning("cannot write node.json", metadata: ["reason": "\(error)"])
        }
    }

    // MARK: For an embedding program (chat, bench, tests)

    /// The current links, for tests and the bench.
    public var linkCount: Int { links.count }

    /// Sends a text message through this node's store and offers it at once.
    @discardableResult
    public func send(text: String, to contact: String) throws(NodeError) -> Message {
        let m = try node.send(to: contact, .text(text))
        announce()
        return m
    }

    /// Sends many text messages in one store transaction and offers them at once.
    public func send(texts: [String], to contact: String) throws(NodeError) {
        try node.send(to: contact, texts: texts)
        announce()
    }

    @discardableResult
    public func sendFile(path: String, to contact: String) throws(NodeError) -> Message {
        let m = try node.sendFile(to: contact, path: path)
        announce()
        return m
    }

    public func status() throws(NodeError) -> Node.Status {
        try node.status()
    }

    public func messages(with contact: String? = nil) throws(NodeError) -> [Message] {
        try node.messages(with: contact)
    }

    public func addContact(invite: String, name: String? = nil) throws(NodeError) -> Contact {
        try node.addContact(invite: invite, name: name)
    }

    public var invite: String { node.invite }

    public func contacts() throws(NodeError) -> [Contact] {
        try node.contacts()
    }
}
