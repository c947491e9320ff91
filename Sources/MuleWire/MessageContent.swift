/// What the sender seals for the recipient: who it is (sealed sender), the ack secret, the time
/// and the body. Encoded as `[senderSigningKey(32), senderAgreementKey(32), senderName, ackSecret(32),
/// sentAt, body]` with `body = [0, text] | [1, fileName, data]`, and a seventh element, the
/// disappearing time in milliseconds, only on a message that should be erased on both sides.
public struct MessageContent: Hashable, Sendable {
    public enum Body: Hashable, Sendable {
        case text(String)
        case file(name: String, data: [UInt8])
    }

    public var senderSigningKey: [UInt8]
    public var senderAgreementKey: [UInt8]
    public var senderName: String
    public var ackSecret: [UInt8]
    /// Unix time in milliseconds, as the sender's clock said.
    public var sentAt: UInt64
    public var body: Body
    /// Both sides erase the message this long after sending (sender) or arrival (recipient).
    public var disappearAfterMs: UInt64?

    public static let maxNameBytes = 64

    public init(
        senderSigningKey: [UInt8], senderAgreementKey: [UInt8], senderName: String,
        ackSecret: [UInt8], sentAt: UInt64, body: Body, disappearAfterMs: UInt64? = nil
    ) {
        self.disappearAfterMs = disappearAfterMs
        self.senderSigningKey = senderSigningKey
        self.senderAgreementKey = senderAgreementKey
        self.senderName = senderName
        self.ackSecret = ackSecret
        self.sentAt = sentAt
        self.body = body
    }

    public func encode() -> [UInt8] {
        var w = CBORWriter(capacity: 200)
        w.arrayHeader(disappearAfterMs == nil ? 6 : 7)
        w.byteString(senderSigningKey)
        w.byteString(senderAgreementKey)
        w.text(senderName)
        w.byteString(ackSecret)
        w.unsigned(sentAt)
        switch body {
        case .text(let t):
            w.arrayHeader(2)
            w.unsigned(0)
            w.text(t)
        case .file(let name, let data):
            w.arrayHeader(3)
            w.unsigned(1)
            w.text(name)
            w.byteString(data)
        }
        if let disappearAfterMs { w.unsigned(disappearAfterMs) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> MessageContent {
        var r = CBORReader(bytes)
        let fields = try r.readArrayHeader()
        guard fields == 6 || fields == 7 else { throw .invalidField("message content has \(fields) fields") }
        let ed = try r.readByteString(count: 32, field: "sender signing key")
        let x = try r.readByteString(count: 32, field: "sender agreement key")
        let name = try r.readText()
        guard name.utf8.count <= maxNameBytes else { throw .invalidField("sender name longer than \(maxNameBytes) bytes") }
        let ack = try r.readByteString(count: 32, field: "ack secret")
        let sentAt = try r.readUnsigned()
        let n = try r.readArrayHeader()
        let kind = try r.readUnsigned()
        let body: Body
        switch (kind, n) {
        case (0, 2): body = .text(try r.readText())
        case (1, 3):
            let fileName = try r.readText()
            body = .file(name: fileName, data: try r.readByteString())
        default: throw .invalidField("unknown message body kind \(kind) with \(n) fields")
        }
        var disappear: UInt64?
        if fields == 7 {
            disappear = try r.readUnsigned()
            guard disappear! > 0 else { throw .invalidField("a disappearing time of 0") }
        }
        try r.expectEnd()
        return MessageContent(
            senderSigningKey: ed, senderAgreementKey: x, senderName: name, ackSecret: ack, sentAt: sentAt, body: body,
            disappearAfterMs: disappear)
    }
}

/// The signed content and its signature: `[content bytes, signature(64)]`.
public struct SignedContent: Hashable, Sendable {
    public var content: [UInt8]
    public var signature: [UInt8]

    public init(content: [UInt8], signature: [UInt8]) {
        self.content = content
        self.signature = signature
    }

    public func encode() -> [UInt8] {
        var w = CBORWriter(capacity: content.count + 80)
        w.arrayHeader(2)
        w.byteString(content)
        w.byteString(signature)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(WireError) -> SignedContent {
        var r = CBORReader(bytes)
        try r.readArrayHeader(count: 2, what: "signed content")
        let c = try r.readByteString()
        let s = try r.readByteString(count: 64, field: "signature")
        try r.expectEnd()
        return SignedContent(content: c, signature: s)
    }
}
