import Testing

@testable import MuleCrypto
@testable import MuleSync

/// Runs a reconciliation to the end; returns (initiator, bytes exchanged, round trips). Every
/// message must fit the frame limit.
func reconcile(
    _ a: SyncItemSet, _ b: SyncItemSet, frameLimit: Int = 100_000, maxTrips: Int = 50
) throws -> (Reconciler, Int, Int) {
    var i = Reconciler(set: a, initiator: true)
    var r = Reconciler(set: b, initiator: false)
    i.frameLimit = frameLimit
    r.frameLimit = frameLimit
    var msg = i.initiate()
    var bytes = msg.count
    var trips = 0
    while true {
        #expect(msg.count <= frameLimit)
        let reply = try #require(try r.reconcile(msg))
        #expect(reply.count <= frameLimit)
        bytes += reply.count
        trips += 1
        guard let next = try i.reconcile(reply) else { break }
        bytes += next.count
        msg = next
        try #require(trips < maxTrips)
    }
    return (i, bytes, trips)
}

func items(_ n: Int, seed: UInt64 = 1) -> [SyncItem] {
    var x = seed
    return (0..<n).map { _ in
        x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        var id = [UInt8](repeating: 0, count: 32)
        var y = x
        for k in 0..<32 {
            y = y &* 6_364_136_223_846_793_005 &+ 1
            id[k] = UInt8(truncatingIfNeeded: y >> 33)
        }
        // Few distinct timestamps, so bounds need id prefixes too.
        return SyncItem(timestamp: 1_790_000_000_000 + (x >> 60) * 3_600_000, id: id)
    }
}

@Suite struct ReconcilerTests {
    @Test(arguments: [(0, 0, 0), (5, 0, 0), (0, 5, 0), (1000, 0, 3), (1000, 10, 10), (1000, 40, 0), (3000, 500, 500)])
    func findsExactlyTheDifferences(shared: Int, onlyA: Int, onlyB: Int) throws {
        let common = items(shared, seed: 7)
        let a = items(onlyA, seed: 100), b = items(onlyB, seed: 200)
        let (i, _, _) = try reconcile(SyncItemSet(common + a), SyncItemSet(common + b))
        #expect(Set(i.haves) == Set(a.map(\.id)))
        #expect(Set(i.needs) == Set(b.map(\.id)))
        #expect(i.haves.count == a.count && i.needs.count == b.count)
    }

    /// 100 000 items with d differences: a few kilobytes and a few round trips, not 3.2 MB of ids.
    @Test(arguments: [0, 1, 10])
    func largeSetsSmallDifferences(d: Int) throws {
        let common = items(100_000, seed: 3)
        let extra = items(d, seed: 9)
        let (i, bytes, trips) = try reconcile(SyncItemSet(common), SyncItemSet(common + extra))
        #expect(Set(i.needs) == Set(extra.map(\.id)))
        #expect(bytes < 4_096 + d * 3_000)
        #expect(trips <= 5)
    }

    /// Differences far beyond one frame (issue 10: 30 000 ids in one 960 kB message dropped the
    /// link): every message fits the limit and the exact difference is found, in either direction
    /// and with one side empty.
    @Test(arguments: [(100_000, 30_000, 0), (100_000, 0, 30_000), (0, 30_000, 0), (0, 0, 30_000), (20_000, 5_000, 5_000)])
    func largeDifferencesSyncUnderTheFrameLimit(shared: Int, onlyA: Int, onlyB: Int) throws {
        let common = items(shared, seed: 11)
        let a = items(onlyA, seed: 12), b = items(onlyB, seed: 13)
        let (i, bytes, trips) = try reconcile(SyncItemSet(common + a), SyncItemSet(common + b), maxTrips: 200)
        #expect(Set(i.haves) == Set(a.map(\.id)))
        #expect(Set(i.needs) == Set(b.map(\.id)))
        #expect(i.haves.count == a.count && i.needs.count == b.count)
        // A dense difference makes every leaf range differ, so at worst the ids of both sets cross
        // once, plus the ranges and fingerprints above them.
        #expect(bytes < (shared + onlyA + onlyB) * 32 * 3 / 2 + 64_000)
        print("reconcile shared=\(shared) onlyA=\(onlyA) onlyB=\(onlyB): \(bytes) bytes, \(trips) round trips")
    }

    /// A tiny limit still completes: each message answers at least one range.
    @Test func aTinyFrameLimitStillCompletes() throws {
        let common = items(3_000, seed: 21)
        let a = items(700, seed: 22), b = items(900, seed: 23)
        let (i, _, _) = try reconcile(SyncItemSet(common + a), SyncItemSet(common + b), frameLimit: 12_000, maxTrips: 2_000)
        #expect(Set(i.haves) == Set(a.map(\.id)))
        #expect(Set(i.needs) == Set(b.map(\.id)))
    }

    @Test func malformedMessagesAreRefused() {
        var r = Reconciler(set: SyncItemSet(items(10)), initiator: false)
        #expect(throws: SyncError.self) { try r.reconcile([]) }
        #expect(throws: SyncError.self) { try r.reconcile([0x02, 0x00, 0x00, 0x00]) }
        #expect(throws: SyncError.self) { try r.reconcile([0x01, 0x05, 0x00, 0x00]) }  // does not end at infinity
        #expect(throws: SyncError.self) { try r.reconcile([0x01, 0x00, 0x00, 0x01, 0x01]) }  // truncated fingerprint
        #expect(throws: SyncError.self) { try r.reconcile([0x01, 0x00, 0x00, 0x02, 0xFF, 0xFF, 0x03]) }  // huge id list
        #expect(throws: SyncError.self) { try r.reconcile([0x01, 0x00, 0x00, 0x07]) }  // unknown mode
        // Every truncation of a real message is refused, never crashes.
        var i = Reconciler(set: SyncItemSet(items(500)), initiator: true)
        let m = i.initiate()
        for n in 0..<m.count { #expect(throws: SyncError.self) { try r.reconcile(Array(m.prefix(n))) } }
    }
}
