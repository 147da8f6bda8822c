import Foundation
import JobClient
import LocalCluster
import Logging
import PostgresNIO
import RaftNode
import Wire

#if canImport(Glibc)
    import Glibc
#endif

/// The proving cluster measured as a whole: 3 `zkp coordinator` and `zkp worker`
/// processes on loopback over PostgreSQL. One JSON object per line:
///   - `commit`: jobs acknowledged per second through zkp.JobService, one `Submit` per job
///     (256 calls in flight, which the leader's Raft node groups into shared appends) and
///     by `SubmitBatch` (16 calls of `--batch` submissions, one log entry each);
///   - `latency`: submit → assigned at a steady 100 jobs/s (`--rate`) of Merkle jobs of
///     depth `--latency-depth` (0), p50 and p99, from the leader's own timestamps in the
///     projection, with what follows the assignment (start, end, slots held) beside it;
///   - `proofs`: Merkle proofs per second through the cluster against `zkp prove` run in a
///     loop on the same machine, in the same run.
@main
struct ClusterBench {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            defer { arguments.removeSubrange(index...index + 1) }
            return arguments[index + 1]
        }
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let zkp = option("--zkp") ?? "\(binDirectory)/zkp"
        guard let postgres = option("--postgres") ?? ProcessInfo.processInfo.environment["ZKP_BENCH_POSTGRES_URL"]
        else {
            fail("pass --postgres postgres://user@host:port/db (scripts/bench-cluster starts one)")
        }
        let seconds = Int(option("--seconds") ?? "10") ?? 10
        let depth = Int(option("--depth") ?? "20") ?? 20
        let proofs = Int(option("--proofs") ?? "8") ?? 8
        let rate = Int(option("--rate") ?? "100") ?? 100
        let latencyDepth = Int(option("--latency-depth") ?? "0") ?? 0
        let only = option("--only")
        guard FileManager.default.isExecutableFile(atPath: zkp) else { fail("\(zkp) is not an executable; pass --zkp") }
        let bench = ClusterBench(zkp: zkp, postgres: try Server(url: postgres))
        let batch = Int(option("--batch") ?? "200") ?? 200
        if only == nil || only == "commit" {
            try await bench.commitThroughput(seconds: seconds, calls: 256, batch: 1)
            try await bench.commitThroughput(seconds: seconds, calls: 16, batch: batch)
        }
        if only == nil || only == "latency" {
            try await bench.assignmentLatency(seconds: seconds, rate: rate, depth: latencyDepth)
        }
        if only == nil || only == "proofs" { try await bench.proofThroughput(depth: depth, proofs: proofs) }
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cluster-bench: \(message)\n".utf8))
        exit(2)
    }

    let zkp: String
    let postgres: Server

    struct Server {
        let host: String
        let port: Int
        let user: String
        let password: String

        init(url text: String) throws {
            let server = try LocalProvingCluster.Database(url: text, name: "postgres")
            (host, port, user, password) = (server.host, server.port, server.user, server.password)
        }

        func client(_ database: String) -> PostgresClient {
            PostgresClient(
                configuration: .init(
                    host: host, port: port, username: user, password: password.isEmpty ? nil : password,
                    database: database, tls: .disable),
                backgroundLogger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }))
        }

        func run<T: Sendable>(_ database: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws
            -> T
        {
            let client = client(database)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    await client.run()
                    return nil
                }
                defer { group.cancelAll() }
                return try await body(client)
            }
        }
    }

    func emit(_ fields: [(String, Any)]) {
        let revision = ProcessInfo.processInfo.environment["ZKP_GIT_REVISION"] ?? "unknown"
        var parts = fields.map { key, value -> String in
            switch value {
            case let text as String: "\"\(key)\": \"\(text)\""
            case let number as Double: "\"\(key)\": \(String(format: "%.4f", number))"
            default: "\"\(key)\": \(value)"
            }
        }
        parts.append("\"revision\": \"\(revision)\"")
        print("{" + parts.joined(separator: ", ") + "}")
    }

    /// A cluster over a fresh database, run through `body`, always torn down.
    func withCluster<T>(
        workers: Int, concurrency: Int = 1, _ body: (LocalProvingCluster) async throws -> T
    ) async throws -> T {
        let name = "zkp_bench_\(UInt32.random(in: 0...UInt32.max))"
        try await postgres.run("postgres") { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)")) }
        let root = NSTemporaryDirectory() + "cluster-bench-\(name)"
        let cluster = try LocalProvingCluster(
            executable: zkp, root: root,
            database: .init(
                host: postgres.host, port: postgres.port, user: postgres.user, password: postgres.password, name: name),
            workerCount: workers, workerConcurrency: concurrency, heartbeatTimeout: "5s",
            extraCoordinatorYAML: "  max_live_jobs: 1000000")
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try cluster.startAll()
            guard await cluster.waitForLeader(timeout: .seconds(30)) != nil else {
                ClusterBench.fail("no leader in 30 s")
            }
            let result = try await body(cluster)
            await cluster.shutdown()
            _ = try? await postgres.run("postgres") {
                try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)"))
            }
            return result
        } catch {
            await cluster.shutdown()
            throw error
        }
    }

    func register(_ jobs: JobClient, id: String, depth: Int, wait: Bool) async throws {
        var request = Zkp_RegisterCircuitRequest()
        request.id = id
        request.family = "merkle"
        request.definition = Data("{\"hash\":\"mimc\",\"depth\":\(depth)}".utf8)
        let circuit = try await jobs.registerCircuit(request)
        if wait {
            let setup = try await jobs.wait(circuit.setupJobID, timeout: .seconds(3600))
            guard setup.status == "completed" else { ClusterBench.fail("setup \(setup.status): \(setup.error)") }
        }
    }

    /// Inputs for a depth-`depth` tree whose leaves are `seed`, `seed + 1`, …
    static func inputs(depth: Int, seed: Int) -> Data {
        let leaves = (0..<(1 << depth)).map { "\"" + String(format: "0x%064x", seed + $0 + 1) + "\"" }
        return Data(("{\"leaves\":[" + leaves.joined(separator: ",") + "],\"leaf_index\":0}").utf8)
    }

    /// A membership path of `depth` levels (input.json, root left for the prover to
    /// compute): deep trees are proved from a path, not from all their leaves.
    static func pathInputs(depth: Int, seed: Int) -> Data {
        let siblings = (0..<depth).map { "\"\(seed * 1_000 + $0 + 1)\"" }
        let bits = (0..<depth).map { "\"\((seed >> ($0 % 30)) & 1)\"" }
        return Data(
            ("{\"leaf\":\"\(seed + 7)\",\"pathElements\":[" + siblings.joined(separator: ",")
                + "],\"pathIndices\":[" + bits.joined(separator: ",") + "]}").utf8)
    }

    /// The leader first, so submissions are not forwarded.
    func leaderClient(_ cluster: LocalProvingCluster) async -> JobClient {
        let leader = await cluster.leader() ?? cluster.coordinatorNames[0]
        let index = cluster.coordinatorNames.firstIndex(of: leader) ?? 0
        let order = [index] + cluster.coordinators.indices.filter { $0 != index }
        return JobClient(
            coordinators: order.map { PeerAddress(host: "127.0.0.1", port: cluster.coordinators[$0].grpc) },
            callTimeout: .seconds(10), attempts: 20)
    }

    // MARK: Commit throughput

    /// `calls` lanes, each keeping one call in flight: `Submit` when `batch` is 1, else
    /// `SubmitBatch` with `batch` submissions (one log entry each).
    func commitThroughput(seconds: Int, calls: Int, batch: Int) async throws {
        try await withCluster(workers: 0) { cluster in
            let jobs = await leaderClient(cluster)
            defer { Task { await jobs.shutdown() } }
            try await register(jobs, id: "m1", depth: 1, wait: false)
            let inputs = Self.inputs(depth: 1, seed: 0)
            let deadline = ContinuousClock.now + .seconds(seconds)
            let started = ContinuousClock.now
            let counts = try await withThrowingTaskGroup(of: Int.self) { group in
                for lane in 0..<calls {
                    group.addTask {
                        var done = 0
                        var request = Zkp_SubmitJobRequest()
                        request.circuitID = "m1"
                        request.inputsJson = inputs
                        while ContinuousClock.now < deadline {
                            if batch == 1 {
                                request.idempotencyKey = "lane\(lane)-\(done)"
                                _ = try await jobs.submit(request)
                                done += 1
                                continue
                            }
                            let requests = (0..<batch).map { offset in
                                var request = request
                                request.idempotencyKey = "lane\(lane)-\(done + offset)"
                                return request
                            }
                            let results = try await jobs.submit(batch: requests)
                            if let refused = results.first(where: { $0.accepted.job.id.isEmpty }) {
                                ClusterBench.fail("a submission was refused: \(refused.refused.message)")
                            }
                            done += batch
                        }
                        return done
                    }
                }
                return try await group.reduce(0, +)
            }
            let elapsed = (ContinuousClock.now - started) / .seconds(1)
            emit([
                ("bench", "cluster_commit"), ("coordinators", 3), ("calls_in_flight", calls), ("batch", batch),
                ("in_flight", calls * batch),
                ("jobs", counts), ("seconds", elapsed), ("jobs_per_second", Double(counts) / elapsed),
                ("target_jobs_per_second", 5000),
            ])
        }
    }

    // MARK: Submit → assigned latency

    /// Jobs of a Merkle circuit of `depth` (default 0: a proof of a few milliseconds, so that
    /// two cores can prove the rate beside three coordinators and the figure measures the
    /// scheduler rather than a queue for proving slots).
    func assignmentLatency(seconds: Int, rate: Int, depth: Int) async throws {
        let (workers, concurrency) = (2, 4)
        try await withCluster(workers: workers, concurrency: concurrency) { cluster in
            let jobs = await leaderClient(cluster)
            defer { Task { await jobs.shutdown() } }
            try await register(jobs, id: "m1", depth: depth, wait: true)
            let inputs = Self.inputs(depth: depth, seed: 0)
            let total = rate * seconds
            let interval = Duration.seconds(1) / rate
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<total {
                    try await Task.sleep(until: start + interval * index, clock: .continuous)
                    group.addTask {
                        var request = Zkp_SubmitJobRequest()
                        request.circuitID = "m1"
                        request.inputsJson = inputs
                        request.idempotencyKey = "steady-\(index)"
                        _ = try await jobs.submit(request)
                    }
                }
                try await group.waitForAll()
            }
            // The leader stamps every instant; the projection holds them once it catches up
            // (the end of an attempt may lag its assignment, so wait for both).
            let database = cluster.database.name
            var spans: [(created: Int64, assigned: Int64, started: Int64, ended: Int64)] = []
            for _ in 0..<300 {
                spans = try await postgres.run(database) { client in
                    var values: [(Int64, Int64, Int64, Int64)] = []
                    let rows = try await client.query(
                        """
                        SELECT t.created_at_ms, a.assigned_at_ms, a.started_at_ms, a.ended_at_ms
                        FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                        WHERE a.attempt = 1 AND t.idempotency_key LIKE 'steady-%' AND a.ended_at_ms IS NOT NULL
                        """)
                    for try await row in rows.decode((Int64, Int64, Int64?, Int64).self) {
                        values.append((row.0, row.1, row.2 ?? row.3, row.3))
                    }
                    return values
                }
                if spans.count >= total { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            guard !spans.isEmpty else { ClusterBench.fail("no attempt was projected") }
            func percentiles(_ values: [Int64]) -> (p50: Int64, p99: Int64, max: Int64) {
                let sorted = values.sorted()
                func at(_ p: Double) -> Int64 { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
                return (at(0.5), at(0.99), sorted.last!)
            }
            let assigned = percentiles(spans.map { $0.assigned - $0.created })
            let started = percentiles(spans.map { $0.started - $0.assigned })
            let held = percentiles(spans.map { $0.ended - $0.assigned })
            // The most attempts the workers held at once: at `slots`, a job waits for a slot.
            let events = spans.flatMap { [($0.assigned, 1), ($0.ended, -1)] }.sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            var holding = 0
            var peak = 0
            for (_, change) in events {
                holding += change
                peak = max(peak, holding)
            }
            emit([
                ("bench", "cluster_submit_to_assigned"), ("circuit", "merkle-mimc-\(depth)"), ("rate_per_second", rate),
                ("jobs", spans.count), ("p50_ms", assigned.p50), ("p99_ms", assigned.p99), ("max_ms", assigned.max),
                ("target_p99_ms", 20), ("assigned_to_started_p50_ms", started.p50),
                ("assigned_to_started_p99_ms", started.p99), ("assigned_to_ended_p50_ms", held.p50),
                ("assigned_to_ended_p99_ms", held.p99), ("peak_attempts_held", peak),
                ("slots", workers * concurrency),
            ])
        }
    }

    // MARK: Proof throughput against the bare prover

    func proofThroughput(depth: Int, proofs: Int) async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let directory = NSTemporaryDirectory() + "cluster-bench-prove-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The bare prover: `zkp setup` once, then `zkp prove` in a loop on every core.
        try run(["setup", "--circuit", "merkle", "--hash", "mimc", "--depth", "\(depth)", "--out", directory])
        var bareSeconds: [Double] = []
        for index in 0..<proofs {
            let input = "\(directory)/input-\(index).json"
            try Self.pathInputs(depth: depth, seed: index).write(to: URL(fileURLWithPath: input))
            let began = ContinuousClock.now
            try run([
                "prove", "--pk", "\(directory)/proving_key.zkpk", "--circuit", "merkle", "--hash", "mimc", "--depth",
                "\(depth)", "--input", input, "--proof", "\(directory)/proof.json", "--public",
                "\(directory)/public.json",
                "--threads", "\(cores)",
            ])
            bareSeconds.append((ContinuousClock.now - began) / .seconds(1))
        }
        let bareRate = Double(proofs) / bareSeconds.reduce(0, +)
        // The cluster: one worker per core, each proving on one thread.
        let clusterRate = try await withCluster(workers: cores, concurrency: 1) { cluster in
            let jobs = await leaderClient(cluster)
            defer { Task { await jobs.shutdown() } }
            try await register(jobs, id: "deep", depth: depth, wait: true)
            // Each worker fetches and caches the proving key once before the clock starts.
            try await submitAndWait(jobs, depth: depth, seeds: Array(1_000..<1_000 + cores))
            let began = ContinuousClock.now
            try await submitAndWait(jobs, depth: depth, seeds: Array(0..<proofs))
            return Double(proofs) / ((ContinuousClock.now - began) / .seconds(1))
        }
        emit([
            ("bench", "cluster_proofs"), ("circuit", "merkle-mimc-\(depth)"), ("proofs", proofs), ("cores", cores),
            ("cluster_proofs_per_second", clusterRate), ("bare_proofs_per_second", bareRate),
            ("ratio", clusterRate / bareRate), ("target_ratio", 0.85),
        ])
    }

    func submitAndWait(_ jobs: JobClient, depth: Int, seeds: [Int]) async throws {
        var ids: [String] = []
        for seed in seeds {
            var request = Zkp_SubmitJobRequest()
            request.circuitID = "deep"
            request.inputsJson = Self.pathInputs(depth: depth, seed: seed)
            ids.append(try await jobs.submit(request).job.id)
        }
        for id in ids {
            let job = try await jobs.wait(id, timeout: .seconds(3600))
            guard job.status == "completed" else { ClusterBench.fail("job \(id) \(job.status): \(job.error)") }
        }
    }

    func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: zkp)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            ClusterBench.fail("zkp \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }
}
