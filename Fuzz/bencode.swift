// libFuzzer harness for bencode (compiled with Sources/MuleDHT/Bencode.swift by Scripts/fuzz.sh):
// strict decoding never crashes, and what decodes encodes back to the same bytes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBencode(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let v = try? Bencode.decode(bytes) {
        guard v.encoded() == bytes else { fatalError("accepted bencode that is not canonical") }
    }
    return 0
}
