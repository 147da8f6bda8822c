import BN254
import Foundation
import Groth16
import Hummingbird
import Wire

/// The generic job API: any registered circuit, with waiting, cancelling, listing and the
/// proof in snarkjs and Solidity forms.
extension Gateway {
    static let jobStatuses = ["pending", "assigned", "in_progress", "completed", "failed", "cancelled"]

    /// `inputs` is kept as raw JSON: it goes to the cluster as it was sent.
    struct JobRequest {
        var circuitID: String
        var inputs: Data
        var idempotencyKey: String?
        var maxRetries: UInt32?
        var deadline: Date?

        init(_ body: ByteBuffer) throws(APIError) {
            let object: [String: Any]
            do {
                guard let parsed = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
                else { throw APIError.invalidJSON("the body must be a JSON object") }
                object = parsed
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError.invalidJSON("not valid JSON")
            }
            let known: Set<String> = ["circuit_id", "inputs", "idempotency_key", "max_retries", "deadline"]
            if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
                throw APIError.invalidRequest(
                    "unknown field \"\(unknown.prefix(60))\"; the fields are \(known.sorted().joined(separator: ", "))")
            }
            guard let circuit = object["circuit_id"] as? String, !circuit.isEmpty else {
                throw APIError.invalidRequest("circuit_id is required and must be a non-empty string")
            }
            circuitID = circuit
            guard let inputs = object["inputs"], inputs is [String: Any] else {
                throw APIError.invalidRequest("inputs is required and must be a JSON object")
            }
            do {
                self.inputs = try JSONSerialization.data(withJSONObject: inputs)
            } catch {
                throw APIError.invalidRequest("inputs cannot be encoded again as JSON")
            }
            if let key = object["idempotency_key"] {
                guard let key = key as? String, (1...256).contains(key.utf8.count) else {
                    throw APIError.invalidRequest("idempotency_key must be a string of 1–256 bytes")
                }
                idempotencyKey = key
            }
            if let retries = object["max_retries"] {
                guard let number = retries as? NSNumber, !(retries is Bool),
                    number.doubleValue == number.doubleValue.rounded(), (0...100).contains(number.intValue)
                else {
                    throw APIError.invalidRequest("max_retries must be a whole number from 0 to 100")
                }
                maxRetries = UInt32(number.intValue)
            }
            if let deadline = object["deadline"] {
                guard let text = deadline as? String, let date = try? Date(text, strategy: .iso8601) else {
                    throw APIError.invalidRequest("deadline must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
                }
                guard date > Date() else { throw APIError.invalidRequest("deadline \(text) has already passed") }
                self.deadline = date
            }
        }
    }

    @Sendable func submitJob(_ request: Request, context: GatewayContext) async throws -> Response {
        let body = try JobRequest(try Self.bodyBuffer(context))
        var submit = Zkp_SubmitJobRequest()
        submit.circuitID = body.circuitID
        submit.inputsJson = body.inputs
        if let key = body.idempotencyKey {
            submit.idempotencyKey = key
            submit.idempotencyWindowMs = Int64(config.dedupWindow / .milliseconds(1))
        }
        if let retries = body.maxRetries { submit.maxRetries = retries }
        if let deadline = body.deadline { submit.deadlineMs = Int64(deadline.timeIntervalSince1970 * 1000) }
        let answer = try await cluster { try await submissions.submit(submit) }
        var headers = HTTPFields()
        headers[.location] = "/api/v1/jobs/\(answer.job.id)"
        if answer.duplicate { headers[.xCache] = "HIT" }
        return json(
            .object([
                ("success", .bool(true)), ("duplicate", .bool(answer.duplicate)), ("job", Self.jobJSON(answer.job)),
                ("request_id", .string(context.requestID)),
            ]), status: answer.duplicate ? .ok : .accepted, headers: headers)
    }

    @Sendable func getJob(_ request: Request, context: GatewayContext) async throws -> Response {
        let job = try await fetchJob(context)
        return json(
            .object([("success", .bool(true)), ("job", Self.jobJSON(job)), ("request_id", .string(context.requestID))]))
    }

    @Sendable func waitJob(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try Self.jobID(context)
        var timeout = Duration.seconds(30)
        if let text = request.uri.queryParameters.get("timeout") {
            guard let seconds = Double(text), seconds.isFinite, seconds >= 0 else {
                throw APIError.invalidRequest(
                    "timeout must be a number of seconds, such as 30 (got \"\(text.prefix(40))\")")
            }
            // Any wait is cut to the request's deadline below; capping first keeps a huge
            // number (1e300) from overflowing the conversion.
            timeout = .milliseconds(Int64(min(seconds, 86_400) * 1000))
        }
        // The answer must leave before the gateway's own time limit, with room to spare for
        // a loaded machine: the coordinator's answer, the JSON and the write.
        let margin = min(.seconds(2), config.writeTimeout / 4)
        let available = context.deadline - .now - margin
        let wait = max(.zero, min(timeout, available))
        let job: Zkp_Job
        if let finished = finishedJobs.job(id) {
            job = finished
        } else {
            job = try await cluster { try await jobs.wait(id, timeout: wait) }
            finishedJobs.keep(job)
        }
        return json(
            .object([
                ("success", .bool(true)), ("done", .bool(FinishedJobCache.terminalStatuses.contains(job.status))),
                ("job", Self.jobJSON(job)), ("request_id", .string(context.requestID)),
            ]))
    }

