/// The leader's decisions, as commands to propose: which pending job goes to which
/// worker, and which attempts, deadlines and workers have run out. Pure: it reads the
/// replicated state, the leader's view of worker liveness and the instant it is given.
/// The state machine checks every command again when it applies, so a decision made on
/// a view that went stale is refused rather than obeyed.
public struct SchedulingPolicy: Sendable {
    /// How long an assigned worker has to start the job (the original had none: D10).
    public var startLeaseMilliseconds: Int64
    /// How long a started attempt may run before it is taken back (`stale_task_timeout`).
    public var runLeaseMilliseconds: Int64
    /// The most assignments proposed in one round.
    public var assignmentBatchLimit: Int
    /// The most pending jobs examined in one round, so a long queue of jobs no worker can
    /// take does not make every round slow.
    public var pendingScanLimit: Int

    public init(
        startLeaseMilliseconds: Int64 = 30_000, runLeaseMilliseconds: Int64 = 300_000,
        assignmentBatchLimit: Int = 1_000, pendingScanLimit: Int = 20_000
    ) {
        self.startLeaseMilliseconds = startLeaseMilliseconds
        self.runLeaseMilliseconds = runLeaseMilliseconds
        self.assignmentBatchLimit = assignmentBatchLimit
        self.pendingScanLimit = pendingScanLimit
    }

    /// Assignments of pending jobs, oldest first, each to the least-loaded active worker
    /// that can run the job's circuit and has a free slot (counting this round's own
    /// assignments). Ties go to the worker with fewer running jobs, then the lower id.
    /// `accepting` narrows the workers further (the leader passes those with an open task
    /// stream). `proposed` holds assignments already proposed and not yet applied: their
    /// jobs are skipped and their slots counted as taken, so the leader can decide the next
    /// round while the last one is still being committed.
    public func assignments(
        in state: SchedulerState, liveness: WorkerLiveness, at now: Timestamp,
        accepting: (WorkerID) -> Bool = { _ in true }, proposed: [JobID: WorkerID] = [:]
    ) -> [SchedulerCommand] {
        var candidates = WorkerSlots(
            state: state, liveness: liveness, at: now, accepting: accepting, proposed: proposed)
        guard !candidates.isEmpty else { return [] }
        var commands: [SchedulerCommand] = []
        var scanned = 0
        for job in state.pendingJobs where proposed[job.id] == nil {
            if commands.count >= assignmentBatchLimit || scanned >= pendingScanLimit || candidates.isEmpty { break }
            scanned += 1
            guard let circuit = state.circuits[job.circuit] else { continue }
            switch (job.kind, circuit.status) {
            case (.prove, .ready), (.setup, .awaitingSetup): break
            default: continue
            }
            guard let worker = candidates.take(for: circuit.family) else { continue }
            commands.append(
                .assign(
                    job: job.id, worker: worker, attempt: UInt32(job.attempts.count + 1),
                    leaseExpiresAt: now.adding(milliseconds: startLeaseMilliseconds), at: now))
        }
        return commands
    }

    /// Assignments that new submissions can carry in their own log entry, so that a job
    /// reaches a worker one commit after it is submitted rather than two. Only when no
    /// pending job waits that is not already being assigned (none is overtaken), for
    /// submissions to a ready circuit whose key matches no earlier job, and while a
    /// capable worker has a free slot; the rest wait for the next round as usual.
    public func immediateAssignments(
        of submissions: [JobSubmission], in state: SchedulerState, liveness: WorkerLiveness, at now: Timestamp,
        accepting: (WorkerID) -> Bool = { _ in true }, proposed: [JobID: WorkerID] = [:]
    ) -> [SchedulerCommand] {
        let beingAssigned = proposed.keys.count(where: { state.jobs[$0]?.status == .pending })
        guard state.pendingCount == beingAssigned else { return [] }
        var candidates = WorkerSlots(
            state: state, liveness: liveness, at: now, accepting: accepting, proposed: proposed)
        var commands: [SchedulerCommand] = []
        var keys: Set<String> = []
        for submission in submissions {
            if candidates.isEmpty { break }
            if let key = submission.idempotencyKey {
                guard state.job(forIdempotencyKey: key, at: now) == nil, keys.insert(key).inserted else { continue }
            }
            guard state.jobs[submission.id] == nil, let circuit = state.circuits[submission.circuit],
                case .ready = circuit.status, let worker = candidates.take(for: circuit.family)
            else { continue }
            commands.append(
                .assign(
                    job: submission.id, worker: worker, attempt: 1,
                    leaseExpiresAt: now.adding(milliseconds: startLeaseMilliseconds), at: now))
        }
        return commands
    }

