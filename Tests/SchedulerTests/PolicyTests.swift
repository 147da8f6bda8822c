import Scheduler
import Testing

@Suite("Leader policy and worker liveness")
struct PolicyTests {
    let policy = SchedulingPolicy(startLeaseMilliseconds: 30_000, runLeaseMilliseconds: 300_000)

    func everyoneActive(_ h: Harness) -> WorkerLiveness {
        WorkerLiveness(leaderSince: h.now, heartbeatTimeoutMilliseconds: 30_000)
    }

    /// The assignments among `commands`, by job and worker.
    func assigned(_ commands: [SchedulerCommand]) -> [(job: JobID, worker: WorkerID)] {
        commands.compactMap { command in
            guard case .assign(let job, let worker, _, _, _) = command else { return nil }
            return (job, worker)
        }
    }

    /// The same as "job→worker" text, for comparing in order.
    func pairs(_ commands: [SchedulerCommand]) -> [String] { assigned(commands).map { "\($0.job)→\($0.worker)" } }

    @Test("assignments go oldest first to the least-loaded capable worker, never past capacity")
    func assignments() {
        var h = Harness()
        h.registerWorker("w1", capacity: 4, capabilities: ["merkle"])
        h.registerWorker("w2", capacity: 1, capabilities: ["merkle", "circom"])
        h.readyCircuit("m", family: "merkle")
        h.readyCircuit("c", family: "circom", worker: "w2")
        for id in ["j1", "j2", "j3"] { _ = h.submit(id, circuit: "m") }
        _ = h.submit("k1", circuit: "c")
        for id in ["j4", "j5", "j6"] { _ = h.submit(id, circuit: "m") }
        let commands = policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now)
        let pairs = commands.compactMap { command -> String? in
            guard case .assign(let job, let worker, let attempt, let lease, _) = command else { return nil }
            #expect(attempt == 1)
            #expect(lease == h.now.adding(milliseconds: 30_000))
            return "\(job)→\(worker)"
        }
        // w1 (0/4) takes j1; then w2 (0/1) beats w1 (1/4); then w1 takes the rest of its slots.
        // k1 needs circom, which only the full w2 has, so it waits; j6 finds no slot.
        #expect(pairs == ["j1→w1", "j2→w2", "j3→w1", "j4→w1", "j5→w1"])
        for command in commands { #expect(h.run(command) == .applied) }
        #expect(policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now).isEmpty)
    }

