import Foundation
import Logging
import MuleCrypto
import MuleDiscovery
import MuleLink
import MuleNode
import MuleStore
import MuleSync
import MuleWire
import NIOCore

/// What an embedding program (the chat, the bench, tests) calls.
extension Mesh {
    // MARK: For an embedding program (chat, bench, tests)

    /// The current links, for tests and the bench.
    public var linkCount: Int { links.count }

    /// Sends a text message through this node's store and offers it at once.
    @discardableResult
    public func send(text: String, to contact: String) throws(NodeError) -> Message {
        let m = try node.send(to: contact, .text(text))
        announce()
        return m
    }

    /// Sends many text messages in one store transaction and offers them at once.
    public func send(texts: [String], to contact: String) throws(NodeError) {
        try node.send(to: contact, texts: texts)
        announce()
    }

    @discardableResult
    public func sendFile(path: String, to contact: String) throws(NodeError) -> Message {
        let m = try node.sendFile(to: contact, path: path)
        announce()
        return m
    }

    public func status() throws(NodeError) -> Node.Status {
        try node.status()
    }

    public func messages(with contact: String? = nil) throws(NodeError) -> [Message] {
        try node.messages(with: contact)
    }

    public func addContact(invite: String, name: String? = nil) throws(NodeError) -> Contact {
        try node.addContact(invite: invite, name: name)
    }

    public var invite: String { node.invite }

    public func contacts() throws(NodeError) -> [Contact] {
        try node.contacts()
    }
}
