// libFuzzer harness for the decoders in MuleCrypto (compiled with Sources/MuleCrypto and the
// MuleWire module by Scripts/fuzz.sh): invite codes, and Noise XX handshake messages read by a
// responder (message 1 and 3) and an initiator (message 2), envelope v2's ratchet header and stored
// session, and a ratchet session opening a forged header and ciphertext. Each must return or throw,
// never crash.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCrypto(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 6 {
    case 0:
        _ = try? Invite.decodeWithRelays(String(decoding: bytes, as: UTF8.self))
    case 1:
        // A responder given a first message, then (if it answered) a third.
        var responder = NoiseXX(initiator: false, staticKey: FuzzKeys.responder, prologue: [1])
        let half = bytes.count / 2
        if (try? responder.readMessage(Array(bytes[..<half]))) != nil, (try? responder.writeMessage()) != nil {
            _ = try? responder.readMessage(Array(bytes[half...]))
        }
    case 3:
        _ = try? RatchetHeader.decode(bytes)
    case 4:
        if var session = try? RatchetSession.decode(bytes) {
            session.expire(now: 1)
            _ = session.encode()
        }
    case 5:
        // A session that sent one message, given a forged answer (header, then ciphertext).
        var session = FuzzKeys.session
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % bytes.count
        let limits = RatchetSession.Limits(maxSkipPerMessage: 64, maxSkipped: 128, skippedLifetimeMs: 1000)
        _ = try? session.open(
            header: Array(bytes[..<cut]), ciphertext: Array(bytes[cut...]), ad: [], now: 0, limits: limits)
    default:
        // An initiator that sent its first message, given a second.
        var initiator = NoiseXX(initiator: true, staticKey: FuzzKeys.initiator, prologue: [1])
        if (try? initiator.writeMessage()) != nil { _ = try? initiator.readMessage(bytes) }
    }
    return 0
}

/// Made once: key generation is not what is being fuzzed.
enum FuzzKeys {
    static let responder = AgreementKey.generate()
    static let initiator = AgreementKey.generate()
    static let session: RatchetSession = {
        var s = try! RatchetSession.initiate(identity: initiator, theirIdentity: responder.publicKey, theirPrekey: nil)
        _ = try! s.seal([1], ad: [])
        return s
    }()
}
