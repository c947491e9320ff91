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

    /// Alice and Bob, each with a profile; Alice has added Bob.
    func aliceKnowsBob(_ s: Scratch) async throws -> (MuleCLI, MuleCLI) {
        let alice = s.cli("alice"), bob = s.cli("bob")
        try await alice.run("init", "--name", "Alice")
        try await bob.run("init", "--name", "Bob")
        let inv = (try await bob.json("id", "--json") as! [String: Any])["invite"] as! String
        try await alice.run("contacts", "add", inv)
        return (alice, bob)
    }

    /// Runs one SQL statement on a store with Python's sqlite3, as someone editing it by hand would.
    func sql(_ store: String, _ statement: String) async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()", store,
            statement,
        ]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
    }

    @Test func aZeroedOrFlippedAgreementKeyIsRefused() async throws {
        let s = Scratch()
        let alice = s.cli("alice")
        try await alice.run("init", "--name", "Alice")
        try await alice.run("send", "Alice", "x")  // any command that opens the store; fails harmlessly
        let key = s.file("alice/identity/x25519.secret")
        let good = try bytes(key)
        let fingerprint = try await alice.run("id").out

        try write([UInt8](repeating: 0, count: 32), key)
        var r = try await alice.run("status")
        #expect(r.status == 1)
        #expect(
            r.errLines == [
                "mule: the profile is damaged: identity/x25519.secret is all zeros; restore the identity folder from a backup"
            ])

        var flipped = good
        flipped[7] ^= 0x10
        try write(flipped, key)
        r = try await alice.run("id")
        #expect(r.status == 1)
        #expect(
            r.errLines == [
                "mule: the profile is damaged: identity/x25519.secret does not match identity/x25519.public; restore the identity folder from a backup"
            ])

        // Restored from a backup: the same identity again.
        try write(good, key)
        #expect(try await alice.run("id").out == fingerprint)

        // A profile from before x25519.public gets the file on first open.
        try FileManager.default.removeItem(atPath: s.file("alice/identity/x25519.public"))
        #expect(try await alice.run("id").status == 0)
        #expect(FileManager.default.fileExists(atPath: s.file("alice/identity/x25519.public")))
    }

    @Test func anEmptyStoreIsRefusedAndLeftAlone() async throws {
        let s = Scratch()
        let (alice, _) = try await aliceKnowsBob(s)
        let store = s.file("alice/mule.sqlite")
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        _ = FileManager.default.createFile(atPath: store, contents: Data(), attributes: [.posixPermissions: 0o600])
        for command in [["status"], ["messages"], ["contacts", "list"], ["send", "Bob", "hello"]] {
            let r = try await alice.run(command)
            #expect(r.status == 1)
            #expect(r.errLines.count == 1)
            #expect(r.err.hasPrefix("mule: the profile is damaged: \(store) is empty (0 bytes)"))
            #expect(r.err.contains("restore it from a backup"))
        }
        #expect(try bytes(store).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: store + "-wal"))
    }

    @Test func permissionsArePrivateAndRepaired() async throws {
        let s = Scratch()
        // A home made beforehand with the usual umask.
        try FileManager.default.createDirectory(atPath: s.file("alice"), withIntermediateDirectories: true)
        chmod(s.file("alice"), 0o755)
        let alice = s.cli("alice")
        try await alice.run("init", "--name", "Alice")
        try await alice.run("send", "Alice", "note to self")
        #expect(try await alice.run("status").status == 0)
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
        let r = try await alice.run("status")
        #expect(r.status == 0)
        #expect(r.err.contains("identity/ed25519.secret had mode 666, now 600; others on this machine could read the key"))
        #expect(r.err.contains("mule.sqlite had mode 644, now 600"))
        #expect(mode(s.file("alice/identity/ed25519.secret")) == 0o600)
        #expect(mode(s.file("alice/mule.sqlite")) == 0o600)
        #expect(!(try await alice.run("status")).err.contains("had mode"))
    }

    /// Rows with values of the wrong type (issue 11.13): one line naming the table, row and column,
    /// never a crash inside GRDB.
    @Test func rowsOfTheWrongTypeGiveOneLine() async throws {
        let s = Scratch()
        let (alice, _) = try await aliceKnowsBob(s)
        try await alice.run("send", "Bob", "hello")
        let store = s.file("alice/mule.sqlite")
        try await sql(store, "UPDATE message SET sentAt = 'x'")
        var r = try await alice.run("messages")
        #expect(r.status == 1)
        #expect(r.errLines.count == 1)
        #expect(r.err.hasPrefix("mule: the store is damaged: message row "))
        #expect(r.err.contains("sentAt holds \"x\", not int64"))
        try await sql(store, "UPDATE message SET sentAt = 1790000000000, status = 'weird'")
        r = try await alice.run("messages")
        #expect(r.errLines.count == 1 && r.err.contains("status holds an unknown value 'weird'"))
        try await sql(store, "UPDATE contact SET name = X'FFFE'")
        r = try await alice.run("contacts", "list")
        #expect(r.status == 1)
        #expect(r.errLines.count == 1 && r.err.contains("contact row 1: name is not UTF-8 text"))
        #expect(!r.err.contains("Fatal") && !r.err.contains("Crash"))
    }

    /// A store on a read-only mount (issue 11.15): everything that only reads works; a command that
    /// writes says why it cannot. As root a read-only bind mount, otherwise file modes.
    @Test func aReadOnlyStoreStillReads() async throws {
        let s = Scratch()
        let (alice, _) = try await aliceKnowsBob(s)
        try await alice.run("send", "Bob", "kept safe")
        let home = s.file("alice")
        func readOnly(_ args: [String]) async throws -> MuleCLI.Result {
            let p = Process()
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            let command = ([MuleCLI.binary, "--home", home] + args).map { "'\($0)'" }.joined(separator: " ")
            if getuid() == 0 {
                p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
                p.arguments = [
                    "-m", "--propagation", "private", "sh", "-c", "mount --bind -o ro '\(home)' '\(home)' && exec \(command)",
                ]
            } else {
                chmod(home, 0o500)
                chmod(home + "/mule.sqlite", 0o400)
                p.executableURL = URL(fileURLWithPath: "/bin/sh")
                p.arguments = ["-c", "exec \(command)"]
            }
            try p.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            chmod(home, 0o700)
            return MuleCLI.Result(
                status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
        }
        for args in [["status"], ["messages"], ["contacts", "list"], ["id"]] {
            let r = try await readOnly(args)
            #expect(r.status == 0, "\(args): \(r.err)")
        }
        #expect(try await readOnly(["messages"]).out.contains("kept safe"))
        let w = try await readOnly(["send", "Bob", "more"])
        #expect(w.status == 1)
        #expect(
            w.errLines == [
                "mule: store error: the store is read-only (a read-only mount or file): this command needs to write to it"
            ])
    }

    /// Lesser points of issue 11.16: attachments never overwrite one another, junk rows are not
    /// exported, and an oversized name file is refused.
    @Test func attachmentsJunkRowsAndNames() async throws {
        let s = Scratch()
        let (alice, bob) = try await aliceKnowsBob(s)
        for content in ["first map", "second map"] {
            try Data(content.utf8).write(to: URL(fileURLWithPath: s.file("map.pdf")))
            try await alice.run("send", "Bob", "--file", s.file("map.pdf"))
        }
        try await alice.run("export", s.file("a.mule"))
        #expect(try await bob.run("import", s.file("a.mule")).status == 0)
        let files = (try await bob.json("messages", "--json") as! [[String: Any]]).compactMap { $0["path"] as? String }
        #expect(files.count == 2 && Set(files).count == 2)
        let contents = try Set(files.map { String(decoding: try Data(contentsOf: URL(fileURLWithPath: $0)), as: UTF8.self) })
        #expect(contents == ["first map", "second map"])

        // A stored row whose bytes were damaged is not exported.
        try await sql(s.file("alice/mule.sqlite"), "UPDATE bundle SET data = X'00' WHERE rowid = (SELECT MIN(rowid) FROM bundle)")
        let r = try await alice.run("export", s.file("b.mule"), "--json")
        #expect(r.status == 0)
        #expect(r.errLines == ["mule: 1 stored bundle(s) did not match their id and were left out (the store may be damaged)"])
        #expect((try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any])["bundles"] as? Int == 1)

        try Data(repeating: 0x41, count: 5 << 20).write(to: URL(fileURLWithPath: s.file("alice/identity/name")))
        let big = try await alice.run("id")
        #expect(big.status == 1)
        #expect(big.errLines == ["mule: the profile is damaged: identity/name is not a name (UTF-8, 1 to 64 bytes)"])
    }

    @Test func sendFromStandardInputAndEmptyMessages() async throws {
        let s = Scratch()
        let (alice, _) = try await aliceKnowsBob(s)
        let empty = try await alice.run("send", "Bob", "")
        #expect(empty.status != 0)
        #expect(empty.err.contains("the message is empty"))
        let input = s.file("lines.txt")
        try Data("first line\n\nsecond line\nthird line\n".utf8).write(to: URL(fileURLWithPath: input))
        let r = try await alice.run(stdin: input, "send", "Bob", "--stdin")
        #expect(r.status == 0)
        #expect(r.out == "Queued 3 messages for Bob\n")
        let texts = (try await alice.json("messages", "--json") as! [[String: Any]]).compactMap { $0["text"] as? String }
        #expect(texts == ["first line", "second line", "third line"])
    }
}
