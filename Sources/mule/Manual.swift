import ArgumentParser
import Foundation

/// `mule manual`: the man page, generated from the command definitions themselves (through
/// ArgumentParser's help dump), so it never disagrees with `--help`. Scripts/install.sh installs it.
struct Manual: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the man page (roff), made from the command definitions.",
        discussion: "man -l <(mule manual) shows it; Scripts/install.sh installs it as mule(1).")

    func run() throws {
        let data = Data(Mule._dumpHelp().utf8)
        let tool: ToolDump
        do { tool = try JSONDecoder().decode(ToolDump.self, from: data) } catch {
            throw NodeErrorLine("cannot read the command definitions")
        }
        print(ManPage.render(tool.command, version: Mule.configuration.version), terminator: "")
    }
}

/// An error that is only its line (for the few failures that are not the node's).
struct NodeErrorLine: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// The part of ArgumentParser's help dump (ToolInfoV0) the man page uses.
struct ToolDump: Decodable {
    var command: CommandDump

    struct CommandDump: Decodable {
        var commandName: String
        var abstract: String?
        var discussion: String?
        var shouldDisplay: Bool?
        var subcommands: [CommandDump]?
        var arguments: [ArgumentDump]?
    }

    struct ArgumentDump: Decodable {
        var kind: String
        var shouldDisplay: Bool
        var isOptional: Bool
        var isRepeating: Bool
        var names: [Name]?
        var valueName: String?
        var defaultValue: String?
        var abstract: String?

        struct Name: Decodable {
            var kind: String
            var name: String
        }
    }
}

/// Renders the dump as a man(7) page.
enum ManPage {
    static func render(_ root: ToolDump.CommandDump, version: String) -> String {
        var out = """
            .TH MULE 1 "" "mule \(version)" "User Commands"
            .SH NAME
            mule \\- \(escape(root.abstract ?? ""))
            .SH SYNOPSIS
            .B mule
            [\\fB\\-\\-home\\fR \\fIDIR\\fR] [\\fB\\-v\\fR] \\fICOMMAND\\fR ...
            .SH DESCRIPTION
            \(escape(root.discussion ?? ""))
            .PP
            Errors are single lines on standard error starting with \\fBmule:\\fR; the exit status is 1,
            or 2 for a command line that cannot be parsed. \\fB\\-\\-json\\fR output is pretty-printed with sorted keys.

            """
        out += ".SH OPTIONS\n" + options(root.arguments ?? [])
        out += ".SH COMMANDS\n"
        for c in root.subcommands ?? [] where c.shouldDisplay ?? true {
            out += command(c, path: ["mule"])
        }
        out += """
            .SH FILES
            .TP
            .I $MULE_HOME, else $XDG_DATA_HOME/mule, else ~/.local/share/mule
            The profile: identity keys, the store (mule.sqlite), received files, node.sock.
            .SH SEE ALSO
            Docs/CLI.md, Docs/PROTOCOL.md and Docs/THREAT-MODEL.md in the Mule sources.

            """
        return out
    }

    static func command(_ c: ToolDump.CommandDump, path: [String]) -> String {
        let full = path + [c.commandName]
        let args = (c.arguments ?? []).filter { $0.shouldDisplay && !isHelp($0) }
        var out = ".SS \(escape(full.dropFirst().joined(separator: " ")))\n"
        let synopsis = args.map(usage).joined(separator: " ")
        out += ".B \(escape(full.joined(separator: " ")))\n"
        if !synopsis.isEmpty { out += synopsis + "\n" }
        out += ".PP\n" + escape(c.abstract ?? "") + "\n"
        if let d = c.discussion, !d.isEmpty { out += ".PP\n" + escape(d) + "\n" }
        out += options(args)
        for s in c.subcommands ?? [] where s.shouldDisplay ?? true {
            out += command(s, path: full)
        }
        return out
    }

    static func options(_ args: [ToolDump.ArgumentDump]) -> String {
        var out = ""
        for a in args where a.shouldDisplay && !isHelp(a) {
            out += ".TP\n" + usage(a) + "\n" + escape(a.abstract ?? "")
            if let d = a.defaultValue, !d.isEmpty, a.kind == "option" { out += " (default: \(escape(d)))" }
            out += "\n"
        }
        return out
    }

    static func isHelp(_ a: ToolDump.ArgumentDump) -> Bool {
        (a.names ?? []).contains { $0.name == "help" || $0.name == "version" }
    }

    static func usage(_ a: ToolDump.ArgumentDump) -> String {
        let value = "\\fI\(escape(a.valueName ?? "value"))\\fR"
        var s: String
        switch a.kind {
        case "positional": s = value
        default:
            let names = (a.names ?? []).map { ($0.kind == "short" ? "\\-" : "\\-\\-") + escape($0.name) }
            s = "\\fB" + names.joined(separator: "\\fR, \\fB") + "\\fR"
            if a.kind == "option" { s += " " + value }
        }
        if a.isRepeating { s += " ..." }
        return a.isOptional ? "[" + s + "]" : s
    }

    /// Escapes text for roff: backslashes, and a leading dot or quote that would start a request.
    static func escape(_ s: String) -> String {
        var t = ""
        for u in s.unicodeScalars {
            switch u {
            case "\\": t += "\\e"
            case "-": t += "\\-"
            case _ where u.isASCII: t.unicodeScalars.append(u)
            // roff input is ASCII; anything else is named by its code point.
            default: t += "\\[u" + String(u.value, radix: 16, uppercase: true).leftPadded(to: 4) + "]"
            }
        }
        return t.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
        }.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
