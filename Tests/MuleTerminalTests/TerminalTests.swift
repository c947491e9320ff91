import Testing

@testable import MuleTerminal

@Suite struct DisplayWidthTests {
    @Test func widths() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("日本語") == 6)
        #expect(DisplayWidth.of("café") == 4)
        #expect(DisplayWidth.of("n\u{0303}") == 1)  // n + combining tilde: one column
        #expect(DisplayWidth.of("👍") == 2)
        #expect(DisplayWidth.of("👍🏽") == 2)  // with a skin tone modifier
        #expect(DisplayWidth.of("👩‍👩‍👧") == 2)  // a ZWJ sequence is one character
        #expect(DisplayWidth.of("ＡＢ") == 4)  // fullwidth
        #expect(DisplayWidth.of("\u{200B}") == 0)
    }

    @Test func wrapNeverExceedsTheWidthNorSplitsACharacter() {
        let text = "日本語のテキスト café ñ̃ 👍 " + String(repeating: "word ", count: 40) + String(repeating: "x", count: 100)
        for columns in [5, 7, 10, 33, 70] {
            let rows = DisplayWidth.wrap(text, columns: columns)
            #expect(rows.allSatisfy { DisplayWidth.of($0) <= columns }, "\(columns)")
            // Only the spaces a break replaced are gone.
            #expect(rows.joined().filter { $0 != " " } == text.filter { $0 != " " })
        }
        #expect(DisplayWidth.wrap("one two three", columns: 8) == ["one two", "three"])
        #expect(DisplayWidth.wrap("a\nb", columns: 8) == ["a", "b"])
        #expect(DisplayWidth.wrap("日本語", columns: 5) == ["日本", "語"])
    }

    @Test func tailFitsTheColumns() {
        #expect(DisplayWidth.tail("hello world", columns: 5) == "world")
        #expect(DisplayWidth.tail("日本語", columns: 5) == "本語")
    }
}

@Suite struct LineEditorTests {
    func feed(_ e: inout LineEditor, _ bytes: [UInt8]) -> [LineEditor.Action] {
        bytes.compactMap { e.feed($0) }
    }

    @Test func utf8BackspaceClearAndSubmit() {
        var e = LineEditor()
        _ = feed(&e, Array("héllo 日本".utf8))
        #expect(e.line == "héllo 日本")
        _ = feed(&e, [0x7F])
        #expect(e.line == "héllo 日")
        _ = feed(&e, [0x1B, UInt8(ascii: "["), UInt8(ascii: "D")])  // an arrow key is skipped
        #expect(e.line == "héllo 日")
        #expect(feed(&e, [0x0D]) == [.submit("héllo 日")])
        #expect(e.line.isEmpty)
        _ = feed(&e, Array("abc".utf8) + [0x15])
        #expect(e.line.isEmpty)
        #expect(feed(&e, [0x04]) == [.end])
        _ = feed(&e, Array("x".utf8))
        #expect(feed(&e, [0x04]).isEmpty)  // Ctrl-D ends only on an empty line
        #expect(feed(&e, [0x03]) == [.end])
    }

    @Test func invalidUTF8AndControlBytesAreDropped() {
        var e = LineEditor()
        _ = feed(&e, [0xFF, 0xC3, 0x28, 0x01, 0x02] + Array("ok".utf8))
        #expect(e.line == "ok")
    }

    @Test func aHugePasteIsBounded() {
        var e = LineEditor()
        for _ in 0..<(LineEditor.maxBytes + 1000) { _ = e.feed(UInt8(ascii: "a")) }
        #expect(e.line.utf8.count == LineEditor.maxBytes)
    }
}

@Suite struct ChatScreenTests {
    @Test func statusUpdatesInPlaceAndTheInputRowStays() {
        var s = ChatScreen(title: "Chat with Bob", presence: "linked", columns: 20, rows: 8)
        s.append(.init(id: "a", text: "you: " + String(repeating: "long ", count: 10), status: "queued"))
        s.append(.init(id: "b", text: "Bob: hi"))
        s.input = "typing"
        let before = s.bodyRows()
        #expect(before.count == 6)
        let found = s.setStatus("a", "delivered")
        let missing = s.setStatus("zz", "delivered")
        #expect(found && !missing)
        let after = s.bodyRows()
        #expect(after.last == "Bob: hi")
        #expect(after.contains { $0.contains("(delivered)") } && !after.contains { $0.contains("queued") })
        #expect(after.allSatisfy { DisplayWidth.of($0) <= 20 })
        let frame = s.render()
        #expect(frame.contains("\u{1B}[8;1H> typing\u{1B}[K"))
        #expect(frame.hasSuffix("\u{1B}[8;9H\u{1B}[?25h"))
    }

    @Test func controlCharactersFromOthersAreMadeVisible() {
        #expect(Terminal.printable("a\u{1B}]0;pwned\u{07}b") == "a^[]0;pwned^Gb")
        #expect(Terminal.printable("x\u{9B}2Jy") == "x\u{FFFD}2Jy")
        #expect(Terminal.printable("line\nnext\ttab") == "line\nnext\ttab")
        var s = ChatScreen(title: "t", presence: "p", columns: 40, rows: 5)
        s.append(.init(id: nil, text: "evil \u{1B}[2J"))
        #expect(!s.bodyRows().joined().contains("\u{1B}"))
    }
}
