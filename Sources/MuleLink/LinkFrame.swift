/// The application frames that two linked nodes exchange inside Noise transport messages.
///
/// On the plaintext stream a frame is `u32 length ‖ type ‖ payload` (big-endian length of type and
/// payload, at most `LinkFrame.maxSize`). Frames are self-describing, so a bundle part never depends
/// on which frame came before it (see Docs/PROTOCOL.md §8).
public enum LinkFrame: Equatable, Sendable {
    /// The first message of a reconciliation round (initiator → responder).
    case syncStart([UInt8])
    /// A later message of the same round, in either direction.
    case sync([UInt8])
    /// Ids of bundles the sender holds and the receiver may lack.
    case offer([[UInt8]])
    /// Bundles the sender asks for, each from a byte offset (non-zero to resume a transfer).
    case want([Want])
    /// A slice of one bundle: its id, its whole length, where the slice starts, the bytes.
    case part(Part)
    /// Keeps an idle link alive.
    case ping

    public struct Want: Equatable, Sendable {
        public var id: [UInt8]
        public var offset: UInt32
        public init(id: [UInt8], offset: UInt32 = 0) {
            self.id = id
            self.offset = offset
        }
    }

    public struct Part: Equatable, Sendable {
        public var id: [UInt8]
        public var total: UInt32
        public var offset: UInt32
        public var data: [UInt8]
        public init(id: [UInt8], total: UInt32, offset: UInt32, data: [UInt8]) {
            self.id = id
            self.total = total
            self.offset = offset
            self.data = data
        }
    }

    /// The largest frame (type and payload) accepted on a link.
    public static let maxSize = 256 * 1024
    /// The largest slice of a bundle put in one `part` frame.
    public static let maxPartData = 60_000
    /// Ids per `offer` or `want`.
    public static let maxIDs = 4096
    /// The largest bundle a link carries (a 64 MiB attachment, sealed and padded, fits).
    public static let maxBundle: UInt32 = 80 << 20
    static let idLength = 32

    enum Kind: UInt8 {
        case syncStart = 1, sync, offer, want, part, ping
    }

    /// Appends `u32 length ‖ type ‖ payload`.
    public func encode(into out: inout [UInt8]) {
        let start = out.count
        out += [0, 0, 0, 0]
        switch self {
        case .syncStart(let m):
            out.append(Kind.syncStart.rawValue)
            out += m
        case .sync(let m):
            out.append(Kind.sync.rawValue)
            out += m
        case .offer(let ids):
            out.append(Kind.offer.rawValue)
            for id in ids { out += id }
        case .want(let wants):
            out.append(Kind.want.rawValue)
            for w in wants {
                out += w.id
                LinkFrame.put32(w.offset, &out)
            }
        case .part(let p):
            out.append(Kind.part.rawValue)
            out += p.id
            LinkFrame.put32(p.total, &out)
            LinkFrame.put32(p.offset, &out)
            out += p.data
        case .ping:
            out.append(Kind.ping.rawValue)
        }
        let n = UInt32(out.count - start - 4)
        out[start] = UInt8(n >> 24)
        out[start + 1] = UInt8(truncatingIfNeeded: n >> 16)
        out[start + 2] = UInt8(truncatingIfNeeded: n >> 8)
        out[start + 3] = UInt8(truncatingIfNeeded: n)
    }

    public var encoded: [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Decodes one frame body (type and payload, without the length).
    public static func decode(_ body: ArraySlice<UInt8>) throws(LinkError) -> LinkFrame {
        guard let first = body.first else { throw .malformedFrame("empty frame") }
        guard let kind = Kind(rawValue: first) else { throw .malformedFrame("unknown frame type \(first)") }
        let p = body.dropFirst()
        switch kind {
        case .syncStart: return .syncStart(Array(p))
        case .sync: return .sync(Array(p))
        case .offer:
            guard p.count % idLength == 0, p.count / idLength <= maxIDs else {
                throw .malformedFrame("offer of \(p.count) bytes")
            }
            return .offer(stride(from: p.startIndex, to: p.endIndex, by: idLength).map { Array(p[$0..<$0 + idLength]) })
        case .want:
            let w = idLength + 4
            guard p.count % w == 0, p.count / w <= maxIDs else { throw .malformedFrame("want of \(p.count) bytes") }
            return .want(
                stride(from: p.startIndex, to: p.endIndex, by: w).map {
                    Want(id: Array(p[$0..<$0 + idLength]), offset: get32(p, $0 + idLength))
                })
        case .part:
            guard p.count > idLength + 8 else { throw .malformedFrame("part of \(p.count) bytes") }
            let s = p.startIndex
            let part = Part(
                id: Array(p[s..<s + idLength]), total: get32(p, s + idLength), offset: get32(p, s + idLength + 4),
                data: Array(p[(s + idLength + 8)...]))
            guard part.total <= maxBundle, part.data.count <= maxPartData,
                UInt64(part.offset) + UInt64(part.data.count) <= UInt64(part.total)
            else { throw .malformedFrame("part out of bounds") }
            return .part(part)
        case .ping:
            guard p.isEmpty else { throw .malformedFrame("ping with a payload") }
            return .ping
        }
    }

    static func put32(_ v: UInt32, _ out: inout [UInt8]) {
        out += [
            UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v),
        ]
    }

    static func get32(_ b: ArraySlice<UInt8>, _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}

/// Splits the decrypted byte stream of a link into frames. Pure: bytes in, frames out.
public struct FrameAssembler: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// Bytes waiting for the rest of their frame.
    public var pending: Int { buffer.count - start }

    public mutating func append(_ bytes: [UInt8]) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer += bytes
    }

    /// The next complete frame, nil if more bytes are needed. An oversized length is refused as soon
    /// as its four bytes arrive, before anything is buffered for it.
    public mutating func next() throws(LinkError) -> LinkFrame? {
        guard buffer.count - start >= 4 else { return compact() }
        let n = Int(LinkFrame.get32(buffer[...], start))
        guard n <= LinkFrame.maxSize else { throw .oversizedFrame(n) }
        guard buffer.count - start - 4 >= n else { return compact() }
        let frame = try LinkFrame.decode(buffer[(start + 4)..<(start + 4 + n)])
        start += 4 + n
        return frame
    }

    private mutating func compact() -> LinkFrame? {
        if start > 65536 {
            buffer.removeFirst(start)
            start = 0
        }
        return nil
    }
}
