import BN254
import Circuits
import Crypto
import Foundation
import GRPCCore
import Hummingbird
import Wire

/// The original API: `POST /api/v1/tasks/merkle` and `GET /api/v1/tasks/{id}`, with the
/// original's fields, order, status codes and messages. A task is a job on the built-in
/// MiMC Merkle circuit of the tree's depth (`merkle-mimc-d<depth>`, registered on first
/// use), so its id works on every `/api/v1/jobs/{id}` route too.
extension Gateway {
    static let maximumLeaves = 1000

    struct MerkleTaskRequest: Decodable {
        var leaves: [String]
        var leafIndex: Int?

        enum CodingKeys: String, CodingKey {
            case leaves
            case leafIndex = "leaf_index"
        }
    }

    /// The checked request: canonical leaves, the index and the tree's depth.
    struct MerkleTask {
        var leaves: [Fr]
        var index: Int
        var depth: Int

        var circuitID: String { "merkle-mimc-d\(depth)" }

        /// The same leaves (in any spelling) and index give the same key, so a repeat
        /// within the window is answered with the first task.
        var idempotencyKey: String {
            var hasher = SHA256()
            hasher.update(data: Array("merkle_proof/\(index)/".utf8))
            for leaf in leaves { hasher.update(data: leaf.canonical.bigEndianBytes) }
            return "task-" + hasher.finalize().map { String(format: "%02x", $0) }.joined()
        }

        /// The job's inputs in the original form, with canonical hex leaves.
        var inputsJSON: String {
            OrderedJSON.object([
                ("leaves", .array(leaves.map { .string("0x" + hexEncode($0.canonical.bigEndianBytes)) })),
                ("leaf_index", .integer(Int64(index))),
            ]).text
        }
    }

    static func checkMerkleTask(_ request: MerkleTaskRequest) throws(APIError) -> MerkleTask {
        let count = request.leaves.count
        guard count > 0 else { throw .invalidRequest("leaves array cannot be empty") }
        guard count <= maximumLeaves else {
            throw .invalidRequest("too many leaves (max \(maximumLeaves), got \(count))")
        }
        let index = request.leafIndex ?? 0
        guard (0..<count).contains(index) else {
            throw .invalidRequest("invalid leaf_index: must be between 0 and \(count - 1) (got \(index))")
        }
        var leaves: [Fr] = []
        leaves.reserveCapacity(count)
        for (position, text) in request.leaves.enumerated() {
            do {
                leaves.append(try MerkleTree.leaf(fromHex: text, index: position))
            } catch {
                throw .invalidRequest("leaves[\(position)] (\"\(text.prefix(80))\"): \(Self.leafReason(error))")
            }
        }
        var depth = 0
        while (1 << depth) < count { depth += 1 }
        return MerkleTask(leaves: leaves, index: index, depth: depth)
    }

    private static func leafReason(_ error: MerkleError) -> String {
        if case .invalidLeaf(_, let reason) = error { return reason }
        return error.description
    }

    @Sendable func submitMerkleTask(_ request: Request, context: GatewayContext) async throws -> Response {
        let body: MerkleTaskRequest = try Self.decode(context)
        let task = try Self.checkMerkleTask(body)
        var submit = Zkp_SubmitJobRequest()
        submit.circuitID = task.circuitID
        submit.inputsJson = Data(task.inputsJSON.utf8)
        submit.idempotencyKey = task.idempotencyKey
        submit.idempotencyWindowMs = Int64(config.dedupWindow / .milliseconds(1))
        submit.maxRetries = 3
        let answer = try await submitRegisteringMerkleCircuit(submit, depth: task.depth)
        let cached = answer.duplicate
        var headers = HTTPFields()
        if cached { headers[.xCache] = "HIT" }
        let message =
            cached
            ? "Task already exists. Use GET /api/v1/tasks/{id} to check status"
            : "Task created successfully. Use GET /api/v1/tasks/{id} to check status"
        return json(
            .object([
                ("success", .bool(true)), ("task_id", .string(answer.job.id)),
                ("status", .string(cached ? "cached" : "pending")), ("message", .string(message)),
                ("request_id", .string(context.requestID)),
            ]), status: cached ? .ok : .accepted, headers: headers)
    }

    /// Submits a Merkle job, registering its circuit first if the cluster does not know it.
    func submitRegisteringMerkleCircuit(_ submit: Zkp_SubmitJobRequest, depth: Int) async throws
        -> Zkp_SubmitJobResponse
    {
        do {
            return try await submissions.submit(submit)
        } catch let error as RPCError where error.code == .notFound {
            var register = Zkp_RegisterCircuitRequest()
            register.id = submit.circuitID
            register.family = "merkle"
            register.definition = Data("{\"hash\":\"mimc\",\"depth\":\(depth)}".utf8)
            do {
                _ = try await jobs.registerCircuit(register)
            } catch let error as RPCError where error.code == .alreadyExists {
                // Registered by a concurrent request.
            } catch {
                return try await cluster { throw error }
            }
            return try await cluster { try await submissions.submit(submit) }
        } catch {
            return try await cluster { throw error }
        }
    }

