// swift-tools-version:6.0
// enumd: an authoritative ENUM (RFC 6116) DNS server fed by the Emercoin chain.
// Module map (see README "Where things live"):
//   CLDNS, CCurl       system libraries (libldns, libcurl), each imported by exactly one Swift module
//   CCurlShim          typed setters for the variadic curl_easy_setopt
//   CNetShim           recvmmsg/sendmmsg, which need _GNU_SOURCE
//   ENUMCore           numbers, names, records, zones, lookup; pure code, no I/O, no C
//   DNSWire            the only importer of CLDNS: zone files, record encoding, packet checks in tests
//   EmercoinRPC        the only importer of CCurl/CCurlShim: HTTP transport for the node's JSON-RPC
//   DNSServer          query responder (pre-rendered answers), UDP and TCP listeners
//   ChainSync          the poller: chain names -> snapshot -> one swap; the state file for warm starts
//   HTTPAPI            the Flask-compatible JSON API and /metrics on Hummingbird 2 (the only Hummingbird user)
//   ServerConfig       the one Configuration struct and its config-file parser
//   enumd              the thin command line (@main)
import PackageDescription

let package = Package(
    name: "enumd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "enumd", targets: ["enumd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Already in the graph through Hummingbird; named so HTTPAPI may see HTTPRequestPart.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
    ],
    targets: [
        .systemLibrary(name: "CLDNS", pkgConfig: "ldns", providers: [.apt(["libldns-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "CCurlShim", dependencies: ["CCurl"]),
        .target(name: "CNetShim"),
        .target(name: "ENUMCore"),
        .target(name: "DNSWire", dependencies: ["CLDNS", "ENUMCore"]),
        .target(name: "EmercoinRPC", dependencies: ["CCurlShim"]),
        .target(
            name: "DNSServer",
            dependencies: [
                "ENUMCore", "DNSWire", "CNetShim",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ChainSync",
            dependencies: [
                "ENUMCore", "DNSWire", "DNSServer", "EmercoinRPC",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "HTTPAPI",
            dependencies: [
                "ENUMCore", "DNSServer", "ChainSync", "EmercoinRPC",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "ServerConfig", dependencies: ["DNSServer", "ENUMCore"]),
        .executableTarget(
            name: "enumd",
            dependencies: [
                "ENUMCore", "DNSWire", "DNSServer", "EmercoinRPC", "ChainSync", "HTTPAPI", "ServerConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "ENUMCoreTests", dependencies: ["ENUMCore"]),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "ENUMCore"]),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "DNSWire", "ENUMCore"]),
        .testTarget(name: "ServerConfigTests", dependencies: ["ServerConfig"]),
        .testTarget(name: "ChainSyncTests", dependencies: ["ChainSync", "ENUMCore", "DNSWire", "DNSServer", "EmercoinRPC", "TestSupport"]),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "EmercoinRPCTests", dependencies: ["EmercoinRPC", "TestSupport"], exclude: ["fixture_http.py"]),
        .testTarget(name: "EndToEndTests", dependencies: ["enumd", "ENUMCore", "DNSWire", "TestSupport"]),
    ]
)
