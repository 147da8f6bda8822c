import Foundation

/// What the test suite needs from outside the package, found in one place.
///
/// `scripts/test` provides a Python venv with the peer implementations and a
/// throwaway PostgreSQL, and passes them in through environment variables.
/// Outside that harness a test that needs a missing dependency is skipped with
/// a reason; under CI (`CI=true`) it runs and fails instead, so a broken
/// harness can never turn into a silently green run.
public enum TestEnvironment {
    /// The environment variable naming the peer venv's Python interpreter.
    public static let pythonVariable = "ZKP_TEST_PYTHON"
    /// The environment variable holding the PostgreSQL URL (`postgres://user@host:port/db`).
    public static let postgresVariable = "ZKP_TEST_POSTGRES_URL"

    /// True when running under continuous integration.
    public static var isCI: Bool {
        ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true"
    }

    /// The root of the repository (the folder holding `Package.swift`).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // TestSupport
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()
    }

    /// The bytes of a fixture under `Tests/Fixtures/`.
    public static func fixture(_ relativePath: String) throws -> Data {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
        return try Data(contentsOf: url)
    }

    /// A product of this package built beside the test runner (`.build/<configuration>/name`).
    public static func productExecutable(_ name: String) -> URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent(name)
    }

    /// The path of a peer driver script under `Tests/PeerDrivers/`.
    public static func peerDriver(_ name: String) -> String {
        repositoryRoot.appendingPathComponent("Tests/PeerDrivers").appendingPathComponent(name).path
    }

    /// The peer venv's interpreter: `$ZKP_TEST_PYTHON`, else the harness's default venv if present.
    public static var peerPython: String? {
        if let path = ProcessInfo.processInfo.environment[pythonVariable], !path.isEmpty {
            return path
        }
        let fallback = repositoryRoot.appendingPathComponent(".venv-peers/bin/python").path
        return FileManager.default.isExecutableFile(atPath: fallback) ? fallback : nil
    }

    /// The PostgreSQL URL the harness started, if any.
    public static var postgresURL: String? {
        guard let url = ProcessInfo.processInfo.environment[postgresVariable], !url.isEmpty else { return nil }
        return url
    }

    /// Whether tests that call the peer implementations should run (see the type's comment).
    public static var runsPeerTests: Bool { isCI || peerPython != nil }

    /// Whether tests that need PostgreSQL should run (see the type's comment).
    public static var runsPostgresTests: Bool { isCI || postgresURL != nil }
}
