/// The replicated scheduling state: jobs, workers and circuits, changed only by applying
/// committed commands in log order.
///
/// `apply` is deterministic: it reads nothing but the state and the command (no clock,
/// no randomness, no iteration over hashed collections where order matters), so every
/// replica that applies the same log holds the same state and encodes the same snapshot.
public struct SchedulerState: Sendable {
    public internal(set) var jobs: [JobID: Job] = [:]
    public internal(set) var workers: [WorkerID: WorkerRecord] = [:]
    public internal(set) var circuits: [CircuitID: CircuitRecord] = [:]
    /// The index of the last command applied.
    public internal(set) var appliedIndex: UInt64 = 0
    /// Terminal jobs changed at or before this index have left memory for the projection.
    public internal(set) var archivedThrough: UInt64 = 0
    /// The latest instant any applied command carried. A new leader's clock may lag its
    /// predecessor's; instants that matter for expiry never go backwards because of it.
    public internal(set) var clock = Timestamp(milliseconds: 0)
    /// Jobs assigned or in progress.
    public internal(set) var runningJobs: Set<JobID> = []
    /// Unfinished jobs that carry a deadline.
    public internal(set) var jobsWithDeadline: Set<JobID> = []

    var idempotency: [String: IdempotencyEntry] = [:]
    var idempotencyExpiries = ExpiryQueue()
    /// Pending jobs and the index at which each (re-)entered the queue.
    var pendingSince: [JobID: UInt64] = [:]
    var pendingQueue = IndexQueue()
    /// Terminal jobs in the order they ended, for `archive(upTo:)`.
    var terminalQueue = IndexQueue()

    public init() {}

    struct IdempotencyEntry: Equatable, Sendable {
        var job: JobID
        var expiresAt: Timestamp
    }

    /// Pending jobs in the order they are served: by when they (re-)entered the queue,
    /// then by id.
    public var pendingJobs: some Sequence<Job> {
        pendingQueue.entries.lazy.compactMap { entry in
            self.pendingSince[entry.job] == entry.index ? self.jobs[entry.job] : nil
        }
    }

    public var pendingCount: Int { pendingSince.count }

    /// The log index at which the oldest terminal job still in memory ended, if any: an
    /// `archive(upTo:)` at or past it would free memory.
    public var oldestTerminalIndex: UInt64? { terminalQueue.first?.index }

    /// The job an idempotency key answers for at `now`, if it is still live.
    public func job(forIdempotencyKey key: String, at now: Timestamp) -> JobID? {
        guard let entry = idempotency[key], entry.expiresAt > max(now, clock) else { return nil }
        return entry.job
    }

    // MARK: Applying commands

    /// Applies one committed command at log index `index`. A rejected command changes
    /// nothing but the applied index.
    @discardableResult
    public mutating func apply(_ command: SchedulerCommand, index: UInt64) -> SchedulerOutcome {
        if case .batch(let commands) = command {
            appliedIndex = index
            return .batch(
                commands.map { inner in
                    if case .batch = inner { return .rejected(.invalidCommand("a batch holds no batch")) }
                    return apply(inner, index: index)
                })
        }
        appliedIndex = index
        clock = max(clock, command.at)
        do throws(SchedulerRejection) {
            switch command {
            case .submit(let submission):
                return try submit(submission, index: index)
            case .cancel(let job, let reason, let at):
                try cancel(job, reason: reason, at: at, index: index)
            case .assign(let job, let worker, let attempt, let lease, let at):
                try assign(job, to: worker, attempt: attempt, leaseExpiresAt: lease, at: at, index: index)
            case .start(let job, let worker, let attempt, let lease, let at):
                try start(job, worker: worker, attempt: attempt, leaseExpiresAt: lease, at: at, index: index)
            case .complete(let job, let worker, let attempt, let result, let at):
                return try complete(job, worker: worker, attempt: attempt, result: result, at: at, index: index)
            case .fail(let job, let worker, let attempt, let reason, let deterministic, let at):
                try fail(
                    job, worker: worker, attempt: attempt, reason: reason, deterministic: deterministic, at: at,
                    index: index)
            case .expireAttempt(let job, let attempt, let at):
                try expireAttempt(job, attempt: attempt, at: at, index: index)
            case .expireDeadline(let job, let at):
                try expireDeadline(job, at: at, index: index)
            case .registerWorker(let registration):
                try registerWorker(registration)
            case .removeWorker(let worker, let reason, let at):
                try removeWorker(worker, reason: reason, at: at, index: index)
            case .registerCircuit(let registration):
                try registerCircuit(registration, index: index)
            case .archive(let upTo, _):
                archive(upTo: min(upTo, index))
            case .batch:
                // Applied above; only a batch nested in a batch could come here.
                throw .invalidCommand("a batch holds no batch")
            }
            return .applied
        } catch {
            return .rejected(error)
        }
    }

