import Foundation
import MuleCrypto
import MuleStore
import MuleWire

/// An encrypted backup of a profile: its keys, its store (contacts, messages, settings, relays)
/// and received files, under a passphrase. The format is in Docs/PROTOCOL.md, "Backup file":
///
/// ```
/// header  "MULEBAK" 0x00 | version 1 | kdf 1 (Argon2id 1.3) | opslimit u32 | memlimit u64 |
///         salt (16) | check (16) | secretstream header (24)            (integers big-endian)
/// chunks  length u32 | ciphertext  … (crypto_secretstream_xchacha20poly1305, each bound to the
///         header as additional data; the last one tagged final)
/// ```
///
/// The plaintext is a list of entries, `kind u8 | path length u16 | path | size u64 | bytes`,
/// ended by kind `E`: kind `M` is JSON about the backup, kind `F` a file of the profile.
public enum Backup {
    static let magic: [UInt8] = Array("MULEBAK".utf8) + [0]
    static let version: UInt8 = 1
    static let kdfArgon2id: UInt8 = 1
    static let headerBytes = 8 + 1 + 1 + 4 + 8 + 16 + 16 + 24
    /// Plaintext per chunk.
    static let chunkBytes = 64 * 1024
    /// The check value: BLAKE2b-128 keyed with the derived key, so that a wrong passphrase is told
    /// apart from a damaged file (it helps a guesser no more than the first chunk would).
    static func check(_ key: SecretBytes) -> [UInt8] {
        key.withUnsafeBytes { k in Sodium.blake2b(outputLength: 16, key: Array(k), Array("mule-backup-check".utf8)) }
    }

    /// What a backup held, as `restore` reports it.
    public struct Summary: Sendable, Codable {
        public var name: String
        public var files: Int
        public var bytes: Int64
        public var createdAt: Int64
    }

    struct Meta: Codable {
        var format: Int
        var home: String
        var name: String
        var createdAt: Int64
    }

    /// A passphrase shorter than this is refused for a new backup.
    public static let minimumPassphrase = 8
}

extension Node {
    /// Writes an encrypted backup of this profile to `path` (atomically: a temporary file that is
    /// renamed when complete). The store is copied consistently while the node may be running.
    @discardableResult
    public func backup(
        to path: String, passphrase: [UInt8], opsLimit: UInt64 = PassphraseKey.opsLimit,
        memLimit: UInt64 = PassphraseKey.memLimit
    ) throws(NodeError) -> Backup.Summary {
        guard passphrase.count >= Backup.minimumPassphrase else {
            throw .invalidArgument("the passphrase must be at least \(Backup.minimumPassphrase) characters")
        }
        let salt = Sodium.randomBytes(PassphraseKey.saltBytes)
        let key: SecretBytes
        do { key = try PassphraseKey.derive(passphrase: passphrase, salt: salt, opsLimit: opsLimit, memLimit: memLimit) } catch {
            throw .crypto(error)
        }
        let stream: SecretStreamWriter
        do { stream = try SecretStreamWriter(key: key) } catch { throw .crypto(error) }
        var header = Backup.magic + [Backup.version, Backup.kdfArgon2id]
        header += BigEndian.bytes(UInt32(opsLimit)) + BigEndian.bytes(memLimit) + salt + Backup.check(key) + stream.header
        let out = try AtomicWriter(path: path, mode: 0o600)
        try out.append(header)
        let writer = Backup.ChunkWriter(stream: stream, ad: header, out: out)

        let now = clock()
        let meta = Backup.Meta(format: 1, home: profile.home, name: identity.name, createdAt: now)
        let metaJSON = (try? JSONEncoder().encode(meta)).map(Array.init) ?? []
        try writer.entry(kind: UInt8(ascii: "M"), path: "", size: UInt64(metaJSON.count))
        try writer.write(metaJSON)

        var summary = Backup.Summary(name: identity.name, files: 0, bytes: 0, createdAt: now)
        func add(_ relative: String, from source: String) throws(NodeError) {
            let fd = Glibc.open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw .fileError(path: source, reason: String(cString: strerror(errno)).lowercased()) }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
            try writer.entry(kind: UInt8(ascii: "F"), path: relative, size: UInt64(st.st_size))
            var left = Int64(st.st_size)
            var buffer = [UInt8](repeating: 0, count: Backup.chunkBytes)
            while left > 0 {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, min($0.count, Int(left))) }
                guard n > 0 else { throw .fileError(path: source, reason: "it changed while being backed up") }
                try writer.write(buffer[0..<n])
                left -= Int64(n)
            }
            summary.files += 1
            summary.bytes += Int64(st.st_size)
        }
        let home = profile.home
        for name in ["name", "ed25519.secret", "x25519.secret", "x25519.public"] {
            let p = home + "/identity/" + name
            if FileManager.default.fileExists(atPath: p) { try add("identity/" + name, from: p) }
        }
        let snapshot = home + "/.backup-\(UInt64.random(in: 0...UInt64.max)).sqlite"
        defer { unlink(snapshot) }
        do { try store.snapshot(to: snapshot) } catch { throw .store(error) }
        try add("mule.sqlite", from: snapshot)
        let files = profile.filesDirectory
        if let walker = FileManager.default.enumerator(atPath: files) {
            while let rel = walker.nextObject() as? String {
                var st = stat()
                guard lstat(files + "/" + rel, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
                try add("files/" + rel, from: files + "/" + rel)
            }
        }
        try writer.entry(kind: UInt8(ascii: "E"), path: "", size: 0)
        try writer.finish()
        try out.commit()
        return summary
    }
}

