import Foundation
import MuleStore
import Testing

@testable import MuleCrypto
@testable import MuleNode
@testable import MuleStore
@testable import MuleWire

@Suite struct SneakernetTests {
    @Test func threePeopleReceiptsAndDrops() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob"), carol = try w.node("Carol")
        try alice.addContact(invite: bob.invite)
        let sent = try alice.send(to: "Bob", .text("hello"))
        #expect(sent.record.status == .queued)
        _ = try alice.export(to: w.dir.file("a.mule"))
        #expect(try alice.messages()[0].record.status == .sent)

        let c1 = try carol.importFiles([w.dir.file("a.mule")])
        #expect((c1.imported, c1.carried, c1.delivered, c1.rejected) == (1, 1, 0, 0))
        #expect(try carol.messages().isEmpty)
        _ = try carol.export(to: w.dir.file("c.mule"))

        let b1 = try bob.importFiles([w.dir.file("c.mule")])
        #expect((b1.imported, b1.delivered, b1.carried) == (1, 1, 0))
        let got = try bob.messages()
        #expect(got.count == 1 && got[0].record.body == "hello" && got[0].contact.state == .request)
        #expect(got[0].record.id == sent.record.id)
        // Importing again is idempotent.
        let again = try bob.importFiles([w.dir.file("c.mule")])
        #expect((again.imported, again.duplicates) == (0, 1))
        #expect(try bob.messages().count == 1)

        _ = try bob.export(to: w.dir.file("b.mule"))
        let c2 = try carol.importFiles([w.dir.file("b.mule")])
        #expect(c2.dropped == 1)
        #expect(try carol.status().carriedBundles == 1)  // only Bob's receipt now
        // The delivered message, offered again, is not carried again.
        let c3 = try carol.importFiles([w.dir.file("a.mule")])
        #expect((c3.imported, c3.duplicates) == (0, 1))

