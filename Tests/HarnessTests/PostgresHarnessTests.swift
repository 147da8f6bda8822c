import Foundation
import Logging
import PostgresNIO
import TestSupport
import Testing

/// The harness's own check: the throwaway PostgreSQL accepts connections and round-trips values.
@Suite("PostgreSQL harness")
struct PostgresHarnessTests {
    enum HarnessError: Error, CustomStringConvertible {
        case badURL(String)
        var description: String {
            switch self {
            case .badURL(let url):
                return "cannot read \(TestEnvironment.postgresVariable)=\(url) as postgres://user@host:port/db"
            }
        }
    }

    static func configuration() throws -> PostgresClient.Configuration {
        guard let text = TestEnvironment.postgresURL else {
            throw PeerError.missingDependency("PostgreSQL ($\(TestEnvironment.postgresVariable))")
        }
        guard let url = URLComponents(string: text), let host = url.host, let user = url.user else {
            throw HarnessError.badURL(text)
        }
        let database = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        var configuration = PostgresClient.Configuration(
            host: host, port: url.port ?? 5432, username: user, password: url.password,
            database: database.isEmpty ? nil : database, tls: .disable)
        configuration.options.connectTimeout = .seconds(10)
        return configuration
    }

    @Test(
        "a connection round-trips an integer and a string",
        .enabled(if: TestEnvironment.runsPostgresTests, "PostgreSQL missing: run scripts/test")
    )
    func roundTrip() async throws {
        let client = PostgresClient(
            configuration: try Self.configuration(), backgroundLogger: Logger(label: "test.postgres"))
        let number = Int.random(in: 1...1_000_000)
        let word = "zkp-\(UUID().uuidString)"
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let rows = try await client.query("SELECT \(number)::int8 + 1 AS n, \(word)::text AS w")
            var seen = 0
            for try await (n, w) in rows.decode((Int, String).self) {
                #expect(n == number + 1)
                #expect(w == word)
                seen += 1
            }
            #expect(seen == 1)
        }
    }
}
