import ArgumentParser
import Foundation
import MuleCrypto
import MuleNode
import MuleQR

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create this device's identity (once).")
    @ParentCommand var root: Mule
    @Option(help: "Your display name, as contacts will first see it.") var name: String
    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        try guarded {
            let home = root.global.resolvedHome
            let profile = try Profile.create(home: home, name: name)
            let node = try Node(profile: profile, logger: root.global.logger())
            let pub = profile.identity.publicIdentity
            if json {
                try Output.json(ID.Out(name: pub.name, fingerprint: pub.fingerprint, invite: node.invite, relays: []))
                return
            }
            print("Created identity '\(pub.name)' in \(home)")
            print("Fingerprint: \(pub.fingerprint)")
            print("Invite:      \(node.invite)")
        }
    }
}

struct ID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id", abstract: "Show your name, fingerprint and invite code (also as a QR code).")
    @ParentCommand var root: Mule
    @Flag(help: "Print the result as JSON.") var json = false
    @Flag(help: "Draw the invite as a QR code in the terminal.") var qr = false
    @Option(help: "Write the invite as a QR code image (PNG) to this file.") var qrPng: String?
    @Option(help: "Write the invite as a QR code image (SVG) to this file.") var qrSvg: String?

    struct Out: Encodable {
        var name: String
        var fingerprint: String
        var invite: String
        var relays: [String]
    }

    func run() throws {
        try guarded {
            let node = try root.global.openNode()
            let pub = node.identity.publicIdentity
            let relays = try node.relays()
            let out = Out(name: pub.name, fingerprint: pub.fingerprint, invite: node.invite, relays: relays)
            // Upper case: the QR code's alphanumeric mode is denser, and invites read either case.
            let code = QRCode(node.invite.uppercased())
            if qr || qrPng != nil || qrSvg != nil, code == nil {
                throw NodeError.invalidArgument("the invite is too long for a QR code")
            }
            if let path = qrPng, let code { try SecureFile.write(code.png(), to: path, mode: 0o644) }
            if let path = qrSvg, let code {
                try SecureFile.write(Array(code.svg().utf8), to: path, mode: 0o644)
            }
            if json { try Output.json(out); return }
            print("Name:        \(out.name)")
            print("Fingerprint: \(out.fingerprint)")
            print("Invite:      \(out.invite)")
            if !relays.isEmpty { print("Relays:      \(relays.joined(separator: ", ")) (named in the invite)") }
            if qr, let code { print(code.terminal(ansi: isatty(1) != 0), terminator: "") }
            for path in [qrPng, qrSvg].compactMap({ $0 }) { print("QR code:     \(path)") }
        }
    }
}