extension Profile {
    /// Restores a backup into `home`, which must not exist or be an empty folder. Everything is
    /// written into a temporary sibling folder and moved into place only when complete and
    /// opened; a wrong passphrase, a damaged file or an existing identity change nothing.
    public static func restore(from path: String, home: String, passphrase: [UInt8]) throws(NodeError) -> Backup.Summary {
        if FileManager.default.fileExists(atPath: identityDirectory(home)) {
            throw .invalidArgument("\(home) already holds an identity: restore into a new or empty folder")
        }
        if let items = try? FileManager.default.contentsOfDirectory(atPath: home), !items.isEmpty {
            throw .invalidArgument("\(home) is not empty: restore into a new or empty folder")
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .fileError(path: path, reason: String(cString: strerror(errno)).lowercased()) }
        defer { close(fd) }
        let input = Backup.Input(fd: fd, path: path)
        let header = try input.read(Backup.headerBytes, orElse: .backup(path: path, reason: "not a Mule backup"))
        guard Array(header[0..<8]) == Backup.magic else { throw .backup(path: path, reason: "not a Mule backup") }
        guard header[8] == Backup.version, header[9] == Backup.kdfArgon2id else {
            throw .backup(path: path, reason: "backup version \(header[8]) is not supported by this Mule")
        }
        let ops = UInt64(BigEndian.uint32(header[10..<14]))
        let mem = BigEndian.uint64(header[14..<22])
        let salt = Array(header[22..<38])
        let key: SecretBytes
        do { key = try PassphraseKey.derive(passphrase: passphrase, salt: salt, opsLimit: ops, memLimit: mem) } catch {
            throw .backup(path: path, reason: "the header is damaged (\(error))")
        }
        guard Sodium.equal(Backup.check(key), Array(header[38..<54])) else { throw .wrongPassphrase(path) }
        let stream: SecretStreamReader
        do { stream = try SecretStreamReader(key: key, header: Array(header[54..<78])) } catch {
            throw .backup(path: path, reason: "the header is damaged")
        }
        let reader = Backup.ChunkReader(stream: stream, ad: header, input: input)

        let parent = (home as NSString).deletingLastPathComponent
        let temp = (parent.isEmpty ? "." : parent) + "/.\((home as NSString).lastPathComponent).restore-\(getpid())"
        try? FileManager.default.removeItem(atPath: temp)
        guard mkdir(temp, 0o700) == 0 else {
            throw .fileError(path: temp, reason: String(cString: strerror(errno)).lowercased())
        }
        var done = false
        defer { if !done { try? FileManager.default.removeItem(atPath: temp) } }
        var summary = Backup.Summary(name: "", files: 0, bytes: 0, createdAt: 0)
        var meta: Backup.Meta?
        entries: while true {
            let head = try reader.read(1)
            switch head[0] {
            case UInt8(ascii: "E"):
                _ = try reader.read(2 + 8)
                break entries
            case UInt8(ascii: "M"), UInt8(ascii: "F"):
                let pathLength = Int(BigEndian.uint16(try reader.read(2)[...]))
                let name = String(decoding: try reader.read(pathLength), as: UTF8.self)
                let size = BigEndian.uint64(try reader.read(8)[...])
                if head[0] == UInt8(ascii: "M") {
                    guard size <= 64 * 1024 else { throw reader.damaged("its description is too large") }
                    meta = try? JSONDecoder().decode(Backup.Meta.self, from: Data(try reader.read(Int(size))))
                    continue
                }
                guard Backup.allowed(name) else { throw reader.damaged("it names a file outside a profile ('\(name)')") }
                let target = temp + "/" + name
                let dir = (target as NSString).deletingLastPathComponent
                try? FileManager.default.createDirectory(
                    atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let out = Glibc.open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
                guard out >= 0 else { throw reader.damaged("it holds '\(name)' twice") }
                defer { close(out) }
                var left = size
                while left > 0 {
                    let piece = try reader.read(Int(min(left, UInt64(Backup.chunkBytes))))
                    let written = piece.withUnsafeBytes { Glibc.write(out, $0.baseAddress, $0.count) }
                    guard written == piece.count else {
                        throw .fileError(path: target, reason: String(cString: strerror(errno)).lowercased())
                    }
                    left -= UInt64(piece.count)
                }
                guard fsync(out) == 0 else { throw .fileError(path: target, reason: "cannot be written to disk") }
                summary.files += 1
                summary.bytes += Int64(size)
            default:
                throw reader.damaged("an entry of unknown kind")
            }
        }
        guard stream.finished else { throw reader.damaged("it ends early") }
        guard let meta else { throw reader.damaged("it has no description") }
        summary.name = meta.name
        summary.createdAt = meta.createdAt
        // Open it as a profile before it takes the place of `home`: keys and store must be sound.
        do {
            let store = try Store(path: temp + "/mule.sqlite")
            try store.relocateFiles(from: meta.home + "/files/", to: home + "/files/")
            // The sessions in a backup are behind the contacts' copies: messages sealed with them
            // would not open. They stay for opening what was sealed before the backup, and the next
            // message to each contact starts a new session, which the contact takes up.
            try store.write { tx in try tx.retireCurrentSessions() }
        } catch { throw .store(error) }
        _ = try Profile.open(home: temp)
        if FileManager.default.fileExists(atPath: home) { rmdir(home) }
        guard rename(temp, home) == 0 else {
            throw .fileError(path: home, reason: String(cString: strerror(errno)).lowercased())
        }
        done = true
        return summary
    }
}

extension Backup {
    /// Files a backup may hold: the profile's keys, its store, received files. Nothing absolute,
    /// nothing with `..`, no hidden names.
    static func allowed(_ path: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), parts.allSatisfy({ !$0.isEmpty && !$0.hasPrefix(".") }) else { return false }
        if path == "mule.sqlite" { return true }
        if parts.count == 2, parts[0] == "identity" { return true }
        return parts.count >= 2 && parts[0] == "files"
    }

