import Foundation
import Testing

/// A stick is a shared mailbag (issue 11, point 9): exporting onto it never drops what it holds,
/// a directory of bundle files is read whole, and `mule sync` is the one command for a stick.
@Suite struct StickTests {
    /// Alice, Bob and Carol; Alice and Bob each have a message for Carol.
    func people(_ s: Scratch) async throws -> (MuleCLI, MuleCLI, MuleCLI) {
        let alice = s.cli("alice"), bob = s.cli("bob"), carol = s.cli("carol")
        for (cli, name) in [(alice, "Alice"), (bob, "Bob"), (carol, "Carol")] { try await cli.run("init", "--name", name) }
        let inv = (try await carol.json("id", "--json") as! [String: Any])["invite"] as! String
        try await alice.run("contacts", "add", inv)
        try await bob.run("contacts", "add", inv)
        try await alice.run("send", "Carol", "from Alice")
        try await bob.run("send", "Carol", "from Bob")
        return (alice, bob, carol)
    }

    func texts(_ cli: MuleCLI) async throws -> Set<String> {
        Set((try await cli.json("messages", "--json") as! [[String: Any]]).compactMap { $0["text"] as? String })
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    @Test func exportingOntoAStickKeepsWhatItHolds() async throws {
        let s = Scratch()
        let (alice, bob, carol) = try await people(s)
        let stick = s.file("stick.mule")
        try await alice.run("export", stick)
        // Bob never imported the stick, and his quota for others is tiny: Alice's bundle is kept
        // on the stick all the same.
        try await bob.run("config", "quota", "1B")
        let r = try await bob.run("export", stick, "--json")
        #expect(r.status == 0)
        let out = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        #expect((out["merged"] as? [String: Any])?["imported"] as? Int == 1)
        #expect(out["kept"] as? Int == 1)
        #expect(out["bundles"] as? Int == 2)
        try await carol.run("import", stick)
        #expect(try await texts(carol) == ["from Alice", "from Bob"])

        // Carol writes back onto the stick: her messages leave it (delivered), her receipts go on,
        // and Alice learns of the delivery from it.
        let back = try await carol.run("sync", stick)
        #expect(back.status == 0)
        #expect(back.out.contains("Merged with the bundles already in \(stick)"))
        try await alice.run("import", stick)
        let mine = try await alice.json("messages", "--json") as! [[String: Any]]
        #expect(mine.first { $0["text"] as? String == "from Alice" }?["status"] as? String == "delivered")
    }

    @Test func aFileThatIsNotABundleFileIsNeverOverwritten() async throws {
        let s = Scratch()
        let (alice, _, _) = try await people(s)
        let notes = s.file("notes.txt")
        try Data("precious notes\n".utf8).write(to: URL(fileURLWithPath: notes))
        let r = try await alice.run("export", notes)
        #expect(r.status == 1)
        #expect(r.errLines == ["mule: \(notes): exists and is not a Mule bundle file; it was not overwritten"])
        #expect(try bytes(notes) == Data("precious notes\n".utf8))
    }

    @Test func aStickDirectoryIsReadWholeAndSynced() async throws {
        let s = Scratch()
        let (alice, bob, carol) = try await people(s)
        let dir = s.file("stick")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try await alice.run("export", dir + "/alice.mule")
        try await bob.run("export", dir + "/bob.mule")
        try Data("not mail\n".utf8).write(to: URL(fileURLWithPath: dir + "/README.txt"))
        let r = try await carol.run("import", dir, "--json")
        #expect(r.status == 0)
        #expect((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any])["delivered"] as? Int == 2)
        #expect(try await texts(carol) == ["from Alice", "from Bob"])

        // A fourth person syncs the directory: everything is carried on in mule.bundles, and
        // nothing else in the directory changes.
        let dave = s.cli("dave")
        try await dave.run("init", "--name", "Dave")
        let before = try ["alice.mule", "bob.mule", "README.txt"].map { try bytes(dir + "/" + $0) }
        let sync = try await dave.run("sync", dir, "--json")
        #expect(sync.status == 0)
        #expect(FileManager.default.fileExists(atPath: dir + "/mule.bundles"))
        #expect(try ["alice.mule", "bob.mule", "README.txt"].map { try bytes(dir + "/" + $0) } == before)
        let status = try await dave.json("status", "--json") as! [String: Any]
        #expect(status["carried"] as? Int == 2)

        let empty = s.file("empty")
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let none = try await carol.run("import", empty)
        #expect(none.status == 1)
        #expect(none.errLines == ["mule: \(empty): holds no Mule bundle file"])
    }
}
