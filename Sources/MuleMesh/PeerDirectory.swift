import MuleCrypto
import MuleLink
import MuleNode
import MuleStore
import MuleWire

/// Whom this node has met and whom it can reach now: addresses seen on links and through mDNS,
/// people who announced themselves on the LAN (`--visible-as`), and which contacts showed
/// themselves on which link. A state machine of the mesh with no I/O; every table is bounded.
///
/// A contact shows itself on a link when the link's peer announced the contact's keys (a signed
/// `--visible-as`), or when a bundle the contact sealed arrived there pushed unasked: a node
/// pushes only its own bundles. Presence is therefore a hint, not a proof: a contact's node that
/// neither announces itself nor sends anything looks offline until it does.
struct PeerDirectory {
    /// The most addresses and announced people remembered (the oldest are forgotten first).
    static let maxRecent = 256
    static let maxNearby = 256

    private(set) var recent: [String: RunState.Seen] = [:]
    private(set) var nearby: [String: RunState.Nearby] = [:]
    /// Contacts (store ids) that showed themselves on each live link.
    private(set) var contactsOnLink: [Int: Set<Int64>] = [:]

    /// An address met on a link or through mDNS.
    mutating func seen(_ address: String, via: LinkOrigin, at now: Int64) {
        recent[address] = RunState.Seen(address: address, via: via, lastSeen: now)
        if recent.count > PeerDirectory.maxRecent, let oldest = recent.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
            recent[oldest.key] = nil
        }
    }

    /// A link's peer announced who it is, with a signature over its link key that holds.
    mutating func announced(_ v: LinkHello.Visible, address: String, at now: Int64) {
        let pub = v.publicIdentity
        let key = Hex.encode(pub.signingKey)
        nearby[key] = RunState.Nearby(
            name: v.name, fingerprint: pub.fingerprint, signingKey: key, agreementKey: Hex.encode(pub.agreementKey),
            address: address, lastSeen: now, prekey: v.prekey.map { Hex.encode($0.encode()) })
        if nearby.count > PeerDirectory.maxNearby, let oldest = nearby.min(by: { $0.value.lastSeen < $1.value.lastSeen }) {
            nearby[oldest.key] = nil
        }
    }

    /// Records that `contact` showed itself on `link`. Returns true if that is news.
    mutating func contact(_ contact: Int64, showedOn link: Int) -> Bool {
        contactsOnLink[link, default: []].insert(contact).inserted
    }

    /// A link ended at `now`: its address and its announced person were last seen now, and the
    /// contacts on it may have gone. Returns those contacts.
    mutating func linkEnded(_ link: Int, address: String, announcedKey: [UInt8]?, at now: Int64) -> Set<Int64> {
        recent[address]?.lastSeen = now
        if let k = announcedKey { nearby[Hex.encode(k)]?.lastSeen = now }
        return contactsOnLink.removeValue(forKey: link) ?? []
    }

    /// How `contact` can be reached: linked while a link it showed itself on is up; otherwise
    /// through a relay when one it fetches from is linked (`linkedRelays`); otherwise offline.
    func presence(of contact: ContactRecord, linkedRelays: Set<String>) -> Presence {
        if contactsOnLink.values.contains(where: { $0.contains(contact.id) }) { return .linked }
        if contact.relays.contains(where: linkedRelays.contains) { return .relay }
        return .offline
    }

    /// The 50 most recently seen addresses and everyone announced, newest first, for node.json.
    func snapshot() -> (recent: [RunState.Seen], nearby: [RunState.Nearby]) {
        (
            Array(recent.values.sorted { $0.lastSeen > $1.lastSeen }.prefix(50)),
            nearby.values.sorted { $0.lastSeen > $1.lastSeen }
        )
    }
}
