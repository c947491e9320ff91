import NIOCore

/// How a link that was run to its end ended.
public struct LinkEnd<ID> {
    /// What `attach` returned for the peer, if the handshake finished and the peer was taken.
    public var id: ID?
    /// Why the link ended: `nil` when it closed cleanly.
    public var error: (any Error)?
    /// True when `handle` threw: the owner dropped the link and should say why. Otherwise the link
    /// layer ended it and has logged the reason itself.
    public var droppedByOwner = false

    /// "closed", or the reason the link was dropped.
    public var reason: String {
        guard let error else { return "closed" }
        return (error as? LinkError)?.description ?? "\(error)"
    }
}

extension NIOAsyncChannel where Inbound == LinkEvent, Outbound == LinkFrame {
    /// Runs a link to its end on the caller's actor, then closes it: `attach` gets the peer once
    /// the handshake is done and returns an id for it (nil refuses the peer and closes the link),
    /// then `handle` gets every frame, in order, with that id. A frame before the handshake, or an
    /// error `handle` throws, ends the link.
    public func runLink<ID>(
        isolation: isolated (any Actor)? = #isolation,
        attach: (LinkPeer) -> ID?,
        handle: (LinkFrame, ID) throws(LinkError) -> Void
    ) async -> LinkEnd<ID> {
        var end = LinkEnd<ID>()
        do {
            // The body must run on the caller's actor: `attach` and `handle` touch its state. A
            // nonisolated async closure would run on the global executor, concurrently with the
            // actor's own jobs (the release-build crashes of issue 10), so the closure captures
            // `isolation` and is thereby isolated to it; the assertion proves it in debug builds.
            try await executeThenClose(isolation: isolation) { inbound, _ in
                isolation?.assertIsolated("a link's frames are handled off its actor")
                for try await event in inbound {
                    HandOff.acquire(channel)
                    switch event {
                    case .established(let peer):
                        end.id = attach(peer)
                        if end.id == nil { return }
                    case .frames(let frames):
                        guard let id = end.id else { throw LinkError.unexpected("a frame before the handshake") }
                        for frame in frames {
                            do { try handle(frame, id) } catch {
                                end.droppedByOwner = true
                                throw error
                            }
                        }
                    }
                }
            }
        } catch {
            end.error = error
        }
        return end
    }
}

extension Channel {
    /// Writes bundle `id` (`data`) from byte `start` as `part` frames and returns the last write.
    ///
    /// A bundle larger than one part is flushed and waited for part by part, so a slow link never
    /// holds a whole attachment in its buffers; `sent` is told the bytes sent after each such part
    /// and answers whether to go on. Returns nil when it said no (the link is gone).
    public func writeParts(
        isolation: isolated (any Actor)? = #isolation,
        of data: [UInt8], id: [UInt8], from start: Int = 0, sent: (Int) -> Bool = { _ in true }
    ) async -> EventLoopFuture<Void>? {
        var offset = min(start, data.count)
        var last: EventLoopFuture<Void>
        repeat {
            last = write(LinkFrame.part(of: data, id: id, from: offset))
            offset = min(offset + LinkFrame.maxPartData, data.count)
            if data.count > LinkFrame.maxPartData {
                flush()
                try? await last.get()
                if !sent(offset) { return nil }
            }
        } while offset < data.count
        return last
    }
}

extension Channel {
    /// Sends the bundles a peer asked for until its queue is empty: `next` takes the next batch
    /// off the owner's queue and gives each want its bundle (nil for one that is gone, answered
    /// `gone`); each bundle goes out in parts from the offset asked (`writeParts`), `progress`
    /// told the bytes sent and answering whether the link is still there; `sent` is told each
    /// bundle written and `batchSent` each batch. Each batch is waited for until it reached the
    /// socket, so a slow peer holds one batch in memory. Returns false when the link went away.
    public func sendWanted<B>(
        isolation: isolated (any Actor)? = #isolation,
        next: () -> [(LinkFrame.Want, B?)],
        data: (B) -> [UInt8],
        progress: (B, Int) -> Bool = { _, _ in true },
        sent: (B) -> Void = { _ in },
        batchSent: ([B]) -> Void = { _ in }
    ) async -> Bool {
        while true {
            let batch = next()
            if batch.isEmpty { return true }
            var last: EventLoopFuture<Void>?
            var done: [B] = []
            for (want, bundle) in batch {
                guard let bundle else {
                    // Gone since it was offered (delivered, expired or evicted): say so.
                    last = write(LinkFrame.gone(want.id))
                    continue
                }
                last = await writeParts(of: data(bundle), id: want.id, from: Int(want.offset)) { progress(bundle, $0) }
                if last == nil { return false }
                sent(bundle)
                done.append(bundle)
            }
            flush()
            batchSent(done)
            do { try await last?.get() } catch { return false }
        }
    }
}
