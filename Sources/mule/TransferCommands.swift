import ArgumentParser
import Foundation
import MuleNode

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write every bundle held for others to FILE (atomically), for a USB stick.",
        discussion: """
            A FILE that already holds bundles is imported first and its bundles are kept (unless \
            expired or delivered): exporting onto a stick never drops anyone's mail. A FILE that is \
            not a Mule bundle file is left alone.
            """)
    @ParentCommand var root: Mule
    @Argument(help: "The bundle file to write.") var file: String
    @Flag var json = false

    struct Out: Encodable {
        var bundles: Int
        var own: Int
        var carried: Int
        var bytes: Int64
        /// Bundles of the existing file that this node does not hold, written again.
        var kept: Int
        var merged: Import.Out?
    }

    func run() throws {
        try guarded { try Export.write(root.global.openNode(), to: file, json: json) }
    }

    static func write(_ node: Node, to file: String, json: Bool) throws {
        let r = try node.export(to: file)
        if r.skipped > 0 {
            Output.error("\(r.skipped) stored bundle(s) did not match their id and were left out (the store may be damaged)")
        }
        if json {
            try Output.json(
                Out(
                    bundles: r.bundles, own: r.own, carried: r.carried, bytes: r.bytes, kept: r.kept,
                    merged: r.merged.map(Import.Out.init)))
            return
        }
        if let m = r.merged {
            for p in m.problems { Output.error(p.description) }
            print("Merged with the bundles already in \(file): \(Import.summary(m))")
        }
        print(
            "Wrote \(r.bundles) bundle(s) to \(file): \(r.own) of yours, \(r.carried) carried for others, \(ByteCount.format(r.bytes))"
                + (r.kept > 0 ? " (\(r.kept) kept from the file that this node does not carry)" : ""))
    }
}

struct Sync: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The one command for a stick: import what is there, write back what should travel.",
        discussion: """
            PATH is a directory (every Mule bundle file in it is imported, and everything is written \
            to PATH/mule.bundles, merged with what that file holds) or a bundle file (imported, then \
            written back merged). Nothing on the stick is lost.
            """)
    @ParentCommand var root: Mule
    @Argument(help: "A stick directory or a bundle file.") var path: String
    @Flag var json = false

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            var target = path
            if exists && isDirectory.boolValue {
                target = path + "/mule.bundles"
                let others = Node.bundleFiles(in: path).filter { $0 != target }
                if !others.isEmpty {
                    let r = try node.importFiles(others)
                    for p in r.problems { Output.error(p.description) }
                    if !json { print("Imported from \(path): \(Import.summary(r))") }
                }
            }
            try Export.write(node, to: target, json: json)
        }
    }
}

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read bundle files: deliver what is for you, keep the rest to carry on.",
        discussion: "Exit status 1 if any file or bundle was rejected; the valid ones are still imported.")
    @ParentCommand var root: Mule
    @Argument(help: "Bundle files, or directories holding them.") var files: [String]
    @Flag var json = false

    struct Out: Encodable {
        var imported: Int
        var delivered: Int
        var carried: Int
        var duplicates: Int
        var rejected: Int
        var receipts: Int
        /// Missing messages from contacts that can no longer be opened (the bound on kept keys).
        var keysDropped: Int
        var errors: [String]

        init(_ r: ImportReport) {
            imported = r.imported
            delivered = r.delivered
            carried = r.carried
            duplicates = r.duplicates
            rejected = r.rejected
            receipts = r.receiptsApplied
            keysDropped = r.keysDropped
            errors = r.problems.map(\.description)
        }
    }

    static func summary(_ r: ImportReport) -> String {
        var line =
            "imported \(r.imported): delivered \(r.delivered), carried \(r.carried); duplicates \(r.duplicates), rejected \(r.rejected)"
        if r.receiptsApplied > 0 { line += "; \(r.receiptsApplied) of your messages delivered" }
        if r.keysDropped > 0 {
            line += "; \(r.keysDropped) missing message(s) can no longer be opened (too many were skipped)"
        }
        return line
    }

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one bundle file") }
    }

    func run() throws {
        try guarded {
            let r = try root.global.openNode().importFiles(files)
            for p in r.problems { Output.error(p.description) }
            if json { try Output.json(Out(r)) } else { print(Import.summary(r)) }
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
    @Flag(help: "Print the result as JSON.") var json = false

    struct Out: Encodable {
        var key: String
        var value: String
        var bytes: Int64
    }

    func validate() throws {
        guard key == "quota" else { throw ValidationError("unknown setting '\(key)' (known: quota)") }
        if let value, ByteCount.parse(value) == nil {
            throw ValidationError("'\(value)' is not a size like 512MiB or 2GB")
        }
    }

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            if let bytes = value.flatMap(ByteCount.parse) { try node.setQuota(bytes) }
            let q = try node.quota()
            if json { try Output.json(Out(key: key, value: ByteCount.format(q), bytes: q)); return }
            print("quota \(ByteCount.format(q))")
        }
    }
}
