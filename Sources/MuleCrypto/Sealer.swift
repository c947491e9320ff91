import MuleWire

/// Seals and opens Mule message envelopes (sealed sender, then authenticated encryption).
///
/// Seal: a fresh X25519 key `e`; `k = BLAKE2b-256(key: X25519(e, R), "mule-env-v1" || e.pub || R)`;
/// the signed content is `content || Ed25519(sender, "mule-sig-v1" || R || ad || content)`;
/// it is padded and encrypted with XChaCha20-Poly1305 under `k`, a zero nonce (k is single-use)
/// and the associated data `ad`, which binds the recipient tag, creation time, lifetime, drop hash
/// and ephemeral key: a carrier who changes any of them makes the bundle unopenable.
public enum Sealer {
    public struct Sealed: Sendable {
        public var bundle: MuleBundle
        public var ackSecret: [UInt8]
        public var dropHash: [UInt8]
    }

    static let nonce = [UInt8](repeating: 0, count: 24)

    public static func dropHash(ackSecret: [UInt8]) -> [UInt8] {
        Sodium.blake2b(outputLength: 32, Array("mule-ack-v1".utf8), ackSecret)
    }

    /// `label || tag || u64be(creation) || u64be(lifetime) || dropHash || ephemeralKey`, where the
    /// label is the envelope version's ("mule-env-v1" or "mule-env-v2").
    static func associatedData(
        label: [UInt8] = Array("mule-env-v1".utf8), tag: [UInt8], creationTime: UInt64, lifetime: UInt64, dropHash: [UInt8],
        ephemeralKey: [UInt8]
    ) -> [UInt8] {
        var ad = label
        ad.reserveCapacity(ad.count + 16 + 16 + 64)
        ad += tag
        for v in [creationTime, lifetime] {
            for shift in stride(from: 56, through: 0, by: -8) { ad.append(UInt8((v >> UInt64(shift)) & 0xFF)) }
        }
        ad += dropHash
        ad += ephemeralKey
        return ad
    }

    static func envelopeKey(shared: SecretBytes, ephemeralKey: [UInt8], recipientKey: [UInt8]) -> SecretBytes {
        let k = Sodium.blake2b(outputLength: 32, key: shared.exportBytes(), Array("mule-env-v1".utf8), ephemeralKey, recipientKey)
        return SecretBytes(copying: k)
    }

    /// Steps 1 and 2 of sealing, the same in both envelope versions: a fresh ack secret, its drop
    /// hash, and the encoded content that carries the secret.
    static func content(
        _ body: MessageContent.Body, from sender: Identity, sentAt: UInt64, disappearAfterMs: UInt64?
    ) -> (ack: [UInt8], drop: [UInt8], content: [UInt8]) {
        let ack = Sodium.randomBytes(32)
        let content = MessageContent(
            senderSigningKey: sender.signing.publicKey, senderAgreementKey: sender.agreement.publicKey,
            senderName: sender.name, ackSecret: ack, sentAt: sentAt, body: body,
            disappearAfterMs: disappearAfterMs
        ).encode()
        return (ack, dropHash(ackSecret: ack), content)
    }

    public static func seal(
        _ body: MessageContent.Body, from sender: Identity, toAgreementKey recipient: [UInt8],
        tag: [UInt8], creationTime: UInt64, lifetime: UInt64, sentAt: UInt64, disappearAfterMs: UInt64? = nil
    ) throws(CryptoError) -> Sealed {
        let (ack, drop, content) = content(body, from: sender, sentAt: sentAt, disappearAfterMs: disappearAfterMs)
        let eph = AgreementKey.generate()
        let ad = associatedData(
            tag: tag, creationTime: creationTime, lifetime: lifetime, dropHash: drop, ephemeralKey: eph.publicKey)
        let signature = sender.signing.sign(Array("mule-sig-v1".utf8) + recipient + ad + content)
        let plaintext = Padding.pad(SignedContent(content: content, signature: signature).encode())
        let key = envelopeKey(shared: try eph.sharedSecret(with: recipient), ephemeralKey: eph.publicKey, recipientKey: recipient)
        let ct = Sodium.aeadSeal(plaintext, ad: ad, nonce: nonce, key: key)
        let bundle = MuleBundle(
            tag: tag, creationTime: creationTime, lifetime: lifetime,
            envelope: .message(MessageEnvelope(dropHash: drop, ephemeralKey: eph.publicKey, ciphertext: ct)))
        return Sealed(bundle: bundle, ackSecret: ack, dropHash: drop)
    }

    /// Opens a message addressed to `me`, checking the AEAD tag, the padding, the signature over the
    /// bytes as received, and that the ack secret matches the drop hash.
    public static func open(_ bundle: MuleBundle, _ env: MessageEnvelope, as me: Identity) throws(CryptoError) -> MessageContent {
        guard env.version == 1 else { throw .unsupportedEnvelope(env.version) }
        let ad = associatedData(
            tag: bundle.tag, creationTime: bundle.creationTime, lifetime: bundle.lifetime,
            dropHash: env.dropHash, ephemeralKey: env.ephemeralKey)
        let shared: SecretBytes
        do { shared = try me.agreement.sharedSecret(with: env.ephemeralKey) } catch { throw .cannotDecrypt }
        let key = envelopeKey(shared: shared, ephemeralKey: env.ephemeralKey, recipientKey: me.agreement.publicKey)
        let padded = try Sodium.aeadOpen(env.ciphertext, ad: ad, nonce: nonce, key: key)
        let signed: SignedContent
        let content: MessageContent
        do {
            signed = try SignedContent.decode(try Padding.unpad(padded))
            content = try MessageContent.decode(signed.content)
        } catch {
            throw .malformed(error)
        }
        let message = Array("mule-sig-v1".utf8) + me.agreement.publicKey + ad + signed.content
        guard SigningKey.verify(signature: signed.signature, message: message, publicKey: content.senderSigningKey) else {
            throw .badSignature
        }
        guard Sodium.equal(dropHash(ackSecret: content.ackSecret), env.dropHash) else { throw .dropHashMismatch }
        return content
    }
}
