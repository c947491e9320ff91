// libFuzzer harness for the reconciliation message codec (compiled with SyncCodec.swift and
// SyncItem.swift by Scripts/fuzz.sh): a decoded message encodes to one that decodes the same.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSync(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let ranges = try? SyncCodec.decode(bytes) {
        guard (try? SyncCodec.decode(SyncCodec.encode(ranges))) == ranges else { fatalError("did not round-trip") }
    }
    return 0
}
