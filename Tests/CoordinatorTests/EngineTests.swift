import BN254
import Circuits
import Coordinator
import Foundation
import Groth16
import Logging
import ProvingJobs
import Raft
import RaftNode
import Scheduler
import Storage
import TestSupport
import Testing

/// One coordinator on a single-voter Raft node, with an in-memory artifact store and
/// the Groth16 verifier, its engine running.
struct SingleCoordinator {
    let directory: String
    let node: RaftNode
    let engine: CoordinatorEngine
    let artifacts: ArtifactStore
    let database: SQLiteDatabase
    let runner: Task<Void, Never>

    static func start(heartbeatTimeoutMilliseconds: Int64 = 60_000, policy: SchedulingPolicy = SchedulingPolicy())
        async throws -> SingleCoordinator
    {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("zkp-engine-\(UInt64.random(in: 0...UInt64.max))").path
        var logger = Logger(label: "engine-tests")
        logger.logLevel = ProcessInfo.processInfo.environment["ZKP_TEST_DEBUG"] != nil ? .debug : .warning
        let machine = SchedulerStateMachine()
        let node = try RaftNode(
            config: RaftConfig(id: 1, electionTicks: 10, heartbeatTicks: 2, seed: 1), directory: directory,
            stateMachine: machine, transport: NoNetwork(), bootstrap: Configuration(voters: [1]),
            tickInterval: .milliseconds(5), requestTimeout: .seconds(30), logger: logger)
        await node.start()
        await node.campaign()
        let database = try await SQLiteDatabase.open(path: nil, logger: logger)
        try await Schema.migrate(database)
        let artifacts = ArtifactStore(database: database)
        let engine = CoordinatorEngine(
            machine: machine, consensus: node, verifier: Groth16ResultVerifier(artifacts: artifacts),
            settings: CoordinatorSettings(
                coordinatorID: "coordinator-1", grpcAddresses: [1: "127.0.0.1:9090"],
                heartbeatTimeoutMilliseconds: heartbeatTimeoutMilliseconds, policy: policy, dispatchTickMilliseconds: 20
            ),
            logger: logger)
        let runner = Task { await engine.run() }
        try await eventually("the engine leads") { await engine.isLeading }
        return SingleCoordinator(
            directory: directory, node: node, engine: engine, artifacts: artifacts, database: database, runner: runner)
    }

    func stop() async throws {
        runner.cancel()
        await runner.value
        await node.stop()
        try await database.close()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

func eventually(_ what: String, within seconds: Double = 30, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("timed out waiting until \(what)")
    throw CancellationError()
}

/// The next message on a worker's stream other than a keepalive.
func next(_ iterator: inout AsyncStream<WorkerMessage>.Iterator) async throws -> WorkerMessage {
    while true {
        let message = try #require(await iterator.next(), "the task stream ended")
        if message != .keepalive { return message }
    }
}

/// A worker's proving for the depth-2 Poseidon Merkle circuit, with the keys it made in setup.
struct MerkleProver {
    let circuit: Circuit
    let key: ProvingKey

    static func setUp() async throws -> MerkleProver {
        let circuit = try MerkleCircuit.build(depth: 2, hash: .poseidon)
        var random = SeededRandom.forTest("engine setup")
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &random)
        return MerkleProver(circuit: circuit, key: key)
    }

    /// A proof that leaf `index` of four leaves is in the tree, and the public inputs.
    func prove(leaf index: Int, lyingAboutRoot: Bool = false) async throws -> JobResult {
        let tree = try MerkleTree(hexLeaves: ["01", "02", "03", "04"], hash: .poseidon)
        let path = try tree.path(forLeaf: index)
        let (publicInputs, secretInputs) = MerkleCircuit.inputs(for: path, root: tree.root)
        let witness = try circuit.solve(publicInputs: publicInputs, secretInputs: secretInputs)
        var random = SystemRandomNumberGenerator()
        let proof = try await Groth16.prove(key, witness: witness, using: &random)
        let claimed = lyingAboutRoot ? [tree.root + Fr(1)] : publicInputs
        return .proof(proof: proof.ethereumBytes, publicInputs: PublicSignals.encode(claimed.map(\.decimalString)))
    }
}

@Suite("Coordinator: the engine on one node", .serialized)
struct EngineTests {
    @Test("setup then proofs: assignments arrive on the stream, results are verified, forged and late reports refused")
    func lifecycle() async throws {
        let c = try await SingleCoordinator.start()
        let engine = c.engine
        let w1 = WorkerID("w1")
        try await engine.register(w1, address: "10.0.0.1", capacity: 2, capabilities: ["merkle"])
        try await engine.register(WorkerID("w2"), address: "", capacity: 1, capabilities: [])
        let (_, stream) = try await engine.openStream(for: w1)
        var messages = stream.makeAsyncIterator()

        // Setup runs as a job on the worker; its keys go to the artifact store.
        let circuit = CircuitID("merkle-poseidon-2")
        let setup = try await engine.registerCircuit(circuit, family: "merkle", definition: Array("{\"depth\":2}".utf8))
        guard case .task(let setupJob, let setupAttempt, _) = try await next(&messages) else {
            Issue.record("expected the setup task")
            return
        }
        #expect(setupJob.id == setup && setupJob.kind == .setup && setupAttempt.number == 1)
        _ = try await engine.start(setup, worker: w1, attempt: 1)
        let prover = try await MerkleProver.setUp()
        // Keys that were not uploaded are refused.
        let pk = ArtifactStore.digest(of: prover.key.nativeBytes)
        let vk = ArtifactStore.digest(of: prover.key.verifyingKey.nativeBytes)
        await #expect(throws: CoordinatorError.proofInvalid("artifact \(pk) was not uploaded")) {
            _ = try await engine.complete(
                setup, worker: w1, attempt: 1, result: .keys(provingKey: pk, verificationKey: vk))
        }
        // That failed the attempt; the setup comes back as attempt 2.
        guard case .task(_, let retry, _) = try await next(&messages) else {
            Issue.record("expected the setup task again")
            return
        }
        #expect(retry.number == 2)
        try await c.artifacts.put(prover.key.nativeBytes, at: Timestamp(milliseconds: 1))
        try await c.artifacts.put(prover.key.verifyingKey.nativeBytes, at: Timestamp(milliseconds: 1))
        #expect(
            try await engine.complete(setup, worker: w1, attempt: 2, result: .keys(provingKey: pk, verificationKey: vk))
                == .completed)
        #expect(engine.machine.read { $0.circuits[circuit]?.status } == .ready(provingKey: pk, verificationKey: vk))

