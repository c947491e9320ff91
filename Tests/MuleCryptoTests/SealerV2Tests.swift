import Foundation
import Testing

@testable import MuleCrypto
@testable import MuleWire

/// Envelope version 2 as a pure codec: the outer layer of version 1 around a ratchet message.
@Suite struct SealerV2Tests {
    let alice = Identity.generate(name: "Alice")
    let bob = Identity.generate(name: "Bob")
    let bobPrekey = AgreementKey.generate()
    let tag = [UInt8](repeating: 0x42, count: 16)
    let creation = MuleBundle.coarseCreationTime(unixMs: 1_790_000_000_000)
    let limits = RatchetSession.Limits(skippedLifetimeMs: 86_400_000)

    func envelope(_ b: MuleBundle) -> MessageEnvelope {
        guard case .message(let m) = b.envelope else { fatalError("not a message") }
        return m
    }

    func seal(_ text: String, _ session: inout RatchetSession) throws -> Sealer.Sealed {
        try SealerV2.seal(
            .text(text), from: alice, toAgreementKey: bob.agreement.publicKey, session: &session, tag: tag,
            creationTime: creation, lifetime: 3_600_000, sentAt: 1_790_000_000_123)
    }

    /// Bob's side: the outer layer, then his session for Alice (started from the header if new).
    func open(_ b: MuleBundle, _ session: inout RatchetSession?) throws -> MessageContent {
        let outer = try SealerV2.openOuter(b, envelope(b), as: bob)
        #expect(outer.senderSigningKey == alice.signing.publicKey)
        if session == nil, let start = outer.header.start {
            session = try RatchetSession.respond(
                identity: bob.agreement, prekey: start.prekeyID == 7 ? bobPrekey : nil,
                theirIdentity: outer.senderAgreementKey, start: start)
        }
        var s = try #require(session)
        let content = try SealerV2.openInner(outer, dropHash: envelope(b).dropHash, as: bob, session: &s, now: 0, limits: limits)
            .content
        session = s
        return content
    }

    @Test func roundTripThroughBytesInAnyOrder() throws {
        var a = try RatchetSession.initiate(
            identity: alice.agreement, theirIdentity: bob.agreement.publicKey, theirPrekey: (7, bobPrekey.publicKey))
        let sealed = try (0..<3).map { try seal("hello \($0)", &a) }
        var b: RatchetSession?
        for s in sealed.reversed() {
            let bytes = s.bundle.encode()
            // Carriers see version 1's shape with the number 2.
            let decoded = try MuleBundle(try BundleCodec.decode(bytes))
            let env = envelope(decoded)
            #expect(env.version == 2 && env.ephemeralKey.count == 32 && env.dropHash == s.dropHash)
            let content = try open(decoded, &b)
            #expect(content.senderSigningKey == alice.signing.publicKey)
            #expect(Sealer.dropHash(ackSecret: content.ackSecret) == s.dropHash)
        }
        // Each opens once: a second copy of a delivered bundle does not.
        #expect(throws: CryptoError.cannotDecrypt) { try open(sealed[0].bundle, &b) }
    }

    @Test func versionsAreNotMixedUp() throws {
        var a = try RatchetSession.initiate(identity: alice.agreement, theirIdentity: bob.agreement.publicKey, theirPrekey: nil)
        let v2 = try seal("two", &a)
        #expect(throws: CryptoError.unsupportedEnvelope(2)) { try Sealer.open(v2.bundle, envelope(v2.bundle), as: bob) }
        let v1 = try Sealer.seal(
            .text("one"), from: alice, toAgreementKey: bob.agreement.publicKey, tag: tag, creationTime: creation,
            lifetime: 3_600_000, sentAt: 1)
        #expect(throws: CryptoError.unsupportedEnvelope(1)) { try SealerV2.openOuter(v1.bundle, envelope(v1.bundle), as: bob) }
        // A version-2 envelope relabelled 1 (a downgrade by a carrier) opens under neither.
        var relabelled = envelope(v2.bundle)
        relabelled.version = 1
        #expect(throws: CryptoError.self) { try Sealer.open(v2.bundle, relabelled, as: bob) }
    }

    @Test func aChangedOuterFieldOpensNothingAndChangesNothing() throws {
        var a = try RatchetSession.initiate(
            identity: alice.agreement, theirIdentity: bob.agreement.publicKey, theirPrekey: (7, bobPrekey.publicKey))
        let first = try seal("first", &a)
        var b: RatchetSession?
        _ = try open(first.bundle, &b)
        let next = try seal("next", &a)
        var moved = next.bundle
        moved.creationTime += 3_600_000
        #expect(throws: CryptoError.cannotDecrypt) { try SealerV2.openOuter(moved, envelope(moved), as: bob) }
        #expect(throws: CryptoError.cannotDecrypt) { try SealerV2.openOuter(next.bundle, envelope(next.bundle), as: alice) }
        #expect(try open(next.bundle, &b).body == .text("next"))
    }

    /// Forward secrecy at this level, and its documented limit (§13.2): a thief who takes Bob's
    /// identity key, his prekey and his session after the bundles opened can still open the first
    /// messages (sealed before Bob answered) until the prekey is deleted, and nothing after them.
    @Test func aThiefWithBobsKeysReadsOnlyTheFirstMessagesUntilThePrekeyGoes() throws {
        var a = try RatchetSession.initiate(
            identity: alice.agreement, theirIdentity: bob.agreement.publicKey, theirPrekey: (7, bobPrekey.publicKey))
        let firsts = try (0..<2).map { try seal("first \($0)", &a) }
        var b: RatchetSession?
        for s in firsts { _ = try open(s.bundle, &b) }
        var bs = try #require(b)
        let (h, c) = try bs.seal(Array("answer".utf8), ad: [])
        _ = try a.open(header: h, ciphertext: c, ad: [], now: 0, limits: limits)
        let laters = try (0..<2).map { try seal("later \($0)", &a) }
        b = bs
        for s in laters { _ = try open(s.bundle, &b) }
        let stolen = try #require(b).encode()
        func thiefReads(_ s: Sealer.Sealed, prekey: AgreementKey?) throws -> Bool {
            let outer = try SealerV2.openOuter(s.bundle, envelope(s.bundle), as: bob)
            var sessions = [try RatchetSession.decode(stolen)]
            if let start = outer.header.start {
                sessions.append(
                    try RatchetSession.respond(
                        identity: bob.agreement, prekey: prekey, theirIdentity: outer.senderAgreementKey, start: start))
            }
            return sessions.contains { session in
                var copy = session
                return (try? SealerV2.openInner(outer, dropHash: s.dropHash, as: bob, session: &copy, now: 0, limits: limits))
                    != nil
            }
        }
        for s in firsts {
            #expect(try thiefReads(s, prekey: bobPrekey))
            #expect(try !thiefReads(s, prekey: nil))
        }
        for s in laters { #expect(try !thiefReads(s, prekey: bobPrekey)) }
    }
}
