import Foundation
import MuleCrypto
import MuleWire

/// A profile directory: the identity's key files, the store and received files.
///
/// ```
/// HOME/            0700
///   identity/      0700
///     name               the display name (UTF-8)
///     ed25519.secret     64 bytes, 0600
///     x25519.secret      32 bytes, 0600
///   mule.sqlite        the store (WAL mode)
///   files/             received attachments
/// ```
public struct Profile: Sendable {
    public let home: String
    public let identity: Identity

    public var storePath: String { home + "/mule.sqlite" }
    public var filesDirectory: String { home + "/files" }
    /// What a running node (`mule run`) publishes for `mule peers` and `mule nearby`.
    public var runStatePath: String { home + "/node.json" }
    /// Held (flock) by the running node of this profile.
    public var runLockPath: String { home + "/node.lock" }
    static func identityDirectory(_ home: String) -> String { home + "/identity" }

    public static func validateName(_ name: String) throws(NodeError) -> String {
        let n = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !n.isEmpty else { throw .invalidName("the name is empty") }
        guard n.utf8.count <= MessageContent.maxNameBytes else {
            throw .invalidName("longer than \(MessageContent.maxNameBytes) bytes")
        }
        guard !n.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidName("it contains control characters")
        }
        return n
    }

    /// Creates a new identity in `home`; refuses if one exists.
    public static func create(home: String, name: String) throws(NodeError) -> Profile {
        let name = try validateName(name)
        let fm = FileManager.default
        let idDir = identityDirectory(home)
        if fm.fileExists(atPath: idDir + "/ed25519.secret") || fm.fileExists(atPath: idDir + "/x25519.secret") {
            throw .profileExists(home)
        }
        let identity = Identity.generate(name: name)
        do {
            try fm.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(atPath: idDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try SecureFile.write(identity.agreement.secretKeyBytes, to: idDir + "/x25519.secret", mode: 0o600)
            try SecureFile.write(Array(name.utf8), to: idDir + "/name", mode: 0o600)
            // The signing key is written last: its presence marks a complete identity.
            try SecureFile.write(identity.signing.secretKeyBytes, to: idDir + "/ed25519.secret", mode: 0o600)
        } catch let e as NodeError {
            throw e
        } catch {
            throw .fileError(path: home, reason: "\(error.localizedDescription)")
        }
        return Profile(home: home, identity: identity)
    }

    public static func open(home: String) throws(NodeError) -> Profile {
        let idDir = identityDirectory(home)
        guard FileManager.default.fileExists(atPath: idDir + "/ed25519.secret") else { throw .noProfile(home) }
        do {
            let ed = try SecureFile.read(idDir + "/ed25519.secret")
            let x = try SecureFile.read(idDir + "/x25519.secret")
            guard let name = String(validating: try SecureFile.read(idDir + "/name"), as: UTF8.self) else {
                throw NodeError.profileDamaged("the name file is not UTF-8")
            }
            let identity = Identity(name: name, signing: try SigningKey(secretKey: ed), agreement: try AgreementKey(secretKey: x))
            return Profile(home: home, identity: identity)
        } catch let e as NodeError {
            throw e
        } catch let e as CryptoError {
            throw .profileDamaged(e.description)
        } catch {
            throw .profileDamaged("\(error)")
        }
    }

    /// `MULE_HOME`, else `$XDG_DATA_HOME/mule`, else `~/.local/share/mule`.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let h = environment["MULE_HOME"], !h.isEmpty { return h }
        if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/mule" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/mule"
    }
}
