import MuleCrypto
import MuleDHT
import MuleNode
import MuleStore
import MuleWire

/// Rendezvous through the Mainline DHT: for every contact the node puts a small encrypted record
/// of where it can be reached, as a BEP 44 mutable item under a key only that contact can
/// compute (see ``RendezvousKeys``), and it looks up the records its contacts left for it and
/// dials the addresses inside. Docs/PROTOCOL.md §10 has the format.
extension Mesh {
    func runRendezvous(_ c: DHTConfiguration) async {
        let node = DHTNode(configuration: c, logger: logger)
        do { _ = try await node.start(group: group) } catch {
            dhtState = .off("\(error)")
            logger.warning("DHT is off: \(error)")
            return
        }
        dht = node
        dhtState = .joining
        while !Task.isCancelled && !stopped {
            do {
                try await node.join()
                break
            } catch {
                logger.info("cannot join the DHT yet", metadata: ["reason": "\(error)"])
                try? await Task.sleep(for: .seconds(5))
            }
        }
        guard !stopped else { return }
        dhtState = .on
        let count = await node.nodeCount
        logger.notice("joined the DHT", metadata: ["nodes": "\(count)"])
        var lastPublish: ContinuousClock.Instant?
        var lastAddress: PeerAddress?
        var rounds = 0
        while !Task.isCancelled && !stopped {
            let address = await reachableAddress(node)
            if let address,
                address != lastAddress || lastPublish.map({ ContinuousClock.now - $0 >= configuration.republishInterval }) ?? true
            {
                await publishRecords(node, address: address)
                lastPublish = ContinuousClock.now
                lastAddress = address
            }
            await lookUpContacts(node)
            // Look again soon at first, while contacts may still be publishing, then settle.
            rounds += 1
            let soon = Swift.Duration.seconds(5)
            try? await Task.sleep(
                for: rounds <= 12 ? min(soon, configuration.rendezvousInterval) : configuration.rendezvousInterval)
        }
    }

    /// Where contacts should dial: `--announce`, else the listen address, else (wildcard) the
    /// address DHT nodes saw, with the listen port.
    func reachableAddress(_ node: DHTNode) async -> PeerAddress? {
        if let a = configuration.announce { return a }
        guard let port = boundPort else { return nil }
        let host = configuration.listen.host
        if host != "0.0.0.0" && host != "::" { return PeerAddress(host: host, port: port) }
        guard let seen = await node.externalAddress else { return nil }
        return PeerAddress(host: seen.host, port: port)
    }

    static func today(_ nowMs: Int64) -> UInt32 { UInt32(nowMs / 86_400_000) }

    func pairKey(_ c: Contact) -> [UInt8]? {
        try? RecipientTags.pairKey(
            me: node.identity, peerSigningKey: c.record.signingKey, peerAgreementKey: c.record.agreementKey)
    }

    func publishRecords(_ dht: DHTNode, address: PeerAddress) async {
        guard let contacts = try? node.contacts().filter({ $0.state == .contact }) else { return }
        let day = Mesh.today(node.nowMs)
        let record = RendezvousRecord(
            addresses: [address.description], relays: (try? node.relays()) ?? [], issuedAt: UInt64(node.nowMs / 1000),
            prekey: node.currentPrekey()?.encode())
        var stored = 0
        for c in contacts {
            guard let pk = pairKey(c),
                let keys = try? RendezvousKeys(pairKey: pk, publisher: node.identity.signing.publicKey, day: day)
            else { continue }
            let value = BValue.bytes(keys.seal(record.encoded())).encoded()
            let item = DHTItem.signed(value: value, key: keys.item, salt: [], sequence: Int64(record.issuedAt))
            if (try? await dht.put(item)) != nil { stored += 1 }
        }
        logger.info("published reachability records", metadata: ["contacts": "\(contacts.count)", "stored": "\(stored)"])
    }

    func lookUpContacts(_ dht: DHTNode) async {
        guard let contacts = try? node.contacts().filter({ $0.state == .contact }) else { return }
        let today = Mesh.today(node.nowMs)
        for c in contacts {
            guard let pk = pairKey(c) else { continue }
            var found: RendezvousRecord?
            for day in [today, today - 1] {
                guard let keys = try? RendezvousKeys(pairKey: pk, publisher: c.record.signingKey, day: day) else { continue }
                let target = DHTItem.mutableTarget(publicKey: keys.item.publicKey, salt: [])
                guard let (item, _) = try? await dht.get(target, publicKey: keys.item.publicKey),
                    let sealed = (try? Bencode.decode(item.value))?.bytes,
                    let plain = try? keys.open(sealed), let r = RendezvousRecord(decoding: plain)
                else { continue }
                found = r
                break
            }
            guard let found else { continue }
            // A newer prekey than the invite's, signed by the contact (checked by the node).
            if let p = found.prekey.flatMap({ try? SignedPrekey.decode($0) }) { try? node.setContactPrekey(c.record.id, p) }
            let named = found.relays.filter { Node.isRelayAddress($0) }
            if named != c.record.relays {
                try? node.setContactRelays(c.record.id, named)
                logger.info("a contact's relays changed", metadata: ["contact": "\(c.name)", "relays": "\(named)"])
            }
            let addresses = found.addresses.compactMap { PeerAddress(parsing: $0) }
            rendezvous[c.id] = addresses
            for a in addresses {
                let key = a.description
                if dialing.contains(key) || links.values.contains(where: { $0.peer.address == key }) { continue }
                logger.info("dialling a contact found in the DHT", metadata: ["contact": "\(c.name)", "address": "\(key)"])
                Task { await self.dial(a, via: .dht) }
            }
        }
    }
}

/// The plaintext of a reachability record: CBOR `[1, [address…], [relay…], issued-at seconds]`,
/// then, from envelope version 2 on, the publisher's signed prekey as a byte string (§13.7); a
/// reader takes either length.
struct RendezvousRecord: Equatable {
    var addresses: [String]
    var relays: [String]
    var issuedAt: UInt64
    var prekey: [UInt8]?

    func encoded() -> [UInt8] {
        var items: [CBOR] = [
            .unsigned(1), .array(addresses.prefix(4).map { .text($0) }), .array(relays.prefix(4).map { .text($0) }),
            .unsigned(issuedAt),
        ]
        if let prekey { items.append(.bytes(prekey)) }
        return CBOR.array(items).encoded()
    }

    init(addresses: [String], relays: [String], issuedAt: UInt64, prekey: [UInt8]? = nil) {
        self.addresses = addresses
        self.relays = relays
        self.issuedAt = issuedAt
        self.prekey = prekey
    }

    init?(decoding bytes: [UInt8]) {
        guard case .array(let a)? = try? CBOR.decode(bytes), a.count == 4 || a.count == 5, a[0] == .unsigned(1),
            case .array(let addrs) = a[1], case .array(let relays) = a[2], case .unsigned(let t) = a[3]
        else { return nil }
        if a.count == 5 {
            guard case .bytes(let p) = a[4], p.count <= 256 else { return nil }
            self.init(addresses: texts(addrs), relays: texts(relays), issuedAt: t, prekey: p)
            return
        }
        self.init(addresses: texts(addrs), relays: texts(relays), issuedAt: t)
    }
}

private func texts(_ l: [CBOR]) -> [String] {
    l.prefix(4).compactMap { if case .text(let s) = $0, s.utf8.count <= 64 { return s } else { return nil } }
}
