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
    func run(_ args: String...) async throws -> Result { try await run(args) }

    /// Runs with standard input read from the file `stdin`.
    @discardableResult
    func run(stdin: String, _ args: String...) async throws -> Result { try await run(args, stdin: stdin) }

    /// Runs the executable and waits for it without holding a thread: the parallel suite shares a
    /// cooperative pool as wide as the machine has cores (two here), and a test blocked in
    /// `waitUntilExit` would stall every other test and every in-process node with it (their
    /// link timeouts then fire). At most `CommandGate.width` commands run at once, so the
    /// processes do not crowd out the rest either. The output goes to files, read at the end.
    @discardableResult
    func run(_ args: [String], stdin: String? = nil) async throws -> Result {
        await CommandGate.shared.enter()
        defer { Task { await CommandGate.shared.leave() } }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MuleCLI.binary)
        p.arguments = ["--home", home] + args
        if clockOffsetMs != 0 {
            p.environment = ProcessInfo.processInfo.environment.merging(["MULE_TEST_CLOCK_OFFSET_MS": "\(clockOffsetMs)"]) { $1 }
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("mule-cli-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let input = try stdin.map { try FileHandle(forReadingFrom: URL(fileURLWithPath: $0)) }
        defer {
            try? out.close()
            try? err.close()
            try? input?.close()
        }
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input ?? FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            p.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try p.run() } catch {
                p.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        let o = (try? Data(contentsOf: outURL)) ?? Data()
        let e = (try? Data(contentsOf: errURL)) ?? Data()
        return Result(status: status, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    /// This profile's invite code (`mule id --json`).
    func invite() async throws -> String { (try await json("id", "--json") as! [String: Any])["invite"] as! String }

    func json(_ args: String...) async throws -> Any {
        let r = try await run(args)
        guard r.status == 0 || args.first == "import" else { throw CLIError("mule \(args) failed: \(r.err)") }
        return try JSONSerialization.jsonObject(with: Data(r.out.utf8))
    }
}

/// How many `mule` commands the tests run at once: a suspending semaphore, so waiting tests hold
/// no thread.
actor CommandGate {
    static let shared = CommandGate(width: 2)
    let width: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(width: Int) { self.width = width }

    func enter() async {
        if running < width {
            running += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the place to the first waiter, if any.
    func leave() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
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
    func aliceAndBob() async throws -> (alice: MuleCLI, bob: MuleCLI) {
        let alice = cli("alice"), bob = cli("bob")
        try await alice.run("init", "--name", "Alice")
        try await bob.run("init", "--name", "Bob")
        try await alice.run("contacts", "add", try await bob.invite())
        try await bob.run("contacts", "add", try await alice.invite())
        return (alice, bob)
    }
}
