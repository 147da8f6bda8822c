import Scheduler

/// Committed state to write into the SQL projection: the jobs, workers and circuits that
/// changed, as the state machine held them at log index `index`.
public struct ProjectionBatch: Sendable {
    public var index: UInt64
    public var jobs: [Job]
    public var workers: [WorkerRecord]
    /// Workers that left the registry, and when.
    public var removedWorkers: [(id: WorkerID, at: Timestamp)]
    public var circuits: [CircuitRecord]

    public init(
        index: UInt64, jobs: [Job] = [], workers: [WorkerRecord] = [],
        removedWorkers: [(id: WorkerID, at: Timestamp)] = [], circuits: [CircuitRecord] = []
    ) {
        self.index = index
        self.jobs = jobs
        self.workers = workers
        self.removedWorkers = removedWorkers
        self.circuits = circuits
    }
}

/// A page of jobs, newest first, and the cursor of the next page (nil on the last).
public struct JobPage: Sendable {
    public var jobs: [Job]
    public var nextCursor: String?
}

/// The leader's SQL projection of the committed scheduling state, and the reads served
/// from it (archived jobs live only here).
///
/// Every row carries the Raft index of the change it shows, and an upsert replaces a
/// row only with a newer one (`WHERE stored.raft_index < new.raft_index`): replaying a
/// batch, or a deposed leader's late write, cannot move a row backwards.
public struct JobProjection: Sendable {
    public let database: any SQLDatabase

    public init(database: any SQLDatabase) { self.database = database }

    /// Writes a batch atomically and advances the projection's index to the batch's.
    public func write(_ batch: ProjectionBatch) async throws {
        var statements: [SQLStatement] = []
        statements.reserveCapacity(batch.jobs.count * 2 + batch.workers.count + batch.circuits.count + 1)
        for circuit in batch.circuits { statements.append(Self.upsert(circuit)) }
        for job in batch.jobs {
            statements.append(Self.upsert(job))
            for attempt in job.attempts { statements.append(Self.upsert(attempt, of: job)) }
        }
        for worker in batch.workers { statements.append(Self.upsert(worker, index: batch.index)) }
        for (id, at) in batch.removedWorkers {
            statements.append(
                SQLStatement(
                    """
                    UPDATE workers SET status = 'removed', current_task_count = 0, removed_at_ms = $2, raft_index = $3
                    WHERE id = $1 AND raft_index < $3
                    """, [.text(id.rawValue), .integer(at.milliseconds), .integer(Int64(batch.index))]))
        }
        statements.append(
            SQLStatement(
                "UPDATE projection_state SET applied_index = $1 WHERE id = 1 AND applied_index < $1",
                [.integer(Int64(batch.index))]))
        try await database.transaction(statements)
    }

    /// The log index the projection has reached: every change at or before it is stored.
    public func projectedIndex() async throws -> UInt64 {
        let rows = try await database.query(SQLStatement("SELECT applied_index FROM projection_state WHERE id = 1"))
        guard let row = rows.first else { throw StorageError.corruptRow("projection_state has no row") }
        return UInt64(try row.integer("applied_index"))
    }

    public func job(_ id: JobID) async throws -> Job? {
        let rows = try await database.query(SQLStatement("SELECT * FROM tasks WHERE id = $1", [.text(id.rawValue)]))
        guard let row = rows.first else { return nil }
        return try Self.job(from: row, attempts: try await attempts(of: [id])[id] ?? [])
    }

    /// Jobs newest first, optionally of one status and one circuit, `limit` at a time.
    public func jobs(status: JobStatus? = nil, circuit: CircuitID? = nil, cursor: String? = nil, limit: Int)
        async throws
        -> JobPage
    {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let status {
            binds.append(.text(status.rawValue))
            conditions.append("status = $\(binds.count)")
        }
        if let circuit {
            binds.append(.text(circuit.rawValue))
            conditions.append("circuit_id = $\(binds.count)")
        }
        if let cursor {
            let (created, id) = try Self.parse(cursor: cursor)
            binds.append(.integer(created))
            binds.append(.text(id))
            conditions.append(
                "(created_at_ms < $\(binds.count - 1) OR (created_at_ms = $\(binds.count - 1) AND id < $\(binds.count)))"
            )
        }
        let limit = max(1, min(limit, 1_000))
        binds.append(.integer(Int64(limit + 1)))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try await database.query(
            SQLStatement(
                "SELECT * FROM tasks \(filter) ORDER BY created_at_ms DESC, id DESC LIMIT $\(binds.count)", binds))
        let page = rows.prefix(limit)
        let ids = try page.map { JobID(try $0.text("id")) }
        let attempts = try await attempts(of: ids)
        let jobs = try page.map { row in try Self.job(from: row, attempts: attempts[JobID(try row.text("id"))] ?? []) }
        let next = rows.count > limit ? jobs.last.map { "\($0.submittedAt.milliseconds)_\($0.id.rawValue)" } : nil
        return JobPage(jobs: jobs, nextCursor: next)
    }

