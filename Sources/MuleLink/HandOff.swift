import CSanitizer
import NIOCore

/// Tells ThreadSanitizer about the hand-off of a link's events from its event loop to the actor
/// that runs the link.
///
/// The events travel through `NIOAsyncChannel`'s inbound stream: NIO's lock, then a continuation
/// resumed on the event loop and a task hop to the actor. TSan does not see the edge through the
/// continuation and the actor's job queue (swiftlang/swift#57803), so it reported the arrays in a
/// `LinkEvent` as written by the event loop and read by the actor without synchronisation. The
/// synchronisation is real (an event cannot be read before it was yielded); these two calls make
/// it visible, keyed by the channel. Outside a TSan build they do nothing.
enum HandOff {
    static func release(_ channel: any Channel) {
        mule_tsan_release(UnsafeRawPointer(Unmanaged.passUnretained(channel as AnyObject).toOpaque()))
    }

    static func acquire(_ channel: any Channel) {
        mule_tsan_acquire(UnsafeRawPointer(Unmanaged.passUnretained(channel as AnyObject).toOpaque()))
    }
}