    private mutating func submit(_ submission: JobSubmission, index: UInt64) throws(SchedulerRejection)
        -> SchedulerOutcome
    {
        pruneIdempotency()
        if let key = submission.idempotencyKey, let existing = job(forIdempotencyKey: key, at: clock) {
            return .duplicate(existing)
        }
        guard jobs[submission.id] == nil else { throw .jobExists(submission.id) }
        guard let circuit = circuits[submission.circuit] else { throw .unknownCircuit(submission.circuit) }
        if case .setupFailed(let reason) = circuit.status {
            throw .circuitNotReady(circuit.id, reason: "its setup failed: \(reason)")
        }
        guard jobs.count < Int(submission.liveJobLimit) else {
            throw .liveJobLimitReached(limit: submission.liveJobLimit)
        }
        insert(
            Job(
                id: submission.id, kind: .prove, circuit: submission.circuit, inputs: submission.inputs,
                idempotencyKey: submission.idempotencyKey, maxRetries: submission.maxRetries,
                deadline: submission.deadline, submittedAt: submission.at, submittedIndex: index, status: .pending,
                attempts: [], result: nil, failureReason: nil, updatedAt: submission.at, updatedIndex: index))
        if let key = submission.idempotencyKey, submission.idempotencyWindowMilliseconds > 0 {
            let expiresAt = clock.adding(milliseconds: submission.idempotencyWindowMilliseconds)
            idempotency[key] = IdempotencyEntry(job: submission.id, expiresAt: expiresAt)
            idempotencyExpiries.append((expiresAt, key))
        }
        return .submitted(submission.id)
    }

    private mutating func cancel(_ id: JobID, reason: String, at: Timestamp, index: UInt64)
        throws(SchedulerRejection)
    {
        let job = try existing(id)
        guard !job.status.isTerminal else { throw .invalidTransition(job: id, status: job.status, command: "cancel") }
        endCurrentAttempt(of: id, outcome: .abandoned(reason: "cancelled: \(reason)"), at: at)
        finish(id, status: .cancelled, failureReason: reason, at: at, index: index)
    }

    private mutating func assign(
        _ id: JobID, to workerID: WorkerID, attempt: UInt32, leaseExpiresAt: Timestamp, at: Timestamp, index: UInt64
    ) throws(SchedulerRejection) {
        let job = try existing(id)
        guard job.status == .pending else { throw .invalidTransition(job: id, status: job.status, command: "assign") }
        let expected = UInt32(job.attempts.count + 1)
        guard attempt == expected else {
            throw .invalidCommand("attempt \(attempt) of job \(id) should be numbered \(expected)")
        }
        guard let worker = workers[workerID] else { throw .unknownWorker(workerID) }
        guard let circuit = circuits[job.circuit] else { throw .unknownCircuit(job.circuit) }
        switch (job.kind, circuit.status) {
        case (.prove, .ready), (.setup, .awaitingSetup): break
        case (.prove, .awaitingSetup): throw .circuitNotReady(circuit.id, reason: "its setup has not finished")
        case (.prove, .setupFailed(let reason)), (.setup, .setupFailed(let reason)):
            throw .circuitNotReady(circuit.id, reason: "its setup failed: \(reason)")
        case (.setup, .ready): throw .invalidCommand("circuit \(circuit.id) already has its keys")
        }
        guard worker.capabilities.contains(circuit.family) else {
            throw .workerLacksCapability(workerID, family: circuit.family)
        }
        guard worker.freeSlots > 0 else { throw .workerAtCapacity(workerID, capacity: worker.capacity) }

        pendingSince[id] = nil
        runningJobs.insert(id)
        workers[workerID]!.activeJobs += 1
        update(id, at: at, index: index) { job in
            job.status = .assigned
            job.attempts.append(
                Attempt(
                    number: attempt, worker: workerID, assignedAt: at, leaseExpiresAt: leaseExpiresAt,
                    startedAt: nil, endedAt: nil, outcome: nil))
        }
    }

