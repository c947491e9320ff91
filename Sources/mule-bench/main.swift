import CBaseline
import Foundation
import Logging
import MuleCrypto
import MuleDHT
import MuleMesh
import MuleNode
import MuleRelay
import MuleStore
import MuleSync
import MuleWire

/// Prints Mule's figures next to plain C loops over the same library calls.
/// Run with `swift run -c release mule-bench`.

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
}

func row(_ label: String, _ value: String, _ note: String = "") {
    print(
        label.padding(toLength: 44, withPad: " ", startingAt: 0) + value.padding(toLength: 18, withPad: " ", startingAt: 0) + note
    )
}

func rate(_ n: Int, _ s: Double) -> String { String(format: "%.0f /s", Double(n) / s) }

let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mule-bench-\(getpid())").path
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }

print("mule-bench (release build expected; machine noise applies — compare ratios, not absolutes)\n")

// 1. Seal + sign and open + verify of 1 KiB messages.
let alice = Identity.generate(name: "Alice"), bob = Identity.generate(name: "Bob")
let text = String(repeating: "m", count: 1024)
let tag = [UInt8](repeating: 1, count: 16)
let creation = MuleBundle.coarseCreationTime(unixMs: 1_790_000_000_000)
let n = 4000
var sealed: [Sealer.Sealed] = []
sealed.reserveCapacity(n)
let tSeal = try seconds {
    for _ in 0..<n {
        sealed.append(
            try Sealer.seal(
                .text(text), from: alice, toAgreementKey: bob.agreement.publicKey, tag: tag, creationTime: creation,
                lifetime: 86_400_000, sentAt: 1))
    }
}
let contentLen = MessageContent(
    senderSigningKey: alice.signing.publicKey, senderAgreementKey: alice.agreement.publicKey, senderName: "Alice",
    ackSecret: [UInt8](repeating: 0, count: 32), sentAt: 1, body: .text(text)
).encode().count
guard case .message(let env0) = sealed[0].bundle.envelope else { fatalError() }
let padded = env0.ciphertext.count - 16
let cSeal = mule_baseline_seal(Int32(n), contentLen, padded)
row("seal+sign 1 KiB (Swift)", rate(n, tSeal), String(format: "C loop %@ → %.0f%% of C", rate(n, cSeal), 100 * cSeal / tSeal))
var opened = 0
let tOpen = try seconds {
    for s in sealed {
        guard case .message(let env) = s.bundle.envelope else { continue }
        _ = try Sealer.open(s.bundle, env, as: bob)
        opened += 1
    }
}
let cOpen = mule_baseline_open(Int32(n), contentLen, padded)
row(
    "open+verify 1 KiB (Swift)", rate(opened, tOpen),
    String(format: "C loop %@ → %.0f%% of C", rate(n, cOpen), 100 * cOpen / tOpen))

// 1b. Envelope v2 (PROTOCOL §13.8): the same message through a ratchet session, and what the key
// state costs to store per contact.
var aliceSession = try RatchetSession.initiate(
    identity: alice.agreement, theirIdentity: bob.agreement.publicKey, theirPrekey: nil)
var sealedV2: [Sealer.Sealed] = []
sealedV2.reserveCapacity(n)
let tSealV2 = try seconds {
    for _ in 0..<n {
        sealedV2.append(
            try SealerV2.seal(
                .text(text), from: alice, toAgreementKey: bob.agreement.publicKey, session: &aliceSession, tag: tag,
                creationTime: creation, lifetime: 86_400_000, sentAt: 1))
    }
}
guard case .message(let envV2) = sealedV2[0].bundle.envelope else { fatalError() }
let cSealV2 = mule_baseline_seal_v2(Int32(n), contentLen, envV2.ciphertext.count - 16)
row(
    "seal v2 1 KiB (Swift)", rate(n, tSealV2),
    String(format: "C loop %@ → %.0f%% of C", rate(n, cSealV2), 100 * cSealV2 / tSealV2))
