import Foundation
import MuleCrypto
import MuleLink
import MuleNode
import MuleStore
import MuleWire
import NIOCore

/// The relay client: links to relays (`mule relay add`, and the relays contacts named), a
/// subscription to this node's own tags at its own relays, and the fallback policy: an own
/// message not delivered within `relayWindow` is deposited, stamped, at the recipient's relays
/// and this node's own. Docs/PROTOCOL.md §11 has the frames.
extension Mesh {
    /// The days whose tags a node asks its relays for: a week back (what a relay keeps) and tomorrow.
    func subscriptionDays() -> ClosedRange<UInt32> {
        let today = Mesh.today(node.nowMs)
        return (today - 7)...(today + 1)
    }

    /// Runs once a second: keeps the own relays linked and subscribed, and deposits what waited too long.
    func relayTick() {
        // The relay lists are read again only when they changed (an event, or another process
        // saying so through node.sock), not every second.
        if relayLists == nil {
            do { relayLists = (try node.relays(), try node.contactRelays()) } catch { return }
        }
        guard let (own, contactRelays) = relayLists else { return }
        ownRelays = own
        var wanted = Set(own)
        var plan: [String: [[UInt8]]] = [:]
        let cutoff = node.nowMs - Int64(configuration.relayWindow / .milliseconds(1))
        do {
            // Nothing to look for without relays: no query at all.
            for relay in Set(own).union(contactRelays) {
                let pending = try node.undeliveredOwnBundles(queuedBefore: cutoff, notAt: relay, own: own.contains(relay))
                if !pending.isEmpty { plan[relay] = pending.map(\.id) }
            }
        } catch {
            logger.warning("cannot plan relay deposits", metadata: ["reason": "\(error)"])
        }
        wanted.formUnion(plan.keys)
        for relay in wanted {
            var state = relays[relay] ?? RelayState()
            if state.linkID == nil {
                let delay = state.redialDelay(own: own.contains(relay))
                if state.lastDial.map({ ContinuousClock.now - $0 >= delay }) ?? true,
                    let address = PeerAddress(parsing: relay), !dialing.contains(relay)
                {
                    if state.lastDial != nil { state.failedDials += 1 }
                    state.lastDial = .now
                    Task { await self.dial(address, via: .relay) }
                }
                relays[relay] = state
                continue
            }
            relays[relay] = state
            guard let id = state.linkID, let link = links[id], state.welcome != nil else { continue }
            if own.contains(relay) { subscribe(relay, link) }
            if let ids = plan[relay] { queueDeposits(ids, at: relay) }
        }
        // Links to relays nobody needs any more close themselves when idle; own relays that were
        // removed are closed now.
        for (relay, state) in relays where !wanted.contains(relay) && state.welcome != nil {
            if let id = state.linkID, let link = links[id], link.queue.isEmpty, state.waiting.isEmpty {
                link.channel.close(promise: nil)
            }
        }
    }

    /// Sends this node's tags to an own relay when they changed (a new day, a new contact).
    func subscribe(_ relay: String, _ link: Link) {
        guard let tags = try? node.incomingTags(days: subscriptionDays()) else { return }
        let capped = Array(tags.prefix(LinkFrame.maxSubscribedTags))
        guard relays[relay]?.subscribed != capped else { return }
        if tags.count > capped.count {
            logger.warning(
                "more tags than a relay subscription holds; the oldest days' are left out",
                metadata: ["tags": "\(tags.count)", "subscribed": "\(capped.count)"])
        }
        relays[relay]?.subscribed = capped
        if capped.isEmpty { send(.subscribe([]), on: link) }
        for (i, frame) in LinkFrame.batches(capped, LinkFrame.subscribe).enumerated() {
            if i == 0 {
                send(frame, on: link)
            } else if case .subscribe(let more) = frame {
                send(.subscribeMore(more), on: link)
            }
        }
        logger.debug("subscribed at a relay", metadata: ["relay": "\(relay)", "tags": "\(capped.count)"])
    }

    func queueDeposits(_ ids: [[UInt8]], at relay: String) {
        guard var state = relays[relay] else { return }
        let fresh = ids.filter { !state.waiting.contains($0) }
        guard !fresh.isEmpty else { return }
        state.waiting.formUnion(fresh)
        state.queue += fresh
        let start = !state.pumping
        state.pumping = true
        relays[relay] = state
        if start { Task { await self.depositPump(relay) } }
    }

