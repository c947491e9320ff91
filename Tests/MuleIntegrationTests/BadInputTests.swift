import Foundation
import Testing

@testable import MuleStore

/// Bad input through the executable: one line per problem naming the file and bundle, the valid
/// bundles still imported, nothing stored changed, exit status non-zero.
@Suite struct BadInputTests {
    func twoValidBundles(_ s: Scratch) async throws -> (MuleCLI, [UInt8]) {
        let alice = s.cli("alice"), bob = s.cli("bob")
        try await alice.run("init", "--name", "Alice")
        try await bob.run("init", "--name", "Bob")
        let inv = (try await bob.json("id", "--json") as! [String: Any])["invite"] as! String
        try await alice.run("contacts", "add", inv)
        try await alice.run("send", "Bob", "one")
        try await alice.run("send", "Bob", "two")
        try await alice.run("export", s.file("a.mule"))
        return (bob, [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("a.mule")))))
    }

    @Test func eachProblemIsOneLineAndTheRestImports() async throws {
        let s = Scratch()
        let (bob, good) = try await twoValidBundles(s)
        // Bundle 1 damaged in its payload; bundle 2 intact.
        var damaged = good
        damaged[60] ^= 0xFF
        try Data(damaged).write(to: URL(fileURLWithPath: s.file("damaged.mule")))
        try Data("just some text\n".utf8).write(to: URL(fileURLWithPath: s.file("notes.txt")))
        try Data([0x89, 0x4D, 0x55, 0x4C, 0x45, 0x0D, 0x0A, 0x1A, 9]).write(to: URL(fileURLWithPath: s.file("future.mule")))
        try Data(good.prefix(good.count - 10)).write(to: URL(fileURLWithPath: s.file("cut.mule")))
        try FileManager.default.createDirectory(atPath: s.file("dir.mule"), withIntermediateDirectories: true)
        try Data(good).write(to: URL(fileURLWithPath: s.file("locked.mule")))
        chmod(s.file("locked.mule"), 0)
        let locked = access(s.file("locked.mule"), R_OK) != 0  // root reads anyway

        let r = try await bob.run(
            "import", s.file("damaged.mule"), s.file("notes.txt"), s.file("future.mule"), s.file("cut.mule"),
            s.file("dir.mule"), s.file("missing.mule"), s.file("locked.mule"))
        #expect(r.status == 1)
        let lines = r.errLines
        #expect(lines.contains { $0.hasPrefix("mule: \(s.file("damaged.mule")): bundle 1: ") })
        #expect(lines.contains("mule: \(s.file("notes.txt")): not a Mule bundle file (wrong magic)"))
        #expect(lines.contains("mule: \(s.file("future.mule")): unknown bundle file version 9"))
        #expect(lines.contains { $0.hasPrefix("mule: \(s.file("cut.mule")): bundle 2: truncated") })
        #expect(lines.contains("mule: \(s.file("dir.mule")): holds no Mule bundle file"))
        #expect(lines.contains("mule: \(s.file("missing.mule")): No such file or directory"))
        if locked { #expect(lines.contains("mule: \(s.file("locked.mule")): Permission denied")) }
        #expect(!r.err.contains("Fatal") && !r.err.contains("Stack"))
        // Bundle 2 of damaged.mule and bundle 1 of cut.mule were good: both messages arrived.
        let msgs = try await bob.json("messages", "--json") as! [[String: Any]]
        #expect(Set(msgs.compactMap { $0["text"] as? String }) == ["one", "two"])
    }

    @Test func expiredAndForeignBundlesAreNamed() async throws {
        let s = Scratch()
        let (bob, good) = try await twoValidBundles(s)
        // A bundle file whose only bundle is a valid BPv7 bundle but not a Mule bundle.
        let foreign: [UInt8] =
            Array(good.prefix(9)) + [
                0x9F, 0x88, 0x07, 0x00, 0x00, 0x82, 0x01, 0x00, 0x82, 0x01, 0x00, 0x82, 0x01, 0x00, 0x82, 0x00, 0x00, 0x01,
                0x85, 0x01, 0x01, 0x00, 0x00, 0x41, 0x00, 0xFF,
            ]
        try Data(foreign).write(to: URL(fileURLWithPath: s.file("foreign.mule")))
        let r = try await bob.run("import", s.file("foreign.mule"))
        #expect(r.status == 1)
        #expect(r.errLines.count == 1)
        #expect(r.err.hasPrefix("mule: \(s.file("foreign.mule")): bundle 1: "))
        let st = try await bob.json("status", "--json") as! [String: Any]
        #expect(st["carried"] as? Int == 0 && st["received"] as? Int == 0)
    }

    @Test func usageErrorsAreOneLine() async throws {
        let s = Scratch()
        let c = s.cli("x")
        let r = try await c.run("send", "Bob", "hi")
        #expect(r.status == 1)
        #expect(r.errLines == ["mule: no identity in \(s.file("x")): run 'mule init --name NAME' first"])
        try await c.run("init", "--name", "X")
        #expect(
            try await c.run("send", "Nobody", "hi").errLines == ["mule: no contact matches 'Nobody' (see 'mule contacts list')"])
        #expect(try await c.run("contacts", "add", "mule1garbage").status == 1)
        #expect(try await c.run("send", "X", "--lifetime", "soon", "hi").status != 0)
    }
}

/// `mule relay add/remove/list` and the relay's own refusals, through the executable.
@Suite struct RelayCommandTests {
    @Test func relayListAndBadArguments() async throws {
        let s = Scratch()
        let a = s.cli("a")
        try await a.run("init", "--name", "Ann")
        #expect(try await a.run("relay", "list").out.contains("No relays"))
        for bad in ["nope", "host:0", "host:99999", "a b:1"] {
            let r = try await a.run("relay", "add", bad)
            #expect(r.status == 1 && r.errLines.count == 1 && r.err.contains("is not HOST:PORT"), "\(bad): \(r.err)")
        }
        #expect(try await a.run("relay", "add", "127.0.0.1:4748").status == 0)
        #expect(try await a.json("relay", "list", "--json") as? [String] == ["127.0.0.1:4748"])
        #expect((try await a.json("id", "--json") as? [String: Any])?["relays"] as? [String] == ["127.0.0.1:4748"])
        let r = try await a.run("relay", "remove", "10.0.0.1:1")
        #expect(r.status == 1 && r.errLines == ["mule: '10.0.0.1:1' is not one of your relays"])
        #expect(try await a.run("relay", "remove", "127.0.0.1:4748").out.contains("No relays"))
        let l = try await a.run("relay", "--listen", "nonsense", "--data", s.file("r"))
        #expect(l.status == 1 && l.errLines == ["mule: --listen wants HOST:PORT, not 'nonsense'"])
    }
}
