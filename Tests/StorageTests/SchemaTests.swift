import Storage
import Testing

@Suite("Storage: schema migrations")
struct SchemaTests {
    func tables(_ database: any SQLDatabase) async throws -> Set<String> {
        let sql =
            database.dialect == .postgres
            ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"
            : "SELECT name FROM sqlite_master WHERE type = 'table'"
        return Set(try await database.query(SQLStatement(sql)).map { try $0.text("name") })
    }

    @Test("up to the newest version, down to empty, and up again", arguments: Backend.allCases)
    func upDownUp(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            #expect(try await Schema.version(of: database) == 0)
            let up = try await Schema.migrate(database)
            #expect(up.from == 0 && up.to == Schema.newestVersion)
            let expected: Set<String> = [
                "schema_migrations", "circuits", "tasks", "task_attempts", "workers", "artifacts", "artifact_chunks",
                "projection_state",
            ]
            #expect(try await tables(database) == expected)
            // Migrating again is a no-op.
            #expect(try await Schema.migrate(database) == (Schema.newestVersion, Schema.newestVersion))
            #expect(try await Schema.migrate(database, to: 0) == (Schema.newestVersion, 0))
            #expect(try await tables(database) == ["schema_migrations"])
            try await Schema.migrate(database)
            #expect(try await tables(database) == expected)
            #expect(try await JobProjection(database: database).projectedIndex() == 0)
        }
    }

    @Test("an unknown target or a newer database is refused", arguments: Backend.allCases)
    func refusals(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            await #expect(throws: StorageError.invalidMigrationTarget(99, newest: Schema.newestVersion)) {
                try await Schema.migrate(database, to: 99)
            }
            try await Schema.migrate(database)
            try await database.execute("INSERT INTO schema_migrations (version, name) VALUES (999, 'future')")
            await #expect(throws: StorageError.unknownSchemaVersion(999, newest: Schema.newestVersion)) {
                try await Schema.migrate(database)
            }
        }
    }

    @Test("a failing statement rolls its whole transaction back", arguments: Backend.allCases)
    func atomicity(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            try await Schema.migrate(database)
            await #expect(throws: (any Error).self) {
                try await database.transaction([
                    SQLStatement("UPDATE projection_state SET applied_index = 5 WHERE id = 1"),
                    SQLStatement("INSERT INTO projection_state (id, applied_index) VALUES (2, 0)"),
                ])
            }
            #expect(try await JobProjection(database: database).projectedIndex() == 0)
        }
    }
}
