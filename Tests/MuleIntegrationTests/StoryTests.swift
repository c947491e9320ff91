import Foundation
import Testing

/// The three-person sneakernet story, driven only through the `mule` executable.
@Suite struct StoryTests {
    @Test func aliceCarolBobThroughTheExecutable() async throws {
        let s = Scratch()
        let alice = s.cli("alice"), bob = s.cli("bob"), carol = s.cli("carol")
        for (c, n) in [(alice, "Alice"), (bob, "Bob"), (carol, "Carol")] {
            let r = try await c.run("init", "--name", n)
            #expect(r.status == 0, "\(r.err)")
        }
        let again = try await alice.run("init", "--name", "Alice")
        #expect(again.status != 0)
        #expect(again.errLines.count == 1 && again.err.contains("already exists"))

        let bobID = try await bob.json("id", "--json") as! [String: Any]
        #expect(bobID["name"] as? String == "Bob")
        #expect((bobID["fingerprint"] as? String)?.split(separator: " ").count == 8)
        #expect(bobID["relays"] as? [String] == [])
        #expect(try await alice.run("contacts", "add", bobID["invite"] as! String).status == 0)
        let contacts = try await alice.json("contacts", "list", "--json") as! [[String: Any]]
        #expect(contacts.count == 1 && contacts[0]["fingerprint"] as? String == bobID["fingerprint"] as? String)

        #expect(try await alice.run("send", "Bob", "Meet at the well").status == 0)
        try Data(repeating: 0xA5, count: 300_000).write(to: URL(fileURLWithPath: s.file("photo.jpg")))
        #expect(try await alice.run("send", "Bob", "--file", s.file("photo.jpg")).status == 0)
        var am = try await alice.json("messages", "--json") as! [[String: Any]]
        #expect(am.map { $0["status"] as? String } == ["queued", "queued"])

        #expect(try await alice.run("export", s.file("alice.mule")).status == 0)
        am = try await alice.json("messages", "--json") as! [[String: Any]]
        #expect(am.map { $0["status"] as? String } == ["sent", "sent"])

        let ci = try await carol.json("import", "--json", s.file("alice.mule")) as! [String: Any]
        #expect(ci["carried"] as? Int == 2 && ci["delivered"] as? Int == 0 && ci["rejected"] as? Int == 0)
        #expect(try await carol.run("export", s.file("carol.mule")).status == 0)

        let bi = try await bob.json("import", "--json", s.file("carol.mule")) as! [String: Any]
        #expect(bi["delivered"] as? Int == 2 && bi["imported"] as? Int == 2)
        let bm = try await bob.json("messages", "Alice", "--json") as! [[String: Any]]
        #expect(bm.count == 2)
        #expect(bm[0]["text"] as? String == "Meet at the well")
        #expect(bm[0]["direction"] as? String == "in" && bm[0]["status"] as? String == "received")
        #expect(bm[0]["contact"] as? String == "Alice")
        #expect(bm[0]["sentAt"] is String && bm[0]["id"] is String)
        let saved = bm[1]["path"] as! String
        #expect(try Data(contentsOf: URL(fileURLWithPath: saved)) == Data(repeating: 0xA5, count: 300_000))
        #expect(try await bob.run("messages").out.contains("request"))
        #expect(try await bob.run("contacts", "accept", "Alice").status == 0)
        #expect(try await bob.run("send", "Alice", "On my way").status == 0)
        #expect(try await bob.run("export", s.file("bob.mule")).status == 0)

        let before = try await carol.json("status", "--json") as! [String: Any]
        #expect(before["carried"] as? Int == 2)
        #expect(try await carol.run("import", s.file("bob.mule")).status == 0)
        let after = try await carol.json("status", "--json") as! [String: Any]
        #expect(after["carried"] as? Int == 2)  // Alice's two dropped; Bob's reply and receipt carried
        #expect(try await carol.run("export", s.file("carol2.mule")).status == 0)

        #expect(try await alice.run("import", s.file("carol2.mule")).status == 0)
        am = try await alice.json("messages", "--json") as! [[String: Any]]
        #expect(am.map { $0["status"] as? String } == ["delivered", "delivered", "received"])
        #expect(am[2]["text"] as? String == "On my way")
        let st = try await alice.json("status", "--json") as! [String: Any]
        #expect(st["delivered"] as? Int == 2 && st["queued"] as? Int == 0)
    }

    @Test func demoRuns() async throws {
        let s = Scratch()
        let r = try await s.cli("unused").run("demo")
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("(delivered)"))
        #expect(r.out.contains("See you at the well"))
    }
}

/// The README's two-laptops-and-a-stick story, as Samples/walkthrough.sh plays it.
@Suite struct WalkthroughTests {
    @Test func walkthroughScriptRuns() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [MuleCLI.packageRoot.appendingPathComponent("Samples/walkthrough.sh").path]
        p.environment = ProcessInfo.processInfo.environment.merging(["MULE": MuleCLI.binary]) { $1 }
        p.currentDirectoryURL = MuleCLI.packageRoot
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text)")
        #expect(text.contains("The generator needs diesel by Thursday.  (delivered, file)"))
        #expect(text.contains("Two cans on the way.  (received, file)"))
    }
}
