import ArgumentParser
import Foundation
import MuleMesh
import MuleNode
import MuleRelay

struct Relay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a store-and-forward relay, or choose the relays this node uses.",
        discussion: """
            'mule relay --listen HOST:PORT' runs a relay until SIGINT or SIGTERM. It keeps sealed bundles \
            for the recipient tags that ask for them; it sees no sender and no content.
            'mule relay add HOST:PORT' makes this node fetch its bundles there, and leave undelivered \
            messages there after 'mule run --relay-after' seconds.
            """,
        subcommands: [Serve.self, Add.self, Remove.self, List.self],
        defaultSubcommand: Serve.self)
    @ParentCommand var root: Mule

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Run a relay (the default).")
        @ParentCommand var relay: Relay
        @Option(help: "Where to listen, HOST:PORT (default 0.0.0.0:\(RelayConfiguration.defaultPort)).") var listen: String?
        @Option(help: "The relay's data directory (default: relay/ in the profile directory).") var data: String?
        @Option(name: .customLong("stamp-bits"), help: "Proof-of-work bits per deposit under 1 MiB (default 16).")
        var stampBits: UInt8?
        @Option(name: .customLong("source-quota"), help: "Bytes kept for one address block, e.g. 64M (default 64M).")
        var sourceQuota: String?
        @Option(help: "Bytes kept in all, e.g. 1G (default 1G).") var capacity: String?

        func run() async throws {
            let global = relay.root.global
            var c = RelayConfiguration(dataDirectory: data ?? global.resolvedHome + "/relay")
            do {
                if let listen {
                    guard let a = PeerAddress(parsing: listen) else {
                        throw NodeError.invalidArgument("--listen wants HOST:PORT, not '\(listen)'")
                    }
                    c.host = a.host
                    c.port = a.port
                }
                if let stampBits {
                    guard stampBits <= 28 else { throw NodeError.invalidArgument("--stamp-bits wants 0…28") }
                    c.stampBits = stampBits
                }
                if let sourceQuota {
                    guard let b = ByteCount.parse(sourceQuota) else {
                        throw NodeError.invalidArgument("--source-quota: '\(sourceQuota)' is not a size")
                    }
                    c.limits.perSource = b
                }
                if let capacity {
                    guard let b = ByteCount.parse(capacity) else {
                        throw NodeError.invalidArgument("--capacity: '\(capacity)' is not a size")
                    }
                    c.limits.capacity = b
                }
                let server = try RelayServer(configuration: c, logger: global.logger(level: .notice))
                let port = try await server.start()
                FileHandle.standardError.write(Data("mule: relay listening on \(c.host):\(port)\n".utf8))
                await Signals.wait()
                await server.stop()
                FileHandle.standardError.write(Data("mule: relay stopped\n".utf8))
            } catch let e as NodeError {
                Output.error(e.description)
                throw ExitCode(1)
            } catch let e as RelayError {
                Output.error(e.description)
                throw ExitCode(1)
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Use a relay: fetch from it, and leave undelivered messages there.")
        @ParentCommand var relay: Relay
        @Argument(help: "The relay, HOST:PORT.") var address: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let list = try relay.root.global.openNode().addRelay(address)
                if json { try Output.json(list); return }
                print("Relays: \(list.joined(separator: ", "))")
                print("Your invite and your DHT record now name them; a running node uses them within a second.")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop using a relay.")
        @ParentCommand var relay: Relay
        @Argument(help: "The relay, HOST:PORT.") var address: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let list = try relay.root.global.openNode().removeRelay(address)
                if json { try Output.json(list); return }
                print(list.isEmpty ? "No relays." : "Relays: \(list.joined(separator: ", "))")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the relays this node uses.")
        @ParentCommand var relay: Relay
        @Flag var json = false

        func run() throws {
            try guarded {
                let list = try relay.root.global.openNode().relays()
                if json { return try Output.json(list) }
                if list.isEmpty { print("No relays. Add one with 'mule relay add HOST:PORT'.") }
                for r in list { print(r) }
            }
        }
    }
}
