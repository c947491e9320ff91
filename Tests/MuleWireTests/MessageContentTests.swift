import Testing

@testable import MuleWire

@Suite struct MessageContentTests {
    let base = MessageContent(
        senderSigningKey: [UInt8](repeating: 1, count: 32), senderAgreementKey: [UInt8](repeating: 2, count: 32),
        senderName: "Alice", ackSecret: [UInt8](repeating: 3, count: 32), sentAt: 1_790_000_000_000, body: .text("hi"))

    /// A message that stays keeps the six-element form older nodes read; a disappearing one adds
    /// its time as a seventh element, which must be positive.
    @Test func theDisappearingTimeIsASeventhElementOnlyWhenSet() throws {
        let plain = base.encode()
        #expect(plain[0] == 0x86)
        #expect(try MessageContent.decode(plain) == base)
        var timed = base
        timed.disappearAfterMs = 7 * 86_400_000
        let bytes = timed.encode()
        #expect(bytes[0] == 0x87)
        #expect(try MessageContent.decode(bytes).disappearAfterMs == 7 * 86_400_000)
        var zero = plain
        zero[0] = 0x87
        zero.append(0x00)
        #expect(throws: WireError.self) { try MessageContent.decode(zero) }
        var eight = bytes
        eight[0] = 0x88
        eight.append(0x01)
        #expect(throws: WireError.self) { try MessageContent.decode(eight) }
    }
}
