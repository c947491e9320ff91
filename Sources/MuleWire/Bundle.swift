/// CRC type codes of RFC 9171 §4.2.1.
public enum CRCType: UInt64, Sendable {
    case none = 0
    case crc16 = 1
    case crc32c = 2

    var valueLength: Int { self == .crc16 ? 2 : 4 }
}

/// The BPv7 primary block (RFC 9171 §4.3.1).
public struct PrimaryBlock: Hashable, Sendable {
    public var flags: UInt64
    public var crcType: CRCType
    public var destination: EndpointID
    public var source: EndpointID
    public var reportTo: EndpointID
    /// Creation time in milliseconds since the DTN epoch (2000-01-01T00:00:00Z); 0 means unknown.
    public var creationTime: UInt64
    public var sequenceNumber: UInt64
    /// Lifetime in milliseconds.
    public var lifetime: UInt64
    public var fragmentOffset: UInt64?
    public var totalADULength: UInt64?

    public static let isFragment: UInt64 = 0x01
    public static let mustNotBeFragmented: UInt64 = 0x04

    public init(
        flags: UInt64 = PrimaryBlock.mustNotBeFragmented, crcType: CRCType = .crc32c,
        destination: EndpointID, source: EndpointID = .dtnNone, reportTo: EndpointID = .dtnNone,
        creationTime: UInt64, sequenceNumber: UInt64 = 0, lifetime: UInt64,
        fragmentOffset: UInt64? = nil, totalADULength: UInt64? = nil
    ) {
        self.flags = flags
        self.crcType = crcType
        self.destination = destination
        self.source = source
        self.reportTo = reportTo
        self.creationTime = creationTime
        self.sequenceNumber = sequenceNumber
        self.lifetime = lifetime
        self.fragmentOffset = fragmentOffset
        self.totalADULength = totalADULength
    }
}

/// A BPv7 canonical block (RFC 9171 §4.3.2). The payload block has type 1 and number 1.
public struct CanonicalBlock: Hashable, Sendable {
    public var type: UInt64
    public var number: UInt64
    public var flags: UInt64
    public var crcType: CRCType
    public var data: [UInt8]

    public static let payloadType: UInt64 = 1

    public init(type: UInt64, number: UInt64, flags: UInt64 = 0, crcType: CRCType = .crc32c, data: [UInt8]) {
        self.type = type
        self.number = number
        self.flags = flags
        self.crcType = crcType
        self.data = data
    }

    public static func payload(_ data: [UInt8], crcType: CRCType = .crc32c) -> CanonicalBlock {
        CanonicalBlock(type: payloadType, number: 1, crcType: crcType, data: data)
    }
}

/// A BPv7 bundle: a primary block followed by canonical blocks, the payload block last.
public struct BPBundle: Hashable, Sendable {
    public var primary: PrimaryBlock
    /// Extension blocks followed by the payload block.
    public var blocks: [CanonicalBlock]

    public init(primary: PrimaryBlock, blocks: [CanonicalBlock]) {
        self.primary = primary
        self.blocks = blocks
    }

    public var payload: [UInt8] { blocks.last?.data ?? [] }

    /// Milliseconds between the Unix epoch and the DTN epoch (2000-01-01T00:00:00Z).
    public static let dtnEpochOffsetMs: UInt64 = 946_684_800_000
}
