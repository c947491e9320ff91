import Foundation
import Testing

/// Issue 12 through the executable: keys first and names as labels, invites that survive being
/// wrapped, QR codes an independent decoder reads, and the command-line conventions of Docs/CLI.md.
@Suite struct PeopleSafeTests {
    /// Alice, her contact Bob, and a stranger who also calls himself Bob; both Bobs wrote to Alice.
    struct Cast {
        let s = Scratch()
        let alice: MuleCLI, bob: MuleCLI, mallory: MuleCLI
        let bobInvite: String
        var bobID = "", malloryID = ""

        init() async throws {
            alice = s.cli("alice")
            bob = s.cli("bob")
            mallory = s.cli("mallory")
            try await alice.run("init", "--name", "Alice")
            try await bob.run("init", "--name", "Bob")
            try await mallory.run("init", "--name", "Bob")
            let aliceInvite = try await Self.invite(alice)
            bobInvite = try await Self.invite(bob)
            try await alice.run("contacts", "add", bobInvite)
            try await bob.run("contacts", "add", aliceInvite)
            try await mallory.run("contacts", "add", aliceInvite)
            try await bob.run("send", "Alice", "hi from the real Bob")
            try await mallory.run("send", "Alice", "it's me, Bob, on my new phone")
            try await bob.run("export", s.file("b.mule"))
            try await mallory.run("export", s.file("m.mule"))
            try await alice.run("import", s.file("b.mule"), s.file("m.mule"))
            let list = try await alice.json("contacts", "list", "--json") as! [[String: Any]]
            bobID = list.first { $0["state"] as? String == "contact" }!["id"] as! String
            malloryID = list.first { $0["state"] as? String == "request" }!["id"] as! String
        }

        static func invite(_ cli: MuleCLI) async throws -> String {
            (try await cli.json("id", "--json") as! [String: Any])["invite"] as! String
        }
    }

    @Test func aStrangerUsingAContactsNameIsShownApartAndNeverTakesTheName() async throws {
        let c = try await Cast()
        // Shown apart, with a warning, everywhere.
        let conversations = try await c.alice.run("conversations")
        #expect(conversations.out.contains("Bob (new key, not your contact Bob) [\(c.malloryID)]  (request)  1 unread"))
        let messages = try await c.alice.run("messages")
        #expect(messages.out.contains("Bob (new key, not your contact Bob) [\(c.malloryID)]"))
        #expect(messages.out.contains("warning: [\(c.malloryID)] calls itself 'Bob' but is not your contact Bob [\(c.bobID)]"))
        #expect(messages.out.contains("'mule contacts accept \(c.malloryID) --name NEW'"))
        let list = try await c.alice.run("contacts", "list")
        #expect(list.out.contains("Bob (new key, not your contact Bob) [\(c.malloryID)]  (request)"))
        #expect(list.out.contains("warning: [\(c.malloryID)]"))
        let json = try await c.alice.json("contacts", "list", "--json") as! [[String: Any]]
        #expect(json.first { $0["id"] as? String == c.malloryID }?["namesakeOf"] as? String == c.bobID)

        // "Bob" still means the contact, for every command.
        let sent = try await c.alice.json("send", "Bob", "to the real Bob", "--json") as! [String: Any]
        #expect(sent["contactId"] as? String == c.bobID)
        #expect(try await c.alice.run("messages", "Bob").out.contains("hi from the real Bob"))
        #expect(!(try await c.alice.run("messages", "Bob").out.contains("new phone")))
        // Replying to the stranger would accept it under a name that is taken: refused, with the way out.
        let reply = try await c.alice.run("send", c.malloryID, "who are you?")
        #expect(reply.status == 1)
        #expect(
            reply.errLines == [
                "mule: [\(c.malloryID)] uses the name of your contact 'Bob' but has a different key: compare fingerprints, then 'mule contacts accept \(c.malloryID) --name NEW' or 'mule contacts block \(c.malloryID)'"
            ])
        let accept = try await c.alice.run("contacts", "accept", c.malloryID)
        #expect(accept.status == 1)
        #expect(accept.err.hasPrefix("mule: [\(c.malloryID)] uses the name of your contact 'Bob'"))

