import ArgumentParser
import Foundation
import Logging
import MuleCrypto
import MuleDHT
import MuleMesh
import MuleNode
import MuleWeb
import MuleWire

/// The options every command that runs a node shares (`run`, and `chat` when no node is running).
struct NodeOptions: ParsableArguments {
    @Option(help: "Where to listen for links, HOST:PORT (default 0.0.0.0:4747).") var listen: String?
    @Option(name: .customLong("peer"), help: "A node to link with, HOST:PORT (repeatable).") var peers: [String] = []
    @Flag(name: .customLong("no-mdns"), help: "Neither publish nor browse mDNS services.") var noMDNS = false
    @Option(
        name: .customLong("visible-as"),
        help: "Announce yourself under this name to nodes on the LAN (`mule nearby` shows you to them).")
    var visibleAs: String?
    @Option(name: .customLong("idle-timeout"), help: "Drop a link that stays silent this many seconds (default 30).")
    var idleTimeout: Int?
    @Option(help: "Join a DHT to meet contacts over the internet: 'mainline' is the public Mainline DHT.")
    var dht: String?
    @Option(name: .customLong("dht-bootstrap"), help: "Join a private DHT through this node, HOST:PORT (repeatable).")
    var dhtBootstrap: [String] = []
    @Option(name: .customLong("dht-listen"), help: "UDP address for the DHT, IPv4:PORT (default: any port).")
    var dhtListen: String?
    @Option(help: "The address contacts should dial, HOST:PORT (default: what DHT nodes see, with the listen port).")
    var announce: String?
    @Option(
        name: .customLong("relay-after"),
        help: "Hand an undelivered message to the relays after this many seconds (default 30; relays: 'mule relay add').")
    var relayAfter: Int?

    /// A value of the wrong form is a usage error (exit 2), found before anything runs.
    func validate() throws {
        do { _ = try configuration() } catch { throw ValidationError(error.description) }
    }

    func dhtConfiguration() throws(NodeError) -> DHTConfiguration? {
        var c: DHTConfiguration
        switch dht {
        case nil:
            guard !dhtBootstrap.isEmpty else { return nil }
            c = DHTConfiguration()
        case "mainline"?:
            c = DHTConfiguration.mainline
        case let other?:
            throw .invalidArgument("--dht knows only 'mainline' (use --dht-bootstrap for a private DHT), not '\(other)'")
        }
        for b in dhtBootstrap {
            guard PeerAddress(parsing: b) != nil else { throw .invalidArgument("--dht-bootstrap wants HOST:PORT, not '\(b)'") }
            c.bootstrap.append(b)
        }
        if let dhtListen {
            guard let a = DHTAddress(dhtListen) else {
                throw .invalidArgument("--dht-listen wants IPv4:PORT, not '\(dhtListen)'")
            }
            c.listen = a
        } else if dht == nil, dhtBootstrap.allSatisfy({ DHTAddress($0)?.isLoopback == true }) {
            c.listen = DHTAddress(ip: 0x7F00_0001, port: 0)
        }
        return c
    }

    func configuration() throws(NodeError) -> MeshConfiguration {
        var c = MeshConfiguration()
        if let listen {
            guard let a = PeerAddress(parsing: listen) else {
                throw .invalidArgument("--listen wants HOST:PORT, not '\(listen)'")
            }
            c.listen = a
        }
        for p in peers {
            guard let a = PeerAddress(parsing: p, defaultHost: "127.0.0.1"), a.port > 0 else {
                throw .invalidArgument("--peer wants HOST:PORT, not '\(p)'")
            }
            c.staticPeers.append(a)
        }
        c.mdns = !noMDNS
        if let t = idleTimeout {
            guard t >= 2 else { throw .invalidArgument("--idle-timeout wants at least 2 seconds") }
            c.idleTimeout = .seconds(t)
        }
        if let v = visibleAs { c.visibleAs = try Profile.validateName(v) }
        c.dht = try dhtConfiguration()
        if let relayAfter {
            guard relayAfter >= 0 else { throw .invalidArgument("--relay-after wants a number of seconds") }
            c.relayWindow = .seconds(relayAfter)
        }
        if let announce {
            guard let a = PeerAddress(parsing: announce), a.port > 0 else {
                throw .invalidArgument("--announce wants HOST:PORT, not '\(announce)'")
            }
            c.announce = a
        }
        return c
    }
}

/// Runs a node until SIGINT or SIGTERM and reports what it does on stderr.
struct RunningNode {
    let mesh: Mesh
    let lock: RunLock
    let printer: Task<Void, Never>
    let web: WebServer?

