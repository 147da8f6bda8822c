import Foundation
import Scheduler
import Storage
import Testing

/// A scheduling state with jobs in every status, made by applying commands.
struct SampleState {
    var state = SchedulerState()
    var index: UInt64 = 0
    let t0 = Timestamp(milliseconds: 1_700_000_000_000)
    let keys = JobResult.keys(
        provingKey: ArtifactDigest(bytes: Array(repeating: 1, count: 32))!,
        verificationKey: ArtifactDigest(bytes: Array(repeating: 2, count: 32))!)

    mutating func run(_ command: SchedulerCommand) {
        index += 1
        let outcome = state.apply(command, index: index)
        switch outcome {
        case .rejected(let why): Issue.record("sample command refused: \(why)")
        default: break
        }
    }

    func at(_ offset: Int64) -> Timestamp { t0.adding(milliseconds: offset) }

    static func make() -> SampleState {
        var s = SampleState()
        s.run(
            .registerWorker(
                WorkerRegistration(
                    id: WorkerID("w1"), address: "10.0.0.1:9092", capacity: 4, capabilities: ["merkle", "circom"],
                    at: s.at(0))))
        s.run(
            .registerWorker(
                WorkerRegistration(id: WorkerID("w2"), address: "", capacity: 1, capabilities: [], at: s.at(0))))
        s.run(
            .registerCircuit(
                CircuitRegistration(
                    id: CircuitID("m"), family: "merkle", definition: Array("{\"depth\":2}".utf8), setupJob: JobID("s"),
                    at: s.at(1))))
        s.run(.assign(job: JobID("s"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(100), at: s.at(2)))
        s.run(.complete(job: JobID("s"), worker: WorkerID("w1"), attempt: 1, result: s.keys, at: s.at(3)))
        s.run(
            .registerCircuit(
                CircuitRegistration(
                    id: CircuitID("c"), family: "circom", definition: [0, 1, 2], setupJob: JobID("s2"), at: s.at(4))))
        for (n, id) in ["a", "b", "c", "d", "e", "f"].enumerated() {
            s.run(
                .submit(
                    JobSubmission(
                        id: JobID(id), circuit: CircuitID("m"), inputs: Array("{\"n\":\(n)}".utf8),
                        idempotencyKey: n == 0 ? "key" : nil, maxRetries: 1,
                        deadline: n == 5 ? s.at(60_000) : nil, at: s.at(10 + Int64(n)))))
        }
        // a: completed after one failed attempt; b: in progress; c: assigned; d: failed for good;
        // e: cancelled; f: pending.
        s.run(.assign(job: JobID("a"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(500), at: s.at(20)))
        s.run(.start(job: JobID("a"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(900), at: s.at(21)))
        s.run(
            .fail(
                job: JobID("a"), worker: WorkerID("w1"), attempt: 1, reason: "oom", deterministic: false, at: s.at(22)))
        s.run(.assign(job: JobID("a"), worker: WorkerID("w1"), attempt: 2, leaseExpiresAt: s.at(500), at: s.at(23)))
        s.run(
            .complete(
                job: JobID("a"), worker: WorkerID("w1"), attempt: 2,
                result: .proof(proof: Array(repeating: 9, count: 256), publicInputs: Array("[\"7\"]".utf8)),
                at: s.at(24)))
        s.run(.assign(job: JobID("b"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(500), at: s.at(25)))
        s.run(.start(job: JobID("b"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(900), at: s.at(26)))
        s.run(.assign(job: JobID("c"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(500), at: s.at(27)))
        s.run(.assign(job: JobID("d"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: s.at(500), at: s.at(28)))
        s.run(
            .fail(
                job: JobID("d"), worker: WorkerID("w1"), attempt: 1, reason: "leaf 2 ≥ r", deterministic: true,
                at: s.at(29)))
        s.run(.cancel(job: JobID("e"), reason: "client", at: s.at(30)))
        return s
    }

    var batch: ProjectionBatch {
        ProjectionBatch(
            index: index, jobs: Array(state.jobs.values), workers: Array(state.workers.values),
            circuits: Array(state.circuits.values))
    }
}

@Suite("Storage: job projection")
struct ProjectionTests {
    @Test(
        "every job, attempt, worker and circuit reads back exactly as the state machine held it",
        arguments: Backend.allCases)
    func roundTrip(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            try await Schema.migrate(database)
            let projection = JobProjection(database: database)
            let sample = SampleState.make()
            try await projection.write(sample.batch)
            #expect(try await projection.projectedIndex() == sample.index)
            for job in sample.state.jobs.values {
                #expect(try await projection.job(job.id) == job)
            }
            #expect(try await projection.job(JobID("nope")) == nil)
            #expect(try await projection.circuits() == sample.state.circuits.values.sorted { $0.id < $1.id })
            let workers = try await projection.workers()
            #expect(workers.map(\.worker) == sample.state.workers.values.sorted { $0.id < $1.id })
            #expect(workers.allSatisfy { !$0.removed })
        }
    }

    @Test("an older write never replaces a newer row, and replays change nothing", arguments: Backend.allCases)
    func fencing(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            try await Schema.migrate(database)
            let projection = JobProjection(database: database)
            var sample = SampleState.make()
            let old = sample.batch
            sample.run(
                .assign(
                    job: JobID("f"), worker: WorkerID("w1"), attempt: 1, leaseExpiresAt: sample.at(900),
                    at: sample.at(40)))
            sample.run(.removeWorker(worker: WorkerID("w2"), reason: "drained", at: sample.at(41)))
            var new = sample.batch
            new.removedWorkers = [(WorkerID("w2"), sample.at(41))]
            try await projection.write(new)
            // A deposed leader's late batch, and a replay of the new one.
            try await projection.write(old)
            try await projection.write(new)
            #expect(try await projection.job(JobID("f")) == sample.state.jobs[JobID("f")])
            #expect(try await projection.job(JobID("f"))?.status == .assigned)
            #expect(try await projection.projectedIndex() == new.index)
            let workers = try await projection.workers()
            #expect(workers.first { $0.worker.id == WorkerID("w2") }?.removed == true)
            #expect(workers.first { $0.worker.id == WorkerID("w1") }?.worker.activeJobs == 3)
        }
    }

    @Test("listing: newest first, filtered by status and circuit, paged by cursor", arguments: Backend.allCases)
    func listing(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            try await Schema.migrate(database)
            let projection = JobProjection(database: database)
            let sample = SampleState.make()
            try await projection.write(sample.batch)
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await projection.jobs(circuit: CircuitID("m"), cursor: cursor, limit: 4)
                seen += page.jobs.map(\.id.rawValue)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == ["f", "e", "d", "c", "b", "a", "s"])
            let failed = try await projection.jobs(status: .failed, limit: 10)
            #expect(failed.jobs.map(\.id) == [JobID("d")] && failed.nextCursor == nil)
            #expect(failed.jobs.first?.attempts.count == 1)
            let all = try await projection.jobs(limit: 100)
            #expect(all.jobs.count == sample.state.jobs.count)
            await #expect(throws: StorageError.self) { try await projection.jobs(cursor: "garbage", limit: 1) }
        }
    }
}

@Suite("Storage: artifacts")
struct ArtifactTests {
    @Test("artifacts round-trip in chunks, by digest, once", arguments: Backend.allCases)
    func roundTrip(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            try await Schema.migrate(database)
            let store = ArtifactStore(database: database, chunkSize: 1_000)
            let bytes = (0..<2_500).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let at = Timestamp(milliseconds: 1)
            let digest = try await store.put(bytes, at: at)
            #expect(digest == ArtifactStore.digest(of: bytes))
            #expect(try await store.put(bytes, at: at) == digest)
            #expect(try await store.size(of: digest) == 2_500)
            #expect(try await store.chunkCount(of: digest) == 3)
            #expect(try await store.chunk(2, of: digest) == Array(bytes[2_000...]))
            #expect(try await store.get(digest) == bytes)
            let empty = try await store.put([], at: at)
            #expect(try await store.get(empty) == [])
            #expect(empty.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            let missing = ArtifactDigest(bytes: Array(repeating: 0, count: 32))!
            #expect(try await store.get(missing) == nil)
            #expect(try await store.size(of: missing) == nil)
        }
    }

    @Test("a chunk altered in the database is caught on read", arguments: Backend.allCases)
    func corruption(_ backend: Backend) async throws {
        try await withFreshDatabase(backend) { database in
            try await Schema.migrate(database)
            let store = ArtifactStore(database: database, chunkSize: 4)
            let digest = try await store.put(Array("proving key bytes".utf8), at: Timestamp(milliseconds: 1))
            try await database.execute(
                "UPDATE artifact_chunks SET data = $1 WHERE digest = $2 AND chunk = 1",
                [.blob([0, 0, 0, 0]), .text(digest.hex)])
            await #expect(throws: StorageError.artifactCorrupt(digest: digest.hex)) { try await store.get(digest) }
        }
    }
}

@Suite("Storage: SQLite file")
struct SQLiteFileTests {
    @Test("a projection written to a file is there after the file is reopened")
    func persistence() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkp-\(UInt64.random(in: 0...UInt64.max)).sqlite"
        ).path
        defer {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        }
        let sample = SampleState.make()
        let first = try await SQLiteDatabase.open(path: path, logger: quietLogger)
        try await Schema.migrate(first)
        try await JobProjection(database: first).write(sample.batch)
        try await first.close()
        let second = try await SQLiteDatabase.open(path: path, logger: quietLogger)
        #expect(try await Schema.version(of: second) == Schema.newestVersion)
        #expect(try await JobProjection(database: second).job(JobID("a")) == sample.state.jobs[JobID("a")])
        try await second.close()
    }
}
