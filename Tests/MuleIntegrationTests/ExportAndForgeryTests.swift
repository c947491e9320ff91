import Foundation
import Testing

@testable import MuleCrypto
@testable import MuleNode
@testable import MuleWire

@Suite struct ExportAndForgeryTests {
    /// A stick pulled out (here: the exporter killed) mid-write never leaves a half file in place.
    @Test func killedExportLeavesOldFileOrNone() async throws {
        let s = Scratch()
        let alice = try Node(profile: try Profile.create(home: s.file("alice"), name: "Alice"))
        let bob = try Node(profile: try Profile.create(home: s.file("bob"), name: "Bob"))
        try alice.addContact(invite: bob.invite)
        try Data(Sodium.randomBytes(20 << 20)).write(to: URL(fileURLWithPath: s.file("big.bin")))
        for _ in 0..<3 { _ = try alice.sendFile(to: "Bob", path: s.file("big.bin")) }
        let target = s.file("stick.mule")
        var sawMissing = false
        for round in 0..<5 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MuleCLI.binary)
            p.arguments = ["--home", s.file("alice"), "export", target]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 1_000...(20_000 + UInt32(round) * 30_000)))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            guard FileManager.default.fileExists(atPath: target) else {
                sawMissing = true
                continue
            }
            // Whatever is in place is a whole file: every bundle in it decodes.
            let entries = try BundleFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: target))))
            #expect(entries.count == 3)
            #expect(entries.allSatisfy { if case .bundle = $0 { return true } else { return false } })
        }
        _ = sawMissing
        #expect(try await MuleCLI(home: s.file("alice")).run("export", target).status == 0)
        #expect(try BundleFile.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: target)))).count == 3)
        // The completed export swept away the temporary files the killed ones left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.path).filter { $0.contains(".tmp-") }.isEmpty)
    }

    /// A bundle whose signature is by a key other than the sender key inside gets its own line.
    @Test func forgedSignatureIsNamedAndTheRestImports() async throws {
        let s = Scratch()
        let bobCLI = s.cli("bob")
        try await bobCLI.run("init", "--name", "Bob")
        let bob = try Profile.open(home: s.file("bob")).identity
        let alice = Identity.generate(name: "Alice"), mallory = Identity.generate(name: "Mallory")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let creation = MuleBundle.coarseCreationTime(unixMs: now)
        let day = MuleBundle.day(ofCreationTime: creation)
        let tag = RecipientTags.intro(recipientAgreementKey: bob.agreement.publicKey, day: day)
        let lifetime: UInt64 = 2 * 86_400_000

        // Mallory signs a content that names Alice's key.
        let ack = Sodium.randomBytes(32)
        let drop = Sealer.dropHash(ackSecret: ack)
        let content = MessageContent(
            senderSigningKey: alice.signing.publicKey, senderAgreementKey: alice.agreement.publicKey, senderName: "Alice",
            ackSecret: ack, sentAt: now, body: .text("send money")
        ).encode()
        let eph = AgreementKey.generate()
        let ad = Sealer.associatedData(
            tag: tag, creationTime: creation, lifetime: lifetime, dropHash: drop, ephemeralKey: eph.publicKey)
        let sig = mallory.signing.sign(Array("mule-sig-v1".utf8) + bob.agreement.publicKey + ad + content)
        let key = Sealer.envelopeKey(
            shared: try eph.sharedSecret(with: bob.agreement.publicKey), ephemeralKey: eph.publicKey,
            recipientKey: bob.agreement.publicKey)
        let ct = Sodium.aeadSeal(
            Padding.pad(SignedContent(content: content, signature: sig).encode()), ad: ad, nonce: Sealer.nonce, key: key)
        let forged = MuleBundle(
            tag: tag, creationTime: creation, lifetime: lifetime,
            envelope: .message(MessageEnvelope(dropHash: drop, ephemeralKey: eph.publicKey, ciphertext: ct)))
        // And a genuine message from Alice after it, and an expired one before it.
        let genuine = try Sealer.seal(
            .text("hello"), from: alice, toAgreementKey: bob.agreement.publicKey, tag: tag, creationTime: creation,
            lifetime: lifetime, sentAt: now)
        let old = try Sealer.seal(
            .text("old"), from: alice, toAgreementKey: bob.agreement.publicKey, tag: tag,
            creationTime: creation - 48 * 3_600_000, lifetime: 3_600_000, sentAt: now)
        let file = BundleFile.write([old.bundle.encode(), forged.encode(), genuine.bundle.encode()])
        try Data(file).write(to: URL(fileURLWithPath: s.file("mixed.mule")))

        let r = try await bobCLI.run("import", s.file("mixed.mule"))
        #expect(r.status == 1)
        #expect(
            r.errLines == [
                "mule: \(s.file("mixed.mule")): bundle 1: expired",
                "mule: \(s.file("mixed.mule")): bundle 2: signature does not match the sender key inside the envelope",
            ])
        let msgs = try await bobCLI.json("messages", "--json") as! [[String: Any]]
        #expect(msgs.compactMap { $0["text"] as? String } == ["hello"])
    }
}
