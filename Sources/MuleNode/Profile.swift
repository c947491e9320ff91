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
    /// Permissions that were too open when the profile was opened and have been narrowed, one line
    /// each (the node logs them as warnings: keys that others could read may have been copied).
    public var repairs: [String] = []

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
            try SecureFile.write(identity.agreement.publicKey, to: idDir + "/x25519.public", mode: 0o600)
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
            let nameBytes = try SecureFile.read(idDir + "/name")
            guard nameBytes.count <= 4 * MessageContent.maxNameBytes,
                let text = String(validating: nameBytes, as: UTF8.self),
                let name = try? validateName(text)
            else {
                throw NodeError.profileDamaged("identity/name is not a name (UTF-8, 1 to \(MessageContent.maxNameBytes) bytes)")
            }
            // Any 32 bytes make an X25519 key, so a damaged file would load as another identity
            // and mail for this one would be taken for someone else's. Its public half, written
            // beside it, must match (a profile from before that file gets it on first open).
            guard x.contains(where: { $0 != 0 }) else {
                throw NodeError.profileDamaged("identity/x25519.secret is all zeros; restore the identity folder from a backup")
            }
            let agreement = try AgreementKey(secretKey: x)
            let publicPath = idDir + "/x25519.public"
            if FileManager.default.fileExists(atPath: publicPath) {
                guard try SecureFile.read(publicPath) == agreement.publicKey else {
                    throw NodeError.profileDamaged(
                        "identity/x25519.secret does not match identity/x25519.public; restore the identity folder from a backup")
                }
            } else {
                try? SecureFile.write(agreement.publicKey, to: publicPath, mode: 0o600)
            }
            let identity = Identity(name: name, signing: try SigningKey(secretKey: ed), agreement: agreement)
            return Profile(home: home, identity: identity, repairs: repairPermissions(home))
        } catch let e as NodeError {
            throw e
        } catch let e as CryptoError {
            throw .profileDamaged(e.description)
        } catch {
            throw .profileDamaged("\(error)")
        }
    }

    /// Narrows the home and identity folders to 0700 and the files in them to 0600 (the store and
    /// its journal, the run state, the keys), and `files/` to 0700. Returns what it changed.
    static func repairPermissions(_ home: String) -> [String] {
        var repairs: [String] = []
        func narrow(_ path: String, to mode: mode_t, _ label: String) {
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT != S_IFLNK else { return }
            let current = st.st_mode & 0o777
            guard current & ~mode != 0 else { return }
            guard chmod(path, mode) == 0 else {
                repairs.append(
                    "\(label) has mode \(String(current, radix: 8)) and cannot be changed to \(String(mode, radix: 8))")
                return
            }
            let keys = label.hasPrefix("identity/") && label.hasSuffix(".secret")
            repairs.append(
                "\(label) had mode \(String(current, radix: 8)), now \(String(mode, radix: 8))"
                    + (keys && current & 0o077 != 0 ? "; others on this machine could read the key and may have copied it" : ""))
        }
        narrow(home, to: 0o700, "the profile folder")
        let idDir = identityDirectory(home)
        narrow(idDir, to: 0o700, "identity/")
        for f in ["ed25519.secret", "x25519.secret", "x25519.public", "name"] {
            narrow(idDir + "/" + f, to: 0o600, "identity/" + f)
        }
        for f in ["mule.sqlite", "mule.sqlite-wal", "mule.sqlite-shm", "node.json", "node.lock"] {
            narrow(home + "/" + f, to: 0o600, f)
        }
        narrow(home + "/files", to: 0o700, "files/")
        return repairs
    }

    /// `MULE_HOME`, else `$XDG_DATA_HOME/mule`, else `~/.local/share/mule`.
    public static func defaultHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let h = environment["MULE_HOME"], !h.isEmpty { return h }
        if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/mule" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.local/share/mule"
    }
}
