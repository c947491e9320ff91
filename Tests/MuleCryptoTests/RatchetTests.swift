import Foundation
import Testing

@testable import MuleCrypto
@testable import MuleWire

/// Envelope v2's ratchet as a pure state machine: the properties of issue 13 that hold at this
/// level (the executable-level tests come with the envelope).
@Suite struct RatchetTests {
    let alice = AgreementKey.generate()
    let bob = AgreementKey.generate()
    let bobPrekey = AgreementKey.generate()
    let day: UInt64 = 86_400_000
    var limits: RatchetSession.Limits { RatchetSession.Limits(skippedLifetimeMs: 60 * day) }

    struct Sent {
        var header: [UInt8]
        var ciphertext: [UInt8]
        var plaintext: [UInt8]
    }

    func send(_ s: inout RatchetSession, _ text: String, ad: [UInt8] = [7]) throws -> Sent {
        let (h, c) = try s.seal(Array(text.utf8), ad: ad)
        return Sent(header: h, ciphertext: c, plaintext: Array(text.utf8))
    }

    func open(_ s: inout RatchetSession, _ m: Sent, now: UInt64 = 0, ad: [UInt8] = [7]) throws -> [UInt8] {
        try s.open(header: m.header, ciphertext: m.ciphertext, ad: ad, now: now, limits: limits).plaintext
    }

    /// Bob's side of a start carried by `m`.
    func respond(_ m: Sent) throws -> RatchetSession {
        let h = try RatchetHeader.decode(m.header)
        let start = try #require(h.start)
        let prekey = start.prekeyID == 1 ? bobPrekey : nil
        return try RatchetSession.respond(identity: bob, prekey: prekey, theirIdentity: alice.publicKey, start: start)
    }

