import Scheduler
import Testing

@Suite("Scheduler encodings")
struct EncodingTests {
    static let at = Timestamp(milliseconds: 1_700_000_000_123)
    static let commands: [SchedulerCommand] = [
        .submit(
            JobSubmission(
                id: JobID("0b6c1f4e-5d0e-4c3a-9d53-1a2b3c4d5e6f"), circuit: CircuitID("merkle-mimc-20"),
                inputs: [1, 2, 3],
                idempotencyKey: "sha256:abc", idempotencyWindowMilliseconds: 300_000, maxRetries: 3,
                deadline: Timestamp(milliseconds: -5), liveJobLimit: 77, at: at)),
        .submit(JobSubmission(id: JobID("j"), circuit: CircuitID("c"), inputs: [], at: at)),
        .cancel(job: JobID("j"), reason: "client: ✓ unicode", at: at),
        .assign(
            job: JobID("j"), worker: WorkerID("w"), attempt: 4, leaseExpiresAt: Timestamp(milliseconds: .max), at: at),
        .start(job: JobID("j"), worker: WorkerID("w"), attempt: 4, leaseExpiresAt: at, at: at),
        .complete(job: JobID("j"), worker: WorkerID("w"), attempt: 1, result: proof, at: at),
        .complete(job: JobID("j"), worker: WorkerID("w"), attempt: 1, result: keys, at: at),
        .fail(
            job: JobID("j"), worker: WorkerID("w"), attempt: 2, reason: "leaf 3 is not hex", deterministic: true, at: at
        ),
        .expireAttempt(job: JobID("j"), attempt: 9, at: at),
        .expireDeadline(job: JobID("j"), at: at),
        .registerWorker(
            WorkerRegistration(
                id: WorkerID("worker-1"), address: "10.0.0.2:9092", capacity: 4, capabilities: ["merkle", "circom"],
                at: at)),
        .removeWorker(worker: WorkerID("worker-1"), reason: "drained", at: at),
        .registerCircuit(
            CircuitRegistration(
                id: CircuitID("c"), family: "circom", definition: Array(repeating: 0xff, count: 1000),
                setupJob: JobID("s"),
                setupMaxRetries: 1, at: at)),
        .archive(upTo: .max, at: at),
        .batch([
            .submit(JobSubmission(id: JobID("j1"), circuit: CircuitID("c"), inputs: [7], at: at)),
            .cancel(job: JobID("j0"), reason: "r", at: at),
        ]),
    ]

    @Test("every command decodes to itself", arguments: commands)
    func commandRoundTrip(_ command: SchedulerCommand) throws {
        #expect(try SchedulerCommand(decoding: command.encoded) == command)
        #expect(command.at == Self.at)
    }

