// libFuzzer harness for link frames (compiled with LinkFrame.swift and LinkError.swift by
// Scripts/fuzz.sh): a byte stream cut into frames never crashes the assembler or the decoder, and
// a decoded frame encodes to the same body.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLink(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let f = try? LinkFrame.decode(bytes[...]) {
        guard (try? LinkFrame.decode(f.encoded.dropFirst(4))) == f else { fatalError("frame did not round-trip") }
    }
    var a = FrameAssembler()
    a.append(bytes)
    while let f = try? a.next() { _ = f }
    return 0
}