    @Sendable func cancelJob(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try Self.jobID(context)
        let reason = request.uri.queryParameters.get("reason").map { String($0.prefix(1024)) } ?? ""
        let job = try await cluster { try await jobs.cancel(id, reason: reason) }
        finishedJobs.keep(job)
        return json(
            .object([("success", .bool(true)), ("job", Self.jobJSON(job)), ("request_id", .string(context.requestID))]))
    }

    @Sendable func listJobs(_ request: Request, context: GatewayContext) async throws -> Response {
        let query = request.uri.queryParameters
        var list = Zkp_ListJobsRequest()
        if let status = query.get("status") {
            guard Self.jobStatuses.contains(status) else {
                throw APIError.invalidRequest(
                    "status \"\(status.prefix(40))\" is not one of \(Self.jobStatuses.joined(separator: ", "))")
            }
            list.status = status
        }
        if let circuit = query.get("circuit_id") { list.circuitID = circuit }
        list.limit = 100
        if let text = query.get("limit") {
            guard let limit = Int(text), (1...1000).contains(limit) else {
                throw APIError.invalidRequest(
                    "limit must be a whole number from 1 to 1000 (got \"\(text.prefix(40))\")")
            }
            list.limit = UInt32(limit)
        }
        if let cursor = query.get("cursor") { list.cursor = cursor }
        let answer = try await cluster { try await jobs.list(list) }
        return json(
            .object([
                ("success", .bool(true)), ("jobs", .array(answer.jobs.map(Self.jobJSON))),
                ("next_cursor", answer.nextCursor.isEmpty ? .null : .string(answer.nextCursor)),
                ("request_id", .string(context.requestID)),
            ]))
    }

    /// snarkjs proof.json.
    @Sendable func jobProof(_ request: Request, context: GatewayContext) async throws -> Response {
        let job = try await completedJob(context)
        return text(String(decoding: job.proofJson, as: UTF8.self), contentType: "application/json")
    }

    /// snarkjs public.json.
    @Sendable func jobPublicSignals(_ request: Request, context: GatewayContext) async throws -> Response {
        let job = try await completedJob(context)
        return text(String(decoding: job.publicJson, as: UTF8.self), contentType: "application/json")
    }

    /// The arguments of the Solidity verifier's `verifyProof`, as snarkjs prints them.
    @Sendable func jobCalldata(_ request: Request, context: GatewayContext) async throws -> Response {
        let job = try await completedJob(context)
        guard let proof = try? Proof(ethereumBytes: job.proofBytes),
            let signals = try? SnarkjsPublicSignals.decode(Self.publicSignals(of: job))
        else {
            throw APIError(.internalServerError, code: "internal", "job \(job.id) has a result that cannot be read")
        }
        return text(SolidityCalldata(proof: proof, publicInputs: signals).text + "\n", contentType: "text/plain")
    }

    // MARK: Helpers

    static func jobID(_ context: GatewayContext) throws(APIError) -> String {
        let id = context.parameters.get("id") ?? ""
        guard (1...128).contains(id.utf8.count) else { throw .invalidRequest("the job id must be 1–128 bytes") }
        return id
    }

    /// The job the path names: from the cache when it has ended, otherwise from a coordinator.
    func fetchJob(_ context: GatewayContext) async throws -> Zkp_Job {
        let id = try Self.jobID(context)
        if let finished = finishedJobs.job(id) { return finished }
        let job = try await cluster { try await jobs.get(id) }
        finishedJobs.keep(job)
        return job
    }

    func completedJob(_ context: GatewayContext) async throws -> Zkp_Job {
        let job = try await fetchJob(context)
        guard job.status == "completed" else {
            throw APIError(.conflict, code: "not_completed", "job \(job.id) is \(job.status); it has no proof yet")
        }
        // A circuit's setup is a job too; it ends with keys, not a proof.
        guard !job.proofBytes.isEmpty else {
            throw APIError(
                .conflict, code: "no_proof",
                "job \(job.id) is the setup of circuit \(job.circuitID); it made keys, not a proof")
        }
        return job
    }

    static func bodyBuffer(_ context: GatewayContext) throws(APIError) -> ByteBuffer {
        let buffer = context.body
        guard buffer.readableBytes > 0 else { throw .invalidJSON("the body is empty; send a JSON object") }
        return buffer
    }

    static func jobJSON(_ job: Zkp_Job) -> OrderedJSON {
        var members: [(String, OrderedJSON)] = [
            ("id", .string(job.id)), ("circuit_id", .string(job.circuitID)),
            ("circuit_type", .string(job.circuitType)), ("status", .string(job.status)),
            ("attempts", .integer(Int64(job.attempts))), ("max_retries", .integer(Int64(job.maxRetries))),
            ("worker_id", job.workerID.isEmpty ? .null : .string(job.workerID)),
            ("error", job.error.isEmpty ? .null : .string(job.error)),
            ("created_at", .string(rfc3339(job.createdAtMs))), ("updated_at", .string(rfc3339(job.updatedAtMs))),
            ("completed_at", job.completedAtMs > 0 ? .string(rfc3339(job.completedAtMs)) : .null),
            ("deadline", job.deadlineMs > 0 ? .string(rfc3339(job.deadlineMs)) : .null),
        ]
        let completed = job.status == "completed" && !job.proofJson.isEmpty
        members.append(("proof", completed ? .raw(String(decoding: job.proofJson, as: UTF8.self)) : .null))
        members.append(("public_signals", completed ? .raw(String(decoding: job.publicJson, as: UTF8.self)) : .null))
        return .object(members)
    }
}
