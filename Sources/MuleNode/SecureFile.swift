import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Whole-file reads and crash-safe writes with POSIX calls: write a temporary file in the same
/// directory, fsync it, rename it over the target, fsync the directory.
public enum SecureFile {
    static func errnoText() -> String { String(cString: strerror(errno)) }

    public static func read(_ path: String) throws(NodeError) -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .fileError(path: path, reason: errnoText()) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .fileError(path: path, reason: "is a directory") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileError(path: path, reason: errnoText()) }
        defer { close(fd) }
        var out = [UInt8]()
        out.reserveCapacity(Int(st.st_size))
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .fileError(path: path, reason: errnoText())
            }
            if n == 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// Writes `bytes` to `path` atomically with permissions `mode`.
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(NodeError) {
        let w = try AtomicWriter(path: path, mode: mode)
        try w.append(bytes)
        try w.commit()
    }
}

/// An atomic file write in progress: a temporary sibling that becomes `path` only on `commit()`.
/// If the writer is dropped without a commit, the temporary file is removed.
final class AtomicWriter {
    private(set) var path: String
    let tempPath: String
    private var fd: Int32
    private var committed = false
    private(set) var written: Int64 = 0

    init(path: String, mode: mode_t) throws(NodeError) {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let directory = dir.isEmpty ? "." : dir
        // Leftovers of an earlier write to the same target that was killed or unplugged.
        let stale = "." + base + ".tmp-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(stale) {
            unlink(directory + "/" + name)
        }
        tempPath = directory + "/" + stale + suffix
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .fileError(path: path, reason: SecureFile.errnoText()) }
    }

    func append(_ bytes: [UInt8]) throws(NodeError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, bytes.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .fileError(path: path, reason: SecureFile.errnoText())
            }
            off += n
        }
        written += Int64(bytes.count)
    }

    /// Makes the file `path` (replacing what is there, or with `replacing: false` only if nothing
    /// is: returns false then and keeps the temporary file for another try with `retarget`).
    @discardableResult
    func commit(replacing: Bool = true) throws(NodeError) -> Bool {
        if fd >= 0 {
            guard fsync(fd) == 0 else { throw .fileError(path: path, reason: SecureFile.errnoText()) }
            close(fd)
            fd = -1
        }
        if replacing {
            guard rename(tempPath, path) == 0 else { throw .fileError(path: path, reason: SecureFile.errnoText()) }
        } else {
            // link() never replaces: EEXIST says the name is taken.
            guard link(tempPath, path) == 0 else {
                if errno == EEXIST { return false }
                throw .fileError(path: path, reason: SecureFile.errnoText())
            }
            unlink(tempPath)
        }
        committed = true
        let dir = (path as NSString).deletingLastPathComponent
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
        return true
    }

    /// Another name for the next `commit(replacing: false)`.
    func retarget(_ newPath: String) { path = newPath }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(tempPath) }
    }
}
