/// Where a job is in its life. The raw values are the status strings of the HTTP API
/// and the SQL projection (the original's five, plus `cancelled`).
public enum JobStatus: String, CaseIterable, Sendable {
    case pending
    case assigned
    case inProgress = "in_progress"
    case completed
    case failed
    case cancelled

    /// Completed, failed and cancelled jobs never change again.
    public var isTerminal: Bool {
        switch self {
        case .completed, .failed, .cancelled: true
        case .pending, .assigned, .inProgress: false
        }
    }
}

/// What a job asks a worker to do.
public enum JobKind: UInt8, Sendable {
    /// Prove the job's inputs under its circuit's proving key.
    case prove = 0
    /// Run the one setup of a newly registered circuit, producing its keys.
    case setup = 1
}

/// What a finished job produced.
public enum JobResult: Equatable, Sendable {
    /// A proof that the leader verified under the circuit's verification key, and the
    /// public inputs it proves (both in the encodings the worker protocol defines).
    case proof(proof: [UInt8], publicInputs: [UInt8])
    /// A setup's keys, stored in the artifact store under these digests.
    case keys(provingKey: ArtifactDigest, verificationKey: ArtifactDigest)
}

/// How one attempt ended.
public enum AttemptOutcome: Equatable, Sendable {
    case completed
    /// The worker reported a failure; `deterministic` failures (bad input) are not retried.
    case failed(reason: String, deterministic: Bool)
    /// The lease ran out, or the worker was declared lost, before a report arrived.
    case expired(reason: String)
    /// The job was cancelled or passed its deadline while this attempt ran.
    case abandoned(reason: String)
}

/// One try at a job by one worker. Attempts are numbered from 1; a report names its
/// attempt, and only the current one is accepted, which fences off late and forged reports.
public struct Attempt: Equatable, Sendable {
    public let number: UInt32
    public let worker: WorkerID
    public let assignedAt: Timestamp
    /// When the attempt expires unless it has ended: first the deadline to start, then,
    /// once started, the deadline to finish.
    public internal(set) var leaseExpiresAt: Timestamp
    public internal(set) var startedAt: Timestamp?
    public internal(set) var endedAt: Timestamp?
    public internal(set) var outcome: AttemptOutcome?

    /// An attempt as a store read it back.
    public init(
        number: UInt32, worker: WorkerID, assignedAt: Timestamp, leaseExpiresAt: Timestamp, startedAt: Timestamp?,
        endedAt: Timestamp?, outcome: AttemptOutcome?
    ) {
        self.number = number
        self.worker = worker
        self.assignedAt = assignedAt
        self.leaseExpiresAt = leaseExpiresAt
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.outcome = outcome
    }
}

/// A job as the replicated state holds it.
public struct Job: Equatable, Sendable {
    public let id: JobID
    public let kind: JobKind
    public let circuit: CircuitID
    /// The job's inputs, opaque to the scheduler (JSON in the worker protocol).
    public let inputs: [UInt8]
    /// The client's idempotency key, if it gave one.
    public let idempotencyKey: String?
    /// How many times the job may be retried after its first attempt fails or expires.
    public let maxRetries: UInt32
    /// When the job fails if it has not completed.
    public let deadline: Timestamp?
    public let submittedAt: Timestamp
    /// The log index of the submission; pending jobs are served in this order.
    public let submittedIndex: UInt64
    public internal(set) var status: JobStatus
    public internal(set) var attempts: [Attempt]
    public internal(set) var result: JobResult?
    /// Why a failed or cancelled job ended, naming each attempt's reason.
    public internal(set) var failureReason: String?
    public internal(set) var updatedAt: Timestamp
    /// The log index of the job's last change; the SQL projection keeps a row only if
    /// its stored index is older, so replays and late writes are harmless.
    public internal(set) var updatedIndex: UInt64

    /// A job as a store read it back (archived jobs live only in the SQL projection).
    public init(
        id: JobID, kind: JobKind, circuit: CircuitID, inputs: [UInt8], idempotencyKey: String?, maxRetries: UInt32,
        deadline: Timestamp?, submittedAt: Timestamp, submittedIndex: UInt64, status: JobStatus, attempts: [Attempt],
        result: JobResult?, failureReason: String?, updatedAt: Timestamp, updatedIndex: UInt64
    ) {
        self.id = id
        self.kind = kind
        self.circuit = circuit
        self.inputs = inputs
        self.idempotencyKey = idempotencyKey
        self.maxRetries = maxRetries
        self.deadline = deadline
        self.submittedAt = submittedAt
        self.submittedIndex = submittedIndex
        self.status = status
        self.attempts = attempts
        self.result = result
        self.failureReason = failureReason
        self.updatedAt = updatedAt
        self.updatedIndex = updatedIndex
    }

    /// The attempt now running (assigned or in progress), if any.
    public var currentAttempt: Attempt? {
        guard status == .assigned || status == .inProgress else { return nil }
        return attempts.last
    }

    /// The worker running the job now, if any.
    public var worker: WorkerID? { currentAttempt?.worker }
}

/// A worker in the replicated registry. Whether it is alive is the leader's soft state
/// (`WorkerLiveness`), not part of the log.
public struct WorkerRecord: Equatable, Sendable {
    public let id: WorkerID
    /// Where the worker can be reached, as it reported it (for operators; workers dial out).
    public internal(set) var address: String
    /// How many jobs it runs at once (`max_concurrent_tasks`).
    public internal(set) var capacity: UInt32
    /// The circuit families it can run (`merkle`, `circom`, ...).
    public internal(set) var capabilities: Set<String>
    public internal(set) var registeredAt: Timestamp
    /// Jobs assigned to it or in progress on it.
    public internal(set) var activeJobs: UInt32

    public init(
        id: WorkerID, address: String, capacity: UInt32, capabilities: Set<String>, registeredAt: Timestamp,
        activeJobs: UInt32
    ) {
        self.id = id
        self.address = address
        self.capacity = capacity
        self.capabilities = capabilities
        self.registeredAt = registeredAt
        self.activeJobs = activeJobs
    }

    public var freeSlots: UInt32 { capacity > activeJobs ? capacity - activeJobs : 0 }
}

/// Whether a circuit can be proved yet.
public enum CircuitStatus: Equatable, Sendable {
    /// Its setup job has not finished.
    case awaitingSetup(job: JobID)
    /// Its keys are in the artifact store.
    case ready(provingKey: ArtifactDigest, verificationKey: ArtifactDigest)
    /// Its setup failed; jobs for it fail with this reason.
    case setupFailed(reason: String)
}

/// A circuit registered with the cluster.
public struct CircuitRecord: Equatable, Sendable {
    public let id: CircuitID
    /// The capability a worker needs to run its jobs (its family: `merkle`, `circom`).
    public let family: String
    /// What defines it, opaque to the scheduler: the built-in circuit's parameters, or
    /// the digest of an uploaded `.r1cs` in the artifact store (a JSON document).
    public let definition: [UInt8]
    public let registeredAt: Timestamp
    public internal(set) var status: CircuitStatus
    public internal(set) var updatedIndex: UInt64

    public init(
        id: CircuitID, family: String, definition: [UInt8], registeredAt: Timestamp, status: CircuitStatus,
        updatedIndex: UInt64
    ) {
        self.id = id
        self.family = family
        self.definition = definition
        self.registeredAt = registeredAt
        self.status = status
        self.updatedIndex = updatedIndex
    }
}
