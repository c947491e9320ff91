import Foundation
import Testing

@testable import MuleCrypto
@testable import MuleWire

@Suite struct SealerTests {
    let alice = Identity.generate(name: "Alice")
    let bob = Identity.generate(name: "Bob")
    let tag = [UInt8](repeating: 0x42, count: 16)
    let creation = MuleBundle.coarseCreationTime(unixMs: 1_790_000_000_000)

    func seal(_ body: MessageContent.Body) throws -> Sealer.Sealed {
        try Sealer.seal(
            body, from: alice, toAgreementKey: bob.agreement.publicKey, tag: tag, creationTime: creation,
            lifetime: 3_600_000, sentAt: 1_790_000_000_123)
    }

    func envelope(_ b: MuleBundle) -> MessageEnvelope {
        guard case .message(let m) = b.envelope else { fatalError("not a message") }
        return m
    }

    @Test func roundTripThroughBytes() throws {
        let sealed = try seal(.text("hello Bob"))
        let decoded = try MuleBundle(try BundleCodec.decode(sealed.bundle.encode()))
        let content = try Sealer.open(decoded, envelope(decoded), as: bob)
        #expect(content.body == .text("hello Bob"))
        #expect(content.senderSigningKey == alice.signing.publicKey)
        #expect(content.senderName == "Alice")
        #expect(content.sentAt == 1_790_000_000_123)
        #expect(Sealer.dropHash(ackSecret: content.ackSecret) == sealed.dropHash)
    }

    @Test func fileBodyAndPaddingHideTheLength() throws {
        let small = try seal(.text("hi"))
        let bigger = try seal(.text(String(repeating: "x", count: 300)))
        #expect(envelope(small.bundle).ciphertext.count == envelope(bigger.bundle).ciphertext.count)
        let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let f = try seal(.file(name: "a.bin", data: data))
        #expect(try Sealer.open(f.bundle, envelope(f.bundle), as: bob).body == .file(name: "a.bin", data: data))
        #expect(envelope(f.bundle).ciphertext.count - 16 == Padding.paddedSize(envelope(f.bundle).ciphertext.count - 16))
    }

    @Test func onlyTheRecipientCanOpen() throws {
        let sealed = try seal(.text("secret"))
        let carol = Identity.generate(name: "Carol")
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(sealed.bundle, envelope(sealed.bundle), as: carol) }
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(sealed.bundle, envelope(sealed.bundle), as: alice) }
    }

    /// A carrier who edits the lifetime, tag, creation time or drop hash makes the bundle unopenable.
    @Test func outerFieldsAreBound() throws {
        let sealed = try seal(.text("secret"))
        var b = sealed.bundle
        b.lifetime += 3_600_000
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(b, envelope(b), as: bob) }
        b = sealed.bundle
        b.tag[0] ^= 1
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(b, envelope(b), as: bob) }
        b = sealed.bundle
        b.creationTime += 3_600_000
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(b, envelope(b), as: bob) }
        var env = envelope(sealed.bundle)
        env.dropHash[5] ^= 1
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(sealed.bundle, env, as: bob) }
        env = envelope(sealed.bundle)
        env.ciphertext[40] ^= 1
        #expect(throws: CryptoError.cannotDecrypt) { try Sealer.open(sealed.bundle, env, as: bob) }
    }

    /// Builds an envelope exactly as `Sealer.seal` does, but lets the test choose who signs and
    /// which sender key and ack secret stand inside.
    func forge(claimedSender: Identity, signer: Identity, ack: [UInt8], dropHash: [UInt8]) throws -> (MuleBundle, MessageEnvelope)
    {
        let content = MessageContent(
            senderSigningKey: claimedSender.signing.publicKey, senderAgreementKey: claimedSender.agreement.publicKey,
            senderName: claimedSender.name, ackSecret: ack, sentAt: 1, body: .text("trust me")
        ).encode()
        let eph = AgreementKey.generate()
        let ad = Sealer.associatedData(
            tag: tag, creationTime: creation, lifetime: 3_600_000, dropHash: dropHash, ephemeralKey: eph.publicKey)
        let sig = signer.signing.sign(Array("mule-sig-v1".utf8) + bob.agreement.publicKey + ad + content)
        let plaintext = Padding.pad(SignedContent(content: content, signature: sig).encode())
        let key = Sealer.envelopeKey(
            shared: try eph.sharedSecret(with: bob.agreement.publicKey), ephemeralKey: eph.publicKey,
            recipientKey: bob.agreement.publicKey)
        let env = MessageEnvelope(
            dropHash: dropHash, ephemeralKey: eph.publicKey,
            ciphertext: Sodium.aeadSeal(plaintext, ad: ad, nonce: Sealer.nonce, key: key))
        return (MuleBundle(tag: tag, creationTime: creation, lifetime: 3_600_000, envelope: .message(env)), env)
    }

    @Test func signatureByAnotherKeyIsRejected() throws {
        let mallory = Identity.generate(name: "Mallory")
        let ack = Sodium.randomBytes(32)
        let (b, env) = try forge(claimedSender: alice, signer: mallory, ack: ack, dropHash: Sealer.dropHash(ackSecret: ack))
        #expect(throws: CryptoError.badSignature) { try Sealer.open(b, env, as: bob) }
        // The same construction signed by the named sender opens: the forge helper is faithful.
        let (good, genv) = try forge(claimedSender: alice, signer: alice, ack: ack, dropHash: Sealer.dropHash(ackSecret: ack))
        #expect(try Sealer.open(good, genv, as: bob).senderSigningKey == alice.signing.publicKey)
    }

    @Test func dropHashMustMatchTheAckSecretInside() throws {
        let (b, env) = try forge(
            claimedSender: alice, signer: alice, ack: Sodium.randomBytes(32), dropHash: Sodium.randomBytes(32))
        #expect(throws: CryptoError.dropHashMismatch) { try Sealer.open(b, env, as: bob) }
    }
}

