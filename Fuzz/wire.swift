// libFuzzer harness for MuleWire: compiled together with Sources/MuleWire by Scripts/fuzz.sh.
// The first byte picks the decoder; every decoder must return or throw WireError, never crash,
// and what decodes must encode back to bytes that decode to the same value.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 6 {
    case 0:
        // CBOR: a value decodes exactly when skipping it succeeds over the same bytes.
        let decoded = try? CBOR.decode(bytes)
        var r = CBORReader(bytes)
        let skipped = (try? r.skipItem()) != nil && r.offset == bytes.count
        if decoded != nil && !skipped { fatalError("CBOR.decode accepted what skipItem refused") }
    case 1:
        if let b = try? BundleCodec.decode(bytes) {
            let again = BundleCodec.encode(b)
            guard (try? BundleCodec.decode(again)) == b else { fatalError("bundle did not round-trip") }
            _ = try? MuleBundle(b)
        }
    case 2:
        _ = try? BundleFile.parse(BundleFile.header + bytes)
    case 3:
        _ = try? Envelope.decode(bytes)
    case 4:
        _ = try? MessageContent.decode(bytes)
        _ = try? SignedContent.decode(bytes)
    default:
        _ = Base32.decode(String(decoding: bytes, as: UTF8.self))
    }
    return 0
}
