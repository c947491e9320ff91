import MuleWire

/// A single-line invite code: `mule1` followed by lower-case base32 of
/// `version(1) || signingKey(32) || agreementKey(32) || name (UTF-8) || checksum(4)`, where the
/// checksum is BLAKE2b-32bit("mule-invite-v1" || everything before it).
///
/// Version 2, written only when the inviter uses relays, replaces the name with
/// `nameLength(1) || name || relayCount(1) || (relayLength(1) || relay "HOST:PORT")*`.
///
/// Version 3 is version 2's layout followed by the inviter's signed prekey (envelope version 2's
/// first messages are sealed to it): `id(u32 BE) || publicKey(32) || validUntil(u64 BE, Unix ms) ||
/// signature(64)`, 108 bytes, the signature as in ``SignedPrekey``. Versions 1 and 2 are still read.
public enum Invite {
    public static let prefix = "mule1"
    public static let version: UInt8 = 1
    public static let versionWithRelays: UInt8 = 2
    public static let versionWithPrekey: UInt8 = 3
    public static let maxRelays = 4
    static let prekeyLength = 108

    /// What an invite code holds.
    public struct Contents: Sendable, Equatable {
        public var identity: PublicIdentity
        public var relays: [String]
        /// Signed by the identity's signing key (checked when read).
        public var prekey: SignedPrekey?
    }

    public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case notAnInvite
        /// Shorter than its own structure says: cut off when copied.
        case truncated
        /// A character that base32 does not use.
        case badCharacter(Character)
        case badChecksum
        case unknownVersion(UInt8)
        case badName
        case badRelays
        case badPrekey

        public var description: String {
            switch self {
            case .notAnInvite: return "not a Mule invite code (it should start with 'mule1')"
            case .truncated: return "invite code is cut short: copy all of it (it is about 120 characters or more)"
            case .badCharacter(let c):
                return "invite code holds '\(c)', which no invite code has: it was changed when copied; copy it again"
            case .badChecksum: return "invite code is damaged (checksum mismatch): copy it again"
            case .unknownVersion(let v): return "invite code version \(v) is not supported by this Mule"
            case .badName: return "invite code holds an invalid name"
            case .badRelays: return "invite code holds an invalid relay list"
            case .badPrekey: return "invite code holds a prekey its owner did not sign: it was altered; ask for it again"
            }
        }
    }

    public static func encode(_ id: PublicIdentity, relays: [String] = [], prekey: SignedPrekey? = nil) -> String {
        var body: [UInt8]
        let relays = relays.prefix(maxRelays).filter { !$0.isEmpty && $0.utf8.count <= 64 }
        if relays.isEmpty, prekey == nil {
            body = [version] + id.signingKey + id.agreementKey + Array(id.name.utf8)
        } else {
            body = [prekey == nil ? versionWithRelays : versionWithPrekey] + id.signingKey + id.agreementKey
            body.append(UInt8(id.name.utf8.count))
            body += Array(id.name.utf8)
            body.append(UInt8(relays.count))
            for r in relays {
                body.append(UInt8(r.utf8.count))
                body += Array(r.utf8)
            }
            if let p = prekey {
                body += SignedPrekey.signedBytes(id: p.id, publicKey: p.publicKey, validUntil: p.validUntil).dropFirst(
                    SignedPrekey.label.count)
                body += p.signature
            }
        }
        body += checksum(body)
        return prefix + Base32.encode(body)
    }

    public static func decode(_ text: String) throws(DecodeError) -> PublicIdentity {
        try decodeWithRelays(text).identity
    }

    /// The identity and the relays (`HOST:PORT`) an invite carries.
    public static func decodeWithRelays(_ text: String) throws(DecodeError) -> (identity: PublicIdentity, relays: [String]) {
        let c = try read(text)
        return (c.identity, c.relays)
    }

    /// Everything an invite code holds; a prekey is checked against the identity's signature.
    public static func read(_ text: String) throws(DecodeError) -> Contents {
        // Spaces and line breaks are ignored: mail programs and chat apps wrap long lines.
        let compact = String(text.unicodeScalars.filter { !$0.properties.isWhitespace })
        guard compact.lowercased().hasPrefix(prefix) else { throw .notAnInvite }
        let code = compact.dropFirst(prefix.count)
        if let bad = code.first(where: { c in !(c.isASCII && (c.isLetter || ("2"..."7").contains(c))) }) {
            throw .badCharacter(bad)
        }
        // A length that base32 never produces, or fewer bytes than the smallest invite: cut off.
        guard let body = Base32.decode(String(code)), body.count >= 1 + 64 + 1 + 4 else { throw .truncated }
        if body[0] == versionWithRelays || body[0] == versionWithPrekey, let needed = relaysLayoutLength(body),
            needed + (body[0] == versionWithPrekey ? prekeyLength : 0) + 4 > body.count
        {
            throw .truncated
        }
        let payload = Array(body.dropLast(4))
        guard Sodium.equal(checksum(payload), Array(body.suffix(4))) else { throw .badChecksum }
        guard (version...versionWithPrekey).contains(payload[0]) else { throw .unknownVersion(payload[0]) }
        var nameBytes = payload[65...]
        var relays: [String] = []
        var prekey: SignedPrekey?
        if payload[0] != version {
            var rest = payload[65...]
            if payload[0] == versionWithPrekey {
                guard rest.count >= prekeyLength else { throw .truncated }
                let p = Array(rest.suffix(prekeyLength))
                rest = rest.dropLast(prekeyLength)
                let id = p[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                let validUntil = p[36..<44].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let signed = SignedPrekey(
                    id: id, publicKey: Array(p[4..<36]), validUntil: validUntil, signature: Array(p[44..<108]))
                guard signed.verify(signingKey: Array(payload[1..<33])) else { throw .badPrekey }
                prekey = signed
            }
            func take(_ n: Int) throws(DecodeError) -> ArraySlice<UInt8> {
                guard rest.count >= n else { throw .badRelays }
                defer { rest = rest.dropFirst(n) }
                return rest.prefix(n)
            }
            nameBytes = try take(Int(try take(1).first!))
            let count = Int(try take(1).first!)
            guard count <= maxRelays else { throw .badRelays }
            for _ in 0..<count {
                guard let r = String(validating: try take(Int(try take(1).first!)), as: UTF8.self), !r.isEmpty else {
                    throw .badRelays
                }
                relays.append(r)
            }
            guard rest.isEmpty else { throw .badRelays }
        }
        guard let name = String(validating: nameBytes, as: UTF8.self), !name.isEmpty,
            name.utf8.count <= MessageContent.maxNameBytes
        else { throw .badName }
        let id = PublicIdentity(name: name, signingKey: Array(payload[1..<33]), agreementKey: Array(payload[33..<65]))
        return Contents(identity: id, relays: relays, prekey: prekey)
    }

    /// The length a version-2 payload says it has (without its checksum), read from its length
    /// bytes as far as `body` reaches; nil once a length byte itself is missing.
    static func relaysLayoutLength(_ body: [UInt8]) -> Int? {
        var at = 65
        guard at < body.count else { return nil }
        at += 1 + Int(body[at])  // name
        guard at < body.count else { return at + 1 }
        let count = Int(body[at])
        at += 1
        for _ in 0..<min(count, maxRelays) {
            guard at < body.count else { return at + 1 }
            at += 1 + Int(body[at])
        }
        return at
    }

    static func checksum(_ body: [UInt8]) -> [UInt8] {
        Sodium.blake2b(outputLength: 16, Array("mule-invite-v1".utf8), body).prefix(4).map { $0 }
    }
}
