import ArgumentParser
import Foundation
import Logging
import MuleMesh
import MuleNode

@main
struct Mule: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mule",
        abstract: "An offline-first, end-to-end encrypted messenger that also travels on USB sticks.",
        discussion: "The profile lives in $MULE_HOME, else $XDG_DATA_HOME/mule, else ~/.local/share/mule.",
        version: "0.1.0",
        subcommands: [
            Init.self, ID.self, Contacts.self, Send.self, Conversations.self, Messages.self, Export.self, Import.self, Sync.self,
            Status.self,
            Config.self, Run.self, UI.self, Chat.self, Peers.self, Nearby.self, DHT.self, Relay.self, Demo.self,
            BackupCommand.self, Restore.self, Completions.self, Manual.self,
        ]
    )

    @OptionGroup var global: GlobalOptions

    /// Everything Mule creates is private to the user (the store, its journal, received files):
    /// the process umask is 077 before any command runs.
    static func main() async {
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            Foundation.exit(status(for: error))
        }
    }

    /// Reports an error the way Docs/CLI.md says: one line on stderr starting `mule: `, and exit
    /// status 1, or 2 for a command line that could not be parsed (it names the help to read).
    /// `--help` and `--version` are not errors: ArgumentParser prints them, status 0.
    static func status(for error: any Error) -> Int32 {
        switch error {
        case let e as ExitCode: return e.rawValue
        case let e as NodeError:
            Output.error(e.description)
            return 1
        default:
            let code = exitCode(for: error)
            if code == .success { exit(withError: error) }
            if code == .validationFailure {
                var line = message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
                if line.hasPrefix("Error: ") { line.removeFirst(7) }
                if let f = line.first { line = f.lowercased() + line.dropFirst() }
                let full = fullMessage(for: error, columns: 1000)
                if let r = full.range(of: #"See '[^']+--help'"#, options: .regularExpression) {
                    line += " (see '" + full[r].dropFirst(5).dropLast(1) + "')"
                }
                Output.error(line.replacingOccurrences(of: "\n", with: " "))
                return 2
            }
            Output.error(Output.describe(error))
            return 1
        }
    }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Profile directory (overrides MULE_HOME and XDG_DATA_HOME).")
    var home: String?

    @Flag(name: .shortAndLong, help: "Log what happens to stderr.")
    var verbose = false

    var resolvedHome: String { home ?? Profile.defaultHome() }

    func logger(level: Logger.Level = .warning) -> Logger {
        var l = Logger(label: "mule") { StreamLogHandler.standardError(label: $0) }
        l.logLevel = verbose ? .debug : level
        return l
    }

    /// Opens the profile's node for one command. What the command changes in the store is told
    /// to the node running on the profile, if any, through its `node.sock`, so it acts at once.
    func openNode() throws(NodeError) -> Node {
        let node = try Node(home: resolvedHome, logger: logger())
        let profile = node.profile
        node.events.observe { event in
            switch event {
            case .stored, .contactsChanged, .relaysChanged, .stickImported: NodeSocket.storeChanged(profile: profile)
            default: break
            }
        }
        // Messages whose disappearing time came while no node ran go before anything is shown.
        do { try node.eraseDisappeared() } catch {
            Output.error("warning: could not erase disappearing messages: \(Output.describe(error))")
        }
        return node
    }
}

/// Runs a command body, turning a user-facing error into one line on stderr and exit status 1.
func guarded(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as NodeError {
        Output.error(e.description)
        throw ExitCode(1)
    } catch let e as ExitCode {
        throw e
    } catch {
        Output.error(Output.describe(error))
        throw ExitCode(1)
    }
}

enum Output {
    /// One line for any error, in Mule's words: its own errors say what happened and what to do;
    /// a system error is named by its errno text; nothing of Foundation's or Swift's wording
    /// ("The operation could not be completed", a type name) reaches the user.
    static func describe(_ error: any Error) -> String {
        if let e = error as? NodeError { return e.description }
        // Mule's own error types (MeshError, LinkError, DHTError, …) describe themselves in one line.
        if String(reflecting: type(of: error)).hasPrefix("Mule") { return String(describing: error) }
        if error is CancellationError { return "interrupted" }
        let ns = error as NSError
        var underlying = ns
        while let u = underlying.userInfo[NSUnderlyingErrorKey] as? NSError { underlying = u }
        let path = (ns.userInfo[NSFilePathErrorKey] as? String).map { $0 + ": " } ?? ""
        if underlying.domain == NSPOSIXErrorDomain, let text = strerror(Int32(underlying.code)) {
            return path + String(cString: text).lowercased()
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: return path + "no such file or directory"
            case .fileReadNoPermission, .fileWriteNoPermission: return path + "permission denied"
            case .fileWriteOutOfSpace: return path + "no space left on device"
            case .fileReadCorruptFile, .propertyListReadCorrupt: return path + "the data is damaged"
            default: break
            }
        }
        return path + "unexpected error (\(ns.domain) \(ns.code))"
    }

    static func error(_ line: String) {
        FileHandle.standardError.write(Data(("mule: " + line + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try enc.encode(value), as: UTF8.self))
    }

    static func date(_ ms: Int64) -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// The first line of `text`, at most `n` characters, with an ellipsis if it was cut.
    static func snippet(_ text: String, _ n: Int) -> String {
        let line = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return line.count > n || line.count < text.count ? String(line.prefix(n)) + "…" : line
    }

    static func iso(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

/// `mule completions SHELL`: the completion script for bash, zsh or fish.
struct Completions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
            bash: mule completions bash > ~/.local/share/bash-completion/completions/mule
            zsh:  mule completions zsh > ~/.zfunc/_mule (with ~/.zfunc in fpath)
            fish: mule completions fish > ~/.config/fish/completions/mule.fish
            Scripts/install.sh installs all three.
            """)
    @Argument(help: "bash, zsh or fish.") var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else {
            throw ValidationError("'\(shell)' is not one of bash, zsh, fish")
        }
    }

    func run() throws {
        guard let s = CompletionShell(rawValue: shell) else { return }
        print(Mule.completionScript(for: s), terminator: "")
    }
}
