/// KRPC (BEP 5): one bencoded dictionary per UDP datagram, a query, a response or an error,
/// matched by the transaction id `t`.
public struct KRPCMessage: Equatable, Sendable {
    public enum Body: Equatable, Sendable {
        case query(method: String, arguments: BDict)
        case response(BDict)
        case error(code: Int64, message: String)
    }

    public var transaction: [UInt8]
    public var body: Body
    /// BEP 42: the address the responder saw the query come from.
    public var observedAddress: DHTAddress?
    /// BEP 43: the sender does not answer queries and should not be put in routing tables.
    public var readOnly: Bool

    /// The largest datagram read or written; a BEP 44 item of 1000 bytes fits with room to spare.
    public static let maxDatagram = 1500
    /// The longest transaction id accepted (Mule sends 2 bytes; others send up to 4 or 8).
    public static let maxTransactionLength = 16

    public init(transaction: [UInt8], body: Body, observedAddress: DHTAddress? = nil, readOnly: Bool = false) {
        self.transaction = transaction
        self.body = body
        self.observedAddress = observedAddress
        self.readOnly = readOnly
    }

    /// The sender's node id: `a.id` of a query, `r.id` of a response.
    public var senderID: NodeID? {
        switch body {
        case .query(_, let a): return a["id"]?.bytes.flatMap(NodeID.init)
        case .response(let r): return r["id"]?.bytes.flatMap(NodeID.init)
        case .error: return nil
        }
    }

    public func encoded() -> [UInt8] {
        var d = BDict()
        d["t"] = .bytes(transaction)
        switch body {
        case .query(let method, let arguments):
            d["y"] = .string("q")
            d["q"] = .string(method)
            d["a"] = .dict(arguments)
        case .response(let r):
            d["y"] = .string("r")
            d["r"] = .dict(r)
        case .error(let code, let message):
            d["y"] = .string("e")
            d["e"] = .list([.int(code), .string(message)])
        }
        if let observedAddress { d["ip"] = .bytes(observedAddress.compact) }
        if readOnly { d["ro"] = .int(1) }
        return BValue.dict(d).encoded()
    }

    public static func decode(_ datagram: [UInt8]) throws(DHTError) -> KRPCMessage {
        guard datagram.count <= maxDatagram else { throw .malformed("datagram of \(datagram.count) bytes") }
        let value: BValue
        do { value = try Bencode.decode(datagram) } catch { throw .malformed("bencode: \(error)") }
        guard let d = value.dict else { throw .malformed("not a dictionary") }
        guard let t = d["t"]?.bytes, !t.isEmpty, t.count <= maxTransactionLength else {
            throw .malformed("missing or bad transaction id")
        }
        guard let y = d["y"]?.bytes, y.count == 1 else { throw .malformed("missing message type") }
        let body: Body
        switch y[0] {
        case UInt8(ascii: "q"):
            guard let q = d["q"]?.bytes, !q.isEmpty, q.count <= 32, let method = String(validating: q, as: UTF8.self) else {
                throw .malformed("query without a method")
            }
            guard let a = d["a"]?.dict else { throw .malformed("query without arguments") }
            guard let id = a["id"]?.bytes, id.count == NodeID.length else { throw .malformed("query without a node id") }
            body = .query(method: method, arguments: a)
        case UInt8(ascii: "r"):
            guard let r = d["r"]?.dict else { throw .malformed("response without r") }
            guard let id = r["id"]?.bytes, id.count == NodeID.length else { throw .malformed("response without a node id") }
            body = .response(r)
        case UInt8(ascii: "e"):
            guard let e = d["e"]?.list, e.count >= 2, let code = e[0].int, let m = e[1].bytes else {
                throw .malformed("bad error body")
            }
            body = .error(code: code, message: String(decoding: m.prefix(200), as: UTF8.self))
        default:
            throw .malformed("unknown message type")
        }
        let ip = d["ip"]?.bytes.flatMap { DHTAddress(compact: $0) }
        return KRPCMessage(transaction: t, body: body, observedAddress: ip, readOnly: d["ro"]?.int == 1)
    }
}

/// KRPC error codes (BEP 5, BEP 44).
public enum KRPCErrorCode {
    public static let generic: Int64 = 201
    public static let server: Int64 = 202
    public static let protocolError: Int64 = 203
    public static let methodUnknown: Int64 = 204
    public static let valueTooBig: Int64 = 205
    public static let invalidSignature: Int64 = 206
    public static let saltTooBig: Int64 = 207
    public static let casMismatch: Int64 = 301
    public static let sequenceTooLow: Int64 = 302
}
