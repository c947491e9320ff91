import Foundation
import MuleStore
import MuleWire

/// What `mule export` wrote.
public struct ExportReport: Sendable {
    public var bundles = 0
    public var own = 0
    public var carried = 0
    public var bytes: Int64 = 0
    /// When the file already held bundles: what importing them did first.
    public var merged: ImportReport?
    /// Bundles of the existing file written again although this node does not hold them (its
    /// quota evicted them, say): a stick never loses mail by being exported onto.
    public var kept = 0
    /// Stored rows left out because their bytes do not match their bundle id.
    public var skipped = 0

    public init() {}
}

extension Node {
    /// Writes every bundle held for others to `path` atomically: a temporary file in the same
    /// directory, fsync, rename. Own queued messages become `sent` once the file is in place.
    ///
    /// A stick is a shared mailbag: when `path` already holds a bundle file, it is imported first
    /// (receipts on it take effect, mail for this node is delivered), and its bundles are written
    /// again unless they expired, were proven delivered, or are damaged. A file at `path` that is
    /// not a Mule bundle file is refused and left alone.
    public func export(to path: String) throws(NodeError) -> ExportReport {
        var report = ExportReport()
        var existing: [(id: [UInt8], dropHash: [UInt8]?, expiresAt: Int64, bytes: [UInt8])] = []
        if FileManager.default.fileExists(atPath: path) {
            let old = try SecureFile.read(path)
            guard (try? BundleFile.checkHeader(old)) != nil else {
                throw .fileError(path: path, reason: "exists and is not a Mule bundle file; it was not overwritten")
            }
            report.merged = try importFiles([path])
            let entries = (try? BundleFile.parse(old)) ?? []
            for case .bundle(let b, let range) in entries {
                guard let mb = try? MuleBundle(b) else { continue }
                var dropHash: [UInt8]?
                if case .message(let env) = mb.envelope { dropHash = env.dropHash }
                let bytes = Array(old[range])
                existing.append((Node.bundleID(bytes), dropHash, Int64(clamping: mb.expiresAtUnixMs), bytes))
            }
        }
        let now = clock()
        let writer = try AtomicWriter(path: path, mode: 0o644)
        try writer.append(BundleFile.header)
        var failure: NodeError?
        try write { tx in
            try tx.deleteExpired(now: now)
            var written = Set<[UInt8]>()
            try tx.forEachBundleForExport(now: now) { b in
                guard failure == nil else { return }
                // A row whose bytes are not the bundle it names (a damaged or edited store) would
                // travel as junk: it is left out and said.
                guard Node.bundleID(b.data) == b.id else {
                    report.skipped += 1
                    return
                }
                do throws(NodeError) { try writer.append(b.data) } catch {
                    failure = error
                    return
                }
                written.insert(b.id)
                report.bundles += 1
                if b.own { report.own += 1 } else { report.carried += 1 }
            }
            for e in existing where failure == nil && e.expiresAt > now && !written.contains(e.id) {
                if let h = e.dropHash, try tx.isDelivered(dropHash: h) { continue }
                do throws(NodeError) { try writer.append(e.bytes) } catch {
                    failure = error
                    return
                }
                written.insert(e.id)
                report.bundles += 1
                report.carried += 1
                report.kept += 1
            }
        }
        if let failure { throw failure }
        try writer.commit()
        report.bytes = writer.written
        try write { tx in _ = try tx.markQueuedSent() }
        return report
    }
}
