import Testing

@testable import MuleWire

/// The one `HOST:PORT` parser that the mesh, the relay, the DHT and the CLI share.
@Suite struct HostPortTests {
    @Test func parsesWhatUsersWrite() {
        #expect(HostPort(parsing: "10.0.0.7:4747") == HostPort(host: "10.0.0.7", port: 4747))
        #expect(HostPort(parsing: "relay.example.org:4749") == HostPort(host: "relay.example.org", port: 4749))
        #expect(HostPort(parsing: "[fe80::1]:4747") == HostPort(host: "fe80::1", port: 4747))
        #expect(HostPort(parsing: ":4747") == HostPort(host: "0.0.0.0", port: 4747))
        #expect(HostPort(parsing: ":4747", defaultHost: "127.0.0.1")?.host == "127.0.0.1")
        #expect(HostPort(parsing: "127.0.0.1:0")?.port == 0)
        #expect(HostPort(host: "::1", port: 9).description == "[::1]:9")
        #expect(HostPort(host: "a.b", port: 9).description == "a.b:9")
    }

    @Test func refusesWhatIsNotAnAddress() {
        for text in [
            "", "4747", "host", "host:", "host:65536", "host:-1", "host:+80", "host:80a", "host:0x50", "::1:4747", "[::1]4747",
            "[]:80", "[1.2.3.4]:80", "a b:80", "a/b:80", "host:123456", String(repeating: "a", count: 254) + ":80",
        ] {
            #expect(HostPort(parsing: text) == nil, "\(text)")
        }
    }

    @Test func tellsPrivateAddressesAndBlocks() {
        for h in [
            "10.1.2.3", "127.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.0.1", "100.64.0.1", "::1", "fe80::1",
            "fd00::1",
        ] {
            #expect(HostPort(host: h, port: 1).isPrivate, "\(h)")
        }
        for h in ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1", "example.org", "1.2.3"] {
            #expect(!HostPort(host: h, port: 1).isPrivate, "\(h)")
        }
        #expect(HostPort(host: "10.1.2.3", port: 1).block == "10.1.2")
        #expect(HostPort(host: "2001:db8:1:2::1", port: 1).block == "2001:db8:1")
        #expect(HostPort.parseIPv4("1.2.3.4") == 0x0102_0304)
        for bad in ["1.2.3", "1.2.3.4.5", "1.2.3.256", "1..3.4", " 1.2.3.4", "+1.2.3.4", "1.2.3.0004"] {
            #expect(HostPort.parseIPv4(bad) == nil, "\(bad)")
        }
    }
}
