import Foundation
import MuleMesh
import MuleNode
import Testing

/// Issue 14, part 1: two real `mule run` nodes on loopback; the CLI's changes reach the running
/// node through its node.sock (nothing polls the store), and the node's typed events reach a
/// subscriber on that socket as they happen.
@Suite struct EventStreamTests {
    /// A `mule run` process for one profile, ended by SIGTERM.
    final class RunningMule {
        let process = Process()
        let log: String

        init(_ cli: MuleCLI, _ args: [String], log: String) throws {
            self.log = log
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.executableURL = URL(fileURLWithPath: MuleCLI.binary)
            process.arguments = ["--home", cli.home, "run", "--no-mdns"] + args
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = h
            process.standardError = h
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        /// The address the node says it listens on, once it has said so (within 60 s); the
        /// test records an issue with the node's log if it never does.
        func listening() async -> String? {
            var address: String?
            let said = await EventStreamTests.waitFor(60) {
                let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
                address = text.firstRange(of: "listening on ").map { r in
                    String(text[r.upperBound...].prefix { !$0.isWhitespace })
                }
                return address != nil
            }
            if !said {
                Issue.record("the node did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
            }
            return address
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGTERM) }
            process.waitUntilExit()
        }

        deinit { stop() }
    }

    /// Collects the events a node streams on its socket.
    actor Collected {
        var events: [EventRecord] = []
        func add(_ e: EventRecord) { events.append(e) }
    }

    static func waitFor(_ seconds: Double = 30, _ check: () async throws -> Bool) async -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if (try? await check()) == true { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // One more look after the deadline: on a loaded machine the task may not have run for a
        // long time (the parallel suite shares two cores), so the deadline alone proves nothing.
        return (try? await check()) == true
    }

    @Test func cliChangesReachTheNodeAndEventsReachSubscribers() async throws {
        let s = Scratch()
        let alice = s.cli("a"), bob = s.cli("b")
        #expect(try await alice.run("init", "--name", "Alice").status == 0)
        #expect(try await bob.run("init", "--name", "Bob").status == 0)
        let bobInvite = (try await bob.json("id", "--json") as! [String: Any])["invite"] as! String
        let aliceInvite = (try await alice.json("id", "--json") as! [String: Any])["invite"] as! String
        #expect(try await alice.run("contacts", "add", bobInvite).status == 0)
        #expect(try await bob.run("contacts", "add", aliceInvite).status == 0)

        // Bob listens on a port the kernel picks; Alice dials what Bob's node says it listens on.
        let bobNode = try RunningMule(bob, ["--listen", "127.0.0.1:0"], log: s.file("bob.log"))
        defer { bobNode.stop() }
        let bobListen = await bobNode.listening()
        guard let bobListen else { return }
        let aliceNode = try RunningMule(alice, ["--listen", "127.0.0.1:0", "--peer", bobListen], log: s.file("alice.log"))
        defer { aliceNode.stop() }
        let aliceProfile = try Profile.open(home: alice.home)
        let bobProfile = try Profile.open(home: bob.home)
        var aliceStream: AsyncStream<EventRecord>?
        var bobStream: AsyncStream<EventRecord>?
        // Generous: under the parallel suite on two cores a debug node can take seconds to start.
        let answered = await Self.waitFor(60) {
            if aliceStream == nil { aliceStream = NodeSocket.events(profile: aliceProfile) }
            if bobStream == nil { bobStream = NodeSocket.events(profile: bobProfile) }
            return aliceStream != nil && bobStream != nil
        }
        guard answered, let aliceStream, let bobStream else {
            let logs = ["alice.log", "bob.log"].map { (try? String(contentsOfFile: s.file($0), encoding: .utf8)) ?? "" }
            Issue.record("the nodes' node.sock did not answer; logs: \(logs)")
            return
        }
        let atAlice = Collected(), atBob = Collected()
        let readers = [
            Task { for await e in aliceStream { await atAlice.add(e) } },
            Task { for await e in bobStream { await atBob.add(e) } },
        ]
        defer { for r in readers { r.cancel() } }
        // The link may have come up before the subscription: ask `mule peers`, which reads node.json.
        #expect(
            await Self.waitFor {
                let peers = try await alice.json("peers", "--json") as! [String: Any]
                return (peers["links"] as? [Any])?.count == 1
            }, "no link between the nodes")

        // A message queued by another process is offered at once (node.sock), arrives at Bob as a
        // typed event, and Alice's node reports it sent and then delivered, by path.
        let sent = try await alice.run("send", "Bob", "hello through the event stream")
        #expect(sent.status == 0, "\(sent.err)")
        #expect(
            await Self.waitFor {
                await atBob.events.contains {
                    $0.type == "messageArrived" && $0.message?.text == "hello through the event stream"
                        && $0.message?.contactName == "Alice" && $0.message?.path == "lan"
                }
            }, "Bob's node did not publish the arrival")
        guard let arrived = await atBob.events.first(where: { $0.type == "messageArrived" })?.message else { return }
        #expect(
            await Self.waitFor {
                await atAlice.events.contains {
                    $0.type == "messageStatus" && $0.id == arrived.id && $0.status == "delivered" && $0.path == "lan"
                }
            }, "Alice's node did not publish the delivery")
        let statuses = await atAlice.events.filter { $0.type == "messageStatus" && $0.id == arrived.id }.map(\.status)
        #expect(statuses.first == "sent" && statuses.last == "delivered")
        let bobAtAlice = (try await alice.json("contacts", "list", "--json") as! [[String: Any]])[0]["id"] as? String
        #expect(await atAlice.events.first { $0.type == "messageStatus" }?.contactID == bobAtAlice)

        // Alice's own bundle came pushed over the link: Bob's node sees her present, and gone
        // once her node stops.
        let aliceAtBob = (try await bob.json("contacts", "list", "--json") as! [[String: Any]])[0]["id"] as? String
        #expect(
            await Self.waitFor {
                await atBob.events.contains { $0.type == "presence" && $0.contactID == aliceAtBob && $0.presence == "linked" }
            }, "Bob's node did not see Alice present")

        // An unknown request is refused in one line.
        #expect(try Self.ask(aliceProfile.socketPath, "hello\n") == "error: unknown request\n")
        #expect(try Self.ask(aliceProfile.socketPath, "changed\n") == "ok\n")
        aliceNode.stop()
        #expect(
            await Self.waitFor {
                await atBob.events.contains { $0.type == "presence" && $0.contactID == aliceAtBob && $0.presence == "offline" }
            }, "Bob's node did not see Alice go")
    }

    /// Writes `request` to a Unix socket and reads the answer until the node closes it.
    static func ask(_ path: String, _ request: String) throws -> String {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { throw CLIError("cannot connect to \(path)") }
        _ = request.withCString { write(fd, $0, strlen($0)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}
