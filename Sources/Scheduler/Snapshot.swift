// The snapshot image of the scheduling state: everything `apply` reads, in a canonical
// order (every collection sorted by its key), so equal states encode to equal bytes.

extension SchedulerState {
    private static let snapshotVersion: UInt8 = 1

    /// The whole state as bytes, for Raft snapshots and for comparing replicas.
    public func snapshot() -> [UInt8] {
        var writer = ByteWriter(capacity: 256 + jobs.count * 256)
        writer.u8(Self.snapshotVersion)
        writer.u64(appliedIndex)
        writer.u64(archivedThrough)
        writer.timestamp(clock)
        writer.array(circuits.values.sorted { $0.id < $1.id }) { $0.circuit($1) }
        writer.array(workers.values.sorted { $0.id < $1.id }) { $0.worker($1) }
        writer.array(jobs.values.sorted { $0.id < $1.id }) { $0.job($1) }
        writer.array(pendingSince.sorted { $0.key < $1.key }) { writer, entry in
            writer.string(entry.key.rawValue)
            writer.u64(entry.value)
        }
        writer.array(idempotency.sorted { $0.key < $1.key }) { writer, entry in
            writer.string(entry.key)
            writer.string(entry.value.job.rawValue)
            writer.timestamp(entry.value.expiresAt)
        }
        return writer.bytes
    }

    /// The state a snapshot holds; throws, naming the field, if the bytes are malformed.
    public init(snapshot bytes: [UInt8]) throws(SchedulerDecodingError) {
        self.init()
        var reader = ByteReader(bytes)
        let version = try reader.u8("snapshot version")
        guard version == Self.snapshotVersion else {
            throw SchedulerDecodingError(reason: "snapshot version \(version) is not \(Self.snapshotVersion)")
        }
        appliedIndex = try reader.u64("applied index")
        archivedThrough = try reader.u64("archived index")
        let clock = try reader.timestamp("clock")
        for circuit in try reader.array("circuits", { r throws(SchedulerDecodingError) in try r.circuit() }) {
            circuits[circuit.id] = circuit
        }
        for worker in try reader.array("workers", { r throws(SchedulerDecodingError) in try r.worker() }) {
            workers[worker.id] = worker
        }
        for job in try reader.array("jobs", { r throws(SchedulerDecodingError) in try r.job() }) {
            jobs[job.id] = job
        }
        let pending = try reader.array("pending queue") { r throws(SchedulerDecodingError) in
            (JobID(try r.string("pending job")), try r.u64("pending index"))
        }
        let keys = try reader.array("idempotency keys") { r throws(SchedulerDecodingError) in
            (try r.string("idempotency key"), JobID(try r.string("job id")), try r.timestamp("expiry"))
        }
        try reader.finish("snapshot")

        self.clock = clock
        for (job, index) in pending.sorted(by: { ($0.1, $0.0) < ($1.1, $1.0) }) {
            guard jobs[job]?.status == .pending else {
                throw SchedulerDecodingError(reason: "queued job \(job) is not a pending job")
            }
            pendingSince[job] = index
            pendingQueue.append((index, job))
        }
        for (key, job, expiresAt) in keys.sorted(by: { ($0.2, $0.0) < ($1.2, $1.0) }) {
            idempotency[key] = IdempotencyEntry(job: job, expiresAt: expiresAt)
            idempotencyExpiries.append((expiresAt, key))
        }
        for job in jobs.values.sorted(by: { ($0.updatedIndex, $0.id) < ($1.updatedIndex, $1.id) }) {
            if job.status.isTerminal {
                terminalQueue.append((job.updatedIndex, job.id))
            } else {
                if job.deadline != nil { jobsWithDeadline.insert(job.id) }
                if job.worker != nil { runningJobs.insert(job.id) }
            }
        }
    }
}

extension ByteWriter {
    mutating func circuit(_ circuit: CircuitRecord) {
        string(circuit.id.rawValue)
        string(circuit.family)
        data(circuit.definition)
        timestamp(circuit.registeredAt)
        switch circuit.status {
        case .awaitingSetup(let job):
            u8(1)
            string(job.rawValue)
        case .ready(let provingKey, let verificationKey):
            u8(2)
            digest(provingKey)
            digest(verificationKey)
        case .setupFailed(let reason):
            u8(3)
            string(reason)
        }
        u64(circuit.updatedIndex)
    }

    mutating func worker(_ worker: WorkerRecord) {
        string(worker.id.rawValue)
        string(worker.address)
        u32(worker.capacity)
        array(worker.capabilities.sorted()) { $0.string($1) }
        timestamp(worker.registeredAt)
        u32(worker.activeJobs)
    }