@Suite struct IdentityTests {
    @Test func pairTagsAgreeAndRotate() throws {
        let a = Identity.generate(name: "A"), b = Identity.generate(name: "B")
        let ka = try RecipientTags.pairKey(me: a, peerSigningKey: b.signing.publicKey, peerAgreementKey: b.agreement.publicKey)
        let kb = try RecipientTags.pairKey(me: b, peerSigningKey: a.signing.publicKey, peerAgreementKey: a.agreement.publicKey)
        #expect(ka == kb)
        let toB = RecipientTags.pair(pairKey: ka, recipientSigningKey: b.signing.publicKey, day: 20_000)
        #expect(toB != RecipientTags.pair(pairKey: ka, recipientSigningKey: a.signing.publicKey, day: 20_000))
        #expect(toB != RecipientTags.pair(pairKey: ka, recipientSigningKey: b.signing.publicKey, day: 20_001))
        #expect(toB.count == 16)
        let intro = RecipientTags.intro(recipientAgreementKey: b.agreement.publicKey, day: 20_000)
        #expect(intro != RecipientTags.intro(recipientAgreementKey: b.agreement.publicKey, day: 20_001))
    }

    @Test func lowOrderPeerKeyIsRefused() {
        let a = Identity.generate(name: "A")
        #expect(throws: CryptoError.self) { try a.agreement.sharedSecret(with: [UInt8](repeating: 0, count: 32)) }
    }

    @Test func keysSurviveExportAndImport() throws {
        let a = Identity.generate(name: "A")
        let s = try SigningKey(secretKey: a.signing.secretKeyBytes)
        let x = try AgreementKey(secretKey: a.agreement.secretKeyBytes)
        #expect(s.publicKey == a.signing.publicKey)
        #expect(x.publicKey == a.agreement.publicKey)
        var bad = a.signing.secretKeyBytes
        bad[40] ^= 1
        #expect(throws: CryptoError.self) { try SigningKey(secretKey: bad) }
    }

    @Test func inviteRoundTripAndDamage() throws {
        let a = Identity.generate(name: "Zoë Ω")
        let code = Invite.encode(a.publicIdentity)
        #expect(code.hasPrefix("mule1"))
        #expect(try Invite.decode(code) == a.publicIdentity)
        #expect(try Invite.decode("  " + code.uppercased() + "\n") == a.publicIdentity)
        var chars = Array(code)
        chars[20] = chars[20] == "a" ? "b" : "a"
        #expect(throws: Invite.DecodeError.badChecksum) { try Invite.decode(String(chars)) }
        #expect(throws: Invite.DecodeError.notAnInvite) { try Invite.decode("hello") }
    }