    @Test("a truncated or extended command is refused with the field that was wrong", arguments: commands)
    func malformedCommands(_ command: SchedulerCommand) {
        let bytes = command.encoded
        for length in 0..<bytes.count {
            #expect(throws: SchedulerDecodingError.self) { try SchedulerCommand(decoding: Array(bytes[..<length])) }
        }
        #expect(throws: SchedulerDecodingError(reason: "1 bytes after the end of the command")) {
            try SchedulerCommand(decoding: bytes + [0])
        }
    }

    @Test("a batch inside a batch is refused, as bytes and as a value")
    func nestedBatches() {
        let inner = SchedulerCommand.batch([.archive(upTo: 1, at: Self.at)])
        var writer = [UInt8]([13, 1, 0, 0, 0])
        let innerBytes = inner.encoded
        writer += withUnsafeBytes(of: UInt32(innerBytes.count).littleEndian, Array.init) + innerBytes
        #expect(throws: SchedulerDecodingError(reason: "a batch holds no batch")) {
            try SchedulerCommand(decoding: writer)
        }
        #expect(throws: SchedulerDecodingError(reason: "a batch holds no batch")) {
            try SchedulerOutcome(decoding: [5, 1, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0, 0, 0])
        }
        var state = SchedulerState()
        let before = state.snapshot()
        #expect(
            state.apply(.batch([inner]), index: 1) == .batch([.rejected(.invalidCommand("a batch holds no batch"))]))
        var expected = SchedulerState()
        expected.apply(.batch([]), index: 1)
        #expect(state.snapshot() == expected.snapshot())
        #expect(before != state.snapshot())
    }

    @Test("an unknown tag, a bad boolean and invalid UTF-8 are named")
    func namedErrors() {
        #expect(throws: SchedulerDecodingError(reason: "unknown command tag 99")) {
            try SchedulerCommand(decoding: [99])
        }
        var fail = SchedulerCommand.fail(
            job: JobID("j"), worker: WorkerID("w"), attempt: 1, reason: "r", deterministic: true, at: Self.at
        ).encoded
        fail[fail.count - 9] = 7
        #expect(throws: SchedulerDecodingError(reason: "deterministic is 7, not a boolean")) {
            try SchedulerCommand(decoding: fail)
        }
        #expect(throws: SchedulerDecodingError(reason: "job id is not UTF-8")) {
            try SchedulerCommand(decoding: [8, 1, 0, 0, 0, 0xff] + Array(repeating: 0, count: 8))
        }
        #expect(throws: SchedulerDecodingError(reason: "capabilities claims 4294967295 elements in 8 bytes")) {
            try SchedulerCommand(
                decoding: [9, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
                    + Array(repeating: 0, count: 8))
        }
    }

    static let outcomes: [SchedulerOutcome] = [
        .applied, .submitted(JobID("a")), .duplicate(JobID("b")),
        .rejected(.unknownJob(JobID("j"))), .rejected(.unknownWorker(WorkerID("w"))),
        .rejected(.unknownCircuit(CircuitID("c"))), .rejected(.jobExists(JobID("j"))),
        .rejected(.circuitExists(CircuitID("c"))), .rejected(.liveJobLimitReached(limit: 10)),
        .rejected(.invalidTransition(job: JobID("j"), status: .inProgress, command: "assign")),
        .rejected(.staleAttempt(job: JobID("j"), reported: 1, current: nil)),
        .rejected(.staleAttempt(job: JobID("j"), reported: 1, current: 2)),
        .rejected(.notOwner(job: JobID("j"), worker: WorkerID("x"), owner: WorkerID("w"))),
        .rejected(.notOwner(job: JobID("j"), worker: WorkerID("x"), owner: nil)),
        .rejected(.workerAtCapacity(WorkerID("w"), capacity: 3)),
        .rejected(.workerLacksCapability(WorkerID("w"), family: "circom")),
        .rejected(.circuitNotReady(CircuitID("c"), reason: "its setup has not finished")),
        .rejected(.invalidCommand("why")),
        .batch([.submitted(JobID("a")), .rejected(.liveJobLimitReached(limit: 1)), .duplicate(JobID("b"))]),
        .batch([]),
    ]

    @Test("every outcome decodes to itself", arguments: outcomes)
    func outcomeRoundTrip(_ outcome: SchedulerOutcome) throws {
        #expect(try SchedulerOutcome(decoding: outcome.encoded) == outcome)
        #expect(throws: SchedulerDecodingError.self) { try SchedulerOutcome(decoding: outcome.encoded + [1]) }
    }

    @Test("digests parse from hex and print back in lower case")
    func digests() {
        let hex = "00ff" + String(repeating: "aB", count: 30)
        let digest = ArtifactDigest(hex: hex)
        #expect(digest?.hex == hex.lowercased())
        #expect(ArtifactDigest(hex: String(hex.dropLast())) == nil)
        #expect(ArtifactDigest(hex: String(hex.dropLast()) + "g") == nil)
        #expect(ArtifactDigest(bytes: [1, 2]) == nil)
    }

    @Test("a corrupt snapshot is refused with a reason")
    func corruptSnapshot() throws {
        var h = RejectionTests.populated()
        h.run(.archive(upTo: 0, at: h.now))
        let image = h.state.snapshot()
        #expect(try SchedulerState(snapshot: image).snapshot() == image)
        #expect(throws: SchedulerDecodingError(reason: "snapshot version 9 is not 1")) {
            try SchedulerState(snapshot: [9] + image.dropFirst())
        }
        for length in stride(from: 0, to: image.count, by: 7) {
            #expect(throws: SchedulerDecodingError.self) { try SchedulerState(snapshot: Array(image[..<length])) }
        }
    }
}
