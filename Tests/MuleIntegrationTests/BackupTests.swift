import Foundation
import Testing

/// `mule backup` and `mule restore` through the executable (issue 12.3): a profile comes back
/// whole on a "new device", and a wrong passphrase, a damaged or cut file, an existing identity
/// each give one line and change nothing.
@Suite struct BackupTests {
    @Test func roundTripAndEveryRefusal() async throws {
        let s = Scratch()
        let (alice, bob) = try await s.aliceAndBob()
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 >> 3) }
        try Data(payload).write(to: URL(fileURLWithPath: s.file("photo.bin")))
        try await bob.run("send", "Alice", "a line before the backup")
        try await bob.run("send", "Alice", "--file", s.file("photo.bin"))
        try await bob.run("export", s.file("b.mule"))
        try await alice.run("import", s.file("b.mule"))
        try await alice.run("contacts", "verify", "Bob")
        try await alice.run("config", "quota", "2GiB")
        try await alice.run("relay", "add", "127.0.0.1:4748")
        try Data("correct horse battery staple\n".utf8).write(to: URL(fileURLWithPath: s.file("pass")))
        try Data("correct horse battery stable\n".utf8).write(to: URL(fileURLWithPath: s.file("wrong")))
        try Data("short\n".utf8).write(to: URL(fileURLWithPath: s.file("short")))

        #expect(try await alice.run("backup", s.file("x.bak"), "--passphrase-file", s.file("short")).status == 1)
        let made =
            try await alice.json("backup", s.file("a.bak"), "--passphrase-file", s.file("pass"), "--json") as! [String: Any]
        #expect(made["name"] as? String == "Alice")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: s.file("a.bak"))))
        // Nothing readable inside: no name, no message, no key file name.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("Alice") && !text.contains("a line before") && !text.contains("identity/"))

        // Refusals: each one line, status 1, and the target left as it was.
        let restored = s.cli("new-device")
        func refused(_ file: String, pass: String, _ expected: String) async throws {
            let r = try await restored.run("restore", file, "--passphrase-file", pass)
            #expect(r.status == 1)
            #expect(r.errLines == ["mule: \(file): \(expected); nothing was restored"])
            #expect(!FileManager.default.fileExists(atPath: restored.home))
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.path).filter { $0.contains("restore") }
            #expect(leftovers.isEmpty)
        }
        try await refused(s.file("a.bak"), pass: s.file("wrong"), "wrong passphrase")
        var damaged = bytes
        damaged[bytes.count / 2] ^= 0x20
        try Data(damaged).write(to: URL(fileURLWithPath: s.file("damaged.bak")))
        try await refused(s.file("damaged.bak"), pass: s.file("pass"), "the backup is damaged: a chunk does not authenticate")
        try Data(bytes.prefix(bytes.count - 100)).write(to: URL(fileURLWithPath: s.file("cut.bak")))
        try await refused(s.file("cut.bak"), pass: s.file("pass"), "the backup is damaged: it is cut short")
        try await refused(s.file("photo.bin"), pass: s.file("pass"), "not a Mule backup")
        let existing = try await alice.run("restore", s.file("a.bak"), "--passphrase-file", s.file("pass"))
        #expect(existing.status == 1)
        #expect(
            existing.errLines == [
                "mule: \(alice.home) already holds an identity: restore into a new or empty folder (--home DIR)"
            ])

        // The round trip: same identity, contacts with their verified mark, messages, the file,
        // settings and relays.
        let r = try await restored.run("restore", s.file("a.bak"), "--passphrase-file", s.file("pass"))
        #expect(r.status == 0)
        #expect(r.out.hasPrefix("Restored Alice into \(restored.home)"))
        #expect(try await restored.invite() == alice.invite())
        let contacts = try await restored.json("contacts", "list", "--json") as! [[String: Any]]
        #expect(contacts.count == 1 && contacts[0]["name"] as? String == "Bob" && contacts[0]["verified"] as? Bool == true)
        let messages = try await restored.json("messages", "--json") as! [[String: Any]]
        #expect(messages.compactMap { $0["text"] as? String } == ["a line before the backup"])
        let path = try #require(messages.compactMap { $0["path"] as? String }.first)
        #expect(path.hasPrefix(restored.home + "/files/"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(payload))
        #expect(try await restored.run("config", "quota").out == "quota 2.0 GiB\n")
        #expect(try await restored.run("relay", "list").out.contains("127.0.0.1:4748"))
        // The restored profile works: Bob's next message opens there.
        try await bob.run("send", "Alice", "after the restore")
        try await bob.run("export", s.file("b2.mule"))
        #expect(try await restored.run("import", s.file("b2.mule")).status == 0)
        #expect(try await restored.run("messages", "Bob").out.contains("after the restore"))
    }
}
