import Scheduler
import Testing

@Suite("Job state machine: rejections change nothing")
struct RejectionTests {
    /// A state with one ready circuit, two workers and jobs in every non-terminal status.
    static func populated() -> Harness {
        var h = Harness()
        h.registerWorker("w1", capacity: 2, capabilities: ["merkle"])
        h.registerWorker("w2", capacity: 1, capabilities: ["circom"])
        h.readyCircuit()
        _ = h.submit("pending")
        _ = h.submit("assigned")
        _ = h.submit("running")
        h.run(h.assign("assigned", to: "w1", attempt: 1))
        h.run(h.assign("running", to: "w1", attempt: 1))
        h.run(h.start("running", by: "w1", attempt: 1))
        return h
    }

    static let cases: [(String, @Sendable (Harness) -> SchedulerCommand, SchedulerRejection)] = [
        (
            "submit with a taken id",
            { h in .submit(JobSubmission(id: JobID("pending"), circuit: CircuitID("merkle-2"), inputs: [], at: h.now))
            },
            .jobExists(JobID("pending"))
        ),
        (
            "submit for an unknown circuit",
            { h in .submit(JobSubmission(id: JobID("n"), circuit: CircuitID("nope"), inputs: [], at: h.now)) },
            .unknownCircuit(CircuitID("nope"))
        ),
        (
            "submit past the live job limit",
            { h in
                .submit(
                    JobSubmission(
                        id: JobID("n"), circuit: CircuitID("merkle-2"), inputs: [], liveJobLimit: 4, at: h.now))
            }, .liveJobLimitReached(limit: 4)
        ),
        (
            "assign a job that is not pending", { h in h.assign("assigned", to: "w1", attempt: 2) },
            .invalidTransition(job: JobID("assigned"), status: .assigned, command: "assign")
        ),
        (
            "assign with a wrong attempt number", { h in h.assign("pending", to: "w1", attempt: 2) },
            .invalidCommand("attempt 2 of job pending should be numbered 1")
        ),
        (
            "assign to an unknown worker", { h in h.assign("pending", to: "w9", attempt: 1) },
            .unknownWorker(WorkerID("w9"))
        ),
        (
            "assign to a worker without the capability", { h in h.assign("pending", to: "w2", attempt: 1) },
            .workerLacksCapability(WorkerID("w2"), family: "merkle")
        ),
        (
            "assign to a full worker", { h in h.assign("pending", to: "w1", attempt: 1) },
            .workerAtCapacity(WorkerID("w1"), capacity: 2)
        ),
        ("assign an unknown job", { h in h.assign("ghost", to: "w1", attempt: 1) }, .unknownJob(JobID("ghost"))),
        (
            "start by a worker that does not hold the job", { h in h.start("assigned", by: "w2", attempt: 1) },
            .notOwner(job: JobID("assigned"), worker: WorkerID("w2"), owner: WorkerID("w1"))
        ),
        (
            "start a pending job", { h in h.start("pending", by: "w1", attempt: 1) },
            .invalidTransition(job: JobID("pending"), status: .pending, command: "start")
        ),
        (
            "a forged completion from a worker that does not hold the job",
            { h in h.complete("running", by: "w2", attempt: 1) },
            .notOwner(job: JobID("running"), worker: WorkerID("w2"), owner: WorkerID("w1"))
        ),
        (
            "a completion for an attempt that is not current", { h in h.complete("running", by: "w1", attempt: 2) },
            .staleAttempt(job: JobID("running"), reported: 2, current: 1)
        ),
        (
            "a failure for an attempt that is not current", { h in h.fail("running", by: "w1", attempt: 0) },
            .staleAttempt(job: JobID("running"), reported: 0, current: 1)
        ),
        (
            "complete a pending job", { h in h.complete("pending", by: "w1", attempt: 1) },
            .invalidTransition(job: JobID("pending"), status: .pending, command: "complete")
        ),
        (
            "expire an attempt that is not current",
            { h in .expireAttempt(job: JobID("running"), attempt: 2, at: h.now) },
            .staleAttempt(job: JobID("running"), reported: 2, current: 1)
        ),
        (
            "expire a job without a deadline", { h in .expireDeadline(job: JobID("pending"), at: h.now) },
            .invalidCommand("job pending has no deadline before \(h0.now.milliseconds)")
        ),
        (
            "register a circuit twice",
            { h in
                .registerCircuit(
                    CircuitRegistration(
                        id: CircuitID("merkle-2"), family: "merkle", definition: [], setupJob: JobID("s2"), at: h.now))
            }, .circuitExists(CircuitID("merkle-2"))
        ),
        (
            "register a circuit whose setup job id is taken",
            { h in
                .registerCircuit(
                    CircuitRegistration(
                        id: CircuitID("c2"), family: "merkle", definition: [], setupJob: JobID("pending"), at: h.now))
            }, .jobExists(JobID("pending"))
        ),
        (
            "register a circuit without a family",
            { h in
                .registerCircuit(
                    CircuitRegistration(
                        id: CircuitID("c3"), family: "", definition: [], setupJob: JobID("s3"), at: h.now))
            }, .invalidCommand("circuit c3 has no family")
        ),
        (
            "remove an unknown worker", { h in .removeWorker(worker: WorkerID("w9"), reason: "x", at: h.now) },
            .unknownWorker(WorkerID("w9"))
        ),
    ]
    static let h0 = populated()

    @Test("each refused command names its cause and leaves the state as it was", arguments: cases.indices)
    func refused(_ position: Int) throws {
        let (name, make, rejection) = Self.cases[position]
        var h = Self.populated()
        let command = make(h)
        let before = h.state.snapshot()
        let outcome = h.run(command)
        #expect(outcome == .rejected(rejection), "\(name)")
        // Only the applied index moved: restore the old image at the new index and compare.
        var expected = try SchedulerState(snapshot: before)
        expected.apply(.archive(upTo: 0, at: Timestamp(milliseconds: 0)), index: h.index)
        #expect(h.state.snapshot() == expected.snapshot(), "\(name)")
        #expect(rejection.description.count > 10)
    }
}
