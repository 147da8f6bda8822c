// The byte forms of commands and outcomes. Tags are part of the log format: a new case
// gets a new tag, and an existing tag never changes meaning.

extension SchedulerState {
    /// Applies a command as it arrives from the log. Bytes that do not decode are refused
    /// alike on every replica, and only the applied index moves.
    @discardableResult
    public mutating func apply(encoded bytes: [UInt8], index: UInt64) -> SchedulerOutcome {
        do {
            return apply(try SchedulerCommand(decoding: bytes), index: index)
        } catch {
            appliedIndex = index
            return .rejected(.invalidCommand(error.description))
        }
    }
}

extension SchedulerCommand {
    /// The bytes proposed to the Raft log.
    public var encoded: [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .submit(let submission):
            writer.u8(1)
            writer.string(submission.id.rawValue)
            writer.string(submission.circuit.rawValue)
            writer.data(submission.inputs)
            writer.optional(submission.idempotencyKey) { $0.string($1) }
            writer.u64(UInt64(bitPattern: submission.idempotencyWindowMilliseconds))
            writer.u32(submission.maxRetries)
            writer.optional(submission.deadline) { $0.timestamp($1) }
            writer.u32(submission.liveJobLimit)
            writer.timestamp(submission.at)
        case .cancel(let job, let reason, let at):
            writer.u8(2)
            writer.string(job.rawValue)
            writer.string(reason)
            writer.timestamp(at)
        case .assign(let job, let worker, let attempt, let lease, let at):
            writer.u8(3)
            writer.string(job.rawValue)
            writer.string(worker.rawValue)
            writer.u32(attempt)
            writer.timestamp(lease)
            writer.timestamp(at)
        case .start(let job, let worker, let attempt, let lease, let at):
            writer.u8(4)
            writer.string(job.rawValue)
            writer.string(worker.rawValue)
            writer.u32(attempt)
            writer.timestamp(lease)
            writer.timestamp(at)
        case .complete(let job, let worker, let attempt, let result, let at):
            writer.u8(5)
            writer.string(job.rawValue)
            writer.string(worker.rawValue)
            writer.u32(attempt)
            writer.result(result)
            writer.timestamp(at)
        case .fail(let job, let worker, let attempt, let reason, let deterministic, let at):
            writer.u8(6)
            writer.string(job.rawValue)
            writer.string(worker.rawValue)
            writer.u32(attempt)
            writer.string(reason)
            writer.bool(deterministic)
            writer.timestamp(at)
        case .expireAttempt(let job, let attempt, let at):
            writer.u8(7)
            writer.string(job.rawValue)
            writer.u32(attempt)
            writer.timestamp(at)
        case .expireDeadline(let job, let at):
            writer.u8(8)
            writer.string(job.rawValue)
            writer.timestamp(at)
        case .registerWorker(let registration):
            writer.u8(9)
            writer.string(registration.id.rawValue)
            writer.string(registration.address)
            writer.u32(registration.capacity)
            writer.array(registration.capabilities.sorted()) { $0.string($1) }
            writer.timestamp(registration.at)
        case .removeWorker(let worker, let reason, let at):
            writer.u8(10)
            writer.string(worker.rawValue)
            writer.string(reason)
            writer.timestamp(at)
        case .registerCircuit(let registration):
            writer.u8(11)
            writer.string(registration.id.rawValue)
            writer.string(registration.family)
            writer.data(registration.definition)
            writer.string(registration.setupJob.rawValue)
            writer.u32(registration.setupMaxRetries)
            writer.timestamp(registration.at)
        case .archive(let index, let at):
            writer.u8(12)
            writer.u64(index)
            writer.timestamp(at)
        case .batch(let commands):
            writer.u8(13)
            writer.u32(UInt32(commands.count))
            for command in commands { writer.data(command.encoded) }
        }
        return writer.bytes
    }

    /// Decodes a command from the log; throws, naming the field, on anything malformed.
    public init(decoding bytes: [UInt8]) throws(SchedulerDecodingError) {
        var reader = ByteReader(bytes)
        let tag = try reader.u8("command tag")
        switch tag {
        case 1:
            let id = JobID(try reader.string("job id"))
            let circuit = CircuitID(try reader.string("circuit id"))
            let inputs = try reader.data("inputs")
            let key = try reader.optional("idempotency key") { r throws(SchedulerDecodingError) in
                try r.string("idempotency key")
            }
            let window = Int64(bitPattern: try reader.u64("idempotency window"))
            let maxRetries = try reader.u32("max retries")
            let deadline = try reader.optional("deadline") { r throws(SchedulerDecodingError) in
                try r.timestamp("deadline")
            }
            let limit = try reader.u32("live job limit")
            let at = try reader.timestamp("at")
            self = .submit(
                JobSubmission(
                    id: id, circuit: circuit, inputs: inputs, idempotencyKey: key,
                    idempotencyWindowMilliseconds: window, maxRetries: maxRetries, deadline: deadline,
                    liveJobLimit: limit, at: at))
        case 2:
            self = .cancel(
                job: JobID(try reader.string("job id")), reason: try reader.string("reason"),
                at: try reader.timestamp("at"))
        case 3, 4:
            let job = JobID(try reader.string("job id"))
            let worker = WorkerID(try reader.string("worker id"))
            let attempt = try reader.u32("attempt")
            let lease = try reader.timestamp("lease expiry")
            let at = try reader.timestamp("at")
            self =
                tag == 3
                ? .assign(job: job, worker: worker, attempt: attempt, leaseExpiresAt: lease, at: at)
                : .start(job: job, worker: worker, attempt: attempt, leaseExpiresAt: lease, at: at)
        case 5:
            self = .complete(
                job: JobID(try reader.string("job id")), worker: WorkerID(try reader.string("worker id")),
                attempt: try reader.u32("attempt"), result: try reader.result(), at: try reader.timestamp("at"))
        case 6:
            self = .fail(
                job: JobID(try reader.string("job id")), worker: WorkerID(try reader.string("worker id")),
                attempt: try reader.u32("attempt"), reason: try reader.string("reason"),
                deterministic: try reader.bool("deterministic"), at: try reader.timestamp("at"))
        case 7:
            self = .expireAttempt(
                job: JobID(try reader.string("job id")), attempt: try reader.u32("attempt"),
                at: try reader.timestamp("at"))
        case 8:
            self = .expireDeadline(job: JobID(try reader.string("job id")), at: try reader.timestamp("at"))
        case 9:
            let id = WorkerID(try reader.string("worker id"))
            let address = try reader.string("address")
            let capacity = try reader.u32("capacity")
            let capabilities = try reader.array("capabilities") { r throws(SchedulerDecodingError) in
                try r.string("capability")
            }
            self = .registerWorker(
                WorkerRegistration(
                    id: id, address: address, capacity: capacity, capabilities: Set(capabilities),
                    at: try reader.timestamp("at")))
        case 10:
            self = .removeWorker(
                worker: WorkerID(try reader.string("worker id")), reason: try reader.string("reason"),
                at: try reader.timestamp("at"))
        case 11:
            self = .registerCircuit(
                CircuitRegistration(
                    id: CircuitID(try reader.string("circuit id")), family: try reader.string("family"),
                    definition: try reader.data("definition"), setupJob: JobID(try reader.string("setup job id")),
                    setupMaxRetries: try reader.u32("setup max retries"), at: try reader.timestamp("at")))
        case 12:
            self = .archive(upTo: try reader.u64("archive index"), at: try reader.timestamp("at"))
        case 13:
            let count = Int(try reader.u32("batch count"))
            var commands: [SchedulerCommand] = []
            for position in 0..<count {
                let bytes = try reader.data("batch command \(position)")
                guard bytes.first != 13 else { throw SchedulerDecodingError(reason: "a batch holds no batch") }
                commands.append(try SchedulerCommand(decoding: bytes))
            }
            self = .batch(commands)
        default:
            throw SchedulerDecodingError(reason: "unknown command tag \(tag)")
        }
        try reader.finish("command")
    }
}

