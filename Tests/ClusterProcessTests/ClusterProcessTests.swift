import BN254
import Circuits
import Foundation
import GRPCCore
import Groth16
import JobClient
import LocalCluster
import RaftNode
import TestSupport
import Testing
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// Three coordinators, two workers and PostgreSQL as real processes on 127.0.0.1, jobs
/// submitted through zkp.JobService; then the same under faults.
@Suite(.serialized, .enabled(if: TestEnvironment.runsPostgresTests, "needs ZKP_TEST_POSTGRES_URL"))
struct ClusterProcessTests {
    static let depth = 3

    /// Submits `count` Merkle jobs (each with its own idempotency key) and returns their
    /// ids with the roots they prove.
    func submit(_ count: Int, circuit: String, jobs: JobClient, from first: Int = 0) async throws -> [(
        id: String, root: Fr
    )] {
        var submitted: [(String, Fr)] = []
        for index in first..<first + count {
            let (inputs, root, _) = merkleRequest(depth: Self.depth, seed: index)
            var request = Zkp_SubmitJobRequest()
            request.circuitID = circuit
            request.inputsJson = inputs
            request.idempotencyKey = "job-\(index)"
            let response = try await jobs.submit(request)
            #expect(!response.duplicate)
            submitted.append((response.job.id, root))
        }
        return submitted
    }

    @Test("50 Merkle jobs through JobService all complete with proofs that verify under the published key")
    func jobsComplete() async throws {
        try await withProvingCluster { cluster in
            let key = try await registerMerkleCircuit(cluster.jobs, id: "merkle-mimc-3", hash: .mimc, depth: Self.depth)
            let submitted = try await submit(50, circuit: "merkle-mimc-3", jobs: cluster.jobs)
            for (id, root) in submitted {
                try expectValidProof(try await cluster.jobs.wait(id, timeout: .seconds(120)), key: key, root: root)
            }
            // A repeated submission answers with the first job.
            var again = Zkp_SubmitJobRequest()
            again.circuitID = "merkle-mimc-3"
            again.inputsJson = merkleRequest(depth: Self.depth, seed: 0).inputs
            again.idempotencyKey = "job-0"
            let duplicate = try await cluster.jobs.submit(again)
            #expect(duplicate.duplicate && duplicate.job.id == submitted[0].id)
            // Bad input is refused before anything is committed, naming the problem.
            var bad = again
            bad.idempotencyKey = "bad"
            bad.inputsJson = Data(#"{"leaves": ["0xzz"], "leaf_index": 0}"#.utf8)
            await #expect {
                _ = try await cluster.jobs.submit(bad)
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("leaf 0")
            }
            let status = try await cluster.jobs.clusterStatus()
            #expect(status.members.count == 3 && status.workers.count == 2)
            #expect(status.workers.allSatisfy { $0.health == "active" })
        }
    }

    @Test("kill -9 the leader mid-run: every acknowledged job completes once, workers follow the new leader")
    func leaderKilled() async throws {
        try await withProvingCluster { cluster in
            let key = try await registerMerkleCircuit(cluster.jobs, id: "m", hash: .mimc, depth: Self.depth)
            var submitted = try await submit(30, circuit: "m", jobs: cluster.jobs)
            let leader = try #require(await cluster.leader())
            cluster.signal(leader, SIGKILL)
            // Submissions during the election are retried by the client until a new leader commits them.
            submitted += try await submit(20, circuit: "m", jobs: cluster.jobs, from: 30)
            let successor = await cluster.waitForLeader(timeout: .seconds(30))
            #expect(successor != nil && successor != leader)
            for (id, root) in submitted {
                let job = try await cluster.jobs.wait(id, timeout: .seconds(120))
                try expectValidProof(job, key: key, root: root)
            }
            try await expectOneResultPerJob(cluster, jobs: submitted.map(\.id))
            // The workers reconnected to the new leader by themselves.
            let status = try await cluster.jobs.clusterStatus()
            #expect(status.workers.filter { $0.health == "active" }.count == 2)
        }
    }

    @Test("kill -9 a worker mid-proof: its job is requeued and completed by the other worker")
    func workerKilled() async throws {
        // A deep tree makes proofs long enough to kill a worker during one.
        try await withProvingCluster(heartbeatTimeout: "1s") { cluster in
            let (id, worker, key, root) = try await deepJobInProgress(cluster, seed: 7, leaf: 5)
            cluster.signal(worker, SIGKILL)
            let job = try await cluster.jobs.wait(id, timeout: .seconds(180))
            try expectValidProof(job, key: key, root: root)
            #expect(job.attempts >= 2 && job.workerID != worker, "completed by the other worker after a requeue")
        }
    }

