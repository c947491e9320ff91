// libFuzzer harness for KRPC datagrams (compiled with the MuleDHT files they need by
// Scripts/fuzz.sh): any datagram decodes to a message or throws DHTError, never crashes.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKRPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? KRPCMessage.decode(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}
