import Foundation
import Testing

/// Disappearing messages through the executable (issue 13.6): a message sent with `--disappear`,
/// and one under a conversation's default, are erased on both sides on time, text and file, and
/// the search index with them; `--disappear off` and `contacts disappear … off` keep messages.
@Suite struct DisappearingTests {
    @Test func textAndFilesGoOnBothSidesOnTime() async throws {
        let s = Scratch()
        let (alice, bob) = try await s.aliceAndBob()
        try Data((0..<5000).map { UInt8(truncatingIfNeeded: $0) }).write(to: URL(fileURLWithPath: s.file("pic.bin")))

        #expect(try await alice.run("send", "Bob", "x", "--disappear", "soon").status == 2)
        #expect(try await alice.run("contacts", "disappear", "Bob", "0s").status == 2)
        try await alice.run("send", "Bob", "kept forever")
        try await alice.run("send", "Bob", "ephemeral words", "--disappear", "1h")
        try await alice.run("send", "Bob", "--file", s.file("pic.bin"), "--disappear", "1h")
        let set = try await alice.json("contacts", "disappear", "Bob", "1h", "--json") as! [String: Any]
        #expect(set["disappearAfterMs"] as? Int == 3_600_000)
        try await alice.run("send", "Bob", "by default")
        try await alice.run("send", "Bob", "explicitly kept", "--disappear", "off")
        try await alice.run("export", s.file("a.mule"))
        try await bob.run("import", s.file("a.mule"))

        func texts(_ c: MuleCLI) async throws -> [String] {
            (try await c.json("messages", "--limit", "1000", "--json") as! [[String: Any]]).map {
                ($0["text"] as? String) ?? ($0["file"] as? String) ?? ""
            }
        }
        let arrived = try await bob.json("messages", "--json") as! [[String: Any]]
        #expect(arrived.count == 5)
        #expect(arrived.filter { $0["disappearsAt"] != nil }.count == 3)
        let saved = try #require(arrived.first { $0["file"] as? String == "pic.bin" }?["path"] as? String)
        #expect(FileManager.default.fileExists(atPath: saved))
        #expect((try await bob.json("messages", "--search", "ephemeral", "--json") as! [[String: Any]]).count == 1)

        // Two hours later (the executables' test clock, not a sleep: a loaded machine can take
        // seconds per command, which must not decide what is still there).
        let later: Int64 = 2 * 3_600_000
        let aliceLater = MuleCLI(home: alice.home, clockOffsetMs: later)
        let bobLater = MuleCLI(home: bob.home, clockOffsetMs: later)
        let left = ["kept forever", "explicitly kept"]
        #expect(try await texts(aliceLater) == left)
        #expect(try await texts(bobLater) == left)
        #expect(!FileManager.default.fileExists(atPath: saved))
        #expect((try await bobLater.json("messages", "--search", "ephemeral", "--json") as! [[String: Any]]).isEmpty)

        // Off again: new messages stay, however long after.
        try await aliceLater.run("contacts", "disappear", "Bob", "off")
        try await aliceLater.run("send", "Bob", "after off")
        #expect(try await texts(MuleCLI(home: alice.home, clockOffsetMs: 30 * 24 * 3_600_000)) == left + ["after off"])
    }

    /// A running node erases on time by itself: the received file goes while no other command
    /// opens the profile (each command would erase too, when it opens it).
    @Test func aRunningNodeErasesWithoutBeingAsked() async throws {
        let s = Scratch()
        let (alice, bob) = try await s.aliceAndBob()
        try Data(repeating: 7, count: 2000).write(to: URL(fileURLWithPath: s.file("note.bin")))
        try await alice.run("send", "Bob", "--file", s.file("note.bin"), "--disappear", "1h")
        try await alice.run("export", s.file("a.mule"))
        try await bob.run("import", s.file("a.mule"))
        let arrived = try await bob.json("messages", "--json") as! [[String: Any]]
        let saved = try #require(arrived.first?["path"] as? String)
        #expect(FileManager.default.fileExists(atPath: saved))
        let node = Process()
        node.executableURL = URL(fileURLWithPath: MuleCLI.binary)
        node.arguments = ["--home", bob.home, "run", "--no-mdns", "--listen", "127.0.0.1:0"]
        node.standardError = FileHandle.nullDevice
        node.standardOutput = FileHandle.nullDevice
        // The node runs two hours on (the test clock), past the file's time.
        node.environment = ProcessInfo.processInfo.environment.merging(["MULE_TEST_CLOCK_OFFSET_MS": "\(2 * 3_600_000)"]) { $1 }
        try node.run()
        defer {
            kill(node.processIdentifier, SIGTERM)
            node.waitUntilExit()
        }
        // Generous, and never blocking a thread of the shared pool: a debug node started beside
        // the parallel suite on two cores can take many seconds to reach its first tick.
        let deadline = Date().addingTimeInterval(60)
        while FileManager.default.fileExists(atPath: saved), Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(!FileManager.default.fileExists(atPath: saved), "the running node did not erase the file")
    }
}