    @Sendable func taskStatus(_ request: Request, context: GatewayContext) async throws -> Response {
        let text = context.parameters.get("id") ?? ""
        guard let id = Self.canonicalUUID(text) else {
            throw APIError(
                .badRequest, code: "invalid_id", "Invalid task ID format: \"\(text.prefix(80))\" is not a UUID")
        }
        // An ended task's body was rendered when the gateway first saw it end.
        let rendered: String
        let cached: Bool
        if let entry = finishedJobs.entry(id) {
            (rendered, cached) = (entry.renderedTask, true)
        } else {
            let job: Zkp_Job
            do {
                job = try await cluster { try await jobs.get(id) }
            } catch let error as APIError where error.status == .notFound {
                throw APIError.notFound("Task not found")
            }
            rendered = finishedJobs.keep(job)?.renderedTask ?? OrderedJSON.membersText(Self.taskMembers(of: job))
            cached = false
        }
        var body = "{" + rendered + ",\"request_id\":"
        OrderedJSON.quote(context.requestID, into: &body)
        body += "}"
        var headers = HTTPFields()
        // HIT: the task had ended and the gateway answered from its own cache.
        headers[.xCache] = cached ? "HIT" : "MISS"
        return json(.raw(body), headers: headers)
    }

    /// The original task body's members, in the original order, up to the request id.
    static func taskMembers(of job: Zkp_Job) -> [(String, OrderedJSON)] {
        var members: [(String, OrderedJSON)] = [
            ("success", .bool(true)), ("task_id", .string(job.id)), ("status", .string(job.status)),
        ]
        let signals = Self.publicSignals(of: job)
        if job.status == "completed" {
            members.append(("proof", .string(hexEncode(Array(job.proofBytes)))))
            if job.circuitType == "merkle_proof", let root = signals.first, let value = Fr(decimal: root) {
                members.append(("merkle_root", .string("0x" + hexEncode(value.canonical.bigEndianBytes))))
            }
            let metadata = OrderedJSON.object([("witness", .array(signals.map { .string($0) }))]).text
            members.append(
                (
                    "public_inputs",
                    .object([
                        ("metadata", .string(metadata)), ("signals", .array(signals.map { .string($0) })),
                        ("verification_key", .string("/api/v1/circuits/\(job.circuitID)/verification_key")),
                    ])
                ))
        }
        members.append(("circuit_type", .string(job.circuitType)))
        members.append(("circuit_id", .string(job.circuitID)))
        if !job.error.isEmpty { members.append(("error", .string(job.error))) }
        members.append(("created_at", .string(Self.rfc3339(job.createdAtMs))))
        if job.completedAtMs > 0 { members.append(("completed_at", .string(Self.rfc3339(job.completedAtMs)))) }
        return members
    }

    /// `text` in lower case if it is a UUID in its 36-character form (either case), as
    /// Foundation's parser takes it, without that parser's cost on every read.
    static func canonicalUUID(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { bytes -> String? in
            guard bytes.count == 36 else { return nil }
            var lower = [UInt8](repeating: 0, count: 36)
            for (offset, byte) in bytes.enumerated() {
                switch (offset, byte) {
                case (8, 0x2D), (13, 0x2D), (18, 0x2D), (23, 0x2D): lower[offset] = byte
                case (8, _), (13, _), (18, _), (23, _): return nil
                case (_, 0x30...0x39), (_, 0x61...0x66): lower[offset] = byte
                case (_, 0x41...0x46): lower[offset] = byte | 0x20
                default: return nil
                }
            }
            return String(decoding: lower, as: UTF8.self)
        }
    }

    /// public.json's decimal strings, when the job has them.
    static func publicSignals(of job: Zkp_Job) -> [String] {
        guard !job.publicJson.isEmpty else { return [] }
        return (try? JSONDecoder().decode([String].self, from: job.publicJson)) ?? []
    }

    /// RFC 3339 in UTC with whole seconds, as the original wrote times.
    static func rfc3339(_ milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
    }

    /// Decodes a JSON body, naming the field that is wrong.
    static func decode<T: Decodable>(_ context: GatewayContext) throws -> T {
        let buffer = try bodyBuffer(context)
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError.invalidJSON(describe(error))
        } catch {
            throw APIError.invalidJSON("not JSON")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch error {
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(path(context.codingPath)): invalid value"
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "\(parent.isEmpty ? "" : parent + ".")\(key.stringValue) is required"
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return "\(field.isEmpty ? "the body" : field) must be \(Self.typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(Self.typeName(type)), not null"
        @unknown default:
            return "not valid"
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is UInt32.Type, is Int64.Type: "a whole number"
        case is [String].Type: "an array of strings"
        case is Bool.Type: "true or false"
        default: "a JSON " + (String(describing: type).hasPrefix("Array") ? "array" : "object")
        }
    }
}
