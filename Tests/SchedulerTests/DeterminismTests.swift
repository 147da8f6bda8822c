import Scheduler
import TestSupport
import Testing

/// Random logs of valid and invalid commands, made by a driver that plays clients,
/// workers (honest, late and forging) and the leader's policy.
struct RandomLog {
    var rng: SeededRandom
    var h = Harness()
    let policy = SchedulingPolicy(startLeaseMilliseconds: 2_000, runLeaseMilliseconds: 5_000)
    var nextJob = 0

    init(rng: SeededRandom) {
        self.rng = rng
        h.registerWorker("w1", capacity: 2, capabilities: ["merkle", "circom"])
        h.readyCircuit("m", family: "merkle")
        h.run(
            .registerCircuit(
                CircuitRegistration(
                    id: CircuitID("c"), family: "circom", definition: [9], setupJob: JobID("setup-c"),
                    setupMaxRetries: 1,
                    at: h.now)))
    }

    mutating func pick<T>(_ values: [T]) -> T? { values.isEmpty ? nil : values[Int(rng.next() % UInt64(values.count))] }
    mutating func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }

    mutating func step() {
        h.advance(milliseconds: Int64(rng.next() % 400))
        let running = h.state.runningJobs.sorted()
        switch rng.next() % 12 {
        case 0, 1, 2:
            nextJob += 1
            let key = chance(30) ? "key-\(rng.next() % 20)" : nil
            let deadline = chance(20) ? h.now.adding(milliseconds: Int64(rng.next() % 8_000)) : nil
            _ = h.submit(
                "job-\(nextJob)", circuit: chance(70) ? "m" : (chance(90) ? "c" : "missing"), key: key,
                maxRetries: UInt32(rng.next() % 3), deadline: deadline, limit: 400)
        case 3:
            let id = "w\(rng.next() % 5 + 1)"
            var capabilities: Set<String> = []
            if chance(80) { capabilities.insert("merkle") }
            if chance(50) { capabilities.insert("circom") }
            h.run(
                .registerWorker(
                    WorkerRegistration(
                        id: WorkerID(id), address: "127.0.0.1:1", capacity: UInt32(rng.next() % 4),
                        capabilities: capabilities,
                        at: h.now)))
        case 4 where chance(20):
            if let worker = pick(h.state.workers.keys.sorted()) {
                h.run(.removeWorker(worker: worker, reason: "lost", at: h.now))
            }
        case 4, 5:
            let liveness = WorkerLiveness(leaderSince: h.now, heartbeatTimeoutMilliseconds: 1_000)
            for command in policy.assignments(in: h.state, liveness: liveness, at: h.now) { h.run(command) }
        case 6:
            if let id = pick(running), let attempt = h.state.jobs[id]?.currentAttempt {
                let worker = chance(90) ? attempt.worker : WorkerID("w\(rng.next() % 5 + 1)")
                h.run(
                    .start(
                        job: id, worker: worker, attempt: attempt.number,
                        leaseExpiresAt: policy.runLease(startingAt: h.now), at: h.now))
            }
        case 7, 8:
            if let id = pick(running), let job = h.state.jobs[id], let attempt = job.currentAttempt {
                let number = chance(90) ? attempt.number : attempt.number &- 1
                let result = job.kind == .setup ? keys : proof
                h.run(.complete(job: id, worker: attempt.worker, attempt: number, result: result, at: h.now))
            }
        case 9:
            if let id = pick(running), let attempt = h.state.jobs[id]?.currentAttempt {
                h.run(
                    .fail(
                        job: id, worker: attempt.worker, attempt: attempt.number, reason: "error \(rng.next() % 10)",
                        deterministic: chance(20), at: h.now))
            }
        case 10:
            let liveness = WorkerLiveness(
                leaderSince: h.now.adding(milliseconds: -Int64(rng.next() % 10_000)),
                heartbeatTimeoutMilliseconds: 2_000)
            for command in policy.expirations(in: h.state, liveness: liveness, at: h.now) { h.run(command) }
        default:
            if chance(50), let id = pick(h.state.jobs.keys.sorted()) {
                h.run(.cancel(job: id, reason: "client", at: h.now))
            } else {
                h.run(.archive(upTo: h.index - min(h.index, rng.next() % 50), at: h.now))
            }
        }
    }
}

