import ArgumentParser
import Foundation
import MuleNode

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create this device's identity (once).")
    @ParentCommand var root: Mule
    @Option(help: "Your display name, as contacts will first see it.") var name: String

    func run() throws {
        try guarded {
            let home = root.global.resolvedHome
            let profile = try Profile.create(home: home, name: name)
            let node = try Node(profile: profile, logger: root.global.logger())
            print("Created identity '\(profile.identity.name)' in \(home)")
            print("Fingerprint: \(profile.identity.publicIdentity.fingerprint)")
            print("Invite:      \(node.invite)")
        }
    }
}

struct ID: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "id", abstract: "Show your name, fingerprint and invite code.")
    @ParentCommand var root: Mule
    @Flag var json = false

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
            if json { try Output.json(out); return }
            print("Name:        \(out.name)")
            print("Fingerprint: \(out.fingerprint)")
            print("Invite:      \(out.invite)")
            if !relays.isEmpty { print("Relays:      \(relays.joined(separator: ", ")) (named in the invite)") }
        }
    }
}

struct Contacts: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Add, list, accept and block contacts.",
        subcommands: [Add.self, AddNearby.self, List.self, Accept.self, Block.self, Rename.self],
        defaultSubcommand: List.self)
    @ParentCommand var root: Mule

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a contact from their invite code.")
        @ParentCommand var parent: Contacts
        @Argument(help: "The invite code (mule1…).") var code: String
        @Option(help: "Your name for this contact (default: the name in the invite).") var name: String?

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let c = try node.addContact(invite: code, name: name)
                print("Added \(c.name) [\(c.id)]")
                print("Compare this fingerprint with them: \(c.fingerprint)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List contacts and message requests.")
        @ParentCommand var parent: Contacts
        @Flag var json = false

        struct Out: Encodable {
            var id: String
            var name: String
            var state: String
            var fingerprint: String
            /// The relays the contact fetches from (its invite or DHT record named them).
            var relays: [String]
        }

        func run() throws {
            try guarded {
                let node = try parent.root.global.openNode()
                let list = try node.contacts().map {
                    Out(
                        id: $0.id, name: $0.name, state: $0.state.rawValue, fingerprint: $0.fingerprint,
                        relays: $0.record.relays)
                }
                if json { try Output.json(list); return }
                if list.isEmpty { print("No contacts yet. Add one with 'mule contacts add CODE'.") }
                for c in list {
                    let tag = c.state == "contact" ? "" : "  (\(c.state))"
                    print("\(c.name) [\(c.id)]\(tag)\n    \(c.fingerprint)")
                    if !c.relays.isEmpty { print("    relays: \(c.relays.joined(separator: ", "))") }
                }
            }
        }
    }

    struct Accept: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept a message request.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String

        func run() throws {
            try guarded {
                let c = try parent.root.global.openNode().setContactState(contact, .contact)
                print("Accepted \(c.name) [\(c.id)]")
            }
        }
    }

    struct Block: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block a contact or request: its messages are discarded.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String

        func run() throws {
            try guarded {
                let c = try parent.root.global.openNode().setContactState(contact, .blocked)
                print("Blocked \(c.name) [\(c.id)]")
            }
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change your name for a contact.")
        @ParentCommand var parent: Contacts
        @Argument(help: "Name or id.") var contact: String
        @Argument(help: "The new name.") var newName: String

        func run() throws {
            try guarded {
                try parent.root.global.openNode().renameContact(contact, to: newName)
                print("Renamed to \(newName)")
            }
        }
    }
}
