/// Derivation of the 16-byte recipient tags that stand in a bundle's destination.
///
/// A tag rotates every UTC day. Between contacts it is keyed by their pair key, so only the two of
/// them can compute or link it; for a first message it may be the intro tag, which anyone holding
/// the recipient's invite can compute.
public enum RecipientTags {
    static func dayBytes(_ day: UInt32) -> [UInt8] {
        [UInt8(day >> 24), UInt8((day >> 16) & 0xFF), UInt8((day >> 8) & 0xFF), UInt8(day & 0xFF)]
    }

    /// BLAKE2b-128("mule-intro-v1" || recipientAgreementKey || day).
    public static func intro(recipientAgreementKey: [UInt8], day: UInt32) -> [UInt8] {
        Sodium.blake2b(outputLength: 16, Array("mule-intro-v1".utf8), recipientAgreementKey, dayBytes(day))
    }

    /// BLAKE2b-256 keyed by X25519(mine, theirs) over "mule-pair-v1" || lower signing key || higher signing key.
    public static func pairKey(
        me: Identity, peerSigningKey: [UInt8], peerAgreementKey: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        let dh = try me.agreement.sharedSecret(with: peerAgreementKey)
        let mine = me.signing.publicKey
        let (lo, hi) = mine.lexicographicallyPrecedes(peerSigningKey) ? (mine, peerSigningKey) : (peerSigningKey, mine)
        return Sodium.blake2b(outputLength: 32, key: dh.exportBytes(), Array("mule-pair-v1".utf8), lo, hi)
    }

    /// BLAKE2b-128 keyed by the pair key over "mule-tag-v1" || recipientSigningKey || day.
    public static func pair(pairKey: [UInt8], recipientSigningKey: [UInt8], day: UInt32) -> [UInt8] {
        Sodium.blake2b(outputLength: 16, key: pairKey, Array("mule-tag-v1".utf8), recipientSigningKey, dayBytes(day))
    }
}
