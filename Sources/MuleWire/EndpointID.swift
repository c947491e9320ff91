/// A BPv7 endpoint ID (RFC 9171 §4.2.5.1): `dtn:none`, a `dtn:` URI or an `ipn:` node.service pair.
public enum EndpointID: Hashable, Sendable, CustomStringConvertible {
    case dtnNone
    /// The scheme-specific part after `dtn:`, e.g. `//node/demux`.
    case dtn(String)
    case ipn(node: UInt64, service: UInt64)

    public var description: String {
        switch self {
        case .dtnNone: return "dtn:none"
        case .dtn(let ssp): return "dtn:\(ssp)"
        case .ipn(let n, let s): return "ipn:\(n).\(s)"
        }
    }

    func encode(into w: inout CBORWriter) {
        w.arrayHeader(2)
        switch self {
        case .dtnNone:
            w.unsigned(1)
            w.unsigned(0)
        case .dtn(let ssp):
            w.unsigned(1)
            w.text(ssp)
        case .ipn(let n, let s):
            w.unsigned(2)
            w.arrayHeader(2)
            w.unsigned(n)
            w.unsigned(s)
        }
    }

    static func decode(_ r: inout CBORReader, field: String) throws(WireError) -> EndpointID {
        try r.readArrayHeader(count: 2, what: field)
        let scheme = try r.readUnsigned()
        switch scheme {
        case 1:
            if try r.peekByte() == 0x00 {
                _ = try r.readUnsigned()
                return .dtnNone
            }
            var ssp = try r.readText()
            let wellFormed = ssp.withUTF8 { u in
                u.count >= 3 && u[0] == UInt8(ascii: "/") && u[1] == UInt8(ascii: "/") && u[2...].contains(UInt8(ascii: "/"))
            }
            guard wellFormed else {
                throw .invalidField("\(field): malformed dtn URI 'dtn:\(ssp)'")
            }
            return .dtn(ssp)
        case 2:
            try r.readArrayHeader(count: 2, what: "\(field) ipn SSP")
            return .ipn(node: try r.readUnsigned(), service: try r.readUnsigned())
        default:
            throw .invalidField("\(field): unknown URI scheme code \(scheme)")
        }
    }
}
