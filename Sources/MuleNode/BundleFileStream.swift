import Foundation
import MuleWire

/// Reads a bundle file in pieces, so importing a stick of any size takes bounded memory: a window
/// of the file (`chunk`, grown only while one bundle is larger) and the batch being imported.
///
/// It finds the same bundles and damaged ranges as `BundleFile.parse` over the whole file, with
/// the same linear work bound: a damaged bundle is reported and the reader resynchronises on the
/// next position where a bundle starts. A range that claims more than `maxBundleBytes` without
/// ending is damaged too, so a bad length field cannot make it read the rest of the file into
/// memory. The one owner of its file descriptor, closed in `deinit`.
final class BundleFileStream {
    struct Item {
        /// 1-based position in the file, for "bundle N" in messages.
        var index: Int
        var entry: Incoming
    }

    enum Incoming {
        case bundle(BPBundle, [UInt8])
        case damaged(String)
    }

    static let chunk = 4 << 20
    /// A bundle larger than a link or a relay takes (an 64 MiB attachment sealed) is damage.
    static let maxBundleBytes = 81 << 20

    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    /// Offset in `buffer` of the next byte to parse.
    private var position = 0
    private var eof = false
    private var index = 0
    private var examined = 0
    private let budget: Int
    /// What each read lands in: the chunk size, or the file's if smaller.
    private var scratch: [UInt8]

    /// Opens `path` and checks its header. Refuses anything but a regular file (a device such as
    /// /dev/zero would never end).
    init(path: String) throws(NodeError) {
        self.path = path
        var st = stat()
        guard stat(path, &st) == 0 else { throw .fileError(path: path, reason: SecureFile.errnoText()) }
        if st.st_mode & S_IFMT == S_IFDIR { throw .fileError(path: path, reason: "is a directory") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .fileError(path: path, reason: "is not a regular file") }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileError(path: path, reason: SecureFile.errnoText()) }
        self.fd = fd
        budget = BundleFile.workBudget(forFileOf: Int(st.st_size))
        scratch = [UInt8](repeating: 0, count: max(min(Self.chunk, Int(st.st_size)), 4096))
        while buffer.count < BundleFile.header.count && !eof { try fill() }
        do { position = try BundleFile.checkHeader(buffer) } catch {
            throw .fileError(
                path: path, reason: (buffer.count < BundleFile.magic.count ? WireError.wrongMagic : error).description)
        }
    }

    deinit { Glibc.close(fd) }

    /// Reads the next piece of the file onto the end of the buffer.
    private func fill() throws(NodeError) {
        if position > 0 && position >= buffer.count / 2 {
            buffer.removeFirst(position)
            position = 0
        }
        var n = 0
        repeat {
            n = scratch.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
        } while n < 0 && errno == EINTR
        guard n >= 0 else { throw .fileError(path: path, reason: SecureFile.errnoText()) }
        buffer.append(contentsOf: scratch[0..<n])
        if n == 0 { eof = true }
    }

    /// The next bundles, at most `maxCount` of them or about `maxBytes`; empty at the end.
    func next(maxCount: Int = 4096, maxBytes: Int = 16 << 20) throws(NodeError) -> [Item] {
        var items: [Item] = []
        var bytes = 0
        while items.count < maxCount && bytes < maxBytes {
            if position >= buffer.count {
                if eof { break }
                try fill()
                continue
            }
            var r = CBORReader(buffer, offset: position)
            do {
                let b = try BundleCodec.decode(&r)
                examined += r.offset - position
                index += 1
                let raw = Array(buffer[position..<r.offset])
                bytes += raw.count
                items.append(Item(index: index, entry: .bundle(b, raw)))
                position = r.offset
                continue
            } catch {
                // The bundle may go on past what has been read: read more and try again, up to the
                // largest bundle there can be.
                if case .truncated = error, !eof, buffer.count - position <= Self.maxBundleBytes {
                    try fill()
                    continue
                }
                examined += max(r.offset - position, 1)
                index += 1
                if examined > budget {
                    items.append(
                        Item(
                            index: index,
                            entry: .damaged("too much damage to resynchronise past; the rest of the file is skipped")))
                    position = buffer.count
                    eof = true
                    break
                }
                var reason = error.description
                if case .truncated = error, !eof { reason = "a bundle larger than \(Self.maxBundleBytes >> 20) MiB, or damaged" }
                items.append(Item(index: index, entry: .damaged(reason)))
                try resynchronise()
            }
        }
        return items
    }

    /// Moves to the next position after the current one where a bundle may start, reading on as
    /// far as it takes.
    private func resynchronise() throws(NodeError) {
        var from = position
        while true {
            if let next = BundleFile.nextCandidate(buffer, after: from) {
                position = next
                return
            }
            if eof {
                position = buffer.count
                return
            }
            // Keep the last two bytes: a candidate's three marker bytes may straddle the read.
            let keep = max(position, buffer.count - 2)
            position = keep
            try fill()
            from = position - 1
        }
    }
}