    @Test func aConversationStartsOfflineAndTheStartStopsOnceHeardFrom() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        let m1 = try send(&a, "one")
        let m2 = try send(&a, "two")
        #expect(try RatchetHeader.decode(m2.header).start != nil)
        // The second arrives first and starts the session; the first still opens.
        var b = try respond(m2)
        #expect(b.id == a.id)
        #expect(try open(&b, m2) == m2.plaintext)
        #expect(try open(&b, m1) == m1.plaintext)
        let r = try send(&b, "reply")
        #expect(try RatchetHeader.decode(r.header).start == nil)
        #expect(try open(&a, r) == r.plaintext)
        #expect(a.start == nil)
        let m3 = try send(&a, "three")
        #expect(try RatchetHeader.decode(m3.header).start == nil)
        #expect(try open(&b, m3) == m3.plaintext)
    }

    @Test func withoutAPrekeyTheIdentityKeyStartsTheSession() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: nil)
        let m = try send(&a, "hello")
        #expect(try RatchetHeader.decode(m.header).start?.prekeyID == nil)
        var b = try respond(m)
        #expect(try open(&b, m) == m.plaintext)
    }

    @Test func aRetiredPrekeyNoLongerOpensTheFirstMessages() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        let m = try send(&a, "hello")
        // Bob rotated the prekey away: a thief with Bob's identity key and a new prekey can't start it.
        let start = try #require(try RatchetHeader.decode(m.header).start)
        for prekey in [nil, AgreementKey.generate()] {
            var b = try RatchetSession.respond(identity: bob, prekey: prekey, theirIdentity: alice.publicKey, start: start)
            #expect(throws: CryptoError.cannotDecrypt) { try open(&b, m) }
        }
    }

    @Test func tamperingAndReplayChangeNothing() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        let m = try send(&a, "hello")
        var b = try respond(m)
        var flipped = m
        flipped.ciphertext[3] ^= 1
        #expect(throws: CryptoError.cannotDecrypt) { try open(&b, flipped) }
        #expect(throws: CryptoError.cannotDecrypt) { try open(&b, m, ad: [8]) }
        var header = try RatchetHeader.decode(m.header)
        header.index = 5
        #expect(throws: CryptoError.cannotDecrypt) {
            try open(&b, Sent(header: header.encode(), ciphertext: m.ciphertext, plaintext: []))
        }
        #expect(b.skippedCount == 0)
        #expect(try open(&b, m) == m.plaintext)
        #expect(throws: CryptoError.cannotDecrypt) { try open(&b, m) }
    }

    /// Forward secrecy: once a message opened, the receiver's whole state (as a thief would copy
    /// it) no longer opens it, nor anything sent before it.
    @Test func aCopiedStateDoesNotOpenWhatWasReceived() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        var captured: [Sent] = []
        var b = try respond(try send(&a, "start"))
        captured.append(try send(&a, "secret 1"))
        for m in captured { _ = try open(&b, m) }
        let reply = try send(&b, "secret 2")
        _ = try open(&a, reply)
        captured.append(reply)
        captured.append(try send(&a, "secret 3"))
        _ = try open(&b, captured[2])
        // The thief copies both states after the fact (the prekey is gone from Bob's state).
        for stolen in [b.encode(), a.encode()] {
            for m in captured {
                var copy = try RatchetSession.decode(stolen)
                #expect(throws: CryptoError.self) { try open(&copy, m) }
            }
        }
    }

    /// An attacker who copied Alice's whole state and sees every message on the way: it reads
    /// what Alice's receiving side would (the copy, fed every message in order) and what Alice's
    /// copied sending chain derives.
    struct Attacker {
        var copy: RatchetSession
        let sending: RatchetSession.Chain?
        let ours: [UInt8]

        init(_ stolen: RatchetSession) throws {
            copy = try RatchetSession.decode(stolen.encode())
            sending = copy.sending
            ours = copy.ours.publicKey
        }

        mutating func reads(_ m: Sent, ad: [UInt8] = [7]) -> Bool {
            let limits = RatchetSession.Limits(skippedLifetimeMs: 1 << 40)
            if let p = try? copy.open(header: m.header, ciphertext: m.ciphertext, ad: ad, now: 0, limits: limits) {
                return p.plaintext == m.plaintext
            }
            guard let h = try? RatchetHeader.decode(m.header), h.ratchetKey == ours, var chain = sending, chain.index <= h.index
            else { return false }
            while chain.index < h.index { chain = .init(key: RatchetKDF.chain(chain.key).next, index: chain.index + 1) }
            let mk = RatchetKDF.chain(chain.key).message
            let plain = try? Sodium.aeadOpen(m.ciphertext, ad: ad + m.header, nonce: RatchetSession.nonce, key: mk)
            return plain == m.plaintext
        }
    }

    /// Post-compromise security, exactly as far as it goes: after the copy, each side's messages
    /// are locked to the attacker once that side has received a message the other wrote after
    /// the compromise (Docs/PROTOCOL.md §13.5).
    @Test func aCopiedStateIsLockedOutOnceBothHaveWrittenAgain() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        let first = try send(&a, "start")
        var b = try respond(first)
        _ = try open(&b, first)
        _ = try open(&a, try send(&b, "hi"))
        var attacker = try Attacker(a)
        // Still readable: Bob's chain on Alice's copied key, Alice's copied sending chain, and
        // Bob's next chain, which starts from Alice's copied key.
        let m1 = try send(&b, "m1")
        _ = try open(&a, m1)
        let readM1 = attacker.reads(m1)
        #expect(readM1)
        let m2 = try send(&a, "m2")
        let readM2 = attacker.reads(m2)
        #expect(readM2)
        _ = try open(&b, m2)
        let m3 = try send(&b, "m3")
        let readM3 = attacker.reads(m3)
        #expect(readM3)
        _ = try open(&a, m3)
        // Alice has now heard Bob's post-compromise key and answers with a fresh one: locked out.
        let m4 = try send(&a, "m4")
        let readM4 = attacker.reads(m4)
        #expect(!readM4)
        _ = try open(&b, m4)
        for _ in 0..<3 {
            let toAlice = try send(&b, "to alice")
            let readToalice = attacker.reads(toAlice)
            #expect(!readToalice)
            _ = try open(&a, toAlice)
            let toBob = try send(&a, "to bob")
            let readTobob = attacker.reads(toBob)
            #expect(!readTobob)
            _ = try open(&b, toBob)
        }
    }

    /// Issue 13's delay tolerance at this level: 1 000 messages each way in turns, delivered in
    /// random order over weeks, a fifth lost and some twice: every delivered message opens exactly
    /// once, the state for the missing ones stays within its bound and is gone after its lifetime.
    @Test func outOfOrderLossAndDuplicatesOverWeeks() throws {
        var rng = SplitMix(seed: 13)
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        var b: RatchetSession?
        var toBob: [Sent] = []
        var toAlice: [Sent] = []
        var sentA = 0
        var sentB = 0
        var openedA = Set<[UInt8]>()
        var openedB = Set<[UInt8]>()
        var delivered = (a: 0, b: 0)
        var now: UInt64 = 0
        var lost = 0
        func deliver(_ queue: inout [Sent], count: Int, to s: inout RatchetSession?, opened: inout Set<[UInt8]>) throws -> Int {
            var n = 0
            for _ in 0..<min(count, queue.count) {
                let m = queue.remove(at: Int(rng.next() % UInt64(queue.count)))
                if rng.next() % 5 == 0 {  // lost
                    lost += 1
                    continue
                }
                if rng.next() % 10 == 0 { queue.append(m) }  // a second copy, on another path
                if s == nil { s = try respond(m) }
                do {
                    let p = try s!.open(header: m.header, ciphertext: m.ciphertext, ad: [7], now: now, limits: limits)
                    #expect(p.plaintext == m.plaintext)
                    #expect(opened.insert(m.plaintext).inserted, "opened twice")
                    n += 1
                } catch {
                    #expect(opened.contains(m.plaintext), "a first copy did not open: \(error)")
                }
                #expect(s!.skippedCount <= limits.maxSkipped)
            }
            return n
        }
        while sentA < 1_000 || sentB < 1_000 || !toBob.isEmpty || !toAlice.isEmpty {
            for _ in 0..<Int(rng.next() % 30) where sentA < 1_000 {
                toBob.append(try send(&a, "a\(sentA)"))
                sentA += 1
            }
            if b != nil {
                for _ in 0..<Int(rng.next() % 30) where sentB < 1_000 {
                    toAlice.append(try send(&b!, "b\(sentB)"))
                    sentB += 1
                }
            }
            now += UInt64(rng.next() % 7) * day  // up to a week between turns
            delivered.b += try deliver(&toBob, count: Int(rng.next() % 40), to: &b, opened: &openedB)
            var aa: RatchetSession? = a
            delivered.a += try deliver(&toAlice, count: Int(rng.next() % 40), to: &aa, opened: &openedA)
            a = aa!
            if sentA >= 1_000 && sentB < 1_000 && b == nil { break }
        }
        #expect(sentA == 1_000 && sentB == 1_000)
        #expect(delivered.a + delivered.b > 1_400)
        #expect(lost > 200)
        // Skipped keys live 60 days, then go.
        a.expire(now: now + 61 * day)
        b!.expire(now: now + 61 * day)
        #expect(a.skippedCount == 0 && b!.skippedCount == 0)
    }

    @Test func boundsOnSkippedKeysAreErrorsOrReportedDrops() throws {
        let tight = RatchetSession.Limits(maxSkipPerMessage: 50, maxSkipped: 60, skippedLifetimeMs: day)
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        let msgs = try (0..<200).map { try send(&a, "m\($0)") }
        var b = try respond(msgs[0])
        // 100 ahead: refused, state unchanged.
        #expect(throws: CryptoError.skipLimit(100)) {
            try b.open(header: msgs[100].header, ciphertext: msgs[100].ciphertext, ad: [7], now: 0, limits: tight)
        }
        #expect(b.skippedCount == 0)
        // Stepping 40, then 40 more: the bound of 60 pushes the oldest out, and says how many.
        var dropped = 0
        for i in [40, 80] {
            dropped += try b.open(header: msgs[i].header, ciphertext: msgs[i].ciphertext, ad: [7], now: 0, limits: tight)
                .droppedSkippedKeys
        }
        #expect(dropped == 19)
        #expect(b.skippedCount == 60)
        #expect(throws: CryptoError.cannotDecrypt) {
            try b.open(header: msgs[0].header, ciphertext: msgs[0].ciphertext, ad: [7], now: 0, limits: tight)
        }
        #expect(
            try b.open(header: msgs[79].header, ciphertext: msgs[79].ciphertext, ad: [7], now: 0, limits: tight).plaintext
                == msgs[79].plaintext)
        #expect(b.expire(now: day) == 59)
    }

    @Test func theStoredFormRoundTripsAndRefusesDamage() throws {
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (1, bobPrekey.publicKey))
        let msgs = try (0..<5).map { try send(&a, "m\($0)") }
        var b = try respond(msgs[4])
        _ = try open(&b, msgs[4])
        let stored = b.encode()
        var restored = try RatchetSession.decode(stored)
        #expect(restored.encode() == stored)
        #expect(restored.skippedCount == 4)
        #expect(try open(&restored, msgs[2]) == msgs[2].plaintext)
        for cut in [0, 1, stored.count / 2, stored.count - 1] {
            #expect(throws: WireError.self) { try RatchetSession.decode(Array(stored[0..<cut])) }
        }
        var wrongVersion = stored
        wrongVersion[1] = 2
        #expect(throws: WireError.self) { try RatchetSession.decode(wrongVersion) }
    }
}

