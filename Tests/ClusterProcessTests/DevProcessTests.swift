import BN254
import Circuits
import Foundation
import Groth16
import LocalCluster
import TestSupport
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `zkp dev` as a user runs it: one process, proofs requested over HTTP through the
/// original and the generic routes, checked by our verifier and by arkworks under the
/// key the gateway serves; then Ctrl-C and a restart, with every job still there.
@Suite("zkp dev", .serialized)
struct DevProcessTests {
    struct Dev {
        let process: Process
        let port: Int

        func request(_ method: String, _ path: String, json: String? = nil) async throws -> (Int, Data) {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 30)
            request.httpMethod = method
            if let json {
                request.httpBody = Data(json.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
        }

        func object(_ method: String, _ path: String, json: String? = nil) async throws -> [String: Any] {
            let (_, data) = try await request(method, path, json: json)
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
    }

    static func start(data: String, ports: [Int], log: String) throws -> Dev {
        let executable = TestEnvironment.productExecutable("zkp").path
        try #require(FileManager.default.isExecutableFile(atPath: executable), "zkp is built beside the tests")
        let process = try launch(
            executable,
            arguments: [
                "dev", "--data", data, "--port", "\(ports[0])", "--grpc-port", "\(ports[1])", "--http-port",
                "\(ports[2])", "--raft-port", "\(ports[3])",
            ], logPath: log)
        return Dev(process: process, port: ports[0])
    }

    static func waitReady(_ dev: Dev) async -> Bool {
        await waitUntil(seconds: 60) {
            guard let (status, _) = try? await dev.request("GET", "/ready") else { return false }
            return status == 200
        }
    }

    static func waitDone(_ dev: Dev, _ id: String) async throws -> [String: Any] {
        for _ in 0..<30 {
            let answer = try await dev.object("GET", "/api/v1/jobs/\(id)/wait?timeout=20")
            if answer["done"] as? Bool == true { return try #require(answer["job"] as? [String: Any]) }
        }
        Issue.record("job \(id) did not end")
        return [:]
    }

    /// Checks a completed job's proof.json and public.json with our verifier and arkworks.
    static func checkProof(_ dev: Dev, job id: String, circuit: String, root: Fr) async throws {
        let (_, keyData) = try await dev.request("GET", "/api/v1/circuits/\(circuit)/verification_key")
        let (_, proofData) = try await dev.request("GET", "/api/v1/jobs/\(id)/proof")
        let (_, publicData) = try await dev.request("GET", "/api/v1/jobs/\(id)/public")
        let key = try VerifyingKey(snarkjs: JSONDecoder().decode(SnarkjsVerificationKey.self, from: keyData))
        let proof = try Proof(snarkjs: JSONDecoder().decode(SnarkjsProof.self, from: proofData))
        let signals = try SnarkjsPublicSignals.decode(JSONDecoder().decode([String].self, from: publicData))
        #expect(signals == [root])
        #expect(try Groth16.verify(key, publicInputs: signals, proof: proof))
        let request = PeerRequest(
            op: "verify_snarkjs",
            cases: [
                .object([
                    "vk": .string(String(decoding: keyData, as: UTF8.self)),
                    "proof": .string(String(decoding: proofData, as: UTF8.self)),
                    "public": .string(String(decoding: publicData, as: UTF8.self)),
                ])
            ])
        let answer = try PeerProcess.call("arkworks_driver.py", request, as: PeerAnswer.self)
        #expect(answer.results == [.bool(true)], "arkworks: \(answer.results)")
    }

    /// Runs `zkp` to the end; output and errors through files, so no pipe can fill.
    static func zkp(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = TestEnvironment.productExecutable("zkp")
        process.arguments = arguments
        let out = NSTemporaryDirectory() + "zkp-out-\(UUID().uuidString)"
        let err = NSTemporaryDirectory() + "zkp-err-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: out)
            try? FileManager.default.removeItem(atPath: err)
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        try process.run()
        process.waitUntilExit()
        return (
            process.terminationStatus, try String(contentsOfFile: out, encoding: .utf8),
            try String(contentsOfFile: err, encoding: .utf8)
        )
    }

    @Test("Merkle proofs through the original and the generic routes verify in arkworks; Ctrl-C and restart keep them")
    func devEndToEnd() async throws {
        let root = NSTemporaryDirectory() + "zkp-dev-\(UUID().uuidString.prefix(8))"
        let data = root + "/data"
        let log = root + "/dev.log"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let ports = try freeLoopbackPorts(4)
        var dev = try Self.start(data: data, ports: ports, log: log)
        defer { if dev.process.isRunning { dev.process.terminate() } }
        try #require(await Self.waitReady(dev), "zkp dev became ready (log: \(log))")

        let leaves = ["0x11", "0x22", "0x33", "0x44"]
        let leavesJSON = #"["0x11", "0x22", "0x33", "0x44"]"#
        let task = try await dev.object(
            "POST", "/api/v1/tasks/merkle", json: #"{"leaves": ["0x11", "0x22", "0x33", "0x44"], "leaf_index": 3}"#)
        let taskID = try #require(task["task_id"] as? String)
        let generic = try await dev.object(
            "POST", "/api/v1/jobs",
            json: #"{"circuit_id": "merkle-mimc-d2", "inputs": {"leaves": \#(leavesJSON), "leaf_index": 0}}"#)
        let jobID = try #require((generic["job"] as? [String: Any])?["id"] as? String, "\(generic)")

        let tree = try MerkleTree(hexLeaves: leaves, hash: .mimc)
        for id in [taskID, jobID] {
            let job = try await Self.waitDone(dev, id)
            #expect(job["status"] as? String == "completed", "\(job)")
            try await Self.checkProof(dev, job: id, circuit: "merkle-mimc-d2", root: tree.root)
        }
        let before = try await dev.object("GET", "/api/v1/tasks/\(taskID)")

        // The client commands, with the exit codes scripts rely on.
        let gateway = ["--gateway", "http://127.0.0.1:\(ports[0])"]
        let cliTask = try Self.zkp(["task", "merkle", "--leaves", "0x09,0x0a", "--index", "1", "--wait"] + gateway)
        #expect(cliTask.status == 0, "\(cliTask.error)")
        #expect(cliTask.output.contains("\"status\" : \"completed\""))
        let verified = try Self.zkp(["verify", "--job", jobID] + gateway)
        #expect(verified.status == 0 && verified.output == "valid\n", "\(verified.error)")
        let status = try Self.zkp(["cluster", "status"] + gateway)
        #expect(status.status == 0, "\(status.error)")
        let cluster = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        #expect((cluster?["members"] as? [Any])?.count == 1 && (cluster?["workers"] as? [Any])?.count == 1)
        #expect(cluster?["leader_id"] as? Int == 1, "\(status.output)")
        let unknown = try Self.zkp(["job", "status", "no-such-job"] + gateway)
        #expect(unknown.status == 2 && unknown.error.contains("404"))
        let refused = try Self.zkp(["task", "merkle", "--leaves", "0xzz"] + gateway)
        #expect(refused.status == 2 && refused.error.contains("not hexadecimal"))
        let unreachable = try Self.zkp(["job", "status", "x", "--gateway", "http://127.0.0.1:\(ports[3])"])
        #expect(unreachable.status == 3)

        // Ctrl-C: the worker leaves, the process exits cleanly.
        kill(dev.process.processIdentifier, SIGINT)
        dev.process.waitUntilExit()
        #expect(dev.process.terminationStatus == 0, "exit status (log: \(log))")

        dev = try Self.start(data: data, ports: ports, log: log)
        try #require(await Self.waitReady(dev), "zkp dev came back (log: \(log))")
        let after = try await dev.object("GET", "/api/v1/tasks/\(taskID)")
        #expect(after["status"] as? String == "completed")
        #expect(after["proof"] as? String == before["proof"] as? String)
        #expect(after["merkle_root"] as? String == before["merkle_root"] as? String)
        try await Self.checkProof(dev, job: jobID, circuit: "merkle-mimc-d2", root: tree.root)
        // And it still proves.
        let more = try await dev.object(
            "POST", "/api/v1/tasks/merkle", json: #"{"leaves": ["0x11", "0x22", "0x33", "0x45"], "leaf_index": 1}"#)
        let moreID = try #require(more["task_id"] as? String)
        #expect(try await Self.waitDone(dev, moreID)["status"] as? String == "completed")

        kill(dev.process.processIdentifier, SIGINT)
        dev.process.waitUntilExit()
        #expect(dev.process.terminationStatus == 0)
        try? FileManager.default.removeItem(atPath: root)
    }

    struct SchemathesisAnswer: Decodable {
        struct Run: Decodable {
            let exit_code: Int
            let report: String
        }
        let results: [Run]
    }

    @Test("schemathesis, driven by /openapi.json and its links, finds no 5xx and no answer outside the document")
    func schemathesis() async throws {
        let root = NSTemporaryDirectory() + "zkp-dev-\(UUID().uuidString.prefix(8))"
        let log = root + "/dev.log"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let ports = try freeLoopbackPorts(4)
        let dev = try Self.start(data: root + "/data", ports: ports, log: log)
        defer { if dev.process.isRunning { dev.process.terminate() } }
        try #require(await Self.waitReady(dev), "zkp dev became ready (log: \(log))")

        // schemathesis's own seed (it takes up to 128 bits; 63 are plenty to replay a run).
        var random = SeededRandom.forTest("schemathesis")
        let seed = random.next() >> 1
        let request = PeerRequest(
            op: "run",
            cases: [
                .object([
                    "url": .string("http://127.0.0.1:\(ports[0])/openapi.json"), "seed": .string("\(seed)"),
                    "max_examples": .string("25"),
                ])
            ])
        let answer = try PeerProcess.call("schemathesis_driver.py", request, as: SchemathesisAnswer.self)
        let run = try #require(answer.results.first)
        #expect(run.exit_code == 0, "schemathesis --seed \(seed) (log: \(log)):\n\(run.report)")
        // It is still serving: no request brought it down.
        #expect(dev.process.isRunning, "zkp dev exited (log: \(log))")
        let (status, _) = try await dev.request("GET", "/health")
        #expect(status == 200)

        kill(dev.process.processIdentifier, SIGINT)
        dev.process.waitUntilExit()
        #expect(dev.process.terminationStatus == 0)
        if run.exit_code == 0 { try? FileManager.default.removeItem(atPath: root) }
    }
}
