import Foundation
import MuleStore
import Synchronization

@testable import MuleNode

/// A clock the test moves by hand.
final class TestClock: Sendable {
    let now = Atomic<Int64>(1_790_000_000_000)
    func advance(ms: Int64) { now.add(ms, ordering: .relaxed) }
    var read: @Sendable () -> Int64 { { [self] in self.now.load(ordering: .relaxed) } }
}

/// A temporary directory removed when the value goes away.
final class TempDir {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mule-test-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

struct World {
    let dir = TempDir()
    let clock = TestClock()

    func node(_ name: String) throws -> Node {
        try Node(profile: try Profile.create(home: dir.file(name.lowercased()), name: name), clock: clock.read)
    }

    /// Store contents that must not change when input is rejected.
    static func snapshot(_ n: Node) throws -> [String] {
        let ids = try Store(path: n.profile.storePath).read { tx in try tx.bundleIDs() }.map { $0.map { String($0) }.joined() }
        let msgs = try n.messages().map { "\($0.record.id) \($0.record.status)" }
        let contacts = try n.contacts().map { "\($0.id) \($0.state)" }
        return ids + msgs + contacts
    }
}
