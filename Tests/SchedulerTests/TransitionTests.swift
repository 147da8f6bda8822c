import Scheduler
import Testing

@Suite("Job state machine: transitions")
struct TransitionTests {
    @Test("a job goes pending → assigned → in_progress → completed, and its worker's slot is freed")
    func happyPath() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        #expect(h.submit("j1") == .submitted(JobID("j1")))
        #expect(h.job("j1").status == .pending)
        #expect(h.state.pendingJobs.map(\.id) == [JobID("j1")])

        #expect(h.run(h.assign("j1", to: "w1", attempt: 1)) == .applied)
        #expect(h.job("j1").status == .assigned)
        #expect(h.job("j1").worker == WorkerID("w1"))
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 1)
        #expect(h.state.runningJobs == [JobID("j1")])
        #expect(h.state.pendingCount == 0)

        h.advance(milliseconds: 10)
        #expect(h.run(h.start("j1", by: "w1", attempt: 1)) == .applied)
        #expect(h.job("j1").status == .inProgress)
        #expect(h.job("j1").attempts[0].startedAt == h.now)

        h.advance(milliseconds: 500)
        #expect(h.run(h.complete("j1", by: "w1", attempt: 1)) == .applied)
        let job = h.job("j1")
        #expect(job.status == .completed)
        #expect(job.result == proof)
        #expect(job.attempts[0].outcome == .completed)
        #expect(job.attempts[0].endedAt == h.now)
        #expect(job.updatedIndex == h.index)
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 0)
        #expect(h.state.runningJobs.isEmpty)
    }

    @Test("a batch applies each command on its own: a refused one changes nothing, the others apply")
    func batch() {
        var h = Harness()
        h.registerWorker("w1", capacity: 2, capabilities: ["merkle"])
        h.readyCircuit()
        func submission(_ id: String, circuit: String = "merkle-2") -> SchedulerCommand {
            .submit(
                JobSubmission(
                    id: JobID(id), circuit: CircuitID(circuit), inputs: Array("{\"leaves\":[\"01\"]}".utf8), at: h.now))
        }
        let outcome = h.run(
            .batch([submission("a"), submission("b", circuit: "nope"), submission("a"), submission("c")]))
        #expect(
            outcome
                == .batch([
                    .submitted(JobID("a")), .rejected(.unknownCircuit(CircuitID("nope"))),
                    .rejected(.jobExists(JobID("a"))), .submitted(JobID("c")),
                ]))
        #expect(h.state.jobs[JobID("a")]?.status == .pending)
        #expect(h.state.jobs[JobID("b")] == nil)
        #expect(h.state.jobs[JobID("c")]?.status == .pending)
        #expect(h.state.pendingCount == 2)
        #expect(h.state.appliedIndex == h.index)
        // The byte form applies alike.
        var replica = Harness()
        replica.registerWorker("w1", capacity: 2, capabilities: ["merkle"])
        replica.readyCircuit()
        replica.index += 1
        let replayed = replica.state.apply(encoded: h.log.last!.encoded, index: replica.index)
        #expect(replayed == outcome)
        #expect(replica.state.snapshot() == h.state.snapshot())
    }

    @Test("a circuit becomes provable when its setup job completes with keys")
    func circuitSetup() {
        var h = Harness()
        h.registerWorker("w1")
        #expect(
            h.run(
                .registerCircuit(
                    CircuitRegistration(
                        id: CircuitID("c"), family: "circom", definition: [1, 2], setupJob: JobID("s"), at: h.now)))
                == .applied)
        #expect(h.state.circuits[CircuitID("c")]!.status == .awaitingSetup(job: JobID("s")))
        #expect(h.job("s").kind == .setup)
        #expect(h.job("s").inputs == [1, 2])
        // Proof jobs wait for the keys: accepted, but not assignable.
        #expect(h.submit("j", circuit: "c") == .submitted(JobID("j")))
        #expect(
            h.run(h.assign("j", to: "w1", attempt: 1))
                == .rejected(.circuitNotReady(CircuitID("c"), reason: "its setup has not finished")))
        #expect(h.run(h.assign("s", to: "w1", attempt: 1)) == .applied)
        #expect(
            h.run(h.complete("s", by: "w1", attempt: 1))
                == .rejected(.invalidCommand("job s is a setup job but the result holds a proof")))
        #expect(
            h.run(.complete(job: JobID("s"), worker: WorkerID("w1"), attempt: 1, result: keys, at: h.now)) == .applied)
        guard case .keys(let pk, let vk) = keys else { return }
        #expect(h.state.circuits[CircuitID("c")]!.status == .ready(provingKey: pk, verificationKey: vk))
        #expect(h.run(h.assign("j", to: "w1", attempt: 1)) == .applied)
        #expect(
            h.run(.complete(job: JobID("j"), worker: WorkerID("w1"), attempt: 1, result: keys, at: h.now))
                == .rejected(.invalidCommand("job j is a proof job but the result holds keys")))
    }

    @Test("a failed setup fails the circuit and every job waiting for it, and refuses new ones")
    func setupFailure() {
        var h = Harness()
        h.registerWorker("w1")
        h.run(
            .registerCircuit(
                CircuitRegistration(
                    id: CircuitID("c"), family: "circom", definition: [], setupJob: JobID("s"), setupMaxRetries: 0,
                    at: h.now)))
        _ = h.submit("j", circuit: "c")
        h.run(h.assign("s", to: "w1", attempt: 1))
        h.run(h.fail("s", by: "w1", attempt: 1, deterministic: true))
        #expect(h.job("s").status == .failed)
        guard case .setupFailed(let reason) = h.state.circuits[CircuitID("c")]!.status else {
            Issue.record("circuit not failed")
            return
        }
        #expect(reason.contains("prover crashed"))
        #expect(h.job("j").status == .failed)
        #expect(h.job("j").failureReason!.contains("circuit c setup failed"))
        #expect(h.state.pendingCount == 0)
        guard case .rejected(.circuitNotReady(let circuit, _)) = h.submit("k", circuit: "c") else {
            Issue.record("submission accepted for a failed circuit")
            return
        }
        #expect(circuit == CircuitID("c"))
    }

    @Test("a retryable failure requeues with the next attempt until max_retries, then fails with every reason")
    func retries() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        _ = h.submit("j", maxRetries: 2)
        for attempt in UInt32(1)...3 {
            #expect(h.run(h.assign("j", to: "w1", attempt: attempt)) == .applied)
            #expect(h.run(h.start("j", by: "w1", attempt: attempt)) == .applied)
            h.advance(milliseconds: 100)
            #expect(h.run(h.fail("j", by: "w1", attempt: attempt)) == .applied)
            #expect(h.job("j").status == (attempt < 3 ? .pending : .failed))
        }
        let job = h.job("j")
        #expect(job.attempts.map(\.number) == [1, 2, 3])
        #expect(
            job.failureReason
                == "attempt 1 on w1: prover crashed; attempt 2 on w1: prover crashed; attempt 3 on w1: prover crashed; "
                + "no retries left (max_retries 2)")
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 0)
    }

    @Test("a deterministic failure (bad input) is not retried")
    func deterministicFailure() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        _ = h.submit("j", maxRetries: 5)
        h.run(h.assign("j", to: "w1", attempt: 1))
        #expect(h.run(h.fail("j", by: "w1", attempt: 1, deterministic: true)) == .applied)
        #expect(h.job("j").status == .failed)
        #expect(h.job("j").failureReason == "attempt 1 on w1: prover crashed; not retried (bad input)")
        #expect(h.job("j").attempts[0].outcome == .failed(reason: "prover crashed", deterministic: true))
    }

    @Test("an expired lease requeues the job; expiry before the lease ends is refused")
    func leaseExpiry() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        _ = h.submit("j", maxRetries: 1)
        h.run(h.assign("j", to: "w1", attempt: 1))
        let lease = h.job("j").attempts[0].leaseExpiresAt
        h.advance(milliseconds: 29_999)
        #expect(
            h.run(.expireAttempt(job: JobID("j"), attempt: 1, at: h.now))
                == .rejected(.invalidCommand("the lease of attempt 1 of job j runs until \(lease)")))
        h.advance(milliseconds: 1)
        #expect(h.run(.expireAttempt(job: JobID("j"), attempt: 1, at: h.now)) == .applied)
        #expect(h.job("j").status == .pending)
        #expect(
            h.job("j").attempts[0].outcome == .expired(reason: "not started by \(lease.milliseconds) (lease expired)"))
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 0)
        // The second attempt runs out too: no retries are left.
        h.run(h.assign("j", to: "w1", attempt: 2))
        h.run(h.start("j", by: "w1", attempt: 2))
        h.advance(milliseconds: 300_000)
        #expect(h.run(.expireAttempt(job: JobID("j"), attempt: 2, at: h.now)) == .applied)
        #expect(h.job("j").status == .failed)
        #expect(h.job("j").failureReason!.hasSuffix("no retries left (max_retries 1)"))
        #expect(
            h.run(.expireAttempt(job: JobID("j"), attempt: 2, at: h.now))
                == .rejected(.staleAttempt(job: JobID("j"), reported: 2, current: nil)))
    }

    @Test("a passed deadline fails the job, running or not")
    func deadline() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        let deadline = h.now.adding(milliseconds: 1_000)
        _ = h.submit("j", deadline: deadline)
        #expect(h.state.jobsWithDeadline == [JobID("j")])
        h.run(h.assign("j", to: "w1", attempt: 1))
        #expect(
            h.run(.expireDeadline(job: JobID("j"), at: h.now))
                == .rejected(.invalidCommand("job j has no deadline before \(h.now.milliseconds)")))
        h.advance(milliseconds: 1_000)
        #expect(h.run(.expireDeadline(job: JobID("j"), at: h.now)) == .applied)
        #expect(h.job("j").status == .failed)
        #expect(h.job("j").failureReason!.hasSuffix("deadline \(deadline.milliseconds) passed"))
        #expect(h.state.jobsWithDeadline.isEmpty)
        #expect(h.state.runningJobs.isEmpty)
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 0)
        #expect(
            h.run(.expireDeadline(job: JobID("j"), at: h.now))
                == .rejected(.invalidTransition(job: JobID("j"), status: .failed, command: "expire its deadline")))
    }

    @Test("cancel works on pending, assigned and in-progress jobs and never on finished ones")
    func cancel() {
        var h = Harness()
        h.registerWorker("w1", capacity: 4)
        h.readyCircuit()
        for id in ["a", "b", "c", "d"] { _ = h.submit(id) }
        h.run(h.assign("b", to: "w1", attempt: 1))
        h.run(h.assign("c", to: "w1", attempt: 1))
        h.run(h.start("c", by: "w1", attempt: 1))
        h.run(h.assign("d", to: "w1", attempt: 1))
        h.run(h.complete("d", by: "w1", attempt: 1))
        for id in ["a", "b", "c"] {
            #expect(h.run(.cancel(job: JobID(id), reason: "client asked", at: h.now)) == .applied)
            #expect(h.job(id).status == .cancelled)
            #expect(h.job(id).failureReason == "client asked")
        }
        #expect(h.job("b").attempts[0].outcome == .abandoned(reason: "cancelled: client asked"))
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 0)
        #expect(h.state.pendingCount == 0)
        #expect(
            h.run(.cancel(job: JobID("d"), reason: "late", at: h.now))
                == .rejected(.invalidTransition(job: JobID("d"), status: .completed, command: "cancel")))
        #expect(
            h.run(.cancel(job: JobID("zz"), reason: "x", at: h.now)) == .rejected(.unknownJob(JobID("zz"))))
        // A report from the cancelled attempt is refused.
        #expect(
            h.run(h.complete("c", by: "w1", attempt: 1))
                == .rejected(.staleAttempt(job: JobID("c"), reported: 1, current: nil)))
    }

    @Test("removing a worker requeues its running jobs in id order and frees nothing twice")
    func removeWorker() {
        var h = Harness()
        h.registerWorker("w1", capacity: 3)
        h.registerWorker("w2", capacity: 3)
        h.readyCircuit()
        for id in ["c", "a", "b"] { _ = h.submit(id) }
        h.run(h.assign("c", to: "w2", attempt: 1))
        h.run(h.assign("a", to: "w2", attempt: 1))
        h.run(h.start("a", by: "w2", attempt: 1))
        h.run(h.assign("b", to: "w1", attempt: 1))
        #expect(h.run(.removeWorker(worker: WorkerID("w2"), reason: "no heartbeat", at: h.now)) == .applied)
        #expect(h.state.workers[WorkerID("w2")] == nil)
        #expect(h.state.pendingJobs.map(\.id) == [JobID("a"), JobID("c")])
        #expect(h.job("a").attempts[0].outcome == .expired(reason: "worker w2 removed: no heartbeat"))
        #expect(h.job("b").status == .assigned)
        #expect(h.state.runningJobs == [JobID("b")])
        // The removed worker's late report is refused; the job goes to the next attempt.
        #expect(
            h.run(h.complete("a", by: "w2", attempt: 1))
                == .rejected(.staleAttempt(job: JobID("a"), reported: 1, current: nil)))
        #expect(h.run(h.assign("a", to: "w1", attempt: 2)) == .applied)
        #expect(
            h.run(h.complete("a", by: "w2", attempt: 1))
                == .rejected(.staleAttempt(job: JobID("a"), reported: 1, current: 2)))
        #expect(
            h.run(.removeWorker(worker: WorkerID("w2"), reason: "again", at: h.now))
                == .rejected(.unknownWorker(WorkerID("w2"))))
    }

    @Test("re-registering a worker updates its figures and keeps its running jobs")
    func reRegister() {
        var h = Harness()
        h.registerWorker("w1", capacity: 1)
        h.readyCircuit()
        _ = h.submit("j")
        _ = h.submit("k")
        h.run(h.assign("j", to: "w1", attempt: 1))
        #expect(h.run(h.assign("k", to: "w1", attempt: 1)) == .rejected(.workerAtCapacity(WorkerID("w1"), capacity: 1)))
        h.registerWorker("w1", capacity: 2, capabilities: ["merkle"])
        #expect(h.state.workers[WorkerID("w1")]!.activeJobs == 1)
        #expect(h.state.workers[WorkerID("w1")]!.capacity == 2)
        #expect(h.run(h.assign("k", to: "w1", attempt: 1)) == .applied)
        #expect(
            h.run(
                .registerWorker(
                    WorkerRegistration(id: WorkerID("w0"), address: "x", capacity: 0, capabilities: [], at: h.now)))
                == .rejected(.invalidCommand("worker w0 registered with capacity 0")))
    }

    @Test("completion is idempotent for the attempt that completed")
    func duplicateCompletion() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        _ = h.submit("j")
        h.run(h.assign("j", to: "w1", attempt: 1))
        #expect(h.run(h.complete("j", by: "w1", attempt: 1)) == .applied)
        let after = h.state.snapshot()
        #expect(h.run(h.complete("j", by: "w1", attempt: 1)) == .duplicate(JobID("j")))
        var expected = try! SchedulerState(snapshot: after)
        expected.apply(.archive(upTo: 0, at: h.now), index: h.index)
        #expect(h.state.snapshot() == expected.snapshot())
        #expect(
            h.run(h.fail("j", by: "w1", attempt: 1))
                == .rejected(.staleAttempt(job: JobID("j"), reported: 1, current: nil)))
    }
}
