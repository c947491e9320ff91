/// One device's account: a display name, an Ed25519 signing key and an X25519 agreement key.
public struct Identity: Sendable {
    public var name: String
    public let signing: SigningKey
    public let agreement: AgreementKey

    public init(name: String, signing: SigningKey, agreement: AgreementKey) {
        self.name = name
        self.signing = signing
        self.agreement = agreement
    }

    public static func generate(name: String) -> Identity {
        Identity(name: name, signing: .generate(), agreement: .generate())
    }

    public var publicIdentity: PublicIdentity {
        PublicIdentity(name: name, signingKey: signing.publicKey, agreementKey: agreement.publicKey)
    }
}

/// What others know of an identity: its keys and the name it gives itself.
public struct PublicIdentity: Hashable, Sendable {
    public var name: String
    public var signingKey: [UInt8]
    public var agreementKey: [UInt8]

    public init(name: String, signingKey: [UInt8], agreementKey: [UInt8]) {
        self.name = name
        self.signingKey = signingKey
        self.agreementKey = agreementKey
    }

    /// 40 decimal digits in 8 groups, for reading aloud: each group is 5 bytes of
    /// BLAKE2b-512("mule-fp-v1" || signingKey || agreementKey) taken modulo 100000.
    public var fingerprint: String {
        let h = Sodium.blake2b(outputLength: 64, Array("mule-fp-v1".utf8), signingKey, agreementKey)
        return (0..<8).map { g -> String in
            var v: UInt64 = 0
            for i in 0..<5 { v = (v << 8) | UInt64(h[g * 5 + i]) }
            let s = String(v % 100_000)
            return String(repeating: "0", count: 5 - s.count) + s
        }.joined(separator: " ")
    }
}
