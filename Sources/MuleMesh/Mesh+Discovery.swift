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

/// Whom the node finds and shows: mDNS services, contacts' presence, and node.json for the CLI.
extension Mesh {
    /// Publishes the contacts whose presence changed (`PeerDirectory.presence`).
    func updatePresence() {
        guard let contacts = try? node.contacts() else { return }
        let linkedRelays = Set(relays.compactMap { $0.value.welcome != nil ? $0.key : nil })
        var changes: [NodeEvent] = []
        for c in contacts where c.state != .blocked {
            let now = directory.presence(of: c.record, linkedRelays: linkedRelays)
            if presence[c.record.id, default: .offline] != now {
                presence[c.record.id] = now
                changes.append(.presence(contactID: c.record.id, now))
            }
        }
        events.publish(changes)
    }

    /// Each contact's presence now, by contact store id (absent: offline).
    public var contactPresence: [Int64: Presence] { presence }

    /// A link's incoming bundle in progress, for `mule peers`.
    func receiving(on link: Link) -> RunState.Progress? {
        intake.receiving(on: link.id).map { RunState.Progress(bytes: Int64($0.bytes), total: Int64($0.total)) }
    }

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
        s.dht = configuration.dht == nil ? nil : dhtState
        do { try s.write(profile: node.profile) } catch {
            logger.warning("cannot write node.json", metadata: ["reason": "\(error)"])
        }
    }
}
