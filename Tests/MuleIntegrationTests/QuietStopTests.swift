import Foundation
import Testing

/// Ctrl-C and `-v` (issue 12.6): a node stopped by SIGINT says it stopped and nothing else (no
/// Swift error wording), and with `-v` each event is logged once.
@Suite struct QuietStopTests {
    func runUntilListening(_ cli: MuleCLI, _ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: MuleCLI.binary)
        p.arguments = ["--home", cli.home] + args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return (p, err)
    }

    @Test func ctrlCIsQuietAndEventsAreLoggedOnce() async throws {
        let s = Scratch()
        let a = s.cli("a")
        try await a.run("init", "--name", "Ann")
        for verbose in [false, true] {
            let args = (verbose ? ["-v"] : []) + ["run", "--no-mdns", "--listen", "127.0.0.1:0"]
            let (p, err) = try runUntilListening(a, args)
            try await Task.sleep(for: .seconds(2))
            kill(p.processIdentifier, SIGINT)
            let data = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(p.terminationStatus == 0, "\(text)")
            #expect(!text.contains("Error") && !text.contains("Cancellation"), "\(text)")
            #expect(text.components(separatedBy: "listening").count - 1 == 1, "\(text)")
            #expect(text.hasSuffix("mule: stopped\n"), "\(text)")
            if !verbose {
                let lines = text.split(separator: "\n")
                #expect(lines.count == 2 && lines[0].hasPrefix("mule: listening on 127.0.0.1:"), "\(text)")
            }
        }
    }
}