    public func circuits() async throws -> [CircuitRecord] {
        try await database.query(SQLStatement("SELECT * FROM circuits ORDER BY id")).map(Self.circuit(from:))
    }

    /// Registered workers, including removed ones (`removed` true), by id.
    public func workers() async throws -> [(worker: WorkerRecord, removed: Bool)] {
        try await database.query(SQLStatement("SELECT * FROM workers ORDER BY id")).map { row in
            let capabilities = try row.text("capabilities").split(separator: ",").map(String.init)
            let worker = WorkerRecord(
                id: WorkerID(try row.text("id")), address: try row.text("address"),
                capacity: UInt32(try row.integer("max_concurrent_tasks")), capabilities: Set(capabilities),
                registeredAt: Timestamp(milliseconds: try row.integer("registered_at_ms")),
                activeJobs: UInt32(try row.integer("current_task_count")))
            return (worker, try row.text("status") == "removed")
        }
    }

    // MARK: Rows

    private func attempts(of ids: [JobID]) async throws -> [JobID: [Attempt]] {
        guard !ids.isEmpty else { return [:] }
        let placeholders = ids.indices.map { "$\($0 + 1)" }.joined(separator: ", ")
        let rows = try await database.query(
            SQLStatement(
                "SELECT * FROM task_attempts WHERE task_id IN (\(placeholders)) ORDER BY task_id, attempt",
                ids.map { .text($0.rawValue) }))
        var result: [JobID: [Attempt]] = [:]
        for row in rows {
            let outcome: AttemptOutcome?
            let reason = row["error_message"].text ?? ""
            switch row["outcome"].text {
            case nil: outcome = nil
            case "completed": outcome = .completed
            case "failed": outcome = .failed(reason: reason, deterministic: try row.integer("deterministic") != 0)
            case "expired": outcome = .expired(reason: reason)
            case "abandoned": outcome = .abandoned(reason: reason)
            case let other: throw StorageError.corruptRow("attempt outcome \(other ?? "")")
            }
            result[JobID(try row.text("task_id")), default: []].append(
                Attempt(
                    number: UInt32(try row.integer("attempt")), worker: WorkerID(try row.text("worker_id")),
                    assignedAt: Timestamp(milliseconds: try row.integer("assigned_at_ms")),
                    leaseExpiresAt: Timestamp(milliseconds: try row.integer("lease_expires_at_ms")),
                    startedAt: row["started_at_ms"].integer.map(Timestamp.init(milliseconds:)),
                    endedAt: row["ended_at_ms"].integer.map(Timestamp.init(milliseconds:)), outcome: outcome))
        }
        return result
    }

    static func parse(cursor: String) throws(StorageError) -> (Int64, String) {
        guard let separator = cursor.firstIndex(of: "_"), let created = Int64(cursor[..<separator]) else {
            throw StorageError.invalidCursor(cursor)
        }
        return (created, String(cursor[cursor.index(after: separator)...]))
    }

