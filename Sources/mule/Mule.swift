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
            Init.self, ID.self, Contacts.self, Send.self, Messages.self, Export.self, Import.self, Sync.self, Status.self,
            Config.self, Run.self, UI.self, Chat.self, Peers.self, Nearby.self, DHT.self, Relay.self, Demo.self,
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
            exit(withError: error)
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
        Output.error("\(error)")
        throw ExitCode(1)
    }
}

enum Output {
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

    static func iso(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
