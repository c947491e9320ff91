import Testing

@testable import MuleDHT

@Suite struct BencodeTests {
    @Test func roundTripsAndKeepsRawBytes() throws {
        let text = Array("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe".utf8)
        let v = try Bencode.decode(text)
        #expect(v.encoded() == text)
        let m = try KRPCMessage.decode(text)
        #expect(m.transaction == Array("aa".utf8))
        guard case .query(let method, let a) = m.body else {
            Issue.record("not a query")
            return
        }
        #expect(method == "ping")
        #expect(a.raw("id") == Array("20:abcdefghij0123456789".utf8))
    }

    @Test(arguments: [
        "i01e", "i-0e", "ie", "5:abc", "d1:b0:1:a0:e", "d1:a0:1:a0:e", "l", "x", "i9223372036854775808e", "-1:a", "3:abcd",
        "di1e0:e",
    ])
    func refusesMalformed(_ s: String) {
        #expect(throws: BencodeError.self) { _ = try Bencode.decode(Array(s.utf8)) }
    }

    @Test func refusesDeepNesting() {
        let deep = Array(String(repeating: "l", count: 100).utf8) + Array(String(repeating: "e", count: 100).utf8)
        #expect(throws: BencodeError.tooDeep) { _ = try Bencode.decode(deep) }
    }

    @Test func krpcRefusesWhatIsNotAMessage() {
        for s in ["le", "d1:t0:1:y1:qe", "d1:t2:aa1:y1:q1:q4:pinge", "d1:ad2:id3:abce1:q4:ping1:t2:aa1:y1:qe", "d1:t2:aa1:y1:ze"]
        {
            #expect(throws: DHTError.self) { _ = try KRPCMessage.decode(Array(s.utf8)) }
        }
        #expect(throws: DHTError.self) { _ = try KRPCMessage.decode([UInt8](repeating: 0x64, count: 2000)) }
    }
}

@Suite struct SHA1Tests {
    @Test func knownVectors() {
        #expect(SHA1.hash(Array("abc".utf8)).hex == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hash([]).hex == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(
            SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(SHA1.hash([UInt8](repeating: 0x61, count: 1_000_000)).hex == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format2: $0) }.joined() }
}
