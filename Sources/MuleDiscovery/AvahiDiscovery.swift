import CAvahi
import Logging
import NIOConcurrencyHelpers

/// A node found on the LAN: its mDNS instance name, an IPv4 address and the port it listens on.
public struct DiscoveredService: Sendable, Hashable {
    public var name: String
    public var host: String
    public var port: Int
    public var txt: [String]
}

public enum DiscoveryEvent: Sendable {
    case found(DiscoveredService)
    case removed(name: String)
    /// The daemon went away (or was never there); discovery is off from here on.
    case unavailable(String)
}

public enum DiscoveryError: Error, Sendable, CustomStringConvertible {
    case unavailable(String)

    public var description: String {
        switch self {
        case .unavailable(let r): "mDNS discovery is off: \(r)"
        }
    }
}

/// Publishes this node as a `_mule._tcp` service and browses for others through avahi-client.
///
/// The avahi objects have one owner, this class. They are touched only on Avahi's own poll thread
/// (in its callbacks) or while holding that thread's lock; events reach Swift concurrency through
/// an `AsyncStream`. Callbacks find this instance through Avahi's userdata pointer, never a global.
public final class AvahiDiscovery: @unchecked Sendable {
    public static let serviceType = "_mule._tcp"

    public let events: AsyncStream<DiscoveryEvent>
    private let continuation: AsyncStream<DiscoveryEvent>.Continuation
    private let port: UInt16
    private let txt: [String]
    private let logger: Logger
    private let name: NIOLockedValueBox<String>
    private var poll: OpaquePointer?
    private var client: OpaquePointer?
    private var group: OpaquePointer?
    private var browser: OpaquePointer?
    private var stopped = false

    /// The instance name currently published (random; it changes on every start and on collision).
    public var instanceName: String { name.withLockedValue { $0 } }

    /// Connects to the Avahi daemon over D-Bus and starts publishing and browsing. Throws, with the
    /// reason in one line, when no daemon is reachable.
    public init(instanceName: String, port: Int, txt: [String], logger: Logger) throws(DiscoveryError) {
        (events, continuation) = AsyncStream.makeStream(of: DiscoveryEvent.self, bufferingPolicy: .bufferingNewest(256))
        self.port = UInt16(port)
        self.txt = txt
        self.logger = logger
        name = NIOLockedValueBox(instanceName)
        guard let poll = avahi_threaded_poll_new() else { throw .unavailable("cannot create the Avahi poll") }
        self.poll = poll
        var error: Int32 = 0
        let me = Unmanaged.passUnretained(self).toOpaque()
        let client = avahi_client_new(
            avahi_threaded_poll_get(poll), AvahiClientFlags(rawValue: 0),
            { c, state, userdata in
                guard let c, let userdata else { return }
                Unmanaged<AvahiDiscovery>.fromOpaque(userdata).takeUnretainedValue().clientChanged(c, state)
            }, me, &error)
        guard let client else {
            avahi_threaded_poll_free(poll)
            self.poll = nil
            throw .unavailable("the Avahi daemon is not reachable (\(String(cString: avahi_strerror(error))))")
        }
        self.client = client
        avahi_threaded_poll_start(poll)
    }

    deinit { stop() }

    /// Withdraws the service and stops browsing. Safe to call more than once.
    public func stop() {
        guard let poll, !stopped else { return }
        stopped = true
        avahi_threaded_poll_stop(poll)
        if let client { avahi_client_free(client) }  // frees the group, browser and resolvers too
        client = nil
        group = nil
        browser = nil
        avahi_threaded_poll_free(poll)
        self.poll = nil
        continuation.finish()
    }

    // MARK: Callbacks (on Avahi's poll thread)

    private func clientChanged(_ c: OpaquePointer, _ state: AvahiClientState) {
        switch state {
        case AVAHI_CLIENT_S_RUNNING:
            publish(c)
            browse(c)
        case AVAHI_CLIENT_S_COLLISION, AVAHI_CLIENT_S_REGISTERING:
            if let group { avahi_entry_group_reset(group) }
        case AVAHI_CLIENT_FAILURE:
            let reason = String(cString: avahi_strerror(avahi_client_errno(c)))
            continuation.yield(.unavailable("the Avahi daemon went away (\(reason))"))
        default:
            break
        }
    }

