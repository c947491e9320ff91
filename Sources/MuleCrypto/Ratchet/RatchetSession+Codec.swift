import MuleWire

extension RatchetSession {
    /// The stored form of a session (Docs/PROTOCOL.md §13.6), CBOR:
    /// `[1, id, initiator, root, ourSecret, theirs / null, previousCount, sending / null,
    /// receiving / null, start / null, [* [ratchetKey, index, key, deadline]]]` where a chain is
    /// `[key, index]` and start is as in the header. The result holds secrets: the caller stores
    /// it where the profile's keys are, and drops it when done.
    public func encode() -> [UInt8] {
        var w = CBORWriter(capacity: 256 + skipped.count * 80)
        w.arrayHeader(11)
        w.unsigned(1)
        w.byteString(id)
        w.bool(initiator)
        w.byteString(root.exportBytes())
        w.byteString(ours.secretKeyBytes)
        if let theirs { w.byteString(theirs) } else { w.null() }
        w.unsigned(UInt64(previousCount))
        for chain in [sending, receiving] {
            if let chain {
                w.arrayHeader(2)
                w.byteString(chain.key.exportBytes())
                w.unsigned(UInt64(chain.index))
            } else {
                w.null()
            }
        }
        RatchetHeader.Start.encode(start, into: &w)
        w.arrayHeader(skipped.count)
        for k in skipped {
            w.arrayHeader(4)
            w.byteString(k.ratchetKey)
            w.unsigned(UInt64(k.index))
            w.byteString(k.key.exportBytes())
            w.unsigned(k.deadline)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> RatchetSession {
        var r = CBORReader(bytes)
        try r.readArrayHeader(count: 11, what: "ratchet session")
        let version = try r.readUnsigned()
        guard version == 1 else { throw .unknownVersion("ratchet session", version) }
        let id = try r.readByteString(count: 16, field: "session id")
        let initiator = try r.readBool()
        let root = SecretBytes(copying: try r.readByteString(count: 32, field: "root key"))
        let ours: AgreementKey
        do { ours = try AgreementKey(secretKey: try r.readByteString(count: 32, field: "ratchet secret")) } catch {
            throw .invalidField("ratchet secret")
        }
        var theirs: [UInt8]?
        if try RatchetHeader.readNull(&r) {
            theirs = nil
        } else {
            theirs = try r.readByteString(count: 32, field: "their ratchet key")
        }
        let previous = try RatchetHeader.readUInt32(&r, "previous count")
        var chains: [Chain?] = []
        for name in ["sending chain", "receiving chain"] {
            if try RatchetHeader.readNull(&r) {
                chains.append(nil)
            } else {
                try r.readArrayHeader(count: 2, what: name)
                let key = SecretBytes(copying: try r.readByteString(count: 32, field: name))
                chains.append(Chain(key: key, index: try RatchetHeader.readUInt32(&r, name)))
            }
        }
        let start = try RatchetHeader.Start.decode(from: &r)
        let n = try r.readArrayHeader()
        guard n <= 1 << 20 else { throw .tooLarge("skipped keys", at: r.offset) }
        var skipped: [Skipped] = []
        skipped.reserveCapacity(min(n, bytes.count / 40))  // a declared count reserves nothing it cannot fill
        for _ in 0..<n {
            try r.readArrayHeader(count: 4, what: "skipped key")
            let key = try r.readByteString(count: 32, field: "skipped ratchet key")
            let index = try RatchetHeader.readUInt32(&r, "skipped index")
            let mk = SecretBytes(copying: try r.readByteString(count: 32, field: "skipped message key"))
            skipped.append(Skipped(ratchetKey: key, index: index, key: mk, deadline: try r.readUnsigned()))
        }
        try r.expectEnd()
        var s = RatchetSession(id: id, root: root, ours: ours, initiator: initiator, start: start)
        s.theirs = theirs
        s.previousCount = previous
        s.sending = chains[0]
        s.receiving = chains[1]
        s.skipped = skipped
        return s
    }
}