    private mutating func start(
        _ id: JobID, worker: WorkerID, attempt: UInt32, leaseExpiresAt: Timestamp, at: Timestamp, index: UInt64
    ) throws(SchedulerRejection) {
        let current = try currentAttempt(of: id, worker: worker, attempt: attempt, command: "start")
        // A repeated start (the worker retried after a lost answer) changes nothing.
        guard current.startedAt == nil else { return }
        update(id, at: at, index: index) { job in
            job.status = .inProgress
            job.attempts[job.attempts.count - 1].startedAt = at
            job.attempts[job.attempts.count - 1].leaseExpiresAt = leaseExpiresAt
        }
    }

    private mutating func complete(
        _ id: JobID, worker: WorkerID, attempt: UInt32, result: JobResult, at: Timestamp, index: UInt64
    ) throws(SchedulerRejection) -> SchedulerOutcome {
        // The same report again (the worker retried after a lost answer) is acknowledged
        // without a change; it is how a result is delivered exactly once.
        if isRepeatedCompletion(of: id, worker: worker, attempt: attempt) { return .duplicate(id) }
        _ = try currentAttempt(of: id, worker: worker, attempt: attempt, command: "complete")
        let job = jobs[id]!
        switch (job.kind, result) {
        case (.prove, .proof), (.setup, .keys): break
        case (.prove, .keys): throw .invalidCommand("job \(id) is a proof job but the result holds keys")
        case (.setup, .proof): throw .invalidCommand("job \(id) is a setup job but the result holds a proof")
        }
        endCurrentAttempt(of: id, outcome: .completed, at: at)
        jobs[id]!.result = result
        finish(id, status: .completed, failureReason: nil, at: at, index: index)
        if job.kind == .setup, case .keys(let provingKey, let verificationKey) = result {
            circuits[job.circuit]!.status = .ready(provingKey: provingKey, verificationKey: verificationKey)
            circuits[job.circuit]!.updatedIndex = index
        }
        return .applied
    }

    private mutating func fail(
        _ id: JobID, worker: WorkerID, attempt: UInt32, reason: String, deterministic: Bool, at: Timestamp,
        index: UInt64
    ) throws(SchedulerRejection) {
        _ = try currentAttempt(of: id, worker: worker, attempt: attempt, command: "fail")
        endCurrentAttempt(of: id, outcome: .failed(reason: reason, deterministic: deterministic), at: at)
        retryOrFail(id, retryable: !deterministic, at: at, index: index)
    }

    private mutating func expireAttempt(_ id: JobID, attempt: UInt32, at: Timestamp, index: UInt64)
        throws(SchedulerRejection)
    {
        let job = try existing(id)
        guard let current = job.currentAttempt, current.number == attempt else {
            throw .staleAttempt(job: id, reported: attempt, current: job.currentAttempt?.number)
        }
        guard at >= current.leaseExpiresAt else {
            throw .invalidCommand("the lease of attempt \(attempt) of job \(id) runs until \(current.leaseExpiresAt)")
        }
        let reason =
            current.startedAt == nil
            ? "not started by \(current.leaseExpiresAt.milliseconds) (lease expired)"
            : "not finished by \(current.leaseExpiresAt.milliseconds) (lease expired)"
        endCurrentAttempt(of: id, outcome: .expired(reason: reason), at: at)
        retryOrFail(id, retryable: true, at: at, index: index)
    }

    private mutating func expireDeadline(_ id: JobID, at: Timestamp, index: UInt64) throws(SchedulerRejection) {
        let job = try existing(id)
        guard !job.status.isTerminal else {
            throw .invalidTransition(job: id, status: job.status, command: "expire its deadline")
        }
        guard let deadline = job.deadline, at >= deadline else {
            throw .invalidCommand("job \(id) has no deadline before \(at.milliseconds)")
        }
        let reason = "deadline \(deadline.milliseconds) passed"
        endCurrentAttempt(of: id, outcome: .abandoned(reason: reason), at: at)
        finish(id, status: .failed, failureReason: failureSummary(of: id, ending: reason), at: at, index: index)
    }

