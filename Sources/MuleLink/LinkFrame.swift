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
    /// Relay → client, first frame on a relay link: the proof-of-work challenge and limits.
    case relayWelcome(RelayWelcome)
    /// Client → relay: a bundle that follows in `part` frames, with its proof-of-work stamp.
    case deposit(Deposit)
    /// Relay → client: what became of a deposit.
    case depositResult(id: [UInt8], result: DepositResult)
    /// Client → relay: the recipient tags to hand bundles for (replaces the previous set).
    case subscribe([[UInt8]])
    /// Client → relay: ack secrets of messages it opened, or ids of receipts it took: delete them.
    case release([[UInt8]])
    /// Client → relay: drop hashes of deposited messages whose delivery the client waits for.
    case watch([[UInt8]])
    /// Relay → client: ack secrets that recipients revealed for watched drop hashes.
    case acks([[UInt8]])
    /// Client → relay: more recipient tags, added to the set of the last `subscribe` (a node with
    /// more tags than one frame holds sends `subscribe` and then these).
    case subscribeMore([[UInt8]])

    public struct Want: Equatable, Sendable {
        public var id: [UInt8]
        public var offset: UInt32
        public init(id: [UInt8], offset: UInt32 = 0) {
            self.id = id
            self.offset = offset
        }
    }

    public struct RelayWelcome: Equatable, Sendable {
        public static let version: UInt8 = 1
        public var version: UInt8 = RelayWelcome.version
        /// 16 random bytes, new for every link: stamps are bound to it.
        public var challenge: [UInt8]
        /// Leading zero bits a stamp needs for a bundle under 1 MiB (see `RelayStamp`).
        public var bits: UInt8
        /// The largest bundle the relay accepts.
        public var maxBundle: UInt32
        public init(challenge: [UInt8], bits: UInt8, maxBundle: UInt32) {
            self.challenge = challenge
            self.bits = bits
            self.maxBundle = maxBundle
        }
    }

    public struct Deposit: Equatable, Sendable {
        public var id: [UInt8]
        public var total: UInt32
        public var nonce: UInt64
        public init(id: [UInt8], total: UInt32, nonce: UInt64) {
            self.id = id
            self.total = total
            self.nonce = nonce
        }
    }

    public enum DepositResult: UInt8, Equatable, Sendable, CustomStringConvertible {
        /// Written to the relay's store.
        case stored = 0
        /// The relay holds it already, or its message was delivered.
        case known = 1
        case badStamp = 2
        case overQuota = 3
        case tooLarge = 4
        /// Not a Mule bundle, expired, or not matching its id.
        case invalid = 5
        /// Another deposit is still being received on this link.
        case busy = 6

        public var description: String {
            switch self {
            case .stored: return "stored"
            case .known: return "already held"
            case .badStamp: return "bad proof-of-work stamp"
            case .overQuota: return "over quota"
            case .tooLarge: return "too large"
            case .invalid: return "invalid bundle"
            case .busy: return "busy"
            }
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
    /// Recipient tags one relay link may subscribe to in all (`subscribe` plus `subscribeMore`):
    /// nine days of tags for about 3 600 contacts.
    public static let maxSubscribedTags = 8 * maxIDs
    /// The largest bundle a link carries (a 64 MiB attachment, sealed and padded, fits).
    public static let maxBundle: UInt32 = 80 << 20
    static let idLength = 32
    static let tagLength = 16

    enum Kind: UInt8 {
        case syncStart = 1, sync, offer, want, part, ping
        case relayWelcome, deposit, depositResult, subscribe, release, watch, acks, subscribeMore
    }

    /// The `part` of `data` (bundle `id`) that starts at `offset`: at most `maxPartData` bytes.
    public static func part(of data: [UInt8], id: [UInt8], from offset: Int) -> LinkFrame {
        let end = min(offset + maxPartData, data.count)
        return .part(Part(id: id, total: UInt32(data.count), offset: UInt32(offset), data: Array(data[offset..<end])))
    }

    /// The `part` that says a bundle is gone (total 0).
    public static func gone(_ id: [UInt8]) -> LinkFrame { .part(Part(id: id, total: 0, offset: 0, data: [])) }

    /// `values` cut into frames of at most `maxIDs` each (none for none).
    public static func batches<T>(_ values: [T], _ make: ([T]) -> LinkFrame) -> [LinkFrame] {
        stride(from: 0, to: values.count, by: maxIDs).map { make(Array(values[$0..<min($0 + maxIDs, values.count)])) }
    }

    /// True for the frames only a relay link carries.
    public var isRelayFrame: Bool {
        switch self {
        case .relayWelcome, .deposit, .depositResult, .subscribe, .release, .watch, .acks, .subscribeMore: return true
        default: return false
        }
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
        case .relayWelcome(let w):
            out.append(Kind.relayWelcome.rawValue)
            out.append(w.version)
            out += w.challenge
            out.append(w.bits)
            LinkFrame.put32(w.maxBundle, &out)
        case .deposit(let d):
            out.append(Kind.deposit.rawValue)
            out += d.id
            LinkFrame.put32(d.total, &out)
            LinkFrame.put32(UInt32(d.nonce >> 32), &out)
            LinkFrame.put32(UInt32(truncatingIfNeeded: d.nonce), &out)
        case .depositResult(let id, let result):
            out.append(Kind.depositResult.rawValue)
            out += id
            out.append(result.rawValue)
        case .subscribe(let tags):
            out.append(Kind.subscribe.rawValue)
            for t in tags { out += t }
        case .subscribeMore(let tags):
            out.append(Kind.subscribeMore.rawValue)
            for t in tags { out += t }
        case .release(let values):
            out.append(Kind.release.rawValue)
            for v in values { out += v }
        case .watch(let hashes):
            out.append(Kind.watch.rawValue)
            for h in hashes { out += h }
        case .acks(let acks):
            out.append(Kind.acks.rawValue)
            for a in acks { out += a }
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
        case .offer: return .offer(try split(p, idLength, "offer"))
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
        case .relayWelcome:
            guard p.count == 22 else { throw .malformedFrame("relay welcome of \(p.count) bytes") }
            let s = p.startIndex
            var w = RelayWelcome(challenge: Array(p[s + 1..<s + 17]), bits: p[s + 17], maxBundle: get32(p, s + 18))
            w.version = p[s]
            guard w.version >= 1 else { throw .malformedFrame("relay welcome version 0") }
            return .relayWelcome(w)
        case .deposit:
            guard p.count == idLength + 12 else { throw .malformedFrame("deposit of \(p.count) bytes") }
            let s = p.startIndex
            let nonce = UInt64(get32(p, s + idLength + 4)) << 32 | UInt64(get32(p, s + idLength + 8))
            let d = Deposit(id: Array(p[s..<s + idLength]), total: get32(p, s + idLength), nonce: nonce)
            guard d.total > 0, d.total <= maxBundle else { throw .malformedFrame("deposit of a \(d.total)-byte bundle") }
            return .deposit(d)
        case .depositResult:
            guard p.count == idLength + 1, let r = DepositResult(rawValue: p[p.endIndex - 1]) else {
                throw .malformedFrame("deposit result of \(p.count) bytes")
            }
            return .depositResult(id: Array(p.prefix(idLength)), result: r)
        case .subscribe: return .subscribe(try split(p, tagLength, "subscribe"))
        case .subscribeMore: return .subscribeMore(try split(p, tagLength, "subscribe"))
        case .release: return .release(try split(p, idLength, "release"))
        case .watch: return .watch(try split(p, idLength, "watch"))
        case .acks: return .acks(try split(p, idLength, "acks"))
        }
    }

    /// A payload of `size`-byte values, at most `maxIDs` of them.
    static func split(_ p: ArraySlice<UInt8>, _ size: Int, _ what: String) throws(LinkError) -> [[UInt8]] {
        guard p.count % size == 0, p.count / size <= maxIDs else { throw .malformedFrame("\(what) of \(p.count) bytes") }
        return stride(from: p.startIndex, to: p.endIndex, by: size).map { Array(p[$0..<$0 + size]) }
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