        // Blocked, then unblocked: a request again (Alice never wrote to it), never merged into Bob.
        #expect(try await c.alice.run("contacts", "block", c.malloryID).status == 0)
        let still = try await c.alice.json("send", "Bob", "still Bob", "--json") as! [String: Any]
        #expect(still["contactId"] as? String == c.bobID)
        let unblocked = try await c.alice.run("contacts", "unblock", c.malloryID)
        #expect(unblocked.out == "Unblocked Bob [\(c.malloryID)] (now: request)\n")
        #expect(try await c.alice.run("contacts", "unblock", c.malloryID).status == 1)

        // Accepted under a name of its own, it prints the fingerprint and how to compare it.
        let named = try await c.alice.run("contacts", "accept", c.malloryID, "--name", "Bob new phone?")
        #expect(named.status == 0)
        #expect(named.out.contains("Fingerprint: "))
        #expect(named.out.contains("mule contacts verify \(c.malloryID)"))
        #expect(try await c.alice.run("contacts", "rename", c.malloryID, "bob").status == 1)

        // Removed with its conversation: Bob's stays.
        let removed = try await c.alice.run("contacts", "remove", c.malloryID)
        #expect(removed.out == "Removed Bob new phone? [\(c.malloryID)] and 1 message\n")
        let after = try await c.alice.json("contacts", "list", "--json") as! [[String: Any]]
        #expect(after.map { $0["id"] as! String } == [c.bobID])
        #expect(try await c.alice.run("messages", "Bob").out.contains("hi from the real Bob"))
    }

    @Test func verifyingChecksTheKeyAndMarksTheContact() async throws {
        let c = try await Cast()
        let bob = (try await c.alice.json("contacts", "list", "--json") as! [[String: Any]]).first {
            $0["id"] as? String == c.bobID
        }!
        #expect(bob["verified"] as? Bool == false)
        let fingerprint = bob["fingerprint"] as! String
        let wrong = try await c.alice.run("contacts", "verify", "Bob", "--fingerprint", String(fingerprint.reversed()))
        #expect(wrong.status == 1)
        #expect(wrong.err.contains("not verified"))
        // Mallory's invite is not Bob's key.
        let other = try await c.alice.run("contacts", "verify", "Bob", "--invite", try await Cast.invite(c.mallory))
        #expect(other.status == 1)
        // The code a QR scan gives (upper case), wrapped by a mail program: accepted.
        let scanned = try await Cast.invite(c.bob).uppercased()
        let wrapped = stride(from: 0, to: scanned.count, by: 40).map {
            String(scanned.dropFirst($0).prefix(40))
        }.joined(separator: "\n  ")
        let ok = try await c.alice.run("contacts", "verify", "Bob", "--invite", wrapped)
        #expect(ok.status == 0)
        #expect(ok.out == "Verified Bob [\(c.bobID)] ✓\n")
        #expect(try await c.alice.run("contacts", "list").out.contains("Bob [\(c.bobID)]  ✓ verified"))
        #expect(try await c.alice.run("messages").out.contains("── Bob [\(c.bobID)] ✓"))
        let spaced = fingerprint.filter(\.isNumber)
        #expect(try await c.alice.run("contacts", "verify", "Bob", "--fingerprint", spaced).status == 0)
    }

    @Test func invitesIgnoreWrappingAndSayWhenCutShort() async throws {
        let s = Scratch()
        let a = s.cli("a"), b = s.cli("b")
        try await a.run("init", "--name", "Ann")
        try await b.run("init", "--name", "Ben")
        let code = try await Cast.invite(b)
        let cut = try await a.run("contacts", "add", String(code.prefix(code.count - 9)))
        #expect(cut.status == 1)
        #expect(cut.errLines == ["mule: invite code is cut short: copy all of it (it is about 120 characters or more)"])
        let short = try await a.run("contacts", "add", String(code.prefix(30)))
        #expect(short.err.contains("cut short"))
        let changed = try await a.run("contacts", "add", String(code.prefix(20)) + "0" + String(code.dropFirst(21)))
        #expect(
            changed.errLines == [
                "mule: invite code holds '0', which no invite code has: it was changed when copied; copy it again"
            ])
        let notInvite = try await a.run("contacts", "add", "hello")
        #expect(notInvite.err.contains("not a Mule invite code"))
        let wrapped =
            "  "
            + stride(from: 0, to: code.count, by: 50).map { String(code.dropFirst($0).prefix(50)) }
            .joined(separator: "\r\n> ".dropLast(2) + " \n") + "\n"
        let added = try await a.run("contacts", "add", wrapped)
        #expect(added.status == 0)
        #expect(added.out.hasPrefix("Added Ben ["))
    }

    @Test func theInviteQRCodeDecodesToTheInvite() async throws {
        let s = Scratch()
        let a = s.cli("a")
        try await a.run("init", "--name", "Ann")
        let invite = try await Cast.invite(a)
        let r = try await a.run("id", "--qr", "--qr-png", s.file("invite.png"), "--qr-svg", s.file("invite.svg"))
        #expect(r.status == 0)
        #expect(r.out.contains("▀") && r.out.contains("█"))
        #expect(try String(contentsOfFile: s.file("invite.svg"), encoding: .utf8).hasPrefix("<svg"))
        // An independent decoder (zxing-cpp, over Pillow's PNG reader) reads the image.
        let decoded = try Python.run(
            """
            import sys, zxingcpp
            from PIL import Image
            found = zxingcpp.read_barcodes(Image.open(sys.argv[1]))
            print("\\n".join(f"{r.format}|{r.text}" for r in found))
            """, s.file("invite.png"))
        #expect(decoded == "QR Code|\(invite.uppercased())")
        // What was scanned adds the contact.
        let b = s.cli("b")
        try await b.run("init", "--name", "Ben")
        #expect(try await b.run("contacts", "add", String(decoded.dropFirst(8))).status == 0)
    }

    @Test func commandLineConventions() async throws {
        let s = Scratch()
        let a = s.cli("a")
        // Usage errors: one line, status 2, naming the help to read.
        let missing = try await a.run("send")
        #expect(missing.status == 2)
        #expect(missing.errLines == ["mule: missing expected argument '<contact>' (see 'mule send --help')"])
        let unknown = try await a.run("frobnicate")
        #expect(unknown.status == 2)
        #expect(unknown.errLines == ["mule: unexpected argument 'frobnicate' (see 'mule --help')"])
        let badSince = try await a.run("messages", "--since", "yesterday-ish")
        #expect(badSince.status == 2)
        #expect(badSince.errLines.count == 1)
        #expect(try await a.run("run", "--listen", "nowhere").status == 2)
        #expect(try await a.run("config", "quota", "lots").status == 2)
        // Errors in doing: status 1, Mule's words only.
        let none = try await a.run("status")
        #expect(none.status == 1)
        #expect(none.errLines == ["mule: no identity in \(s.file("a")): run 'mule init --name NAME' first"])
        let initJSON = try await a.json("init", "--name", "Ann", "--json") as! [String: Any]
        #expect((initJSON["invite"] as? String)?.hasPrefix("mule1") == true)
        let b = s.cli("b")
        try await b.run("init", "--name", "Ben")
        let added = try await a.json("contacts", "add", try await Cast.invite(b), "--json") as! [String: Any]
        #expect(added["name"] as? String == "Ben" && added["verified"] as? Bool == false)
        for empty in ["", "   "] {
            let r = try await a.run("send", "Ben", empty)
            #expect(r.status == 2)
            #expect(r.errLines == ["mule: the message is empty (see 'mule send --help')"])
        }
        let export = try await a.run("export", s.file("no/such/dir/x.mule"))
        #expect(export.status == 1)
        #expect(!export.err.contains("operation could not") && !export.err.contains("Error"))
        #expect(export.errLines.count == 1 && export.err.hasPrefix("mule: "))
        let quota = try await a.json("config", "quota", "1GiB", "--json") as! [String: Any]
        #expect(quota["bytes"] as? Int == 1 << 30)
        let version = try await a.run("--version")
        #expect(version.status == 0 && !version.out.isEmpty)
        // Several lines of standard input: one message each, one process.
        try Data("one\n\ntwo\nthree\n".utf8).write(to: URL(fileURLWithPath: s.file("lines")))
        let batch = try await a.run(["send", "Ben", "--stdin", "--json"], stdin: s.file("lines"))
        #expect((try JSONSerialization.jsonObject(with: Data(batch.out.utf8)) as! [String: Any])["queued"] as? [String] != nil)
        #expect((try await a.json("messages", "Ben", "--json") as! [[String: Any]]).count == 3)
        // Completions and the manual come from the command definitions.
        for shell in ["bash", "zsh", "fish"] {
            let r = try await a.run("completions", shell)
            #expect(r.status == 0 && r.out.contains("conversations") && r.out.contains("contacts"))
        }
        #expect(try await a.run("completions", "tcsh").status == 2)
        let man = try await a.run("manual").out
        #expect(man.hasPrefix(".TH MULE 1"))
        for command in ["init", "id", "contacts", "contacts verify", "send", "conversations", "messages", "run", "chat"] {
            #expect(man.contains(".SS \(command.replacingOccurrences(of: "-", with: "\\-"))\n"), "\(command)")
        }
    }

    @Test func messagesPageFilterSearchAndUnread() async throws {
        let s = Scratch()
        let a = s.cli("a"), b = s.cli("b")
        try await a.run("init", "--name", "Ann")
        try await b.run("init", "--name", "Ben")
        try await a.run("contacts", "add", try await Cast.invite(b))
        try await b.run("contacts", "add", try await Cast.invite(a))
        var lines = (1...120).map { "line \($0) about the weather" }
        lines[41] = "the café opens at nine"
        lines[99] = "Meet at the CAFE tomorrow"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: s.file("lines")))
        try await b.run(["send", "Ann", "--stdin"], stdin: s.file("lines"))
        try await b.run("export", s.file("b.mule"))
        try await a.run("import", s.file("b.mule"))

        let convs = try await a.json("conversations", "--json") as! [[String: Any]]
        #expect(convs.count == 1 && convs[0]["unread"] as? Int == 120)
        // The newest ten, oldest first; shown means read.
        let ten = try await a.json("messages", "Ben", "--limit", "10", "--json") as! [[String: Any]]
        #expect(ten.map { $0["text"] as! String } == Array(lines.suffix(10)))
        #expect(ten.allSatisfy { $0["unread"] as? Bool == true })
        #expect((try await a.json("conversations", "--json") as! [[String: Any]])[0]["unread"] as? Int == 110)
        let unread = try await a.json("messages", "--unread", "--limit", "500", "--json") as! [[String: Any]]
        #expect(unread.count == 110)
        #expect(try await (a.json("messages", "--unread", "--json") as! [[String: Any]]).isEmpty)
        #expect(try await a.run("messages", "--unread").out == "No messages match.\n")
        // Search: every word, diacritics and case folded, prefixes; query syntax is plain text.
        let cafe = try await a.json("messages", "--search", "cafe", "--json") as! [[String: Any]]
        #expect(cafe.map { $0["text"] as! String } == [lines[41], lines[99]])
        let two = try await a.json("messages", "Ben", "--search", "meet tom", "--json") as! [[String: Any]]
        #expect(two.map { $0["text"] as! String } == [lines[99]])
        #expect(try await a.run("messages", "--search", "\"weather OR (", "--json").status == 0)
        // Since: a duration ago, or a date.
        #expect((try await a.json("messages", "--since", "1h", "--limit", "500", "--json") as! [[String: Any]]).count == 120)
        #expect(try await (a.json("messages", "--since", "2999-01-01", "--json") as! [[String: Any]]).isEmpty)
    }
}

/// Runs a Python snippet in the test venv (Scripts/test.sh creates it from Tests/requirements.txt).
enum Python {
    static func run(_ code: String, _ args: String...) throws -> String {
        let python =
            ProcessInfo.processInfo.environment["MULE_PYTHON"]
            ?? MuleCLI.packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw CLIError("no Python venv at \(python): run Scripts/test.sh, which creates it")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = ["-c", code] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLIError("python exited \(p.terminationStatus)") }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
