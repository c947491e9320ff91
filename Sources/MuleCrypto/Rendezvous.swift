/// Keys for the reachability record a node leaves in the DHT for one contact on one UTC day.
///
/// Both contacts can compute them from their pair key; nobody else can. The record's DHT key (an
/// Ed25519 key pair, so a BEP 44 mutable item) and its encryption key change every day and are
/// different for each contact, so records of two days, or for two contacts, cannot be linked.
public struct RendezvousKeys: Sendable {
    /// Signs the BEP 44 item; its public key (with an empty salt) is the item's address.
    public let item: SigningKey
    let box: SecretBytes
    let context: [UInt8]

    /// - Parameters:
    ///   - pairKey: ``RecipientTags/pairKey(me:peerSigningKey:peerAgreementKey:)``.
    ///   - publisher: the signing key of the contact who publishes the record.
    public init(pairKey: [UInt8], publisher: [UInt8], day: UInt32) throws(CryptoError) {
        let d = RecipientTags.dayBytes(day)
        item = try SigningKey(
            seed: Sodium.blake2b(outputLength: 32, key: pairKey, Array("mule-rendezvous-item-v1".utf8), publisher, d))
        box = SecretBytes(
            copying: Sodium.blake2b(outputLength: 32, key: pairKey, Array("mule-rendezvous-box-v1".utf8), publisher, d))
        context = Array("mule-rendezvous-v1".utf8) + publisher + d
    }

    /// `nonce(24) ‖ XChaCha20-Poly1305(record)`, the publisher key and day bound in as associated data.
    public func seal(_ record: [UInt8]) -> [UInt8] {
        let nonce = Sodium.randomBytes(24)
        return nonce + Sodium.aeadSeal(record, ad: context, nonce: nonce, key: box)
    }

    public func open(_ sealed: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count > 24 else { throw .cannotDecrypt }
        return try Sodium.aeadOpen(Array(sealed[24...]), ad: context, nonce: Array(sealed[..<24]), key: box)
    }
}
