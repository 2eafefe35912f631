// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "muster",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "musterd", targets: ["musterd"]),
        .executable(name: "musterctl", targets: ["musterctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // libpq, the PostgreSQL C client, as a system library.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // The libpq wrapper: connections, typed rows, errors, the pool. The only module that imports CLibPQ.
        .target(
            name: "MusterPQ",
            dependencies: [
                "CLibPQ", "MusterCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The wire protocol: line framing, request grammar, replies, error codes. No I/O.
        .target(
            name: "MusterProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        // Domain values shared by server and tools: roles, identities, jurisdictions.
        .target(name: "MusterCore", swiftSettings: strict),
        // The volunteer registry's domain: records, validation, credential levels. Pure; no database.
        .target(name: "MusterRegistry", dependencies: ["MusterCore"], swiftSettings: strict),
        // Exact matching of volunteers to staffing requests: instance format, feasibility, min-cost flow. Pure.
        .target(name: "MusterMatching", swiftSettings: strict),
        // Eligibility: emergency orders as YAML rule packs (Deploy/orders), type-checked at load, evaluated with
        // reasons over a registry record, choosing the version in force on a date. Pure; no database.
        .target(
            name: "MusterEligibility",
            dependencies: ["MusterCore", "MusterRegistry", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        // Schema-aware storage: migrations, tokens, the registry, audit, versioned rule packs.
        .target(
            name: "MusterStore",
            dependencies: [
                "MusterPQ", "MusterCore", "MusterRegistry", "MusterEligibility",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The embedded default: a private PostgreSQL cluster managed by musterd itself.
        .target(
            name: "MusterCluster",
            dependencies: ["MusterPQ", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // The TCP server: connection handling, command registry, the commands.
        .target(
            name: "MusterServer",
            dependencies: [
                "MusterPQ", "MusterProtocol", "MusterCore", "MusterStore", "MusterRegistry", "MusterEligibility", "MusterMatching",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // A client for the line protocol, used by musterctl and the tests.
        .target(
            name: "MusterClient",
            dependencies: [
                "MusterProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // What musterd and musterctl share: database options, the embedded default, start-up steps.
        .target(
            name: "MusterRuntime",
            dependencies: [
                "MusterCluster", "MusterPQ", "MusterStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "musterd",
            dependencies: [
                "MusterServer", "MusterCluster", "MusterStore", "MusterPQ", "MusterRuntime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "musterctl",
            dependencies: [
                "MusterClient", "MusterCluster", "MusterStore", "MusterPQ", "MusterCore", "MusterProtocol", "MusterRuntime",
                "MusterRegistry", "MusterMatching", "MusterEligibility",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Throughput numbers for the hot paths (run with -c release); targets are checked here, not in unit tests.
        .executableTarget(
            name: "muster-bench",
            dependencies: [
                "MusterEligibility", "MusterCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "MusterClient", "MusterProtocol", "MusterRegistry",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: strict
        ),

        // Test support: a throwaway PostgreSQL cluster per test run, and in-process servers.
        .target(
            name: "MusterTestSupport",
            dependencies: [
                "MusterCluster", "MusterPQ", "MusterStore", "MusterServer", "MusterClient", "MusterCore", "MusterRuntime",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Tests/MusterTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "MusterProtocolTests",
            dependencies: [
                "MusterProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "MusterCoreTests", dependencies: ["MusterCore"], swiftSettings: strict),
        .testTarget(name: "MusterEligibilityTests", dependencies: ["MusterEligibility", "MusterCore", "MusterRegistry"], swiftSettings: strict),
        .testTarget(name: "MusterMatchingTests", dependencies: ["MusterMatching"], swiftSettings: strict),
        .testTarget(name: "MusterRegistryTests", dependencies: ["MusterRegistry", "MusterCore"], swiftSettings: strict),
        .testTarget(name: "MusterPQTests", dependencies: ["MusterPQ", "MusterCluster", "MusterTestSupport"], swiftSettings: strict),
        .testTarget(name: "MusterStoreTests", dependencies: ["MusterStore", "MusterTestSupport", "MusterEligibility"], swiftSettings: strict),
        .testTarget(name: "MusterClusterTests", dependencies: ["MusterCluster", "MusterPQ", "MusterStore", "MusterCore", "MusterClient", "MusterTestSupport", .product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        .testTarget(
            name: "MusterServerTests",
            dependencies: ["MusterServer", "MusterClient", "MusterTestSupport", "MusterStore", "MusterCore"],
            swiftSettings: strict
        ),

        // Fuzzing (issue 6): libFuzzer targets over the pure modules, built and run by Deploy/fuzz.sh with
        // `-sanitize=fuzzer,address`. In an ordinary build they link without libFuzzer and replay the files named on
        // their command line (a corpus directory, a crash input). FuzzDriver reaches libFuzzer's driver (weakly).
        .target(name: "FuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["FuzzDriver"], swiftSettings: strict),
        .executableTarget(
            name: "FuzzLineCodec",
            dependencies: [
                "FuzzSupport", "MusterProtocol",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "FuzzRequestGrammar", dependencies: ["FuzzSupport", "MusterProtocol"], swiftSettings: strict),
        .executableTarget(name: "FuzzRegistryJSON", dependencies: ["FuzzSupport", "MusterRegistry", "MusterCore"], swiftSettings: strict),
        .executableTarget(name: "FuzzVolunteerCSV", dependencies: ["FuzzSupport", "MusterRegistry", "MusterCore"], swiftSettings: strict),
        .executableTarget(name: "FuzzRulePack", dependencies: ["FuzzSupport", "MusterEligibility", "MusterCore"], swiftSettings: strict),
        .executableTarget(name: "FuzzMatchInstance", dependencies: ["FuzzSupport", "MusterMatching"], swiftSettings: strict),
    ]
)
