import ArgumentParser
import Foundation
import Logging
import MuleCrypto
import MuleDHT
import MuleNode
import MuleWire

/// `mule dht …`: diagnostics on a Mainline DHT, as `ipfs dht` has. Each command runs a short-lived
/// DHT node of its own, and sends nothing unless told where to join.
struct DHT: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Talk to a Mainline DHT: ping a node, put and get items, look up a target.",
        discussion: """
            Every command but ping needs --bootstrap HOST:PORT (a private DHT) or --mainline (the \
            public one); without them nothing is sent.
            """,
        subcommands: [DHTPing.self, DHTPut.self, DHTGet.self, DHTLookup.self]
    )
}

struct DHTOptions: ParsableArguments {
    @Option(help: "A node to join through, HOST:PORT (repeatable).") var bootstrap: [String] = []
    @Flag(help: "Join the public Mainline DHT through its well-known routers.") var mainline = false
    @Option(help: "UDP address to use, HOST:PORT (default: any port, on 127.0.0.1 if every bootstrap node is there).")
    var listen: String?
    @Option(help: "Seconds to wait for each answer (default 2).") var timeout: Double = 2
    @Flag(help: "Print the result as JSON.") var json = false

    func configuration(needsNetwork: Bool) throws(NodeError) -> DHTConfiguration {
        var c = mainline ? DHTConfiguration.mainline : DHTConfiguration()
        c.bootstrap += bootstrap
        if needsNetwork, c.bootstrap.isEmpty {
            throw .invalidArgument("say where to join: --bootstrap HOST:PORT (a private DHT) or --mainline (the public one)")
        }
        let loopbackOnly = !mainline && !bootstrap.isEmpty && bootstrap.allSatisfy { DHTAddress($0)?.isLoopback == true }
        c.listen = DHTAddress(ip: loopbackOnly ? 0x7F00_0001 : 0, port: 0)
        if let listen {
            guard let a = DHTAddress(listen) else { throw .invalidArgument("--listen wants IPv4:PORT, not '\(listen)'") }
            c.listen = a
        }
        guard timeout > 0, timeout <= 60 else { throw .invalidArgument("--timeout wants 0 to 60 seconds") }
        c.queryTimeout = .milliseconds(Int(timeout * 1000))
        return c
    }

    /// Starts a node, runs `body`, stops the node; errors become one line.
    func withNode(
        needsNetwork: Bool, logger: Logger, _ body: (DHTNode) async throws -> Void
    ) async throws {
        do {
            let c = try configuration(needsNetwork: needsNetwork)
            let node = DHTNode(configuration: c, logger: logger)
            _ = try await node.start()
            do {
                try await body(node)
            } catch {
                await node.stop()
                throw error
            }
            await node.stop()
        } catch let e as NodeError {
            Output.error(e.description)
            throw ExitCode(1)
        } catch let e as DHTError {
            Output.error(e.description)
            throw ExitCode(1)
        }
    }
}

func milliseconds(_ d: Duration) -> String {
    String(format: "%.1f ms", ms(d))
}

func ms(_ d: Duration) -> Double {
    ((Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15) * 10).rounded() / 10
}

/// What the DHT commands print with `--json`.
struct DHTOut: Encodable {
    var address: String?
    var id: String?
    var target: String?
    var key: String?
    var seq: Int64?
    var salt: String?
    var value: String?
    var valueHex: String?
    var stored: Int?
    var nodes: [Node]?
    var hops: Int?
    var queries: Int?
    var answered: Int?
    var ms: Double

    struct Node: Encodable {
        var id: String
        var address: String
        var distanceBits: Int
        var hop: Int
    }
}

struct DHTPing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "Ping one DHT node.")
    @ParentCommand var root: Mule
    @OptionGroup var dht: DHTOptions
    @Argument(help: "HOST:PORT of the node.") var address: String

    func run() async throws {
        try await dht.withNode(needsNetwork: false, logger: root.global.logger()) { node in
            guard let a = DHTAddress(address) else { throw NodeError.invalidArgument("ping wants IPv4:PORT, not '\(address)'") }
            let start = ContinuousClock.now
            let id = try await node.ping(a)
            if dht.json { try Output.json(DHTOut(address: "\(a)", id: "\(id)", ms: ms(ContinuousClock.now - start))); return }
            print("\(a) answered as \(id) in \(milliseconds(ContinuousClock.now - start))")
        }
    }
}

