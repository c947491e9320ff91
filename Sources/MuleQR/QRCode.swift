import CQRencode

/// A QR code (libqrencode), as a square of modules, and drawn as SVG or as terminal text.
public struct QRCode: Sendable, Equatable {
    /// Modules per side.
    public let size: Int
    /// Row-major, true for a dark module.
    public let modules: [Bool]

    /// Encodes `text` at error correction level M, in the densest modes its characters allow
    /// (upper-case letters and digits in alphanumeric mode). Nil if it does not fit a QR code.
    public init?(_ text: String) {
        guard let qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(qr) }
        let width = Int(qr.pointee.width)
        size = width
        modules = (0..<width * width).map { qr.pointee.data[$0] & 1 == 1 }
    }

    public func isDark(_ x: Int, _ y: Int) -> Bool { modules[y * size + x] }

    /// An SVG image with a 4-module quiet zone, one path for all dark modules.
    public func svg(moduleSize: Int = 4) -> String {
        let side = (size + 8) * moduleSize
        var path = ""
        path.reserveCapacity(size * size * 4)
        for y in 0..<size {
            for x in 0..<size where isDark(x, y) {
                path += "M\(x + 4),\(y + 4)h1v1h-1z"
            }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(side)" height="\(side)" viewBox="0 0 \(size + 8) \(size + 8)" \
            shape-rendering="crispEdges"><rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="\(path)"/></svg>
            """
    }
}

extension QRCode {
    /// Terminal text: two rows of modules per line in half blocks, with a 2-module quiet zone.
    /// Dark modules are drawn as filled cells; with `ansi`, black on a white background is set
    /// explicitly so that the code scans on a dark terminal too.
    public func terminal(ansi: Bool) -> String {
        let quiet = 2
        let side = size + 2 * quiet
        func dark(_ x: Int, _ y: Int) -> Bool {
            let (mx, my) = (x - quiet, y - quiet)
            return mx >= 0 && my >= 0 && mx < size && my < size && isDark(mx, my)
        }
        var out = ""
        for y in stride(from: 0, to: side, by: 2) {
            if ansi { out += "\u{1B}[30;47m" }
            for x in 0..<side {
                switch (dark(x, y), y + 1 < side && dark(x, y + 1)) {
                case (true, true): out += "█"
                case (true, false): out += "▀"
                case (false, true): out += "▄"
                case (false, false): out += " "
                }
            }
            if ansi { out += "\u{1B}[0m" }
            out += "\n"
        }
        return out
    }

    /// A PNG image (1-bit greyscale) with a 4-module quiet zone, `scale` pixels per module.
    public func png(scale: Int = 8) -> [UInt8] {
        let side = (size + 8) * scale
        let rowBytes = (side + 7) / 8
        var raw: [UInt8] = []
        raw.reserveCapacity((rowBytes + 1) * side)
        for py in 0..<side {
            raw.append(0)  // filter: none
            var row = [UInt8](repeating: 0xFF, count: rowBytes)
            let my = py / scale - 4
            for px in 0..<side {
                let mx = px / scale - 4
                if mx >= 0, my >= 0, mx < size, my < size, isDark(mx, my) {
                    row[px >> 3] &= ~(0x80 >> UInt8(px & 7))
                }
            }
            raw += row
        }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += PNG.be32(UInt32(side))
        header += PNG.be32(UInt32(side))
        header += [1, 0, 0, 0, 0]  // bit depth 1, greyscale, deflate, filter 0, no interlace
        png += PNG.chunk("IHDR", header)
        png += PNG.chunk("IDAT", PNG.zlibStored(raw))
        png += PNG.chunk("IEND", [])
        return png
    }
}

/// The few pieces of PNG (RFC 2083) and zlib (RFC 1950/1951) a QR code image needs: the image
/// data goes in uncompressed deflate blocks, which every decoder reads.
enum PNG {
    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for x in bytes {
            a = (a + UInt32(x)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    /// A zlib stream of stored (uncompressed) deflate blocks of at most 65 535 bytes each.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let last: UInt8 = offset + n == data.count ? 1 : 0
            out += [last, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8(~n >> 8 & 0xFF)]
            out += data[offset..<offset + n]
            offset += n
        } while offset < data.count
        return out + be32(adler32(data))
    }
}