    static func upsert(_ job: Job) -> SQLStatement {
        var proof: SQLValue = .null
        var publicInputs: SQLValue = .null
        var provingKey: SQLValue = .null
        var verificationKey: SQLValue = .null
        switch job.result {
        case .proof(let bytes, let inputs)?:
            proof = .blob(bytes)
            publicInputs = .blob(inputs)
        case .keys(let pk, let vk)?:
            provingKey = .text(pk.hex)
            verificationKey = .text(vk.hex)
        case nil: break
        }
        return SQLStatement(
            """
            INSERT INTO tasks (id, kind, circuit_id, input_data, status, worker_id, attempt, max_retries,
                idempotency_key, error_message, proof_data, public_inputs, proving_key_digest, verification_key_digest,
                created_at_ms, submitted_index, updated_at_ms, completed_at_ms, deadline_ms, raft_index)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, worker_id = excluded.worker_id,
                attempt = excluded.attempt, error_message = excluded.error_message, proof_data = excluded.proof_data,
                public_inputs = excluded.public_inputs, proving_key_digest = excluded.proving_key_digest,
                verification_key_digest = excluded.verification_key_digest, updated_at_ms = excluded.updated_at_ms,
                completed_at_ms = excluded.completed_at_ms, raft_index = excluded.raft_index
            WHERE tasks.raft_index < excluded.raft_index
            """,
            [
                .text(job.id.rawValue), .text(job.kind == .prove ? "prove" : "setup"), .text(job.circuit.rawValue),
                .blob(job.inputs), .text(job.status.rawValue), job.worker.map { .text($0.rawValue) } ?? .null,
                .integer(Int64(job.attempts.count)), .integer(Int64(job.maxRetries)),
                job.idempotencyKey.map { .text($0) } ?? .null, job.failureReason.map { .text($0) } ?? .null, proof,
                publicInputs, provingKey, verificationKey, .integer(job.submittedAt.milliseconds),
                .integer(Int64(job.submittedIndex)), .integer(job.updatedAt.milliseconds),
                job.status.isTerminal ? .integer(job.updatedAt.milliseconds) : .null,
                job.deadline.map { .integer($0.milliseconds) } ?? .null, .integer(Int64(job.updatedIndex)),
            ])
    }

    static func upsert(_ attempt: Attempt, of job: Job) -> SQLStatement {
        var outcome: SQLValue = .null
        var reason: SQLValue = .null
        var deterministic: Int64 = 0
        switch attempt.outcome {
        case .completed?: outcome = .text("completed")
        case .failed(let why, let isDeterministic)?:
            outcome = .text("failed")
            reason = .text(why)
            deterministic = isDeterministic ? 1 : 0
        case .expired(let why)?:
            outcome = .text("expired")
            reason = .text(why)
        case .abandoned(let why)?:
            outcome = .text("abandoned")
            reason = .text(why)
        case nil: break
        }
        return SQLStatement(
            """
            INSERT INTO task_attempts (task_id, attempt, worker_id, assigned_at_ms, lease_expires_at_ms, started_at_ms,
                ended_at_ms, outcome, error_message, deterministic, raft_index)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            ON CONFLICT (task_id, attempt) DO UPDATE SET lease_expires_at_ms = excluded.lease_expires_at_ms,
                started_at_ms = excluded.started_at_ms, ended_at_ms = excluded.ended_at_ms, outcome = excluded.outcome,
                error_message = excluded.error_message, deterministic = excluded.deterministic,
                raft_index = excluded.raft_index
            WHERE task_attempts.raft_index < excluded.raft_index
            """,
            [
                .text(job.id.rawValue), .integer(Int64(attempt.number)), .text(attempt.worker.rawValue),
                .integer(attempt.assignedAt.milliseconds), .integer(attempt.leaseExpiresAt.milliseconds),
                attempt.startedAt.map { .integer($0.milliseconds) } ?? .null,
                attempt.endedAt.map { .integer($0.milliseconds) } ?? .null, outcome, reason, .integer(deterministic),
                .integer(Int64(job.updatedIndex)),
            ])
    }