        _ = try carol.export(to: w.dir.file("c2.mule"))
        let a1 = try alice.importFiles([w.dir.file("c2.mule")])
        #expect(a1.receiptsApplied == 1)
        #expect(try alice.messages()[0].record.status == .delivered)
        #expect(try alice.status().ownBundles == 0)
    }

    /// Only the real recipient knows the ack secret: a carrier's forged receipt drops nothing.
    @Test func forgedReceiptDropsNothing() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob"), carol = try w.node("Carol")
        try alice.addContact(invite: bob.invite)
        try alice.send(to: "Bob", .text("keep me"))
        _ = try alice.export(to: w.dir.file("a.mule"))
        _ = try carol.importFiles([w.dir.file("a.mule")])

        // Carol sees the drop hash; she tries random secrets and the drop hash itself.
        let bytes = try Store(path: carol.profile.storePath).read { tx in try tx.bundlesForExport(now: 0) }[0]
        let forged = MuleBundle(
            tag: Sodium.randomBytes(16), creationTime: MuleBundle.coarseCreationTime(unixMs: UInt64(w.clock.read())),
            lifetime: 86_400_000, envelope: .receipt(.init(acks: [Sodium.randomBytes(32), bytes.dropHash!])))
        try Data(BundleFile.write([forged.encode()])).write(to: URL(fileURLWithPath: w.dir.file("f.mule")))
        let r = try carol.importFiles([w.dir.file("f.mule")])
        #expect(r.dropped == 0)
        #expect(try carol.status().carriedBundles == 2)
        _ = try alice.importFiles([w.dir.file("f.mule")])
        #expect(try alice.messages()[0].record.status == .sent)
    }

    @Test func expiredBundlesAreRejectedAndPurged() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob"), carol = try w.node("Carol")
        try alice.addContact(invite: bob.invite)
        try alice.send(to: "Bob", .text("short-lived"), lifetimeMs: 3_600_000)
        try alice.send(to: "Bob", .text("long-lived"))
        _ = try alice.export(to: w.dir.file("a.mule"))
        _ = try carol.importFiles([w.dir.file("a.mule")])
        w.clock.advance(ms: 3 * 3_600_000)
        let r = try bob.importFiles([w.dir.file("a.mule")])
        #expect((r.delivered, r.rejected) == (1, 1))
        #expect(r.problems.map(\.description) == ["\(w.dir.file("a.mule")): bundle 1: expired"])
        #expect(try carol.status().carriedBundles == 1)
    }

    @Test func quotaEvictsCarriedButNeverOwn() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob"), carol = try w.node("Carol")
        try alice.addContact(invite: bob.invite)
        try carol.addContact(invite: bob.invite)
        for i in 0..<10 { try alice.send(to: "Bob", .text("m\(i)"), lifetimeMs: UInt64(i + 1) * 86_400_000) }
        _ = try alice.export(to: w.dir.file("a.mule"))
        try carol.send(to: "Bob", .text("carol's own"))
        try carol.send(to: "Bob", .text("carol's own 2"))
        let size = try Store(path: carol.profile.storePath).read { tx in try tx.bundlesForExport(now: 0) }[0].data.count
        try carol.setQuota(Int64(size * 4))
        _ = try carol.importFiles([w.dir.file("a.mule")])
        let s = try carol.status()
        #expect(s.carriedBundles == 4)
        #expect(s.ownBundles == 2)
        // The survivors are the four that expire last.
        let kept = try Store(path: carol.profile.storePath).read { tx in try tx.bundlesForExport(now: 0) }.filter { !$0.own }.map(
            \.expiresAt)
        let all = try Store(path: alice.profile.storePath).read { tx in try tx.bundlesForExport(now: 0) }.map(\.expiresAt)
            .sorted()
        #expect(kept.sorted() == Array(all.suffix(4)))
        // The same stick again brings nothing back: evicted bundles stay seen.
        let again = try carol.importFiles([w.dir.file("a.mule")])
        #expect((again.carried, again.duplicates) == (0, 10))
        try carol.setQuota(0)
        #expect(try carol.status().ownBundles == 2)
    }

    @Test func blockedSenderIsDiscardedAndRequestsWork() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob")
        try alice.addContact(invite: bob.invite)
        try alice.send(to: "Bob", .text("first"))
        _ = try alice.export(to: w.dir.file("a1.mule"))
        _ = try bob.importFiles([w.dir.file("a1.mule")])
        #expect(try bob.contacts().map(\.state) == [.request])
        try bob.setContactState("Alice", .blocked)
        try alice.send(to: "Bob", .text("second"))
        _ = try alice.export(to: w.dir.file("a2.mule"))
        let r = try bob.importFiles([w.dir.file("a2.mule")])
        #expect((r.imported, r.delivered, r.carried) == (1, 0, 0))
        #expect(try bob.messages().count == 1)
        #expect(throws: NodeError.self) { try bob.send(to: "Alice", .text("no")) }
    }

    @Test func sameNameStaysTwoContacts() throws {
        let w = World()
        let me = try w.node("Me"), bob1 = try w.node("Bob"), bob2 = try w.node("Bob2")
        try me.addContact(invite: bob1.invite)
        // Names are labels: a second key cannot take a contact's name (issue 12)…
        #expect(throws: NodeError.self) { try me.addContact(invite: bob2.invite, name: "bob") }
        try me.addContact(invite: bob2.invite, name: "Bob at work")
        #expect(try me.contacts().count == 2)
        #expect(try me.resolveContact("Bob").record.signingKey == bob1.identity.signing.publicKey)
        #expect(throws: NodeError.self) { try me.renameContact("Bob at work", to: "BOB") }
        let id = try me.contacts()[1].id
        #expect(try me.resolveContact(id).record.signingKey == me.contacts()[1].record.signingKey)
        #expect(throws: NodeError.self) { try me.addContact(invite: bob1.invite) }
        #expect(throws: NodeError.self) { try me.addContact(invite: me.invite) }
    }

    @Test func tenMebibyteAttachment() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob")
        try alice.addContact(invite: bob.invite)
        let data = (0..<(10 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        try Data(data).write(to: URL(fileURLWithPath: w.dir.file("big.bin")))
        _ = try alice.sendFile(to: "Bob", path: w.dir.file("big.bin"))
        _ = try alice.export(to: w.dir.file("a.mule"))
        let r = try bob.importFiles([w.dir.file("a.mule")])
        #expect(r.delivered == 1)
        let m = try bob.messages()[0].record
        #expect(m.fileName == "big.bin" && m.fileSize == Int64(10 << 20))
        #expect(try Data(contentsOf: URL(fileURLWithPath: m.filePath!)) == Data(data))
    }

    /// A file large enough to be checked on several cores: mail for the importer, mail to carry, a
    /// damaged bundle and a sealed one that does not open. Every bundle gets its own outcome, and the
    /// problems come in file order.
    @Test func largeMixedFileIsCheckedInParallelAndReportedInOrder() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob"), carol = try w.node("Carol")
        try alice.addContact(invite: bob.invite)
        try alice.addContact(invite: carol.invite)
        for i in 0..<300 { try alice.send(to: i % 2 == 0 ? "Bob" : "Carol", .text("note \(i)")) }
        _ = try alice.export(to: w.dir.file("a.mule"))
        let entries = try BundleFile.parse(try SecureFile.read(w.dir.file("a.mule")))
        var encoded = entries.map { e -> [UInt8] in
            guard case .bundle(let b, _) = e else { return [] }
            return BundleCodec.encode(b)
        }
        #expect(encoded.count == 300)
        // Bundle 101: one byte of the payload changed, CRCs recomputed, so only opening can notice.
        // Bundle 201: one byte flipped on the stick, so its CRC fails.
        var tampered = try BundleCodec.decode(encoded[100])
        tampered.blocks[tampered.blocks.count - 1].data[tampered.payload.count - 3] ^= 1
        encoded[100] = BundleCodec.encode(tampered)
        encoded[200][encoded[200].count / 2] ^= 0x40
        try Data(BundleFile.write(encoded)).write(to: URL(fileURLWithPath: w.dir.file("mixed.mule")))

        let r = try bob.importFiles([w.dir.file("mixed.mule")])
        let forBob = (0..<300).filter { $0 % 2 == 0 }.count
        #expect(r.delivered == forBob - 2)
        #expect(r.carried == 300 - forBob)
        #expect(r.rejected == 2)
        #expect(r.problems.map(\.bundle) == [101, 201])
        #expect(r.releases.count == forBob - 2)
        let texts = Set(try bob.messages().compactMap(\.record.body))
        #expect(texts.count == forBob - 2 && !texts.contains("note 100") && !texts.contains("note 200"))
        #expect(texts.contains("note 0") && texts.contains("note 298"))
    }

    @Test func initRefusesTwiceAndKeysArePrivate() throws {
        let w = World()
        _ = try w.node("Alice")
        #expect(throws: NodeError.self) { try w.node("Alice") }
        for f in ["ed25519.secret", "x25519.secret"] {
            let attrs = try FileManager.default.attributesOfItem(atPath: w.dir.file("alice/identity/\(f)"))
            #expect((attrs[.posixPermissions] as? Int) == 0o600)
        }
    }
}