        // Proof jobs.
        var submitted: [JobID] = []
        for n in 0..<3 {
            let (job, duplicate) = try await engine.submit(
                circuit: circuit, inputs: Array("{\"leaf\":\(n)}".utf8), idempotencyKey: "request-\(n)", maxRetries: 3,
                deadline: nil)
            #expect(!duplicate)
            submitted.append(job)
        }
        let again = try await engine.submit(
            circuit: circuit, inputs: [], idempotencyKey: "request-1", maxRetries: 3, deadline: nil)
        #expect(again == (submitted[1], true))

        var done: Set<JobID> = []
        var forged = false
        var lied = false
        while done.count < 3 {
            guard case .task(let job, let attempt, _) = try await next(&messages) else { continue }
            _ = try await engine.start(job.id, worker: w1, attempt: attempt.number)
            if !forged {
                forged = true
                let result = try await prover.prove(leaf: 0)
                await #expect(
                    throws: CoordinatorError.rejected(.notOwner(job: job.id, worker: WorkerID("w2"), owner: w1))
                ) {
                    _ = try await engine.complete(
                        job.id, worker: WorkerID("w2"), attempt: attempt.number, result: result)
                }
            }
            if !lied {
                lied = true
                let result = try await prover.prove(leaf: 1, lyingAboutRoot: true)
                await #expect(
                    throws: CoordinatorError.proofInvalid("the proof does not verify under the circuit's key")
                ) {
                    _ = try await engine.complete(job.id, worker: w1, attempt: attempt.number, result: result)
                }
                // The dead attempt's late report is refused; the job comes back as the next attempt.
                let late = try await prover.prove(leaf: 1)
                await #expect(throws: CoordinatorError.self) {
                    _ = try await engine.complete(job.id, worker: w1, attempt: attempt.number, result: late)
                }
                continue
            }
            let result = try await prover.prove(leaf: 2)
            #expect(
                try await engine.complete(job.id, worker: w1, attempt: attempt.number, result: result) == .completed)
            #expect(
                try await engine.complete(job.id, worker: w1, attempt: attempt.number, result: result) == .duplicate)
            done.insert(job.id)
        }
        #expect(done == Set(submitted))
        let jobs = engine.machine.read { state in submitted.map { state.jobs[$0]! } }
        #expect(jobs.allSatisfy { $0.status == .completed })
        #expect(jobs.map(\.attempts.count).sorted() == [1, 1, 2])
        let counters = await engine.counters
        #expect(counters.tasksAssigned == 6)
        try await c.stop()
    }

    @Test("a submission with a free slot is assigned in its own log entry; one behind a queue waits its turn")
    func assignedWithSubmission() async throws {
        let c = try await SingleCoordinator.start()
        let engine = c.engine
        let w = WorkerID("w")
        try await engine.register(w, address: "", capacity: 1, capabilities: ["merkle"])
        let (_, stream) = try await engine.openStream(for: w)
        var messages = stream.makeAsyncIterator()
        let circuit = CircuitID("merkle-poseidon-2")
        let setup = try await engine.registerCircuit(circuit, family: "merkle", definition: Array("{\"depth\":2}".utf8))
        guard case .task(let setupJob, _, _) = try await next(&messages) else {
            Issue.record("expected the setup task")
            return
        }
        #expect(setupJob.id == setup)
        _ = try await engine.start(setup, worker: w, attempt: 1)
        let prover = try await MerkleProver.setUp()
        let pk = try await c.artifacts.put(prover.key.nativeBytes, at: Timestamp(milliseconds: 1))
        let vk = try await c.artifacts.put(prover.key.verifyingKey.nativeBytes, at: Timestamp(milliseconds: 1))
        #expect(
            try await engine.complete(setup, worker: w, attempt: 1, result: .keys(provingKey: pk, verificationKey: vk))
                == .completed)

        func submit() async throws -> JobID {
            try await engine.submit(circuit: circuit, inputs: [], idempotencyKey: nil, maxRetries: 3, deadline: nil).job
        }
        // The slot is free and nothing waits: the job is assigned by the entry that accepts it.
        let first = try await submit()
        let accepted = engine.machine.read { $0.jobs[first]! }
        #expect(accepted.status == .assigned && accepted.updatedIndex == accepted.submittedIndex)
        #expect(accepted.attempts.map(\.assignedAt) == [accepted.submittedAt])
        guard case .task(let delivered, let attempt, _) = try await next(&messages) else {
            Issue.record("expected the first job")
            return
        }
        #expect(delivered.id == first && attempt.number == 1 && attempt.worker == w)

        // The slot is taken: the next two wait, and go in the order they came.
        let second = try await submit()
        let third = try await submit()
        #expect(engine.machine.read { [$0.jobs[second]!.status, $0.jobs[third]!.status] } == [.pending, .pending])
        _ = try await engine.start(first, worker: w, attempt: 1)
        #expect(try await engine.complete(first, worker: w, attempt: 1, result: prover.prove(leaf: 0)) == .completed)
        guard case .task(let next, _, _) = try await next(&messages) else {
            Issue.record("expected the second job")
            return
        }
        #expect(next.id == second)
        let waited = engine.machine.read { $0.jobs[second]! }
        #expect(waited.status == .assigned && waited.updatedIndex > waited.submittedIndex)
        #expect(engine.machine.read { $0.jobs[third]!.status } == .pending)
        try await c.stop()
    }

    @Test("a silent worker is removed after three heartbeat timeouts and its job goes to another")
    func lostWorker() async throws {
        let c = try await SingleCoordinator.start(heartbeatTimeoutMilliseconds: 200)
        let engine = c.engine
        let silent = WorkerID("silent")
        let alive = WorkerID("alive")
        try await engine.register(silent, address: "", capacity: 1, capabilities: ["merkle"])
        let (_, silentStream) = try await engine.openStream(for: silent)
        var silentMessages = silentStream.makeAsyncIterator()
        let setup = try await engine.registerCircuit(CircuitID("c"), family: "merkle", definition: [])
        guard case .task(let job, _, _) = try await next(&silentMessages) else {
            Issue.record("expected a task")
            return
        }
        #expect(job.id == setup)
        _ = try await engine.start(setup, worker: silent, attempt: 1)

        try await engine.register(alive, address: "", capacity: 1, capabilities: ["merkle"])
        let (_, aliveStream) = try await engine.openStream(for: alive)
        let beats = Task {
            while !Task.isCancelled {
                try? await engine.heartbeat(alive)
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        var aliveMessages = aliveStream.makeAsyncIterator()
        guard case .task(let moved, let attempt, _) = try await next(&aliveMessages) else {
            Issue.record("expected the job on the live worker")
            return
        }
        beats.cancel()
        #expect(moved.id == setup && attempt.number == 2 && attempt.worker == alive)
        #expect(engine.machine.read { $0.workers[silent] } == nil)
        let first = engine.machine.read { $0.jobs[setup]!.attempts[0] }
        guard case .expired(let reason)? = first.outcome else {
            Issue.record("first attempt not expired: \(String(describing: first.outcome))")
            return
        }
        #expect(reason.hasPrefix("worker silent removed: no heartbeat for"))
        await #expect(throws: CoordinatorError.rejected(.unknownWorker(silent))) { try await engine.heartbeat(silent) }
        try await c.stop()
    }

    @Test("a job whose start lease runs out is requeued as the next attempt")
    func startLease() async throws {
        let c = try await SingleCoordinator.start(policy: SchedulingPolicy(startLeaseMilliseconds: 100))
        let engine = c.engine
        let w = WorkerID("w")
        try await engine.register(w, address: "", capacity: 1, capabilities: ["merkle"])
        let (_, stream) = try await engine.openStream(for: w)
        var messages = stream.makeAsyncIterator()
        let setup = try await engine.registerCircuit(CircuitID("c"), family: "merkle", definition: [])
        guard case .task(_, let first, _) = try await next(&messages) else { return }
        #expect(first.number == 1)
        // Never started: the lease expires, the worker is told, and the job comes back.
        #expect(try await next(&messages) == .cancel(job: setup, attempt: 1))
        guard case .task(_, let second, _) = try await next(&messages) else {
            Issue.record("expected the job again")
            return
        }
        #expect(second.number == 2)
        await #expect(throws: CoordinatorError.rejected(.staleAttempt(job: setup, reported: 1, current: 2))) {
            _ = try await engine.start(setup, worker: w, attempt: 1)
        }
        try await c.stop()
    }
}
