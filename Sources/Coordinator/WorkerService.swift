import Foundation
import GRPCCore
import Groth16
import ProvingJobs
import Scheduler
import Storage
import Wire

/// `coordinator.CoordinatorService`: the worker protocol over gRPC. Application refusals
/// travel as `success=false` with an error code and the original's messages, as the
/// original's workers expect; the mapping from engine errors lives here and nowhere else.
public struct WorkerService: Coordinator_CoordinatorService.SimpleServiceProtocol {
    public let engine: CoordinatorEngine
    public let artifacts: ArtifactStore
    /// The largest artifact a worker may upload (proving keys of big circuits run to GiB).
    public let maximumUploadBytes: Int

    public init(engine: CoordinatorEngine, artifacts: ArtifactStore, maximumUploadBytes: Int = 4 << 30) {
        self.engine = engine
        self.artifacts = artifacts
        self.maximumUploadBytes = maximumUploadBytes
    }

    public func registerWorker(request: Coordinator_RegisterWorkerRequest, context: ServerContext) async throws
        -> Coordinator_RegisterWorkerResponse
    {
        var response: Coordinator_RegisterWorkerResponse = await answer(failurePrefix: "Registration failed: ") {
            _ throws(CoordinatorError) in
            guard request.maxConcurrentTasks > 0 else {
                throw .invalidArgument("max_concurrent_tasks \(request.maxConcurrentTasks) is not positive")
            }
            let families = (request.capabilities["circuits"] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            try await engine.register(
                WorkerID(request.workerID), address: request.address, capacity: UInt32(request.maxConcurrentTasks),
                capabilities: Set(families))
            return "Worker registered successfully"
        }
        response.heartbeatIntervalMs = engine.settings.heartbeatIntervalMilliseconds
        return response
    }

    public func sendHeartbeat(request: Coordinator_HeartbeatRequest, context: ServerContext) async throws
        -> Coordinator_HeartbeatResponse
    {
        await answer(failurePrefix: nil) { _ throws(CoordinatorError) in
            try await engine.heartbeat(WorkerID(request.workerID))
            return ""
        }
    }

    /// A follower answers with one LEADER_CHANGED message naming the leader and ends the
    /// stream, rather than holding it open doing nothing.
    public func receiveTasks(
        request: Coordinator_ReceiveTasksRequest, response: RPCWriter<Coordinator_TaskAssignment>,
        context: ServerContext
    ) async throws {
        let worker = WorkerID(request.workerID)
        let opened: (id: UInt64, messages: AsyncStream<WorkerMessage>)
        do throws(CoordinatorError) {
            opened = try await engine.openStream(for: worker)
        } catch {
            switch error {
            case .notLeader(let address):
                try await response.write(Self.assignment(for: .leaderChanged(leaderAddress: address)))
                return
            default:
                throw RPCError(code: .failedPrecondition, message: error.description)
            }
        }
        do {
            for await message in opened.messages {
                try await response.write(Self.assignment(for: message))
            }
        } catch {
            await engine.streamEnded(for: worker, id: opened.id)
            throw error
        }
        await engine.streamEnded(for: worker, id: opened.id)
    }

    public func startTask(request: Coordinator_StartTaskRequest, context: ServerContext) async throws
        -> Coordinator_StartTaskResponse
    {
        await answer(failurePrefix: "Failed to start task: ") { response throws(CoordinatorError) in
            let lease = try await engine.start(
                JobID(request.taskID), worker: WorkerID(request.workerID), attempt: try Self.attempt(request.attempt))
            response.leaseExpiresAtMs = lease.milliseconds
            return "Task started successfully"
        }
    }

    public func reportCompletion(request: Coordinator_TaskCompletionRequest, context: ServerContext) async throws
        -> Coordinator_TaskCompletionResponse
    {
        await answer(failurePrefix: "Failed to update task: ") { _ throws(CoordinatorError) in
            let ack = try await engine.complete(
                JobID(request.taskID), worker: WorkerID(request.workerID), attempt: try Self.attempt(request.attempt),
                result: try Self.result(of: request))
            return ack == .duplicate ? "Task already completed (duplicate ignored)" : "Task completed successfully"
        }
    }

    public func reportFailure(request: Coordinator_TaskFailureRequest, context: ServerContext) async throws
        -> Coordinator_TaskFailureResponse
    {
        await answer(failurePrefix: "Failed to update task: ") { _ throws(CoordinatorError) in
            guard !request.errorMessage.isEmpty else { throw .invalidArgument("error_message is empty") }
            try await engine.fail(
                JobID(request.taskID), worker: WorkerID(request.workerID), attempt: try Self.attempt(request.attempt),
                reason: String(request.errorMessage.prefix(4096)), deterministic: request.deterministic)
            return "Task failure recorded"
        }
    }

    public func deregisterWorker(request: Coordinator_DeregisterWorkerRequest, context: ServerContext) async throws
        -> Coordinator_DeregisterWorkerResponse
    {
        await answer(failurePrefix: nil) { _ throws(CoordinatorError) in
            try await engine.deregister(WorkerID(request.workerID))
            return "Worker deregistered"
        }
    }

    public func fetchArtifact(
        request: Coordinator_FetchArtifactRequest, response: RPCWriter<Coordinator_ArtifactChunk>,
        context: ServerContext
    ) async throws {
        guard let digest = ArtifactDigest(hex: request.digest) else {
            throw RPCError(
                code: .invalidArgument, message: "digest \"\(request.digest.prefix(80))\" is not 64 hex digits")
        }
        guard let size = try await artifacts.size(of: digest), let count = try await artifacts.chunkCount(of: digest)
        else { throw RPCError(code: .notFound, message: "no artifact \(digest)") }
        var offset: UInt64 = 0
        for index in 0..<max(count, 1) {
            var chunk = Coordinator_ArtifactChunk()
            chunk.digest = digest.hex
            chunk.offset = offset
            if index == 0 { chunk.totalSize = UInt64(size) }
            if count > 0 {
                guard let data = try await artifacts.chunk(index, of: digest) else {
                    throw RPCError(code: .dataLoss, message: "artifact \(digest) is missing chunk \(index)")
                }
                chunk.data = Data(data)
                offset += UInt64(data.count)
            }
            try await response.write(chunk)
        }
    }

    public func uploadArtifact(request: RPCAsyncSequence<Coordinator_ArtifactChunk, any Error>, context: ServerContext)
        async throws -> Coordinator_UploadArtifactResponse
    {
        var response = Coordinator_UploadArtifactResponse()
        var claimed: String?
        var bytes: [UInt8] = []
        for try await chunk in request {
            if claimed == nil { claimed = chunk.digest }
            guard chunk.offset == UInt64(bytes.count) else {
                response.code = .invalidArgument
                response.message = "chunk at offset \(chunk.offset) does not follow byte \(bytes.count)"
                return response
            }
            guard bytes.count + chunk.data.count <= maximumUploadBytes else {
                response.code = .invalidArgument
                response.message = "artifact exceeds the \(maximumUploadBytes)-byte limit"
                return response
            }
            bytes.append(contentsOf: chunk.data)
        }
        let digest = ArtifactStore.digest(of: bytes)
        guard claimed == nil || claimed == digest.hex || claimed == "" else {
            response.code = .invalidArgument
            response.message = "the bytes hash to \(digest), not \(claimed ?? "")"
            return response
        }
        try await artifacts.put(bytes, at: CoordinatorEngine.wallClock())
        response.success = true
        response.digest = digest.hex
        response.message = "Artifact stored"
        return response
    }

    // MARK: Mapping

    static func attempt(_ value: UInt32) throws(CoordinatorError) -> UInt32 {
        guard value > 0 else { throw .invalidArgument("attempt is required (the task assignment carries it)") }
        return value
    }

    /// A completion's result: keys for setup tasks, otherwise a 256-byte proof with its
    /// public inputs, as `public.json` or as the original's `{"witness": [...]}`.
    static func result(of request: Coordinator_TaskCompletionRequest) throws(CoordinatorError) -> JobResult {
        if !request.provingKeyDigest.isEmpty || !request.verificationKeyDigest.isEmpty {
            guard let pk = ArtifactDigest(hex: request.provingKeyDigest) else {
                throw .invalidArgument("proving_key_digest is not 64 hex digits")
            }
            guard let vk = ArtifactDigest(hex: request.verificationKeyDigest) else {
                throw .invalidArgument("verification_key_digest is not 64 hex digits")
            }
            return .keys(provingKey: pk, verificationKey: vk)
        }
        guard request.proofData.count == 256 else {
            throw .invalidArgument("proof_data has \(request.proofData.count) bytes, not 256 (A ‖ B ‖ C)")
        }
        var metadata = Array(request.proofMetadataJson)
        if let original = try? JSONDecoder().decode(OriginalProofMetadata.self, from: request.proofMetadataJson) {
            metadata = PublicSignals.encode(original.witness)
        }
        do {
            _ = try SnarkjsPublicSignals.decode(try PublicSignals.decode(metadata))
        } catch {
            throw .invalidArgument("\(error)")
        }
        return .proof(proof: Array(request.proofData), publicInputs: metadata)
    }

    /// The original workers' `proof_metadata_json`: `{"witness": ["<decimal>", ...]}`.
    struct OriginalProofMetadata: Decodable {
        let witness: [String]
    }

    static func code(for error: CoordinatorError) -> (Coordinator_ErrorCode, String) {
        switch error {
        case .notLeader(let address?): return (.notLeader, address)
        case .notLeader(nil): return (.noLeader, "")
        case .proofInvalid: return (.proofInvalid, "")
        case .invalidArgument: return (.invalidArgument, "")
        case .unavailable: return (.unavailable, "")
        case .rejected(let rejection):
            switch rejection {
            case .unknownWorker: return (.unknownWorker, "")
            case .unknownJob: return (.unknownTask, "")
            case .staleAttempt: return (.staleAttempt, "")
            case .notOwner: return (.notOwner, "")
            case .invalidTransition: return (.invalidState, "")
            case .workerAtCapacity, .workerLacksCapability, .liveJobLimitReached, .circuitNotReady:
                return (.refused, "")
            case .unknownCircuit, .jobExists, .circuitExists, .invalidCommand: return (.invalidArgument, "")
            }
        }
    }

    static func assignment(for message: WorkerMessage) -> Coordinator_TaskAssignment {
        var assignment = Coordinator_TaskAssignment()
        switch message {
        case .task(let job, let attempt, let circuit):
            assignment.kind = .task
            assignment.taskID = job.id.rawValue
            assignment.circuitType =
                job.kind == .setup ? "setup" : (circuit.family == "merkle" ? "merkle_proof" : circuit.family)
            assignment.inputDataJson = Data(job.inputs)
            assignment.createdAt = job.submittedAt.milliseconds / 1000
            assignment.attempt = attempt.number
            assignment.circuitID = circuit.id.rawValue
            if case .ready(let provingKey, _) = circuit.status { assignment.provingKeyDigest = provingKey.hex }
            assignment.leaseExpiresAtMs = attempt.leaseExpiresAt.milliseconds
            assignment.circuitDefinition = Data(circuit.definition)
        case .cancel(let job, let attempt):
            assignment.kind = .cancel
            assignment.taskID = job.rawValue
            assignment.attempt = attempt
        case .leaderChanged(let address):
            assignment.kind = .leaderChanged
            assignment.leaderGrpcAddress = address ?? ""
        case .keepalive:
            assignment.kind = .keepalive
        }
        return assignment
    }
}

extension CoordinatorError {
    var isNotLeader: Bool { if case .notLeader = self { true } else { false } }
}

extension WorkerService {
    /// Runs `body`; on success the answer says `success` with the message it returns, on a
    /// refusal `success=false` with `failurePrefix` (if any) before the reason, the code,
    /// and the leader's address when this coordinator is not the leader. The original's
    /// redirect messages ("Not leader, connect to: …") stand alone, without the prefix.
    func answer<Answer: CoordinatorAnswer>(
        failurePrefix: String?, _ body: (inout Answer) async throws(CoordinatorError) -> String
    ) async -> Answer {
        var answer = Answer()
        do throws(CoordinatorError) {
            answer.message = try await body(&answer)
            answer.success = true
        } catch {
            answer.message =
                error.isNotLeader ? error.description : (failurePrefix.map { "\($0)\(error)" } ?? error.description)
            (answer.code, answer.leaderGrpcAddress) = Self.code(for: error)
        }
        return answer
    }
}