let ratchetLimits = RatchetSession.Limits(skippedLifetimeMs: 86_400_000)
var bobSession: RatchetSession?
var openedV2 = 0
let tOpenV2 = try seconds {
    for s in sealedV2 {
        guard case .message(let env) = s.bundle.envelope else { continue }
        let outer = try SealerV2.openOuter(s.bundle, env, as: bob)
        if bobSession == nil, let start = outer.header.start {
            bobSession = try RatchetSession.respond(
                identity: bob.agreement, prekey: nil, theirIdentity: outer.senderAgreementKey, start: start)
        }
        _ = try SealerV2.openInner(outer, dropHash: env.dropHash, as: bob, session: &bobSession!, now: 0, limits: ratchetLimits)
        openedV2 += 1
    }
}
let cOpenV2 = mule_baseline_open_v2(Int32(n), contentLen, envV2.ciphertext.count - 16)
row(
    "open v2 1 KiB (Swift)", rate(openedV2, tOpenV2),
    String(format: "C loop %@ → %.0f%% of C", rate(n, cOpenV2), 100 * cOpenV2 / tOpenV2))
do {
    // A session after an exchange, then with 100 messages missing (their keys kept).
    var a = aliceSession
    var b = bobSession!
    let (h, c) = try b.seal([1], ad: [])
    _ = try a.open(header: h, ciphertext: c, ad: [], now: 0, limits: ratchetLimits)
    let settled = a.encode().count
    var last: (header: [UInt8], ciphertext: [UInt8]) = ([], [])
    for _ in 0...100 { last = try b.seal([1], ad: []) }
    _ = try a.open(header: last.header, ciphertext: last.ciphertext, ad: [], now: 0, limits: ratchetLimits)
    var ring = PrekeyRing()
    for week in 0..<9 { ring.rotate(now: UInt64(week) * 7 * 86_400_000, signer: alice.signing) }
    row(
        "v2 key state per contact", "\(settled) B",
        "with 100 messages missing \(a.encode().count) B; the prekey ring (per identity, \(ring.count) keys) \(ring.encode().count) B"
    )
}

// 2. Export and import of 10 000 bundles (a carrier's view: stored, not decrypted).
func node(_ name: String) throws -> Node {
    try Node(profile: try Profile.create(home: scratch + "/" + name, name: name))
}
let a = try node("alice"), b = try node("bob"), c = try node("carol")
try a.addContact(invite: b.invite)
let count = 10_000
let tSend = try seconds { for i in 0..<count { try a.send(to: "Bob", .text("message number \(i)")) } }
row("send (seal + store) 10 000 messages", rate(count, tSend))
var exported = ExportReport()
let tExport = try seconds { exported = try a.export(to: scratch + "/x.mule") }
row("export 10 000 bundles", rate(exported.bundles, tExport), ByteCount.format(exported.bytes))
var imported = ImportReport()
let tImport = try seconds { imported = try c.importFiles([scratch + "/x.mule"]) }
let bundleSize = Int(exported.bytes) / max(exported.bundles, 1)
let cInsert = mule_baseline_sqlite_insert(scratch + "/baseline.sqlite", Int32(count), bundleSize)
row(
    "import 10 000 bundles (carried)", rate(imported.carried, tImport),
    String(format: "C insert loop %@ → %.0f%% of C", rate(count, cInsert), 100 * cInsert / tImport))
let tDeliver = try seconds { imported = try b.importFiles([scratch + "/x.mule"]) }
row("import 10 000 bundles (delivered, decrypted)", rate(imported.delivered, tDeliver))

