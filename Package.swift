// swift-tools-version: 6.1
//
// ZKP Network: a Groth16 proving service on BN254.
//
// Layering (see README.md): the cryptographic and consensus cores (`BN254`,
// `Groth16`, `Circuits`, `Raft`) depend on the standard library only, so their tests
// build in seconds; services and tools sit above them.

import Foundation
import PackageDescription

// The field arithmetic is 64×64-bit multiply-accumulate chains; on x86-64 they compile
// to `mulx` only when the target has BMI2, which roughly halves the cost of a field
// multiplication (46 → 25 ns measured). The default target is Broadwell (2014);
// `ZKP_TARGET_CPU=x86-64 swift build` (or any other CPU name) builds for another processor.
//
// An x86-64 assembly Montgomery product (`mulx` with the two ADX carry chains) took
// 0.89 of the Swift product's time with products in flight and 0.86 in a dependent
// chain, and 0.92 of a 2^16-point G1 MSM's: short of the 1.3× that would pay for a
// C target, so the arithmetic is Swift only.
//
// Modular additions and subtractions end in a select on a random carry, written as a
// mask. LLVM's x86 pass that turns conditional moves in loops into branches made six of
// them branches in the MSM's batched additions, each mispredicted half the time; with
// the pass off a 2^20-point G1 MSM takes 0.87–0.89 of the time, and products, pairings
// and scalar multiplications are unchanged.
#if arch(x86_64)
    let targetCPU = ProcessInfo.processInfo.environment["ZKP_TARGET_CPU"] ?? "broadwell"
    let fastArithmetic: [SwiftSetting] =
        [.unsafeFlags(["-target-cpu", targetCPU, "-Xllvm", "-x86-cmov-converter=false"])]
#else
    let fastArithmetic: [SwiftSetting] = []
#endif