    private func publish(_ c: OpaquePointer) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        if group == nil {
            group = avahi_entry_group_new(
                c,
                { g, state, userdata in
                    guard let g, let userdata else { return }
                    Unmanaged<AvahiDiscovery>.fromOpaque(userdata).takeUnretainedValue().groupChanged(g, state)
                }, me)
        }
        guard let group else {
            logger.warning("mDNS: cannot create an entry group")
            return
        }
        guard avahi_entry_group_is_empty(group) != 0 else { return }
        var list: UnsafeMutablePointer<AvahiStringList>? = nil
        for t in txt.reversed() { list = avahi_string_list_add(list, t) }
        defer { avahi_string_list_free(list) }
        let rc = avahi_entry_group_add_service_strlst(
            group, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC),
            AvahiPublishFlags(rawValue: 0), instanceName, AvahiDiscovery.serviceType, nil, nil, port, list)
        if rc == Int32(AVAHI_ERR_COLLISION) {
            rename(group)
            return
        }
        guard rc == 0, avahi_entry_group_commit(group) == 0 else {
            logger.warning("mDNS: cannot publish", metadata: ["reason": "\(String(cString: avahi_strerror(rc)))"])
            return
        }
        logger.debug("mDNS: publishing", metadata: ["name": "\(instanceName)", "port": "\(port)"])
    }

    private func groupChanged(_ g: OpaquePointer, _ state: AvahiEntryGroupState) {
        if state == AVAHI_ENTRY_GROUP_COLLISION { rename(g) }
    }

    /// Another service took our name: take Avahi's alternative and publish again.
    private func rename(_ g: OpaquePointer) {
        name.withLockedValue { n in
            if let alt = avahi_alternative_service_name(n) {
                n = String(cString: alt)
                avahi_free(alt)
            }
        }
        avahi_entry_group_reset(g)
        if let c = client ?? avahi_entry_group_get_client(g) { publish(c) }
    }

    private func browse(_ c: OpaquePointer) {
        guard browser == nil else { return }
        let me = Unmanaged.passUnretained(self).toOpaque()
        browser = avahi_service_browser_new(
            c, AvahiIfIndex(AVAHI_IF_UNSPEC), AvahiProtocol(AVAHI_PROTO_UNSPEC),
            AvahiDiscovery.serviceType, nil, AvahiLookupFlags(rawValue: 0),
            { b, interface, proto, event, name, type, domain, flags, userdata in
                guard let b, let userdata else { return }
                Unmanaged<AvahiDiscovery>.fromOpaque(userdata).takeUnretainedValue()
                    .browsed(b, interface, proto, event, name, type, domain, flags)
            }, me)
        if browser == nil { logger.warning("mDNS: cannot browse") }
    }

    private func browsed(
        _ b: OpaquePointer, _ interface: AvahiIfIndex, _ proto: AvahiProtocol, _ event: AvahiBrowserEvent,
        _ name: UnsafePointer<CChar>?, _ type: UnsafePointer<CChar>?, _ domain: UnsafePointer<CChar>?,
        _ flags: AvahiLookupResultFlags
    ) {
        switch event {
        case AVAHI_BROWSER_NEW:
            guard let name, let c = avahi_service_browser_get_client(b) else { return }
            if String(cString: name) == instanceName { return }
            let me = Unmanaged.passUnretained(self).toOpaque()
            // Resolved to IPv4 only: link-local IPv6 would need the interface in every address.
            let r = avahi_service_resolver_new(
                c, interface, proto, name, type, domain, AvahiProtocol(AVAHI_PROTO_INET),
                AvahiLookupFlags(rawValue: 0),
                { r, _, _, event, name, _, _, _, address, port, txt, _, userdata in
                    guard let r, let userdata else { return }
                    Unmanaged<AvahiDiscovery>.fromOpaque(userdata).takeUnretainedValue()
                        .resolved(r, event, name, address, port, txt)
                }, me)
            if r == nil { logger.debug("mDNS: cannot resolve", metadata: ["name": "\(String(cString: name))"]) }
        case AVAHI_BROWSER_REMOVE:
            if let name { continuation.yield(.removed(name: String(cString: name))) }
        case AVAHI_BROWSER_FAILURE:
            continuation.yield(.unavailable("browsing failed"))
        default:
            break
        }
    }

    private func resolved(
        _ r: OpaquePointer, _ event: AvahiResolverEvent, _ name: UnsafePointer<CChar>?,
        _ address: UnsafePointer<AvahiAddress>?, _ port: UInt16, _ txt: UnsafeMutablePointer<AvahiStringList>?
    ) {
        defer { avahi_service_resolver_free(r) }
        guard event == AVAHI_RESOLVER_FOUND, let name, let address else { return }
        var buf = [CChar](repeating: 0, count: Int(AVAHI_ADDRESS_STR_MAX))
        avahi_address_snprint(&buf, buf.count, address)
        var strings: [String] = []
        var l = txt
        while let item = l {
            if let text = avahi_string_list_get_text(item) {
                let n = Int(avahi_string_list_get_size(item))
                strings.append(String(decoding: UnsafeBufferPointer(start: text, count: n), as: UTF8.self))
            }
            l = avahi_string_list_get_next(item)
        }
        let host = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        continuation.yield(.found(DiscoveredService(name: String(cString: name), host: host, port: Int(port), txt: strings)))
    }
}
