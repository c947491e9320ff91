import Testing

@testable import MuleMesh

/// An unreachable relay is not dialled every few seconds for ever.
@Suite struct RelayRedialTests {
    @Test func redialsBackOffAndStopAtACap() {
        var own = RelayState()
        var waits: [Duration] = []
        for _ in 0..<9 {
            waits.append(own.redialDelay(own: true))
            own.failedDials += 1
        }
        #expect(waits == [5, 10, 20, 30, 30, 30, 30, 30, 30].map { Duration.seconds($0) })

        var contact = RelayState()
        waits = []
        for _ in 0..<9 {
            waits.append(contact.redialDelay(own: false))
            contact.failedDials += 1
        }
        #expect(waits == [5, 10, 20, 40, 80, 160, 300, 300, 300].map { Duration.seconds($0) })
    }
}
