import MuleStore
import MuleWire

/// What `mule export` wrote.
public struct ExportReport: Sendable, Equatable {
    public var bundles = 0
    public var own = 0
    public var carried = 0
    public var bytes: Int64 = 0

    public init() {}
}

extension Node {
    /// Writes every bundle held for others to `path` atomically: a temporary file in the same
    /// directory, fsync, rename. Own queued messages become `sent` once the file is in place.
    public func export(to path: String) throws(NodeError) -> ExportReport {
        let now = clock()
        var report = ExportReport()
        let writer = try AtomicWriter(path: path, mode: 0o644)
        try writer.append(BundleFile.header)
        var failure: NodeError?
        try write { tx in
            try tx.deleteExpired(now: now)
            try tx.forEachBundleForExport(now: now) { b in
                guard failure == nil else { return }
                do throws(NodeError) { try writer.append(b.data) } catch {
                    failure = error
                    return
                }
                report.bundles += 1
                if b.own { report.own += 1 } else { report.carried += 1 }
            }
        }
        if let failure { throw failure }
        try writer.commit()
        report.bytes = writer.written
        try write { tx in _ = try tx.markQueuedSent() }
        return report
    }
}
