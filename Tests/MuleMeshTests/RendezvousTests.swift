import Foundation
import MuleCrypto
import MuleDHT
import MuleMesh
import MuleNode
import MuleStore
import Testing

/// Two contacts with no LAN discovery and no static peers meet through records in a private DHT.
@Suite struct RendezvousTests {
    @Test func contactsFindEachOtherThroughTheDHT() async throws {
        // A private DHT of six nodes on 127.0.0.1.
        var dhtNodes: [DHTNode] = []
        var boot: [String] = []
        for i in 0..<6 {
            var c = DHTConfiguration()
            c.listen = DHTAddress(ip: 0x7F00_0001, port: 0)
            c.bootstrap = i == 0 ? [] : [boot[0]]
            c.queryTimeout = .seconds(2)
            let n = DHTNode(configuration: c)
            let a = try await n.start()
            if i > 0 { try await n.join() }
            dhtNodes.append(n)
            boot.append("127.0.0.1:\(a.port)")
        }
        let w = MeshWorld()
        let a = try w.profile("Alice")
        let b = try w.profile("Bob")
        let c = try w.profile("Carol")
        try w.introduce([a, b])
        // Alice names a relay after the invites were exchanged: Bob learns it from her DHT record.
        try Node(home: a).addRelay("127.0.0.1:9")
        // Bob forgets the prekey Alice's invite carried: he learns it again from her record.
        try Store(path: b + "/mule.sqlite").write { tx in try tx.setContactPrekey(id: tx.contacts()[0].id, nil) }
        let alicePrekey = try Node(home: a).currentPrekey()?.encode()
        #expect(alicePrekey != nil)
        func dht(_ m: inout MeshConfiguration) {
            var d = DHTConfiguration()
            d.listen = DHTAddress(ip: 0x7F00_0001, port: 0)
            d.bootstrap = [boot[1], boot[2]]
            d.queryTimeout = .seconds(2)
            m.dht = d
            m.rendezvousInterval = .milliseconds(300)
        }
        let ma = try await w.mesh(a, configure: dht)
        let mb = try await w.mesh(b, configure: dht)
        // Carol is nobody's contact: she is in the DHT too, but finds no record and makes no link.
        let mc = try await w.mesh(c, configure: dht)
        #expect(
            await eventually(20) {
                let (x, y) = (await ma.linkCount, await mb.linkCount)
                return x >= 1 && y >= 1
            })
        // Bob has read Alice's record (it named her relay) before she writes: a message that
        // arrives on a link before its sender's record was read is, rightly, not called "direct".
        #expect(await eventually(20) { try await mb.contacts().first?.record.relays == ["127.0.0.1:9"] })
        #expect(await eventually { try await mb.contacts().first?.record.prekey == alicePrekey })
        try await ma.send(text: "found you", to: "Bob")
        #expect(await eventually { try await mb.messages().contains { $0.record.body == "found you" } })
        // The message came over a link that the DHT found: `mule messages` says "direct".
        #expect(try await mb.messages().first { $0.record.body == "found you" }?.record.path == .direct)
        #expect(await eventually { try await ma.messages().first?.record.status == .delivered })
        #expect(await mc.linkCount == 0)
        #expect(await eventually { try await mb.contacts().first?.record.relays == ["127.0.0.1:9"] })
        // The log says the link came from the DHT.
        #expect(w.log.all.contains { $0.contains("dialling a contact found in the DHT") })
        // The records are sealed: what the DHT nodes hold does not contain the address in clear.
        await ma.stop()
        await mb.stop()
        await mc.stop()
        for n in dhtNodes { await n.stop() }
    }

    @Test func recordKeysAreDailyAndPerPair() throws {
        let pair = Sodium.randomBytes(32)
        let publisher = Sodium.randomBytes(32)
        let d1 = try RendezvousKeys(pairKey: pair, publisher: publisher, day: 20_000)
        let d2 = try RendezvousKeys(pairKey: pair, publisher: publisher, day: 20_001)
        let other = try RendezvousKeys(pairKey: Sodium.randomBytes(32), publisher: publisher, day: 20_000)
        #expect(d1.item.publicKey != d2.item.publicKey)
        #expect(d1.item.publicKey != other.item.publicKey)
        let sealed = d1.seal(Array("127.0.0.1:4747".utf8))
        #expect(try d1.open(sealed) == Array("127.0.0.1:4747".utf8))
        #expect(throws: CryptoError.self) { try d2.open(sealed) }
        #expect(throws: CryptoError.self) { try other.open(sealed) }
    }
}