    static func start(
        home: String, options: NodeOptions, ui: UIOptions? = nil, logger: Logger, quiet: Bool
    ) async throws -> RunningNode {
        let profile = try Profile.open(home: home)
        guard let lock = RunLock(profile: profile) else {
            let pid = RunState.read(profile: profile).map { " (pid \($0.pid))" } ?? ""
            throw NodeError.invalidArgument("a node is already running on this profile\(pid)")
        }
        let configuration = try options.configuration()
        let webConfiguration = try ui?.configuration()
        let node = try Node(profile: profile, logger: logger)
        let mesh = Mesh(node: node, configuration: configuration, logger: logger)
        let events = mesh.subscribe()
        do { try await mesh.start() } catch {
            throw NodeError.invalidArgument("\(error)")
        }
        let printer = Task { await report(events, quiet: quiet) }
        var web: WebServer?
        if let webConfiguration {
            do {
                web = try await WebServer.start(
                    context: .inProcess(node: node), configuration: webConfiguration,
                    auth: try WebAuth(profile: profile), logger: logger)
            } catch let e as WebServer.StartError {
                await mesh.stop()
                throw NodeError.invalidArgument(e.description)
            }
            if let web {
                await mesh.addSocketCommand("ui-url") { web.loginURL() }
                UIOptions.announce(web)
            }
        }
        return RunningNode(mesh: mesh, lock: lock, printer: printer, web: web)
    }

    func stop() async {
        await web?.stop()
        await mesh.stop()
        await printer.value
    }

    /// One line per event; a bundle moving in parts shows a progress line, rewritten in place on a terminal.
    static func report(_ events: AsyncStream<NodeEvent>, quiet: Bool) async {
        let tty = isatty(2) != 0
        var lastShown: [String: Int64] = [:]
        var progressLine = false
        func line(_ s: String) {
            if progressLine { FileHandle.standardError.write(Data("\n".utf8)) }
            progressLine = false
            FileHandle.standardError.write(Data((s + "\n").utf8))
        }
        for await e in events {
            switch e {
            case .listening(let a): if !quiet { line("mule: listening on \(a)") }
            case .discoveryOff(let r): line("mule: mDNS discovery is off: \(r)")
            case .linkUp(let a, let d): if !quiet { line("mule: link up with \(a) (\(d.rawValue))") }
            case .linkDown(let a, let r): if !quiet { line("mule: link down with \(a): \(r)") }
            case .messageArrived, .messageQueued, .messageStatus, .contactRequest, .contactsChanged, .relaysChanged, .presence,
                .stored,
                .stickImported, .received:
                break
            case .deposited(let r, let n): if !quiet { line("mule: \(n) bundle(s) left with relay \(r)") }
            case .keysDropped(_, let n):
                line("mule: \(n) missing message(s) from a contact can no longer be opened (too many were skipped)")
            case .transfer(let a, let receiving, let bytes, let total):
                guard total >= 1 << 20 else { continue }
                let verb = receiving ? "receiving from" : "sending to"
                let text = "mule: \(verb) \(a): \(ByteCount.format(bytes)) of \(ByteCount.format(total))"
                if tty {
                    FileHandle.standardError.write(Data(("\r\u{1B}[2K" + text).utf8))
                    progressLine = bytes < total
                    if bytes >= total { FileHandle.standardError.write(Data("\n".utf8)) }
                } else {
                    // Not a terminal: a line per tenth.
                    let key = a + (receiving ? "<" : ">")
                    let tenth = bytes * 10 / max(total, 1)
                    if lastShown[key] != tenth {
                        lastShown[key] = tenth
                        line(text)
                    }
                }
            }
        }
    }
}

/// Waits for SIGINT or SIGTERM.
enum Signals {
    static func wait() async {
        let (stream, continuation) = AsyncStream.makeStream(of: Int32.self)
        let queue = DispatchQueue(label: "mule.signals")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            s.setEventHandler { continuation.yield(sig) }
            s.resume()
            sources.append(s)
        }
        for await _ in stream { break }
        for s in sources { s.cancel() }
    }
}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the node: link with nodes on the LAN and static peers, and sync until stopped.",
        discussion: "Stops cleanly on SIGINT (Ctrl-C) or SIGTERM. Other mule commands keep working meanwhile.")
    @ParentCommand var root: Mule
    @OptionGroup var options: NodeOptions
    @OptionGroup var ui: UIOptions

    func run() async throws {
        do {
            let node = try await RunningNode.start(
                home: root.global.resolvedHome, options: options, ui: ui.ui ? ui : nil,
                logger: root.global.logger(level: .notice), quiet: false)
            await Signals.wait()
            await node.stop()
            FileHandle.standardError.write(Data("mule: stopped\n".utf8))
        } catch let e as NodeError {
            Output.error(e.description)
            throw ExitCode(1)
        }
    }
}