// 2b. A person's history: 100 000 stored messages with 20 contacts (issue 12: listing the last
// 50 of a conversation and listing conversations each within 30 ms).
do {
    let h = try node("history")
    var people: [Contact] = []
    for i in 0..<20 {
        let other = try Profile.create(home: scratch + "/hist-\(i)", name: "Friend\(i)")
        people.append(try h.addContact(other.identity.publicIdentity))
    }
    let store = try Store(path: h.profile.storePath)
    let words = ["meet", "tomorrow", "café", "train", "late", "photo", "dinner", "weather", "ok", "thanks"]
    let base = Int64(Date().timeIntervalSince1970 * 1000) - 100_000 * 60_000
    let tFill = try seconds {
        for chunk in stride(from: 0, to: 100_000, by: 10_000) {
            try store.write { tx in
                for i in chunk..<chunk + 10_000 {
                    let hash = Sodium.blake2b(outputLength: 32, Array("hist-\(i)".utf8))
                    let text = (0..<8).map { words[($0 * 7 + i) % words.count] }.joined(separator: " ") + " \(i)"
                    try tx.insert(
                        MessageRecord(
                            id: Hex.encode(hash.prefix(16)), contactId: people[i % 20].record.id,
                            direction: i % 2 == 0 ? .incoming : .outgoing, body: text, fileName: nil, filePath: nil,
                            fileSize: nil, status: i % 2 == 0 ? .received : .delivered, sentAt: base + Int64(i) * 60_000,
                            receivedAt: nil, deliveredAt: nil, dropHash: hash))
                }
            }
        }
    }
    func median(_ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
        var times: [Double] = []
        for _ in 0..<21 { times.append(try seconds(body)) }
        times.sort()
        return (times[10], times[0])
    }
    let last50 = try median { _ = try h.messages(with: people[7], matching: MessageQuery(limit: 50)) }
    let convs = try median { _ = try h.conversations() }
    let search = try median { _ = try h.messages(with: nil, matching: MessageQuery(limit: 50, search: "café dinner")) }
    row(
        "100 000 messages: last 50 of a conversation", String(format: "%.2f ms", last50.median * 1000),
        String(format: "median of 21 (min %.2f ms); filled in %.1f s", last50.min * 1000, tFill))
    row("100 000 messages: list 20 conversations", String(format: "%.2f ms", convs.median * 1000), "unread counts included")
    row("100 000 messages: full-text search, 50 hits", String(format: "%.2f ms", search.median * 1000), "two words, FTS5")
}

// 3. A 10 MiB attachment.
let big = Sodium.randomBytes(10 << 20)
try Data(big).write(to: URL(fileURLWithPath: scratch + "/big.bin"))
let tBig = try seconds {
    let d = try node("dora"), e = try node("eve")
    try d.addContact(invite: e.invite)
    _ = try d.sendFile(to: "Eve", path: scratch + "/big.bin")
    _ = try d.export(to: scratch + "/big.mule")
    _ = try e.importFiles([scratch + "/big.mule"])
}
row("10 MiB attachment send→export→import", String(format: "%.1f MB/s", 10.485_76 / tBig))
let tSealBig = try seconds {
    let s = try Sealer.seal(
        .file(name: "big.bin", data: big), from: alice, toAgreementKey: bob.agreement.publicKey, tag: tag,
        creationTime: creation, lifetime: 86_400_000, sentAt: 1)
    guard case .message(let env) = s.bundle.envelope else { return }
    _ = try Sealer.open(s.bundle, env, as: bob)
}
row("10 MiB attachment seal+open", String(format: "%.1f MB/s", 10.485_76 / tSealBig))

// 4. CLI latency: the release `mule` next to this binary answering `status`.
let exe = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mule").path
/// Starts the `mule` executable with `args`, one file descriptor sent to /dev/null. posix_spawn +
/// waitpid, because Foundation's Process.waitUntilExit polls every 50 ms.
func spawnMule(_ args: [String], silencing fd: Int32) -> pid_t? {
    var argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
    var pid: pid_t = 0
    return posix_spawn(&pid, exe, &actions, nil, &argv, environ) == 0 ? pid : nil
}
if FileManager.default.isExecutableFile(atPath: exe) {
    var times: [Double] = []
    for _ in 0..<15 {
        times.append(
            seconds {
                guard let pid = spawnMule(["--home", scratch + "/alice", "status"], silencing: 1) else { return }
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            })
    }
    times.sort()
    row(
        "CLI 'mule status' wall time (median of 15)", String(format: "%.1f ms", times[7] * 1000),
        String(format: "min %.1f ms", times[0] * 1000))
}