struct Contacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list, accept, verify, block and remove contacts.",
        discussion: """
            A contact is a key; its name is your label for it. A request that uses the name of one of \
            your contacts is shown as 'NAME (new key, not your contact NAME)' and is reached by its id: \
            it may be a stranger, or your contact on a new device. Ask them by another way.
            """,
        subcommands: [
            Add.self, AddNearby.self, List.self, Accept.self, Verify.self, Block.self, Unblock.self, Rename.self,
            Remove.self, Disappear.self,
        ],
        defaultSubcommand: List.self)
    @ParentCommand var root: Mule

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a contact from their invite code.")
        @ParentCommand var parent: Contacts
        @Argument(help: "The invite code (mule1…); spaces and line breaks in it are ignored.") var code: String
        @Option(help: "Your name for this contact (default: the name in the invite).") var name: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.addContact(invite: code, name: name)
                if json { try Output.json(ContactInfo(c, among: try node.contacts())); return }
                print("Added \(c.name) [\(c.id)]")
                Contacts.printCompare(c)
            }
        }
    }

    /// How to compare a fingerprint, printed when someone becomes a contact.
    static func printCompare(_ c: Contact) {
        print("Fingerprint: \(c.fingerprint)")
        print("Compare it with the one \(c.name) sees in 'mule id' (in person or on a call), or scan their")
        print("'mule id --qr'; if they match: mule contacts verify \(c.id)")
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List contacts and message requests.")
        @ParentCommand var parent: Contacts
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let all = try node.contacts()
                if json { try Output.json(all.map { ContactInfo($0, among: all) }); return }
                if all.isEmpty { print("No contacts yet. Add one with 'mule contacts add CODE'.") }
                for c in all {
                    let tag = c.state == .contact ? (c.verified ? "  ✓ verified" : "") : "  (\(c.state.rawValue))"
                    print("\(c.label(among: all)) [\(c.id)]\(tag)\n    \(c.fingerprint)")
                    if !c.record.relays.isEmpty { print("    relays: \(c.record.relays.joined(separator: ", "))") }
                    if let w = c.warning(among: all) { print("    \(w)") }
                }
            }
        }
    }

    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a message request.",
            discussion: "A request that uses the name of one of your contacts needs a name of its own (--name).")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Option(help: "Your name for this contact.") var name: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.acceptContact(contact, name: name)
                if json { try Output.json(ContactInfo(c, among: try node.contacts())); return }
                print("Accepted \(c.name) [\(c.id)]")
                Contacts.printCompare(c)
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record that you compared a contact's fingerprint (or scanned their QR code).",
            discussion: """
                With --fingerprint or --invite (what you scanned from their 'mule id --qr'), the key is \
                checked first, and a mismatch is refused. Verified contacts are marked ✓ everywhere.
                """)
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Option(help: "The fingerprint they read out to you (spaces optional).") var fingerprint: String?
        @Option(help: "The invite code their QR code holds.") var invite: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func validate() throws {
            if fingerprint != nil && invite != nil { throw ValidationError("give --fingerprint or --invite, not both") }
        }

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.resolveContact(contact)
                if let fingerprint {
                    let digits = { (s: String) in s.filter(\.isNumber) }
                    guard digits(fingerprint) == digits(c.fingerprint) else {
                        throw NodeError.invalidArgument(
                            "that fingerprint is not \(c.name)'s [\(c.id)]: not verified (someone may be in between)")
                    }
                }
                if let invite {
                    let who: PublicIdentity
                    do throws(Invite.DecodeError) { who = try Invite.decode(invite) } catch { throw NodeError.invite(error) }
                    guard who.signingKey == c.record.signingKey, who.agreementKey == c.record.agreementKey else {
                        throw NodeError.invalidArgument(
                            "that code holds another key than \(c.name)'s [\(c.id)]: not verified (someone may be in between)")
                    }
                }
                let v = try node.verifyContact(c.id)
                if json { try Output.json(ContactInfo(v, among: try node.contacts())); return }
                print("Verified \(v.name) [\(v.id)] ✓")
            }
        }
    }

    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block a contact or request: its messages are discarded.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.setContactState(contact, .blocked)
                if json { try Output.json(ContactInfo(c, among: try node.contacts())); return }
                print("Blocked \(c.name) [\(c.id)]")
            }
        }
    }

    struct Unblock: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unblock a key: a contact again if you ever wrote to it, else a request.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.unblockContact(contact)
                if json { try Output.json(ContactInfo(c, among: try node.contacts())); return }
                print("Unblocked \(c.name) [\(c.id)] (now: \(c.state.rawValue))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove a contact or request with its conversation and received files.",
            discussion: "Messages it sends later arrive as a new request; block it to discard them instead.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Flag(help: "Print the result as JSON.") var json = false

        struct Out: Encodable {
            var id: String
            var name: String
            var messagesRemoved: Int
        }

        func run() throws {
            try guarded {
                let (c, n) = try parent.root.global.openNode().removeContact(contact)
                if json { try Output.json(Out(id: c.id, name: c.name, messagesRemoved: n)); return }
                print("Removed \(c.name) [\(c.id)] and \(n) message\(n == 1 ? "" : "s")")
            }
        }
    }

    struct Disappear: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make new messages with a contact disappear on both sides after a time, or stop it.",
            discussion: """
                Applies to messages sent from now on ('mule send --disappear' overrides it for one). Each \
                side erases the text and the file this long after sending or arrival; the bundle's lifetime \
                is capped to the same time, so carriers drop their copies too.
                """)
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Argument(help: "A duration like 30s, 1h or 7d, or 'off'.") var after: String
        @Flag(help: "Print the result as JSON.") var json = false

        struct Out: Encodable {
            var id: String
            var name: String
            var disappearAfterMs: UInt64?
        }

        func validate() throws {
            if after != "off", TimeSpan.parseMs(after) == nil {
                throw ValidationError("'\(after)' is not a duration like 30s, 1h or 7d, nor 'off'")
            }
        }

        func run() throws {
            try guarded {
                let ms = after == "off" ? nil : TimeSpan.parseMs(after)
                let c = try parent.root.global.openNode().setDisappearing(contact, afterMs: ms)
                if json { try Output.json(Out(id: c.id, name: c.name, disappearAfterMs: ms)); return }
                print(ms == nil ? "Messages with \(c.name) stay" : "New messages with \(c.name) disappear after \(after)")
            }
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change your name for a contact.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Argument(help: "The new name.") var newName: String
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.renameContact(contact, to: newName)
                if json { try Output.json(ContactInfo(c, among: try node.contacts())); return }
                print("Renamed \(c.id) to \(c.name)")
            }
        }
    }
}
