import MuleCrypto
import MuleLink
import MuleNode
import Testing

@testable import MuleMesh
@testable import MuleStore

/// The mesh's pure parts, each alone: what it asks for, what it accepts, whom it sees.
@Suite struct IntakeTests {
    static func bundle(_ n: Int, size: Int) -> (id: [UInt8], bytes: [UInt8]) {
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ n) }
        return (Node.bundleID(bytes), bytes)
    }

    static func part(_ b: (id: [UInt8], bytes: [UInt8]), from: Int, count: Int) -> LinkFrame.Part {
        let end = min(from + count, b.bytes.count)
        return LinkFrame.Part(id: b.id, total: UInt32(b.bytes.count), offset: UInt32(from), data: Array(b.bytes[from..<end]))
    }

    @Test func asksOnceBoundsPerLinkAndResumesWhereADroppedLinkStopped() throws {
        var intake = Intake(maxPartialBytes: 1 << 20, maxPartials: 16, maxAskedPerLink: 3)
        let bundles = (0..<5).map { Self.bundle($0, size: 1000) }
        let live: Set<Int> = [1, 2]
        // Link 1 gets three of five (its bound); link 2 is not asked for what link 1 brings.
        let first = intake.ask(bundles.map(\.id), on: 1) { live.contains($0) }
        #expect(first.map(\.id) == bundles.prefix(3).map(\.id) && first.allSatisfy { $0.offset == 0 })
        #expect(intake.asked(on: 1) == 3)
        let second = intake.ask(bundles.map(\.id), on: 2) { live.contains($0) }
        #expect(second.map(\.id) == bundles.suffix(2).map(\.id))

        // Half of bundle 0 arrives on link 1; then link 1 drops.
        #expect(
            try intake.receive(Self.part(bundles[0], from: 0, count: 400), on: 1, now: .now) == .progress(bytes: 400, total: 1000)
        )
        #expect(intake.receiving(on: 1)?.bytes == 400)
        intake.dropLink(1)
        #expect(intake.asked(on: 1) == 0)
        // Link 2 is asked for it from byte 400, and what it sends completes the bundle.
        let resumed = intake.ask([bundles[0].id], on: 2) { $0 == 2 }
        #expect(resumed == [LinkFrame.Want(id: bundles[0].id, offset: 400)])
        let done = try intake.receive(Self.part(bundles[0], from: 400, count: 600), on: 2, now: .now)
        #expect(done == .complete(bundles[0].bytes, pushed: false))
        #expect(intake.partials.isEmpty && intake.asked(on: 2) == 2)
        // A `gone` answer settles what was asked.
        _ = try intake.receive(LinkFrame.Part(id: bundles[3].id, total: 0, offset: 0, data: []), on: 2, now: .now)
        #expect(intake.asked(on: 2) == 1 && intake.inFlight[bundles[3].id] == nil)
    }

    @Test func refusesWhatNobodyAskedForAndWhatDoesNotContinue() throws {
        var intake = Intake(maxPartialBytes: 1 << 20, maxPartials: 16, maxAskedPerLink: 100)
        let big = Self.bundle(1, size: 3000)
        // A part of a bundle nobody asked for.
        #expect(throws: LinkError.self) { try intake.receive(Self.part(big, from: 0, count: 1000), on: 1, now: .now) }
        _ = intake.ask([big.id], on: 1) { _ in true }
        // Asked of link 1: link 2 may not send it in parts.
        #expect(throws: LinkError.self) { try intake.receive(Self.part(big, from: 0, count: 1000), on: 2, now: .now) }
        _ = try intake.receive(Self.part(big, from: 0, count: 1000), on: 1, now: .now)
        // A part that skips ahead.
        #expect(throws: LinkError.self) { try intake.receive(Self.part(big, from: 2000, count: 1000), on: 1, now: .now) }
        // A whole small bundle may be pushed unasked, but must match its id.
        let small = Self.bundle(2, size: 100)
        #expect(
            try intake.receive(Self.part(small, from: 0, count: 100), on: 3, now: .now) == .complete(small.bytes, pushed: true))
        var forged = Self.part(small, from: 0, count: 100)
        forged.data[0] ^= 1
        #expect(throws: LinkError.self) { try intake.receive(forged, on: 3, now: .now) }
    }

    @Test func unfinishedBundlesAreBoundedOldestFirst() throws {
        var intake = Intake(maxPartialBytes: 1 << 30, maxPartials: 4, maxAskedPerLink: 100)
        let bundles = (0..<10).map { Self.bundle($0, size: 2000) }
        _ = intake.ask(bundles.map(\.id), on: 1) { _ in true }
        let start = ContinuousClock.now
        for (i, b) in bundles.enumerated() {
            _ = try intake.receive(Self.part(b, from: 0, count: 10), on: 1, now: start + .milliseconds(i))
        }
        #expect(intake.partials.count == 4)
        #expect(Set(intake.partials.keys) == Set(bundles.suffix(4).map(\.id)))
    }

    @Test func directoryBoundsWhatItRemembersAndTellsPresence() {
        var d = PeerDirectory()
        for i in 0..<(PeerDirectory.maxRecent + 50) { d.seen("10.0.\(i / 256).\(i % 256):4747", via: .incoming, at: Int64(i)) }
        #expect(d.recent.count == PeerDirectory.maxRecent)
        #expect(d.recent["10.0.0.0:4747"] == nil)
        #expect(d.snapshot().recent.count == 50 && d.snapshot().recent.first?.lastSeen == Int64(PeerDirectory.maxRecent + 49))

        var bob = ContactRecord(
            id: 7, signingKey: [1], agreementKey: [2], name: "Bob", state: .contact, heardFrom: true, addedAt: 0)
        bob.relays = ["relay.example:4749"]
        #expect(d.presence(of: bob, linkedRelays: []) == .offline)
        #expect(d.presence(of: bob, linkedRelays: ["relay.example:4749"]) == .relay)
        let news = d.contact(7, showedOn: 3)
        let again = d.contact(7, showedOn: 3)
        #expect(news && !again)
        #expect(d.presence(of: bob, linkedRelays: []) == .linked)
        let gone = d.linkEnded(3, address: "10.0.0.9:4747", announcedKey: nil, at: 1000)
        #expect(gone == [7])
        #expect(d.presence(of: bob, linkedRelays: []) == .offline)
    }
}
