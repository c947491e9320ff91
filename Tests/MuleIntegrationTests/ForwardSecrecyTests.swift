import Foundation
import GRDB
import MuleCrypto
import MuleNode
import MuleWire
import Testing

/// Forward secrecy and post-compromise security of envelope version 2, shown with the real
/// executable and real profile directories copied at the moment of compromise (Docs/THREAT-MODEL.md).
///
/// The attacker is a carrier who kept every bundle file it carried, and who later copies a whole
/// profile directory. Each test first shows the attack working where it should (a copy taken
/// earlier, or before the two contacts talked again), so it could fail.
@Suite struct ForwardSecrecyTests {
    /// Copies a profile directory's files and folders as a thief would (a running node's socket
    /// is not a file and stays behind).
    static func copy(_ home: String, to target: String) async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in try fm.subpathsOfDirectory(atPath: home) {
            var st = stat()
            guard lstat(home + "/" + name, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: try fm.createDirectory(atPath: target + "/" + name, withIntermediateDirectories: true)
            case S_IFREG: try fm.copyItem(atPath: home + "/" + name, toPath: target + "/" + name)
            default: continue
            }
        }
    }

    /// `mule import --json` of a captured file into a copied profile, after the attacker removed
    /// what makes a second import a duplicate (delivery marks, the messages) and any session the
    /// file's bundles could start afresh.
    /// Returns the import's JSON report and what `mule messages Alice` then shows.
    static func attackerImports(_ captured: String, into home: String, forgetSessions: Bool = false) async throws -> (
        report: [String: Any], shown: String
    ) {
        let db = try DatabaseQueue(path: home + "/mule.sqlite")
        try await db.write { db in
            try db.execute(sql: "DELETE FROM seen; DELETE FROM delivered; DELETE FROM message")
            if forgetSessions { try db.execute(sql: "DELETE FROM ratchet_session") }
        }
        try db.close()
        let cli = MuleCLI(home: home)
        let report = try await cli.json("import", "--json", captured) as! [String: Any]
        return (report, try await cli.run("messages", "Alice").out)
    }

    /// Imports `file` and returns what `mule messages Alice` then shows.
    static func read(_ file: String, as cli: MuleCLI) async throws -> (report: [String: Any], shown: String) {
        let report = try await cli.json("import", "--json", file) as! [String: Any]
        return (report, try await cli.run("messages", "Alice").out)
    }

    /// Every key in the given profile directories tried on every bundle of `captured`: the
    /// recipient's identity key for the outer layer, then each stored session, and each prekey and
    /// the identity key for a session start. Returns how many bundles opened.
    static func openWithEverything(_ captured: String, recipientHome: String, otherHomes: [String]) throws -> Int {
        let identity = try Profile.open(home: recipientHome).identity
        var sessions: [RatchetSession] = []
        var ring: PrekeyRing?
        for home in [recipientHome] + otherHomes {
            let db = try DatabaseQueue(path: home + "/mule.sqlite")
            try db.read { db in
                for state in try Data.fetchAll(db, sql: "SELECT state FROM ratchet_session") {
                    sessions.append(try RatchetSession.decode([UInt8](state)))
                }
                if home == recipientHome, let r = try Data.fetchOne(db, sql: "SELECT ring FROM prekey_ring") {
                    ring = try PrekeyRing.decode([UInt8](r))
                }
            }
            try db.close()
        }
        let now = UInt64(Node.systemClock())
        let limits = RatchetSession.Limits(skippedLifetimeMs: 86_400_000)
        var opened = 0
        for entry in try BundleFile.parse(Array(try Data(contentsOf: URL(fileURLWithPath: captured)))) {
            guard case .bundle(let b, _) = entry, let mb = try? MuleBundle(b), case .message(let env) = mb.envelope,
                let outer = try? SealerV2.openOuter(mb, env, as: identity)
            else { continue }
            var candidates = sessions
            if let start = outer.header.start {
                let prekeys = (1...64).compactMap { ring?.key(id: UInt32($0)) }
                for p in prekeys + [nil] {
                    if let s = try? RatchetSession.respond(
                        identity: identity.agreement, prekey: p, theirIdentity: outer.senderAgreementKey, start: start)
                    {
                        candidates.append(s)
                    }
                }
            }
            for var s in candidates
            where (try? SealerV2.openInner(outer, dropHash: env.dropHash, as: identity, session: &s, now: now, limits: limits))
                != nil
            {
                opened += 1
                break
            }
        }
        return opened
    }

    /// Alice writes, Bob answers: both now hold a session the other has confirmed.
    static func talked(_ s: Scratch) async throws -> (alice: MuleCLI, bob: MuleCLI) {
        let (alice, bob) = try await s.aliceAndBob()
        try await alice.run("send", "Bob", "hello")
        try await alice.run("export", s.file("hello.mule"))
        try await bob.run("import", s.file("hello.mule"))
        try await bob.run("send", "Alice", "hi")
        try await bob.run("export", s.file("hi.mule"))
        try await alice.run("import", s.file("hi.mule"))
        return (alice, bob)
    }

    @Test func capturedBundlesDoNotOpenWithProfilesCopiedAfterTheyWereRead() async throws {
        let s = Scratch()
        let (alice, bob) = try await Self.talked(s)
        try await alice.run("send", "Bob", "secret one")
        try await alice.run("send", "Bob", "secret two")
        // A carrier keeps a copy of the stick file.
        let captured = s.file("captured.mule")
        try await alice.run("export", captured)
        try await Self.copy(bob.home, to: s.file("bob-before"))

        // Bob reads them with his node running, and answers; Alice gets the receipts.
        let node = try EventStreamTests.RunningMule(bob, ["--listen", "127.0.0.1:0"], log: s.file("bob.log"))
        defer { node.stop() }
        try await Task.sleep(for: .seconds(1))
        #expect(try await Self.read(captured, as: bob).shown.contains("secret two"))
        try await bob.run("send", "Alice", "read them")
        try await bob.run("export", s.file("answer.mule"))
        try await alice.run("import", s.file("answer.mule"))
        // The device is taken while the node runs: the whole directory, its -wal included.
        try await Task.sleep(for: .seconds(2.5))
        try await Self.copy(bob.home, to: s.file("bob-after"))
        try await Self.copy(alice.home, to: s.file("alice-after"))
        node.stop()
        // The running node emptied its write-ahead log, so no older session state is in it.
        let wal = (try? FileManager.default.attributesOfItem(atPath: s.file("bob-after/mule.sqlite-wal")))?[.size] as? Int
        #expect((wal ?? 0) == 0)

        // Control: Bob's profile as it was before he read them opens both, by import and by hand.
        #expect(try Self.openWithEverything(captured, recipientHome: s.file("bob-before"), otherHomes: []) == 2)
        let control = try await Self.attackerImports(captured, into: s.file("bob-before"))
        #expect(control.shown.contains("secret one") && control.shown.contains("secret two"))
        // After: nothing in either profile opens them, whatever the attacker removes first.
        #expect(
            try Self.openWithEverything(captured, recipientHome: s.file("bob-after"), otherHomes: [s.file("alice-after")]) == 0)
        let r = try await Self.attackerImports(captured, into: s.file("bob-after"), forgetSessions: true)
        #expect(r.report["rejected"] as? Int == 2)
        #expect(!r.shown.contains("secret"))
    }

    @Test func aCopiedProfileIsLockedOutOnceTheContactsTalkedBothWays() async throws {
        let s = Scratch()
        let (alice, bob) = try await Self.talked(s)
        // The attacker copies Bob's profile, then loses access; it keeps every bundle it carries.
        let stolen = MuleCLI(home: s.file("stolen"))
        try await Self.copy(bob.home, to: stolen.home)

        try await alice.run("send", "Bob", "before the exchange")
        try await alice.run("export", s.file("m1.mule"))
        // Control: what Alice sealed before hearing from Bob again, the copy reads.
        #expect(try await Self.read(s.file("m1.mule"), as: stolen).shown.contains("before the exchange"))

        try await bob.run("import", s.file("m1.mule"))
        try await bob.run("send", "Alice", "answer")
        try await bob.run("export", s.file("r1.mule"))
        try await alice.run("import", s.file("r1.mule"))
        try await stolen.run("import", s.file("r1.mule"))

        try await alice.run("send", "Bob", "after the exchange")
        try await alice.run("export", s.file("m2.mule"))
        let r = try await Self.read(s.file("m2.mule"), as: stolen)
        #expect(r.report["rejected"] as? Int == 1)
        #expect(!r.shown.contains("after the exchange"))
        #expect(try Self.openWithEverything(s.file("m2.mule"), recipientHome: stolen.home, otherHomes: []) == 0)
        // Bob himself reads it.
        #expect(try await Self.read(s.file("m2.mule"), as: bob).shown.contains("after the exchange"))
    }
}
