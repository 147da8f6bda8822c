// swift-tools-version: 6.1
//
// ZKP Network: a Groth16 proving service on BN254.
//
// Layering (see README.md): the cryptographic and consensus cores (`BN254`,
// `Groth16`, `Circuits`, `Raft`) depend on the standard library only, so their
// tests build in seconds; services and tools sit above them.

import PackageDescription

let package = Package(
    name: "zkp-network",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BN254", targets: ["BN254"]),
        .library(name: "Groth16", targets: ["Groth16"]),
        .library(name: "Circuits", targets: ["Circuits"]),
        .library(name: "Raft", targets: ["Raft"]),
        .executable(name: "zkp", targets: ["zkp"]),
        .executable(name: "zkp-bench", targets: ["zkp-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // MARK: Pure cores (standard library only)
        .target(name: "BN254"),
        .target(name: "Groth16", dependencies: ["BN254"]),
        .target(name: "Circuits", dependencies: ["BN254", "Groth16"]),
        .target(name: "Raft"),

        // MARK: Executables
        .executableTarget(
            name: "zkp",
            dependencies: [
                "BN254",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "zkp-bench",
            dependencies: ["BN254"],
            path: "Benchmarks/zkp-bench"
        ),

        // MARK: Tests
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "BN254Tests", dependencies: ["BN254", "TestSupport"]),
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
