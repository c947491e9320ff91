import Foundation
import Testing

/// `mule dht` against a private DHT of libtorrent nodes on 127.0.0.1.
@Suite struct DHTCommandTests {
    @Test func diagnosticsAgainstLibtorrent() async throws {
        let python =
            ProcessInfo.processInfo.environment["MULE_PYTHON"]
            ?? MuleCLI.packageRoot.appendingPathComponent(".venv/bin/python").path
        let swarm = Process()
        swarm.executableURL = URL(fileURLWithPath: python)
        // The bootstrap address is a closed port: the nodes find each other through the first one.
        swarm.arguments = [MuleCLI.packageRoot.appendingPathComponent("Tests/Interop/lt_swarm.py").path, "12", "127.0.0.1:9"]
        let input = Pipe(), output = Pipe()
        swarm.standardInput = input
        swarm.standardOutput = output
        try swarm.run()
        defer {
            input.fileHandleForWriting.write(Data("end\n".utf8))
            swarm.waitUntilExit()
        }
        var ready = Data()
        while !ready.contains(0x0A) {
            let d = output.fileHandleForReading.availableData
            guard !d.isEmpty else { throw CLIError("lt_swarm ended") }
            ready.append(d)
        }
        let line = String(decoding: ready, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let ports = line.dropFirst("ready ".count).split(separator: ",")
        let boot = ["--bootstrap", "127.0.0.1:\(ports[0])", "--timeout", "1"]
        try await Task.sleep(for: .seconds(2))
        let scratch = Scratch()
        let mule = MuleCLI(home: scratch.path + "/a")
        try await mule.run("init", "--name", "Ana")

        // No bootstrap, no traffic: one line.
        let none = try await mule.run("dht", "get", String(repeating: "a", count: 40))
        #expect(none.status == 1)
        #expect(
            none.errLines == ["mule: say where to join: --bootstrap HOST:PORT (a private DHT) or --mainline (the public one)"])

        let ping = try await mule.run(["dht", "ping", "127.0.0.1:\(ports[1])"])
        #expect(ping.status == 0)
        #expect(ping.out.contains("answered as "))

        let put = try await mule.run(["dht", "put", "hello dht"] + boot)
        #expect(put.status == 0, "\(put.err)")
        let target = put.out.split(separator: "\n")[0].dropFirst("target ".count)
        #expect(put.out.contains("stored on "))
        let get = try await mule.run(["dht", "get", String(target)] + boot)
        #expect(get.out.hasPrefix("hello dht\n"), "\(get.err)")

        // Mutable: the profile's key, seq picked one above what is stored.
        let m1 = try await mule.run(["dht", "put", "first", "--mutable", "--salt", "s"] + boot)
        #expect(m1.status == 0, "\(m1.err)")
        #expect(m1.out.contains("seq 1"))
        let key = m1.out.split(separator: "\n")[1].split(separator: " ")[1]
        let m2 = try await mule.run(["dht", "put", "second", "--mutable", "--salt", "s"] + boot)
        #expect(m2.out.contains("seq 2"), "\(m2.err)")
        let stale = try await mule.run(["dht", "put", "stale", "--mutable", "--salt", "s", "--seq", "1"] + boot)
        #expect(stale.status == 1)
        #expect(stale.errLines.count == 1)
        #expect(stale.err.contains("302"))
        let mg = try await mule.run(["dht", "get", "--key", String(key), "--salt", "s"] + boot)
        #expect(mg.out.hasPrefix("second\nseq 2, signature valid\n"), "\(mg.err)")

        let lookup = try await mule.run(["dht", "lookup", String(repeating: "7", count: 40)] + boot)
        #expect(lookup.status == 0)
        #expect(lookup.out.contains(" closest nodes, "))
        #expect(lookup.out.contains(" hops, "))
    }
}
