import MuleCrypto
import MuleLink
import MuleMesh
import MuleNode
import MuleWire
import Testing

/// The hello of a visible node (PROTOCOL §7): a signed announcement bound to the link key, with the
/// announcer's signed prekey as an optional fifth element.
@Suite struct LinkHelloTests {
    static func prekey(_ identity: Identity) -> SignedPrekey {
        var ring = PrekeyRing()
        _ = ring.rotate(now: 1_000, signer: identity.signing)
        return ring.current!
    }

    @Test func aVisibleHelloCarriesItsSignedPrekey() throws {
        let me = Identity.generate(name: "Ann")
        let linkKey = AgreementKey.generate().publicKey
        let prekey = Self.prekey(me)
        let hello = LinkHello(visible: .init(identity: me, name: "Ann", linkKey: linkKey, prekey: prekey))
        let decoded = try LinkHello.decode(hello.encode())
        #expect(decoded == hello)
        #expect(decoded.visible?.prekey == prekey)
        #expect(decoded.visible?.verify(linkKey: linkKey) == true)

        // Without one (a node before envelope version 2): four elements, still read.
        let plain = LinkHello(visible: .init(identity: me, name: "Ann", linkKey: linkKey))
        #expect(plain.encode().count < hello.encode().count)
        #expect(try LinkHello.decode(plain.encode()).visible?.prekey == nil)
        #expect(try LinkHello.decode(LinkHello().encode()) == LinkHello())
    }

    @Test func aPrekeyNotSignedByTheAnnouncedIdentityRefusesTheHello() throws {
        let me = Identity.generate(name: "Ann"), other = Identity.generate(name: "Eve")
        let linkKey = AgreementKey.generate().publicKey
        // Eve's prekey under Ann's announcement: someone else would hold its secret.
        let forged = LinkHello(visible: .init(identity: me, name: "Ann", linkKey: linkKey, prekey: Self.prekey(other)))
        #expect(throws: LinkError.self) { try LinkHello.decode(forged.encode()) }

        // A flipped bit in the prekey breaks its signature.
        var bytes = LinkHello(visible: .init(identity: me, name: "Ann", linkKey: linkKey, prekey: Self.prekey(me))).encode()
        bytes[bytes.count - 70] ^= 1
        #expect(throws: LinkError.self) { try LinkHello.decode(bytes) }

        // Six elements, or a fifth that is not a prekey: refused.
        var w = CBORWriter()
        w.arrayHeader(2)
        w.unsigned(1)
        w.arrayHeader(6)
        w.text("Ann")
        w.byteString(me.signing.publicKey)
        w.byteString(me.agreement.publicKey)
        w.byteString([UInt8](repeating: 0, count: 64))
        w.byteString([1, 2, 3])
        w.byteString([])
        #expect(throws: LinkError.self) { try LinkHello.decode(w.bytes) }
    }
}

/// A running visible node announces the prekey current now: when it rotates, links made afterwards
/// carry the new one (contacts learn it on their next link, people nearby when they add the node).
@Suite struct VisibleHelloOnAMeshTests {
    @Test func aRotatedPrekeyReachesTheNextLinks() async throws {
        let w = MeshWorld()
        let home = try w.profile("Ann")
        let clock = DelayToleranceTests.Clock()
        var c = MeshConfiguration()
        c.listen = PeerAddress(host: "127.0.0.1", port: 0)
        c.mdns = false
        c.visibleAs = "Ann"
        let mesh = try Mesh(home: home, configuration: c, clock: clock.read, logger: w.log.logger("ann"))
        try await mesh.start()
        defer { Task { await mesh.stop() } }
        let port = try #require(await mesh.boundPort)
        let signer = try Node(home: home).identity.signing.publicKey

        let first = try RawPeer(port: port)
        try await first.handshake()
        let before = try #require(first.theirHello?.visible?.prekey)
        #expect(before.verify(signingKey: signer))

        // Eight days on, past the weekly rotation: within a tick or two the hello changes.
        clock.offset.add(8 * 86_400_000, ordering: .relaxed)
        var after: SignedPrekey?
        #expect(
            await eventually {
                let p = try RawPeer(port: port)
                try await p.handshake()
                after = p.theirHello?.visible?.prekey
                return after != nil && after != before
            })
        #expect(after.map { $0.id > before.id && $0.verify(signingKey: signer) } == true)
    }
}
