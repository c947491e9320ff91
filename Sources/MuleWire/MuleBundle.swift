/// A BPv7 bundle in the exact shape Mule writes: anonymous source, a destination that holds only
/// an opaque 16-byte recipient tag (`dtn://<32 hex digits>/`), a creation time rounded down to the
/// hour with sequence number 0, a lifetime, CRC-32C on both blocks, and one payload block that
/// holds an ``Envelope``. Anything else is rejected, so one logical bundle has one encoding.
public struct MuleBundle: Hashable, Sendable {
    public var tag: [UInt8]
    /// Milliseconds since the DTN epoch, a multiple of ``creationGranularityMs``.
    public var creationTime: UInt64
    /// Milliseconds.
    public var lifetime: UInt64
    public var envelope: Envelope

    public static let creationGranularityMs: UInt64 = 3_600_000
    public static let tagLength = 16
    public static let maxLifetimeMs: UInt64 = 365 * 86_400_000

    public init(tag: [UInt8], creationTime: UInt64, lifetime: UInt64, envelope: Envelope) {
        self.tag = tag
        self.creationTime = creationTime
        self.lifetime = lifetime
        self.envelope = envelope
    }

    /// The creation time Mule writes for a bundle made at `unixMs`: DTN time rounded down to the hour.
    public static func coarseCreationTime(unixMs: UInt64) -> UInt64 {
        let dtn = unixMs > BPBundle.dtnEpochOffsetMs ? unixMs - BPBundle.dtnEpochOffsetMs : 0
        return dtn - dtn % creationGranularityMs
    }

    /// Unix milliseconds after which the bundle is expired.
    public var expiresAtUnixMs: UInt64 { creationTime &+ BPBundle.dtnEpochOffsetMs &+ lifetime }

    /// The UTC day number (days since the Unix epoch) of the creation time: the tag rotation period.
    public var creationDay: UInt32 { Self.day(ofCreationTime: creationTime) }

    /// The UTC day number of a DTN creation time.
    public static func day(ofCreationTime t: UInt64) -> UInt32 { UInt32((t + BPBundle.dtnEpochOffsetMs) / 86_400_000) }

    public static func destination(for tag: [UInt8]) -> EndpointID { .dtn("//\(Hex.encode(tag))/") }

    /// The tag of `//<32 lower-case hex digits>/`, or nil: parsed from UTF-8 bytes, no String work.
    static func tag(fromSSP ssp: String) -> [UInt8]? {
        var ssp = ssp
        return ssp.withUTF8 { u -> [UInt8]? in
            let slash = UInt8(ascii: "/")
            guard u.count == 35, u[0] == slash, u[1] == slash, u[34] == slash else { return nil }
            var tag = [UInt8](repeating: 0, count: tagLength)
            for i in 0..<tagLength {
                guard let hi = lowerHexValue(u[2 + 2 * i]), let lo = lowerHexValue(u[3 + 2 * i]) else { return nil }
                tag[i] = hi << 4 | lo
            }
            return tag
        }
    }

    static func lowerHexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }

    public var bundle: BPBundle {
        BPBundle(
            primary: PrimaryBlock(
                destination: MuleBundle.destination(for: tag), creationTime: creationTime, lifetime: lifetime),
            blocks: [.payload(envelope.encode())])
    }

    public func encode() -> [UInt8] { BundleCodec.encode(bundle) }

    /// Validates that a decoded BPv7 bundle has Mule's shape and decodes its envelope.
    public init(_ b: BPBundle) throws(WireError) {
        let p = b.primary
        guard p.source == .dtnNone, p.reportTo == .dtnNone else {
            throw .invalidField("source and report-to must be dtn:none")
        }
        guard p.flags == PrimaryBlock.mustNotBeFragmented else {
            throw .invalidField("unexpected bundle flags 0x\(String(p.flags, radix: 16))")
        }
        guard p.crcType == .crc32c else { throw .invalidField("primary block must carry a CRC-32C") }
        guard p.sequenceNumber == 0, p.creationTime % MuleBundle.creationGranularityMs == 0 else {
            throw .invalidField("creation time is not rounded to the hour")
        }
        guard p.lifetime > 0, p.lifetime <= MuleBundle.maxLifetimeMs else {
            throw .invalidField("lifetime of \(p.lifetime) ms is outside 1 ms … 365 days")
        }
        guard case .dtn(let ssp) = p.destination, let tag = MuleBundle.tag(fromSSP: ssp) else {
            throw .invalidField("destination \(p.destination) is not a Mule recipient tag")
        }
        guard b.blocks.count == 1, b.blocks[0].crcType == .crc32c, b.blocks[0].flags == 0 else {
            throw .invalidField("a Mule bundle has exactly one payload block with a CRC-32C")
        }
        self.init(tag: tag, creationTime: p.creationTime, lifetime: p.lifetime, envelope: try Envelope.decode(b.payload))
    }
}
