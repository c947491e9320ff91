import ArgumentParser
import Foundation
import MuleNode

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every bundle held for others to FILE (atomically), for a USB stick.")
    @ParentCommand var root: Mule
    @Argument(help: "The bundle file to write.") var file: String
    @Flag var json = false

    struct Out: Encodable {
        var bundles: Int
        var own: Int
        var carried: Int
        var bytes: Int64
    }

    func run() throws {
        try guarded {
            let r = try root.global.openNode().export(to: file)
            if json { try Output.json(Out(bundles: r.bundles, own: r.own, carried: r.carried, bytes: r.bytes)); return }
            print(
                "Wrote \(r.bundles) bundle(s) to \(file): \(r.own) of yours, \(r.carried) carried for others, \(ByteCount.format(r.bytes))"
            )
        }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read bundle files: deliver what is for you, keep the rest to carry on.",
        discussion: "Exit status 1 if any file or bundle was rejected; the valid ones are still imported.")
    @ParentCommand var root: Mule
    @Argument(help: "Bundle files.") var files: [String]
    @Flag var json = false

    struct Out: Encodable {
        var imported: Int
        var delivered: Int
        var carried: Int
        var duplicates: Int
        var rejected: Int
        var receipts: Int
        var errors: [String]
    }

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one bundle file") }
    }

    func run() throws {
        try guarded {
            let r = try root.global.openNode().importFiles(files)
            for p in r.problems { Output.error(p.description) }
            if json {
                try Output.json(
                    Out(
                        imported: r.imported, delivered: r.delivered, carried: r.carried, duplicates: r.duplicates,
                        rejected: r.rejected, receipts: r.receiptsApplied, errors: r.problems.map(\.description)))
            } else {
                var line =
                    "imported \(r.imported): delivered \(r.delivered), carried \(r.carried); duplicates \(r.duplicates), rejected \(r.rejected)"
                if r.receiptsApplied > 0 { line += "; \(r.receiptsApplied) of your messages delivered" }
                print(line)
            }
            if r.rejected > 0 { throw ExitCode(1) }
        }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What this node holds and how your messages are doing.")
    @ParentCommand var root: Mule
    @Flag var json = false

    struct Out: Encodable {
        var queued: Int
        var sent: Int
        var delivered: Int
        var received: Int
        var ownBundles: Int
        var carried: Int
        var carriedBytes: Int64
        var storeBytes: Int64
        var quota: Int64
    }

    func run() throws {
        try guarded {
            let s = try root.global.openNode().status()
            if json {
                try Output.json(
                    Out(
                        queued: s.queued, sent: s.sent, delivered: s.delivered, received: s.received,
                        ownBundles: s.ownBundles, carried: s.carriedBundles, carriedBytes: s.carriedBytes,
                        storeBytes: s.storeBytes, quota: s.quota))
                return
            }
            print("Your messages: \(s.queued) queued, \(s.sent) sent, \(s.delivered) delivered; \(s.received) received")
            print(
                "Carrying:      \(s.carriedBundles) bundle(s) for others, \(ByteCount.format(s.carriedBytes)) of \(ByteCount.format(s.quota)) quota"
            )
            print("Store:         \(ByteCount.format(s.storeBytes)) on disk")
        }
    }
}

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show or change settings.", discussion: "Keys: quota (space for bundles carried for others, e.g. 512MiB).")
    @ParentCommand var root: Mule
    @Argument(help: "Setting name.") var key: String
    @Argument(help: "New value; omit to show the current one.") var value: String?

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            guard key == "quota" else { throw NodeError.invalidArgument("unknown setting '\(key)' (known: quota)") }
            if let value {
                guard let bytes = ByteCount.parse(value) else {
                    throw NodeError.invalidArgument("'\(value)' is not a size like 512MiB or 2GB")
                }
                try node.setQuota(bytes)
            }
            print("quota \(ByteCount.format(try node.quota()))")
        }
    }
}
