/// The Noise XX handshake, `Noise_XX_25519_ChaChaPoly_BLAKE2b` (Noise spec rev. 34):
///
/// ```
/// -> e
/// <- e, ee, s, es
/// -> s, se
/// ```
///
/// A pure state machine: bytes in, bytes out. Static keys are learnt only inside the handshake.
/// After the third message both sides call ``split()`` for their transport cipher states.
public struct NoiseXX: Sendable {
    public static let protocolName = "Noise_XX_25519_ChaChaPoly_BLAKE2b"

    public let isInitiator: Bool
    private let s: AgreementKey
    private var e: AgreementKey?
    private var re: [UInt8]?
    public private(set) var remoteStatic: [UInt8]?
    private var symmetric: NoiseSymmetricState
    /// Messages processed so far (0…3).
    public private(set) var step = 0

    public init(initiator: Bool, staticKey: AgreementKey, prologue: [UInt8], ephemeral: AgreementKey? = nil) {
        isInitiator = initiator
        s = staticKey
        e = ephemeral
        var st = NoiseSymmetricState(protocolName: Self.protocolName)
        st.mixHash(prologue)
        symmetric = st
    }

    public var isComplete: Bool { step == 3 }

    /// True when it is this side's turn to write.
    public var isMyTurn: Bool { !isComplete && (step % 2 == 0) == isInitiator }

    /// The handshake hash, for channel binding once complete.
    public var handshakeHash: [UInt8] { symmetric.h }

    private func dh(_ key: AgreementKey, _ pub: [UInt8]) throws(NoiseError) -> [UInt8] {
        do { return try key.sharedSecret(with: pub).exportBytes() } catch { throw .invalidKey }
    }

    public mutating func writeMessage(payload: [UInt8] = []) throws(NoiseError) -> [UInt8] {
        guard isMyTurn else { throw .outOfOrder }
        var out: [UInt8] = []
        switch step {
        case 0:
            let eph = e ?? AgreementKey.generate()
            e = eph
            out += eph.publicKey
            symmetric.mixHash(eph.publicKey)
        case 1:
            let eph = e ?? AgreementKey.generate()
            e = eph
            out += eph.publicKey
            symmetric.mixHash(eph.publicKey)
            symmetric.mixKey(try dh(eph, re!))
            out += try symmetric.encryptAndHash(s.publicKey)
            symmetric.mixKey(try dh(s, re!))
        default:
            out += try symmetric.encryptAndHash(s.publicKey)
            symmetric.mixKey(try dh(s, re!))
        }
        out += try symmetric.encryptAndHash(payload)
        guard out.count <= NoiseCipherState.maxMessage else { throw .tooLong(out.count) }
        step += 1
        return out
    }

    /// Reads the peer's next handshake message and returns its payload. On failure the handshake
    /// must be abandoned: the state is not rolled back.
    public mutating func readMessage(_ message: [UInt8]) throws(NoiseError) -> [UInt8] {
        guard !isComplete, !isMyTurn else { throw .outOfOrder }
        guard message.count <= NoiseCipherState.maxMessage else { throw .tooLong(message.count) }
        var rest = message[...]
        func take(_ n: Int) throws(NoiseError) -> [UInt8] {
            guard rest.count >= n else { throw .tooShort(message.count) }
            defer { rest = rest.dropFirst(n) }
            return Array(rest.prefix(n))
        }
        switch step {
        case 0:
            let r = try take(32)
            re = r
            symmetric.mixHash(r)
        case 1:
            let r = try take(32)
            re = r
            symmetric.mixHash(r)
            symmetric.mixKey(try dh(e!, r))
            let rs = try symmetric.decryptAndHash(try take(48))
            remoteStatic = rs
            symmetric.mixKey(try dh(e!, rs))
        default:
            let rs = try symmetric.decryptAndHash(try take(48))
            remoteStatic = rs
            symmetric.mixKey(try dh(e!, rs))
        }
        let payload = try symmetric.decryptAndHash(Array(rest))
        step += 1
        return payload
    }

    /// The transport cipher states: (send, receive) from this side's point of view.
    public func split() throws(NoiseError) -> (send: NoiseCipherState, receive: NoiseCipherState) {
        guard isComplete else { throw .outOfOrder }
        let (c1, c2) = symmetric.split()
        return isInitiator ? (c1, c2) : (c2, c1)
    }
}