    @Test("a round decided while the last one commits skips its jobs and counts its slots")
    func proposedAssignments() {
        var h = Harness()
        h.registerWorker("w1", capacity: 2)
        h.registerWorker("w2", capacity: 2)
        h.readyCircuit()
        for id in ["j1", "j2", "j3", "j4", "j5"] { _ = h.submit(id) }
        let first = policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now)
        #expect(pairs(first) == ["j1→w1", "j2→w2", "j3→w1", "j4→w2"])
        // j1 and j2 are still being committed: they are not assigned twice, and w1 and w2
        // each have one slot left for the next round.
        let inFlight = [JobID("j1"): WorkerID("w1"), JobID("j2"): WorkerID("w2")]
        let second = policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now, proposed: inFlight)
        #expect(pairs(second) == ["j3→w1", "j4→w2"])
        // Once j1 applied, its slot counts through the state, not twice.
        #expect(h.run(first[0]) == .applied)
        let third = policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now, proposed: inFlight)
        #expect(pairs(third) == ["j3→w1", "j4→w2"])
        // Everything proposed: nothing left for anyone.
        let all = Dictionary(uniqueKeysWithValues: assigned(first).map { ($0.job, $0.worker) })
        #expect(policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now, proposed: all).isEmpty)
    }

    @Test("a new submission carries its assignment only when it overtakes nobody and a slot is free")
    func immediateAssignments() {
        var h = Harness()
        h.registerWorker("w1", capacity: 2)
        h.readyCircuit()
        func submission(_ id: String, circuit: String = "merkle-2", key: String? = nil) -> JobSubmission {
            JobSubmission(
                id: JobID(id), circuit: CircuitID(circuit), inputs: [], idempotencyKey: key, maxRetries: 3,
                deadline: nil, liveJobLimit: 1_000, at: h.now)
        }
        func immediate(_ submissions: [JobSubmission], proposed: [JobID: WorkerID] = [:]) -> [String] {
            let commands = policy.immediateAssignments(
                of: submissions, in: h.state, liveness: everyoneActive(h), at: h.now, proposed: proposed)
            for case .assign(_, _, let attempt, let lease, let at) in commands {
                #expect(attempt == 1 && at == h.now && lease == h.now.adding(milliseconds: 30_000))
            }
            return pairs(commands)
        }
        // A free slot and nothing queued: the first two take the slots, the third waits.
        #expect(immediate([submission("a"), submission("b"), submission("c")]) == ["a→w1", "b→w1"])
        // A circuit without keys, and a key already used (or used twice in one entry), wait too.
        #expect(immediate([submission("d", circuit: "unknown")]).isEmpty)
        _ = h.submit("keyed", key: "k1")
        #expect(h.run(h.assign("keyed", to: "w1", attempt: 1)) == .applied)
        #expect(immediate([submission("e", key: "k1")]).isEmpty)
        #expect(immediate([submission("f", key: "k2"), submission("g", key: "k2")]) == ["f→w1"])
        // A job already waiting would be overtaken: nothing rides along...
        _ = h.submit("queued")
        #expect(immediate([submission("h")]).isEmpty)
        // ...unless that job's own assignment is already on its way, whose slot then counts.
        #expect(immediate([submission("h")], proposed: [JobID("queued"): WorkerID("w1")]).isEmpty)
        h.registerWorker("w2", capacity: 1)
        #expect(immediate([submission("h")], proposed: [JobID("queued"): WorkerID("w1")]) == ["h→w2"])
    }

    @Test("jobs of a circuit without keys wait; its setup job is what runs")
    func waitsForSetup() {
        var h = Harness()
        h.registerWorker("w1", capacity: 4)
        h.run(
            .registerCircuit(
                CircuitRegistration(
                    id: CircuitID("c"), family: "circom", definition: [], setupJob: JobID("s"), at: h.now)))
        _ = h.submit("j", circuit: "c")
        let commands = policy.assignments(in: h.state, liveness: everyoneActive(h), at: h.now)
        #expect(commands.count == 1)
        guard case .assign(let job, _, _, _, _) = commands.first else { return }
        #expect(job == JobID("s"))
    }

    @Test("suspect and lost workers get no new jobs")
    func onlyActiveWorkers() {
        var h = Harness()
        h.registerWorker("w1")
        h.registerWorker("w2")
        h.readyCircuit()
        _ = h.submit("j")
        var liveness = WorkerLiveness(leaderSince: h.now, heartbeatTimeoutMilliseconds: 1_000)
        h.advance(milliseconds: 1_500)
        liveness.heard(from: WorkerID("w2"), at: h.now)
        #expect(liveness.health(of: WorkerID("w1"), at: h.now) == .suspect)
        let commands = policy.assignments(in: h.state, liveness: liveness, at: h.now)
        guard case .assign(_, let worker, _, _, _) = commands.first, commands.count == 1 else {
            Issue.record("expected one assignment, got \(commands)")
            return
        }
        #expect(worker == WorkerID("w2"))
    }

    @Test("liveness: active, suspect after the timeout, lost after three; a new leader grants a full grace period")
    func liveness() {
        let start = Timestamp(milliseconds: 10_000)
        var liveness = WorkerLiveness(leaderSince: start, heartbeatTimeoutMilliseconds: 1_000)
        let w = WorkerID("w")
        #expect(liveness.health(of: w, at: start.adding(milliseconds: 1_000)) == .active)
        #expect(liveness.health(of: w, at: start.adding(milliseconds: 1_001)) == .suspect)
        #expect(liveness.health(of: w, at: start.adding(milliseconds: 3_000)) == .suspect)
        #expect(liveness.health(of: w, at: start.adding(milliseconds: 3_001)) == .lost)
        liveness.heard(from: w, at: start.adding(milliseconds: 2_500))
        liveness.heard(from: w, at: start.adding(milliseconds: 2_000))  // out of order: ignored
        #expect(liveness.lastHeard(from: w) == start.adding(milliseconds: 2_500))
        #expect(liveness.health(of: w, at: start.adding(milliseconds: 3_001)) == .active)
        // Heard long ago under an earlier leader: counted from this leader's start.
        var next = WorkerLiveness(leaderSince: start.adding(milliseconds: 60_000), heartbeatTimeoutMilliseconds: 1_000)
        next.heard(from: w, at: start)
        #expect(next.health(of: w, at: start.adding(milliseconds: 60_500)) == .active)
        next.forget(w)
        #expect(next.lastHeard(from: w) == next.leaderSince)
    }

    @Test("expirations: lost workers, passed deadlines and run-out leases, each once")
    func expirations() {
        var h = Harness()
        h.registerWorker("alive", capacity: 4)
        h.registerWorker("silent", capacity: 4)
        h.readyCircuit(worker: "alive")
        let deadline = h.now.adding(milliseconds: 5_000)
        _ = h.submit("late", deadline: deadline)
        _ = h.submit("leased")
        _ = h.submit("fresh")
        _ = h.submit("orphan")
        h.run(h.assign("late", to: "alive", attempt: 1))
        h.run(h.assign("leased", to: "alive", attempt: 1))
        h.run(h.assign("orphan", to: "silent", attempt: 1))
        var liveness = WorkerLiveness(leaderSince: h.now, heartbeatTimeoutMilliseconds: 10_000)
        h.advance(milliseconds: 25_000)
        h.run(h.assign("fresh", to: "alive", attempt: 1))
        h.advance(milliseconds: 6_000)
        liveness.heard(from: WorkerID("alive"), at: h.now)
        let commands = policy.expirations(in: h.state, liveness: liveness, at: h.now)
        #expect(
            commands == [
                .removeWorker(worker: WorkerID("silent"), reason: "no heartbeat for 31000 ms", at: h.now),
                .expireDeadline(job: JobID("late"), at: h.now),
                .expireAttempt(job: JobID("leased"), attempt: 1, at: h.now),
            ])
        for command in commands { #expect(h.run(command) == .applied) }
        #expect(h.job("orphan").status == .pending)
        #expect(h.job("leased").status == .pending)
        #expect(h.job("late").status == .failed)
        #expect(h.job("fresh").status == .assigned)
        #expect(policy.expirations(in: h.state, liveness: liveness, at: h.now).isEmpty)
    }
}
