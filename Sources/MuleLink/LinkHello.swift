import MuleCrypto
import MuleWire

/// The payload of Noise handshake messages 2 and 3 (encrypted): the protocol version and, only when
/// the user opted in with `--visible-as`, a signed announcement of who they are, with their current
/// signed prekey so that someone who adds them from `mule nearby` seals envelope version 2 at once.
///
/// Link keys are random for every run, so a node that does not announce itself cannot be
/// recognised across restarts; the announcement binds the identity to this run's link key.
public struct LinkHello: Equatable, Sendable {
    public static let version: UInt64 = 1
    public var version: UInt64 = LinkHello.version
    public var visible: Visible?

    public struct Visible: Equatable, Sendable {
        public var name: String
        public var signingKey: [UInt8]
        public var agreementKey: [UInt8]
        public var signature: [UInt8]
        /// The announcer's current prekey (PROTOCOL §13.7), signed by its own identity key; absent
        /// from nodes before envelope version 2.
        public var prekey: SignedPrekey?

        public var publicIdentity: PublicIdentity {
            PublicIdentity(name: name, signingKey: signingKey, agreementKey: agreementKey)
        }

        static func signed(_ name: String, keys: PublicIdentity, linkKey: [UInt8]) -> [UInt8] {
            Array("mule-visible-v1".utf8) + linkKey + keys.signingKey + keys.agreementKey + Array(name.utf8)
        }

        /// Signs an announcement of `identity` under `name` for the link key `linkKey`, carrying
        /// `prekey` (which `identity` signed on its own).
        public init(identity: Identity, name: String, linkKey: [UInt8], prekey: SignedPrekey? = nil) {
            self.name = name
            signingKey = identity.signing.publicKey
            agreementKey = identity.agreement.publicKey
            signature = identity.signing.sign(Visible.signed(name, keys: identity.publicIdentity, linkKey: linkKey))
            self.prekey = prekey
        }

        init(name: String, signingKey: [UInt8], agreementKey: [UInt8], signature: [UInt8], prekey: SignedPrekey?) {
            self.name = name
            self.signingKey = signingKey
            self.agreementKey = agreementKey
            self.signature = signature
            self.prekey = prekey
        }

        /// True if the announcement was signed for this link key by the identity it names.
        public func verify(linkKey: [UInt8]) -> Bool {
            SigningKey.verify(
                signature: signature, message: Visible.signed(name, keys: publicIdentity, linkKey: linkKey),
                publicKey: signingKey)
        }
    }

    public init(visible: Visible? = nil) {
        self.visible = visible
    }

    /// CBOR: `[version, null]` or `[version, [name, signingKey, agreementKey, signature]]`, with a
    /// fifth element, the signed prekey's CBOR as a byte string, when there is one.
    public func encode() -> [UInt8] {
        var w = CBORWriter()
        w.arrayHeader(2)
        w.unsigned(version)
        if let v = visible {
            w.arrayHeader(v.prekey == nil ? 4 : 5)
            w.text(v.name)
            w.byteString(v.signingKey)
            w.byteString(v.agreementKey)
            w.byteString(v.signature)
            if let p = v.prekey { w.byteString(p.encode()) }
        } else {
            w.null()
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(LinkError) -> LinkHello {
        do {
            var r = CBORReader(bytes)
            try r.readArrayHeader(count: 2, what: "hello")
            var hello = LinkHello()
            hello.version = try r.readUnsigned()
            guard hello.version >= 1 else { throw LinkError.malformedHello("version 0") }
            if try r.peekByte() == 0xF6 {
                _ = try r.skipItem()
            } else {
                let count = try r.readArrayHeader()
                guard count == 4 || count == 5 else { throw LinkError.malformedHello("visible has \(count) elements") }
                let name = try r.readText()
                guard !name.isEmpty, name.utf8.count <= 64 else { throw LinkError.malformedHello("name length") }
                let signingKey = try r.readByteString(count: 32, field: "signing key")
                let agreementKey = try r.readByteString(count: 32, field: "agreement key")
                let signature = try r.readByteString(count: 64, field: "signature")
                var prekey: SignedPrekey?
                if count == 5 {
                    let p = try SignedPrekey.decode(try r.readByteString())
                    // Signed by the identity it comes with, or the whole hello is refused.
                    guard p.verify(signingKey: signingKey) else { throw LinkError.malformedHello("prekey signature") }
                    prekey = p
                }
                hello.visible = Visible(
                    name: name, signingKey: signingKey, agreementKey: agreementKey, signature: signature, prekey: prekey)
            }
            try r.expectEnd()
            return hello
        } catch let e as LinkError {
            throw e
        } catch {
            throw .malformedHello("\(error)")
        }
    }
}