/// The running node's published state, or a one-line explanation and exit status 1.
func runState(_ global: GlobalOptions) throws -> RunState? {
    let profile = try Profile.open(home: global.resolvedHome)
    guard RunLock.isHeld(profile: profile), let s = RunState.read(profile: profile) else { return nil }
    return s
}

struct Peers: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the running node's links and the nodes it saw recently.")
    @ParentCommand var root: Mule
    @Flag var json = false

    struct Out: Encodable {
        var running: Bool
        var listen: String?
        var mdns: String?
        var links: [RunState.Link]
        var recent: [RunState.Seen]
    }

    func run() throws {
        try guarded {
            let s = try runState(root.global)
            if json {
                try Output.json(
                    Out(
                        running: s != nil, listen: s?.listen, mdns: s?.mdns.description, links: s?.links ?? [],
                        recent: s?.recent ?? []))
                return
            }
            guard let s else {
                print("No node is running on this profile. Start one with 'mule run'.")
                return
            }
            print("Node on \(s.listen), pid \(s.pid), mDNS \(s.mdns)")
            if s.links.isEmpty { print("No links.") } else { print("Links:") }
            for l in s.links {
                var text = "  \(l.address)  \(l.direction.rawValue)  since \(Output.date(l.since))"
                text += "  sent \(l.bundlesSent) (\(ByteCount.format(l.bytesSent)))"
                text += "  received \(l.bundlesReceived) (\(ByteCount.format(l.bytesReceived)))"
                if let r = l.receiving { text += "  receiving \(ByteCount.format(r.bytes)) of \(ByteCount.format(r.total))" }
                if let v = l.visibleAs { text += "  [\(v)]" }
                print(text)
            }
            let linked = Set(s.links.map(\.address))
            let others = s.recent.filter { !linked.contains($0.address) }
            if !others.isEmpty { print("Seen recently:") }
            for r in others { print("  \(r.address)  \(r.via.rawValue)  \(Output.date(r.lastSeen))") }
        }
    }
}

struct Nearby: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "People on the LAN who chose to be visible (mule run --visible-as NAME).")
    @ParentCommand var root: Mule
    @Flag var json = false

    func run() throws {
        try guarded {
            let list = try runState(root.global)?.nearby ?? []
            if json {
                try Output.json(list)
                return
            }
            if list.isEmpty { print("Nobody visible nearby (a node must be running: 'mule run').") }
            for n in list { print("\(n.name)  \(n.address)\n    \(n.fingerprint)") }
        }
    }
}

struct AddNearby: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-nearby", abstract: "Add someone from 'mule nearby' after comparing the fingerprint with them.")
    @ParentCommand var contacts: Contacts
    @Argument(help: "Their name as 'mule nearby' shows it.") var who: String
    @Option(help: "Your name for this contact (default: the name they announce).") var name: String?
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        try guarded {
            let global = contacts.root.global
            let matches = (try runState(global)?.nearby ?? []).filter { $0.name == who }
            guard let n = matches.first else { throw NodeError.invalidArgument("nobody called '\(who)' is visible nearby") }
            guard matches.count == 1 else {
                throw NodeError.invalidArgument("several people nearby are called '\(who)'; add one by invite instead")
            }
            let node = try global.openNode()
            guard let sk = Hex.decode(n.signingKey), let ak = Hex.decode(n.agreementKey) else {
                throw NodeError.invalidArgument("node.json holds a malformed key for '\(who)'")
            }
            var c = try node.addContact(PublicIdentity(name: n.name, signingKey: sk, agreementKey: ak), name: name)
            // Their hello's prekey: the first message is sealed to it (envelope version 2).
            if let p = n.prekey.flatMap(Hex.decode).flatMap({ try? SignedPrekey.decode($0) }) {
                try node.setContactPrekey(c.record.id, p)
                c.record.prekey = p.encode()
            }
            if json { try Output.json(ContactInfo(c, among: try node.contacts())); return }
            print("Added \(c.name) [\(c.id)]")
            Contacts.printCompare(c)
        }
    }
}
