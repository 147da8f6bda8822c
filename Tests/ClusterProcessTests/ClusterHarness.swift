import BN254
import Circuits
import Foundation
import GRPCCore
import Groth16
import JobClient
import LocalCluster
import Logging
import PostgresNIO
import TestSupport
import Testing
import Wire

/// Starts a proving cluster of real processes over a fresh PostgreSQL database, runs the
/// test's body, and always stops the processes and drops the database. The processes'
/// logs stay under the cluster's root when a test fails.
func withProvingCluster(
    workers: Int = 2, workerConcurrency: Int = 1, heartbeatTimeout: String = "2s", extraCoordinatorYAML: String = "",
    _ body: (LocalProvingCluster) async throws -> Void
) async throws {
    let executable = TestEnvironment.productExecutable("zkp").path
    try #require(FileManager.default.isExecutableFile(atPath: executable), "zkp is built beside the tests")
    let url = try #require(TestEnvironment.postgresURL, "ZKP_TEST_POSTGRES_URL names a PostgreSQL server")
    let server = try PostgresServer(url: url)
    let name = "zkp_cluster_\(UInt32.random(in: 0...UInt32.max))"
    try await server.execute("CREATE DATABASE \(name)")
    let root = NSTemporaryDirectory() + "zkp-cluster-\(name)"
    let cluster = try LocalProvingCluster(
        executable: executable, root: root,
        database: .init(host: server.host, port: server.port, user: server.user, password: server.password, name: name),
        workerCount: workers, workerConcurrency: workerConcurrency, heartbeatTimeout: heartbeatTimeout,
        extraCoordinatorYAML: extraCoordinatorYAML)
    print("cluster root: \(root)")
    var failure: (any Error)?
    do {
        try cluster.startAll()
        let leader = await cluster.waitForLeader(timeout: .seconds(30))
        try #require(leader != nil, "a coordinator leads within 30 s")
        try await body(cluster)
    } catch {
        failure = error
    }
    await cluster.shutdown()
    try? await server.execute("DROP DATABASE \(name) WITH (FORCE)")
    if let failure {
        for process in cluster.coordinatorNames + cluster.workerNames {
            print(
                "---- \(process) (last lines) ----\n"
                    + cluster.log(process).split(separator: "\n").suffix(15).joined(separator: "\n"))
        }
        throw failure
    }
    // The logs stay (a failed expectation does not throw); the state and keys go.
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where !entry.hasSuffix(".log") {
        try? FileManager.default.removeItem(atPath: "\(root)/\(entry)")
    }
}

/// The test PostgreSQL server, for creating and dropping databases and running statements.
struct PostgresServer {
    let host: String
    let port: Int
    let user: String
    let password: String
    let database: String

    init(url text: String) throws {
        let server = try LocalProvingCluster.Database(url: text, name: "postgres")
        (host, port, user, password, database) = (server.host, server.port, server.user, server.password, server.name)
    }

    func client(database name: String? = nil) -> PostgresClient {
        PostgresClient(
            configuration: .init(
                host: host, port: port, username: user, password: password.isEmpty ? nil : password,
                database: name ?? database, tls: .disable),
            backgroundLogger: Logger(label: "test.postgres", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    func execute(_ sql: String, database name: String? = nil) async throws {
        let client = client(database: name)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }

    /// The rows of a query, each column as text.
    func rows(_ sql: String, database name: String) async throws -> [[String?]] {
        let client = client(database: name)
        return try await withThrowingTaskGroup(of: [[String?]].self) { group in
            group.addTask {
                await client.run()
                return []
            }
            defer { group.cancelAll() }
            var result: [[String?]] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql)) {
                result.append(row.map { cell in cell.bytes.map { String(buffer: $0) } })
            }
            return result
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Registers a Merkle circuit and waits for its setup job to make its keys.
func registerMerkleCircuit(
    _ jobs: JobClient, id: String, hash: MerkleHash, depth: Int, timeout: Duration = .seconds(120)
) async throws -> VerifyingKey {
    var request = Zkp_RegisterCircuitRequest()
    request.id = id
    request.family = "merkle"
    request.definition = Data("{\"hash\":\"\(hash.rawValue)\",\"depth\":\(depth)}".utf8)
    let circuit = try await jobs.registerCircuit(request)
    let setup = try await jobs.wait(circuit.setupJobID, timeout: timeout)
    try #require(setup.status == "completed", "setup job \(setup.id): \(setup.status) \(setup.error)")
    let ready = try await jobs.circuit(id)
    try #require(ready.status == "ready")
    let key = try await jobs.verificationKey(id)
    #expect(key.digest == ready.verificationKeyDigest)
    return try VerifyingKey(
        snarkjs: try JSONDecoder().decode(SnarkjsVerificationKey.self, from: key.snarkjsJson))
}

/// Leaves of a Merkle tree of `depth` (2^depth leaves), varied by `seed`.
func merkleRequest(depth: Int, seed: Int) -> (inputs: Data, root: Fr, hash: MerkleHash) {
    let count = 1 << depth
    let leaves = (0..<count).map { String(format: "%064x", seed &* 1_000_003 &+ $0 &+ 1) }
    let tree = try! MerkleTree(hexLeaves: leaves, hash: .mimc)
    let body =
        "{\"leaves\":[" + leaves.map { "\"0x\($0)\"" }.joined(separator: ",") + "],\"leaf_index\":\(seed % count)}"
    return (Data(body.utf8), tree.root, .mimc)
}

/// Checks a completed job's proof under the circuit's published key, and that its public
/// input is the expected root.
func expectValidProof(_ job: Zkp_Job, key: VerifyingKey, root: Fr) throws {
    #expect(job.status == "completed", "job \(job.id): \(job.status) \(job.error)")
    guard job.status == "completed" else { return }
    let proof = try Proof(ethereumBytes: Array(job.proofBytes))
    let signals = try JSONDecoder().decode([String].self, from: job.publicJson)
    let inputs = try SnarkjsPublicSignals.decode(signals)
    #expect(inputs == [root], "job \(job.id) proves the root of its own tree")
    #expect(
        try Groth16.verify(PreparedVerifyingKey(key), publicInputs: inputs, proof: proof),
        "job \(job.id)'s proof verifies")
    // The snarkjs form is the same proof.
    let snarkjs = try JSONDecoder().decode(SnarkjsProof.self, from: job.proofJson)
    #expect(try Proof(snarkjs: snarkjs) == proof)
}