// 5. Reconciliation of 100 000 bundle ids with d differences, next to sending every id.
func syncItems(_ n: Int, seed: UInt8) -> [SyncItem] {
    (0..<n).map { i in
        let id = Sodium.blake2b(
            outputLength: 32,
            [seed, UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8), UInt8(truncatingIfNeeded: i >> 16)])
        return SyncItem(timestamp: 1_790_000_000_000 + UInt64(i % 336) * 3_600_000, id: id)
    }
}
let common = syncItems(100_000, seed: 1)
let setA = SyncItemSet(common)
print("")
/// Runs a reconciliation to its end: (bytes both ways, round trips, largest message, seconds, found).
func reconcileRun(_ a: SyncItemSet, _ b: SyncItemSet) throws -> (Int, Int, Int, Double, Int) {
    var initiator = Reconciler(set: a, initiator: true)
    var responder = Reconciler(set: b, initiator: false)
    var bytes = 0, trips = 0, largest = 0
    let t = try seconds {
        var msg = initiator.initiate()
        bytes += msg.count
        largest = msg.count
        while true {
            guard let reply = try responder.reconcile(msg) else { break }
            bytes += reply.count
            largest = max(largest, reply.count)
            trips += 1
            guard let next = try initiator.reconcile(reply) else { break }
            bytes += next.count
            largest = max(largest, next.count)
            msg = next
        }
    }
    return (bytes, trips, largest, t, initiator.needs.count + initiator.haves.count)
}
for d in [0, 1, 10, 1000, 30_000] {
    let (bytes, trips, largest, t, found) = try reconcileRun(setA, SyncItemSet(common + syncItems(d, seed: 2)))
    row(
        "reconcile n=100 000, d=\(d)", String(format: "%.1f KiB", Double(bytes) / 1024),
        String(
            format: "%d round trips, %.0f ms, found %d, largest message %d B; naive id exchange %.0f KiB", trips,
            t * 1000, found, largest, Double(32 * (200_000 + d)) / 1024))
}
// One side empty: a carrier meets a new node.
for (label, a, b) in [
    ("reconcile empty ← 30 000", SyncItemSet([]), SyncItemSet(syncItems(30_000, seed: 3))),
    ("reconcile 30 000 → empty", SyncItemSet(syncItems(30_000, seed: 3)), SyncItemSet([])),
] {
    let (bytes, trips, largest, t, found) = try reconcileRun(a, b)
    row(
        label, String(format: "%.1f KiB", Double(bytes) / 1024),
        String(format: "%d round trips, %.0f ms, found %d, largest message %d B", trips, t * 1000, found, largest))
}

// 6. Two nodes linked on loopback: messages/s end to end (sealed, sent, stored, opened, receipt
// back), one-way latency at a steady rate, and bulk transfer.
func meshConfig(peers: [Int]) -> MeshConfiguration {
    var c = MeshConfiguration()
    c.listen = PeerAddress(host: "127.0.0.1", port: 0)
    c.mdns = false
    c.publishState = false
    c.staticPeers = peers.map { PeerAddress(host: "127.0.0.1", port: $0) }
    return c
}
let quiet: Logger = {
    var l = Logger(label: "mule-bench")
    l.logLevel = .warning
    return l
}()
/// Two new profiles that know each other, each with a node on loopback, linked.
func linkedPair(_ a: String, _ b: String) async throws -> (Mesh, Mesh) {
    let pa = try Profile.create(home: scratch + "/" + a, name: "Ann")
    let pb = try Profile.create(home: scratch + "/" + b, name: "Ben")
    _ = try Node(profile: pa).addContact(invite: Node(profile: pb).invite)
    _ = try Node(profile: pb).addContact(invite: Node(profile: pa).invite)
    let first = try Mesh(home: pa.home, configuration: meshConfig(peers: []), logger: quiet)
    try await first.start()
    let second = try Mesh(home: pb.home, configuration: meshConfig(peers: [await first.boundPort ?? 0]), logger: quiet)
    try await second.start()
    while await first.linkCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
    return (first, second)
}
let (meshA, meshB) = try await linkedPair("e2e-a", "e2e-b")
print("")

func deliveredCount(_ m: Mesh) async throws -> Int {
    try await m.status().delivered
}
let e2eCount = 5000
let e2eStart = DispatchTime.now().uptimeNanoseconds
// Sent as a client would under load: batches of 100 as they come, so sealing here overlaps opening there.
for chunk in stride(from: 0, to: e2eCount, by: 100) {
    try await meshA.send(texts: (chunk..<chunk + 100).map { "end to end \($0)" }, to: "Ben")
}
while try await deliveredCount(meshA) < e2eCount { try await Task.sleep(for: .milliseconds(5)) }
let e2eSeconds = Double(DispatchTime.now().uptimeNanoseconds - e2eStart) / 1e9
row(
    "e2e loopback, 5000 msgs + receipts", rate(e2eCount, e2eSeconds),
    "batches of 100, until every one is 'delivered' at the sender")

