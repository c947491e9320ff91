import Foundation
import MuleCrypto
import MuleStore
import MuleWire
import Synchronization
import Testing

@testable import MuleNode

/// Envelope version 2 on nodes: sessions in the store, the first message to an invite, both sides
/// starting at once, the downgrade rule, and delivery in any order over every path.
@Suite struct EnvelopeV2NodeTests {
    static let day: Int64 = 86_400_000

    /// A pair of nodes that added each other from their invites (which carry prekeys).
    static func pair(_ w: World, keyLimits: Node.KeyLimits = .standard) throws -> (Node, Node) {
        let a = try Node(
            profile: try Profile.create(home: w.dir.file("alice"), name: "Alice"), clock: w.clock.read, keyLimits: keyLimits)
        let b = try Node(
            profile: try Profile.create(home: w.dir.file("bob"), name: "Bob"), clock: w.clock.read, keyLimits: keyLimits)
        try a.addContact(invite: b.invite)
        try b.addContact(invite: a.invite)
        return (a, b)
    }

    /// The own bundles a node stored after `row` (messages and receipts), and the new last row.
    static func newBundles(_ n: Node, after row: inout Int64) throws -> [[UInt8]] {
        let (rows, _) = try n.bundlesStored(after: row, limit: 100_000, pushLimit: 0)
        row = rows.last?.row ?? row
        return try n.bundles(rows.filter(\.own).map(\.id), byteBudget: .max).compactMap { $0?.data }
    }

    static func sessions(_ n: Node) throws -> [StoredSession] {
        try Store(path: n.profile.storePath).read { tx in
            try tx.contacts().flatMap { try tx.ratchetSessions(contactId: $0.id) }
        }
    }

    static func envelopeVersion(_ bytes: [UInt8]) throws -> UInt64? {
        let b = try MuleBundle(try BundleCodec.decode(bytes))
        if case .message(let env) = b.envelope { return env.version }
        return nil
    }

