import Foundation
import MuleStore
import Testing

/// People added from `mule nearby` get envelope version 2 from the first message: a visible node's
/// hello carries its signed prekey, `mule nearby` shows it, and `contacts add-nearby` keeps it.
@Suite struct NearbyTests {
    @Test func someoneAddedFromNearbyGetsVersion2FromTheFirstMessage() async throws {
        let s = Scratch()
        let ann = s.cli("ann"), ben = s.cli("ben")
        #expect(try await ann.run("init", "--name", "Ann").status == 0)
        #expect(try await ben.run("init", "--name", "Ben").status == 0)

        let annNode = try EventStreamTests.RunningMule(
            ann, ["--listen", "127.0.0.1:0", "--visible-as", "Ann"], log: s.file("ann.log"))
        defer { annNode.stop() }
        let annListen = await annNode.listening()
        guard let annListen else { return }
        let benNode = try EventStreamTests.RunningMule(
            ben, ["--listen", "127.0.0.1:0", "--peer", annListen], log: s.file("ben.log"))
        defer { benNode.stop() }

        // Ben's node met Ann's: `mule nearby` lists her with a prekey her identity signed.
        var seen: [String: Any]?
        #expect(
            await EventStreamTests.waitFor(60) {
                seen = (try await ben.json("nearby", "--json") as? [[String: Any]])?.first { $0["name"] as? String == "Ann" }
                return seen?["prekey"] is String
            }, "Ann is not in Ben's 'mule nearby' with a prekey")
        let added = try await ben.run("contacts", "add-nearby", "Ann")
        #expect(added.status == 0, "\(added.err)")

        // The contact keeps the prekey, and the first message starts a version-2 session with it.
        let benStore = try Store(path: s.file("ben/mule.sqlite"))
        let annRecord = try #require(try benStore.read { tx in try tx.contacts().first { $0.name == "Ann" } })
        #expect(annRecord.prekey != nil)
        #expect(try await ben.run("send", "Ann", "hello from nearby").status == 0)
        let sessions = try benStore.read { tx in try tx.ratchetSessions(contactId: annRecord.id) }
        #expect(sessions.count == 1 && sessions.first?.current == true)

        // It reaches Ann over the link (a request: she has not added Ben) and opens there.
        #expect(
            await EventStreamTests.waitFor(60) {
                let shown = try await ann.run("messages").out
                return shown.contains("hello from nearby")
            }, "Ann did not receive Ben's first message")
    }
}