    /// The lease a worker's start command should carry.
    public func runLease(startingAt now: Timestamp) -> Timestamp { now.adding(milliseconds: runLeaseMilliseconds) }

    /// Expiries due at `now`: attempts whose lease ran out, jobs past their deadline, and
    /// workers silent for too long (whose running attempts then expire with them).
    public func expirations(in state: SchedulerState, liveness: WorkerLiveness, at now: Timestamp)
        -> [SchedulerCommand]
    {
        var commands: [SchedulerCommand] = []
        let lost = state.workers.keys.filter { liveness.health(of: $0, at: now) == .lost }
        for worker in lost.sorted() {
            commands.append(
                .removeWorker(
                    worker: worker,
                    reason: "no heartbeat for \(now.milliseconds - liveness.lastHeard(from: worker).milliseconds) ms",
                    at: now))
        }
        for id in state.jobsWithDeadline.sorted() {
            if let job = state.jobs[id], let deadline = job.deadline, deadline <= now {
                commands.append(.expireDeadline(job: id, at: now))
            }
        }
        for id in state.runningJobs.sorted() {
            guard let job = state.jobs[id], let attempt = job.currentAttempt, attempt.leaseExpiresAt <= now else {
                continue
            }
            // Taken back already by the deadline or by the worker's removal.
            if let deadline = job.deadline, deadline <= now { continue }
            if lost.contains(attempt.worker) { continue }
            commands.append(.expireAttempt(job: id, attempt: attempt.number, at: now))
        }
        return commands
    }
}

/// The active workers with a free slot, and the choice among them: the least loaded
/// relative to capacity that has the circuit's family, then the fewer running jobs, then
/// the lower id. Taking a slot counts it at once, so one round never overfills a worker.
struct WorkerSlots {
    private var workers: [(id: WorkerID, capacity: UInt32, load: UInt32, capabilities: Set<String>)]

    /// Slots of assignments still being committed count as taken; a proposed job the
    /// state already shows assigned is counted by the state itself.
    init(
        state: SchedulerState, liveness: WorkerLiveness, at now: Timestamp, accepting: (WorkerID) -> Bool,
        proposed: [JobID: WorkerID]
    ) {
        var proposedLoad: [WorkerID: UInt32] = [:]
        for (job, worker) in proposed where state.jobs[job].map({ $0.status == .pending }) ?? true {
            proposedLoad[worker, default: 0] += 1
        }
        workers = state.workers.values
            .map {
                (
                    id: $0.id, capacity: $0.capacity, load: $0.activeJobs + proposedLoad[$0.id, default: 0],
                    capabilities: $0.capabilities
                )
            }
            .filter { $0.load < $0.capacity && liveness.health(of: $0.id, at: now) == .active && accepting($0.id) }
            .sorted { $0.id < $1.id }
    }

    var isEmpty: Bool { workers.isEmpty }

    /// The best worker for a job of `family`, with one of its slots taken; nil if none can run it.
    mutating func take(for family: String) -> WorkerID? {
        var best: Int?
        for (position, worker) in workers.enumerated() where worker.capabilities.contains(family) {
            guard let current = best else {
                best = position
                continue
            }
            let other = workers[current]
            // load/capacity < other.load/other.capacity, in integers.
            let left = UInt64(worker.load) * UInt64(other.capacity)
            let right = UInt64(other.load) * UInt64(worker.capacity)
            if left < right || (left == right && worker.load < other.load) { best = position }
        }
        guard let chosen = best else { return nil }
        let id = workers[chosen].id
        workers[chosen].load += 1
        if workers[chosen].load >= workers[chosen].capacity { workers.remove(at: chosen) }
        return id
    }
}
