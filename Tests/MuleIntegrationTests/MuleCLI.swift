import Foundation

/// Runs the real `mule` executable built next to the tests.
struct MuleCLI {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var binary: String {
        if let b = ProcessInfo.processInfo.environment["MULE_BIN"] { return b }
        return packageRoot.appendingPathComponent(".build/debug/mule").path
    }

    struct Result {
        var status: Int32
        var out: String
        var err: String
        var errLines: [String] { err.split(separator: "\n").map(String.init) }
    }

    let home: String
    /// Moves the executable's clock (`MULE_TEST_CLOCK_OFFSET_MS`), so weeks can pass between commands.
    var clockOffsetMs: Int64 = 0

    init(home: String, clockOffsetMs: Int64 = 0) {
        self.home = home
        self.clockOffsetMs = clockOffsetMs
    }

    @discardableResult
    func run(_ args: String...) throws -> Result { try run(args) }

    /// Runs with standard input read from the file `stdin`.
    @discardableResult
    func run(stdin: String, _ args: String...) throws -> Result { try run(args, stdin: stdin) }

    func run(_ args: [String], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MuleCLI.binary)
        p.arguments = ["--home", home] + args
        if clockOffsetMs != 0 {
            p.environment = ProcessInfo.processInfo.environment.merging(["MULE_TEST_CLOCK_OFFSET_MS": "\(clockOffsetMs)"]) { $1 }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = try stdin.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) } ?? FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// This profile's invite code (`mule id --json`).
    func invite() throws -> String { (try json("id", "--json") as! [String: Any])["invite"] as! String }

    func json(_ args: String...) throws -> Any {
        let r = try run(args)
        guard r.status == 0 || args.first == "import" else { throw CLIError("mule \(args) failed: \(r.err)") }
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8))
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

final class Scratch {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("mule-it-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ n: String) -> String { path + "/" + n }
    func cli(_ name: String) -> MuleCLI { MuleCLI(home: file(name)) }

    /// Alice and Bob, each with a profile and the other as a contact (from their invites).
    func aliceAndBob() throws -> (alice: MuleCLI, bob: MuleCLI) {
        let alice = cli("alice"), bob = cli("bob")
        try alice.run("init", "--name", "Alice")
        try bob.run("init", "--name", "Bob")
        try alice.run("contacts", "add", try bob.invite())
        try bob.run("contacts", "add", try alice.invite())
        return (alice, bob)
    }
}