    /// Deposits queued bundles one after another on the relay's link: a stamp is found off the
    /// actor, then the header and the parts go out; the relay answers each with a result.
    func depositPump(_ relay: String) async {
        while let state = relays[relay], let id = state.queue.first, let linkID = state.linkID, let link = links[linkID],
            let welcome = state.welcome
        {
            relays[relay]?.queue.removeFirst()
            guard let b = try? node.bundle(id: id) else {
                relays[relay]?.waiting.remove(id)
                continue
            }
            let total = UInt32(b.data.count)
            guard total <= welcome.maxBundle else {
                logger.notice("a bundle is too large for a relay", metadata: ["relay": "\(relay)", "bytes": "\(total)"])
                relays[relay]?.waiting.remove(id)
                continue
            }
            let bits = RelayStamp.bits(base: welcome.bits, total: total)
            let challenge = welcome.challenge
            let nonce = await Task.detached { RelayStamp.solve(challenge: challenge, id: id, total: total, bits: bits) }.value
            guard links[linkID] != nil else { break }
            link.channel.write(LinkFrame.deposit(.init(id: id, total: total, nonce: nonce)), promise: nil)
            let last = await link.channel.writeParts(of: b.data, id: id) { _ in links[linkID] != nil }
            guard last != nil else { break }
            link.channel.flush()
            link.lastSent = .now
            link.bundlesSent += 1
            link.bytesSent += Int64(total)
            do { try await last?.get() } catch { break }
        }
        relays[relay]?.pumping = false
    }

    /// A frame on a relay link.
    func handleRelay(_ frame: LinkFrame, on link: Link, relay: String) throws(LinkError) {
        switch frame {
        case .ping:
            break
        case .relayWelcome(let w):
            guard relays[relay]?.welcome == nil else { throw .unexpected("a second relay welcome") }
            guard w.bits <= RelayStamp.maxBits else { throw .unexpected("a relay asking for \(w.bits)-bit stamps") }
            relays[relay]?.welcome = w
            logger.info("relay link up", metadata: ["relay": "\(relay)", "stampBits": "\(w.bits)"])
            let watched = (try? node.watchedDropHashes(at: relay)) ?? []
            for f in LinkFrame.batches(watched, LinkFrame.watch) { send(f, on: link) }
            relayTick()
            updatePresence()
        case .depositResult(let id, let result):
            relays[relay]?.waiting.remove(id)
            switch result {
            case .stored, .known:
                do {
                    let b = try node.markDeposited(at: relay, id: id)
                    if let h = b?.dropHash { send(.watch([h]), on: link) }
                } catch {
                    logger.warning("cannot record a deposit", metadata: ["reason": "\(error)"])
                }
                if result == .stored {
                    logger.info("deposited a bundle at a relay", metadata: ["relay": "\(relay)"])
                    node.events.publish(.deposited(relay: relay, bundles: 1))
                }
            default:
                logger.notice("a relay refused a deposit", metadata: ["relay": "\(relay)", "reason": "\(result)"])
            }
        case .offer(let ids):
            // A relay offers only bundles under this node's tags: take them all, known ones too,
            // so their release proves them delivered and the relay can delete its copy.
            let wants = intake.ask(ids, on: link.id) { links[$0] != nil }
            for f in LinkFrame.batches(wants, LinkFrame.want) { send(f, on: link) }
        case .part(let p):
            try receive(p, on: link)
        case .acks(let acks):
            do {
                let r = try node.applyAcks(acks, path: .relay)
                if r.receiptsApplied > 0 {
                    logger.info(
                        "a relay saw messages delivered", metadata: ["relay": "\(relay)", "messages": "\(r.receiptsApplied)"])
                    node.events.publish(.received(bundles: 0, messages: 0))
                }
            } catch {
                logger.warning("cannot apply acks from a relay", metadata: ["reason": "\(error)"])
            }
        default:
            throw .unexpected("a frame a relay does not send")
        }
    }

    /// The path a link stands for in `mule messages`: lan (mDNS, or a private address), direct
    /// (found in the DHT, or a public address), relay.
    static func path(via: LinkOrigin, address: String) -> MessagePath {
        switch via {
        case .relay: return .relay
        case .mdns: return .lan
        case .dht: return .direct
        case .static, .incoming: return HostPort(parsing: address)?.isPrivate == true ? .lan : .direct
        }
    }

    /// What is recorded on the messages that arrive on a link: as `path(via:address:)` says, except
    /// that a link from an address a contact published in the DHT is the DHT's doing too.
    func path(of link: Link) -> MessagePath {
        let host = HostPort(parsing: link.peer.address)?.host ?? link.peer.address
        if link.via == .incoming, rendezvous.values.contains(where: { $0.contains { $0.host == host } }) { return .direct }
        return Mesh.path(via: link.via, address: link.peer.address)
    }
}
