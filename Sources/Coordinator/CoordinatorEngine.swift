import Foundation
import Logging
import Raft
import RaftNode
import Scheduler

/// What the engine needs from the Raft node; `RaftNode` provides it, tests may fake it.
public protocol Consensus: Sendable {
    func propose(_ command: [UInt8]) async throws -> (index: LogIndex, result: [UInt8])
    var status: RaftStatus { get async }
}

extension RaftNode: Consensus {}

/// What the leader sends down a worker's task stream.
public enum WorkerMessage: Sendable, Equatable {
    /// Run this attempt of the job.
    case task(job: Job, attempt: Attempt, circuit: CircuitRecord)
    /// Stop this attempt: the job was cancelled, expired, or went to another worker.
    case cancel(job: JobID, attempt: UInt32)
    /// This coordinator stopped leading; reconnect to the leader at this address.
    case leaderChanged(leaderAddress: String?)
    /// Nothing to do: keeps an idle stream's connection alive through proxies.
    case keepalive
}

/// The original's scheduler counters, shown in `/health` and `/metrics`.
public struct SchedulerCounters: Sendable, Equatable {
    public var tasksAssigned = 0
    public var assignmentsFailed = 0
    public var pollCycles = 0
}

/// How a completion report ended.
public enum CompletionAck: Sendable, Equatable {
    case completed
    /// The same report was committed before (the worker retried after a lost answer).
    case duplicate
}

