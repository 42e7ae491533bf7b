// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "crmd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "crmd", targets: ["crmd"]),
        .library(name: "EventStore", targets: ["EventStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "EventStore", dependencies: ["CLMDB", .product(name: "Crypto", package: "swift-crypto")]),
        // LMDB environments beside the log: the projections' tables and the customers' data keys.
        .target(name: "KeyValue", dependencies: ["EventStore", "CLMDB"]),
        // JSON values, their parser, a Codable coder and the JSON Schema DSL: no CRM, no storage.
        .target(name: "JSONKit"),
        // The door every request passes: the wire's error type and envelope schemas, who is asking
        // and the access policy (docs/access.md).
        .target(name: "Door", dependencies: ["EventStore", "JSONKit"]),
        // The CRM's event definitions and schemas, shared by the write side and the read side.
        .target(
            name: "CRMEvents",
            dependencies: ["EventStore", "JSONKit", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "Commands",
            dependencies: [
                "Door", "KeyValue", "JSONKit", "EventStore", "CRMEvents",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .target(
            name: "Projections",
            dependencies: [
                "Door", "KeyValue", "JSONKit", "EventStore", "CRMEvents",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // Spreadsheets in, commands out: CSV in any encoding Excel writes, XLSX, Persian and English
        // headers, Jalali dates and Persian digits (crmd import, crmd export).
        .target(
            name: "Importer",
            dependencies: [
                "JSONKit", "Projections", "Door", "CRMEvents", "EventStore", "KeyValue",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The front desk in the browser (crmd web): its logins now; pages over the daemon's socket.
        .target(
            name: "FrontDesk",
            dependencies: [
                "JSONKit", "EventStore", "Importer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HummingbirdOTP", package: "hummingbird-auth"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        // The log shipped to PostgreSQL exactly once, SQL read models over it, and the way back.
        .target(
            name: "Shipper",
            dependencies: [
                "EventStore", "JSONKit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // A realistic synthetic company history, written through the real commands (crmd demo, make bench).
        .target(name: "Demo", dependencies: ["Commands", "CRMEvents", "EventStore", "JSONKit", "Door"]),
        .executableTarget(
            name: "crmd",
            dependencies: [
                "EventStore", "KeyValue", "JSONKit", "Door", "CRMEvents", "Commands", "Projections", "Demo",
                "Importer", "FrontDesk", "Shipper",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Appends in a loop until killed; the crash tests SIGKILL it at random moments.
        .executableTarget(
            name: "store-crash-child",
            dependencies: ["EventStore", "KeyValue", "CLMDB", "JSONKit", "Door", "CRMEvents", "Projections"]),
        // `make bench`: the store against raw LMDB and SQLite, in one run.
        .executableTarget(
            name: "crmd-bench",
            dependencies: [
                "EventStore", "KeyValue", "JSONKit", "Door", "CRMEvents", "Commands", "Projections", "Demo", "CLMDB",
                "CSQLite", "PostgresCluster",
            ],
            path: "Benchmarks/crmd-bench"),
        // `make proof`: libFuzzer over the request decoder and command validation (built with
        // -sanitize=fuzzer -DFUZZING); without FUZZING it replays the inputs it is given.
        .executableTarget(
            name: "crmd-fuzz", dependencies: ["JSONKit", "Door", "CRMEvents", "Commands", "Projections"],
            path: "Fuzz/crmd-fuzz"),
        // A private PostgreSQL cluster, for the shipper's tests and `make bench`.
        .target(name: "PostgresCluster", path: "Tests/PostgresCluster"),
        .testTarget(
            name: "EventStoreTests",
            dependencies: [
                "EventStore", "KeyValue", "CLMDB", "store-crash-child",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // A real company (log, keys, commands, projections) in a temporary directory, for tests.
        .target(
            name: "CRMTestSupport",
            dependencies: ["EventStore", "KeyValue", "JSONKit", "Door", "CRMEvents", "Commands", "Projections"],
            path: "Tests/CRMTestSupport"),
        .testTarget(name: "CRMEventsTests", dependencies: ["JSONKit", "CRMEvents"]),
        // End to end: the real `crmd serve` over its socket.
        .testTarget(
            name: "DaemonTests",
            dependencies: [
                "JSONKit", "Door", "CRMEvents", "EventStore", "Commands", "Projections", "Importer", "FrontDesk", "crmd",
                "Shipper", "PostgresCluster",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(
            name: "ProjectionTests",
            dependencies: [
                "Projections", "CRMTestSupport", "Commands", "JSONKit", "Door", "CRMEvents", "EventStore", "KeyValue",
                "store-crash-child",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "CommandsTests",
            dependencies: [
                "Commands", "Demo", "KeyValue", "JSONKit", "Door", "CRMEvents", "EventStore", "Projections",
                "CRMTestSupport",
            ]),
        .testTarget(
            name: "FrontDeskTests",
            dependencies: ["FrontDesk", "JSONKit", .product(name: "HummingbirdOTP", package: "hummingbird-auth")]),
        // Reading spreadsheets (fixtures written by real spreadsheet programs) and planning imports.
        .testTarget(name: "ImporterTests", dependencies: ["Importer", "JSONKit"], resources: [.copy("Fixtures")]),
    ]
)
