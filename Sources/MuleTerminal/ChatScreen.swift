/// What `mule chat` shows on a terminal, as a pure model: a title row with the contact's
/// presence, the conversation wrapped to the terminal's width (newest at the bottom), and the
/// line being typed on the last row. `render()` draws the whole frame from the model, so a
/// status change, a resize or a message arriving mid-typing can never leave a stale or
/// overwritten row.
public struct ChatScreen: Sendable {
    public struct Entry: Sendable, Equatable {
        /// The message id, for status updates; nil for a notice.
        public var id: String?
        public var text: String
        public var status: String?

        public init(id: String?, text: String, status: String? = nil) {
            self.id = id
            self.text = text
            self.status = status
        }

        var shown: String { status.map { "\(text)  (\($0))" } ?? text }
    }

    public var title: String
    public var presence: String
    public private(set) var entries: [Entry] = []
    public var input = ""
    public var columns: Int
    public var rows: Int
    /// Entries kept (the screen shows the newest; `mule messages` has the whole history).
    public static let maxEntries = 2000

    public init(title: String, presence: String, columns: Int, rows: Int) {
        self.title = title
        self.presence = presence
        self.columns = columns
        self.rows = rows
    }

    public mutating func append(_ e: Entry) {
        entries.append(e)
        if entries.count > Self.maxEntries { entries.removeFirst(entries.count - Self.maxEntries) }
    }

    /// Sets the status of message `id`; false if it is not on the screen.
    @discardableResult
    public mutating func setStatus(_ id: String, _ status: String) -> Bool {
        guard let i = entries.lastIndex(where: { $0.id == id }) else { return false }
        entries[i].status = status
        return true
    }

    public func contains(_ id: String) -> Bool { entries.contains { $0.id == id } }

    /// The rows of the conversation area, bottom-aligned.
    public func bodyRows() -> [String] {
        let height = max(rows - 2, 1)
        var out: [String] = []
        for e in entries.reversed() {
            out.insert(contentsOf: DisplayWidth.wrap(Terminal.printable(e.shown), columns: columns), at: 0)
            if out.count >= height { break }
        }
        if out.count > height { out.removeFirst(out.count - height) }
        return Array(repeating: "", count: height - out.count) + out
    }

    /// The whole frame: each row positioned and cleared to its end, the cursor left after the
    /// typed text.
    public func render() -> String {
        let head = DisplayWidth.wrap(Terminal.printable("\(title) · \(presence)"), columns: columns)[0]
        var frame = "\u{1B}[?25l\u{1B}[1;1H\u{1B}[7m" + head + "\u{1B}[K\u{1B}[0m"
        for (i, row) in bodyRows().enumerated() {
            frame += "\u{1B}[\(i + 2);1H" + row + "\u{1B}[K"
        }
        let prompt = "> "
        let typed = DisplayWidth.tail(Terminal.printable(input), columns: max(columns - prompt.count - 1, 1))
        frame += "\u{1B}[\(rows);1H" + prompt + typed + "\u{1B}[K"
        frame += "\u{1B}[\(rows);\(prompt.count + DisplayWidth.of(typed) + 1)H\u{1B}[?25h"
        return frame
    }
}

public enum Terminal {
    /// Text from others made safe to print: control characters (which could move the cursor,
    /// retitle the window or rewrite earlier lines) become visible `^X` or `�`; line breaks and
    /// tabs stay.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if !isControl(s) {
                out.append(s)
            } else if s.value < 0x20 {
                out.append("^")
                out.append(Unicode.Scalar(UInt8(s.value) + 0x40))
            } else {
                out.append("\u{FFFD}")
            }
        }
        return String(out)
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool {
        (s.value < 0x20 && s != "\n" && s != "\t") || (0x7F..<0xA0).contains(s.value)
    }
}
