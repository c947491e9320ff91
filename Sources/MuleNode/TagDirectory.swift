import MuleCrypto
import MuleStore
import MuleWire

/// Answers "is this recipient tag mine, and from whom?" for the days a batch of bundles was made on.
///
/// A node recognises its intro tag and, for every contact, the pair tag addressed to it.
struct TagDirectory {
    enum Owner: Equatable {
        case intro
        case contact(Int64)
    }

    let identity: Identity
    private var pairKeys: [(id: Int64, key: [UInt8])] = []
    private var days: [UInt32: [[UInt8]: Owner]] = [:]

    init(identity: Identity, contacts: [ContactRecord]) {
        self.identity = identity
        for c in contacts {
            // A contact whose key is a low-order point cannot share a pair key; skip it.
            if let k = try? RecipientTags.pairKey(me: identity, peerSigningKey: c.signingKey, peerAgreementKey: c.agreementKey) {
                pairKeys.append((c.id, k))
            }
        }
    }

    mutating func owner(of tag: [UInt8], day: UInt32) -> Owner? {
        if days[day] == nil {
            var map: [[UInt8]: Owner] = [:]
            map[RecipientTags.intro(recipientAgreementKey: identity.agreement.publicKey, day: day)] = .intro
            for p in pairKeys {
                map[RecipientTags.pair(pairKey: p.key, recipientSigningKey: identity.signing.publicKey, day: day)] =
                    .contact(p.id)
            }
            days[day] = map
        }
        return days[day]?[tag]
    }
}

/// A tag directory kept between batches of bundles from links, rebuilt when contacts are added.
public struct TagCache {
    var directory: TagDirectory?
    var contactsVersion = ""

    public init() {}
}