let package = Package(
    name: "zkp-network",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BN254", targets: ["BN254"]),
        .library(name: "Groth16", targets: ["Groth16"]),
        .library(name: "Circuits", targets: ["Circuits"]),
        .library(name: "Circom", targets: ["Circom"]),
        .library(name: "Raft", targets: ["Raft"]),
        .library(name: "RaftNode", targets: ["RaftNode"]),
        .library(name: "Scheduler", targets: ["Scheduler"]),
        .library(name: "Storage", targets: ["Storage"]),
        .executable(name: "zkp", targets: ["zkp"]),
        .executable(name: "zkp-bench", targets: ["zkp-bench"]),
        .executable(name: "raft-bench", targets: ["raft-bench"]),
        .executable(name: "cluster-bench", targets: ["cluster-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
        // No traits: the two default ones pull in Foundation streams we do not use, and a
        // package with several enabled traits is recompiled on every edit by SwiftPM 6.3.
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // MARK: Pure cores (standard library only)
        .target(name: "BN254", swiftSettings: fastArithmetic),
        .target(name: "Groth16", dependencies: ["BN254"], swiftSettings: fastArithmetic),
        .target(name: "Circuits", dependencies: ["BN254", "Groth16"], swiftSettings: fastArithmetic),
        .target(name: "Circom", dependencies: ["BN254", "Groth16"], swiftSettings: fastArithmetic),
        .target(name: "Raft"),
        // The job state machine applied from the Raft log, and the leader's scheduling policy.
        .target(name: "Scheduler"),

        // MARK: Services
        // The protobuf messages and gRPC stubs generated from Protos/ (generated once, committed).
        .target(
            name: "Wire",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The SQL projection of committed job state and the artifact store, on PostgreSQL and SQLite.
        .target(
            name: "Storage",
            dependencies: [
                "Scheduler",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Circuit definitions, job inputs, and the setup and proving work that workers do.
        .target(
            name: "ProvingJobs", dependencies: ["BN254", "Groth16", "Circuits", "Circom"],
            swiftSettings: fastArithmetic),
        // A coordinator: Raft, the scheduler, the projection and the worker and job services.
        .target(
            name: "Coordinator",
            dependencies: [
                "Scheduler", "Storage", "Raft", "RaftNode", "Wire", "BN254", "Groth16", "ProvingJobs",
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A worker: follows the coordinators' leader, proves its tasks and reports them.
        .target(
            name: "Worker",
            dependencies: [
                "ProvingJobs", "RaftNode", "Wire", "Groth16",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastArithmetic),
        // The public REST API on Hummingbird: the original routes, generic jobs, circuits and
        // verification, with its middleware and OpenAPI document; talks to coordinators only.
        .target(
            name: "Gateway",
            dependencies: [
                "JobClient", "Wire", "ServiceConfig", "BN254", "Groth16", "Circuits",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastArithmetic),
        // YAML configuration files: interpolation, environment overrides, every key checked.
        .target(name: "ServiceConfig", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The processes: a coordinator (Raft, scheduler, projection, gRPC and HTTP) and a
        // worker (with optional metrics), wired from their configurations.
        .target(
            name: "ClusterServices",
            dependencies: [
                "Coordinator", "Worker", "ServiceConfig", "Storage", "Scheduler", "Raft", "RaftNode", "Wire", "Gateway",
                "JobClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "RaftNode",
            dependencies: [
                "Raft", "Wire",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // A client of zkp.JobService over several coordinators, with failover.
        .target(
            name: "JobClient",
            dependencies: [
                "RaftNode", "Wire", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]),
        // Local clusters of `zkp raft-node` processes, and of coordinators and workers, for the
        // process-level tests and the benchmarks.
        .target(
            name: "LocalCluster",
            dependencies: [
                "Raft", "RaftNode", "Wire", "JobClient", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),

        // MARK: Executables
        .executableTarget(
            name: "zkp",
            dependencies: [
                "BN254", "Groth16", "Circuits", "Circom", "Raft", "RaftNode", "Wire", "ClusterServices",
                "ServiceConfig", "Gateway",
                "JobClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastArithmetic
        ),
        .executableTarget(
            name: "zkp-bench",
            dependencies: ["BN254", "Groth16", "Circom", "Circuits"],
            path: "Benchmarks/zkp-bench",
            swiftSettings: fastArithmetic
        ),
        .executableTarget(
            name: "cluster-bench",
            dependencies: [
                "LocalCluster", "JobClient", "RaftNode", "Wire",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/cluster-bench"),
        .executableTarget(
            name: "raft-bench", dependencies: ["LocalCluster", "Raft", "RaftNode"], path: "Benchmarks/raft-bench"),

        // MARK: Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "BN254Tests", dependencies: ["BN254", "TestSupport"], swiftSettings: fastArithmetic),
        .testTarget(
            name: "Groth16Tests", dependencies: ["BN254", "Groth16", "Circom", "TestSupport"],
            swiftSettings: fastArithmetic),
        .testTarget(
            name: "CircuitsTests", dependencies: ["BN254", "Groth16", "Circuits", "TestSupport"],
            swiftSettings: fastArithmetic),
        .testTarget(name: "CommandLineTests", dependencies: ["TestSupport"]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "TestSupport"]),
        .testTarget(name: "RaftTests", dependencies: ["Raft", "TestSupport"], exclude: ["Scenarios"]),
        .testTarget(
            name: "RaftNodeTests",
            dependencies: [
                "Raft", "RaftNode", "Wire", "LocalCluster", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
            ]
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "Storage", "Scheduler", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "CoordinatorTests",
            dependencies: [
                "Coordinator", "Scheduler", "Storage", "Raft", "RaftNode", "BN254", "Groth16", "Circuits",
                "ProvingJobs",
                "TestSupport", "Wire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCInProcessTransport", package: "grpc-swift-2"),
            ],
            swiftSettings: fastArithmetic),
        .testTarget(
            name: "WireTests",
            dependencies: [
                "Wire", .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(name: "ServiceConfigTests", dependencies: ["ServiceConfig"]),
        .testTarget(
            name: "ProvingJobsTests", dependencies: ["ProvingJobs", "BN254", "Groth16", "Circuits"],
            swiftSettings: fastArithmetic),
        .testTarget(
            name: "ClusterProcessTests",
            dependencies: [
                "LocalCluster", "JobClient", "Wire", "RaftNode", "BN254", "Groth16", "Circuits", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastArithmetic),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "ClusterServices", "JobClient", "LocalCluster", "RaftNode", "ServiceConfig", "BN254",
                "Groth16", "Circuits", "Wire", "TestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastArithmetic),
        .testTarget(name: "RaftProcessTests", dependencies: ["Raft", "RaftNode", "LocalCluster", "TestSupport"]),
        .testTarget(
            name: "HarnessTests",
            dependencies: [
                "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