/// A coordinator's behaviour: while this node leads, it schedules (assignments and
/// expiries proposed as commands commit, with a tick for time-based expiry), keeps the
/// workers' liveness and task streams, and turns worker reports into verified commands.
/// On every node it answers reads from the replicated state.
public actor CoordinatorEngine {
    public nonisolated let machine: SchedulerStateMachine
    public nonisolated let settings: CoordinatorSettings
    private let consensus: any Consensus
    private let verifier: any ResultVerifier
    private let now: @Sendable () -> Timestamp
    private let logger: Logger

    /// Non-nil while this node leads: the leader's view of worker liveness.
    private var liveness: WorkerLiveness?
    private var streams: [WorkerID: (id: UInt64, continuation: AsyncStream<WorkerMessage>.Continuation)] = [:]
    private var nextStreamID: UInt64 = 0
    /// When the leader last scanned for expiries (the first round of a term always does).
    private var lastExpiryScan = Timestamp(milliseconds: 0)
    /// Assignments proposed and not yet answered, with the round that proposed them.
    private var proposedAssignments: [JobID: (worker: WorkerID, round: UInt64)] = [:]
    private var rounds: UInt64 = 0
    /// When the open task streams were last sent a keepalive.
    private var lastKeepalive = Timestamp(milliseconds: 0)
    public private(set) var counters = SchedulerCounters()

    public init(
        machine: SchedulerStateMachine, consensus: any Consensus, verifier: any ResultVerifier,
        settings: CoordinatorSettings, now: @escaping @Sendable () -> Timestamp = CoordinatorEngine.wallClock,
        logger: Logger = Logger(label: "zkp.coordinator")
    ) {
        self.machine = machine
        self.consensus = consensus
        self.verifier = verifier
        self.settings = settings
        self.now = now
        self.logger = logger
    }

    @Sendable public static func wallClock() -> Timestamp {
        Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)))
    }

    public var isLeading: Bool { liveness != nil }

    // MARK: Leadership and dispatch

    /// Follows this node's role until cancelled: on becoming leader it starts a fresh
    /// liveness view and schedules; on losing leadership it closes every task stream,
    /// telling workers where the leader went.
    public func run() async {
        for await _ in machine.changes(tick: .milliseconds(settings.dispatchTickMilliseconds)) {
            if Task.isCancelled { break }
            let status = await consensus.status
            if status.role == .leader {
                if liveness == nil {
                    let since = now()
                    liveness = WorkerLiveness(
                        leaderSince: since, heartbeatTimeoutMilliseconds: settings.heartbeatTimeoutMilliseconds)
                    lastKeepalive = since
                    logger.info("Leading: scheduling starts", metadata: ["term": "\(status.term)"])
                }
                dispatchRound()
            } else if liveness != nil {
                stepDown(leader: status.leader)
            }
        }
        stepDown(leader: 0)
    }

    private func stepDown(leader: NodeID) {
        liveness = nil
        lastExpiryScan = Timestamp(milliseconds: 0)
        proposedAssignments.removeAll()
        let address = settings.grpcAddresses[leader]
        for (_, stream) in streams {
            stream.continuation.yield(.leaderChanged(leaderAddress: address))
            stream.continuation.finish()
        }
        streams.removeAll()
        logger.info("No longer leading: task streams closed", metadata: ["leader": "\(leader)"])
    }

    /// One scheduling round: expiries first (they free slots), then assignments, proposed
    /// as one log entry. The round does not wait for its entry to commit: the next round
    /// is decided meanwhile, leaving out the jobs and slots this one took, so a job that
    /// arrives while a round commits is assigned without waiting for it.
    private func dispatchRound() {
        guard let liveness else { return }
        counters.pollCycles += 1
        let instant = now()
        let policy = settings.policy
        let (open, proposed) = schedulingView
        let scanExpiries = instant.milliseconds - lastExpiryScan.milliseconds >= settings.expiryScanIntervalMilliseconds
        if scanExpiries { lastExpiryScan = instant }
        if instant.milliseconds - lastKeepalive.milliseconds >= settings.streamKeepaliveMilliseconds {
            for (_, stream) in streams { stream.continuation.yield(.keepalive) }
            lastKeepalive = instant
        }
        let commands = machine.read { state in
            (scanExpiries ? policy.expirations(in: state, liveness: liveness, at: instant) : [])
                + policy.assignments(
                    in: state, liveness: liveness, at: instant, accepting: { open.contains($0) }, proposed: proposed)
        }
        guard !commands.isEmpty else { return }
        rounds += 1
        let round = rounds
        for case .assign(let job, let worker, _, _, _) in commands { proposedAssignments[job] = (worker, round) }
        Task {
            let outcomes: [Result<SchedulerOutcome, CoordinatorError>]
            do throws(CoordinatorError) {
                outcomes = try await proposeTogether(commands).map { .success($0) }
            } catch {
                outcomes = Array(repeating: .failure(error), count: commands.count)
            }
            finishRound(round, commands: commands, outcomes: outcomes)
        }
    }

    /// Acts on a round's outcomes: delivers the assignments that applied.
    private func finishRound(
        _ round: UInt64, commands: [SchedulerCommand], outcomes: [Result<SchedulerOutcome, CoordinatorError>]
    ) {
        for (command, result) in zip(commands, outcomes) {
            switch (command, result) {
            case (.assign(let job, let worker, _, _, _), .success(.applied)):
                forget(job, proposedIn: round)
                counters.tasksAssigned += 1
                deliverAssignment(of: job, to: worker)
                logger.debug("Task assigned", metadata: ["task_id": "\(job)", "worker_id": "\(worker)"])
            case (.assign(let job, let worker, _, _, _), let outcome):
                forget(job, proposedIn: round)
                counters.assignmentsFailed += 1
                logger.debug(
                    "Assignment refused",
                    metadata: ["task_id": "\(job)", "worker_id": "\(worker)", "outcome": "\(outcome)"])
            case (.removeWorker(let worker, let reason, _), .success(.applied)):
                logger.warning("Worker removed", metadata: ["worker_id": "\(worker)", "reason": "\(reason)"])
                closeStream(of: worker)
            case (.expireAttempt(let job, _, _), .success(.applied)), (.expireDeadline(let job, _), .success(.applied)):
                notifyCancelled(job)
            default:
                break
            }
        }
    }

    /// What the policy needs from this leader besides the replicated state: the workers
    /// with an open task stream, and the assignments still being committed.
    private var schedulingView: (open: Set<WorkerID>, proposed: [JobID: WorkerID]) {
        (Set(streams.keys), proposedAssignments.mapValues(\.worker))
    }

    /// Drops a job's proposed assignment, unless a later round (after a change of
    /// leadership) proposed it again.
    private func forget(_ job: JobID, proposedIn round: UInt64) {
        if proposedAssignments[job]?.round == round { proposedAssignments[job] = nil }
    }

    /// Tells the worker that held the job's last attempt to stop it, if that attempt ended.
    private func notifyCancelled(_ id: JobID) {
        guard let job = machine.read({ $0.jobs[id] }), let last = job.attempts.last, last.outcome != nil else { return }
        streams[last.worker]?.continuation.yield(.cancel(job: id, attempt: last.number))
    }

    private func deliverAssignment(of id: JobID, to worker: WorkerID) {
        guard let stream = streams[worker] else { return }
        let message: WorkerMessage? = machine.read { state in
            guard let job = state.jobs[id], let attempt = job.currentAttempt, attempt.worker == worker,
                attempt.startedAt == nil, let circuit = state.circuits[job.circuit]
            else { return nil }
            return .task(job: job, attempt: attempt, circuit: circuit)
        }
        if let message { stream.continuation.yield(message) }
    }

    // MARK: Proposals

    /// Proposes a command and returns the state machine's outcome.
    public func propose(_ command: SchedulerCommand) async throws(CoordinatorError) -> SchedulerOutcome {
        let result: [UInt8]
        do {
            (_, result) = try await consensus.propose(command.encoded)
        } catch let error as RaftNodeError {
            switch error {
            case .notLeader(let leader): throw .notLeader(leaderAddress: settings.grpcAddresses[leader])
            case .outcomeUnknown: throw .unavailable("leadership changed before the change committed")
            case .timedOut: throw .unavailable("the change did not commit in time")
            case .stopped: throw .unavailable("this coordinator is stopping")
            case .refused(let why): throw .unavailable("\(why)")
            case .storage(let why): throw .unavailable("this coordinator's log failed: \(why)")
            }
        } catch {
            throw .unavailable("\(error)")
        }
        do {
            return try SchedulerOutcome(decoding: result)
        } catch {
            throw .unavailable("unreadable outcome: \(error)")
        }
    }

    /// Proposes and turns a refusal into an error.
    private func commit(_ command: SchedulerCommand) async throws(CoordinatorError) -> SchedulerOutcome {
        let outcome = try await propose(command)
        if case .rejected(let rejection) = outcome { throw .rejected(rejection) }
        return outcome
    }

    private func requireLeader() async throws(CoordinatorError) {
        let status = await consensus.status
        guard status.role == .leader, liveness != nil else {
            throw .notLeader(leaderAddress: status.leader == 0 ? nil : settings.grpcAddresses[status.leader])
        }
    }

    // MARK: Workers

    public func register(_ worker: WorkerID, address: String, capacity: UInt32, capabilities: Set<String>)
        async throws(CoordinatorError)
    {
        try await requireLeader()
        guard !worker.rawValue.isEmpty else { throw .invalidArgument("worker_id is empty") }
        guard capacity > 0, capacity <= 1024 else {
            throw .invalidArgument("max_concurrent_tasks \(capacity) is outside 1–1024")
        }
        _ = try await commit(
            .registerWorker(
                WorkerRegistration(
                    id: worker, address: address, capacity: capacity, capabilities: capabilities, at: now())))
        liveness?.heard(from: worker, at: now())
    }

    /// Each registered worker's health and when it was last heard from, as this leader sees
    /// it; nil on a follower, which keeps no liveness.
    public func workerHealth() -> [WorkerID: (health: WorkerHealth, lastHeard: Timestamp)]? {
        guard let liveness else { return nil }
        let instant = now()
        let workers = machine.read { Array($0.workers.keys) }
        var health: [WorkerID: (health: WorkerHealth, lastHeard: Timestamp)] = [:]
        for worker in workers {
            health[worker] = (liveness.health(of: worker, at: instant), liveness.lastHeard(from: worker))
        }
        return health
    }

    /// Records a heartbeat; an unknown worker is told so, and registers again.
    public func heartbeat(_ worker: WorkerID) async throws(CoordinatorError) {
        try await requireLeader()
        guard machine.read({ $0.workers[worker] != nil }) else { throw .rejected(.unknownWorker(worker)) }
        liveness?.heard(from: worker, at: now())
    }

    /// Opens the worker's task stream (replacing an older one) and re-sends the attempts
    /// already assigned to it that it has not started: after a leader change, or a
    /// reconnect, the worker may never have received them.
    public func openStream(for worker: WorkerID) async throws(CoordinatorError) -> (
        id: UInt64, messages: AsyncStream<WorkerMessage>
    ) {
        try await requireLeader()
        guard machine.read({ $0.workers[worker] != nil }) else { throw .rejected(.unknownWorker(worker)) }
        closeStream(of: worker)
        nextStreamID += 1
        let (messages, continuation) = AsyncStream.makeStream(of: WorkerMessage.self, bufferingPolicy: .unbounded)
        streams[worker] = (nextStreamID, continuation)
        liveness?.heard(from: worker, at: now())
        let pending: [WorkerMessage] = machine.read { state in
            state.runningJobs.sorted().compactMap { id in
                guard let job = state.jobs[id], let attempt = job.currentAttempt, attempt.worker == worker,
                    attempt.startedAt == nil, let circuit = state.circuits[job.circuit]
                else { return nil }
                return .task(job: job, attempt: attempt, circuit: circuit)
            }
        }
        for message in pending { continuation.yield(message) }
        return (nextStreamID, messages)
    }

    /// Called when a worker's stream ends; only that stream is forgotten, not a newer one.
    public func streamEnded(for worker: WorkerID, id: UInt64) {
        if streams[worker]?.id == id { streams[worker] = nil }
    }

    private func closeStream(of worker: WorkerID) {
        streams.removeValue(forKey: worker)?.continuation.finish()
    }

    /// The worker began the attempt; returns the instant by which it must report.
    public func start(_ job: JobID, worker: WorkerID, attempt: UInt32) async throws(CoordinatorError) -> Timestamp {
        let instant = now()
        _ = try await commit(
            .start(
                job: job, worker: worker, attempt: attempt,
                leaseExpiresAt: settings.policy.runLease(startingAt: instant),
                at: instant))
        liveness?.heard(from: worker, at: instant)
        guard let lease = machine.read({ $0.jobs[job]?.currentAttempt?.leaseExpiresAt }) else {
            throw .unavailable("job \(job) changed while starting")
        }
        return lease
    }

    /// Verifies the result and commits it. An invalid proof fails the attempt (to be
    /// retried elsewhere) and is never stored.
    public func complete(_ id: JobID, worker: WorkerID, attempt: UInt32, result: JobResult)
        async throws(CoordinatorError) -> CompletionAck
    {
        try await requireLeader()
        liveness?.heard(from: worker, at: now())
        // Refuse forged and late reports before paying for verification.
        let checked = try machine.read {
            (state: borrowing SchedulerState) throws(CoordinatorError) -> (job: Job, circuit: CircuitRecord)? in
            if state.isRepeatedCompletion(of: id, worker: worker, attempt: attempt) { return nil }
            do throws(SchedulerRejection) {
                _ = try state.currentAttempt(of: id, worker: worker, attempt: attempt, command: "complete")
            } catch {
                throw .rejected(error)
            }
            let job = state.jobs[id]!
            guard let circuit = state.circuits[job.circuit] else { throw .rejected(.unknownCircuit(job.circuit)) }
            return (job, circuit)
        }
        guard let checked else { return .duplicate }
        do {
            try await verifier.verify(result, of: checked.job, circuit: checked.circuit)
        } catch let error as CoordinatorError {
            guard case .proofInvalid(let reason) = error else { throw error }
            logger.warning(
                "Proof rejected", metadata: ["task_id": "\(id)", "worker_id": "\(worker)", "reason": "\(reason)"])
            _ = try? await propose(
                .fail(
                    job: id, worker: worker, attempt: attempt, reason: "proof rejected: \(reason)",
                    deterministic: false, at: now()))
            throw error
        } catch {
            throw .unavailable("verification failed: \(error)")
        }
        switch try await commit(.complete(job: id, worker: worker, attempt: attempt, result: result, at: now())) {
        case .duplicate: return .duplicate
        default: return .completed
        }
    }

    public func fail(_ job: JobID, worker: WorkerID, attempt: UInt32, reason: String, deterministic: Bool)
        async throws(CoordinatorError)
    {
        _ = try await commit(
            .fail(job: job, worker: worker, attempt: attempt, reason: reason, deterministic: deterministic, at: now()))
        liveness?.heard(from: worker, at: now())
    }

    /// A drained worker leaves: any attempt it still holds goes back to the queue.
    public func deregister(_ worker: WorkerID) async throws(CoordinatorError) {
        _ = try await commit(.removeWorker(worker: worker, reason: "deregistered", at: now()))
        closeStream(of: worker)
        liveness?.forget(worker)
    }

    // MARK: Jobs and circuits

    /// Submits a job; returns its id and whether an idempotency key matched an earlier job.
    public func submit(
        circuit: CircuitID, inputs: [UInt8], idempotencyKey: String?, maxRetries: UInt32, deadline: Timestamp?
    ) async throws(CoordinatorError) -> (job: JobID, duplicate: Bool) {
        let submission = Submission(
            circuit: circuit, inputs: inputs, idempotencyKey: idempotencyKey, maxRetries: maxRetries, deadline: deadline
        )
        switch try await submit(batch: [submission])[0] {
        case .success(let answer): return answer
        case .failure(let error): throw error
        }
    }

    /// One submission of a batch.
    public struct Submission: Sendable {
        public var circuit: CircuitID
        public var inputs: [UInt8]
        public var idempotencyKey: String?
        public var maxRetries: UInt32
        public var deadline: Timestamp?

        public init(
            circuit: CircuitID, inputs: [UInt8], idempotencyKey: String?, maxRetries: UInt32, deadline: Timestamp?
        ) {
            self.circuit = circuit
            self.inputs = inputs
            self.idempotencyKey = idempotencyKey
            self.maxRetries = maxRetries
            self.deadline = deadline
        }
    }

    /// Submits many jobs as one log entry, so they share one append, one replication round
    /// and one commit. Each gets its own answer: its job and whether its key matched an
    /// earlier job, or the refusal that only it met. Throws when the entry as a whole
    /// did not commit (no leader, a timeout), which leaves every submission undecided.
    public func submit(batch submissions: [Submission]) async throws(CoordinatorError)
        -> [Result<(job: JobID, duplicate: Bool), CoordinatorError>]
    {
        guard !submissions.isEmpty else { return [] }
        let at = now()
        let commands = submissions.map { command(for: $0, at: at) }
        let (assignments, round) = immediateAssignments(of: commands, at: at)
        let outcomes: [SchedulerOutcome]
        do {
            outcomes = try await proposeTogether(commands + assignments)
        } catch {
            finishRound(round, commands: assignments, outcomes: assignments.map { _ in .failure(error) })
            throw error
        }
        finishRound(round, commands: assignments, outcomes: outcomes[commands.count...].map { .success($0) })
        return outcomes[..<commands.count].map { outcome in
            switch outcome {
            case .submitted(let id): .success((id, false))
            case .duplicate(let id): .success((id, true))
            case .rejected(let rejection): .failure(.rejected(rejection))
            case let other: .failure(.unavailable("unexpected outcome \(other)"))
            }
        }
    }

    /// Assignments that ride in the submissions' own log entry (see
    /// `SchedulingPolicy.immediateAssignments`), recorded as being proposed so that rounds
    /// decided meanwhile count their slots.
    private func immediateAssignments(of commands: [SchedulerCommand], at instant: Timestamp) -> (
        [SchedulerCommand], round: UInt64
    ) {
        rounds += 1
        guard let liveness else { return ([], rounds) }
        let submissions = commands.compactMap { command -> JobSubmission? in
            if case .submit(let submission) = command { return submission }
            return nil
        }
        let policy = settings.policy
        let (open, proposed) = schedulingView
        let assignments = machine.read { state in
            policy.immediateAssignments(
                of: submissions, in: state, liveness: liveness, at: instant, accepting: { open.contains($0) },
                proposed: proposed)
        }
        for case .assign(let job, let worker, _, _, _) in assignments { proposedAssignments[job] = (worker, rounds) }
        return (assignments, rounds)
    }

    /// Proposes commands as one log entry (a batch, unless there is one) and returns one
    /// outcome per command.
    private func proposeTogether(_ commands: [SchedulerCommand]) async throws(CoordinatorError) -> [SchedulerOutcome] {
        if commands.count == 1 { return [try await propose(commands[0])] }
        guard case .batch(let outcomes) = try await propose(.batch(commands)), outcomes.count == commands.count else {
            throw .unavailable("an entry of \(commands.count) commands had no outcome for each")
        }
        return outcomes
    }

    /// The log command for a submission: a fresh job id, and this leader's limits and instant.
    private func command(for submission: Submission, at: Timestamp) -> SchedulerCommand {
        .submit(
            JobSubmission(
                id: JobID(UUID().uuidString.lowercased()), circuit: submission.circuit, inputs: submission.inputs,
                idempotencyKey: submission.idempotencyKey,
                idempotencyWindowMilliseconds: settings.idempotencyWindowMilliseconds,
                maxRetries: submission.maxRetries, deadline: submission.deadline,
                liveJobLimit: settings.liveJobLimit, at: at))
    }

    public func cancel(_ job: JobID, reason: String) async throws(CoordinatorError) {
        _ = try await commit(.cancel(job: job, reason: reason, at: now()))
        notifyCancelled(job)
    }

    /// Lets terminal jobs changed at or before `index` leave memory (the projection holds them).
    public func archive(upTo index: UInt64) async throws(CoordinatorError) {
        _ = try await commit(.archive(upTo: index, at: now()))
    }

    /// Registers a circuit and queues its setup; returns the setup job's id.
    public func registerCircuit(_ id: CircuitID, family: String, definition: [UInt8], setupMaxRetries: UInt32 = 3)
        async throws(CoordinatorError) -> JobID
    {
        let setup = JobID(UUID().uuidString.lowercased())
        _ = try await commit(
            .registerCircuit(
                CircuitRegistration(
                    id: id, family: family, definition: definition, setupJob: setup, setupMaxRetries: setupMaxRetries,
                    at: now())))
        return setup
    }
}
