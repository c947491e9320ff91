/// A Mule bundle file: a 9-byte header (8-byte magic, 1-byte format version) followed by
/// BPv7 bundles as an RFC 8742 CBOR sequence.
///
/// Reading is resilient: a damaged bundle is reported and the reader resynchronises on the next
/// byte position where a well-formed bundle starts, so one bad bundle never hides the others.
public enum BundleFile {
    /// `\x89MULE\r\n\x1a`: the high byte catches 7-bit transfers, CR LF catches line-ending
    /// conversion, and 0x1A stops `type` on DOS-like systems (the same idea as PNG's signature).
    public static let magic: [UInt8] = [0x89, 0x4D, 0x55, 0x4C, 0x45, 0x0D, 0x0A, 0x1A]
    public static let version: UInt8 = 1
    public static var header: [UInt8] { magic + [version] }

    public enum Entry: Sendable {
        /// A bundle whose CBOR structure and CRCs are valid, with its exact bytes in the file.
        case bundle(BPBundle, range: Range<Int>)
        /// Bytes that should have held a bundle but did not decode.
        case damaged(WireError, range: Range<Int>)
    }

    /// Checks the header and returns the offset of the first bundle.
    public static func checkHeader(_ bytes: [UInt8]) throws(WireError) -> Int {
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { throw .wrongMagic }
        guard bytes.count > magic.count else { throw .truncated(at: magic.count) }
        let v = bytes[magic.count]
        guard v == version else { throw .unknownVersion("bundle file", UInt64(v)) }
        return magic.count + 1
    }

    /// How many bytes a parse may examine, in all, for a file of `count` bytes: every decode
    /// attempt is charged the bytes it read (CRCs included). A file with a few damaged bundles
    /// costs about its size; a crafted one (each bundle's payload holding the next, every CRC
    /// wrong, so that resynchronising re-reads the rest of the file from every candidate) would
    /// cost the square of its size without this bound.
    public static func workBudget(forFileOf count: Int) -> Int { 4 * count + (1 << 20) }

    /// Parses a whole file: throws only for a bad header; damaged bundles become `.damaged` entries.
    ///
    /// Linear in the file size: past `workBudget(forFileOf:)` examined bytes, the rest of the file
    /// is reported as one damaged range instead of being searched for more bundles.
    public static func parse(_ bytes: [UInt8]) throws(WireError) -> [Entry] {
        var examined = 0
        return try parse(bytes, examined: &examined)
    }

    /// `parse`, also telling how many bytes the decode attempts examined in all.
    public static func parse(_ bytes: [UInt8], examined: inout Int) throws(WireError) -> [Entry] {
        var offset = try checkHeader(bytes)
        var entries: [Entry] = []
        let budget = workBudget(forFileOf: bytes.count)
        while offset < bytes.count {
            var r = CBORReader(bytes, offset: offset)
            do {
                let b = try BundleCodec.decode(&r)
                examined += r.offset - offset
                entries.append(.bundle(b, range: offset..<r.offset))
                offset = r.offset
            } catch {
                examined += max(r.offset - offset, 1)
                guard examined <= budget else {
                    entries.append(.damaged(.tooLarge("damage to resynchronise past", at: offset), range: offset..<bytes.count))
                    break
                }
                let next = nextCandidate(bytes, after: offset) ?? bytes.count
                entries.append(.damaged(error, range: offset..<next))
                offset = next
            }
        }
        return entries
    }

    /// The next offset after `start` where bytes look like the start of a bundle:
    /// 0x9F (indefinite array), a primary block array of 8–11 fields, then version 7.
    public static func nextCandidate(_ bytes: [UInt8], after start: Int) -> Int? {
        var i = start + 1
        while i + 2 < bytes.count {
            if bytes[i] == 0x9F, (0x88...0x8B).contains(bytes[i + 1]), bytes[i + 2] == 0x07 { return i }
            i += 1
        }
        return nil
    }

    /// Serialises bundles (already encoded) into a file image.
    public static func write<S: Sequence>(_ encodedBundles: S) -> [UInt8] where S.Element == [UInt8] {
        var out = header
        for b in encodedBundles { out += b }
        return out
    }
}
