/// Write tokens (BEP 5): a `get`/`get_peers` answer carries a token bound to the asker's address,
/// and a `put`/`announce_peer` is accepted only with a token from the last two secrets (each
/// secret lives 5 minutes), so nobody can store from an address they cannot receive at.
public struct TokenIssuer: Sendable {
    private var current: [UInt8]
    private var previous: [UInt8]
    private var rotatedAtMs: UInt64
    private let random: @Sendable (Int) -> [UInt8]
    public static let rotationMs: UInt64 = 300_000

    public init(nowMs: UInt64, random: @escaping @Sendable (Int) -> [UInt8]) {
        self.random = random
        current = random(16)
        previous = random(16)
        rotatedAtMs = nowMs
    }

    public mutating func token(for address: DHTAddress, nowMs: UInt64) -> [UInt8] {
        rotate(nowMs)
        return Self.token(current, address)
    }

    public mutating func check(_ token: [UInt8], from address: DHTAddress, nowMs: UInt64) -> Bool {
        rotate(nowMs)
        return token == Self.token(current, address) || token == Self.token(previous, address)
    }

    private mutating func rotate(_ nowMs: UInt64) {
        guard nowMs &- rotatedAtMs >= Self.rotationMs else { return }
        previous = nowMs &- rotatedAtMs >= 2 * Self.rotationMs ? random(16) : current
        current = random(16)
        rotatedAtMs = nowMs
    }

    static func token(_ secret: [UInt8], _ address: DHTAddress) -> [UInt8] {
        let ip = Array(address.compact.prefix(4))
        return Array(SHA1.hash(secret, ip).prefix(8))
    }
}
