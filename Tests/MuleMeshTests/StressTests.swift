import Foundation
import MuleMesh
import MuleNode
import MuleRelay
import Testing

/// Traffic both ways between two nodes and a relay while links are cut and processes restart.
/// It runs in the ThreadSanitizer and AddressSanitizer passes of `.ci/run` (Scripts/sanitize.sh):
/// any report there fails CI. Exactly-once delivery is checked here in every build.
@Suite(.serialized) struct StressTests {
    @Test func trafficBothWaysThroughLinkCutsAndRestarts() async throws {
        let rounds = 6
        let perRound = Int(ProcessInfo.processInfo.environment["MULE_STRESS_PER_ROUND"] ?? "") ?? 250
        let w = MeshWorld()
        let (firstRelay, relayPort) = try await w.relay()
        var relay = firstRelay
        let a = try w.profile("Alice")
        let b = try w.profile("Bob")
        try Node(home: a).addRelay("127.0.0.1:\(relayPort)")
        try Node(home: b).addRelay("127.0.0.1:\(relayPort)")
        try w.introduce([a, b])
        func fast(_ c: inout MeshConfiguration) { c.relayWindow = .milliseconds(200) }
        let ma = try await w.mesh(a, configure: fast)
        let portA = try #require(await ma.boundPort)
        var mb = try await w.mesh(b, peers: [portA], configure: fast)
        for round in 0..<rounds {
            try await ma.send(texts: (0..<perRound).map { "a\(round)-\($0)" }, to: "Bob")
            try await mb.send(texts: (0..<perRound).map { "b\(round)-\($0)" }, to: "Alice")
            try await Task.sleep(for: .milliseconds(150))
            switch round % 3 {
            case 0:
                // Bob's node goes away mid-transfer and comes back: the link is cut both ways.
                await mb.stop()
                mb = try await w.mesh(b, peers: [portA], configure: fast)
            case 1:
                // The relay dies and a new process takes over its data and port.
                await relay.stop()
                (relay, _) = try await w.relay(port: relayPort)
            default:
                break
            }
        }
        let total = rounds * perRound
        let delivered = await eventually(180) {
            let bob = try Node(home: b).messages(with: "Alice")
            let alice = try Node(home: a).messages(with: "Bob")
            return bob.filter { $0.record.direction == .incoming }.count == total
                && alice.filter { $0.record.direction == .incoming }.count == total
                && (bob + alice).allSatisfy { $0.record.direction == .incoming || $0.record.status == .delivered }
        }
        #expect(delivered)
        for (home, prefix) in [(b, "a"), (a, "b")] {
            let bodies = try Node(home: home).messages().filter { $0.record.direction == .incoming }.map(\.record.body)
            #expect(bodies.count == total)
            #expect(Set(bodies).count == bodies.count, "a message was delivered twice")
            #expect(bodies.allSatisfy { $0?.hasPrefix(prefix) == true })
        }
        await ma.stop()
        await mb.stop()
        await relay.stop()
    }
}
