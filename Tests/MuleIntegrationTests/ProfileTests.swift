import Foundation
import Testing

/// Damaged and careless profiles through the executable: refused with one line and nothing
/// changed, or repaired and said so (issue 11, points 11, 12 and 14).
@Suite struct ProfileTests {
    func mode(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_mode & 0o777) : -1
    }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    func write(_ b: [UInt8], _ path: String) throws { try Data(b).write(to: URL(fileURLWithPath: path)) }

    @Test func aZeroedOrFlippedAgreementKeyIsRefused() throws {
        let s = Scratch()
        let alice = s.cli("alice")
        try alice.run("init", "--name", "Alice")
        try alice.run("send", "Alice", "x")  // any command that opens the store; fails harmlessly
        let key = s.file("alice/identity/x25519.secret")
        let good = try bytes(key)
        let fingerprint = try alice.run("id").out

        try write([UInt8](repeating: 0, count: 32), key)
        var r = try alice.run("status")
        #expect(r.status == 1)
        #expect(
            r.errLines == [
                "mule: the profile is damaged: identity/x25519.secret is all zeros; restore the identity folder from a backup"
            ])

        var flipped = good
        flipped[7] ^= 0x10
        try write(flipped, key)
        r = try alice.run("id")
        #expect(r.status == 1)
        #expect(
            r.errLines == [
                "mule: the profile is damaged: identity/x25519.secret does not match identity/x25519.public; restore the identity folder from a backup"
            ])

        // Restored from a backup: the same identity again.
        try write(good, key)
        #expect(try alice.run("id").out == fingerprint)

        // A profile from before x25519.public gets the file on first open.
        try FileManager.default.removeItem(atPath: s.file("alice/identity/x25519.public"))
        #expect(try alice.run("id").status == 0)
        #expect(FileManager.default.fileExists(atPath: s.file("alice/identity/x25519.public")))
    }

    @Test func anEmptyStoreIsRefusedAndLeftAlone() throws {
        let s = Scratch()
        let alice = s.cli("alice"), bob = s.cli("bob")
        try alice.run("init", "--name", "Alice")
        try bob.run("init", "--name", "Bob")
        let inv = (try bob.json("id", "--json") as! [String: Any])["invite"] as! String
        try alice.run("contacts", "add", inv)
        let store = s.file("alice/mule.sqlite")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        FileManager.default.createFile(atPath: store, contents: Data(), attributes: [.posixPermissions: 0o600])
        for command in [["status"], ["messages"], ["contacts", "list"], ["send", "Bob", "hello"]] {
            let r = try alice.run(command)
            #expect(r.status == 1)
            #expect(r.errLines.count == 1)
            #expect(r.err.hasPrefix("mule: the profile is damaged: \(store) is empty (0 bytes)"))
            #expect(r.err.contains("restore it from a backup"))
        }
        #expect(try bytes(store).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store + "-wal"))
    }

    @Test func permissionsArePrivateAndRepaired() throws {
        let s = Scratch()
        // A home made beforehand with the usual umask.
        try FileManager.default.createDirectory(atPath: s.file("alice"), withIntermediateDirectories: true)
        chmod(s.file("alice"), 0o755)
        let alice = s.cli("alice")
        try alice.run("init", "--name", "Alice")
        try alice.run("send", "Alice", "note to self")
        #expect(try alice.run("status").status == 0)
        #expect(mode(s.file("alice")) == 0o700)
        #expect(mode(s.file("alice/identity")) == 0o700)
        for f in ["mule.sqlite", "mule.sqlite-wal", "identity/ed25519.secret", "identity/x25519.secret"] {
            if FileManager.default.fileExists(atPath: s.file("alice/" + f)) {
                #expect(mode(s.file("alice/" + f)) == 0o600, "\(f)")
            }
        }

        // Key files left readable by everyone are noticed, narrowed and reported.
        chmod(s.file("alice/identity/ed25519.secret"), 0o666)
        chmod(s.file("alice/mule.sqlite"), 0o644)
        let r = try alice.run("status")
        #expect(r.status == 0)
        #expect(r.err.contains("identity/ed25519.secret had mode 666, now 600; others on this machine could read the key"))
        #expect(r.err.contains("mule.sqlite had mode 644, now 600"))
        #expect(mode(s.file("alice/identity/ed25519.secret")) == 0o600)
        #expect(mode(s.file("alice/mule.sqlite")) == 0o600)
        #expect(!(try alice.run("status")).err.contains("had mode"))
    }

    @Test func sendFromStandardInputAndEmptyMessages() throws {
        let s = Scratch()
        let alice = s.cli("alice"), bob = s.cli("bob")
        try alice.run("init", "--name", "Alice")
        try bob.run("init", "--name", "Bob")
        let inv = (try bob.json("id", "--json") as! [String: Any])["invite"] as! String
        try alice.run("contacts", "add", inv)
        let empty = try alice.run("send", "Bob", "")
        #expect(empty.status != 0)
        #expect(empty.err.contains("the message is empty"))
        let input = s.file("lines.txt")
        try Data("first line\n\nsecond line\nthird line\n".utf8).write(to: URL(fileURLWithPath: input))
        let r = try alice.run(stdin: input, "send", "Bob", "--stdin")
        #expect(r.status == 0)
        #expect(r.out == "Queued 3 messages for Bob\n")
        let texts = (try alice.json("messages", "--json") as! [[String: Any]]).compactMap { $0["text"] as? String }
        #expect(texts == ["first line", "second line", "third line"])
    }
}
