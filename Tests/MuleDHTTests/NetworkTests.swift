import Foundation
import MuleCrypto
import Testing

@testable import MuleDHT

@Suite(.serialized) struct NetworkTests {
    @Test func lookupsFindExactNodesAndItemsTravel() async throws {
        let net = try await LocalNetwork.make(count: 40)
        defer { Task { await net.stop() } }
        // Looking up a node's own id finds that node first.
        for i in stride(from: 1, to: 40, by: 5) {
            let target = net.nodes[(i * 7) % 40].ownID
            let r = await net.nodes[i].lookup(target, method: "find_node")
            #expect(r.closest.first?.node.id == target || net.nodes[i].ownID == target)
            #expect(r.hops >= 1)
        }
        // Immutable.
        let value = BValue.string("hello from mule").encoded()
        let (stored, _) = try await net.nodes[3].put(DHTItem(immutable: value))
        #expect(stored >= 4)
        let (got, _) = try await net.nodes[30].get(DHTItem(immutable: value).target)
        #expect(got.value == value)
        // Mutable: sequence numbers move forward only.
        let key = try SigningKey(seed: Sodium.randomBytes(32))
        let salt = Array("s".utf8)
        let target = DHTItem.mutableTarget(publicKey: key.publicKey, salt: salt)
        try await net.nodes[5].put(DHTItem.signed(value: BValue.string("v1").encoded(), key: key, salt: salt, sequence: 1))
        try await net.nodes[6].put(DHTItem.signed(value: BValue.string("v2").encoded(), key: key, salt: salt, sequence: 2))
        await #expect(throws: DHTError.self) {
            try await net.nodes[7].put(DHTItem.signed(value: BValue.string("v0").encoded(), key: key, salt: salt, sequence: 1))
        }
        let (m, _) = try await net.nodes[25].get(target, salt: salt, publicKey: key.publicKey)
        #expect(m.mutable?.sequence == 2)
        #expect(m.value == BValue.string("v2").encoded())
        await #expect(throws: DHTError.notFound) { _ = try await net.nodes[9].get(NodeID(Sodium.randomBytes(20))!) }
    }

    @Test func badInputIsDroppedAndNothingStoredIsDamaged() async throws {
        let lines = LogLines()
        let net = try await LocalNetwork.make(count: 4)
        defer { Task { await net.stop() } }
        let node = DHTNode(configuration: LocalNetwork.configuration(bootstrap: [net.addresses[0]]), logger: lines.logger())
        let a = try await node.start()
        try await node.join()
        let address = DHTAddress(ip: 0x7F00_0001, port: a.port)
        let raw = RawUDP()
        // An item to protect.
        let key = try SigningKey(seed: Sodium.randomBytes(32))
        let good = DHTItem.signed(value: BValue.string("keep").encoded(), key: key, salt: [], sequence: 10)
        var answer: KRPCMessage?
        for _ in 0..<3 where answer == nil {
            answer = raw.query("get", BDict([("target", .bytes(good.target.bytes))]), to: address)
        }
        guard let tok = answer,
            case .response(let r) = tok.body, let token = r["token"]?.bytes
        else {
            Issue.record("no token")
            return
        }
        func putArgs(_ item: DHTItem, token: [UInt8]) -> BDict {
            var d = BDict([
                ("token", .bytes(token)), ("k", .bytes(item.mutable!.publicKey)), ("seq", .int(item.mutable!.sequence)),
            ])
            d["sig"] = .bytes(item.mutable!.signature)
            d.setRaw("v", value: try! Bencode.decode(item.value), raw: item.value)
            return d
        }
        guard case .response = raw.query("put", putArgs(good, token: token), to: address)?.body else {
            Issue.record("good put refused")
            return
        }
        // Garbage, an oversized datagram, an unsolicited response: no answer, logged.
        raw.send(Array("this is not bencode".utf8), to: address)
        raw.send([UInt8](repeating: 0x64, count: 4000), to: address)
        raw.send(
            KRPCMessage(transaction: [9, 9], body: .response(BDict([("id", .bytes(Sodium.randomBytes(20)))]))).encoded(),
            to: address)
        #expect(raw.receive() == nil)
        // A forged signature, a stale sequence number, a bad token: refused with an error.
        var forged = DHTItem.signed(value: BValue.string("evil").encoded(), key: key, salt: [], sequence: 11)
        forged.mutable!.signature[0] ^= 1
        let stale = DHTItem.signed(value: BValue.string("old").encoded(), key: key, salt: [], sequence: 9)
        let fresh = DHTItem.signed(value: BValue.string("new").encoded(), key: key, salt: [], sequence: 12)
        for (item, tok, code) in [
            (forged, token, KRPCErrorCode.invalidSignature), (stale, token, KRPCErrorCode.sequenceTooLow),
            (fresh, [1, 2, 3, 4, 5, 6, 7, 8], KRPCErrorCode.protocolError),
        ] {
            guard case .error(let c, _) = raw.query("put", putArgs(item, token: tok), to: address)?.body else {
                Issue.record("put not refused")
                continue
            }
            #expect(c == code)
        }
        // An unknown method gets 204, and the node still answers.
        if case .error(let c, _) = raw.query("vote", BDict(), to: address)?.body {
            #expect(c == 204)
        } else {
            Issue.record("no 204")
        }
        #expect(raw.query("ping", BDict(), to: address) != nil)
        let (kept, _) = try await net.nodes[1].get(good.target, publicKey: key.publicKey)
        #expect(kept.value == BValue.string("keep").encoded())
        #expect(kept.mutable?.sequence == 10)
        let logged = lines.lines.joined(separator: "\n")
        #expect(logged.contains("dropped a datagram from 127.0.0.1:\(raw.port): malformed message: bencode"))
        #expect(logged.contains("oversized datagram"))
        #expect(logged.contains("answer to no query of ours"))
        #expect(logged.contains("signature does not verify"))
        #expect(await node.counters.dropped >= 4)
        await node.stop()
    }

    /// A node that answers every query with itself and with made-up nodes next to the target, and
    /// one that never answers: the lookup still finds the item on honest nodes.
    @Test func lookupsSurviveLiarsAndSilentNodes() async throws {
        let net = try await LocalNetwork.make(count: 20)
        defer { Task { await net.stop() } }
        let value = BValue.string("truth").encoded()
        let item = DHTItem(immutable: value)
        try await net.nodes[2].put(item)
        let liar = RawUDP()
        let silent = RawUDP()
        let liarID = item.target.bytes.enumerated().map { $0.offset == 19 ? $0.element ^ 1 : $0.element }
        let stop = ManagedFlag()
        let thread = Thread {
            while !stop.isSet {
                guard let (bytes, from) = liar.receive(), let m = try? KRPCMessage.decode(bytes) else { continue }
                // Itself, plus eight "nodes" at the silent address and unused ports, all near the target.
                var fakes = [NodeInfo(id: NodeID(liarID)!, address: liar.address)]
                for i in 0..<8 {
                    var id = item.target.bytes
                    id[18] ^= UInt8(i + 1)
                    fakes.append(
                        NodeInfo(id: NodeID(id)!, address: DHTAddress(ip: 0x7F00_0001, port: silent.port &+ UInt16(i % 2))))
                }
                var r = BDict([("id", .bytes(liarID)), ("nodes", .bytes(NodeInfo.encodeCompact(fakes)))])
                r["token"] = .bytes([1])
                liar.send(KRPCMessage(transaction: m.transaction, body: .response(r)).encoded(), to: from)
            }
        }
        thread.start()
        defer { stop.set() }
        var c = LocalNetwork.configuration(
            bootstrap: [liar.address, silent.address, net.addresses[0]], timeout: .milliseconds(400))
        c.k = 8
        let seeker = DHTNode(configuration: c, logger: quietLogger)
        _ = try await seeker.start()
        let (got, result) = try await seeker.get(item.target)
        #expect(got.value == value)
        #expect(result.queries < 60)
        await seeker.stop()
    }
}

final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}
