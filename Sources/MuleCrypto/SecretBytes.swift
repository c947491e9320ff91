import CSodium

/// The single owner of a secret: heap memory that `deinit` wipes with `sodium_memzero` and frees.
///
/// Plain allocation, not `sodium_malloc`: guard pages cost an mmap and two mprotect calls per
/// secret, which halved sealing speed with one ephemeral key per message.
///
/// Immutable after creation, so it is safe to share between threads.
public final class SecretBytes: Sendable {
    // Written only in init, then read-only until deinit wipes it.
    nonisolated(unsafe) private let pointer: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        _ = Sodium.ready
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        self.pointer = p
        self.count = count
        fill(UnsafeMutableRawBufferPointer(start: p, count: count))
    }

    public convenience init(copying bytes: [UInt8]) {
        self.init(count: bytes.count) { buf in bytes.withUnsafeBytes { buf.copyMemory(from: $0) } }
    }

    public static func random(count: Int) -> SecretBytes {
        SecretBytes(count: count) { randombytes_buf($0.baseAddress!, count) }
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    /// A copy as a plain array, for writing a key file. The caller must not keep it around.
    public func exportBytes() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    deinit {
        sodium_memzero(pointer, count)
        pointer.deallocate()
    }
}
