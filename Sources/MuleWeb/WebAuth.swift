import Foundation
import MuleCrypto
import MuleNode
import MuleWire

/// Who may use the web app: whoever holds the profile's secret, which only the profile's owner
/// can read (`ui-secret`, mode 0600). The secret never travels itself:
/// - a one-time login token (printed by `mule run --ui` and `mule ui`) is exchanged once for
///   the session cookie, `HttpOnly; SameSite=Strict`;
/// - the session cookie and the CSRF token are keyed hashes of the secret, so they hold across
///   restarts of the node and change when the secret is replaced (`rm ui-secret`).
public final class WebAuth: @unchecked Sendable {
    public static let cookieName = "mule_session"
    public static let csrfHeader = "X-CSRF-Token"
    /// How long a login token may wait to be used.
    public static let tokenLifetime: Duration = .seconds(600)
    /// Login tokens not yet used, at most this many (the oldest are dropped).
    static let maxTokens = 16

    let session: String
    public let csrf: String
    // Guarded by `lock`.
    private let lock = NSLock()
    private var tokens: [String: ContinuousClock.Instant] = [:]

    /// Reads the profile's secret, creating it on first use.
    public init(profile: Profile) throws(NodeError) {
        let path = profile.home + "/ui-secret"
        var secret: [UInt8]
        if let existing = try? SecureFile.read(path), existing.count == 32 {
            secret = existing
        } else {
            secret = Sodium.randomBytes(32)
            try SecureFile.write(secret, to: path, mode: 0o600)
        }
        session = Hex.encode(Sodium.blake2b(outputLength: 32, key: secret, Array("mule-ui-session-v1".utf8)))
        csrf = Hex.encode(Sodium.blake2b(outputLength: 32, key: secret, Array("mule-ui-csrf-v1".utf8)))
        secret.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = 0 }
        }
    }

    /// A new one-time login token.
    public func mintToken() -> String {
        let token = Hex.encode(Sodium.randomBytes(16))
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        tokens = tokens.filter { now - $0.value < WebAuth.tokenLifetime }
        if tokens.count >= WebAuth.maxTokens, let oldest = tokens.min(by: { $0.value < $1.value }) {
            tokens[oldest.key] = nil
        }
        tokens[token] = now
        return token
    }

    /// True once for a token that was minted and has not expired.
    public func consume(_ token: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard let minted = tokens.removeValue(forKey: token) else { return false }
        return ContinuousClock.now - minted < WebAuth.tokenLifetime
    }

    public func isSession(_ value: String?) -> Bool {
        guard let value else { return false }
        return Sodium.equal(Array(value.utf8), Array(session.utf8))
    }

    public func isCSRF(_ value: String?) -> Bool {
        guard let value else { return false }
        return Sodium.equal(Array(value.utf8), Array(csrf.utf8))
    }

    /// The `Set-Cookie` value that opens a session.
    var sessionCookie: String { "\(WebAuth.cookieName)=\(session); Path=/; HttpOnly; SameSite=Strict" }
}
