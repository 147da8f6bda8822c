import BN254
import Circuits
import Foundation
import GRPCCore
import Gateway
import Groth16
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobClient
import RaftNode
import Testing
import Wire

/// Every route of the gateway against a real coordinator and worker (`SharedStack`), with
/// the original contract's fields, the generic API, and the precise refusals.
@Suite("Gateway API", .serialized)
struct GatewayAPITests {
    static let leaves = ["0x01", "0x02", "0x03", "0x04"]

    /// Waits for a job through the long-poll route until it ends.
    static func waitForEnd(_ client: any TestClientProtocol, _ id: String) async throws -> [String: Any] {
        for _ in 0..<40 {
            let answer = try await client.call(.get, "/api/v1/jobs/\(id)/wait?timeout=10")
            #expect(answer.status == .ok, "\(answer.text)")
            if answer["done"] as? Bool == true { return answer.job }
        }
        Issue.record("job \(id) did not end")
        return [:]
    }

    /// The served verification key of a circuit, read back into our type.
    static func verifyingKey(_ client: any TestClientProtocol, circuit: String) async throws -> VerifyingKey {
        let answer = try await client.call(.get, "/api/v1/circuits/\(circuit)/verification_key")
        #expect(answer.status == .ok)
        return try VerifyingKey(
            snarkjs: JSONDecoder().decode(SnarkjsVerificationKey.self, from: Data(answer.text.utf8)))
    }

    @Test("the original routes: 202 pending, 200 cached with X-Cache: HIT, and the task's fields in the original order")
    func originalTaskRoutes() async throws {
        try await TestGateway().test { client in
            let body = #"{"leaves": ["0x01", "0x02", "0x03", "0x04"], "leaf_index": 2}"#
            let created = try await client.call(.post, "/api/v1/tasks/merkle", json: body)
            #expect(created.status == .accepted, "\(created.text)")
            #expect(created.keyOrder == ["success", "task_id", "status", "message", "request_id"])
            #expect(created["status"] as? String == "pending")
            #expect(created.headers[.init("X-Request-ID")!] == created["request_id"] as? String)
            let id = try #require(created["task_id"] as? String)
            #expect(UUID(uuidString: id) != nil)

            // The same leaves spelt differently are the same request.
            let again = try await client.call(
                .post, "/api/v1/tasks/merkle", json: #"{"leaves": ["01", "0x02", "0X03", "04"], "leaf_index": 2}"#)
            #expect(again.status == .ok)
            #expect(again["status"] as? String == "cached")
            #expect(again["task_id"] as? String == id)
            #expect(again.headers[.init("X-Cache")!] == "HIT")
            // This gateway has not yet seen the task end: the coordinator answers.
            let early = try await client.call(.get, "/api/v1/tasks/\(id)")
            #expect(early.headers[.init("X-Cache")!] == "MISS")

            let job = try await Self.waitForEnd(client, id)
            #expect(job["status"] as? String == "completed")
            #expect(job["circuit_id"] as? String == "merkle-mimc-d2")

            let task = try await client.call(.get, "/api/v1/tasks/\(id)")
            #expect(task.status == .ok)
            // The wait saw it end; an ended task never changes, so the gateway answers itself.
            #expect(task.headers[.init("X-Cache")!] == "HIT")
            #expect(
                task.keyOrder == [
                    "success", "task_id", "status", "proof", "merkle_root", "public_inputs", "circuit_type",
                    "circuit_id", "created_at", "completed_at", "request_id",
                ])
            #expect(task["circuit_type"] as? String == "merkle_proof")
            let tree = try MerkleTree(hexLeaves: Self.leaves, hash: .mimc)
            let root = "0x" + tree.root.canonical.bigEndianBytes.map { String(format: "%02x", $0) }.joined()
            #expect(task["merkle_root"] as? String == root)
            let inputs = try #require(task["public_inputs"] as? [String: Any])
            #expect(inputs["signals"] as? [String] == [tree.root.decimalString])
            #expect(inputs["metadata"] as? String == "{\"witness\":[\"\(tree.root.decimalString)\"]}")

            // The hex proof verifies under the key the gateway serves.
            let proofHex = try #require(task["proof"] as? String)
            let bytes = stride(from: 0, to: proofHex.count, by: 2).map { offset -> UInt8 in
                let start = proofHex.index(proofHex.startIndex, offsetBy: offset)
                return UInt8(proofHex[start..<proofHex.index(start, offsetBy: 2)], radix: 16)!
            }
            let key = try await Self.verifyingKey(client, circuit: "merkle-mimc-d2")
            #expect(try Groth16.verify(key, publicInputs: [tree.root], proof: try Proof(ethereumBytes: bytes)))

            // The original error messages, with the reason.
            let badID = try await client.call(.get, "/api/v1/tasks/not-a-uuid")
            #expect(badID.status == .badRequest)
            #expect(badID.error.hasPrefix("Invalid task ID format"))
            let missing = try await client.call(.get, "/api/v1/tasks/\(UUID().uuidString)")
            #expect(missing.status == .notFound)
            #expect(missing.error == "Task not found")
            #expect(missing.keyOrder == ["success", "error", "code", "request_id"])
        }
    }

