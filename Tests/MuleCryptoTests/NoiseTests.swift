import Foundation
import Testing

@testable import MuleCrypto
@testable import MuleWire

/// A `noise_peer.py` process (the `noiseprotocol` package) spoken to line by line.
final class NoisePeer {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    var buffer = Data()

    init(role: String, staticKey: AgreementKey, prologue: [UInt8]) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let python =
            ProcessInfo.processInfo.environment["MULE_PYTHON"] ?? root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw NoiseInteropError("no Python with noiseprotocol at \(python): run Scripts/test.sh, which creates it")
        }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            root.appendingPathComponent("Tests/Interop/noise_peer.py").path, role, Hex.encode(staticKey.secretKeyBytes),
            Hex.encode(prologue),
        ]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    func send(_ line: String) { input.fileHandleForWriting.write(Data((line + "\n").utf8)) }
    func send(_ bytes: [UInt8]) { send(Hex.encode(bytes)) }

    func line() throws -> String {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let l = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...nl)
                return l
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw NoiseInteropError("noise peer closed its output") }
            buffer.append(chunk)
        }
    }

    func bytes() throws -> [UInt8] { Hex.decode(try line())! }

    func field(_ name: String) throws -> [UInt8] {
        let l = try line()
        guard l.hasPrefix(name + " "), let b = Hex.decode(String(l.dropFirst(name.count + 1))) else {
            throw NoiseInteropError("expected '\(name) …', got '\(l)'")
        }
        return b
    }

    func finish() {
        send("end")
        process.waitUntilExit()
    }
}

struct NoiseInteropError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

@Suite struct NoiseTests {
    let prologue = Array("mule-link-v1".utf8)

    @Test func muleInitiatorWithNoiseprotocolResponder() throws {
        let me = AgreementKey.generate(), them = AgreementKey.generate()
        let peer = try NoisePeer(role: "responder", staticKey: them, prologue: prologue)
        var hs = NoiseXX(initiator: true, staticKey: me, prologue: prologue)
        peer.send(try hs.writeMessage(payload: Array("i1".utf8)))
        #expect(try peer.field("payload") == Array("i1".utf8))
        #expect(try hs.readMessage(try peer.bytes()) == Array("r2".utf8))
        peer.send(try hs.writeMessage(payload: Array("i3".utf8)))
        #expect(try peer.field("payload") == Array("i3".utf8))
        #expect(try peer.field("remote") == me.publicKey)
        #expect(try peer.field("hash") == hs.handshakeHash)
        #expect(hs.remoteStatic == them.publicKey)
        var (send, receive) = try hs.split()
        for text in ["hello", "", String(repeating: "z", count: 60_000)] {
            peer.send(try send.encrypt(ad: [], Array(text.utf8)))
            #expect(try receive.decrypt(ad: [], try peer.bytes()) == Array(("echo:" + text).utf8))
        }
        peer.finish()
    }

    @Test func noiseprotocolInitiatorWithMuleResponder() throws {
        let me = AgreementKey.generate(), them = AgreementKey.generate()
        let peer = try NoisePeer(role: "initiator", staticKey: them, prologue: prologue)
        var hs = NoiseXX(initiator: false, staticKey: me, prologue: prologue)
        #expect(try hs.readMessage(try peer.bytes()) == Array("i1".utf8))
        peer.send(try hs.writeMessage(payload: Array("r2".utf8)))
        #expect(try peer.field("payload") == Array("r2".utf8))
        #expect(try hs.readMessage(try peer.bytes()) == Array("i3".utf8))
        #expect(try peer.field("remote") == me.publicKey)
        #expect(try peer.field("hash") == hs.handshakeHash)
        #expect(hs.remoteStatic == them.publicKey)
        var (send, receive) = try hs.split()
        peer.send(try send.encrypt(ad: [], Array("ping".utf8)))
        #expect(try receive.decrypt(ad: [], try peer.bytes()) == Array("echo:ping".utf8))
        peer.finish()
    }

    /// Two Mule sides; then forged, replayed and out-of-order messages are refused.
    @Test func badMessagesAreRefused() throws {
        let a = AgreementKey.generate(), b = AgreementKey.generate()
        var i = NoiseXX(initiator: true, staticKey: a, prologue: prologue)
        var r = NoiseXX(initiator: false, staticKey: b, prologue: prologue)
        #expect(throws: NoiseError.outOfOrder) { try r.writeMessage() }
        let m1 = try i.writeMessage()
        _ = try r.readMessage(m1)
        var m2 = try r.writeMessage()
        var broken = i
        m2[40] ^= 1
        #expect(throws: NoiseError.decryptFailed) { try broken.readMessage(m2) }
        m2[40] ^= 1
        #expect(throws: NoiseError.tooShort(20)) { try broken.readMessage(Array(m2.prefix(20))) }
        _ = try i.readMessage(m2)
        _ = try r.readMessage(try i.writeMessage())
        #expect(i.isComplete && r.isComplete)
        #expect(i.remoteStatic == b.publicKey && r.remoteStatic == a.publicKey)
        var (iSend, _) = try i.split()
        var (_, rReceive) = try r.split()
        let c1 = try iSend.encrypt(ad: [], [1, 2, 3])
        #expect(try rReceive.decrypt(ad: [], c1) == [1, 2, 3])
        #expect(throws: NoiseError.decryptFailed) { try rReceive.decrypt(ad: [], c1) }  // replay
        // A different prologue fails authentication at message 2.
        var j = NoiseXX(initiator: true, staticKey: a, prologue: Array("other".utf8))
        var s = NoiseXX(initiator: false, staticKey: b, prologue: prologue)
        _ = try s.readMessage(try j.writeMessage())
        #expect(throws: NoiseError.decryptFailed) { try j.readMessage(try s.writeMessage()) }
    }
}