extension ByteWriter {
    mutating func result(_ result: JobResult) {
        switch result {
        case .proof(let proof, let publicInputs):
            u8(1)
            data(proof)
            data(publicInputs)
        case .keys(let provingKey, let verificationKey):
            u8(2)
            digest(provingKey)
            digest(verificationKey)
        }
    }
}

extension ByteReader {
    mutating func result() throws(SchedulerDecodingError) -> JobResult {
        switch try u8("result tag") {
        case 1: return .proof(proof: try data("proof"), publicInputs: try data("public inputs"))
        case 2: return .keys(provingKey: try digest("proving key"), verificationKey: try digest("verification key"))
        case let tag: throw SchedulerDecodingError(reason: "unknown result tag \(tag)")
        }
    }

    mutating func status(_ field: String) throws(SchedulerDecodingError) -> JobStatus {
        let raw = try string(field)
        guard let status = JobStatus(rawValue: raw) else {
            throw SchedulerDecodingError(reason: "\(field) \"\(raw)\" is not a job status")
        }
        return status
    }
}

extension SchedulerOutcome {
    /// The bytes returned to the proposer through the Raft node.
    public var encoded: [UInt8] {
        var writer = ByteWriter()
        switch self {
        case .applied:
            writer.u8(1)
        case .submitted(let job):
            writer.u8(2)
            writer.string(job.rawValue)
        case .duplicate(let job):
            writer.u8(3)
            writer.string(job.rawValue)
        case .rejected(let rejection):
            writer.u8(4)
            writer.rejection(rejection)
        case .batch(let outcomes):
            writer.u8(5)
            writer.u32(UInt32(outcomes.count))
            for outcome in outcomes { writer.data(outcome.encoded) }
        }
        return writer.bytes
    }

