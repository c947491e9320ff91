import MuleWire

/// The header of one ratchet message (Docs/PROTOCOL.md §13.3): the sender's current ratchet key,
/// the length of its previous sending chain, the message's index in the current one, and, until
/// the sender has heard back, how the session was started.
///
/// CBOR: `[ratchetKey: bstr .size 32, previousCount: uint, index: uint, start: null / Start]`.
public struct RatchetHeader: Equatable, Sendable {
    /// What the first messages of a session carry so that any one of them, arriving first, lets
    /// the recipient start the session: the initiator's fresh key and the recipient's prekey used
    /// (nil when the initiator knew none, and used the recipient's identity key alone).
    ///
    /// CBOR: `[ephemeralKey: bstr .size 32, prekeyID: uint / null]`.
    public struct Start: Equatable, Sendable {
        public var ephemeralKey: [UInt8]
        public var prekeyID: UInt32?

        public init(ephemeralKey: [UInt8], prekeyID: UInt32?) {
            self.ephemeralKey = ephemeralKey
            self.prekeyID = prekeyID
        }

        /// Writes `start` or, when there is none, null.
        static func encode(_ start: Start?, into w: inout CBORWriter) {
            guard let start else { return w.null() }
            w.arrayHeader(2)
            w.byteString(start.ephemeralKey)
            if let id = start.prekeyID { w.unsigned(UInt64(id)) } else { w.null() }
        }

        /// Reads a start or null.
        static func decode(from r: inout CBORReader) throws(WireError) -> Start? {
            if try RatchetHeader.readNull(&r) { return nil }
            try r.readArrayHeader(count: 2, what: "session start")
            let eph = try r.readByteString(count: 32, field: "start ephemeral key")
            let prekey: UInt32? = try RatchetHeader.readNull(&r) ? nil : try RatchetHeader.readUInt32(&r, "prekey id")
            return Start(ephemeralKey: eph, prekeyID: prekey)
        }
    }

    public var ratchetKey: [UInt8]
    public var previousCount: UInt32
    public var index: UInt32
    public var start: Start?

    public init(ratchetKey: [UInt8], previousCount: UInt32, index: UInt32, start: Start?) {
        self.ratchetKey = ratchetKey
        self.previousCount = previousCount
        self.index = index
        self.start = start
    }

    public func encode() -> [UInt8] {
        var w = CBORWriter(capacity: 96)
        w.arrayHeader(4)
        w.byteString(ratchetKey)
        w.unsigned(UInt64(previousCount))
        w.unsigned(UInt64(index))
        Start.encode(start, into: &w)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> RatchetHeader {
        var r = CBORReader(bytes)
        try r.readArrayHeader(count: 4, what: "ratchet header")
        let key = try r.readByteString(count: 32, field: "ratchet key")
        let previous = try readUInt32(&r, "previous chain length")
        let index = try readUInt32(&r, "message index")
        let start = try Start.decode(from: &r)
        try r.expectEnd()
        return RatchetHeader(ratchetKey: key, previousCount: previous, index: index, start: start)
    }

    /// Consumes a CBOR null if one is next.
    static func readNull(_ r: inout CBORReader) throws(WireError) -> Bool {
        guard try r.peekByte() == 0xF6 else { return false }
        _ = try r.skipItem()
        return true
    }

    static func readUInt32(_ r: inout CBORReader, _ field: String) throws(WireError) -> UInt32 {
        let at = r.offset
        let v = try r.readUnsigned()
        guard v <= UInt64(UInt32.max) else { throw .tooLarge(field, at: at) }
        return UInt32(v)
    }
}
