import Foundation
import MuleCrypto
import MuleStore
import MuleWire

extension Node {
    /// A bundle that passed every check that needs no store: structure, CRCs, shape, expiry and,
    /// for one addressed here, decryption and signature.
    struct Candidate {
        var index: Int
        var bytes: [UInt8]
        var bundle: MuleBundle
        var id: [UInt8]
        var opened: MessageContent?
        /// A version-2 message's outer layer, opened; its inner layer opens in the transaction.
        var outer: SealerV2.Outer?
        var forMe: Bool
    }

    /// Imports bundle files. Each file is applied in one transaction; problems are reported per
    /// file and bundle, and never stop the valid bundles of the same file.
    ///
    /// A directory stands for the Mule bundle files in it (by their magic, in name order; other
    /// files are passed over), so a stick can hold one file per device.
    public func importFiles(_ paths: [String]) throws(NodeError) -> ImportReport {
        var report = ImportReport()
        var tags = TagDirectory(identity: identity, contacts: try read { tx in try tx.contacts() })
        for path in paths {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                let files = Node.bundleFiles(in: path)
                if files.isEmpty {
                    report.rejected += 1
                    report.problems.append(ImportProblem(file: path, bundle: nil, reason: "holds no Mule bundle file"))
                }
                for f in files { try importFile(f, tags: &tags, into: &report) }
            } else {
                try importFile(path, tags: &tags, into: &report)
            }
        }
        events.publish(.stickImported(ImportSummary(report)))
        return report
    }

    /// The regular files directly in `directory` that start with the bundle file magic, by name.
    public static func bundleFiles(in directory: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        return names.map { directory + "/" + $0 }.filter { path in
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return false }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var head = [UInt8](repeating: 0, count: BundleFile.magic.count)
            let n = head.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            return n == head.count && head == BundleFile.magic
        }
    }

    func importFile(_ path: String, tags: inout TagDirectory, into report: inout ImportReport) throws(NodeError) {
        func reject(_ index: Int?, _ reason: String) {
            report.rejected += 1
            report.problems.append(ImportProblem(file: path, bundle: index, reason: reason))
            logger.info(
                "rejected", metadata: ["file": "\(path)", "bundle": "\(index.map(String.init) ?? "-")", "reason": "\(reason)"])
        }
        // Read in pieces and imported a batch at a time (one transaction each): a stick of any
        // size takes bounded memory.
        let stream: BundleFileStream
        do { stream = try BundleFileStream(path: path) } catch {
            if case .fileError(_, let reason) = error { reject(nil, reason) } else { reject(nil, error.description) }
            return
        }
        while true {
            let items: [BundleFileStream.Item]
            do { items = try stream.next() } catch {
                if case .fileError(_, let reason) = error { reject(nil, reason) } else { reject(nil, error.description) }
                return
            }
            guard let first = items.first else { return }
            try ingest(
                count: items.count, firstIndex: first.index, source: path, path: .file, tags: &tags, into: &report,
                dropKnownBeforeOpening: true
            ) { i in
                switch items[i].entry {
                case .damaged(let reason): return .damaged(reason)
                case .bundle(let b, let raw): return .decoded(b, raw)
                }
            }
        }
    }

    /// Bundles as a file or a link delivered them: decoded, still encoded, or damaged with a reason.
    enum Incoming {
        case decoded(BPBundle, [UInt8])
        case encoded([UInt8])
        case damaged(String)
    }

    /// The outcome of the checks that need neither the store nor the keys.
    enum Checked {
        case rejected(String)
        case passed(MuleBundle, bytes: [UInt8], id: [UInt8])
    }

    /// Receives bundles from a link: each is checked exactly as an imported one, and the batch is
    /// applied in one transaction. `tags` may be kept between batches while the contacts stay the same.
    /// `path` (lan, direct, relay) is recorded on the messages and receipts that arrive.
    public func receive(
        _ raws: [[UInt8]], from source: String, path: MessagePath, tags: inout TagCache
    ) throws(NodeError) -> ImportReport {
        var report = ImportReport()
        let contactsVersion = try read { tx in try tx.contactsVersion() }
        if tags.directory == nil || tags.contactsVersion != contactsVersion {
            tags.directory = TagDirectory(identity: identity, contacts: try read { tx in try tx.contacts() })
            tags.contactsVersion = contactsVersion
        }
        try ingest(count: raws.count, source: source, path: path, tags: &tags.directory!, into: &report) { i in
            .encoded(raws[i])
        }
        return report
    }

    /// Checks and applies `count` bundles, the `i`-th given by `item(i)` (reported as bundle i + 1).
    ///
    /// The checks that need no store run on all cores (`item` is called concurrently): decoding,
    /// the Mule shape, expiry, the bundle id, and opening what is addressed here. The store is then
    /// changed in one transaction, in the order the bundles came.
    ///
    /// With `dropKnownBeforeOpening` (a file import), bundles addressed here that this node has
    /// already stored or seen delivered are counted as duplicates before any decryption, and so are
    /// second copies within the batch: a stick full of copies costs lookups, not crypto. A link from
    /// a relay opens them anyway, since the relay needs the proof of arrival to let go of its copy.
    func ingest(
        count: Int, firstIndex: Int = 1, source: String, path: MessagePath, tags: inout TagDirectory,
        into report: inout ImportReport, dropKnownBeforeOpening: Bool = false,
        item: @Sendable (Int) -> Incoming
    ) throws(NodeError) {
        var rejections: [(index: Int, reason: String)] = []
        let now = clock()
        let checkStart = DispatchTime.now().uptimeNanoseconds
        let notAfter = UInt64(max(now, 0))
        let checked = parallelMap(count) { i -> Checked in
            let mb: MuleBundle
            let raw: [UInt8]
            do {
                switch item(i) {
                case .damaged(let reason): return .rejected(reason)
                case .decoded(let b, let bytes):
                    raw = bytes
                    mb = try MuleBundle(b)
                case .encoded(let bytes):
                    raw = bytes
                    mb = try MuleBundle(try BundleCodec.decode(bytes))
                }
            } catch let error as WireError {
                return .rejected(error.description)
            } catch {
                return .rejected("\(error)")
            }
            if mb.expiresAtUnixMs <= notAfter { return .rejected("expired") }
            if mb.creationTime + BPBundle.dtnEpochOffsetMs > notAfter + 86_400_000 {
                return .rejected("created more than a day in the future")
            }
            return .passed(mb, bytes: raw, id: Node.bundleID(raw))
        }
        var candidates: [Candidate] = []
        candidates.reserveCapacity(count)
        for (i, c) in checked.enumerated() {
            switch c {
            case .rejected(let reason): rejections.append((i + firstIndex, reason))
            case .passed(let mb, let raw, let id):
                let forMe = tags.owner(of: mb.tag, day: mb.creationDay) != nil
                candidates.append(
                    Candidate(index: i + firstIndex, bytes: raw, bundle: mb, id: id, opened: nil, outer: nil, forMe: forMe))
            }
        }
        if dropKnownBeforeOpening { report.duplicates += try dropKnown(&candidates) }
        rejections += openAddressed(&candidates, now: now)
        for c in candidates where c.forMe {
            if let content = c.opened {
                report.releases.append(content.ackSecret)
            } else if case .receipt = c.bundle.envelope {
                report.releases.append(c.id)
            }
        }
        for r in rejections.sorted(by: { $0.index < $1.index }) {
            report.rejected += 1
            report.problems.append(ImportProblem(file: source, bundle: r.index, reason: r.reason))
            logger.info("rejected", metadata: ["source": "\(source)", "bundle": "\(r.index)", "reason": "\(r.reason)"])
        }
        let quota = try quota()
        let files = profile.filesDirectory
        let applyStart = DispatchTime.now().uptimeNanoseconds
        // Attachments are written as their messages are applied; if the transaction does not
        // commit, they are removed again, so a failed import leaves no orphan files.
        var saved: [String] = []
        var committed = false
        defer { if !committed { for f in saved { unlink(f) } } }
        let delta = try write { tx -> ImportReport in
            var d = ImportReport()
            var acksBySender: [Int64: [[UInt8]]] = [:]
            var sessions = SessionBatch()
            for c in candidates {
                try apply(
                    c, tx: tx, now: now, files: files, source: source, path: path, report: &d, acks: &acksBySender,
                    sessions: &sessions, saved: &saved)
            }
            try sessions.flush(tx: tx)
            for (contactId, acks) in acksBySender {
                try queueReceipt(acks: acks, to: contactId, tx: tx, now: now)
            }
            if d.imported > 0 || !acksBySender.isEmpty { d.events.append(.stored) }
            try tx.deleteExpired(now: now)
            d.dropped += try tx.evict(toFit: quota)
            return d
        }
        committed = true
        let end = DispatchTime.now().uptimeNanoseconds
        logger.debug(
            "imported",
            metadata: [
                "source": "\(source)", "bundles": "\(count)", "checkMs": "\((applyStart - checkStart) / 1_000_000)",
                "storeMs": "\((end - applyStart) / 1_000_000)",
            ])
        report.imported += delta.imported
        report.delivered += delta.delivered
        report.carried += delta.carried
        report.duplicates += delta.duplicates
        report.receiptsApplied += delta.receiptsApplied
        report.dropped += delta.dropped
        report.keysDropped += delta.keysDropped
        report.rejected += delta.rejected
        report.problems += delta.problems
        report.releases += delta.releases
        report.events += delta.events
        events.publish(delta.events)
    }

    /// Removes the bundles addressed here that are known (stored, seen, or delivered) or that came
    /// twice in this batch, before anything is decrypted. Returns how many.
    private func dropKnown(_ candidates: inout [Candidate]) throws(NodeError) -> Int {
        var inStore = Set<[UInt8]>()
        try read { tx in
            for c in candidates where c.forMe {
                var dropHash: [UInt8]?
                if case .message(let env) = c.bundle.envelope { dropHash = env.dropHash }
                if try tx.isKnown(id: c.id, dropHash: dropHash) { inStore.insert(c.id) }
            }
        }
        var first = Set<[UInt8]>()
        let before = candidates.count
        candidates.removeAll { c in
            guard c.forMe else { return false }
            return inStore.contains(c.id) || !first.insert(c.id).inserted
        }
        return before - candidates.count
    }

    /// Opens the messages addressed here, on all cores, and drops those that do not open: each is
    /// returned as a rejection.
    ///
    /// A version-2 message only loses its outer layer here (with the identity key alone, so on all
    /// cores); its inner layer needs the session and opens in the transaction, in order.
    private func openAddressed(_ candidates: inout [Candidate], now: Int64) -> [(index: Int, reason: String)] {
        let sealed = candidates.indices.filter { k in
            guard candidates[k].forMe, case .message = candidates[k].bundle.envelope else { return false }
            return true
        }
        guard !sealed.isEmpty else { return [] }
        let (identity, toOpen) = (identity, sealed.map { candidates[$0] })
        enum Opened {
            case content(MessageContent)
            case outer(SealerV2.Outer)
            case failed(String)
        }
        let version1Open = now < Node.version1OpeningEndsMs
        let opened = parallelMap(toOpen.count, minimumChunk: 8) { j -> Opened in
            let c = toOpen[j]
            guard case .message(let env) = c.bundle.envelope else { preconditionFailure("filtered above") }
            do throws(CryptoError) {
                if env.version == 2 { return .outer(try SealerV2.openOuter(c.bundle, env, as: identity)) }
                guard version1Open else {
                    return .failed("version-1 envelopes are no longer opened (since 2028-03-01): ask the sender to upgrade")
                }
                return .content(try Sealer.open(c.bundle, env, as: identity))
            } catch {
                return .failed(error.description)
            }
        }
        var rejections: [(index: Int, reason: String)] = []
        for (j, k) in sealed.enumerated() {
            switch opened[j] {
            case .content(let content): candidates[k].opened = content
            case .outer(let outer): candidates[k].outer = outer
            case .failed(let reason): rejections.append((candidates[k].index, reason))
            }
        }
        if !rejections.isEmpty {
            candidates.removeAll { c in
                guard c.forMe, c.opened == nil, c.outer == nil, case .message = c.bundle.envelope else { return false }
                return true
            }
        }
        return rejections
    }

    private func apply(
        _ c: Candidate, tx: StoreTransaction, now: Int64, files: String, source: String, path: MessagePath,
        report d: inout ImportReport, acks: inout [Int64: [[UInt8]]], sessions: inout SessionBatch, saved: inout [String]
    ) throws {
        func reject(_ reason: String) {
            d.rejected += 1
            d.problems.append(ImportProblem(file: source, bundle: c.index, reason: reason))
            logger.info("rejected", metadata: ["source": "\(source)", "bundle": "\(c.index)", "reason": "\(reason)"])
        }
        let expiresAt = Int64(c.bundle.expiresAtUnixMs)
        var dropHash: [UInt8]?
        var kind = StoredBundle.Kind.receipt
        if case .message(let env) = c.bundle.envelope {
            dropHash = env.dropHash
            kind = .message
        }
        if !c.forMe {
            // Carried: decide "new?" and store in one statement.
            let stored = StoredBundle(
                id: c.id, tag: c.bundle.tag, kind: kind, dropHash: dropHash, expiresAt: expiresAt, receivedAt: now,
                own: false, data: c.bytes)
            guard try tx.insertIfNew(stored) else {
                d.duplicates += 1
                return
            }
            d.imported += 1
            d.carried += 1
            if case .receipt(let r) = c.bundle.envelope { try applyReceipt(r, tx: tx, now: now, path: path, report: &d) }
            return
        }
        guard try !tx.isKnown(id: c.id, dropHash: dropHash) else {
            d.duplicates += 1
            // A version-2 message key is gone once used; the proof of arrival a relay needs was kept.
            if c.outer != nil, let dropHash, let ack = try tx.ackSecret(dropHash: dropHash) { d.releases.append(ack) }
            return
        }
        // Delivery marks must outlive any message they could drop.
        let markExpiry = now + Int64(MuleBundle.maxLifetimeMs)
        switch c.bundle.envelope {
        case .receipt(let r):
            try applyReceipt(r, tx: tx, now: now, path: path, report: &d)
            d.imported += 1
            d.delivered += 1
            try tx.markSeen(id: c.id, expiresAt: expiresAt)
        case .message(let env):
            var content: MessageContent
            var contact: ContactRecord?
            var version2: OpenedVersion2?
            if let outer = c.outer {
                contact = try tx.contact(signingKey: outer.senderSigningKey)
                if let known = contact, known.agreementKey != outer.senderAgreementKey {
                    return reject(CryptoError.badSignature.description)
                }
                do {
                    version2 = try openVersion2(
                        outer, dropHash: env.dropHash, sender: contact, expiresAt: expiresAt, tx: tx, now: now,
                        batch: &sessions)
                } catch let e as CryptoError {
                    return reject(e.description)
                }
                content = version2!.content
                d.releases.append(content.ackSecret)
            } else if let opened = c.opened {
                content = opened
                contact = try tx.contact(signingKey: content.senderSigningKey)
                // Once a contact has sent version 2 (stored, or earlier in this batch), a version-1
                // message made later is a downgrade.
                let since = [contact?.v2Since, contact.flatMap { sessions.firstVersion2[$0.id] }].compactMap { $0 }.min()
                if let since, Int64(c.bundle.creationTime + BPBundle.dtnEpochOffsetMs) >= since {
                    return reject("a version-1 envelope from a contact that has moved to version 2 (a downgrade): refused")
                }
            } else {
                return
            }
            d.imported += 1
            try tx.markSeen(id: c.id, expiresAt: expiresAt)
            try tx.markDelivered(dropHash: env.dropHash, expiresAt: markExpiry)
            if contact == nil {
                let name = (try? Profile.validateName(content.senderName)) ?? "unnamed"
                contact = try tx.insertContact(
                    signingKey: content.senderSigningKey, agreementKey: content.senderAgreementKey, name: name,
                    state: .request, now: now)
                if let c = contact { d.events.append(.contactRequest(Contact(record: c))) }
            }
            guard let sender = contact, sender.state != .blocked,
                sender.agreementKey == content.senderAgreementKey
            else {
                logger.info("discarded a message from a blocked or inconsistent sender")
                return
            }
            d.delivered += 1
            try tx.setHeardFrom(id: sender.id)
            if let version2 {
                try keep(
                    version2, sender: sender, creation: Int64(c.bundle.creationTime + BPBundle.dtnEpochOffsetMs), tx: tx,
                    now: now, batch: &sessions)
                if version2.droppedKeys > 0 {
                    d.keysDropped += version2.droppedKeys
                    d.events.append(.keysDropped(contactID: sender.id, count: version2.droppedKeys))
                    logger.warning(
                        "gave up keys for missing messages",
                        metadata: ["contact": "\(sender.id)", "count": "\(version2.droppedKeys)"])
                }
            }
            acks[sender.id, default: []].append(content.ackSecret)
            guard try !tx.hasMessage(dropHash: env.dropHash) else { return }
            let id = Node.messageID(env.dropHash)
            var record = MessageRecord(
                id: id, contactId: sender.id, direction: .incoming, body: nil, fileName: nil, filePath: nil,
                fileSize: nil, status: .received, sentAt: Int64(clamping: content.sentAt), receivedAt: now,
                deliveredAt: nil, dropHash: env.dropHash, path: path)
            // A disappearing message's time runs from its arrival here (the sender's clock is not ours).
            record.disappearAt = content.disappearAfterMs.map { now + Int64(clamping: min($0, Node.maxDisappearMs)) }
            switch content.body {
            case .text(let t): record.body = t
            case .file(let name, let data):
                let path = try Node.saveAttachment(data, name: name, id: id, directory: files)
                saved.append(path)
                record.fileName = name
                record.filePath = path
                record.fileSize = Int64(data.count)
            }
            try tx.insert(record)
            if version2 != nil { try tx.setAckSecret(dropHash: env.dropHash, content.ackSecret) }
            d.events.append(.messageArrived(Message(record: record, contact: Contact(record: sender))))
        }
    }

    /// Drops the bundles a receipt proves delivered and marks this node's own messages delivered.
    private func applyReceipt(
        _ r: ReceiptEnvelope, tx: StoreTransaction, now: Int64, path: MessagePath, report d: inout ImportReport
    ) throws {
        try applyAcks(r.acks, tx: tx, now: now, path: path, report: &d)
    }

    func applyAcks(_ acks: [[UInt8]], tx: StoreTransaction, now: Int64, path: MessagePath, report d: inout ImportReport) throws {
        let markExpiry = now + Int64(MuleBundle.maxLifetimeMs)
        for ack in acks {
            let h = Sealer.dropHash(ackSecret: ack)
            d.dropped += try tx.markDelivered(dropHash: h, expiresAt: markExpiry)
            if let contactID = try tx.markMessageDelivered(dropHash: h, at: now, path: path) {
                d.receiptsApplied += 1
                d.events.append(.messageStatus(id: Node.messageID(h), contactID: contactID, status: .delivered, path: path))
            }
        }
    }

    /// Applies ack secrets learnt outside a receipt bundle (a relay saw the recipient reveal them):
    /// each marks the message with its drop hash delivered and drops carried copies.
    public func applyAcks(_ acks: [[UInt8]], path: MessagePath) throws(NodeError) -> ImportReport {
        let now = clock()
        let d = try write { tx in
            var d = ImportReport()
            try applyAcks(acks, tx: tx, now: now, path: path, report: &d)
            return d
        }
        events.publish(d.events)
        return d
    }

    /// Queues one receipt bundle revealing the ack secrets of the messages just delivered from a contact.
    private func queueReceipt(acks: [[UInt8]], to contactId: Int64, tx: StoreTransaction, now: Int64) throws {
        guard let contact = try tx.contact(id: contactId) else { return }
        let key = try RecipientTags.pairKey(
            me: identity, peerSigningKey: contact.signingKey, peerAgreementKey: contact.agreementKey)
        let (creation, lifetime) = Node.coarseLifetime(requested: Node.defaultLifetimeMs, now: now)
        let tag = RecipientTags.pair(
            pairKey: key, recipientSigningKey: contact.signingKey, day: MuleBundle.day(ofCreationTime: creation))
        for chunk in stride(from: 0, to: acks.count, by: Envelope.maxAcksPerReceipt) {
            let b = MuleBundle(
                tag: tag, creationTime: creation, lifetime: lifetime,
                envelope: .receipt(
                    ReceiptEnvelope(acks: Array(acks[chunk..<min(chunk + Envelope.maxAcksPerReceipt, acks.count)]))))
            let bytes = b.encode()
            try tx.insert(
                StoredBundle(
                    id: Node.bundleID(bytes), tag: b.tag, kind: .receipt, dropHash: nil,
                    expiresAt: Int64(b.expiresAtUnixMs), receivedAt: now, own: true, data: bytes))
        }
    }

    /// Writes a received attachment under `files/` with a sanitised name; returns its path.
    /// Writes a received attachment into `directory` under the message id and the sender's file
    /// name (made safe), never over an existing file. Returns its path.
    static func saveAttachment(_ data: [UInt8], name: String, id: String, directory: String) throws -> String {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        var safe = String(
            name.unicodeScalars.map { s -> Character in
                let c = Character(s)
                return c.isLetter || c.isNumber || c == "." || c == "-" || c == "_" ? c : "_"
            })
        while safe.hasPrefix(".") { safe.removeFirst() }
        if safe.isEmpty { safe = "file" }
        // The whole message id, so two messages never share a name, and never over an existing
        // file: a taken name gets a number.
        let base = directory + "/" + id + "-"
        let name = String(safe.prefix(100))
        let w = try AtomicWriter(path: base + name, mode: 0o600)
        try w.append(data)
        for n in 1...1000 {
            if try w.commit(replacing: false) { return w.path }
            let dot = name.lastIndex(of: ".").map { name[$0...] } ?? ""
            w.retarget(base + name.dropLast(dot.count) + "-\(n)" + dot)
        }
        throw NodeError.fileError(path: base + name, reason: "no free name for the attachment")
    }
}
