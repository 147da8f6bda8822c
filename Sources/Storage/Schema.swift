/// One step of the schema: statements that take it up from the previous version, and
/// statements that take it back down.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    let up: @Sendable (SQLDialect) -> [String]
    let down: @Sendable (SQLDialect) -> [String]
}

/// The store's schema and the runner that moves a database between its versions. Each
/// step runs in one transaction with its bookkeeping row, so a failed step leaves the
/// database at the previous version.
public enum Schema {
    public static let migrations: [Migration] = [initial]
    public static var newestVersion: Int { migrations.last!.version }

    /// The version the database is at (0 for an empty database).
    public static func version(of database: some SQLDatabase) async throws -> Int {
        try await database.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        let rows = try await database.query(SQLStatement("SELECT MAX(version) AS version FROM schema_migrations"))
        let version = Int(rows.first?["version"].integer ?? 0)
        guard version <= newestVersion else {
            throw StorageError.unknownSchemaVersion(Int64(version), newest: newestVersion)
        }
        return version
    }

    /// Moves the database up or down to `target` (the newest version by default);
    /// returns the versions before and after.
    @discardableResult
    public static func migrate(_ database: some SQLDatabase, to target: Int = newestVersion) async throws -> (
        from: Int, to: Int
    ) {
        guard (0...newestVersion).contains(target) else {
            throw StorageError.invalidMigrationTarget(target, newest: newestVersion)
        }
        let current = try await version(of: database)
        if target > current {
            for migration in migrations where migration.version > current && migration.version <= target {
                let statements =
                    migration.up(database.dialect).map { SQLStatement($0) } + [
                        SQLStatement(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            [.integer(Int64(migration.version)), .text(migration.name)])
                    ]
                try await database.transaction(statements)
            }
        } else {
            for migration in migrations.reversed() where migration.version <= current && migration.version > target {
                let statements =
                    migration.down(database.dialect).map { SQLStatement($0) } + [
                        SQLStatement(
                            "DELETE FROM schema_migrations WHERE version = $1", [.integer(Int64(migration.version))])
                    ]
                try await database.transaction(statements)
            }
        }
        return (current, target)
    }

    /// Version 1: jobs (`tasks`, the original's table name), their attempts, workers,
    /// circuits, artifacts in chunks, and the projection's own position in the log.
    /// Instants are milliseconds since the Unix epoch, chosen by the Raft leader.
    static let initial = Migration(
        version: 1, name: "initial",
        up: { dialect in
            let blob = dialect.blobType
            return [
                """
                CREATE TABLE circuits (
                    id TEXT PRIMARY KEY,
                    family TEXT NOT NULL,
                    definition \(blob) NOT NULL,
                    status TEXT NOT NULL CHECK (status IN ('awaiting_setup', 'ready', 'setup_failed')),
                    setup_job_id TEXT,
                    proving_key_digest TEXT,
                    verification_key_digest TEXT,
                    error_message TEXT,
                    registered_at_ms BIGINT NOT NULL,
                    raft_index BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE tasks (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL CHECK (kind IN ('prove', 'setup')),
                    circuit_id TEXT NOT NULL,
                    input_data \(blob) NOT NULL,
                    status TEXT NOT NULL
                        CHECK (status IN ('pending', 'assigned', 'in_progress', 'completed', 'failed', 'cancelled')),
                    worker_id TEXT,
                    attempt INTEGER NOT NULL,
                    max_retries INTEGER NOT NULL,
                    idempotency_key TEXT,
                    error_message TEXT,
                    proof_data \(blob),
                    public_inputs \(blob),
                    proving_key_digest TEXT,
                    verification_key_digest TEXT,
                    created_at_ms BIGINT NOT NULL,
                    submitted_index BIGINT NOT NULL,
                    updated_at_ms BIGINT NOT NULL,
                    completed_at_ms BIGINT,
                    deadline_ms BIGINT,
                    raft_index BIGINT NOT NULL,
                    CONSTRAINT running_tasks_have_workers
                        CHECK ((status IN ('assigned', 'in_progress')) = (worker_id IS NOT NULL)),
                    CONSTRAINT completed_tasks_have_results
                        CHECK (status <> 'completed' OR proof_data IS NOT NULL OR proving_key_digest IS NOT NULL)
                )
                """,
                "CREATE INDEX idx_tasks_created ON tasks (created_at_ms DESC, id DESC)",
                "CREATE INDEX idx_tasks_status ON tasks (status, created_at_ms DESC, id DESC)",
                "CREATE INDEX idx_tasks_circuit ON tasks (circuit_id, created_at_ms DESC, id DESC)",
                """
                CREATE TABLE task_attempts (
                    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL,
                    worker_id TEXT NOT NULL,
                    assigned_at_ms BIGINT NOT NULL,
                    lease_expires_at_ms BIGINT NOT NULL,
                    started_at_ms BIGINT,
                    ended_at_ms BIGINT,
                    outcome TEXT CHECK (outcome IN ('completed', 'failed', 'expired', 'abandoned')),
                    error_message TEXT,
                    deterministic INTEGER NOT NULL DEFAULT 0,
                    raft_index BIGINT NOT NULL,
                    PRIMARY KEY (task_id, attempt)
                )
                """,
                "CREATE INDEX idx_task_attempts_worker ON task_attempts (worker_id)",
                """
                CREATE TABLE workers (
                    id TEXT PRIMARY KEY,
                    address TEXT NOT NULL,
                    max_concurrent_tasks INTEGER NOT NULL CHECK (max_concurrent_tasks > 0),
                    current_task_count INTEGER NOT NULL CHECK (current_task_count >= 0),
                    status TEXT NOT NULL CHECK (status IN ('active', 'removed')),
                    capabilities TEXT NOT NULL,
                    registered_at_ms BIGINT NOT NULL,
                    removed_at_ms BIGINT,
                    raft_index BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE artifacts (
                    digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
                    size BIGINT NOT NULL CHECK (size >= 0),
                    chunk_count INTEGER NOT NULL,
                    created_at_ms BIGINT NOT NULL
                )
                """,
                """
                CREATE TABLE artifact_chunks (
                    digest TEXT NOT NULL REFERENCES artifacts (digest) ON DELETE CASCADE,
                    chunk INTEGER NOT NULL,
                    data \(blob) NOT NULL,
                    PRIMARY KEY (digest, chunk)
                )
                """,
                """
                CREATE TABLE projection_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    applied_index BIGINT NOT NULL
                )
                """,
                "INSERT INTO projection_state (id, applied_index) VALUES (1, 0)",
            ]
        },
        down: { _ in
            [
                "DROP TABLE projection_state", "DROP TABLE artifact_chunks", "DROP TABLE artifacts",
                "DROP TABLE workers", "DROP TABLE task_attempts", "DROP TABLE tasks", "DROP TABLE circuits",
            ]
        })
}
