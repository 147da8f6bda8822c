import Scheduler

/// A state machine fed by a fake log: each command gets the next index, and the test
/// moves the clock by hand.
struct Harness {
    var state = SchedulerState()
    var index: UInt64 = 0
    var now = Timestamp(milliseconds: 1_700_000_000_000)
    var log: [SchedulerCommand] = []

    @discardableResult
    mutating func run(_ command: SchedulerCommand) -> SchedulerOutcome {
        index += 1
        log.append(command)
        return state.apply(command, index: index)
    }

    mutating func advance(milliseconds: Int64) { now = now.adding(milliseconds: milliseconds) }

    func job(_ id: String) -> Job { state.jobs[JobID(id)]! }

    mutating func registerWorker(
        _ id: String, capacity: UInt32 = 2, capabilities: Set<String> = ["merkle", "circom"]
    ) {
        let outcome = run(
            .registerWorker(
                WorkerRegistration(
                    id: WorkerID(id), address: "127.0.0.1:\(9000 + id.count)", capacity: capacity,
                    capabilities: capabilities, at: now)))
        precondition(outcome == .applied, "\(outcome)")
    }

    /// Registers a circuit and runs its setup on `worker` to completion.
    mutating func readyCircuit(_ id: String = "merkle-2", family: String = "merkle", worker: String = "w1") {
        let setup = "setup-\(id)"
        var outcome = run(
            .registerCircuit(
                CircuitRegistration(
                    id: CircuitID(id), family: family, definition: Array("{\"depth\":2}".utf8), setupJob: JobID(setup),
                    at: now)))
        precondition(outcome == .applied, "\(outcome)")
        outcome = run(assign(setup, to: worker, attempt: 1))
        precondition(outcome == .applied, "\(outcome)")
        outcome = run(.complete(job: JobID(setup), worker: WorkerID(worker), attempt: 1, result: keys, at: now))
        precondition(outcome == .applied, "\(outcome)")
    }

    mutating func submit(
        _ id: String, circuit: String = "merkle-2", key: String? = nil, maxRetries: UInt32 = 3,
        deadline: Timestamp? = nil, limit: UInt32 = 1_000
    ) -> SchedulerOutcome {
        run(
            .submit(
                JobSubmission(
                    id: JobID(id), circuit: CircuitID(circuit), inputs: Array("{\"leaves\":[\"01\"]}".utf8),
                    idempotencyKey: key, maxRetries: maxRetries, deadline: deadline, liveJobLimit: limit, at: now)))
    }

    func assign(_ job: String, to worker: String, attempt: UInt32) -> SchedulerCommand {
        .assign(
            job: JobID(job), worker: WorkerID(worker), attempt: attempt,
            leaseExpiresAt: now.adding(milliseconds: 30_000),
            at: now)
    }

    func start(_ job: String, by worker: String, attempt: UInt32) -> SchedulerCommand {
        .start(
            job: JobID(job), worker: WorkerID(worker), attempt: attempt,
            leaseExpiresAt: now.adding(milliseconds: 300_000), at: now)
    }

    func complete(_ job: String, by worker: String, attempt: UInt32) -> SchedulerCommand {
        .complete(job: JobID(job), worker: WorkerID(worker), attempt: attempt, result: proof, at: now)
    }

    func fail(_ job: String, by worker: String, attempt: UInt32, deterministic: Bool = false) -> SchedulerCommand {
        .fail(
            job: JobID(job), worker: WorkerID(worker), attempt: attempt, reason: "prover crashed",
            deterministic: deterministic, at: now)
    }
}

let keys = JobResult.keys(
    provingKey: ArtifactDigest(bytes: Array(repeating: 0xaa, count: 32))!,
    verificationKey: ArtifactDigest(bytes: Array(repeating: 0xbb, count: 32))!)
let proof = JobResult.proof(proof: Array(repeating: 7, count: 256), publicInputs: Array("[\"5\"]".utf8))