/// Every single-byte flip of a small bundle file is rejected and leaves the store as it was.
@Suite struct FlipTests {
    /// A stick holding many copies of one message for me: one delivery, the rest duplicates,
    /// found before any of them is decrypted (issue 11.8).
    @Test func copiesOnAStickAreDuplicates() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob")
        try alice.addContact(invite: bob.invite)
        try alice.send(to: "Bob", .text("once"))
        _ = try alice.export(to: w.dir.file("a.mule"))
        let one = [UInt8](try Data(contentsOf: URL(fileURLWithPath: w.dir.file("a.mule"))))
        let bundle = Array(one.dropFirst(BundleFile.header.count))
        var many = BundleFile.header
        for _ in 0..<500 { many += bundle }
        try Data(many).write(to: URL(fileURLWithPath: w.dir.file("many.mule")))
        let r = try bob.importFiles([w.dir.file("many.mule")])
        #expect(r.delivered == 1 && r.duplicates == 499 && r.rejected == 0)
        let again = try bob.importFiles([w.dir.file("many.mule")])
        #expect(again.delivered == 0 && again.duplicates == 500)
        #expect(try bob.messages().count == 1)
    }

    @Test func everySingleByteFlipIsRejected() throws {
        let w = World()
        let alice = try w.node("Alice"), bob = try w.node("Bob")
        try alice.addContact(invite: bob.invite)
        try alice.send(to: "Bob", .text("flip me"))
        _ = try alice.export(to: w.dir.file("a.mule"))
        let good = [UInt8](try Data(contentsOf: URL(fileURLWithPath: w.dir.file("a.mule"))))
        let before = try World.snapshot(bob)
        var reasons: [String: Int] = [:]
        for i in good.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var bad = good
                bad[i] ^= mask
                let path = w.dir.file("flip.mule")
                try Data(bad).write(to: URL(fileURLWithPath: path))
                let r = try bob.importFiles([path])
                #expect(r.rejected >= 1 && r.imported == 0, "flip \(mask) at \(i)")
                reasons[r.problems.first.map { String($0.reason.prefix(24)) } ?? "none", default: 0] += 1
            }
        }
        #expect(try World.snapshot(bob) == before)
        // The untouched file still delivers.
        #expect(try bob.importFiles([w.dir.file("a.mule")]).delivered == 1)
        #expect(reasons["none"] == nil)
    }
}
