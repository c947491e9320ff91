// swift-tools-version:6.1
import Foundation
import PackageDescription

/// Nonisolated async functions and closures run on their caller's actor unless marked `@concurrent`:
/// the compiler then proves that actor state is touched only on its actor (issue 10: a closure that
/// silently left its actor crashed release nodes).
let swiftSettings: [SwiftSetting] = [.enableUpcomingFeature("NonisolatedNonsendingByDefault")]

let package = Package(
    name: "Mule",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mule", targets: ["mule"]),
        .executable(name: "mule-bench", targets: ["mule-bench"]),
        .library(name: "MuleNode", targets: ["MuleNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // The local web app (`mule run --ui`). Without its default traits: no swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        // Plain C loops over the same libsodium / SQLite calls, used only by mule-bench as the baseline.
        .target(
            name: "CBaseline",
            dependencies: ["CSodium"],
            linkerSettings: [.linkedLibrary("sqlite3"), .linkedLibrary("sodium")]
        ),
        // ThreadSanitizer annotations for the one hand-off TSan cannot follow (Docs/ARCHITECTURE.md).
        .target(name: "CSanitizer"),
        .target(name: "MuleWire", swiftSettings: swiftSettings),
        .target(name: "MuleCrypto", dependencies: ["CSodium", "MuleWire"], swiftSettings: swiftSettings),
        .target(name: "MuleSync", dependencies: ["MuleCrypto"], swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CAvahi",
            providers: [.apt(["libavahi-client-dev"])]
        ),
        // Noise-encrypted links on SwiftNIO: handshake, framing, limits. Knows nothing of the store.
        .target(
            name: "MuleLink",
            dependencies: [
                "MuleCrypto", "MuleWire", "CSanitizer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Mainline DHT (BEP 5, BEP 44): bencode, KRPC, routing table, storage, lookups.
        .target(
            name: "MuleDHT",
            dependencies: [
                "MuleCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store-and-forward relay: Noise links, proof-of-work admission, bundles by recipient tag.
        .target(
            name: "MuleRelay",
            dependencies: [
                "MuleLink", "MuleStore", "MuleWire", "MuleCrypto",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // mDNS service publishing and browsing through avahi-client.
        .target(
            name: "MuleDiscovery",
            dependencies: [
                "CAvahi",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The running node: links, sync, discovery and the store, tied together.
        .target(
            name: "MuleMesh",
            dependencies: [
                "MuleNode", "MuleLink", "MuleSync", "MuleStore", "MuleDiscovery", "MuleDHT", "MuleCrypto", "MuleWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MuleStore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MuleNode",
            dependencies: [
                "MuleWire", "MuleCrypto", "MuleStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The local web app and its JSON API (Docs/API.md), on Hummingbird, over a running node.
        .target(
            name: "MuleWeb",
            dependencies: [
                "MuleNode", "MuleMesh", "MuleStore", "MuleWire", "MuleCrypto", "MuleQR",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What `mule chat` draws: display widths, wrapping, the line editor, the screen model.
        .target(name: "MuleTerminal", swiftSettings: swiftSettings),
        // QR codes for invites, through Debian's libqrencode: terminal text, SVG and PNG.
        .target(name: "MuleQR", dependencies: ["CQRencode"], swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CQRencode",
            pkgConfig: "libqrencode",
            providers: [.apt(["libqrencode-dev"])]
        ),
        .executableTarget(
            name: "mule",
            dependencies: [
                "MuleNode", "MuleWire", "MuleCrypto", "MuleMesh", "MuleDHT", "MuleRelay", "MuleWeb", "MuleQR", "MuleTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "mule-bench",
            dependencies: [
                "MuleNode", "MuleWire", "MuleCrypto", "MuleStore", "MuleSync", "MuleMesh", "MuleDHT", "MuleRelay", "CBaseline",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "MuleWireTests", dependencies: ["MuleWire"], swiftSettings: swiftSettings),
        .testTarget(name: "MuleTerminalTests", dependencies: ["MuleTerminal"], swiftSettings: swiftSettings),
        .testTarget(name: "MuleSyncTests", dependencies: ["MuleSync", "MuleCrypto"], swiftSettings: swiftSettings),
        .testTarget(name: "MuleCryptoTests", dependencies: ["MuleCrypto", "MuleWire"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MuleNodeTests", dependencies: ["MuleNode", "MuleStore", "MuleWire", "MuleCrypto"], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MuleMeshTests",
            dependencies: [
                "MuleMesh", "MuleLink", "MuleRelay", "MuleNode", "MuleStore", "MuleCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MuleWebServerTests",
            dependencies: [
                "MuleWeb", "MuleNode", "MuleMesh", "MuleWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MuleDHTTests",
            dependencies: ["MuleDHT", "MuleCrypto", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MuleIntegrationTests",
            dependencies: [
                "MuleNode", "MuleStore", "MuleWire", "MuleCrypto", "MuleMesh",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// The web API tests use HummingbirdTesting, which brings AsyncHTTPClient and a TLS stack
// (BoringSSL): instrumented builds of those would cost the sanitizer passes about ten minutes each.
// Scripts/sanitize.sh sets MULE_SANITIZER_BUILD to the sanitizer's name, and those builds leave
// these tests out; the web app's concurrency is tested there by MuleWebServerTests, over a real server.
let sanitizerBuild = ProcessInfo.processInfo.environment["MULE_SANITIZER_BUILD"]
if sanitizerBuild == nil {
    package.targets.append(
        .testTarget(
            name: "MuleWebTests",
            dependencies: [
                "MuleWeb", "MuleNode", "MuleMesh",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ))
} else {
    // The sanitizer passes run library tests only (the executables' tests use the debug build's
    // `mule`), so they do not build the executables. The web server (Hummingbird) is a concurrency
    // question for ThreadSanitizer; the AddressSanitizer pass leaves it out, which keeps CI's run
    // within its time.
    var left: Set<String> = ["mule", "mule-bench", "CBaseline", "MuleIntegrationTests"]
    if sanitizerBuild == "address" { left.formUnion(["MuleWeb", "MuleWebServerTests"]) }
    package.targets.removeAll { left.contains($0.name) }
    package.products.removeAll { left.contains($0.name) }
}
