import Scheduler
import Testing

@Suite("Job state machine: idempotent submission, live job limit, archiving")
struct IdempotencyArchiveTests {
    @Test("a key answers with its job within the window, and a new job after it")
    func window() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        #expect(h.submit("a", key: "k") == .submitted(JobID("a")))
        h.advance(milliseconds: 299_999)
        #expect(h.submit("b", key: "k") == .duplicate(JobID("a")))
        #expect(h.state.jobs[JobID("b")] == nil)
        #expect(h.state.job(forIdempotencyKey: "k", at: h.now) == JobID("a"))
        h.advance(milliseconds: 1)
        #expect(h.state.job(forIdempotencyKey: "k", at: h.now) == nil)
        #expect(h.submit("b", key: "k") == .submitted(JobID("b")))
        #expect(h.submit("c", key: "k") == .duplicate(JobID("b")))
        // A job without a key is never a duplicate.
        #expect(h.submit("d") == .submitted(JobID("d")))
    }

    @Test("a completed job keeps answering for its key; a failed or cancelled one does not")
    func terminalJobs() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        _ = h.submit("a", key: "done")
        h.run(h.assign("a", to: "w1", attempt: 1))
        h.run(h.complete("a", by: "w1", attempt: 1))
        #expect(h.submit("a2", key: "done") == .duplicate(JobID("a")))

        _ = h.submit("b", key: "bad", maxRetries: 0)
        h.run(h.assign("b", to: "w1", attempt: 1))
        h.run(h.fail("b", by: "w1", attempt: 1))
        #expect(h.submit("b2", key: "bad") == .submitted(JobID("b2")))

        _ = h.submit("c", key: "gone")
        h.run(.cancel(job: JobID("c"), reason: "changed my mind", at: h.now))
        #expect(h.submit("c2", key: "gone") == .submitted(JobID("c2")))
    }

    @Test("a leader whose clock lags cannot revive an expired key")
    func laggingClock() {
        var h = Harness()
        h.registerWorker("w1")
        h.readyCircuit()
        _ = h.submit("a", key: "k")
        h.advance(milliseconds: 400_000)
        _ = h.submit("x")  // moves the replicated clock past the window
        h.advance(milliseconds: -200_000)
        #expect(h.submit("b", key: "k") == .submitted(JobID("b")))
    }

    @Test("past the live job limit submissions are refused until archiving makes room")
    func liveLimit() {
        var h = Harness()
        h.registerWorker("w1", capacity: 8)
        h.readyCircuit()
        // The completed setup job counts as live until archived.
        #expect(h.submit("a", limit: 3) == .submitted(JobID("a")))
        #expect(h.submit("b", limit: 3) == .submitted(JobID("b")))
        #expect(h.submit("c", limit: 3) == .rejected(.liveJobLimitReached(limit: 3)))
        h.run(h.assign("a", to: "w1", attempt: 1))
        h.run(h.complete("a", by: "w1", attempt: 1))
        let completedAt = h.index
        #expect(h.submit("c", limit: 3) == .rejected(.liveJobLimitReached(limit: 3)))
        h.run(.archive(upTo: completedAt, at: h.now))
        #expect(h.state.jobs[JobID("a")] == nil)
        #expect(h.state.jobs[JobID("setup-merkle-2")] == nil)
        #expect(h.state.archivedThrough == completedAt)
        #expect(h.submit("c", limit: 3) == .submitted(JobID("c")))
    }

    @Test("archive drops only terminal jobs changed at or before the index")
    func archive() {
        var h = Harness()
        h.registerWorker("w1", capacity: 8)
        h.readyCircuit()
        _ = h.submit("early")
        _ = h.submit("late")
        _ = h.submit("open")
        h.run(h.assign("early", to: "w1", attempt: 1))
        h.run(h.complete("early", by: "w1", attempt: 1))
        let cut = h.index
        h.run(.cancel(job: JobID("late"), reason: "x", at: h.now))
        h.run(.archive(upTo: cut, at: h.now))
        #expect(Set(h.state.jobs.keys) == [JobID("late"), JobID("open")])
        // An archive index beyond the log is clamped to the command's own index.
        h.run(.archive(upTo: 1_000_000, at: h.now))
        #expect(Set(h.state.jobs.keys) == [JobID("open")])
        #expect(h.state.archivedThrough == h.index)
        // A report about an archived job names it as unknown.
        #expect(h.run(h.complete("early", by: "w1", attempt: 1)) == .rejected(.unknownJob(JobID("early"))))
    }
}