    private mutating func registerWorker(_ registration: WorkerRegistration) throws(SchedulerRejection) {
        guard registration.capacity > 0 else {
            throw .invalidCommand("worker \(registration.id) registered with capacity 0")
        }
        if var worker = workers[registration.id] {
            worker.address = registration.address
            worker.capacity = registration.capacity
            worker.capabilities = registration.capabilities
            worker.registeredAt = registration.at
            workers[registration.id] = worker
        } else {
            workers[registration.id] = WorkerRecord(
                id: registration.id, address: registration.address, capacity: registration.capacity,
                capabilities: registration.capabilities, registeredAt: registration.at, activeJobs: 0)
        }
    }

    private mutating func removeWorker(_ id: WorkerID, reason: String, at: Timestamp, index: UInt64)
        throws(SchedulerRejection)
    {
        guard workers[id] != nil else { throw .unknownWorker(id) }
        // Sorted, so that requeued jobs enter the queue in the same order on every replica.
        for jobID in runningJobs.filter({ jobs[$0]?.worker == id }).sorted() {
            endCurrentAttempt(of: jobID, outcome: .expired(reason: "worker \(id) removed: \(reason)"), at: at)
            retryOrFail(jobID, retryable: true, at: at, index: index)
        }
        workers[id] = nil
    }

    private mutating func registerCircuit(_ registration: CircuitRegistration, index: UInt64)
        throws(SchedulerRejection)
    {
        guard circuits[registration.id] == nil else { throw .circuitExists(registration.id) }
        guard jobs[registration.setupJob] == nil else { throw .jobExists(registration.setupJob) }
        guard !registration.family.isEmpty else {
            throw .invalidCommand("circuit \(registration.id) has no family")
        }
        circuits[registration.id] = CircuitRecord(
            id: registration.id, family: registration.family, definition: registration.definition,
            registeredAt: registration.at, status: .awaitingSetup(job: registration.setupJob), updatedIndex: index)
        insert(
            Job(
                id: registration.setupJob, kind: .setup, circuit: registration.id, inputs: registration.definition,
                idempotencyKey: nil, maxRetries: registration.setupMaxRetries, deadline: nil,
                submittedAt: registration.at, submittedIndex: index, status: .pending, attempts: [], result: nil,
                failureReason: nil, updatedAt: registration.at, updatedIndex: index))
    }

    private mutating func archive(upTo index: UInt64) {
        while let entry = terminalQueue.first, entry.index <= index {
            terminalQueue.removeFirst()
            if let job = jobs[entry.job], job.status.isTerminal, job.updatedIndex == entry.index {
                jobs[entry.job] = nil
            }
        }
        archivedThrough = max(archivedThrough, index)
    }

    // MARK: Transitions shared by several commands

    private func existing(_ id: JobID) throws(SchedulerRejection) -> Job {
        guard let job = jobs[id] else { throw .unknownJob(id) }
        return job
    }

    /// Whether this attempt by this worker already completed the job.
    public func isRepeatedCompletion(of id: JobID, worker: WorkerID, attempt: UInt32) -> Bool {
        guard let job = jobs[id], job.status == .completed, let last = job.attempts.last else { return false }
        return last.number == attempt && last.worker == worker
    }

    /// The attempt a worker's report names, if it is the job's current attempt and the
    /// worker holds it; the fence against late and forged reports. Callers may check a
    /// report before proposing it (to skip costly work for a refused one); `apply` checks
    /// again.
    public func currentAttempt(of id: JobID, worker: WorkerID, attempt: UInt32, command: String)
        throws(SchedulerRejection) -> Attempt
    {
        let job = try existing(id)
        guard let current = job.currentAttempt else {
            if job.attempts.contains(where: { $0.number == attempt }) {
                throw .staleAttempt(job: id, reported: attempt, current: nil)
            }
            throw .invalidTransition(job: id, status: job.status, command: command)
        }
        guard current.number == attempt else {
            throw .staleAttempt(job: id, reported: attempt, current: current.number)
        }
        guard current.worker == worker else { throw .notOwner(job: id, worker: worker, owner: current.worker) }
        return current
    }

    private mutating func insert(_ job: Job) {
        jobs[job.id] = job
        if job.deadline != nil { jobsWithDeadline.insert(job.id) }
        enqueue(job.id, index: job.submittedIndex)
    }

    private mutating func enqueue(_ id: JobID, index: UInt64) {
        pendingSince[id] = index
        pendingQueue.append((index, id))
    }

    private mutating func update(_ id: JobID, at: Timestamp, index: UInt64, _ change: (inout Job) -> Void) {
        change(&jobs[id]!)
        jobs[id]!.updatedAt = at
        jobs[id]!.updatedIndex = index
    }