    mutating func job(_ job: Job) {
        string(job.id.rawValue)
        u8(job.kind.rawValue)
        string(job.circuit.rawValue)
        data(job.inputs)
        optional(job.idempotencyKey) { $0.string($1) }
        u32(job.maxRetries)
        optional(job.deadline) { $0.timestamp($1) }
        timestamp(job.submittedAt)
        u64(job.submittedIndex)
        string(job.status.rawValue)
        array(job.attempts) { $0.attempt($1) }
        optional(job.result) { $0.result($1) }
        optional(job.failureReason) { $0.string($1) }
        timestamp(job.updatedAt)
        u64(job.updatedIndex)
    }

    mutating func attempt(_ attempt: Attempt) {
        u32(attempt.number)
        string(attempt.worker.rawValue)
        timestamp(attempt.assignedAt)
        timestamp(attempt.leaseExpiresAt)
        optional(attempt.startedAt) { $0.timestamp($1) }
        optional(attempt.endedAt) { $0.timestamp($1) }
        optional(attempt.outcome) { writer, outcome in
            switch outcome {
            case .completed:
                writer.u8(1)
            case .failed(let reason, let deterministic):
                writer.u8(2)
                writer.string(reason)
                writer.bool(deterministic)
            case .expired(let reason):
                writer.u8(3)
                writer.string(reason)
            case .abandoned(let reason):
                writer.u8(4)
                writer.string(reason)
            }
        }
    }
}

extension ByteReader {
    mutating func circuit() throws(SchedulerDecodingError) -> CircuitRecord {
        let id = CircuitID(try string("circuit id"))
        let family = try string("circuit family")
        let definition = try data("circuit definition")
        let registeredAt = try timestamp("circuit registration time")
        let status: CircuitStatus
        switch try u8("circuit status") {
        case 1: status = .awaitingSetup(job: JobID(try string("setup job id")))
        case 2: status = .ready(provingKey: try digest("proving key"), verificationKey: try digest("verification key"))
        case 3: status = .setupFailed(reason: try string("setup failure"))
        case let tag: throw SchedulerDecodingError(reason: "unknown circuit status tag \(tag)")
        }
        return CircuitRecord(
            id: id, family: family, definition: definition, registeredAt: registeredAt, status: status,
            updatedIndex: try u64("circuit index"))
    }

    mutating func worker() throws(SchedulerDecodingError) -> WorkerRecord {
        WorkerRecord(
            id: WorkerID(try string("worker id")), address: try string("worker address"),
            capacity: try u32("worker capacity"),
            capabilities: Set(
                try array("capabilities") { r throws(SchedulerDecodingError) in try r.string("capability") }),
            registeredAt: try timestamp("worker registration time"), activeJobs: try u32("worker active jobs"))
    }

    mutating func job() throws(SchedulerDecodingError) -> Job {
        let id = JobID(try string("job id"))
        let kindTag = try u8("job kind")
        guard let kind = JobKind(rawValue: kindTag) else {
            throw SchedulerDecodingError(reason: "job kind \(kindTag) is unknown")
        }
        return Job(
            id: id, kind: kind, circuit: CircuitID(try string("circuit id")), inputs: try data("inputs"),
            idempotencyKey: try optional("idempotency key") { r throws(SchedulerDecodingError) in
                try r.string("idempotency key")
            },
            maxRetries: try u32("max retries"),
            deadline: try optional("deadline") { r throws(SchedulerDecodingError) in try r.timestamp("deadline") },
            submittedAt: try timestamp("submission time"), submittedIndex: try u64("submission index"),
            status: try status("job status"),
            attempts: try array("attempts") { r throws(SchedulerDecodingError) in try r.attempt() },
            result: try optional("result") { r throws(SchedulerDecodingError) in try r.result() },
            failureReason: try optional("failure reason") { r throws(SchedulerDecodingError) in
                try r.string("failure reason")
            },
            updatedAt: try timestamp("update time"), updatedIndex: try u64("update index"))
    }

    mutating func attempt() throws(SchedulerDecodingError) -> Attempt {
        Attempt(
            number: try u32("attempt number"), worker: WorkerID(try string("attempt worker")),
            assignedAt: try timestamp("assignment time"), leaseExpiresAt: try timestamp("lease expiry"),
            startedAt: try optional("start time") { r throws(SchedulerDecodingError) in try r.timestamp("start time") },
            endedAt: try optional("end time") { r throws(SchedulerDecodingError) in try r.timestamp("end time") },
            outcome: try optional("attempt outcome") { r throws(SchedulerDecodingError) in
                switch try r.u8("attempt outcome") {
                case 1: return .completed
                case 2:
                    return .failed(reason: try r.string("failure reason"), deterministic: try r.bool("deterministic"))
                case 3: return .expired(reason: try r.string("expiry reason"))
                case 4: return .abandoned(reason: try r.string("abandon reason"))
                case let tag: throw SchedulerDecodingError(reason: "unknown attempt outcome \(tag)")
                }
            })
    }
}
