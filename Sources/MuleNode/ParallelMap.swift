import Dispatch
import Foundation

/// Runs `body` for every index in `0..<count` on all cores and returns the results in order.
///
/// The work is cut into one contiguous chunk per core (at least `minimumChunk` items each), so a
/// small batch stays on the calling thread. `body` runs concurrently and must only read shared
/// state. Used for the checks of an import that need no store: decoding, hashing, opening.
func parallelMap<T: Sendable>(_ count: Int, minimumChunk: Int = 64, _ body: @Sendable (Int) -> T) -> [T] {
    let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
    let chunks = min(cores, max(1, count / max(minimumChunk, 1)))
    if chunks <= 1 { return (0..<count).map(body) }
    return [T](unsafeUninitializedCapacity: count) { out, initialized in
        let slots = Slots(base: out.baseAddress!)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let start = count * chunk / chunks
            let end = count * (chunk + 1) / chunks
            for i in start..<end { (slots.base + i).initialize(to: body(i)) }
        }
        initialized = count
    }
}

/// The result buffer of `parallelMap`: each chunk initialises its own disjoint range of it, exactly
/// once, and `concurrentPerform` returns only when every chunk is done.
private struct Slots<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
}