/// What must hold in every state, whatever the log.
func checkInvariants(_ state: SchedulerState) -> [String] {
    var problems: [String] = []
    var load: [WorkerID: UInt32] = [:]
    for job in state.jobs.values {
        let running = job.status == .assigned || job.status == .inProgress
        if running != state.runningJobs.contains(job.id) { problems.append("\(job.id) running set disagrees") }
        if let worker = job.worker { load[worker, default: 0] += 1 }
        if job.attempts.map(\.number) != (0..<job.attempts.count).map({ UInt32($0 + 1) }) {
            problems.append("\(job.id) attempts misnumbered")
        }
        let open = job.attempts.filter { $0.outcome == nil }.count
        if open != (running ? 1 : 0) { problems.append("\(job.id) has \(open) open attempts while \(job.status)") }
        if (job.status == .completed) != (job.result != nil) {
            problems.append("\(job.id) result disagrees with status")
        }
        if job.status.isTerminal && state.jobsWithDeadline.contains(job.id) {
            problems.append("\(job.id) deadline kept")
        }
        if !job.status.isTerminal && job.deadline != nil && !state.jobsWithDeadline.contains(job.id) {
            problems.append("\(job.id) deadline lost")
        }
        if job.attempts.count > Int(job.maxRetries) + 1 { problems.append("\(job.id) ran past max_retries") }
    }
    if Set(state.pendingJobs.map(\.id)) != Set(state.jobs.values.filter { $0.status == .pending }.map(\.id)) {
        problems.append("pending queue disagrees with job statuses")
    }
    if state.pendingJobs.map(\.id).count != state.pendingCount { problems.append("pending queue holds duplicates") }
    for worker in state.workers.values where worker.activeJobs != load[worker.id, default: 0] {
        problems.append("worker \(worker.id) counts \(worker.activeJobs) jobs, runs \(load[worker.id, default: 0])")
    }
    return problems
}

@Suite("Job state machine: determinism")
struct DeterminismTests {
    @Test("replicas fed the same log, and one restored from a snapshot midway, end byte-identical")
    func replicas() throws {
        var driver = RandomLog(rng: SeededRandom.forTest("scheduler replicas"))
        var midpoint: (image: [UInt8], logCount: Int)?
        var seen: Set<JobStatus> = []
        for step in 0..<4_000 {
            driver.step()
            seen.formUnion(driver.h.state.jobs.values.map(\.status))
            let problems = checkInvariants(driver.h.state)
            try #require(problems.isEmpty, "seed \(driver.rng.seed), step \(step): \(problems)")
            if step == 2_000 { midpoint = (driver.h.state.snapshot(), driver.h.log.count) }
        }
        let log = driver.h.log
        var replica = SchedulerState()
        for (position, command) in log.enumerated() {
            // Through the log's byte form, as a follower receives it.
            replica.apply(try SchedulerCommand(decoding: command.encoded), index: UInt64(position + 1))
        }
        #expect(replica.snapshot() == driver.h.state.snapshot())

        let (image, applied) = try #require(midpoint)
        var restored = try SchedulerState(snapshot: image)
        #expect(checkInvariants(restored).isEmpty)
        for position in applied..<log.count { restored.apply(log[position], index: UInt64(position + 1)) }
        #expect(restored.snapshot() == driver.h.state.snapshot())
        #expect(restored.pendingJobs.map(\.id) == driver.h.state.pendingJobs.map(\.id))

        // The log exercised what it was meant to.
        #expect(driver.h.state.archivedThrough > 0)
        #expect(seen == Set(JobStatus.allCases))
    }

    @Test("the outcome of every command is the same on every replica")
    func outcomes() throws {
        var driver = RandomLog(rng: SeededRandom.forTest("scheduler outcomes"))
        for _ in 0..<1_500 { driver.step() }
        var first = SchedulerState()
        var second = SchedulerState()
        var rejected = 0
        for (position, command) in driver.h.log.enumerated() {
            let a = first.apply(command, index: UInt64(position + 1))
            let b = second.apply(command, index: UInt64(position + 1))
            #expect(a == b)
            if case .rejected = a { rejected += 1 }
        }
        #expect(rejected > 0)
    }
}
