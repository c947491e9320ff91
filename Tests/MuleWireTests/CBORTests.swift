import Testing

@testable import MuleWire

func h(_ s: String) -> [UInt8] { Hex.decode(s)! }

/// RFC 8949 Appendix A: every example, decoded strictly and re-encoded byte for byte.
@Suite struct CBORAppendixATests {
    static let definite: [(CBOR, String)] = [
        (.unsigned(0), "00"), (.unsigned(1), "01"), (.unsigned(10), "0a"), (.unsigned(23), "17"),
        (.unsigned(24), "1818"), (.unsigned(25), "1819"), (.unsigned(100), "1864"), (.unsigned(1000), "1903e8"),
        (.unsigned(1_000_000), "1a000f4240"), (.unsigned(1_000_000_000_000), "1b000000e8d4a51000"),
        (.unsigned(18_446_744_073_709_551_615), "1bffffffffffffffff"),
        (.tagged(2, .bytes(h("010000000000000000"))), "c249010000000000000000"),
        (.negative(18_446_744_073_709_551_615), "3bffffffffffffffff"),
        (.tagged(3, .bytes(h("010000000000000000"))), "c349010000000000000000"),
        (.negative(0), "20"), (.negative(9), "29"), (.negative(99), "3863"), (.negative(999), "3903e7"),
        (.float(0.0), "f90000"), (.float(-0.0), "f98000"), (.float(1.0), "f93c00"), (.float(1.1), "fb3ff199999999999a"),
        (.float(1.5), "f93e00"), (.float(65504.0), "f97bff"), (.float(100000.0), "fa47c35000"),
        (.float(3.4028234663852886e+38), "fa7f7fffff"), (.float(1.0e+300), "fb7e37e43c8800759c"),
        (.float(5.960464477539063e-8), "f90001"), (.float(0.00006103515625), "f90400"), (.float(-4.0), "f9c400"),
        (.float(-4.1), "fbc010666666666666"), (.float(.infinity), "f97c00"), (.float(-.infinity), "f9fc00"),
        (.bool(false), "f4"), (.bool(true), "f5"), (.null, "f6"), (.undefined, "f7"), (.simple(16), "f0"),
        (.simple(255), "f8ff"),
        (.tagged(0, .text("2013-03-21T20:04:00Z")), "c074323031332d30332d32315432303a30343a30305a"),
        (.tagged(1, .unsigned(1_363_896_240)), "c11a514b67b0"),
        (.tagged(1, .float(1_363_896_240.5)), "c1fb41d452d9ec200000"),
        (.tagged(23, .bytes(h("01020304"))), "d74401020304"),
        (.tagged(24, .bytes(h("6449455446"))), "d818456449455446"),
        (.tagged(32, .text("http://www.example.com")), "d82076687474703a2f2f7777772e6578616d706c652e636f6d"),
        (.bytes([]), "40"), (.bytes(h("01020304")), "4401020304"), (.text(""), "60"), (.text("a"), "6161"),
        (.text("IETF"), "6449455446"), (.text("\"\\"), "62225c"), (.text("\u{00fc}"), "62c3bc"),
        (.text("\u{6c34}"), "63e6b0b4"), (.text("\u{10151}"), "64f0908591"),
        (.array([]), "80"), (.array([.unsigned(1), .unsigned(2), .unsigned(3)]), "83010203"),
        (
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])]), "8301820203820405"
        ),
        (.array((1...25).map { .unsigned($0) }), "98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
        (.map([]), "a0"),
        (.map([.init(.unsigned(1), .unsigned(2)), .init(.unsigned(3), .unsigned(4))]), "a201020304"),
        (
            .map([.init(.text("a"), .unsigned(1)), .init(.text("b"), .array([.unsigned(2), .unsigned(3)]))]), "a26161016162820203"
        ),
        (.array([.text("a"), .map([.init(.text("b"), .text("c"))])]), "826161a161626163"),
        (
            .map(["a", "b", "c", "d", "e"].map { .init(.text($0), .text($0.uppercased())) }),
            "a56161614161626142616361436164614461656145"
        ),
    ]

    @Test(arguments: 0..<definite.count)
    func definiteExample(_ i: Int) throws {
        let (value, hex) = Self.definite[i]
        #expect(try CBOR.decode(h(hex)) == value)
        #expect(Hex.encode(value.encoded()) == hex)
    }

    /// Valid CBOR that preferred serialisation would write shorter: decoded to the same value.
    @Test func longerFloatEncodings() throws {
        #expect(try CBOR.decode(h("fa7f800000")) == .float(.infinity))
        #expect(try CBOR.decode(h("faff800000")) == .float(-.infinity))
        #expect(try CBOR.decode(h("fb7ff0000000000000")) == .float(.infinity))
        #expect(try CBOR.decode(h("fbfff0000000000000")) == .float(-.infinity))
        for nan in ["f97e00", "fa7fc00000", "fb7ff8000000000000"] {
            guard case .float(let d) = try CBOR.decode(h(nan)) else { Issue.record("not a float"); continue }
            #expect(d.isNaN)
        }
        #expect(CBOR.float(.nan).encoded() == h("f97e00"))
    }

    static let indefinite: [(CBOR, String)] = [
        (.bytes(h("0102030405")), "5f42010243030405ff"),
        (.text("streaming"), "7f657374726561646d696e67ff"),
        (.array([]), "9fff"),
        (
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])]),
            "9f018202039f0405ffff"
        ),
        (
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])]),
            "9f01820203820405ff"
        ),
        (
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])]),
            "83018202039f0405ff"
        ),
        (
            .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])]),
            "83019f0203ff820405"
        ),
        (.array((1...25).map { .unsigned($0) }), "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff"),
        (
            .map([.init(.text("a"), .unsigned(1)), .init(.text("b"), .array([.unsigned(2), .unsigned(3)]))]),
            "bf61610161629f0203ffff"
        ),
        (.array([.text("a"), .map([.init(.text("b"), .text("c"))])]), "826161bf61626163ff"),
        (.map([.init(.text("Fun"), .bool(true)), .init(.text("Amt"), .negative(1))]), "bf6346756ef563416d7421ff"),
    ]

    @Test(arguments: 0..<indefinite.count)
    func indefiniteExample(_ i: Int) throws {
        let (value, hex) = Self.indefinite[i]
        #expect(try CBOR.decode(h(hex), allowIndefinite: true) == value)
        // Mule's strict decoding refuses indefinite lengths.
        #expect(throws: WireError.self) { try CBOR.decode(h(hex)) }
    }

    @Test func rejectsNonCanonicalHeads() {
        #expect(throws: WireError.nonCanonical("integer or length", at: 0)) { try CBOR.decode(h("1817")) }
        #expect(throws: WireError.nonCanonical("integer or length", at: 0)) { try CBOR.decode(h("190017")) }
        #expect(throws: WireError.nonCanonical("integer or length", at: 0)) { try CBOR.decode(h("5801ff")) }
        #expect(throws: WireError.nonCanonical("integer or length", at: 0)) { try CBOR.decode(h("1b00000000ffffffff")) }
    }

    @Test func rejectsTrailingAndTruncated() {
        #expect(throws: WireError.trailingBytes(count: 1)) { try CBOR.decode(h("0000")) }
        #expect(throws: WireError.truncated(at: 1)) { try CBOR.decode(h("19")) }
        #expect(throws: WireError.truncated(at: 1)) { try CBOR.decode(h("45010203")) }
        #expect(throws: WireError.invalidUTF8(at: 0)) { try CBOR.decode(h("62c328")) }
        #expect(throws: WireError.tooDeep(at: 64)) { try CBOR.decode([UInt8](repeating: 0x81, count: 100) + [0]) }
    }

    /// A map header claiming 2^63 pairs: doubling the count wrapped to 0 and skipItem accepted it
    /// while CBOR.decode refused (issue 11). Both refuse now, and agree on every huge count.
    @Test(arguments: [
        "bb8000000000000000", "bbffffffffffffffff", "bb7fffffffffffffff", "9bffffffffffffffff", "bb0000000100000000",
    ])
    func skipItemRefusesHugeContainerCounts(hex: String) {
        var r = CBORReader(h(hex) + [0, 0])
        #expect(throws: WireError.self) { try r.skipItem() }
        #expect(throws: WireError.self) { try CBOR.decode(h(hex) + [0, 0]) }
    }
}

@Suite struct CRCTests {
    @Test func checkValues() {
        // The standard check input "123456789" (CRC catalogue).
        let input = Array("123456789".utf8)
        #expect(CRC.crc16X25(input) == 0x906E)
        #expect(CRC.crc32C(input) == 0xE306_9283)
    }

    @Test func slicingMatchesBytewise() {
        var bytes: [UInt8] = []
        var x: UInt32 = 1
        for _ in 0..<1000 {
            x = x &* 1_103_515_245 &+ 12345
            bytes.append(UInt8(truncatingIfNeeded: x >> 16))
        }
        for n in [0, 1, 7, 8, 9, 63, 1000] {
            var c: UInt32 = 0xFFFF_FFFF
            for b in bytes.prefix(n) {
                c ^= UInt32(b)
                for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            }
            #expect(CRC.crc32C(bytes.prefix(n)) == c ^ 0xFFFF_FFFF)
        }
    }
}
