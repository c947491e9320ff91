import ArgumentParser
import Foundation
import MuleNode

/// The three-person sneakernet story, run for real in a temporary directory and narrated.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Alice → Carol → Bob sneakernet story in a temporary directory.")
    @ParentCommand var root: Mule
    @Flag(help: "Keep the temporary directory (profiles and bundle files) afterwards.") var keep = false

    func run() throws {
        try guarded {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mule-demo-\(getpid())").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }
            try story(in: dir)
            print(
                keep
                    ? "\nEverything is still in \(dir) — try: mule --home \(dir)/bob messages"
                    : "\n(The temporary directory was removed; run with --keep to look around.)")
        }
    }

    func say(_ s: String) { print(s) }
    func step(_ s: String) { print("\n▸ " + s) }

    func story(in dir: String) throws {
        let logger = root.global.logger()
        func person(_ name: String) throws -> Node {
            try Node(profile: try Profile.create(home: "\(dir)/\(name.lowercased())", name: name), logger: logger)
        }
        say("Mule demo: three people, three devices that never touch a network, and USB sticks.")
        say("Working in \(dir)")

        step("Alice, Bob and Carol each run 'mule init'. Each device gets its own keys; no phone number, no e-mail.")
        let alice = try person("Alice"), bob = try person("Bob"), carol = try person("Carol")
        say("  Alice's fingerprint: \(alice.identity.publicIdentity.fingerprint)")

        step("Once, Bob gave Alice his invite code. She adds it ('mule contacts add').")
        say("  \(bob.invite.prefix(48))…")
        try alice.addContact(invite: bob.invite)

        step("Alice writes to Bob and attaches a map, then exports to her USB stick.")
        try alice.send(to: "Bob", .text("Meet at the old well at noon on Friday."))
        try alice.send(
            to: "Bob",
            .file(name: "map.txt", data: Array("  N\n  |\n W-+-E  the well is 200 m east of the bridge\n  |\n  S\n".utf8)))
        let stick1 = "\(dir)/alice-stick.mule"
        let e1 = try alice.export(to: stick1)
        say("  alice-stick.mule: \(e1.bundles) bundles, \(ByteCount.format(e1.bytes)). Alice's messages are now 'sent'.")

        step("Carol, who knows neither of them, imports Alice's stick. She carries the bundles but can read nothing.")
        let i1 = try carol.importFiles([stick1])
        say("  carol: delivered \(i1.delivered), carried \(i1.carried). Carol's messages: \(try carol.messages().count)")
        let stick2 = "\(dir)/carol-stick.mule"
        _ = try carol.export(to: stick2)
        say("  Carol travels on and exports her own stick.")

        step("Bob imports Carol's stick and reads Alice's message — shown as a request, since he never added her.")
        let i2 = try bob.importFiles([stick2])
        say("  bob: delivered \(i2.delivered), carried \(i2.carried)")
        for m in try bob.messages() {
            say(
                "  ← \(m.contact.name) (\(m.contact.state.rawValue)): \(m.record.body ?? "[file \(m.record.fileName ?? "")] saved to \(m.record.filePath ?? "")")"
            )
        }
        let alicePub = try bob.resolveContact("Alice")
        say("  Bob checks Alice's fingerprint with her by phone later: \(alicePub.fingerprint)")
        try bob.setContactState("Alice", .contact)
        try bob.send(to: "Alice", .text("See you at the well. Bringing water."))
        say("  Bob accepts and replies. His node has already queued a delivery receipt for Alice's messages.")
        let stick3 = "\(dir)/bob-stick.mule"
        _ = try bob.export(to: stick3)

        step("Carol imports Bob's stick. The receipt proves delivery, so she drops Alice's bundles.")
        let before = try carol.status().carriedBundles
        let i3 = try carol.importFiles([stick3])
        let after = try carol.status().carriedBundles
        say(
            "  carol: carried before \(before), after \(after) (dropped \(i3.dropped) delivered bundle(s), carrying Bob's reply and receipt)"
        )
        let stick4 = "\(dir)/carol-stick-2.mule"
        _ = try carol.export(to: stick4)

        step("Alice imports Carol's new stick.")
        let i4 = try alice.importFiles([stick4])
        say("  alice: delivered \(i4.delivered); \(i4.receiptsApplied) of her messages confirmed delivered")
        for m in try alice.messages() {
            let arrow = m.record.direction == .outgoing ? "→" : "←"
            say("  \(arrow) \(m.record.body ?? "[file \(m.record.fileName ?? "")]")  (\(m.record.status.rawValue))")
        }
        say("\nNobody in between could read a word, learn who wrote to whom, or erase anyone's mail.")
    }
}