    @Test("generic jobs: submit, get, wait, proof, public, calldata, list with a cursor, cancel")
    func genericJobRoutes() async throws {
        try await TestGateway().test { client in
            let inputs = #"{"leaves": ["0x0a", "0x0b", "0x0c"], "leaf_index": 1}"#
            // A task made through the original route registers merkle-mimc-d2 if it is not yet.
            _ = try await client.call(.post, "/api/v1/tasks/merkle", json: #"{"leaves": ["0x05"], "leaf_index": 0}"#)
            _ = try await client.call(
                .post, "/api/v1/tasks/merkle", json: #"{"leaves": ["0x05", "0x06", "0x07"], "leaf_index": 0}"#)
            let submitted = try await client.call(
                .post, "/api/v1/jobs",
                json: #"{"circuit_id": "merkle-mimc-d2", "inputs": \#(inputs), "idempotency_key": "generic-1"}"#)
            #expect(submitted.status == .accepted, "\(submitted.text)")
            let id = try #require(submitted.job["id"] as? String)
            #expect(submitted.headers[.location] == "/api/v1/jobs/\(id)")
            let repeated = try await client.call(
                .post, "/api/v1/jobs",
                json: #"{"circuit_id": "merkle-mimc-d2", "inputs": \#(inputs), "idempotency_key": "generic-1"}"#)
            #expect(repeated.status == .ok)
            #expect(repeated["duplicate"] as? Bool == true)
            #expect(repeated.job["id"] as? String == id)

            let job = try await Self.waitForEnd(client, id)
            #expect(job["status"] as? String == "completed")
            let proof = try await client.call(.get, "/api/v1/jobs/\(id)/proof")
            let publicSignals = try await client.call(.get, "/api/v1/jobs/\(id)/public")
            let snarkjs = try JSONDecoder().decode(SnarkjsProof.self, from: Data(proof.text.utf8))
            let signals = try JSONDecoder().decode([String].self, from: Data(publicSignals.text.utf8))
            let key = try await Self.verifyingKey(client, circuit: "merkle-mimc-d2")
            #expect(
                try Groth16.verify(
                    key, publicInputs: SnarkjsPublicSignals.decode(signals), proof: Proof(snarkjs: snarkjs)))
            let calldata = try await client.call(.get, "/api/v1/jobs/\(id)/calldata")
            #expect(calldata.status == .ok)
            #expect(calldata.text.hasPrefix("[\"0x"))
            #expect(calldata.text.filter { $0 == "[" }.count == 6)

            // The same id on the original route.
            let task = try await client.call(.get, "/api/v1/tasks/\(id)")
            #expect(task["status"] as? String == "completed")

            // Pages of one job each, newest first, until the cursor runs out.
            var seen: [String] = []
            var cursor = ""
            for _ in 0..<20 {
                let page = try await client.call(
                    .get, "/api/v1/jobs?status=completed&limit=1\(cursor.isEmpty ? "" : "&cursor=\(cursor)")")
                #expect(page.status == .ok, "\(page.text)")
                let jobs = try #require(page["jobs"] as? [[String: Any]])
                seen += jobs.compactMap { $0["id"] as? String }
                guard let next = page["next_cursor"] as? String else { break }
                cursor = next
            }
            #expect(seen.contains(id))
            #expect(Set(seen).count == seen.count)

            let cancelEnded = try await client.call(.delete, "/api/v1/jobs/\(id)")
            #expect(cancelEnded.status == .conflict)
            #expect(cancelEnded.error.contains("ended") || cancelEnded.error.contains("completed"))
            let cancelUnknown = try await client.call(.delete, "/api/v1/jobs/no-such-job")
            #expect(cancelUnknown.status == .notFound)

            let notReady = try await client.call(.get, "/api/v1/jobs/no-such-job/proof")
            #expect(notReady.status == .notFound)
        }
    }

    @Test("circuits: register, list, get, verification key, Solidity verifier; refusals name the field")
    func circuitRoutes() async throws {
        try await TestGateway().test { client in
            let id = "poseidon-d1-\(UUID().uuidString.prefix(6).lowercased())"
            let registered = try await client.call(
                .post, "/api/v1/circuits",
                json: #"{"id": "\#(id)", "family": "merkle", "definition": {"hash": "poseidon", "depth": 1}}"#)
            #expect(registered.status == .accepted, "\(registered.text)")
            let circuit = try #require(registered["circuit"] as? [String: Any])
            #expect(circuit["status"] as? String == "awaiting_setup")
            let setup = try #require(circuit["setup_job_id"] as? String)
            let setupJob = try await Self.waitForEnd(client, setup)
            #expect(setupJob["status"] as? String == "completed")
            // The setup made keys, not a proof: its proof routes say so instead of answering empty.
            for route in ["proof", "public", "calldata"] {
                let none = try await client.call(.get, "/api/v1/jobs/\(setup)/\(route)")
                #expect(none.status == .conflict, "\(route): \(none.text)")
                #expect(none.error.contains("it made keys, not a proof"))
            }

            let fetched = try await client.call(.get, "/api/v1/circuits/\(id)")
            #expect((fetched["circuit"] as? [String: Any])?["status"] as? String == "ready")
            #expect((fetched["circuit"] as? [String: Any])?["public_inputs"] as? Int == 1)
            let list = try await client.call(.get, "/api/v1/circuits")
            #expect((list["circuits"] as? [[String: Any]])?.contains { $0["id"] as? String == id } == true)
            let key = try await Self.verifyingKey(client, circuit: id)
            #expect(key.publicCount == 1)
            let solidity = try await client.call(.get, "/api/v1/circuits/\(id)/verifier.sol")
            #expect(solidity.status == .ok)
            #expect(solidity.text.contains("function verifyProof"))

            let twice = try await client.call(
                .post, "/api/v1/circuits",
                json: #"{"id": "\#(id)", "family": "merkle", "definition": {"hash": "poseidon", "depth": 1}}"#)
            #expect(twice.status == .conflict)
            #expect(twice.error.contains("already registered"))
            let badFamily = try await client.call(.post, "/api/v1/circuits", json: #"{"id": "x1", "family": "plonk"}"#)
            #expect(badFamily.status == .badRequest)
            #expect(badFamily.error.contains("family \"plonk\""))
            let badDepth = try await client.call(
                .post, "/api/v1/circuits",
                json: #"{"id": "x2", "family": "merkle", "definition": {"hash": "mimc", "depth": 99}}"#)
            #expect(badDepth.status == .badRequest)
            #expect(badDepth.error.contains("depth 99"))
            let unknown = try await client.call(.get, "/api/v1/circuits/no-such-circuit/verification_key")
            #expect(unknown.status == .notFound)
        }
    }

    @Test("verify: a valid proof, a proof for other signals, a wrong count, and one key source only")
    func verifyRoute() async throws {
        try await TestGateway().test { client in
            let created = try await client.call(
                .post, "/api/v1/tasks/merkle", json: #"{"leaves": ["0x21", "0x22"], "leaf_index": 1}"#)
            let id = try #require(created["task_id"] as? String)
            _ = try await Self.waitForEnd(client, id)
            let proof = try await client.call(.get, "/api/v1/jobs/\(id)/proof").text
            let signals = try await client.call(.get, "/api/v1/jobs/\(id)/public").text
            let circuit = "merkle-mimc-d1"
            let valid = try await client.call(
                .post, "/api/v1/verify",
                json: #"{"proof": \#(proof), "public_signals": \#(signals), "circuit_id": "\#(circuit)"}"#)
            #expect(valid.status == .ok)
            #expect(valid["valid"] as? Bool == true)
            let key = try await client.call(.get, "/api/v1/circuits/\(circuit)/verification_key").text
            let inline = try await client.call(
                .post, "/api/v1/verify",
                json: #"{"proof": \#(proof), "public_signals": \#(signals), "verification_key": \#(key)}"#)
            #expect(inline["valid"] as? Bool == true)
            let other = try await client.call(
                .post, "/api/v1/verify",
                json: #"{"proof": \#(proof), "public_signals": ["7"], "circuit_id": "\#(circuit)"}"#)
            #expect(other.status == .ok)
            #expect(other["valid"] as? Bool == false)
            #expect((other["reason"] as? String)?.contains("pairing check fails") == true)
            let count = try await client.call(
                .post, "/api/v1/verify",
                json: #"{"proof": \#(proof), "public_signals": ["7", "8"], "circuit_id": "\#(circuit)"}"#)
            #expect(count.status == .badRequest)
            #expect(count.error.contains("2 values; the key takes 1"))
            let both = try await client.call(
                .post, "/api/v1/verify", json: #"{"proof": \#(proof), "public_signals": \#(signals)}"#)
            #expect(both.status == .badRequest)
            #expect(both.error.contains("exactly one of circuit_id and verification_key"))
            let notDecimal = try await client.call(
                .post, "/api/v1/verify",
                json: #"{"proof": \#(proof), "public_signals": ["0x1"], "circuit_id": "\#(circuit)"}"#)
            #expect(notDecimal.status == .badRequest)
            #expect(notDecimal.error.contains("public signal 0"))
        }
    }

    @Test("concurrent submissions leave together in SubmitBatch calls; each gets its own job or its own refusal")
    func batchedSubmissions() async throws {
        let port = try await SharedStack.running.value.grpcPort
        let client = JobClient(coordinators: [PeerAddress(host: "127.0.0.1", port: port)])
        var register = Zkp_RegisterCircuitRequest()
        register.id = "merkle-mimc-d2"
        register.family = "merkle"
        register.definition = Data(#"{"hash":"mimc","depth":2}"#.utf8)
        do {
            _ = try await client.registerCircuit(register)
        } catch let error as RPCError where error.code == .alreadyExists {}
        // One call at a time, so that everything arriving meanwhile waits for the next one.
        let batcher = SubmissionBatcher(client: client, maximumCalls: 1, maximumBatch: 16)
        struct Answer: Sendable {
            let index: Int
            let submitted: Zkp_SubmitJobResponse?
            let refusal: RPCError?
        }
        var answers: [Int: Answer] = [:]
        try await withThrowingTaskGroup(of: Answer.self) { group in
            for index in 0..<60 {
                group.addTask {
                    var request = Zkp_SubmitJobRequest()
                    request.circuitID = "merkle-mimc-d2"
                    let leaf = index % 10 == 9 ? "0xzz" : String(format: "0x%02x", index + 16)
                    request.inputsJson = Data(#"{"leaves": ["\#(leaf)", "0x01", "0x02", "0x03"]}"#.utf8)
                    do {
                        return Answer(index: index, submitted: try await batcher.submit(request), refusal: nil)
                    } catch let error as RPCError {
                        return Answer(index: index, submitted: nil, refusal: error)
                    }
                }
            }
            for try await answer in group { answers[answer.index] = answer }
        }
        await client.shutdown()
        var ids: Set<String> = []
        for (index, answer) in answers {
            if let submitted = answer.submitted {
                #expect(index % 10 != 9, "submission \(index) was accepted")
                #expect(!submitted.job.id.isEmpty && !submitted.duplicate)
                ids.insert(submitted.job.id)
            } else if let error = answer.refusal {
                #expect(index % 10 == 9, "submission \(index): \(error)")
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("leaf 0: not hexadecimal"), "\(error.message)")
            }
        }
        #expect(answers.count == 60)
        #expect(ids.count == 54)
    }

    @Test("bad input gets the right status and a precise message, and changes nothing")
    func badInput() async throws {
        try await TestGateway(
            yaml: "server:\n  max_body_bytes: 65536\nrate_limit:\n  whitelist: [\"127.0.0.1\", \"::1\"]"
        ).test { client in
            // The circuit the generic cases name (already there when other tests ran first).
            _ = try await client.call(
                .post, "/api/v1/circuits",
                json: #"{"id": "merkle-mimc-d2", "family": "merkle", "definition": {"hash": "mimc", "depth": 2}}"#)
            let before = try await client.call(.get, "/api/v1/jobs?limit=1000")
            let countBefore = (before["jobs"] as? [Any])?.count ?? -1
            let rHex = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
            let cases: [(String, String, HTTPResponse.Status, String)] = [
                ("/api/v1/tasks/merkle", "{not json", .badRequest, "Invalid request body"),
                ("/api/v1/tasks/merkle", #"{"leaves": "0x01"}"#, .badRequest, "leaves must be a JSON array"),
                ("/api/v1/tasks/merkle", #"{"leaves": []}"#, .badRequest, "leaves array cannot be empty"),
                (
                    "/api/v1/tasks/merkle", #"{"leaves": ["0xzz"]}"#, .badRequest,
                    "leaves[0] (\"0xzz\"): not hexadecimal"
                ),
                (
                    "/api/v1/tasks/merkle", #"{"leaves": ["0x01", "0x123"]}"#, .badRequest,
                    "leaves[1] (\"0x123\"): odd number of hex digits"
                ),
                (
                    "/api/v1/tasks/merkle", #"{"leaves": ["0x\#(String(repeating: "11", count: 33))"]}"#, .badRequest,
                    "33 bytes, at most 32 allowed"
                ),
                (
                    "/api/v1/tasks/merkle", #"{"leaves": ["0x01", "\#(rHex)"]}"#, .badRequest,
                    "leaves[1] (\"\(rHex)\"): not below the field modulus r"
                ),
                (
                    "/api/v1/tasks/merkle",
                    #"{"leaves": [\#(Array(repeating: "\"0x01\"", count: 1001).joined(separator: ","))]}"#,
                    .badRequest, "too many leaves (max 1000, got 1001)"
                ),
                (
                    "/api/v1/tasks/merkle", #"{"leaves": ["0x01", "0x02"], "leaf_index": 2}"#, .badRequest,
                    "invalid leaf_index: must be between 0 and 1"
                ),
                (
                    "/api/v1/tasks/merkle", #"{"leaves": ["0x01"], "leaf_index": -1}"#, .badRequest,
                    "invalid leaf_index"
                ),
                (
                    "/api/v1/jobs", #"{"circuit_id": "no-such-circuit", "inputs": {}}"#, .notFound,
                    "circuit \"no-such-circuit\" is not registered"
                ),
                ("/api/v1/jobs", #"{"inputs": {}}"#, .badRequest, "circuit_id is required"),
                ("/api/v1/jobs", #"{"circuit_id": "merkle-mimc-d2"}"#, .badRequest, "inputs is required"),
                (
                    "/api/v1/jobs", #"{"circuit_id": "merkle-mimc-d2", "inputs": {}, "colour": 1}"#, .badRequest,
                    "unknown field \"colour\""
                ),
                (
                    "/api/v1/jobs", #"{"circuit_id": "merkle-mimc-d2", "inputs": {}, "max_retries": 101}"#,
                    .badRequest, "max_retries must be a whole number from 0 to 100"
                ),
                (
                    "/api/v1/jobs", #"{"circuit_id": "merkle-mimc-d2", "inputs": {"leaves": ["0x01"]}}"#,
                    .badRequest, "1 leaves make a tree of depth 0; the circuit's depth is 2"
                ),
                (
                    "/api/v1/jobs", #"{"circuit_id": "merkle-mimc-d2", "inputs": {}, "deadline": "tomorrow"}"#,
                    .badRequest, "deadline must be an RFC 3339 time"
                ),
                ("/api/v1/jobs", "", .badRequest, "the body is empty"),
                ("/api/v1/verify", #"{"proof": 1}"#, .badRequest, "proof must be a JSON object"),
            ]
            for (path, body, status, message) in cases {
                let answer = try await client.call(.post, path, json: body)
                #expect(answer.status == status, "\(path) \(body.prefix(60)): \(answer.text)")
                #expect(answer.error.contains(message), "\(path) \(body.prefix(60)): \(answer.error)")
                #expect(answer["success"] as? Bool == false)
                #expect(!answer.code.isEmpty)
                #expect(answer["request_id"] as? String == answer.headers[.init("X-Request-ID")!])
            }

            let oversized = try await client.call(
                .post, "/api/v1/tasks/merkle", json: #"{"leaves": ["\#(String(repeating: "a", count: 70_000))"]}"#)
            #expect(oversized.status == .contentTooLarge)
            #expect(oversized.error == "Request body too large. Maximum size is 65536 bytes.")
            #expect(oversized.code == "payload_too_large")

            let unknownJob = try await client.call(.get, "/api/v1/jobs/no-such-job")
            #expect(unknownJob.status == .notFound)
            #expect(unknownJob.error.contains("no-such-job"))
            let badStatus = try await client.call(.get, "/api/v1/jobs?status=done")
            #expect(badStatus.status == .badRequest)
            #expect(badStatus.error.contains("status \"done\" is not one of"))
            let badLimit = try await client.call(.get, "/api/v1/jobs?limit=0")
            #expect(badLimit.status == .badRequest)
            // A cursor the server never issued is the caller's fault, not an unavailable store.
            let foreignCursor = try await client.call(.get, "/api/v1/jobs?cursor=not-a-cursor")
            #expect(foreignCursor.status == .badRequest, "\(foreignCursor.text)")
            #expect(foreignCursor.error.contains("cursor \"not-a-cursor\" is not one this server issued"))
            let badTimeout = try await client.call(.get, "/api/v1/jobs/x/wait?timeout=soon")
            #expect(badTimeout.status == .badRequest)

            let after = try await client.call(.get, "/api/v1/jobs?limit=1000")
            #expect((after["jobs"] as? [Any])?.count == countBefore)
        }
    }

    @Test("API keys: /api/ routes need a valid Bearer key; service routes do not")
    func apiKeys() async throws {
        let key = "test-key-0123456789abcdef"
        try await TestGateway(yaml: "auth:\n  api_keys: [\"\(key)\"]").test { client in
            let missing = try await client.call(.get, "/api/v1/circuits")
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == "Bearer")
            #expect(missing.error.contains("Authorization: Bearer"))
            let wrong = try await client.call(
                .get, "/api/v1/circuits", headers: [.authorization: "Bearer test-key-0123456789abcdeX"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.error == "the API key is not valid")
            let scheme = try await client.call(.get, "/api/v1/circuits", headers: [.authorization: "Basic abc"])
            #expect(scheme.status == .unauthorized)
            let right = try await client.call(.get, "/api/v1/circuits", headers: [.authorization: "Bearer \(key)"])
            #expect(right.status == .ok)
            let health = try await client.call(.get, "/health")
            #expect(health.status == .ok)
            // A refused request changes nothing either.
            let submit = try await client.call(
                .post, "/api/v1/tasks/merkle", json: #"{"leaves": ["0x77"], "leaf_index": 0}"#)
            #expect(submit.status == .unauthorized)
        }
    }
}