/// A small deterministic generator, so a failing order can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct PrekeyTests {
    let day = PrekeyRing.Schedule.day
    let signer = SigningKey.generate()

    @Test func signedPrekeysVerifyAndRoundTrip() throws {
        var ring = PrekeyRing()
        #expect(ring.current == nil)
        let made = ring.rotate(now: 0, signer: signer)
        #expect(made)
        let p = try #require(ring.current)
        #expect(p.verify(signingKey: signer.publicKey))
        #expect(!p.verify(signingKey: SigningKey.generate().publicKey))
        #expect(try SignedPrekey.decode(p.encode()) == p)
        var moved = p
        moved.validUntil += 1
        #expect(!moved.verify(signingKey: signer.publicKey))
        #expect(p.usable(now: 29 * day) && !p.usable(now: 30 * day))
    }

    /// Property 4 at this level: a first message started with a prekey opens while the prekey is
    /// kept, and nothing opens it after the ring deleted the prekey on schedule.
    @Test func aRotatedAwayPrekeyIsDeletedAndItsFirstMessagesStayShut() throws {
        let bob = AgreementKey.generate()
        let alice = AgreementKey.generate()
        var ring = PrekeyRing()
        ring.rotate(now: 0, signer: signer)
        let old = try #require(ring.current)
        var a = try RatchetSession.initiate(identity: alice, theirIdentity: bob.publicKey, theirPrekey: (old.id, old.publicKey))
        let (header, ciphertext) = try a.seal(Array("first".utf8), ad: [])
        let start = try #require(try RatchetHeader.decode(header).start)
        let limits = RatchetSession.Limits(skippedLifetimeMs: day)
        func opens(with ring: PrekeyRing) -> Bool {
            guard let id = start.prekeyID, let key = ring.key(id: id),
                var b = try? RatchetSession.respond(identity: bob, prekey: key, theirIdentity: alice.publicKey, start: start)
            else { return false }
            return (try? b.open(header: header, ciphertext: ciphertext, ad: [], now: 0, limits: limits)) != nil
        }
        // Weekly rotations: the old prekey is retired but kept (validity 30 days + 31 of retention).
        for week in 1...8 { ring.rotate(now: UInt64(week) * 7 * day, signer: signer) }
        #expect(ring.current?.id != old.id)
        #expect(opens(with: ring))
        let stolenBefore = try PrekeyRing.decode(ring.encode())
        #expect(opens(with: stolenBefore))
        ring.rotate(now: 61 * day, signer: signer)
        #expect(ring.key(id: old.id) == nil)
        #expect(ring.count <= 10)
        // A thief who takes the ring (and Bob's identity key) afterwards cannot open it.
        let stolenAfter = try PrekeyRing.decode(ring.encode())
        #expect(!opens(with: stolenAfter))
        var withIdentity = try RatchetSession.respond(identity: bob, prekey: nil, theirIdentity: alice.publicKey, start: start)
        #expect(throws: CryptoError.cannotDecrypt) {
            try withIdentity.open(header: header, ciphertext: ciphertext, ad: [], now: 0, limits: limits)
        }
    }

    @Test func aDamagedRingIsRefused() throws {
        var ring = PrekeyRing()
        ring.rotate(now: 0, signer: signer)
        let bytes = ring.encode()
        for cut in [0, 3, bytes.count - 1] {
            #expect(throws: WireError.self) { try PrekeyRing.decode(Array(bytes[0..<cut])) }
        }
        var flipped = bytes
        flipped[bytes.count - 10] ^= 0xFF  // inside the secret: no longer matches its public key
        #expect(throws: WireError.self) { try PrekeyRing.decode(flipped) }
    }
}
