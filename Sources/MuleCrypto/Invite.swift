import MuleWire

/// A single-line invite code: `mule1` followed by lower-case base32 of
/// `version(1) || signingKey(32) || agreementKey(32) || name (UTF-8) || checksum(4)`, where the
/// checksum is BLAKE2b-32bit("mule-invite-v1" || everything before it).
public enum Invite {
    public static let prefix = "mule1"
    public static let version: UInt8 = 1

    public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case notAnInvite
        case badChecksum
        case unknownVersion(UInt8)
        case badName

        public var description: String {
            switch self {
            case .notAnInvite: return "not a Mule invite code (it should start with 'mule1')"
            case .badChecksum: return "invite code is damaged (checksum mismatch): copy it again"
            case .unknownVersion(let v): return "invite code version \(v) is not supported by this Mule"
            case .badName: return "invite code holds an invalid name"
            }
        }
    }

    public static func encode(_ id: PublicIdentity) -> String {
        var body: [UInt8] = [version] + id.signingKey + id.agreementKey + Array(id.name.utf8)
        body += checksum(body)
        return prefix + Base32.encode(body)
    }

    public static func decode(_ text: String) throws(DecodeError) -> PublicIdentity {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.lowercased().hasPrefix(prefix), let body = Base32.decode(String(trimmed.dropFirst(prefix.count))),
            body.count >= 1 + 64 + 4
        else { throw .notAnInvite }
        let payload = Array(body.dropLast(4))
        guard Sodium.equal(checksum(payload), Array(body.suffix(4))) else { throw .badChecksum }
        guard payload[0] == version else { throw .unknownVersion(payload[0]) }
        guard let name = String(validating: payload[65...], as: UTF8.self), !name.isEmpty,
            name.utf8.count <= MessageContent.maxNameBytes
        else { throw .badName }
        return PublicIdentity(name: name, signingKey: Array(payload[1..<33]), agreementKey: Array(payload[33..<65]))
    }

    static func checksum(_ body: [UInt8]) -> [UInt8] {
        Sodium.blake2b(outputLength: 16, Array("mule-invite-v1".utf8), body).prefix(4).map { $0 }
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let chars: Set<Character> = [" ", "\t", "\n", "\r", "\r\n"]
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
