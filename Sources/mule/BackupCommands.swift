import ArgumentParser
import Foundation
import MuleNode

/// Where a passphrase comes from: a file (its first line), a prompt on the terminal without echo,
/// or the first line of standard input when that is not a terminal.
struct PassphraseOptions: ParsableArguments {
    @Option(name: .customLong("passphrase-file"), help: "Read the passphrase from the first line of this file.")
    var file: String?

    func read(confirm: Bool) throws(NodeError) -> [UInt8] {
        if let file {
            let bytes = try SecureFile.read(file)
            return Array(bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).first ?? [])
        }
        guard isatty(0) != 0 else {
            guard let line = readLine(strippingNewline: true) else {
                throw .invalidArgument("no passphrase: give --passphrase-file, or type it on a terminal")
            }
            return Array(line.utf8)
        }
        let first = Self.prompt("Passphrase: ")
        if confirm, Self.prompt("Again: ") != first { throw .invalidArgument("the two passphrases differ") }
        return first
    }

    /// Reads a line from the terminal with echo off, restoring the terminal even on Ctrl-C.
    static func prompt(_ text: String) -> [UInt8] {
        FileHandle.standardError.write(Data(text.utf8))
        var old = termios()
        tcgetattr(0, &old)
        var quiet = old
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(0, TCSANOW, &quiet)
        defer {
            tcsetattr(0, TCSANOW, &old)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return Array((readLine(strippingNewline: true) ?? "").utf8)
    }
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Write an encrypted backup: keys, contacts, messages, settings and received files.",
        discussion: """
            The file is encrypted under a passphrase (Argon2id, then XChaCha20-Poly1305 in \
            libsodium's secretstream; Docs/PROTOCOL.md). Keep the passphrase: without it the backup \
            cannot be opened by anyone, you included. 'mule restore FILE' brings it back on a new device.
            """)
    @ParentCommand var root: Mule
    @Argument(help: "The backup file to write.") var file: String
    @OptionGroup var passphrase: PassphraseOptions
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            let secret = try passphrase.read(confirm: true)
            let summary = try node.backup(to: file, passphrase: secret)
            if json { try Output.json(summary); return }
            print("Backed up \(summary.name): \(summary.files) files, \(ByteCount.format(summary.bytes)) to \(file)")
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore an encrypted backup into a new profile (a folder that does not exist or is empty).",
        discussion: """
            Restore on one device only: two devices with the same keys would each take the other's \
            messages. Nothing is changed when the passphrase is wrong or the file is damaged.
            """)
    @ParentCommand var root: Mule
    @Argument(help: "The backup file.") var file: String
    @OptionGroup var passphrase: PassphraseOptions
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        try guarded {
            let home = root.global.resolvedHome
            if FileManager.default.fileExists(atPath: home + "/identity") {
                throw NodeError.invalidArgument(
                    "\(home) already holds an identity: restore into a new or empty folder (--home DIR)")
            }
            let secret = try passphrase.read(confirm: false)
            let summary = try Profile.restore(from: file, home: home, passphrase: secret)
            if json { try Output.json(summary); return }
            print("Restored \(summary.name) into \(home): \(summary.files) files, \(ByteCount.format(summary.bytes))")
        }
    }
}
