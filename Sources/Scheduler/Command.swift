/// A client's request for a proof, as the leader proposes it: the id, the instant and the
/// limits in force are all chosen by the leader and written here, so every replica
/// applies exactly the same decision.
public struct JobSubmission: Equatable, Sendable {
    public var id: JobID
    public var circuit: CircuitID
    public var inputs: [UInt8]
    public var idempotencyKey: String?
    /// How long a later submission with the same key returns this job instead.
    public var idempotencyWindowMilliseconds: Int64
    public var maxRetries: UInt32
    public var deadline: Timestamp?
    /// The most live (unarchived) jobs the state may hold; past it the submission is refused.
    public var liveJobLimit: UInt32
    public var at: Timestamp

    public init(
        id: JobID, circuit: CircuitID, inputs: [UInt8], idempotencyKey: String? = nil,
        idempotencyWindowMilliseconds: Int64 = 300_000, maxRetries: UInt32 = 3, deadline: Timestamp? = nil,
        liveJobLimit: UInt32 = 100_000, at: Timestamp
    ) {
        self.id = id
        self.circuit = circuit
        self.inputs = inputs
        self.idempotencyKey = idempotencyKey
        self.idempotencyWindowMilliseconds = idempotencyWindowMilliseconds
        self.maxRetries = maxRetries
        self.deadline = deadline
        self.liveJobLimit = liveJobLimit
        self.at = at
    }
}

/// A worker joining (or re-joining, with new figures) the registry.
public struct WorkerRegistration: Equatable, Sendable {
    public var id: WorkerID
    public var address: String
    public var capacity: UInt32
    public var capabilities: Set<String>
    public var at: Timestamp

    public init(id: WorkerID, address: String, capacity: UInt32, capabilities: Set<String>, at: Timestamp) {
        self.id = id
        self.address = address
        self.capacity = capacity
        self.capabilities = capabilities
        self.at = at
    }
}

/// A new circuit and the id of the setup job that will make its keys.
public struct CircuitRegistration: Equatable, Sendable {
    public var id: CircuitID
    public var family: String
    public var definition: [UInt8]
    public var setupJob: JobID
    public var setupMaxRetries: UInt32
    public var at: Timestamp

    public init(
        id: CircuitID, family: String, definition: [UInt8], setupJob: JobID, setupMaxRetries: UInt32 = 3,
        at: Timestamp
    ) {
        self.id = id
        self.family = family
        self.definition = definition
        self.setupJob = setupJob
        self.setupMaxRetries = setupMaxRetries
        self.at = at
    }
}

/// A change to the replicated scheduling state. Every change goes through the Raft log
/// as one of these, and `SchedulerState.apply` is the only code that changes the state.
public enum SchedulerCommand: Equatable, Sendable {
    case submit(JobSubmission)
    case cancel(job: JobID, reason: String, at: Timestamp)
    /// The leader hands the pending job to a worker as attempt `attempt`, which must start
    /// before `leaseExpiresAt`.
    case assign(job: JobID, worker: WorkerID, attempt: UInt32, leaseExpiresAt: Timestamp, at: Timestamp)
    /// The worker began the attempt; it must finish before `leaseExpiresAt`.
    case start(job: JobID, worker: WorkerID, attempt: UInt32, leaseExpiresAt: Timestamp, at: Timestamp)
    /// The attempt's result, already verified by the leader.
    case complete(job: JobID, worker: WorkerID, attempt: UInt32, result: JobResult, at: Timestamp)
    case fail(job: JobID, worker: WorkerID, attempt: UInt32, reason: String, deterministic: Bool, at: Timestamp)
    /// The attempt's lease ran out.
    case expireAttempt(job: JobID, attempt: UInt32, at: Timestamp)
    /// The job's own deadline passed before it completed.
    case expireDeadline(job: JobID, at: Timestamp)
    case registerWorker(WorkerRegistration)
    /// The worker left (drained) or was declared lost; its running attempts expire.
    case removeWorker(worker: WorkerID, reason: String, at: Timestamp)
    case registerCircuit(CircuitRegistration)
    /// Terminal jobs changed at or before `index` are in the SQL projection: drop them.
    case archive(upTo: UInt64, at: Timestamp)
    /// Several commands in one log entry, applied in order, each on its own: a refused one
    /// changes nothing and the rest still apply. The outcome is `.batch` with one outcome
    /// each. A batch holds no batch.
    case batch([SchedulerCommand])