let e2eSingle = 1000
let singleStart = DispatchTime.now().uptimeNanoseconds
for i in 0..<e2eSingle { try await meshA.send(text: "one by one \(i)", to: "Ben") }
while try await deliveredCount(meshA) < e2eCount + e2eSingle { try await Task.sleep(for: .milliseconds(5)) }
let singleSeconds = Double(DispatchTime.now().uptimeNanoseconds - singleStart) / 1e9
row("e2e loopback, 1000 msgs one by one", rate(e2eSingle, singleSeconds), "receipts included")

// Latency at a steady 100 messages/s on a fresh pair: send time inside the text, arrival seen
// through B's events.
await meshA.stop()
await meshB.stop()
let (meshC, meshD) = try await linkedPair("e2e-c", "e2e-d")
var latencies: [Double] = []
let arrivals = meshD.subscribe()
let latencyTask = Task {
    var out: [Double] = []
    for await e in arrivals {
        guard case .messageArrived(let m) = e else { continue }
        let now = DispatchTime.now().uptimeNanoseconds
        guard let body = m.record.body, body.hasPrefix("t="), let sent = UInt64(body.dropFirst(2)) else { continue }
        out.append(Double(now - sent) / 1e6)
        if out.count >= 300 { break }
    }
    return out
}
for _ in 0..<300 {
    try await meshC.send(text: "t=\(DispatchTime.now().uptimeNanoseconds)", to: "Ben")
    try await Task.sleep(for: .milliseconds(10))
}
latencies = await latencyTask.value
latencies.sort()
if latencies.count >= 100 {
    row(
        "e2e latency at 100 msg/s",
        String(format: "p50 %.1f ms", latencies[latencies.count / 2]),
        String(
            format: "p99 %.1f ms, %d samples (send → stored and decrypted)", latencies[latencies.count * 99 / 100],
            latencies.count))
}

// Bulk: one 32 MiB attachment.
let bulk = scratch + "/bulk.bin"
_ = FileManager.default.createFile(atPath: bulk, contents: Data(Sodium.randomBytes(32 << 20)))
let bulkStart = DispatchTime.now().uptimeNanoseconds
_ = try await meshC.sendFile(path: bulk, to: "Ben")
while try await !meshD.messages(with: "Ann").contains(where: { $0.record.fileName == "bulk.bin" }) {
    try await Task.sleep(for: .milliseconds(5))
}
let bulkSeconds = Double(DispatchTime.now().uptimeNanoseconds - bulkStart) / 1e9
row("bulk: 32 MiB attachment over a link", String(format: "%.1f MB/s", 33.554_432 / bulkSeconds), "seal, send, open, store")
await meshC.stop()
await meshD.stop()

// 7. An idle node's memory: `mule run` on loopback, resident set after 3 s.
if FileManager.default.isExecutableFile(atPath: exe) {
    if let pid = spawnMule(["--home", scratch + "/e2e-c", "run", "--no-mdns", "--listen", "127.0.0.1:0"], silencing: 2) {
        try await Task.sleep(for: .seconds(3))
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> String {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return line.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) } ?? "?"
        }
        kill(pid, SIGTERM)
        var st: Int32 = 0
        waitpid(pid, &st, 0)
        // Most of the resident set is code mapped from files (shared with every other process using
        // them); the anonymous part is what this node allocated.
        row(
            "idle 'mule run' resident memory", field("VmRSS"),
            "after 3 s, one profile, no links; anonymous \(field("RssAnon")), file-backed \(field("RssFile"))")
    }
}

// 7b. The web app: a conversation page with 10 000 messages, and what `--ui` adds to an idle node.
/// GET `path` from 127.0.0.1:`port` over a plain socket; returns the status line's code, the
/// whole response, and the seconds it took.
func httpGet(port: Int, path: String, cookie: String? = nil) -> (status: Int, response: String, seconds: Double) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    let start = DispatchTime.now().uptimeNanoseconds
    let ok = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { return (0, "", 0) }
    let request =
        "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        + (cookie.map { "Cookie: \($0)\r\n" } ?? "") + "\r\n"
    _ = request.withCString { write(fd, $0, strlen($0)) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buffer[..<n]
    }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    let text = String(decoding: out, as: UTF8.self)
    let code = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (code, text, seconds)
}

