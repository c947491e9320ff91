import CSodium

/// The single owner of a secret: guarded memory from `sodium_malloc`, zeroed and freed in `deinit`.
///
/// Immutable after creation, so it is safe to share between threads.
public final class SecretBytes: Sendable {
    // Written only in init, then read-only; sodium_free zeroes it on release.
    nonisolated(unsafe) private let pointer: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        _ = Sodium.ready
        guard let p = sodium_malloc(count) else {
            preconditionFailure("sodium_malloc(\(count)) failed: out of memory")
        }
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
        sodium_free(pointer)
    }
}