    @Test func invitesCarryAPrekeyAndMessagesGoInVersion2() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w)
        let contents = try Invite.read(bob.invite)
        #expect(contents.prekey?.verify(signingKey: bob.identity.signing.publicKey) == true)
        #expect(try alice.contacts()[0].record.prekey == contents.prekey?.encode())
        var row: Int64 = 0
        try alice.send(to: "Bob", .text("one"))
        let out = try Self.newBundles(alice, after: &row)
        #expect(try out.map(Self.envelopeVersion) == [2])
        var tags = TagCache()
        let r = try bob.receive(out, from: "test", path: .lan, tags: &tags)
        #expect(r.delivered == 1 && r.rejected == 0)
        #expect(try bob.messages(with: "Alice").map(\.record.body) == ["one"])
        // The same bundle again is a duplicate, not an error (its key is gone, the drop hash stays).
        let again = try bob.receive(out, from: "test", path: .relay, tags: &tags)
        #expect(again.duplicates == 1 && again.rejected == 0)
        #expect(again.releases.count == 1)
        #expect(try Self.sessions(bob).count == 1)
        #expect(try Self.sessions(alice).count == 1)
        #expect(try Self.sessions(bob)[0].id == Self.sessions(alice)[0].id)
    }

    @Test func aFirstMessageSealedToARotatedAwayPrekeyNoLongerOpens() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w)
        let copy = w.dir.file("bob-day0")
        try FileManager.default.copyItem(atPath: bob.profile.home, toPath: copy)
        // A first message that waits 62 days on a stick (it lives 100).
        try alice.send(to: "Bob", .text("first"), lifetimeMs: UInt64(100 * Self.day))
        var row: Int64 = 0
        let first = try Self.newBundles(alice, after: &row)
        let stick = w.dir.file("first.mule")
        try Data(BundleFile.header + first.joined()).write(to: URL(fileURLWithPath: stick))
        // Control: Bob's profile as it was when he gave the invite opens it.
        let early = try Node(home: copy, clock: w.clock.read)
        #expect(try early.importFiles([stick]).delivered == 1)
        // 62 days on: the prekey was valid 30 days, then kept 31; it is gone, and so is the message.
        w.clock.advance(ms: 62 * Self.day)
        #expect(try bob.maintainKeys() >= 1)
        let r = try bob.importFiles([stick])
        #expect(r.delivered == 0 && r.rejected == 1)
        #expect(r.problems.first?.reason.contains("prekey") == true)
        // A new first message from Alice (her copy of the prekey has expired) starts from Bob's
        // identity key instead, and opens.
        try Store(path: alice.profile.storePath).write { tx in try tx.retireCurrentSessions() }
        try alice.send(to: "Bob", .text("second"))
        var tags = TagCache()
        #expect(try bob.receive(Self.newBundles(alice, after: &row), from: "t", path: .lan, tags: &tags).delivered == 1)
    }

    @Test func bothStartingAtOnceSettleOnTheLowerKeysSession() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w)
        var rowA: Int64 = 0
        var rowB: Int64 = 0
        try alice.send(to: "Bob", .text("hi from alice"))
        try bob.send(to: "Alice", .text("hi from bob"))
        let fromAlice = try Self.newBundles(alice, after: &rowA)
        let fromBob = try Self.newBundles(bob, after: &rowB)
        var ta = TagCache()
        var tb = TagCache()
        #expect(try bob.receive(fromAlice, from: "t", path: .lan, tags: &tb).delivered == 1)
        #expect(try alice.receive(fromBob, from: "t", path: .lan, tags: &ta).delivered == 1)
        let aliceLower = alice.identity.agreement.publicKey.lexicographicallyPrecedes(bob.identity.agreement.publicKey)
        let winner = try (aliceLower ? Self.sessions(alice) : Self.sessions(bob)).first { $0.current }!.id
        #expect(try Self.sessions(alice).first { $0.current }?.id == winner)
        #expect(try Self.sessions(bob).first { $0.current }?.id == winner)
        // Messages keep flowing both ways on it, and every one opens once.
        for round in 0..<5 {
            try alice.send(to: "Bob", .text("a\(round)"))
            try bob.send(to: "Alice", .text("b\(round)"))
            #expect(try bob.receive(Self.newBundles(alice, after: &rowA), from: "t", path: .lan, tags: &tb).rejected == 0)
            #expect(try alice.receive(Self.newBundles(bob, after: &rowB), from: "t", path: .lan, tags: &ta).rejected == 0)
        }
        #expect(try bob.messages(with: "Alice").filter { $0.record.direction == .incoming }.count == 6)
        #expect(try alice.messages(with: "Bob").filter { $0.record.direction == .incoming }.count == 6)
        #expect(try Self.sessions(alice).first { $0.current }?.id == winner)
        #expect(try Self.sessions(bob).first { $0.current }?.id == winner)
    }

    @Test func aVersion1MessageFromAContactOnVersion2IsADowngrade() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w)
        var tags = TagCache()
        func v1(_ text: String, hoursAgo: Int64) throws -> [UInt8] {
            try Self.version1(text, from: alice, to: bob, at: w.clock.read() - hoursAgo * 3_600_000)
        }
        // Before any version 2, version 1 opens (the transition).
        let old = try v1("sealed before the upgrade", hoursAgo: 3)
        w.clock.advance(ms: 2 * 3_600_000)
        var row: Int64 = 0
        try alice.send(to: "Bob", .text("in version 2"))
        #expect(try bob.receive(Self.newBundles(alice, after: &row), from: "t", path: .lan, tags: &tags).delivered == 1)
        // Made after the first version-2 message: refused. Made before it (still on a stick): opens.
        let late = try bob.receive([try v1("a downgrade", hoursAgo: 0)], from: "t", path: .lan, tags: &tags)
        #expect(late.rejected == 1 && late.delivered == 0)
        #expect(late.problems.first?.reason.contains("downgrade") == true)
        #expect(try bob.receive([old], from: "t", path: .file, tags: &tags).delivered == 1)
        // After the documented end of the transition, version 1 is not opened at all.
        w.clock.now.store(Node.version1OpeningEndsMs + 1, ordering: .relaxed)
        let after = try bob.receive([try v1("too late", hoursAgo: 0)], from: "t", path: .lan, tags: &tags)
        #expect(after.rejected == 1)
    }

    /// A version-1 message bundle from `alice` to `bob` created at `now`, as an older Mule seals it.
    static func version1(_ text: String, from alice: Node, to bob: Node, at now: Int64) throws -> [UInt8] {
        let (creation, lifetime) = Node.coarseLifetime(requested: UInt64(14 * Self.day), now: now)
        let tag = try alice.outgoingTag(to: try alice.contacts()[0].record, day: MuleBundle.day(ofCreationTime: creation))
        return try Sealer.seal(
            .text(text), from: alice.identity, toAgreementKey: bob.identity.agreement.publicKey, tag: tag,
            creationTime: creation, lifetime: lifetime, sentAt: UInt64(now)
        ).bundle.encode()
    }

    @Test func aDowngradeInTheSameBatchAsTheFirstVersion2MessageIsRefused() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w)
        var row: Int64 = 0
        var tags = TagCache()
        try alice.send(to: "Bob", .text("in version 2"))
        let batch =
            try Self.newBundles(alice, after: &row) + [try Self.version1("a downgrade", from: alice, to: bob, at: w.clock.read())]
        let r = try bob.receive(batch, from: "t", path: .file, tags: &tags)
        #expect(r.delivered == 1 && r.rejected == 1)
        #expect(r.problems.first?.reason.contains("downgrade") == true)
    }

    /// 1,000 messages each way in rounds weeks apart, each bundle (messages and receipts) through a
    /// stick file, a LAN link or a relay, in random order, 20 % lost, some twice, some weeks late.
    @Test func aThousandEachWayInAnyOrderOverEveryPath() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w)
        var rng = SystemRandomNumberGenerator()
        var rows: [Int64] = [0, 0]
        var tags = [TagCache(), TagCache()]
        var lost: [[String]] = [[], []]
        var late: [[[UInt8]]] = [[], []]
        var sent: [[String]] = [[], []]
        var duplicates = 0
        var stick = 0
        let nodes = [alice, bob]
        let names = ["Bob", "Alice"]
        func deliver(_ bundles: [[UInt8]], to k: Int) throws -> ImportReport {
            // A third each way: a stick file, a LAN link, a relay.
            var report = ImportReport()
            let parts = [
                bundles.indices.filter { $0 % 3 == 0 }, bundles.indices.filter { $0 % 3 == 1 },
                bundles.indices.filter { $0 % 3 == 2 },
            ]
            stick += 1
            let file = w.dir.file("stick-\(stick).mule")
            try Data(BundleFile.header + parts[0].map { bundles[$0] }.joined()).write(to: URL(fileURLWithPath: file))
            for r in [
                try nodes[k].importFiles([file]),
                try nodes[k].receive(parts[1].map { bundles[$0] }, from: "lan", path: .lan, tags: &tags[k]),
                try nodes[k].receive(parts[2].map { bundles[$0] }, from: "relay", path: .relay, tags: &tags[k]),
            ] {
                report.delivered += r.delivered
                report.duplicates += r.duplicates
                report.rejected += r.rejected
                report.problems += r.problems
                report.keysDropped += r.keysDropped
            }
            return report
        }
        for round in 0..<10 {
            for k in 0..<2 {
                let texts = (0..<100).map { "\(names[1 - k]) \(round)-\($0)" }
                sent[k] += texts
                try nodes[k].send(to: names[k], texts: texts, lifetimeMs: UInt64(300 * Self.day))
            }
            for k in 0..<2 {
                var out = try Self.newBundles(nodes[k], after: &rows[k])
                out.shuffle(using: &rng)
                var wire: [[UInt8]] = []
                for b in out {
                    let roll = Int.random(in: 0..<100, using: &rng)
                    if roll < 20 {
                        if try Self.envelopeVersion(b) != nil {
                            lost[k].append(try Self.text(of: b, from: nodes[k]))
                        }
                    } else if roll < 25, try Self.envelopeVersion(b) != nil {
                        late[k].append(b)
                    } else {
                        wire.append(b)
                        if roll < 35 {
                            wire.insert(b, at: Int.random(in: 0...wire.count, using: &rng))
                            duplicates += 1
                        }
                    }
                }
                // Bundles held back in earlier rounds arrive now, weeks late, among the new ones.
                if round % 3 == 2 {
                    wire += late[k]
                    late[k] = []
                }
                let r = try deliver(wire, to: 1 - k)
                // Receipts live 14 days: those queued after the last round's delivery expired in the
                // weeks between rounds. Nothing else is refused.
                #expect(r.problems.allSatisfy { $0.reason == "expired" }, "\(r.problems)")
                #expect(r.keysDropped == 0)
            }
            w.clock.advance(ms: Int64.random(in: 1...3, using: &rng) * 7 * Self.day)
        }
        for k in 0..<2 where !late[k].isEmpty { #expect(try deliver(late[k], to: 1 - k).rejected == 0) }
        // Every message that was not lost opened exactly once.
        for k in 0..<2 {
            let got = try nodes[1 - k].messages(with: names[1 - k]).filter { $0.record.direction == .incoming }
                .compactMap(\.record.body)
            #expect(got.count == Set(got).count)
            #expect(Set(got) == Set(sent[k]).subtracting(lost[k]))
            #expect(got.count == 1000 - lost[k].count)
        }
        // Keys kept for the lost messages are bounded, and gone once their bundles' time is over.
        for n in nodes {
            let kept = try Self.sessions(n).map { try RatchetSession.decode($0.state).skippedCount }.reduce(0, +)
            #expect(kept > 0 && kept <= 2 * Node.KeyLimits.standard.perSession)
        }
        w.clock.advance(ms: 302 * Self.day)
        for n in nodes {
            #expect(try n.maintainKeys() > 0)
            #expect(try Self.sessions(n).map { try RatchetSession.decode($0.state).skippedCount }.reduce(0, +) == 0)
        }
    }

    /// The body a message bundle holds, read from the sender's store (the test knows what it lost).
    static func text(of bundle: [UInt8], from sender: Node) throws -> String {
        let b = try MuleBundle(try BundleCodec.decode(bundle))
        guard case .message(let env) = b.envelope else { return "" }
        return try sender.messages().first { $0.record.dropHash == env.dropHash }?.record.body ?? ""
    }

    @Test func runningPastTheBoundIsReportedAsAnEvent() throws {
        let w = World()
        let (alice, bob) = try Self.pair(w, keyLimits: Node.KeyLimits(perMessage: 30, perSession: 50))
        var row: Int64 = 0
        var tags = TagCache()
        final class Count: Sendable { let n = Atomic<Int>(0) }
        let seen = Count()
        bob.events.observe { e in if case .keysDropped(_, let n) = e { seen.n.add(n, ordering: .relaxed) } }
        var dropped = 0
        for _ in 0..<3 {
            // 25 lost, then one that arrives: 25 keys kept for the lost ones each time.
            try alice.send(to: "Bob", texts: (0..<26).map { "m\($0)" })
            let out = try Self.newBundles(alice, after: &row)
            let r = try bob.receive([out.last!], from: "t", path: .lan, tags: &tags)
            #expect(r.delivered == 1)
            dropped += r.keysDropped
        }
        #expect(dropped == 25)
        #expect(try Self.sessions(bob).map { try RatchetSession.decode($0.state).skippedCount } == [50])
        // One more than a message may skip: refused with a clear reason, nothing changes.
        try alice.send(to: "Bob", texts: (0..<32).map { "n\($0)" })
        let out = try Self.newBundles(alice, after: &row)
        let r = try bob.receive([out.last!], from: "t", path: .lan, tags: &tags)
        #expect(r.rejected == 1)
        #expect(r.problems.first?.reason.contains("ahead") == true)
        #expect(seen.n.load(ordering: .relaxed) == 25)
    }
}