    public init(decoding bytes: [UInt8]) throws(SchedulerDecodingError) {
        var reader = ByteReader(bytes)
        switch try reader.u8("outcome tag") {
        case 1: self = .applied
        case 2: self = .submitted(JobID(try reader.string("job id")))
        case 3: self = .duplicate(JobID(try reader.string("job id")))
        case 4: self = .rejected(try reader.rejection())
        case 5:
            let count = Int(try reader.u32("batch count"))
            var outcomes: [SchedulerOutcome] = []
            for position in 0..<count {
                let bytes = try reader.data("batch outcome \(position)")
                guard bytes.first != 5 else { throw SchedulerDecodingError(reason: "a batch holds no batch") }
                outcomes.append(try SchedulerOutcome(decoding: bytes))
            }
            self = .batch(outcomes)
        case let tag: throw SchedulerDecodingError(reason: "unknown outcome tag \(tag)")
        }
        try reader.finish("outcome")
    }
}

extension ByteWriter {
    mutating func rejection(_ rejection: SchedulerRejection) {
        switch rejection {
        case .unknownJob(let job):
            u8(1)
            string(job.rawValue)
        case .unknownWorker(let worker):
            u8(2)
            string(worker.rawValue)
        case .unknownCircuit(let circuit):
            u8(3)
            string(circuit.rawValue)
        case .jobExists(let job):
            u8(4)
            string(job.rawValue)
        case .circuitExists(let circuit):
            u8(5)
            string(circuit.rawValue)
        case .liveJobLimitReached(let limit):
            u8(6)
            u32(limit)
        case .invalidTransition(let job, let status, let command):
            u8(7)
            string(job.rawValue)
            string(status.rawValue)
            string(command)
        case .staleAttempt(let job, let reported, let current):
            u8(8)
            string(job.rawValue)
            u32(reported)
            optional(current) { $0.u32($1) }
        case .notOwner(let job, let worker, let owner):
            u8(9)
            string(job.rawValue)
            string(worker.rawValue)
            optional(owner) { $0.string($1.rawValue) }
        case .workerAtCapacity(let worker, let capacity):
            u8(10)
            string(worker.rawValue)
            u32(capacity)
        case .workerLacksCapability(let worker, let family):
            u8(11)
            string(worker.rawValue)
            string(family)
        case .circuitNotReady(let circuit, let reason):
            u8(12)
            string(circuit.rawValue)
            string(reason)
        case .invalidCommand(let reason):
            u8(13)
            string(reason)
        }
    }
}

extension ByteReader {
    mutating func rejection() throws(SchedulerDecodingError) -> SchedulerRejection {
        switch try u8("rejection tag") {
        case 1: return .unknownJob(JobID(try string("job id")))
        case 2: return .unknownWorker(WorkerID(try string("worker id")))
        case 3: return .unknownCircuit(CircuitID(try string("circuit id")))
        case 4: return .jobExists(JobID(try string("job id")))
        case 5: return .circuitExists(CircuitID(try string("circuit id")))
        case 6: return .liveJobLimitReached(limit: try u32("limit"))
        case 7:
            return .invalidTransition(
                job: JobID(try string("job id")), status: try status("status"), command: try string("command"))
        case 8:
            return .staleAttempt(
                job: JobID(try string("job id")), reported: try u32("reported attempt"),
                current: try optional("current attempt") { r throws(SchedulerDecodingError) in
                    try r.u32("current attempt")
                })
        case 9:
            return .notOwner(
                job: JobID(try string("job id")), worker: WorkerID(try string("worker id")),
                owner: try optional("owner") { r throws(SchedulerDecodingError) in WorkerID(try r.string("owner")) })
        case 10: return .workerAtCapacity(WorkerID(try string("worker id")), capacity: try u32("capacity"))
        case 11: return .workerLacksCapability(WorkerID(try string("worker id")), family: try string("family"))
        case 12: return .circuitNotReady(CircuitID(try string("circuit id")), reason: try string("reason"))
        case 13: return .invalidCommand(try string("reason"))
        case let tag: throw SchedulerDecodingError(reason: "unknown rejection tag \(tag)")
        }
    }
}