func residentKB(_ pid: pid_t) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

if FileManager.default.isExecutableFile(atPath: exe) {
    let web = try node("web-a")
    let peer = try node("web-b")
    try web.addContact(invite: peer.invite)
    for start in stride(from: 0, to: 10_000, by: 1000) {
        try web.send(to: "web-b", texts: (start..<start + 1000).map { "message \($0) of a long conversation" })
    }
    let home = scratch + "/web-a"
    func idle(ui: Bool) async throws -> (rss: Int, pid: pid_t, port: Int?) {
        let log = scratch + "/web-run.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let fd = open(log, O_WRONLY)
        defer { close(fd) }
        var args = ["--home", home, "run", "--no-mdns", "--listen", "127.0.0.1:0"]
        if ui { args += ["--ui", "--ui-listen", "127.0.0.1:0"] }
        var argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        var pid: pid_t = 0
        guard posix_spawn(&pid, exe, &actions, nil, &argv, environ) == 0 else { return (0, 0, nil) }
        try await Task.sleep(for: .seconds(2))
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let port = text.firstRange(of: "http://127.0.0.1:").map { r in
            Int(text[r.upperBound...].prefix { $0.isNumber }) ?? 0
        }
        var login: String?
        if let r = text.firstRange(of: "/login?token=") {
            login = "/login?token=" + text[r.upperBound...].prefix { $0.isHexDigit }
        }
        if let port, let login {
            let signed = httpGet(port: port, path: login)
            let cookie = signed.response.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") }
                .map { String($0.dropFirst("set-cookie:".count).split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) }
            var times: [Double] = []
            var size = 0
            for _ in 0..<20 {
                let r = httpGet(port: port, path: "/c/web-b", cookie: cookie)
                if r.status == 200 { times.append(r.seconds) }
                size = r.response.utf8.count
            }
            times.sort()
            if times.count == 20 {
                row(
                    "web: conversation page, 10 000 stored", String(format: "%.1f ms", times[10] * 1000),
                    String(
                        format: "median of 20 (min %.1f ms), %@ page of the last 200", times[0] * 1000,
                        ByteCount.format(Int64(size))))
            }
            _ = httpGet(port: port, path: "/api/v1/conversations", cookie: cookie)
        }
        try await Task.sleep(for: .seconds(1))
        let rss = residentKB(pid)
        kill(pid, SIGTERM)
        var st: Int32 = 0
        waitpid(pid, &st, 0)
        return (rss, pid, port)
    }
    let plain = try await idle(ui: false)
    let withUI = try await idle(ui: true)
    row(
        "web: what --ui adds to an idle node", String(format: "%+.1f MB", Double(withUI.rss - plain.rss) / 1024),
        String(
            format: "resident %.1f MB without, %.1f MB with (after serving 20 pages)", Double(plain.rss) / 1024,
            Double(withUI.rss) / 1024))
}

