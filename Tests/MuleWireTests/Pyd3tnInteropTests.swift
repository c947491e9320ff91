import Foundation
import Testing

@testable import MuleWire

/// Runs the pyd3tn helper (an independent BPv7 implementation from PyPI) from the test venv.
enum Pyd3tn {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func run(_ args: [String]) throws -> Data {
        let python =
            ProcessInfo.processInfo.environment["MULE_PYTHON"] ?? packageRoot.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw InteropError("no Python with pyd3tn at \(python): run Scripts/test.sh, which creates it")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [packageRoot.appendingPathComponent("Tests/Interop/pyd3tn_interop.py").path] + args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw InteropError("pyd3tn helper exited \(p.terminationStatus)") }
        return data
    }

    struct InteropError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

@Suite struct Pyd3tnInteropTests {
    struct Checked: Decodable {
        var version: Int
        var flags: Int
        var crc_type: Int
        var destination: String
        var source: String
        var report_to: String
        var creation_ms: UInt64
        var sequence: UInt64
        var lifetime: UInt64
        var crc_ok: Bool
        var reencoded_identical: Bool
        var blocks: [Block]
        struct Block: Decodable {
            var type: Int
            var number: Int
            var crc_type: Int
            var data: String
        }
    }

    @Test func pyd3tnParsesMuleBundles() throws {
        let mb = MuleBundle(
            tag: Array(0..<16), creationTime: MuleBundle.coarseCreationTime(unixMs: 1_790_000_000_000),
            lifetime: 14 * 86_400_000,
            envelope: .message(
                MessageEnvelope(
                    dropHash: [UInt8](repeating: 7, count: 32), ephemeralKey: [UInt8](repeating: 9, count: 32),
                    ciphertext: [UInt8](repeating: 0x5A, count: 272))))
        let bytes = mb.encode()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("mule-interop-\(UUID()).bundle")
        try Data(bytes).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        let c = try JSONDecoder().decode(Checked.self, from: try Pyd3tn.run(["check", path.path]))
        #expect(c.version == 7)
        #expect(c.crc_ok)
        #expect(c.reencoded_identical)
        #expect(c.crc_type == 2)
        #expect(c.flags == 4)
        #expect(c.destination == "dtn://000102030405060708090a0b0c0d0e0f/")
        #expect(c.source == "dtn:none")
        #expect(c.report_to == "dtn:none")
        #expect(c.creation_ms == mb.creationTime)
        #expect(c.sequence == 0)
        #expect(c.lifetime == mb.lifetime)
        #expect(c.blocks.count == 1)
        #expect(c.blocks[0].type == 1 && c.blocks[0].number == 1 && c.blocks[0].crc_type == 2)
        #expect(c.blocks[0].data == Hex.encode(mb.envelope.encode()))
    }

    struct Made: Decodable {
        var hex: String
        var destination: String
        var source: String
        var creation_ms: UInt64
        var sequence: UInt64
        var lifetime: UInt64
        var payload: String
        var blocks: Int
        var crc_type: UInt64
    }

    @Test func muleParsesPyd3tnBundles() throws {
        let made = try JSONDecoder().decode([Made].self, from: try Pyd3tn.run(["make"]))
        #expect(made.count == 4)
        for m in made {
            let bytes = Hex.decode(m.hex)!
            let b = try BundleCodec.decode(bytes)
            #expect(b.primary.destination.description == m.destination)
            #expect(b.primary.source.description == m.source)
            #expect(b.primary.creationTime == m.creation_ms)
            #expect(b.primary.sequenceNumber == m.sequence)
            #expect(b.primary.lifetime == m.lifetime)
            #expect(b.primary.crcType.rawValue == m.crc_type)
            #expect(b.blocks.count == m.blocks)
            #expect(Hex.encode(b.payload) == m.payload)
            // Mule re-encodes pyd3tn's bundles to the same bytes.
            #expect(BundleCodec.encode(b) == bytes)
            // And detects a flipped payload byte through pyd3tn's CRC, where there is one.
            if b.blocks.last!.crcType != .none {
                var damaged = bytes
                damaged[damaged.count - 8] ^= 0x40
                #expect(throws: WireError.self) { try BundleCodec.decode(damaged) }
            }
            // pyd3tn's bundles are valid BPv7 but not Mule bundles.
            #expect(throws: WireError.self) { try MuleBundle(b) }
        }
    }
}
