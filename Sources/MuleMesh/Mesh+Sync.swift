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

/// Moving bundles: reconciliation on a link, offers and pushes of what is new, sending what a
/// peer asked for, and importing what arrived (through `Intake`).
extension Mesh {
    /// Offers every bundle stored after the cursor to every link, except the one it came from.
    /// Own bundles that fit in one part are pushed whole.
    func announce() {
        announceScheduled = false
        guard !links.isEmpty else {
            cursor = (try? node.lastBundleRow()) ?? cursor
            return
        }
        do {
            while true {
                let (rows, push) = try node.bundlesStored(
                    after: cursor, limit: LinkFrame.maxIDs, pushLimit: LinkFrame.maxPartData)
                guard let last = rows.last else { return }
                cursor = last.row
                storeGeneration += 1
                let pushed = Set(push.map(\.id))
                let offered = rows.map(\.id).filter { !pushed.contains($0) }
                for link in links.values where link.relay == nil {
                    for b in push {
                        link.channel.write(
                            LinkFrame.part(of: b.data, id: b.id, from: 0),
                            promise: nil)
                        link.bundlesSent += 1
                        link.bytesSent += Int64(b.data.count)
                    }
                    let mine = offered.filter { receivedFrom[$0] != link.id }
                    if !mine.isEmpty { link.channel.write(LinkFrame.offer(mine), promise: nil) }
                    link.lastSent = .now
                    link.channel.flush()
                }
                if !push.isEmpty { try node.markSent(push) }
                receivedFrom.removeAll(keepingCapacity: true)
                stateDirty = true
                if rows.count < LinkFrame.maxIDs { return }
            }
        } catch {
            logger.warning("announce failed", metadata: ["reason": "\(error)"])
        }
    }

    func scheduleAnnounce() {
        guard !announceScheduled else { return }
        announceScheduled = true
        Task { self.announce() }
    }

    /// Sends the bundles a peer asked for, in parts, a batch (about 1 MiB) at a time; waits for
    /// each batch to reach the socket, so a slow peer holds at most one batch in memory.
    func pump(_ linkID: Int) async {
        guard let channel = links[linkID]?.channel else { return }
        let done = await channel.sendWanted(
            next: { () -> [(LinkFrame.Want, StoredBundle?)] in
                guard let link = links[linkID], !link.queue.isEmpty else { return [] }
                do {
                    let bundles = try node.bundles(link.queue.map(\.id), byteBudget: 1 << 20)
                    defer { link.queue.removeFirst(bundles.count) }
                    return Array(zip(link.queue, bundles))
                } catch {
                    logger.warning("cannot read bundles to send", metadata: ["reason": "\(error)"])
                    link.queue.removeAll()
                    return []
                }
            },
            data: \.data,
            progress: { b, sent in
                guard let link = links[linkID] else { return false }
                let total = Int64(b.data.count)
                link.sending = RunState.Progress(bytes: Int64(sent), total: total)
                events.publish(.transfer(address: link.peer.address, receiving: false, bytes: Int64(sent), total: total))
                return true
            },
            sent: { b in
                guard let link = links[linkID] else { return }
                link.sending = nil
                link.bundlesSent += 1
                link.bytesSent += Int64(b.data.count)
            },
            batchSent: { batch in
                links[linkID]?.lastSent = .now
                try? node.markSent(batch.filter(\.own))
                stateDirty = true
            })
        if done { links[linkID]?.pumping = false }
    }

    /// Imports the bundles that arrived since the last flush, one transaction per link.
    func flushImports() {
        flushScheduled = false
        guard !pendingImports.isEmpty else { return }
        let pending = pendingImports
        pendingImports.removeAll(keepingCapacity: true)
        // One transaction per link, and the bundles a link pushed apart from those it was asked
        // for: whose pushed bundles arrive is present on that link.
        var byLink: [Int: (link: Link, asked: [[UInt8]], pushed: [[UInt8]])] = [:]
        for p in pending {
            if p.pushed {
                byLink[p.link.id, default: (p.link, [], [])].pushed.append(p.bytes)
            } else {
                byLink[p.link.id, default: (p.link, [], [])].asked.append(p.bytes)
            }
        }
        var bundles = 0
        var messages = 0
        var present = false
        for group in byLink.values {
            for (raws, pushed) in [(group.asked, false), (group.pushed, true)] where !raws.isEmpty {
                let (b, m) = importFromLink(group.link, raws, pushed: pushed, present: &present)
                bundles += b
                messages += m
            }
        }
        if bundles > 0 { events.publish(.received(bundles: bundles, messages: messages)) }
        if present { updatePresence() }
        announce()
    }

    /// Imports bundles from one link in one transaction; returns bundles and messages stored.
    /// Path and source are the link's even when it is gone; presence and releases only while it is up.
    private func importFromLink(_ from: Link, _ raws: [[UInt8]], pushed: Bool, present: inout Bool) -> (Int, Int) {
        var bundles = 0
        var messages = 0
        let linkID = from.id
        do {
            let link = links[linkID]
            let source = "link \(from.peer.address)"
            do {
                let r = try node.receive(raws, from: source, path: path(of: from), tags: &tagCache)
                if pushed, let link, link.relay == nil {
                    for e in r.events {
                        switch e {
                        case .messageArrived(let m):
                            present = directory.contact(m.contact.record.id, showedOn: link.id) || present
                        case .messageStatus(_, let contact, _, _):
                            present = directory.contact(contact, showedOn: link.id) || present
                        default: break
                        }
                    }
                }
                bundles += r.imported
                messages += r.delivered
                if r.imported > 0 || !r.releases.isEmpty { storeGeneration += 1 }
                // Tells the relay which of the bundles it handed over are stored here now.
                if let link, link.relay != nil {
                    for f in LinkFrame.batches(r.releases, LinkFrame.release) { send(f, on: link) }
                }
                for p in r.problems {
                    logger.notice("rejected a bundle", metadata: ["source": "\(source)", "reason": "\(p.reason)"])
                }
            } catch {
                logger.error("import from a link failed", metadata: ["source": "\(source)", "reason": "\(error)"])
            }
            for raw in raws { receivedFrom[Node.bundleID(raw)] = linkID }
        }
        return (bundles, messages)
    }

    /// Imports soon rather than per bundle: a short pause gathers what is arriving into one
    /// transaction (and one receipt per sender), which is most of the speed of a busy link.
    func scheduleFlush() {
        if pendingImports.count >= 2048 {
            flushImports()
            return
        }
        guard !flushScheduled else { return }
        flushScheduled = true
        Task {
            try? await Task.sleep(for: .milliseconds(2))
            self.flushImports()
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
            pendingImports.append(PendingImport(link: link, bytes: bytes, pushed: pushed))
            stateDirty = true
            scheduleFlush()
        }
    }

    /// Refuses a request from a peer that does not read the answers it asked for: past the write
    /// buffer's high-water mark (`Mesh.writeBufferHigh`), what it asks would pile up in memory.
    func ensureReading(_ link: Link) throws(LinkError) {
        guard link.channel.isWritable else { throw .unexpected("the peer does not read what it asks for") }
    }
}
