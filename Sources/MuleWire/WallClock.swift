#if canImport(Glibc)
    import Glibc
#endif

/// Unix time in milliseconds, as nodes and relays read it.
///
/// `MULE_TEST_CLOCK_OFFSET_MS` in the environment (for tests of the real executables only) moves it
/// by that many milliseconds, so a test can let weeks pass between two commands.
public enum WallClock {
    public static let offsetMs: Int64 = getenv("MULE_TEST_CLOCK_OFFSET_MS").flatMap { Int64(String(cString: $0)) } ?? 0

    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000 + offsetMs
    }
}
