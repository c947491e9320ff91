import Foundation
import MuleStore
import Testing

@testable import MuleNode
@testable import MuleStore

/// `kill -9` of `mule import` at random points never loses a bundle stored before, and the
/// database stays sound.
@Suite struct CrashTests {
    @Test func killDuringImportLosesNothing() async throws {
        let s = Scratch()
        // Two batches of real bundles from a sender node, carried by a third party.
        let alice = try Node(profile: try Profile.create(home: s.file("alice"), name: "Alice"))
        let bob = try Node(profile: try Profile.create(home: s.file("bob"), name: "Bob"))
        try alice.addContact(invite: bob.invite)
        for i in 0..<300 { try alice.send(to: "Bob", .text("first batch \(i)")) }
        _ = try alice.export(to: s.file("first.mule"))
        for i in 0..<4000 { try alice.send(to: "Bob", .text("second batch \(i)")) }
        _ = try alice.export(to: s.file("second.mule"))  // holds the first batch too, plus 4000 new

        let carol = s.cli("carol")
        try await carol.run("init", "--name", "Carol")
        #expect(try await carol.run("import", s.file("first.mule")).status == 0)
        let storePath = s.file("carol/mule.sqlite")
        let baseline = Set(try Store(path: storePath).read { tx in try tx.bundleIDs() })
        #expect(baseline.count == 300)

        var killedMidway = 0
        for round in 0..<6 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: MuleCLI.binary)
            p.arguments = ["--home", s.file("carol"), "import", s.file("second.mule")]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 5_000...(60_000 + UInt32(round) * 20_000)))
            if p.isRunning { killedMidway += 1 }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let store = try Store(path: storePath)
            #expect(try store.integrityCheck() == "ok")
            let now = Set(try store.read { tx in try tx.bundleIDs() })
            #expect(baseline.isSubset(of: now), "round \(round) lost bundles")
            #expect(now.count == 300 || now.count == 4300, "a partial import became visible: \(now.count)")
        }
        #expect(killedMidway > 0, "no kill landed while the import ran")
        #expect(try await carol.run("import", s.file("second.mule")).status == 0)
        #expect(try Store(path: storePath).read { tx in try tx.bundleCount() } == 4300)
    }
}
