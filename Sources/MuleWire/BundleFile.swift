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

    /// Parses a whole file: throws only for a bad header; damaged bundles become `.damaged` entries.
    public static func parse(_ bytes: [UInt8]) throws(WireError) -> [Entry] {
        var offset = try checkHeader(bytes)
        var entries: [Entry] = []
        while offset < bytes.count {
            var r = CBORReader(bytes, offset: offset)
            do {
                let b = try BundleCodec.decode(&r)
                entries.append(.bundle(b, range: offset..<r.offset))
                offset = r.offset
            } catch {
                let next = nextCandidate(bytes, after: offset) ?? bytes.count
                entries.append(.damaged(error, range: offset..<next))
                offset = next
            }
        }
        return entries
    }

    /// The next offset after `start` where bytes look like the start of a bundle:
    /// 0x9F (indefinite array), a primary block array of 8–11 fields, then version 7.
    static func nextCandidate(_ bytes: [UInt8], after start: Int) -> Int? {
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
