/// How many terminal columns text takes: 0 for combining marks and other zero-width scalars,
/// 2 for East Asian wide and fullwidth characters and emoji, 1 otherwise. One grapheme cluster
/// (a `Character`) is as wide as its widest scalar, so a base letter with combining accents
/// takes 1 column and an emoji ZWJ sequence 2.
public enum DisplayWidth {
    public static func of(_ c: Character) -> Int {
        if c == "\t" { return 1 }
        var widest = 0
        for s in c.unicodeScalars {
            widest = max(widest, of(s))
            if widest == 2 { break }
        }
        return widest
    }

    public static func of(_ text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + of($1) }
    }

    public static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        if v < 0x300 { return 1 }
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if v == 0x200B || (0xFE00...0xFE0F).contains(v) || (0xE0100...0xE01EF).contains(v) { return 0 }
        if isWide(v) || s.properties.isEmojiPresentation { return 2 }
        return 1
    }

    /// East Asian Wide (W) and Fullwidth (F) blocks, as terminals draw them.
    static func isWide(_ v: UInt32) -> Bool {
        switch v {
        case 0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF,
            0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19,
            0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD,
            0x30000...0x3FFFD:
            return true
        default:
            return false
        }
    }

    /// Breaks text into rows of at most `columns` display columns: at line breaks, and where a
    /// row is full (at the last space when there is one, else in the middle of a word). Never
    /// splits a character; a character wider than the row gets a row of its own.
    public static func wrap(_ text: String, columns: Int) -> [String] {
        let columns = max(columns, 2)
        var rows: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var row = ""
            var width = 0
            var lastSpace: String.Index?
            for c in line {
                let w = of(c)
                if width + w > columns, !row.isEmpty {
                    if let cut = lastSpace, cut > row.startIndex {
                        rows.append(String(row[..<cut]))
                        row = String(row[row.index(after: cut)...])
                    } else {
                        rows.append(row)
                        row = ""
                    }
                    width = of(row)
                    lastSpace = nil
                }
                if c == " " { lastSpace = row.endIndex }
                row.append(c == "\t" ? " " : c)
                width += w
            }
            rows.append(row)
        }
        return rows
    }

    /// The end of `text` that fits in `columns` (what an input line shows as it grows).
    public static func tail(_ text: String, columns: Int) -> String {
        var width = 0
        var start = text.endIndex
        while start > text.startIndex {
            let before = text.index(before: start)
            let w = of(text[before])
            if width + w > columns { break }
            width += w
            start = before
        }
        return String(text[start...])
    }
}