struct DHTPut: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Store a value (a byte string) as an immutable or mutable BEP 44 item.")
    @ParentCommand var root: Mule
    @OptionGroup var dht: DHTOptions
    @Argument(help: "The value, stored as a bencoded byte string (at most 990 bytes).") var value: String
    @Flag(help: "A mutable item, signed with the key of --seed or of this profile.") var mutable = false
    @Option(help: "Salt of a mutable item (text).") var salt: String = ""
    @Option(help: "Sequence number of a mutable item (default: one above what the DHT holds).") var seq: Int64?
    @Option(help: "Ed25519 seed of the item key, 64 hex digits (default: derived from this profile's identity).")
    var seed: String?

    func run() async throws {
        let v = BValue.bytes(Array(value.utf8)).encoded()
        try await dht.withNode(needsNetwork: true, logger: root.global.logger()) { node in
            guard v.count <= DHTItem.maxValue else { throw NodeError.invalidArgument("the value is over 1000 bytes bencoded") }
            var item = DHTItem(immutable: v)
            if mutable {
                let key = try itemKey(seed: seed, home: root.global.resolvedHome)
                let saltBytes = Array(salt.utf8)
                guard saltBytes.count <= DHTItem.maxSalt else { throw NodeError.invalidArgument("--salt is over 64 bytes") }
                var sequence = seq ?? 1
                if seq == nil {
                    let t = DHTItem.mutableTarget(publicKey: key.publicKey, salt: saltBytes)
                    if let (old, _) = try? await node.get(t, salt: saltBytes, publicKey: key.publicKey), let m = old.mutable {
                        sequence = m.sequence + 1
                    }
                }
                item = DHTItem.signed(value: v, key: key, salt: saltBytes, sequence: sequence)
            }
            let (stored, lookup) = try await node.put(item)
            if dht.json {
                try Output.json(
                    DHTOut(
                        target: "\(item.target)", key: item.mutable.map { Hex.encode($0.publicKey) }, seq: item.mutable?.sequence,
                        salt: item.mutable == nil ? nil : salt, stored: stored, queries: lookup.queries, ms: ms(lookup.elapsed)))
                return
            }
            print("target \(item.target)")
            if let m = item.mutable { print("key \(Hex.encode(m.publicKey))  seq \(m.sequence)  salt '\(salt)'") }
            print(
                "stored on \(stored) of \(lookup.closest.count) closest nodes (\(lookup.queries) queries, \(milliseconds(lookup.elapsed)))"
            )
        }
    }
}

/// The item key: from `--seed`, or BLAKE2b of the identity's signing secret, so a profile keeps
/// one stable diagnostic key that says nothing about its identity key.
func itemKey(seed: String?, home: String) throws -> SigningKey {
    if let seed {
        guard let b = Hex.decode(seed), b.count == 32 else { throw NodeError.invalidArgument("--seed wants 64 hex digits") }
        return try SigningKey(seed: b)
    }
    let node = try Node(home: home)
    return try SigningKey(
        seed: Sodium.blake2b(outputLength: 32, key: node.identity.signing.secretKeyBytes, Array("mule-dht-item-v1".utf8)))
}

struct DHTGet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Fetch an item: immutable by target, mutable by --key (and --salt).")
    @ParentCommand var root: Mule
    @OptionGroup var dht: DHTOptions
    @Argument(help: "Target of an immutable item (40 hex digits); omit with --key.") var target: String?
    @Option(help: "Public key of a mutable item (64 hex digits).") var key: String?
    @Option(help: "Salt of a mutable item (text).") var salt: String = ""

    func run() async throws {
        try await dht.withNode(needsNetwork: true, logger: root.global.logger()) { node in
            let item: DHTItem
            let lookup: DHTNode.LookupResult
            if let key {
                guard let k = Hex.decode(key), k.count == 32 else { throw NodeError.invalidArgument("--key wants 64 hex digits") }
                let s = Array(salt.utf8)
                (item, lookup) = try await node.get(DHTItem.mutableTarget(publicKey: k, salt: s), salt: s, publicKey: k)
            } else {
                guard let target, let t = NodeID(hex: target.lowercased()) else {
                    throw NodeError.invalidArgument("get wants a 40-hex-digit target or --key")
                }
                (item, lookup) = try await node.get(t)
            }
            let shown: String
            let text = (try? Bencode.decode(item.value))?.bytes.flatMap { String(validating: $0, as: UTF8.self) }
            if let text {
                shown = text
            } else {
                shown = "(bencoded) " + Hex.encode(item.value)
            }
            if dht.json {
                try Output.json(
                    DHTOut(
                        target: "\(item.target)", seq: item.mutable?.sequence, value: text,
                        valueHex: text == nil ? Hex.encode(item.value) : nil, hops: lookup.hops, queries: lookup.queries,
                        ms: ms(lookup.elapsed)))
                return
            }
            print(shown)
            if let m = item.mutable { print("seq \(m.sequence), signature valid") }
            print("found after \(lookup.queries) queries, \(lookup.hops) hops, \(milliseconds(lookup.elapsed))")
        }
    }
}

struct DHTLookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup", abstract: "Find the nodes closest to a target; print hops and time.")
    @ParentCommand var root: Mule
    @OptionGroup var dht: DHTOptions
    @Argument(help: "The target, 40 hex digits.") var target: String

    func run() async throws {
        try await dht.withNode(needsNetwork: true, logger: root.global.logger()) { node in
            guard let t = NodeID(hex: target.lowercased()) else { throw NodeError.invalidArgument("lookup wants 40 hex digits") }
            let r = await node.lookup(t, method: "find_node")
            guard r.answered > 0 else { throw DHTError.noNodes }
            if dht.json {
                let nodes = r.closest.map {
                    DHTOut.Node(
                        id: "\($0.node.id)", address: "\($0.node.address)",
                        distanceBits: 160 - t.commonPrefixLength(with: $0.node.id), hop: $0.depth + 1)
                }
                try Output.json(
                    DHTOut(nodes: nodes, hops: r.hops, queries: r.queries, answered: r.answered, ms: ms(r.elapsed)))
                return
            }
            for c in r.closest {
                print(
                    "\(c.node.id)  \(c.node.address)  distance-bits \(160 - t.commonPrefixLength(with: c.node.id))  hop \(c.depth + 1)"
                )
            }
            print(
                "\(r.closest.count) closest nodes, \(r.hops) hops, \(r.queries) queries, \(r.answered) answered, \(milliseconds(r.elapsed))"
            )
        }
    }
}
