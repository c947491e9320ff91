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
                // A contact's newer prekey (the hello checked its signature); kept only if newer.
                if let p = v.prekey, c.record.prekey != p.encode() { try? node.setContactPrekey(c.record.id, p) }
            }
        }
        stateDirty = true
        let direction: LinkDirection = relay != nil ? .relay : peer.weInitiated ? .outgoing : .incoming
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

    // MARK: State for the CLI
}