    @Test func inviteVersion3CarriesASignedPrekey() throws {
        let a = Identity.generate(name: "Ana")
        var ring = PrekeyRing()
        ring.rotate(now: 1_790_000_000_000, signer: a.signing)
        let prekey = try #require(ring.current)
        let code = Invite.encode(a.publicIdentity, relays: ["10.0.0.1:4748"], prekey: prekey)
        let read = try Invite.read(code)
        #expect(read.identity == a.publicIdentity)
        #expect(read.relays == ["10.0.0.1:4748"])
        #expect(read.prekey == prekey)
        #expect(try Invite.read(Invite.encode(a.publicIdentity, prekey: prekey)).relays == [])
        // Older invites are still read, without a prekey.
        #expect(try Invite.read(Invite.encode(a.publicIdentity)).prekey == nil)
        #expect(try Invite.read(Invite.encode(a.publicIdentity, relays: ["r:1"])).prekey == nil)
        // A prekey someone else signed: the whole invite is refused.
        let b = Identity.generate(name: "Mallory")
        var other = PrekeyRing()
        other.rotate(now: 1_790_000_000_000, signer: b.signing)
        #expect(throws: Invite.DecodeError.badPrekey) {
            try Invite.read(Invite.encode(a.publicIdentity, prekey: other.current!))
        }
        // Cut short anywhere: "cut short" (or a checksum that no longer matches), never a crash.
        for n in stride(from: 10, to: code.count, by: 7) {
            #expect(throws: Invite.DecodeError.self) { try Invite.read(String(code.prefix(n))) }
        }
    }

    @Test func fingerprintFormat() {
        let fp = Identity.generate(name: "A").publicIdentity.fingerprint
        let groups = fp.split(separator: " ")
        #expect(groups.count == 8)
        #expect(groups.allSatisfy { $0.count == 5 && $0.allSatisfy(\.isNumber) })
    }

    @Test func paddingIsCanonical() throws {
        #expect(Padding.paddedSize(1) == 512)
        #expect(Padding.paddedSize(257) >= 257)
        for n in [600, 5000, 1 << 20, 10 << 20] {
            let p = Padding.paddedSize(n)
            #expect(p >= n && Double(p - n) / Double(n) < 0.12)
        }
        var padded = Padding.pad([1, 2, 3])
        #expect(try Padding.unpad(padded) == [1, 2, 3])
        padded[100] = 1
        #expect(throws: WireError.self) { try Padding.unpad(padded) }
    }
}

/// Samples/sample.mule opens with the keys in Samples/sample-keys.json, as Docs/PROTOCOL.md says.
@Suite struct SampleFileTests {
    struct Keys: Decodable {
        struct Recipient: Decodable {
            var ed25519_secret: String
            var x25519_secret: String
        }
        struct Sender: Decodable { var ed25519_public: String }
        var recipient: Recipient
        var sender: Sender
        var text: String
    }

    @Test func sampleOpensWithItsKeys() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let keys = try JSONDecoder().decode(
            Keys.self, from: Data(contentsOf: root.appendingPathComponent("Samples/sample-keys.json")))
        let file = [UInt8](try Data(contentsOf: root.appendingPathComponent("Samples/sample.mule")))
        let bob = Identity(
            name: "Bob", signing: try SigningKey(secretKey: Hex.decode(keys.recipient.ed25519_secret)!),
            agreement: try AgreementKey(secretKey: Hex.decode(keys.recipient.x25519_secret)!))
        let entries = try BundleFile.parse(file)
        #expect(entries.count == 1)
        guard case .bundle(let b, _) = entries[0] else { Issue.record("damaged sample"); return }
        let mb = try MuleBundle(b)
        // The first message to a new contact uses the intro tag of its creation day.
        #expect(mb.tag == RecipientTags.intro(recipientAgreementKey: bob.agreement.publicKey, day: mb.creationDay))
        guard case .message(let env) = mb.envelope else { Issue.record("not a message"); return }
        let content = try Sealer.open(mb, env, as: bob)
        #expect(content.body == .text(keys.text))
        #expect(Hex.encode(content.senderSigningKey) == keys.sender.ed25519_public)
    }
}