    /// Ends the running attempt, if any, and frees its worker's slot.
    private mutating func endCurrentAttempt(of id: JobID, outcome: AttemptOutcome, at: Timestamp) {
        guard let current = jobs[id]?.currentAttempt else { return }
        runningJobs.remove(id)
        if workers[current.worker] != nil { workers[current.worker]!.activeJobs -= 1 }
        let last = jobs[id]!.attempts.count - 1
        jobs[id]!.attempts[last].endedAt = at
        jobs[id]!.attempts[last].outcome = outcome
        // The job is between states until the caller requeues or finishes it.
        jobs[id]!.status = .pending
    }

    /// After an attempt ended without a result: back to the queue while retries remain,
    /// otherwise `failed` with every attempt's reason.
    private mutating func retryOrFail(_ id: JobID, retryable: Bool, at: Timestamp, index: UInt64) {
        let job = jobs[id]!
        if retryable && job.attempts.count <= Int(job.maxRetries) {
            update(id, at: at, index: index) { $0.status = .pending }
            enqueue(id, index: index)
        } else {
            let ending = retryable ? "no retries left (max_retries \(job.maxRetries))" : "not retried (bad input)"
            finish(id, status: .failed, failureReason: failureSummary(of: id, ending: ending), at: at, index: index)
        }
    }

    private func failureSummary(of id: JobID, ending: String) -> String {
        let attempts = jobs[id]!.attempts.map { attempt -> String in
            let why: String
            switch attempt.outcome {
            case .failed(let reason, _): why = reason
            case .expired(let reason), .abandoned(let reason): why = reason
            case .completed: why = "completed"
            case nil: why = "running"
            }
            return "attempt \(attempt.number) on \(attempt.worker): \(why)"
        }
        return (attempts + [ending]).joined(separator: "; ")
    }

    private mutating func finish(_ id: JobID, status: JobStatus, failureReason: String?, at: Timestamp, index: UInt64) {
        let job = jobs[id]!
        pendingSince[id] = nil
        jobsWithDeadline.remove(id)
        update(id, at: at, index: index) { job in
            job.status = status
            job.failureReason = failureReason
        }
        terminalQueue.append((index, id))
        if status != .completed {
            // A failed job does not answer later submissions with the same key: a retry by the
            // client is a new job.
            if let key = job.idempotencyKey, idempotency[key]?.job == id { idempotency[key] = nil }
            if job.kind == .setup {
                setupFailed(job.circuit, reason: failureReason ?? status.rawValue, at: at, index: index)
            }
        }
    }

    /// A circuit whose setup failed can never be proved: its waiting jobs fail too.
    private mutating func setupFailed(_ circuit: CircuitID, reason: String, at: Timestamp, index: UInt64) {
        circuits[circuit]!.status = .setupFailed(reason: reason)
        circuits[circuit]!.updatedIndex = index
        for id in pendingSince.keys.filter({ jobs[$0]?.circuit == circuit }).sorted() {
            finish(
                id, status: .failed, failureReason: "circuit \(circuit) setup failed: \(reason)", at: at, index: index)
        }
    }

    private mutating func pruneIdempotency() {
        while let entry = idempotencyExpiries.first, entry.expiresAt <= clock {
            idempotencyExpiries.removeFirst()
            if let current = idempotency[entry.key], current.expiresAt <= clock { idempotency[entry.key] = nil }
        }
    }
}

/// A FIFO with amortised O(1) removal from the front: the storage is compacted once
/// more than half of it (and over 1,024 entries) has been consumed.
struct FrontQueue<Element: Sendable>: Sendable {
    private var storage: [Element] = []
    private var head = 0

    var first: Element? { head < storage.count ? storage[head] : nil }
    var entries: ArraySlice<Element> { storage[head...] }

    mutating func append(_ element: Element) { storage.append(element) }

    mutating func removeFirst() {
        head += 1
        if head > 1024 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }
}

/// Jobs in queue order: the index at which each entered.
typealias IndexQueue = FrontQueue<(index: UInt64, job: JobID)>

/// Idempotency keys in the order they were stored, for pruning. Windows can differ
/// between submissions, so the front is not always the earliest expiry; a key behind a
/// longer window waits a little longer to be pruned, and lookups check expiry themselves.
typealias ExpiryQueue = FrontQueue<(expiresAt: Timestamp, key: String)>