    /// Collects plaintext into chunks of `chunkBytes` and writes them sealed.
    final class ChunkWriter {
        let stream: SecretStreamWriter
        let ad: [UInt8]
        let out: AtomicWriter
        var pending: [UInt8] = []

        init(stream: SecretStreamWriter, ad: [UInt8], out: AtomicWriter) {
            self.stream = stream
            self.ad = ad
            self.out = out
            pending.reserveCapacity(Backup.chunkBytes * 2)
        }

        func entry(kind: UInt8, path: String, size: UInt64) throws(NodeError) {
            let p = Array(path.utf8)
            try write([kind] + BigEndian.bytes(UInt16(p.count)) + p + BigEndian.bytes(size))
        }

        func write<C: Collection<UInt8>>(_ bytes: C) throws(NodeError) {
            pending += bytes
            while pending.count >= Backup.chunkBytes + 1 {
                try emit(Array(pending[0..<Backup.chunkBytes]), final: false)
                pending.removeFirst(Backup.chunkBytes)
            }
        }

        func finish() throws(NodeError) {
            try emit(pending, final: true)
            pending = []
        }

        private func emit(_ plain: [UInt8], final: Bool) throws(NodeError) {
            let sealed = stream.push(plain, ad: ad, final: final)
            try out.append(BigEndian.bytes(UInt32(sealed.count)) + sealed)
        }
    }

    /// Reads the file in order, with one clear error for a file that ends early.
    final class Input {
        let fd: Int32
        let path: String
        init(fd: Int32, path: String) {
            self.fd = fd
            self.path = path
        }

        func read(_ n: Int, orElse error: NodeError) throws(NodeError) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: n)
            var got = 0
            while got < n {
                let r = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + got, n - got) }
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else { throw error }
                got += r
            }
            return out
        }
    }

    /// Opens chunks as they are needed and hands out plaintext bytes.
    final class ChunkReader {
        let stream: SecretStreamReader
        let ad: [UInt8]
        let input: Input
        var buffer: [UInt8] = []
        var offset = 0

        init(stream: SecretStreamReader, ad: [UInt8], input: Input) {
            self.stream = stream
            self.ad = ad
            self.input = input
        }

        func damaged(_ why: String) -> NodeError { .backup(path: input.path, reason: "the backup is damaged: \(why)") }

        func read(_ n: Int) throws(NodeError) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(n)
            while out.count < n {
                if offset == buffer.count {
                    guard !stream.finished else { throw damaged("it ends in the middle of an entry") }
                    let cut = damaged("it is cut short")
                    let length = Int(BigEndian.uint32(try input.read(4, orElse: cut)[...]))
                    guard length <= Backup.chunkBytes + SecretStreamWriter.overhead else { throw damaged("a chunk is too long") }
                    let sealed = try input.read(length, orElse: cut)
                    do { buffer = try stream.pull(sealed, ad: ad) } catch { throw damaged("a chunk does not authenticate") }
                    offset = 0
                }
                let take = min(n - out.count, buffer.count - offset)
                out += buffer[offset..<offset + take]
                offset += take
            }
            return out
        }
    }
}

/// Big-endian integers for the backup header and entries.
enum BigEndian {
    static func bytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.bigEndian) { Array($0) }
    }

    static func uint16(_ b: ArraySlice<UInt8>) -> UInt16 { b.reduce(0) { $0 << 8 | UInt16($1) } }
    static func uint32(_ b: ArraySlice<UInt8>) -> UInt32 { b.reduce(0) { $0 << 8 | UInt32($1) } }
    static func uint64(_ b: ArraySlice<UInt8>) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }
}
