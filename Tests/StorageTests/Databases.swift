import Foundation
import Logging
import PostgresNIO
import Storage
import TestSupport
import Testing

/// The engines every storage test runs on.
enum Backend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite
    case postgres
    var testDescription: String { rawValue }
}

let quietLogger: Logger = {
    var logger = Logger(label: "storage-tests")
    logger.logLevel = .warning
    return logger
}()

/// Runs `body` against a fresh, empty database: an in-memory SQLite database, or a new
/// database on the harness's PostgreSQL that is dropped afterwards. Without PostgreSQL
/// the PostgreSQL runs are skipped with a note, except under CI, where they fail.
func withFreshDatabase(_ backend: Backend, _ body: (any SQLDatabase) async throws -> Void) async throws {
    switch backend {
    case .sqlite:
        let database = try await SQLiteDatabase.open(path: nil, logger: quietLogger)
        do {
            try await body(database)
        } catch {
            try await database.close()
            throw error
        }
        try await database.close()
    case .postgres:
        guard let url = TestEnvironment.postgresURL else {
            if TestEnvironment.isCI { Issue.record("PostgreSQL missing ($\(TestEnvironment.postgresVariable))") }
            print("skipped on PostgreSQL: $\(TestEnvironment.postgresVariable) not set (scripts/test sets it)")
            return
        }
        let admin = PostgresDatabase(configuration: try configuration(url: url, database: nil), logger: quietLogger)
        let name = "zkp_test_\(UInt64.random(in: 0...UInt64.max))"
        try await withThrowingTaskGroup(of: Void.self) { adminGroup in
            adminGroup.addTask { await admin.run() }
            try await admin.execute("CREATE DATABASE \(name)")
            let database = PostgresDatabase(
                configuration: try configuration(url: url, database: name), logger: quietLogger)
            var failure: (any Error)?
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await database.run() }
                do { try await body(database) } catch { failure = error }
                group.cancelAll()
            }
            try await admin.execute("DROP DATABASE \(name) WITH (FORCE)")
            adminGroup.cancelAll()
            if let failure { throw failure }
        }
    }
}

func configuration(url text: String, database: String?) throws -> PostgresClient.Configuration {
    guard let url = URLComponents(string: text), let host = url.host, let user = url.user else {
        throw StorageError.invalidConfiguration("cannot read \(text) as postgres://user@host:port/db")
    }
    let defaultDatabase = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
    return .zkp(
        host: host, port: url.port ?? 5432, database: database ?? defaultDatabase, user: user, password: url.password,
        requireTLS: false)
}