// 8. DHT lookups on loopback: 70 Mule nodes, and 35 libtorrent nodes when the test venv has them.
do {
    var quiet = Logger(label: "bench.dht")
    quiet.logLevel = .critical
    func dhtConfig(_ boot: [String]) -> DHTConfiguration {
        var c = DHTConfiguration()
        c.listen = DHTAddress(ip: 0x7F00_0001, port: 0)
        c.bootstrap = boot
        c.queryTimeout = .milliseconds(800)
        return c
    }
    var nodes: [DHTNode] = [DHTNode(configuration: dhtConfig([]), logger: quiet)]
    let first = try await nodes[0].start()
    let seedAddress = "127.0.0.1:\(first.port)"
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let python = ProcessInfo.processInfo.environment["MULE_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
    var swarm: Process?
    var swarmInput: Pipe?
    var ltPorts: [String] = []
    if FileManager.default.isExecutableFile(atPath: python) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [root.appendingPathComponent("Tests/Interop/lt_swarm.py").path, "35", seedAddress]
        let i = Pipe(), o = Pipe()
        p.standardInput = i
        p.standardOutput = o
        p.standardError = FileHandle.nullDevice
        if (try? p.run()) != nil {
            var d = Data()
            while !d.contains(0x0A) {
                let c = o.fileHandleForReading.availableData
                if c.isEmpty { break }
                d.append(c)
            }
            let l = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if l.hasPrefix("ready ") {
                ltPorts = l.dropFirst(6).split(separator: ",").map { "127.0.0.1:\($0)" }
                swarm = p
                swarmInput = i
                try await Task.sleep(for: .seconds(2))
            }
        }
    }
    for _ in 1..<70 {
        let n = DHTNode(configuration: dhtConfig([seedAddress] + ltPorts.prefix(3)), logger: quiet)
        _ = try await n.start()
        nodes.append(n)
    }
    for n in nodes.dropFirst() { try? await n.join() }
    for n in nodes { _ = await n.lookup(NodeID(Sodium.randomBytes(20))!, method: "find_node") }
    var times: [Double] = []
    var hops: [Int] = []
    var queries: [Int] = []
    var found = 0
    for i in 0..<50 {
        let v = BValue.string("bench item \(i)").encoded()
        try await nodes[(i * 7) % 70].put(DHTItem(immutable: v))
        let t0 = DispatchTime.now().uptimeNanoseconds
        if let (_, r) = try? await nodes[(i * 13 + 5) % 70].get(DHTItem(immutable: v).target) {
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            hops.append(r.hops)
            queries.append(r.queries)
            found += 1
        }
    }
    times.sort()
    let network = "\(nodes.count) Mule + \(ltPorts.count) libtorrent nodes"
    if !times.isEmpty {
        row(
            "DHT get (lookup + item), loopback", String(format: "p50 %.1f ms", times[times.count / 2]),
            String(
                format: "p90 %.1f ms, %.1f hops, %.1f queries avg, %d/50 found; %@", times[times.count * 9 / 10],
                Double(hops.reduce(0, +)) / Double(hops.count), Double(queries.reduce(0, +)) / Double(queries.count), found,
                network))
    }
    for n in nodes { await n.stop() }
    if let swarm {
        swarmInput?.fileHandleForWriting.write(Data("end\n".utf8))
        swarm.waitUntilExit()
    }
}

// 9. Relays: the cost of a stamp, and messages through a relay on loopback when the two nodes
// have no link (deposit with stamp, fetch, open, release, ack back to the sender).
do {
    let challenge = Sodium.randomBytes(16)
    var solveTimes: [Double] = []
    for i in 0..<20 {
        let id = Sodium.blake2b(outputLength: 32, [UInt8(i)])
        solveTimes.append(seconds { _ = RelayStamp.solve(challenge: challenge, id: id, total: 1000, bits: 16) } * 1000)
    }
    solveTimes.sort()
    row(
        "relay stamp, 16 bits (a message)", String(format: "%.1f ms mean", solveTimes.reduce(0, +) / 20),
        String(format: "p50 %.1f ms, p90 %.1f ms over 20", solveTimes[10], solveTimes[18]))

    var rc = RelayConfiguration(dataDirectory: scratch + "/relay")
    rc.host = "127.0.0.1"
    rc.port = 0
    let relay = try RelayServer(configuration: rc, logger: quiet)
    let relayPort = try await relay.start()
    let pa = try Profile.create(home: scratch + "/relay-a", name: "Ann")
    let pb = try Profile.create(home: scratch + "/relay-b", name: "Ben")
    for p in [pa, pb] { try Node(profile: p).addRelay("127.0.0.1:\(relayPort)") }
    _ = try Node(profile: pa).addContact(invite: Node(profile: pb).invite)
    _ = try Node(profile: pb).addContact(invite: Node(profile: pa).invite)
    var mc = meshConfig(peers: [])
    mc.relayWindow = .zero
    let ra = try Mesh(home: pa.home, configuration: mc, logger: quiet)
    let rb = try Mesh(home: pb.home, configuration: mc, logger: quiet)
    try await ra.start()
    try await rb.start()
    let count = 200
    let t0 = DispatchTime.now().uptimeNanoseconds
    try await ra.send(texts: (0..<count).map { "via the relay \($0)" }, to: "Ben")
    while try await deliveredCount(ra) < count { try await Task.sleep(for: .milliseconds(5)) }
    let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    row("relay path, 200 msgs, 16-bit stamps", rate(count, s), "no link between the nodes; delivered at the sender")
    await ra.stop()
    await rb.stop()
    await relay.stop()
}
