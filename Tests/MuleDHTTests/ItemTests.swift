import MuleCrypto
import Testing

@testable import MuleDHT

@Suite struct ItemTests {
    func fromHex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }

    /// The test vectors of BEP 44.
    @Test func bep44Vectors() throws {
        let value = Array("12:Hello World!".utf8)
        #expect(DHTItem(immutable: value).target.bytes.hex == "e5f96f6f38320f0f33959cb4d3d656452117aadb")
        let pk = fromHex("77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548")
        let plain = DHTItem(
            value: value,
            mutable: .init(
                publicKey: pk, salt: [], sequence: 1,
                signature: fromHex(
                    "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01"
                )))
        #expect(plain.target.bytes.hex == "4a533d47ec9c7d95b1ad75f576cffc641853b750")
        try plain.validate()
        let salted = DHTItem(
            value: value,
            mutable: .init(
                publicKey: pk, salt: Array("foobar".utf8), sequence: 1,
                signature: fromHex(
                    "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17ddf9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08"
                )))
        #expect(salted.target.bytes.hex == "411eba73b6f087ca51a3795d9c8c938d365e32c1")
        try salted.validate()
        var forged = salted
        forged.mutable!.sequence = 2
        #expect(throws: DHTError.self) { try forged.validate() }
    }

    @Test func storeKeepsSequenceOrderAndBounds() throws {
        let key = try SigningKey(seed: [UInt8](repeating: 7, count: 32))
        var store = ItemStore()
        let v1 = DHTItem.signed(value: Array("1:a".utf8), key: key, salt: [], sequence: 5)
        try store.put(v1, from: 1, nowMs: 0)
        let older = DHTItem.signed(value: Array("1:b".utf8), key: key, salt: [], sequence: 4)
        #expect(throws: ItemStore.PutError.sequenceTooLow) { try store.put(older, from: 1, nowMs: 1) }
        let same = DHTItem.signed(value: Array("1:c".utf8), key: key, salt: [], sequence: 5)
        #expect(throws: ItemStore.PutError.sequenceTooLow) { try store.put(same, from: 1, nowMs: 1) }
        let newer = DHTItem.signed(value: Array("1:d".utf8), key: key, salt: [], sequence: 6)
        #expect(throws: ItemStore.PutError.casMismatch) { try store.put(newer, cas: 4, from: 1, nowMs: 1) }
        try store.put(newer, cas: 5, from: 1, nowMs: 1)
        #expect(store.item(v1.target, nowMs: 2)?.value == Array("1:d".utf8))
        // One address block cannot fill the store.
        var limits = ItemStore.Limits()
        limits.maxItemsPerBlock = 3
        var small = ItemStore(limits: limits)
        for i in 0..<3 { try small.put(DHTItem(immutable: Array("i\(i)e".utf8)), from: 9, nowMs: 0) }
        #expect(throws: ItemStore.PutError.full) { try small.put(DHTItem(immutable: Array("i3e".utf8)), from: 9, nowMs: 0) }
        try small.put(DHTItem(immutable: Array("i3e".utf8)), from: 10, nowMs: 0)
    }

    @Test func routingTableBoundsOneAddressBlock() {
        let own = NodeID([UInt8](repeating: 0, count: 20))!
        var table = RoutingTable(ownID: own)
        // 50 nodes from one /24, all in the far half of the id space.
        for i in 0..<50 {
            var id = [UInt8](repeating: UInt8(i), count: 20)
            id[0] = 0x80 | UInt8(i)
            table.heard(
                NodeInfo(id: NodeID(id)!, address: DHTAddress(ip: 0x0102_0300 | UInt32(i), port: 6881)), verified: true, nowMs: 0)
        }
        #expect(table.count == 2)
        // Loopback endpoints are each their own block.
        for i in 0..<50 {
            var id = [UInt8](repeating: UInt8(i), count: 20)
            id[0] = UInt8(i) >> 1
            table.heard(
                NodeInfo(id: NodeID(id)!, address: DHTAddress(ip: 0x7F00_0001, port: 7000 + UInt16(i))), verified: true, nowMs: 0)
        }
        #expect(table.count > 20)
        #expect(table.count <= 8 * 161)
    }
}