    static func upsert(_ worker: WorkerRecord, index: UInt64) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO workers (id, address, max_concurrent_tasks, current_task_count, status, capabilities,
                registered_at_ms, removed_at_ms, raft_index)
            VALUES ($1, $2, $3, $4, 'active', $5, $6, NULL, $7)
            ON CONFLICT (id) DO UPDATE SET address = excluded.address,
                max_concurrent_tasks = excluded.max_concurrent_tasks, current_task_count = excluded.current_task_count,
                status = 'active', capabilities = excluded.capabilities, registered_at_ms = excluded.registered_at_ms,
                removed_at_ms = NULL, raft_index = excluded.raft_index
            WHERE workers.raft_index < excluded.raft_index
            """,
            [
                .text(worker.id.rawValue), .text(worker.address), .integer(Int64(worker.capacity)),
                .integer(Int64(worker.activeJobs)), .text(worker.capabilities.sorted().joined(separator: ",")),
                .integer(worker.registeredAt.milliseconds), .integer(Int64(index)),
            ])
    }

    static func upsert(_ circuit: CircuitRecord) -> SQLStatement {
        var status = "awaiting_setup"
        var setupJob: SQLValue = .null
        var provingKey: SQLValue = .null
        var verificationKey: SQLValue = .null
        var error: SQLValue = .null
        switch circuit.status {
        case .awaitingSetup(let job): setupJob = .text(job.rawValue)
        case .ready(let pk, let vk):
            status = "ready"
            provingKey = .text(pk.hex)
            verificationKey = .text(vk.hex)
        case .setupFailed(let reason):
            status = "setup_failed"
            error = .text(reason)
        }
        return SQLStatement(
            """
            INSERT INTO circuits (id, family, definition, status, setup_job_id, proving_key_digest,
                verification_key_digest, error_message, registered_at_ms, raft_index)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            ON CONFLICT (id) DO UPDATE SET status = excluded.status, setup_job_id = excluded.setup_job_id,
                proving_key_digest = excluded.proving_key_digest,
                verification_key_digest = excluded.verification_key_digest, error_message = excluded.error_message,
                raft_index = excluded.raft_index
            WHERE circuits.raft_index < excluded.raft_index
            """,
            [
                .text(circuit.id.rawValue), .text(circuit.family), .blob(circuit.definition), .text(status), setupJob,
                provingKey, verificationKey, error, .integer(circuit.registeredAt.milliseconds),
                .integer(Int64(circuit.updatedIndex)),
            ])
    }

    static func job(from row: SQLRow, attempts: [Attempt]) throws -> Job {
        let id = JobID(try row.text("id"))
        let statusText = try row.text("status")
        guard let status = JobStatus(rawValue: statusText) else {
            throw StorageError.corruptRow("job \(id) has status \(statusText)")
        }
        let kind: JobKind = try row.text("kind") == "setup" ? .setup : .prove
        var result: JobResult?
        if status == .completed {
            switch kind {
            case .prove:
                guard let proof = row["proof_data"].blob else {
                    throw StorageError.corruptRow("job \(id) has no proof")
                }
                result = .proof(proof: proof, publicInputs: row["public_inputs"].blob ?? [])
            case .setup:
                guard let pk = row["proving_key_digest"].text.flatMap(ArtifactDigest.init(hex:)),
                    let vk = row["verification_key_digest"].text.flatMap(ArtifactDigest.init(hex:))
                else { throw StorageError.corruptRow("setup job \(id) has no key digests") }
                result = .keys(provingKey: pk, verificationKey: vk)
            }
        }
        guard let inputs = row["input_data"].blob else {
            throw StorageError.unexpectedColumn("input_data", row["input_data"])
        }
        return Job(
            id: id, kind: kind, circuit: CircuitID(try row.text("circuit_id")), inputs: inputs,
            idempotencyKey: row["idempotency_key"].text, maxRetries: UInt32(try row.integer("max_retries")),
            deadline: row["deadline_ms"].integer.map(Timestamp.init(milliseconds:)),
            submittedAt: Timestamp(milliseconds: try row.integer("created_at_ms")),
            submittedIndex: UInt64(try row.integer("submitted_index")), status: status, attempts: attempts,
            result: result, failureReason: row["error_message"].text,
            updatedAt: Timestamp(milliseconds: try row.integer("updated_at_ms")),
            updatedIndex: UInt64(try row.integer("raft_index")))
    }

    static func circuit(from row: SQLRow) throws -> CircuitRecord {
        let id = CircuitID(try row.text("id"))
        let status: CircuitStatus
        switch try row.text("status") {
        case "awaiting_setup": status = .awaitingSetup(job: JobID(try row.text("setup_job_id")))
        case "ready":
            guard let pk = row["proving_key_digest"].text.flatMap(ArtifactDigest.init(hex:)),
                let vk = row["verification_key_digest"].text.flatMap(ArtifactDigest.init(hex:))
            else { throw StorageError.corruptRow("circuit \(id) is ready without key digests") }
            status = .ready(provingKey: pk, verificationKey: vk)
        case "setup_failed": status = .setupFailed(reason: row["error_message"].text ?? "")
        case let other: throw StorageError.corruptRow("circuit \(id) has status \(other)")
        }
        guard let definition = row["definition"].blob else {
            throw StorageError.unexpectedColumn("definition", row["definition"])
        }
        return CircuitRecord(
            id: id, family: try row.text("family"), definition: definition,
            registeredAt: Timestamp(milliseconds: try row.integer("registered_at_ms")), status: status,
            updatedIndex: UInt64(try row.integer("raft_index")))
    }
}
