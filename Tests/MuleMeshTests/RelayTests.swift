import Foundation
import MuleCrypto
import MuleLink
import MuleMesh
import MuleNode
import MuleRelay
import MuleStore
import Testing

/// Nodes that cannot reach each other meet at a relay: deposits paid with stamps, fetched by tag,
/// released on arrival; a relay restart loses nothing; a flood of unstamped deposits stores nothing.
@Suite(.serialized) struct RelayTests {
    func relay(
        _ w: MeshWorld, port: Int = 0, bits: UInt8 = 8, configure: (inout RelayConfiguration) -> Void = { _ in }
    ) async throws -> (RelayServer, Int) {
        try await w.relay(port: port, bits: bits, configure: configure)
    }

    /// A raw client linked to the relay on `port`, and the relay's welcome.
    func relayClient(_ port: Int) async throws -> (RawPeer, LinkFrame.RelayWelcome) {
        let p = try RawPeer(port: port)
        try await p.handshake()
        guard case .relayWelcome(let welcome)? = try await p.readFrame() else { throw POSIXError(.EPROTO) }
        return (p, welcome)
    }

    func relayed(_ m: inout MeshConfiguration) {
        m.relayWindow = .milliseconds(300)
    }

    @Test func contactsChatThroughARelayOnly() async throws {
        let w = MeshWorld()
        let (r, port) = try await relay(w)
        let a = try w.profile("Alice")
        let b = try w.profile("Bob")
        try Node(home: a).addRelay("127.0.0.1:\(port)")
        try Node(home: b).addRelay("127.0.0.1:\(port)")
        try w.introduce([a, b])
        // No mDNS, no static peers, no DHT: the relay is the only way.
        let ma = try await w.mesh(a, configure: relayed)
        let mb = try await w.mesh(b, configure: relayed)
        try await ma.send(text: "one", to: "Bob")
        #expect(await eventually { try await mb.messages().contains { $0.record.body == "one" } })
        #expect(try await mb.messages().first { $0.record.body == "one" }?.record.path == .relay)
        #expect(await eventually { try await ma.messages().first?.record.status == .delivered })
        #expect(try await ma.messages().first?.record.path == .relay)
        try await mb.send(text: "two", to: "Alice")
        #expect(await eventually { try await ma.messages().contains { $0.record.body == "two" } })
        #expect(await eventually { try await mb.messages().first { $0.record.body == "two" }?.record.status == .delivered })

        // The relay goes away; messages queue; a new relay process on the same data and port
        // gets them and hands them on.
        await r.stop()
        try await ma.send(text: "three", to: "Bob")
        try await ma.send(text: "four", to: "Bob")
        try await Task.sleep(for: .milliseconds(800))
        let (r2, _) = try await relay(w, port: port)
        #expect(
            await eventually(20) { try await mb.messages().filter { ["three", "four"].contains($0.record.body) }.count == 2 })
        #expect(
            await eventually {
                try await ma.messages().filter { $0.record.direction == .outgoing }.allSatisfy { $0.record.status == .delivered }
            })
        // Released on arrival: the relay holds nothing, and knew no content or name.
        #expect(await eventually { try await r2.statistics().bundles == 0 })
        let db = try Data(contentsOf: URL(fileURLWithPath: w.dir.file("relay/relay.sqlite")))
        let wal = (try? Data(contentsOf: URL(fileURLWithPath: w.dir.file("relay/relay.sqlite-wal")))) ?? Data()
        for secret in ["three", "Alice", "Bob"] {
            #expect(db.range(of: Data(secret.utf8)) == nil && wal.range(of: Data(secret.utf8)) == nil)
        }
        await ma.stop()
        await mb.stop()
        await r2.stop()
    }

    @Test func aLinkedContactIsNotRelayed() async throws {
        let w = MeshWorld()
        let (r, port) = try await relay(w)
        let a = try w.profile("Alice")
        let b = try w.profile("Bob")
        try Node(home: a).addRelay("127.0.0.1:\(port)")
        try w.introduce([a, b])
        let mb = try await w.mesh(b)
        let ma = try await w.mesh(a, peers: [await mb.boundPort!], configure: relayed)
        #expect(await eventually { await ma.linkCount >= 2 })
        try await ma.send(text: "near", to: "Bob")
        #expect(await eventually { try await ma.messages().first?.record.status == .delivered })
        #expect(try await ma.messages().first?.record.path == .lan)
        try await Task.sleep(for: .seconds(1))
        #expect(await r.counters.stored == 0)
        await ma.stop()
        await mb.stop()
        await r.stop()
    }

    @Test func invitesAndRecordsCarryRelays() throws {
        let id = Identity.generate(name: "Ann")
        let code = Invite.encode(id.publicIdentity, relays: ["relay.example:4748", "10.0.0.1:4748"])
        let d = try Invite.decodeWithRelays(code)
        #expect(d.identity == id.publicIdentity)
        #expect(d.relays == ["relay.example:4748", "10.0.0.1:4748"])
        // Without relays the invite keeps version 1, which older nodes read.
        #expect(try Invite.decodeWithRelays(Invite.encode(id.publicIdentity)).relays == [])
        let w = MeshWorld()
        let a = try w.profile("Alice")
        let b = try w.profile("Bob")
        let na = try Node(home: a)
        try na.addRelay("127.0.0.1:4999")
        #expect(throws: NodeError.self) { try na.addRelay("no port") }
        let c = try Node(home: b).addContact(invite: na.invite)
        #expect(c.record.relays == ["127.0.0.1:4999"])
    }

    @Test func floodOfUnstampedDepositsStoresNothing() async throws {
        let w = MeshWorld()
        let (r, port) = try await relay(w, bits: 16)
        let (p, welcome) = try await relayClient(port)
        #expect(welcome.bits == 16)
        // Deposits whose stamps are wrong, each followed by its bytes: refused before anything is
        // written, and after eight the relay closes the link.
        var refused = 0
        for i in 0..<20 {
            let bytes = Sodium.randomBytes(2000 + i)
            let id = Sodium.blake2b(outputLength: 32, bytes)
            var nonce: UInt64 = 0
            while RelayStamp.verify(challenge: welcome.challenge, id: id, total: UInt32(bytes.count), nonce: nonce, bits: 16) {
                nonce += 1
            }
            try p.sendFrame(.deposit(.init(id: id, total: UInt32(bytes.count), nonce: nonce)))
            try p.sendFrame(.part(.init(id: id, total: UInt32(bytes.count), offset: 0, data: bytes)))
        }
        while let f = try? await p.readFrame() {
            if case .depositResult(_, .badStamp) = f { refused += 1 }
        }
        #expect(refused == 8)
        #expect(await p.closedByPeer())
        #expect(try await r.statistics().bundles == 0)
        #expect(await r.counters.badStamps == 8)
        #expect(
            await eventually {
                w.log.all.contains { $0.contains("closed a relay link") && $0.contains("bad proof-of-work stamp") }
            })

        // A stamped deposit of bytes that are no Mule bundle is refused too, and the link stays.
        let (q, w2) = try await relayClient(port)
        let junk = Array("not a bundle".utf8)
        let jid = Sodium.blake2b(outputLength: 32, junk)
        let nonce = RelayStamp.solve(challenge: w2.challenge, id: jid, total: UInt32(junk.count), bits: 16)
        try q.sendFrame(.deposit(.init(id: jid, total: UInt32(junk.count), nonce: nonce)))
        try q.sendFrame(.part(.init(id: jid, total: UInt32(junk.count), offset: 0, data: junk)))
        #expect(try await q.readFrame() == .depositResult(id: jid, result: .invalid))
        // Frames a relay does not take close the link with a log line.
        try q.sendFrame(.syncStart([1, 2, 3]))
        #expect(await q.closedByPeer())
        #expect(try await r.statistics().bundles == 0)
        #expect(await eventually { w.log.all.contains { $0.contains("a frame a relay does not take") } })
        await r.stop()
    }

    /// A node with more tags than one frame holds subscribes in several frames; the relay hands
    /// over a bundle under a tag from a later frame, and a subscription past the bound closes the link.
    @Test func subscriptionsLargerThanOneFrame() async throws {
        let w = MeshWorld()
        let a = try w.profile("Alice")
        let b = try w.profile("Bob")
        try w.introduce([a, b])
        let alice = try Node(home: a)
        try alice.send(to: "Bob", .text("under a tag of the second frame"))
        let bundle = try #require(try Store(path: alice.profile.storePath).read { tx in try tx.bundlesForExport(now: 0) }.first)
        let (r, port) = try await relay(w, bits: 4)

        let (depositor, welcome) = try await relayClient(port)
        let total = UInt32(bundle.data.count)
        let nonce = RelayStamp.solve(challenge: welcome.challenge, id: bundle.id, total: total, bits: 4)
        try depositor.sendFrame(.deposit(.init(id: bundle.id, total: total, nonce: nonce)))
        try depositor.sendFrame(LinkFrame.part(of: bundle.data, id: bundle.id, from: 0))
        #expect(try await depositor.readFrame() == .depositResult(id: bundle.id, result: .stored))

        let (subscriber, _) = try await relayClient(port)
        try subscriber.sendFrame(.subscribe((0..<LinkFrame.maxIDs).map { _ in Sodium.randomBytes(16) }))
        try subscriber.sendFrame(.subscribeMore([Sodium.randomBytes(16), bundle.tag]))
        #expect(try await subscriber.readFrame() == .offer([bundle.id]))
        // A new subscribe replaces the set: nothing more is offered for the old tags.
        try subscriber.sendFrame(.subscribe([Sodium.randomBytes(16)]))
        for _ in 0..<(LinkFrame.maxSubscribedTags / LinkFrame.maxIDs) {
            try subscriber.sendFrame(.subscribeMore((0..<LinkFrame.maxIDs).map { _ in Sodium.randomBytes(16) }))
        }
        #expect(await subscriber.closedByPeer())
        #expect(await eventually { w.log.all.contains { $0.contains("subscribing to too many tags") } })
        await r.stop()
    }

    /// Subscriptions over all links are bounded too, and a closed link gives its share back.
    @Test func subscribedTagsAreBoundedOverAllLinks() async throws {
        let w = MeshWorld()
        let (r, port) = try await relay(w, bits: 4) { $0.maxSubscribedTags = 5000 }
        func subscriber() async throws -> RawPeer {
            let (p, _) = try await relayClient(port)
            try p.sendFrame(.subscribe((0..<3000).map { _ in Sodium.randomBytes(16) }))
            return p
        }
        let first = try await subscriber()
        try first.sendFrame(.ping)
        let second = try await subscriber()
        #expect(await second.closedByPeer())
        #expect(await eventually { w.log.all.contains { $0.contains("as many subscribed tags as it takes") } })
        // A replacing subscribe counts once, not twice.
        try first.sendFrame(.subscribe((0..<3500).map { _ in Sodium.randomBytes(16) }))
        #expect(!(await first.closedByPeer(within: 1)))
        shutdown(first.fd, Int32(SHUT_RDWR))
        try await Task.sleep(for: .milliseconds(300))
        let third = try await subscriber()
        #expect(!(await third.closedByPeer(within: 1)))
        await r.stop()
    }

    @Test func depositsInProgressAreBounded() async throws {
        let w = MeshWorld()
        let (r, port) = try await relay(w, bits: 4) { $0.maxBufferedBytes = 10_000 }
        /// Opens a link and starts an 8000-byte deposit whose bytes never come.
        func start() async throws -> RawPeer {
            let (p, welcome) = try await relayClient(port)
            let id = Sodium.randomBytes(32)
            let nonce = RelayStamp.solve(challenge: welcome.challenge, id: id, total: 8000, bits: 4)
            try p.sendFrame(.deposit(.init(id: id, total: 8000, nonce: nonce)))
            return p
        }
        let first = try await start()
        let second = try await start()
        // The second would take the relay past its bound: refused as busy, nothing kept for it.
        #expect(try await second.readFrame().map { if case .depositResult(_, .busy) = $0 { true } else { false } } == true)
        // When the first link goes, its share is free again.
        shutdown(first.fd, Int32(SHUT_RDWR))
        try await Task.sleep(for: .milliseconds(300))
        let third = try await start()
        var tv = timeval(tv_sec: 0, tv_usec: 500_000)
        setsockopt(third.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        #expect(try await third.readFrame() == nil)
        #expect(try await r.statistics().bundles == 0)
        await r.stop()
    }

    @Test func relayStoreQuotasReleasesAndExpiry() throws {
        let dir = TempDir()
        let store = try RelayStore(path: dir.file("relay.sqlite"))
        var limits = RelayStore.Limits()
        limits.perSource = 3000
        limits.perTag = 2500
        limits.capacity = 4000
        let tagA = Sodium.randomBytes(16)
        let tagB = Sodium.randomBytes(16)
        let s1 = Sodium.randomBytes(8)
        let s2 = Sodium.randomBytes(8)
        let ack = Sodium.randomBytes(32)
        let drop = Sealer.dropHash(ackSecret: ack)
        func entry(_ tag: [UInt8], _ source: [UInt8], _ size: Int, drop: [UInt8]? = nil, expires: Int64 = 10_000)
            -> RelayStore.Entry
        {
            let data = Sodium.randomBytes(size)
            return .init(
                id: Sodium.blake2b(outputLength: 32, data), tag: tag, dropHash: drop, source: source, expiresAt: expires,
                data: data)
        }
        let m = entry(tagA, s1, 1000, drop: drop)
        #expect(try store.admit(m, limits: limits) == .stored)
        #expect(try store.admit(m, limits: limits) == .known)
        #expect(try store.admit(entry(tagA, s1, 1000), limits: limits) == .stored)
        // One tag and one source are bounded, and so is the whole relay.
        #expect(try store.admit(entry(tagA, s2, 1000), limits: limits) == .overQuota("recipient quota"))
        #expect(try store.admit(entry(tagB, s1, 1500), limits: limits) == .overQuota("source quota"))
        #expect(try store.admit(entry(tagB, s2, 1500), limits: limits) == .stored)
        #expect(try store.admit(entry(tagB, s2, 1500), limits: limits) == .overQuota("relay full"))
        #expect(try store.wouldExceed(source: s1, tag: nil, size: 501, limits: limits) == "relay full")
        #expect(try store.wouldExceed(source: s1, tag: nil, size: 500, limits: limits) == nil)
        #expect(try store.ids(forTags: [tagA], now: 0).count == 2)
        // A made-up ack deletes nothing; the real one deletes the message and is kept for its sender.
        let fake = Sodium.randomBytes(32)
        #expect(try store.release(acks: [(Sealer.dropHash(ackSecret: fake), fake)], receipts: [], tags: [], keepUntil: 1) == 0)
        #expect(try store.release(acks: [(drop, ack)], receipts: [], tags: [], keepUntil: 20_000) == 1)
        #expect(try store.acks(for: [drop]) == [ack])
        #expect(try store.admit(m, limits: limits) == .known)
        // A receipt (no drop hash) goes only for a link that asked for its tag.
        let receipt = try store.ids(forTags: [tagA], now: 0)[0]
        #expect(try store.release(acks: [], receipts: [receipt], tags: [tagB], keepUntil: 1) == 0)
        #expect(try store.release(acks: [], receipts: [receipt], tags: [tagA], keepUntil: 1) == 1)
        #expect(try store.deleteExpired(now: 10_000) == 1)
        #expect(try store.statistics().bundles == 0)
        #expect(try store.integrityCheck() == "ok")
    }

    @Test func stampsAndFrames() throws {
        let challenge = Sodium.randomBytes(16)
        let id = Sodium.randomBytes(32)
        #expect(RelayStamp.bits(base: 16, total: 1000) == 16)
        #expect(RelayStamp.bits(base: 16, total: 1 << 20) == 17)
        #expect(RelayStamp.bits(base: 16, total: 64 << 20) == 23)
        let n = RelayStamp.solve(challenge: challenge, id: id, total: 5000, bits: 12)
        #expect(RelayStamp.verify(challenge: challenge, id: id, total: 5000, nonce: n, bits: 12))
        #expect(!RelayStamp.verify(challenge: challenge, id: id, total: 5000, nonce: n, bits: 40))
        let frames: [LinkFrame] = [
            .relayWelcome(.init(challenge: challenge, bits: 16, maxBundle: 1 << 25)),
            .deposit(.init(id: id, total: 77, nonce: 0x0102_0304_0506_0708)),
            .depositResult(id: id, result: .overQuota),
            .subscribe([Array(id.prefix(16)), Array(id.suffix(16))]),
            .release([id]), .watch([id, id]), .acks([id]), .subscribeMore([Array(id.prefix(16))]),
        ]
        for f in frames {
            var asm = FrameAssembler()
            asm.append(f.encoded)
            #expect(try asm.next() == f)
        }
        for bad: [UInt8] in [[7, 1], [8] + id, [9] + id + [99], [10, 1, 2, 3], [11] + id + [1], [14] + id + [1]] {
            #expect(throws: LinkError.self) { try LinkFrame.decode(bad[...]) }
        }
    }
}
