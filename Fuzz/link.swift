// libFuzzer harness for link frames and the hello (compiled with LinkFrame.swift, LinkError.swift
// and LinkHello.swift against the MuleCrypto and MuleWire modules by Scripts/fuzz.sh): a byte
// stream cut into frames never crashes the assembler or the decoder, a decoded frame encodes to the
// same body, and any handshake payload decodes to a hello or throws.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let f = try? LinkFrame.decode(bytes[...]) {
        guard (try? LinkFrame.decode(f.encoded.dropFirst(4))) == f else { fatalError("frame did not round-trip") }
    }
    if let hello = try? LinkHello.decode(bytes) {
        guard (try? LinkHello.decode(hello.encode())) == hello else { fatalError("hello did not round-trip") }
    }
    var a = FrameAssembler()
    a.append(bytes)
    while let f = try? a.next() { _ = f }
    return 0
}