    /// The command's name in logs and rejections.
    public var name: String {
        switch self {
        case .submit: "submit"
        case .cancel: "cancel"
        case .assign: "assign"
        case .start: "start"
        case .complete: "complete"
        case .fail: "fail"
        case .expireAttempt: "expire-attempt"
        case .expireDeadline: "expire-deadline"
        case .registerWorker: "register-worker"
        case .removeWorker: "remove-worker"
        case .registerCircuit: "register-circuit"
        case .archive: "archive"
        case .batch: "batch"
        }
    }

    /// The instant the leader wrote into the command.
    public var at: Timestamp {
        switch self {
        case .batch(let commands): commands.map(\.at).max() ?? Timestamp(milliseconds: 0)
        case .submit(let submission): submission.at
        case .registerWorker(let registration): registration.at
        case .registerCircuit(let registration): registration.at
        case .cancel(_, _, let at), .assign(_, _, _, _, let at), .start(_, _, _, _, let at),
            .complete(_, _, _, _, let at), .fail(_, _, _, _, _, let at), .expireAttempt(_, _, let at),
            .expireDeadline(_, let at), .removeWorker(_, _, let at), .archive(_, let at):
            at
        }
    }
}

/// Why the state machine refused a command. Every replica refuses the same commands, and
/// a refused command changes nothing.
public enum SchedulerRejection: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownJob(JobID)
    case unknownWorker(WorkerID)
    case unknownCircuit(CircuitID)
    case jobExists(JobID)
    case circuitExists(CircuitID)
    case liveJobLimitReached(limit: UInt32)
    /// The job is not in a status the command applies to.
    case invalidTransition(job: JobID, status: JobStatus, command: String)
    /// A report or expiry for an attempt that is not the job's current one.
    case staleAttempt(job: JobID, reported: UInt32, current: UInt32?)
    /// A report from a worker that does not hold the job.
    case notOwner(job: JobID, worker: WorkerID, owner: WorkerID?)
    case workerAtCapacity(WorkerID, capacity: UInt32)
    case workerLacksCapability(WorkerID, family: String)
    case circuitNotReady(CircuitID, reason: String)
    /// The command contradicts itself or the job (a wrong attempt number for an
    /// assignment, a result of the wrong kind, a zero capacity).
    case invalidCommand(String)

    public var description: String {
        switch self {
        case .unknownJob(let job): "no job \(job)"
        case .unknownWorker(let worker): "no registered worker \(worker)"
        case .unknownCircuit(let circuit): "no circuit \(circuit)"
        case .jobExists(let job): "job \(job) already exists"
        case .circuitExists(let circuit): "circuit \(circuit) is already registered"
        case .liveJobLimitReached(let limit):
            "the cluster holds its limit of \(limit) unarchived jobs; retry when the projection has caught up"
        case .invalidTransition(let job, let status, let command): "job \(job) is \(status.rawValue); cannot \(command)"
        case .staleAttempt(let job, let reported, let current):
            "attempt \(reported) of job \(job) is not current (current: \(current.map(String.init) ?? "none"))"
        case .notOwner(let job, let worker, let owner):
            "worker \(worker) does not hold job \(job) (holder: \(owner?.rawValue ?? "none"))"
        case .workerAtCapacity(let worker, let capacity): "worker \(worker) already runs its \(capacity) jobs"
        case .workerLacksCapability(let worker, let family): "worker \(worker) cannot run \(family) circuits"
        case .circuitNotReady(let circuit, let reason): "circuit \(circuit) cannot be proved: \(reason)"
        case .invalidCommand(let reason): "invalid command: \(reason)"
        }
    }
}

/// What applying a command did, returned to the proposer.
public enum SchedulerOutcome: Equatable, Sendable {
    case applied
    /// A submission created this job.
    case submitted(JobID)
    /// A submission matched a live idempotency key: this existing job answers it.
    case duplicate(JobID)
    case rejected(SchedulerRejection)
    /// A batch's outcomes, one per command, in order.
    case batch([SchedulerOutcome])
}
