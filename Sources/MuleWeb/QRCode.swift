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
