import MuleWire

/// Envelope version 2 (Docs/PROTOCOL.md §13.8): the outer shape of version 1, so carriers see the
/// same fields (tag, coarse time, padded size, a fresh key per bundle), around a ratchet message.
///
/// Outer layer, as version 1 with the label "mule-env-v2": a fresh X25519 key `e`,
/// `k = BLAKE2b-256(key: X25519(e, R), "mule-env-v2" || e.pub || R)`, and the AD binding tag,
/// creation, lifetime, drop hash and `e.pub`. Its padded plaintext is CBOR
/// `[h'senderSigningKey', h'senderAgreementKey', h'ratchetHeader', h'ratchetCiphertext']`: the
/// recipient learns whose session to use. The ratchet message (§13.4, with the same AD) holds
/// `[content, signature]` as in version 1, signed over `"mule-sig-v2" || R || ad || content`.
///
/// Whoever holds the recipient's identity key can remove the outer layer (and learn the sender and
/// the ratchet header); only the session's message key opens the content.
public enum SealerV2 {
    static let label = Array("mule-env-v2".utf8)
    static let signatureLabel = Array("mule-sig-v2".utf8)

    /// What the outer layer holds, opened without any session state (so it can run on all cores).
    public struct Outer: Sendable {
        public var senderSigningKey: [UInt8]
        public var senderAgreementKey: [UInt8]
        public var header: RatchetHeader
        public var encodedHeader: [UInt8]
        public var ratchetCiphertext: [UInt8]
        /// The AD both layers were sealed with.
        public var ad: [UInt8]
    }

    static func associatedData(tag: [UInt8], creationTime: UInt64, lifetime: UInt64, dropHash: [UInt8], ephemeralKey: [UInt8])
        -> [UInt8]
    {
        Sealer.associatedData(
            label: label, tag: tag, creationTime: creationTime, lifetime: lifetime, dropHash: dropHash, ephemeralKey: ephemeralKey
        )
    }

    static func outerKey(shared: SecretBytes, ephemeralKey: [UInt8], recipientKey: [UInt8]) -> SecretBytes {
        RatchetKDF.hash(outputLength: 32, key: shared, label, ephemeralKey, recipientKey)
    }

    /// Seals `body` from `sender` to the identity whose agreement key is `recipient`, with the next
    /// key of `session`.
    public static func seal(
        _ body: MessageContent.Body, from sender: Identity, toAgreementKey recipient: [UInt8], session: inout RatchetSession,
        tag: [UInt8], creationTime: UInt64, lifetime: UInt64, sentAt: UInt64, disappearAfterMs: UInt64? = nil
    ) throws(CryptoError) -> Sealer.Sealed {
        let (ack, drop, content) = Sealer.content(body, from: sender, sentAt: sentAt, disappearAfterMs: disappearAfterMs)
        let e = AgreementKey.generate()
        let ad = associatedData(
            tag: tag, creationTime: creationTime, lifetime: lifetime, dropHash: drop, ephemeralKey: e.publicKey)
        let signature = sender.signing.sign(signatureLabel + recipient + ad + content)
        let (header, inner) = try session.seal(SignedContent(content: content, signature: signature).encode(), ad: ad)
        var w = CBORWriter(capacity: inner.count + header.count + 80)
        w.arrayHeader(4)
        w.byteString(sender.signing.publicKey)
        w.byteString(sender.agreement.publicKey)
        w.byteString(header)
        w.byteString(inner)
        let key = outerKey(shared: try e.sharedSecret(with: recipient), ephemeralKey: e.publicKey, recipientKey: recipient)
        let ct = Sodium.aeadSeal(Padding.pad(w.bytes), ad: ad, nonce: Sealer.nonce, key: key)
        let bundle = MuleBundle(
            tag: tag, creationTime: creationTime, lifetime: lifetime,
            envelope: .message(MessageEnvelope(version: 2, dropHash: drop, ephemeralKey: e.publicKey, ciphertext: ct)))
        return Sealer.Sealed(bundle: bundle, ackSecret: ack, dropHash: drop)
    }

    /// Removes the outer layer with the identity key: no session state is read or changed.
    public static func openOuter(_ bundle: MuleBundle, _ env: MessageEnvelope, as me: Identity) throws(CryptoError) -> Outer {
        guard env.version == 2 else { throw .unsupportedEnvelope(env.version) }
        let ad = associatedData(
            tag: bundle.tag, creationTime: bundle.creationTime, lifetime: bundle.lifetime, dropHash: env.dropHash,
            ephemeralKey: env.ephemeralKey)
        let shared: SecretBytes
        do { shared = try me.agreement.sharedSecret(with: env.ephemeralKey) } catch { throw .cannotDecrypt }
        let key = outerKey(shared: shared, ephemeralKey: env.ephemeralKey, recipientKey: me.agreement.publicKey)
        let padded = try Sodium.aeadOpen(env.ciphertext, ad: ad, nonce: Sealer.nonce, key: key)
        do throws(WireError) {
            var r = CBORReader(try Padding.unpad(padded))
            try r.readArrayHeader(count: 4, what: "v2 outer content")
            let signing = try r.readByteString(count: 32, field: "sender signing key")
            let agreement = try r.readByteString(count: 32, field: "sender agreement key")
            let encodedHeader = try r.readByteString()
            let inner = try r.readByteString()
            try r.expectEnd()
            return Outer(
                senderSigningKey: signing, senderAgreementKey: agreement, header: try RatchetHeader.decode(encodedHeader),
                encodedHeader: encodedHeader, ratchetCiphertext: inner, ad: ad)
        } catch {
            throw .malformed(error)
        }
    }

    /// Opens the ratchet message with the sender's session (changed only if it opens), then checks
    /// that the content names the outer layer's sender, its signature, and the drop hash.
    public static func openInner(
        _ outer: Outer, dropHash: [UInt8], as me: Identity, session: inout RatchetSession, now: UInt64,
        limits: RatchetSession.Limits
    ) throws(CryptoError) -> (content: MessageContent, droppedSkippedKeys: Int) {
        var s = session
        let opened = try s.open(
            header: outer.encodedHeader, ciphertext: outer.ratchetCiphertext, ad: outer.ad, now: now, limits: limits)
        let signed: SignedContent
        let content: MessageContent
        do {
            signed = try SignedContent.decode(opened.plaintext)
            content = try MessageContent.decode(signed.content)
        } catch {
            throw .malformed(error)
        }
        guard content.senderSigningKey == outer.senderSigningKey, content.senderAgreementKey == outer.senderAgreementKey else {
            throw .badSignature
        }
        let message = signatureLabel + me.agreement.publicKey + outer.ad + signed.content
        guard SigningKey.verify(signature: signed.signature, message: message, publicKey: content.senderSigningKey) else {
            throw .badSignature
        }
        guard Sodium.equal(Sealer.dropHash(ackSecret: content.ackSecret), dropHash) else { throw .dropHashMismatch }
        session = s
        return (content, opened.droppedSkippedKeys)
    }
}
