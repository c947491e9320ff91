// libFuzzer harness for the decoders in MuleCrypto (compiled with Sources/MuleCrypto and the
// MuleWire module by Scripts/fuzz.sh): invite codes, and Noise XX handshake messages read by a
// responder (message 1 and 3) and an initiator (message 2). Each must return or throw, never crash.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCrypto(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 3 {
    case 0:
        _ = try? Invite.decodeWithRelays(String(decoding: bytes, as: UTF8.self))
    case 1:
        // A responder given a first message, then (if it answered) a third.
        var responder = NoiseXX(initiator: false, staticKey: FuzzKeys.responder, prologue: [1])
        let half = bytes.count / 2
        if (try? responder.readMessage(Array(bytes[..<half]))) != nil, (try? responder.writeMessage()) != nil {
            _ = try? responder.readMessage(Array(bytes[half...]))
        }
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
}
