import Foundation
import MuleMesh
import MuleNode
import MuleRelay
import MuleStore
import MuleWire
import Synchronization
import Testing

/// Envelope version 2 over every path at once, weeks apart: each round, both sides write a batch
/// that travels on a stick (shuffled, 20 % lost, some twice) and arrives last, then a batch over a
/// LAN link, then a batch through a relay while the other side is away. One test clock moves both
/// nodes and the relay on by a week or two between rounds.
@Suite(.serialized) struct DelayToleranceTests {
    /// The wall clock moved on by `offset`: time runs (relay windows are measured in it) and a
    /// test can skip weeks.
    final class Clock: Sendable {
        let offset = Atomic<Int64>(0)
        var read: @Sendable () -> Int64 { { [self] in Node.systemClock() + self.offset.load(ordering: .relaxed) } }
    }

    @Test func aThousandEachWayOverSticksLANAndARelayWeeksApart() async throws {
        // 10 rounds of 100 each way; the sanitizer passes run 2 (Scripts/sanitize.sh).
        let rounds = Int(ProcessInfo.processInfo.environment["MULE_DELAY_ROUNDS"] ?? "") ?? 10
        let (viaStick, viaLAN, viaRelay) = (30, 40, 30)
        let w = MeshWorld()
        let clock = Clock()
        var rc = RelayConfiguration(dataDirectory: w.dir.file("relay"))
        rc.host = "127.0.0.1"
        rc.port = 0
        rc.stampBits = 4
        let relay = try RelayServer(configuration: rc, clock: clock.read, logger: w.log.logger("relay"))
        let relayPort = try await relay.start()
        let homes = [try w.profile("Alice"), try w.profile("Bob")]
        for h in homes { try Node(home: h, clock: clock.read).addRelay("127.0.0.1:\(relayPort)") }
        try w.introduce(homes)
        let names = ["Bob", "Alice"]
        func mesh(_ k: Int, peers: [Int] = [], relayWindow: Duration) async throws -> Mesh {
            var c = MeshConfiguration()
            c.listen = PeerAddress(host: "127.0.0.1", port: 0)
            c.mdns = false
            c.staticPeers = peers.map { PeerAddress(host: "127.0.0.1", port: $0) }
            c.handshakeTimeout = .seconds(2)
            c.relayWindow = relayWindow
            let m = try Mesh(home: homes[k], configuration: c, clock: clock.read, logger: w.log.logger("n\(k)"))
            try await m.start()
            return m
        }
        func incoming(_ k: Int) throws -> [Message] {
            try Node(home: homes[k], clock: clock.read).messages(with: names[k]).filter { $0.record.direction == .incoming }
        }
        var rng = SystemRandomNumberGenerator()
        var sent: [Set<String>] = [[], []]
        var lost: [Set<String>] = [[], []]
        var rows: [Int64] = [0, 0]
        for round in 0..<rounds {
            if round > 0 { clock.offset.add(Int64.random(in: 7...14, using: &rng) * 86_400_000, ordering: .relaxed) }
            // 1. The stick batch: sealed first, carried away (the only copies), delivered last.
            var sticks: [[[UInt8]]] = [[], []]
            for k in 0..<2 {
                let node = try Node(home: homes[k], clock: clock.read)
                let texts = (0..<viaStick).map { "\(k) \(round) stick \($0)" }
                let messages = try node.send(to: names[k], texts: texts, lifetimeMs: 30 * 86_400_000)
                sent[k].formUnion(texts)
                let (rowsNow, _) = try node.bundlesStored(after: rows[k], limit: 100_000, pushLimit: 0)
                rows[k] = rowsNow.last?.row ?? rows[k]
                let ids = Set(messages.map(\.record.dropHash))
                let bundles = try node.bundles(rowsNow.filter(\.own).map(\.id), byteBudget: .max).compactMap { $0 }
                    .filter { $0.dropHash.map(ids.contains) == true }
                // The sender keeps no copy: the stick is the only way these go.
                try Store(path: node.profile.storePath).write { tx in
                    for b in bundles { _ = try tx.markDelivered(dropHash: b.dropHash!, expiresAt: clock.read() + 86_400_000) }
                }
                for b in bundles.shuffled(using: &rng) {
                    let roll = Int.random(in: 0..<10, using: &rng)
                    if roll < 2 {
                        let text = messages.first { $0.record.dropHash == b.dropHash }!.record.body!
                        lost[k].insert(text)
                        continue
                    }
                    sticks[k].append(b.data)
                    if roll == 2 { sticks[k].insert(b.data, at: Int.random(in: 0...sticks[k].count, using: &rng)) }
                }
            }
            // 2. Over a LAN link, both ways, live.
            let ma = try await mesh(0, relayWindow: .seconds(3600))
            let mb = try await mesh(1, peers: [try #require(await ma.boundPort)], relayWindow: .seconds(3600))
            let lanTexts = (0..<2).map { k in (0..<viaLAN).map { "\(k) \(round) lan \($0)" } }
            try await ma.send(texts: lanTexts[0], to: "Bob")
            try await mb.send(texts: lanTexts[1], to: "Alice")
            for k in 0..<2 { sent[k].formUnion(lanTexts[k]) }
            #expect(
                await eventually(30) {
                    try (0..<2).allSatisfy { k in Set(try incoming(1 - k).compactMap(\.record.body)).isSuperset(of: lanTexts[k]) }
                })
            await ma.stop()
            await mb.stop()
            // 3. Through the relay: each writes while the other is away.
            for k in 0..<2 {
                let m = try await mesh(k, relayWindow: .milliseconds(200))
                let texts = (0..<viaRelay).map { "\(k) \(round) relay \($0)" }
                sent[k].formUnion(texts)
                try await m.send(texts: texts, to: names[k])
                // Stopped only once the relay holds every one of them.
                let node = try Node(home: homes[k], clock: clock.read)
                let hashes = Set(
                    try node.messages(with: names[k]).filter { texts.contains($0.record.body ?? "") }.map(\.record.dropHash))
                let store = try Store(path: node.profile.storePath)
                #expect(
                    await eventually(30) {
                        Set(try store.read { tx in try tx.watchedDropHashes(at: "127.0.0.1:\(relayPort)") }).isSuperset(
                            of: hashes)
                    })
                await m.stop()
                let other = try await mesh(1 - k, relayWindow: .milliseconds(200))
                let arrived = await eventually(30) { Set(try incoming(1 - k).compactMap(\.record.body)).isSuperset(of: texts) }
                let got = Set(try incoming(1 - k).compactMap(\.record.body)).intersection(texts).count
                let held = try await relay.statistics().bundles
                #expect(arrived, "round \(round) from \(k): \(got) of \(texts.count) arrived; the relay holds \(held)")
                await other.stop()
            }
            // 4. The sticks arrive, weeks of messages after what they hold was sealed.
            for k in 0..<2 {
                let file = w.dir.file("stick-\(round)-\(k).mule")
                try Data(BundleFile.header + sticks[k].joined()).write(to: URL(fileURLWithPath: file))
                let r = try Node(home: homes[1 - k], clock: clock.read).importFiles([file])
                #expect(r.rejected == 0, "\(r.problems)")
            }
        }
        for k in 0..<2 {
            let got = try incoming(1 - k)
            let bodies = got.compactMap(\.record.body)
            #expect(bodies.count == Set(bodies).count, "a message opened twice")
            let expected = sent[k].subtracting(lost[k])
            #expect(
                Set(bodies) == expected,
                "missing \(expected.subtracting(bodies).sorted().prefix(10)), extra \(Set(bodies).subtracting(expected).sorted().prefix(10))"
            )
            let paths = Set(got.compactMap(\.record.path))
            #expect(paths.isSuperset(of: [.relay, .file]) && (paths.contains(.lan) || paths.contains(.direct)))
        }
        await relay.stop()
    }
}