    @Test("a forged completion and a late report from an expired attempt are refused; malformed messages get codes")
    func forgedAndLateReports() async throws {
        // No workers: a fake one takes the task and lets its start lease expire.
        try await withProvingCluster(workers: 0, extraCoordinatorYAML: "  start_timeout: 1s") { cluster in
            let leaderName = try #require(await cluster.leader())
            let index = try #require(cluster.coordinatorNames.firstIndex(of: leaderName))
            let pool = GRPCClientPool()
            defer { Task { await pool.shutdown() } }
            let worker = Coordinator_CoordinatorService.Client(
                wrapping: try pool.client(for: PeerAddress(host: "127.0.0.1", port: cluster.coordinators[index].grpc)))
            var register = Coordinator_RegisterWorkerRequest()
            register.workerID = "fake"
            register.maxConcurrentTasks = 1
            register.capabilities = ["circuits": "merkle"]
            // The new leader takes a moment to start scheduling; registration waits for it.
            var registered = false
            for _ in 0..<100 where !registered {
                registered = try await worker.registerWorker(register).success
                if !registered { try await Task.sleep(for: .milliseconds(50)) }
            }
            try #require(registered)
            var circuit = Zkp_RegisterCircuitRequest()
            circuit.id = "c"
            circuit.family = "merkle"
            circuit.definition = Data(#"{"hash":"mimc","depth":3}"#.utf8)
            let setup = try await cluster.jobs.registerCircuit(circuit).setupJobID
            var open = Coordinator_ReceiveTasksRequest()
            open.workerID = "fake"
            // The setup task arrives; the fake worker never starts it.
            let first = try await worker.receiveTasks(open) { response in
                for try await assignment in response.messages where assignment.kind == .task { return assignment }
                return Coordinator_TaskAssignment()
            }
            #expect(first.taskID == setup && first.attempt == 1)
            // A report from a worker that does not own the task.
            var forged = Coordinator_TaskCompletionRequest()
            forged.taskID = setup
            forged.workerID = "intruder"
            forged.attempt = 1
            forged.provingKeyDigest = String(repeating: "ab", count: 32)
            forged.verificationKeyDigest = String(repeating: "cd", count: 32)
            let refused = try await worker.reportCompletion(forged)
            #expect(!refused.success && refused.code == .notOwner, "\(refused.message)")
            // After the 1 s start lease the attempt expires; its report is then stale.
            var late = forged
            late.workerID = "fake"
            var answer = Coordinator_TaskCompletionResponse()
            for _ in 0..<100 {
                answer = try await worker.reportCompletion(late)
                if answer.code == .staleAttempt || answer.code == .invalidState { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(!answer.success && [.staleAttempt, .invalidState].contains(answer.code), "\(answer.message)")
            // Malformed fields get INVALID_ARGUMENT with the field named.
            var malformed = Coordinator_TaskCompletionRequest()
            malformed.taskID = setup
            malformed.workerID = "fake"
            malformed.attempt = 0
            let noAttempt = try await worker.reportCompletion(malformed)
            #expect(noAttempt.code == .invalidArgument && noAttempt.message.contains("attempt"))
            malformed.attempt = 2
            malformed.proofData = Data(repeating: 1, count: 10)
            let shortProof = try await worker.reportCompletion(malformed)
            #expect(shortProof.code == .invalidArgument && shortProof.message.contains("proof_data"))
            // Bytes that are not a protobuf message at all are refused by the server.
            let garbage = try await pool.client(
                for: PeerAddress(host: "127.0.0.1", port: cluster.coordinators[index].grpc))
            await #expect {
                try await garbage.unary(
                    request: ClientRequest(message: [UInt8](repeating: 0xff, count: 64)),
                    descriptor: Coordinator_CoordinatorService.Method.ReportCompletion.descriptor,
                    serializer: RawSerializer(), deserializer: RawDeserializer(), options: .defaults
                ) { try $0.message }
            } throws: { error in
                guard let error = error as? RPCError else { return false }
                return error.code == .invalidArgument || error.code == .internalError
            }
            // The cluster is unharmed: the setup job is still live, waiting for a worker.
            let job = try await cluster.jobs.get(setup)
            #expect(["pending", "assigned"].contains(job.status))
        }
    }

    @Test("SIGTERM drains a worker: the proof in flight is finished and reported, then the worker leaves")
    func workerDrained() async throws {
        try await withProvingCluster { cluster in
            let (id, worker, key, root) = try await deepJobInProgress(cluster, seed: 11, leaf: 9)
            // The worker exits only after it has reported and left; it exits cleanly.
            #expect(cluster.signal(worker, SIGTERM) == 0)
            let job = try await cluster.jobs.wait(id, timeout: .seconds(60))
            try expectValidProof(job, key: key, root: root)
            #expect(job.attempts == 1 && job.workerID == worker, "the draining worker finished its own attempt")
            let status = try await cluster.jobs.clusterStatus()
            #expect(!status.workers.contains { $0.id == worker }, "the drained worker left the registry")
        }
    }

    @Test("operator endpoints: /ready, /metrics, 404 for unknown paths, token-protected step-down")
    func operatorEndpoints() async throws {
        try await withProvingCluster(workers: 1) { cluster in
            let leader = try #require(await cluster.leader())
            let port = cluster.coordinators[try #require(cluster.coordinatorNames.firstIndex(of: leader))].http
            #expect(try await cluster.httpRequest(port: port, path: "/ready").status == 200)
            let metrics = String(
                decoding: try await cluster.httpRequest(port: port, path: "/metrics").body, as: UTF8.self)
            for name in [
                "coordinator_workers_total", "coordinator_capacity_used", "zkp_raft_term", "zkp_projection_lag",
            ] {
                #expect(metrics.contains(name), "metrics include \(name)")
            }
            #expect(try await cluster.httpRequest(port: port, path: "/no/such/path").status == 404)
            let refused = try await cluster.httpRequest(
                port: port, method: "POST", path: "/admin/step-down", headers: ["Authorization": "Bearer wrong"])
            #expect(refused.status == 401)
            #expect(await cluster.leader() == leader, "a refused step-down changes nothing")
            let accepted = try await cluster.httpRequest(
                port: port, method: "POST", path: "/admin/step-down", headers: ["Authorization": "Bearer test-token"])
            #expect(accepted.status == 200, "\(String(decoding: accepted.body, as: UTF8.self))")
            /// The leader once it is another than `old` (nil if none is within 5 s).
            func newLeader(after old: String) async throws -> String? {
                for _ in 0..<100 {
                    if let current = await cluster.leader(), current != old { return current }
                    try await Task.sleep(for: .milliseconds(50))
                }
                return nil
            }
            let successor = try await newLeader(after: leader)
            #expect(successor != nil && successor != leader, "leadership moved to another coordinator")

            // The same through `zkp cluster step-down`, which finds the leader by /health.
            let addresses = cluster.coordinators.map { "127.0.0.1:\($0.http)" }.joined(separator: ",")
            let wrong = try DevProcessTests.zkp([
                "cluster", "step-down", "--coordinators", addresses, "--token", "wrong",
            ])
            #expect(wrong.status == 2 && wrong.error.contains("401"), "\(wrong.error)")
            let current = try #require(successor)
            #expect(await cluster.leader() == current, "a refused step-down changes nothing")
            let moved = try DevProcessTests.zkp(
                ["cluster", "step-down", "--coordinators", addresses, "--token", "test-token"])
            #expect(moved.status == 0, "\(moved.error)")
            let next = try await newLeader(after: current)
            #expect(next != nil && next != current, "zkp cluster step-down moved leadership")
        }
    }

    /// Registers a depth-16 Merkle circuit (its proofs take long enough to interrupt),
    /// submits one job, and returns once a worker has started it.
    func deepJobInProgress(_ cluster: LocalProvingCluster, seed: Int, leaf: Int) async throws -> (
        id: String, worker: String, key: VerifyingKey, root: Fr
    ) {
        let depth = 16
        let key = try await registerMerkleCircuit(cluster.jobs, id: "deep", hash: .mimc, depth: depth)
        let leaves = (0..<(1 << depth)).map { String(format: "0x%064x", $0 + seed) }
        let tree = try MerkleTree(hexLeaves: leaves, hash: .mimc)
        var request = Zkp_SubmitJobRequest()
        request.circuitID = "deep"
        request.inputsJson = Data(
            ("{\"leaves\":[" + leaves.map { "\"\($0)\"" }.joined(separator: ",") + "],\"leaf_index\":\(leaf)}").utf8)
        let id = try await cluster.jobs.submit(request).job.id
        for _ in 0..<600 {
            let job = try await cluster.jobs.get(id)
            if job.status == "in_progress" { return (id, job.workerID, key, tree.root) }
            try #require(job.status != "completed", "the job finished before it could be interrupted")
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("job \(id) did not start within 6 s")
    }

    static let postgresControl = ProcessInfo.processInfo.environment["ZKP_TEST_POSTGRES_CTL"]

    @Test(
        "stop PostgreSQL for 20 s: jobs are still accepted and proven; the projection catches up and nothing is lost",
        .enabled(if: postgresControl != nil, "needs ZKP_TEST_POSTGRES_CTL (scripts/test sets it)"))
    func postgresOutage() async throws {
        try await withProvingCluster { cluster in
            let key = try await registerMerkleCircuit(cluster.jobs, id: "m", hash: .mimc, depth: Self.depth)
            // Both workers prove once first, so each holds the proving key before the store goes.
            // Jobs submitted together are spread over the idle workers.
            var workersSeen: Set<String> = []
            var warmUp = 1_000
            while workersSeen.count < 2 && warmUp < 1_040 {
                for (id, root) in try await submit(4, circuit: "m", jobs: cluster.jobs, from: warmUp) {
                    let job = try await cluster.jobs.wait(id, timeout: .seconds(60))
                    try expectValidProof(job, key: key, root: root)
                    workersSeen.insert(job.workerID)
                }
                warmUp += 4
            }
            try #require(workersSeen.count == 2, "both workers proved a job")
            let leader = try #require(await cluster.leader())
            let port = cluster.coordinators[try #require(cluster.coordinatorNames.firstIndex(of: leader))].http
            try runControl("stop")
            let stopped = ContinuousClock.now
            let submitted = try await submit(20, circuit: "m", jobs: cluster.jobs)
            for (id, root) in submitted {
                try expectValidProof(try await cluster.jobs.wait(id, timeout: .seconds(60)), key: key, root: root)
            }
            // The leader's health says the database is down once a projection write times out.
            var sawDown = false
            while !sawDown && ContinuousClock.now < stopped + .seconds(19) {
                let health = try await cluster.httpRequest(port: port, path: "/health")
                sawDown = String(decoding: health.body, as: UTF8.self).contains(#""status":"down""#)
                if !sawDown { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(sawDown, "/health reported the database down during the outage")
            try await Task.sleep(until: stopped + .seconds(20), clock: .continuous)
            try runControl("start")
            // The projection catches up: every job is in SQL, completed, once.
            try await expectOneResultPerJob(cluster, jobs: submitted.map(\.id), within: .seconds(60))
            let after = try await cluster.httpRequest(port: port, path: "/health")
            #expect(String(decoding: after.body, as: UTF8.self).contains(#""status":"up""#))
        }
    }

    /// Runs the PostgreSQL control script. posix_spawn and waitpid, not Foundation's
    /// Process: its wait can miss the exit of a script whose daemon outlives it.
    func runControl(_ command: String) throws {
        let script = try #require(Self.postgresControl)
        var pid: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup(script), strdup(command), nil]
        defer { for argument in arguments { free(argument) } }
        try #require(posix_spawn(&pid, script, nil, nil, arguments, environ) == 0, "spawn \(script)")
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        try #require(status == 0, "PostgreSQL \(command) exited with status \(status)")
    }

    /// Every job's audit trail in SQL has exactly one completed attempt, and the job row
    /// one result.
    func expectOneResultPerJob(_ cluster: LocalProvingCluster, jobs: [String], within: Duration = .seconds(10))
        async throws
    {
        let url = try #require(TestEnvironment.postgresURL)
        let server = try PostgresServer(url: url)
        let database = cluster.database.name
        // The projection catches up within moments of the last completion.
        var rows: [[String?]] = []
        let deadline = ContinuousClock.now + within
        while ContinuousClock.now < deadline {
            rows =
                (try? await server.rows(
                    """
                    SELECT a.task_id, count(*)::text FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                    WHERE a.outcome = 'completed' AND t.status = 'completed' GROUP BY a.task_id
                    """,
                    database: database)) ?? []
            if Set(rows.compactMap { $0[0] }).isSuperset(of: jobs) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        let completions = Dictionary(uniqueKeysWithValues: rows.compactMap { row in row[0].map { ($0, row[1] ?? "") } })
        for id in jobs {
            #expect(completions[id] == "1", "job \(id) completed exactly once (\(completions[id] ?? "never"))")
        }
    }
}

struct RawSerializer: MessageSerializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
}

struct RawDeserializer: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}
