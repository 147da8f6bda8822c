import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Groth16
import ProvingJobs
import Raft
import RaftNode
import Scheduler
import Storage
import Synchronization
import Wire

/// `zkp.JobService`: the job API for gateways. Any coordinator answers: reads come from
/// its replicated state (archived jobs from the SQL projection); writes go to the leader,
/// which this coordinator reaches on the caller's behalf when it is not the leader.
public struct JobService: Zkp_JobService.SimpleServiceProtocol {
    public let engine: CoordinatorEngine
    public let artifacts: ArtifactStore
    public let projection: JobProjection
    public let projectionStatus: @Sendable () -> ProjectionStatus
    public let raftStatus: @Sendable () async -> RaftStatus
    /// Returns once this coordinator has applied everything committed when it was called
    /// (a ReadIndex round through the leader).
    public let catchUp: @Sendable () async throws -> Void
    private let leaders: GRPCClientPool
    /// Circuit definitions as read from the state: a registered circuit never changes, so
    /// each is parsed once rather than on every submission and read.
    private let definitions = DefinitionMemo()
    /// The most submissions one `SubmitBatch` takes.
    public static let maximumBatch = 1_000
    /// The largest `inputs_json` accepted (the original gateway's 5 MiB body limit).
    public static let maximumInputBytes = 5 << 20
    /// The longest a `Wait` holds before answering with the job as it stands.
    public static let maximumWait: Duration = .seconds(300)
    static let forwardedKey = "zkp-forwarded"
    static let forwardTimeout: Duration = .seconds(30)

    public init(
        engine: CoordinatorEngine, artifacts: ArtifactStore, projection: JobProjection,
        projectionStatus: @escaping @Sendable () -> ProjectionStatus,
        raftStatus: @escaping @Sendable () async -> RaftStatus, catchUp: @escaping @Sendable () async throws -> Void,
        leaders: GRPCClientPool
    ) {
        self.engine = engine
        self.artifacts = artifacts
        self.projection = projection
        self.projectionStatus = projectionStatus
        self.raftStatus = raftStatus
        self.catchUp = catchUp
        self.leaders = leaders
    }

    private var machine: SchedulerStateMachine { engine.machine }

    // MARK: Writes

    /// Set while serving a call another coordinator forwarded: it is answered here or
    /// refused, never forwarded again.
    @TaskLocal static var isForwarded = false

    /// The write RPCs read the forwarding mark from the request's metadata, then run as
    /// simple handlers.
    private func marking<Request, Response>(
        _ request: ServerRequest<Request>, _ body: (Request) async throws -> Response
    ) async throws -> ServerResponse<Response> {
        let forwarded = request.metadata[Self.forwardedKey].contains { _ in true }
        return ServerResponse(
            message: try await Self.$isForwarded.withValue(forwarded) { try await body(request.message) })
    }

    public func submit(request: ServerRequest<Zkp_SubmitJobRequest>, context: ServerContext) async throws
        -> ServerResponse<Zkp_SubmitJobResponse>
    {
        try await marking(request) { try await submit(request: $0, context: context) }
    }

    public func submitBatch(request: ServerRequest<Zkp_SubmitBatchRequest>, context: ServerContext) async throws
        -> ServerResponse<Zkp_SubmitBatchResponse>
    {
        try await marking(request) { try await submitBatch(request: $0, context: context) }
    }

    public func cancel(request: ServerRequest<Zkp_CancelJobRequest>, context: ServerContext) async throws
        -> ServerResponse<Zkp_Job>
    {
        try await marking(request) { try await cancel(request: $0, context: context) }
    }

    public func registerCircuit(request: ServerRequest<Zkp_RegisterCircuitRequest>, context: ServerContext)
        async throws -> ServerResponse<Zkp_Circuit>
    {
        try await marking(request) { try await registerCircuit(request: $0, context: context) }
    }

    public func clusterStatus(request: ServerRequest<Zkp_ClusterStatusRequest>, context: ServerContext) async throws
        -> ServerResponse<Zkp_ClusterStatusResponse>
    {
        try await marking(request) { try await clusterStatus(request: $0, context: context) }
    }

    public func submit(request: Zkp_SubmitJobRequest, context: ServerContext) async throws -> Zkp_SubmitJobResponse {
        let forward: Forwarding = { try await $0.submit(request, metadata: $1, options: $2) }
        return try await leaderOnly(context, forward) {
            let submission = try checked(request)
            let submitted = try await Self.mapping {
                try await engine.submit(
                    circuit: submission.circuit, inputs: submission.inputs, idempotencyKey: submission.idempotencyKey,
                    maxRetries: submission.maxRetries, deadline: submission.deadline)
            }
            var response = Zkp_SubmitJobResponse()
            response.job = try await message(for: try await job(submitted.job))
            response.duplicate = submitted.duplicate
            return response
        }
    }

    public func submitBatch(request: Zkp_SubmitBatchRequest, context: ServerContext) async throws
        -> Zkp_SubmitBatchResponse
    {
        let forward: Forwarding = { try await $0.submitBatch(request, metadata: $1, options: $2) }
        return try await leaderOnly(context, forward) {
            guard request.jobs.count <= Self.maximumBatch else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "a batch of \(request.jobs.count) submissions; at most \(Self.maximumBatch)")
            }
            var results = [Zkp_SubmitResult](repeating: Zkp_SubmitResult(), count: request.jobs.count)
            var positions: [Int] = []
            var submissions: [CoordinatorEngine.Submission] = []
            for (position, job) in request.jobs.enumerated() {
                do {
                    submissions.append(try checked(job))
                    positions.append(position)
                } catch let error as RPCError {
                    results[position].refused = Self.refusal(error)
                }
            }
            let answers = try await Self.mapping { try await engine.submit(batch: submissions) }
            for (position, answer) in zip(positions, answers) {
                switch answer {
                case .success(let submitted):
                    var accepted = Zkp_SubmitJobResponse()
                    accepted.job = try await message(for: try await job(submitted.job))
                    accepted.duplicate = submitted.duplicate
                    results[position].accepted = accepted
                case .failure(let error):
                    results[position].refused = Self.refusal(Self.rpcError(error))
                }
            }
            var response = Zkp_SubmitBatchResponse()
            response.results = results
            return response
        }
    }

    static func refusal(_ error: RPCError) -> Zkp_SubmitRefusal {
        var refusal = Zkp_SubmitRefusal()
        refusal.code = Int32(error.code.rawValue)
        refusal.message = error.message
        return refusal
    }

    /// A submission's fields checked against the circuit it names, as the engine takes them.
    private func checked(_ request: Zkp_SubmitJobRequest) throws -> CoordinatorEngine.Submission {
        let circuitID = try Self.circuitID(request.circuitID)
        guard request.inputsJson.count <= Self.maximumInputBytes else {
            throw RPCError(
                code: .invalidArgument,
                message: "inputs_json has \(request.inputsJson.count) bytes; at most \(Self.maximumInputBytes)")
        }
        guard let circuit = machine.read({ $0.circuits[circuitID] }) else {
            throw RPCError(code: .notFound, message: "circuit \"\(circuitID)\" is not registered")
        }
        let definition = try definition(of: circuit)
        do {
            try JobInputs.validate(Array(request.inputsJson), for: definition)
        } catch {
            throw RPCError(code: .invalidArgument, message: "inputs_json: \(error)")
        }
        guard request.deadlineMs >= 0 else { throw RPCError(code: .invalidArgument, message: "deadline_ms < 0") }
        let maxRetries = request.hasMaxRetries ? request.maxRetries : 3
        guard maxRetries <= 100 else {
            throw RPCError(code: .invalidArgument, message: "max_retries \(maxRetries) is above 100")
        }
        let key = request.idempotencyKey.isEmpty ? nil : request.idempotencyKey
        guard (key?.utf8.count ?? 0) <= 256 else {
            throw RPCError(code: .invalidArgument, message: "idempotency_key is longer than 256 bytes")
        }
        return CoordinatorEngine.Submission(
            circuit: circuitID, inputs: Array(request.inputsJson), idempotencyKey: key, maxRetries: maxRetries,
            deadline: request.deadlineMs > 0 ? Timestamp(milliseconds: request.deadlineMs) : nil)
    }

    /// A circuit's definition, parsed once per circuit.
    func definition(of circuit: CircuitRecord) throws -> CircuitDefinition {
        if let known = definitions.parsed.withLock({ $0[circuit.id] }) { return known }
        let definition = try Self.definition(of: circuit)
        definitions.parsed.withLock { $0[circuit.id] = definition }
        return definition
    }

    public func cancel(request: Zkp_CancelJobRequest, context: ServerContext) async throws -> Zkp_Job {
        let forward: Forwarding = { try await $0.cancel(request, metadata: $1, options: $2) }
        return try await leaderOnly(context, forward) {
            let id = try Self.jobID(request.id)
            let reason = request.reason.isEmpty ? "cancelled by the client" : String(request.reason.prefix(1024))
            do {
                try await Self.mapping { try await engine.cancel(id, reason: reason) }
            } catch let error as RPCError where error.code == .notFound {
                // An archived job has ended: it cannot be cancelled, but it exists.
                guard let archived = try await Self.storage({ try await projection.job(id) }) else { throw error }
                throw RPCError(
                    code: .failedPrecondition, message: "job \(id) has already ended (\(archived.status.rawValue))")
            }
            return try await message(for: try await job(id))
        }
    }

    public func registerCircuit(request: Zkp_RegisterCircuitRequest, context: ServerContext) async throws
        -> Zkp_Circuit
    {
        let forward: Forwarding = { try await $0.registerCircuit(request, metadata: $1, options: $2) }
        return try await leaderOnly(context, forward) {
            let id = try Self.circuitID(request.id)
            guard id.rawValue.count <= 128, id.rawValue.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) })
            else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "circuit id \"\(id.rawValue.prefix(80))\" must be 1–128 of A–Z a–z 0–9 - _ .")
            }
            if machine.read({ $0.circuits[id] != nil }) {
                throw RPCError(code: .alreadyExists, message: "circuit \"\(id)\" is already registered")
            }
            let definition: CircuitDefinition
            switch request.family {
            case "merkle":
                guard request.r1Cs.isEmpty, request.wasm.isEmpty else {
                    throw RPCError(code: .invalidArgument, message: "a merkle circuit takes no r1cs or wasm")
                }
                definition = try Self.invalidArgument { () throws(JobInputError) in
                    try CircuitDefinition(family: "merkle", encoded: Array(request.definition))
                }
            case "circom":
                guard !request.r1Cs.isEmpty else {
                    throw RPCError(code: .invalidArgument, message: "a circom circuit needs its .r1cs in r1cs")
                }
                guard request.wasm.isEmpty else {
                    throw RPCError(
                        code: .invalidArgument,
                        message: "witness generation from .wasm is not offered; submit circom jobs with their .wtns")
                }
                let r1cs = Array(request.r1Cs)
                _ = try Self.invalidArgument { () throws(JobInputError) in try CircuitDefinition.checkR1CS(r1cs) }
                let digest = try await Self.storage { try await artifacts.put(r1cs, at: CoordinatorEngine.wallClock()) }
                definition = .circom(r1cs: digest.hex)
            default:
                throw RPCError(
                    code: .invalidArgument, message: "family \"\(request.family)\" is not one of merkle, circom")
            }
            _ = try await Self.mapping {
                try await engine.registerCircuit(id, family: definition.family, definition: definition.encoded)
            }
            guard let circuit = machine.read({ $0.circuits[id] }) else {
                throw RPCError(code: .unavailable, message: "circuit \(id) changed while registering")
            }
            return try await message(for: circuit)
        }
    }

    public func clusterStatus(request: Zkp_ClusterStatusRequest, context: ServerContext) async throws
        -> Zkp_ClusterStatusResponse
    {
        // Worker health is the leader's soft state, so the leader answers.
        let forward: Forwarding = { try await $0.clusterStatus(request, metadata: $1, options: $2) }
        return try await leaderOnly(context, forward) {
            try await clusterStatusHere()
        }
    }

    // MARK: Reads

    public func get(request: Zkp_GetJobRequest, context: ServerContext) async throws -> Zkp_Job {
        try await message(for: try await job(try Self.jobID(request.id)))
    }

    public func wait(request: Zkp_WaitJobRequest, context: ServerContext) async throws -> Zkp_Job {
        let id = try Self.jobID(request.id)
        guard request.timeoutMs >= 0 else { throw RPCError(code: .invalidArgument, message: "timeout_ms < 0") }
        let timeout = request.timeoutMs == 0 ? .seconds(30) : min(.milliseconds(request.timeoutMs), Self.maximumWait)
        let until = ContinuousClock.now + timeout
        var seen = machine.appliedIndex
        while true {
            let current = try await job(id)
            if current.status.isTerminal || ContinuousClock.now >= until || Task.isCancelled {
                return try await message(for: current)
            }
            seen = await machine.waitForChange(after: seen, until: until)
        }
    }

    public func list(request: Zkp_ListJobsRequest, context: ServerContext) async throws -> Zkp_ListJobsResponse {
        var status: JobStatus?
        if !request.status.isEmpty {
            guard let parsed = JobStatus(rawValue: request.status) else {
                throw RPCError(
                    code: .invalidArgument,
                    message:
                        "status \"\(request.status.prefix(40))\" is not one of pending, assigned, in_progress, completed, failed, cancelled"
                )
            }
            status = parsed
        }
        let limit = request.limit == 0 ? 50 : Int(request.limit)
        guard limit <= 1000 else { throw RPCError(code: .invalidArgument, message: "limit \(limit) is above 1000") }
        let page = try await Self.storage {
            try await awaitProjection(of: machine.appliedIndex)
            return try await projection.jobs(
                status: status, circuit: request.circuitID.isEmpty ? nil : CircuitID(request.circuitID),
                cursor: request.cursor.isEmpty ? nil : request.cursor, limit: limit)
        }
        var response = Zkp_ListJobsResponse()
        for job in page.jobs {
            // The replicated state is newer than the projection for live jobs.
            response.jobs.append(try await message(for: machine.read { $0.jobs[job.id] } ?? job))
        }
        response.nextCursor = page.nextCursor ?? ""
        return response
    }

    public func listCircuits(request: Zkp_ListCircuitsRequest, context: ServerContext) async throws
        -> Zkp_ListCircuitsResponse
    {
        let circuits = machine.read { Array($0.circuits.values) }.sorted { $0.id.rawValue < $1.id.rawValue }
        var response = Zkp_ListCircuitsResponse()
        for circuit in circuits { response.circuits.append(try await message(for: circuit)) }
        return response
    }

    public func getCircuit(request: Zkp_GetCircuitRequest, context: ServerContext) async throws -> Zkp_Circuit {
        try await message(for: try circuit(try Self.circuitID(request.id)))
    }

    public func getVerificationKey(request: Zkp_GetCircuitRequest, context: ServerContext) async throws
        -> Zkp_VerificationKey
    {
        let circuit = try circuit(try Self.circuitID(request.id))
        guard case .ready(_, let digest) = circuit.status else {
            throw RPCError(
                code: .failedPrecondition, message: "circuit \"\(circuit.id)\" has no keys yet (\(circuit.status))")
        }
        let key = try await verificationKey(digest)
        var response = Zkp_VerificationKey()
        response.circuitID = circuit.id.rawValue
        response.digest = digest.hex
        response.snarkjsJson = try JSONEncoder().encode(key.snarkjs)
        return response
    }

    /// Waits, for at most a second, until SQL holds every change applied here up to
    /// `index`: a list then shows the jobs its caller saw change (the projection gathers
    /// changes for some tens of milliseconds before it writes them). While the database
    /// lags further, the list answers with what SQL has.
    private func awaitProjection(of index: UInt64) async throws {
        let deadline = ContinuousClock.now + .seconds(1)
        while try await projection.projectedIndex() < index, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: Lookups

    /// The job from the replicated state, or from the projection once archived. A job
    /// this coordinator does not know may have been committed a moment ago through
    /// another member; it catches up with the leader before saying "not found", so a
    /// client reads its own submissions wherever it asks.
    func job(_ id: JobID) async throws -> Job {
        for caughtUp in [false, true] {
            if caughtUp {
                do {
                    try await catchUp()
                } catch {
                    throw RPCError(code: .unavailable, message: "cannot confirm job \(id) with the leader: \(error)")
                }
            }
            if let live = machine.read({ $0.jobs[id] }) { return live }
            if let archived = try await Self.storage({ try await projection.job(id) }) { return archived }
        }
        throw RPCError(code: .notFound, message: "job \(id) not found")
    }

    func circuit(_ id: CircuitID) throws -> CircuitRecord {
        guard let circuit = machine.read({ $0.circuits[id] }) else {
            throw RPCError(code: .notFound, message: "circuit \"\(id)\" is not registered")
        }
        return circuit
    }

    private func verificationKey(_ digest: ArtifactDigest) async throws -> VerifyingKey {
        guard let bytes = try await Self.storage({ try await artifacts.get(digest) }) else {
            throw RPCError(code: .unavailable, message: "verification key \(digest) is missing from the artifact store")
        }
        do {
            return try VerifyingKey(nativeBytes: bytes)
        } catch {
            throw RPCError(code: .internalError, message: "verification key \(digest) is unreadable: \(error)")
        }
    }

    // MARK: Messages

    func message(for job: Job) async throws -> Zkp_Job {
        var message = Zkp_Job()
        message.id = job.id.rawValue
        message.circuitID = job.circuit.rawValue
        message.status = job.status.rawValue
        message.inputsJson = Data(job.inputs)
        message.createdAtMs = job.submittedAt.milliseconds
        message.updatedAtMs = job.updatedAt.milliseconds
        message.attempts = UInt32(job.attempts.count)
        message.maxRetries = job.maxRetries
        message.workerID = job.attempts.last?.worker.rawValue ?? ""
        message.deadlineMs = job.deadline?.milliseconds ?? 0
        message.error = job.failureReason ?? ""
        if job.kind == .setup {
            message.circuitType = "setup"
        } else if let circuit = machine.read({ $0.circuits[job.circuit] }),
            let definition = try? definition(of: circuit)
        {
            message.circuitType = definition.circuitType
        }
        if job.status == .completed {
            message.completedAtMs = job.updatedAt.milliseconds
            if case .proof(let bytes, let publicInputs) = job.result {
                message.proofBytes = Data(bytes)
                message.publicJson = Data(publicInputs)
                if let proof = try? Proof(ethereumBytes: bytes) {
                    message.proofJson = try JSONEncoder().encode(proof.snarkjs)
                }
            }
        }
        return message
    }

    func message(for circuit: CircuitRecord) async throws -> Zkp_Circuit {
        var message = Zkp_Circuit()
        message.id = circuit.id.rawValue
        message.family = circuit.family
        message.definition = Data(circuit.definition)
        message.registeredAtMs = circuit.registeredAt.milliseconds
        switch circuit.status {
        case .awaitingSetup(let job):
            message.status = "awaiting_setup"
            message.setupJobID = job.rawValue
        case .ready(let provingKey, let verificationKey):
            message.status = "ready"
            message.provingKeyDigest = provingKey.hex
            message.verificationKeyDigest = verificationKey.hex
            message.publicInputs = UInt32(try await self.verificationKey(verificationKey).publicCount)
        case .setupFailed(let reason):
            message.status = "setup_failed"
            message.error = reason
        }
        return message
    }

    private func clusterStatusHere() async throws -> Zkp_ClusterStatusResponse {
        let raft = await raftStatus()
        var response = Zkp_ClusterStatusResponse()
        response.leaderID = raft.leader
        response.term = raft.term
        response.leaderGrpcAddress = engine.settings.grpcAddresses[raft.leader] ?? ""
        for id in raft.voters.union(raft.learners).sorted() {
            var member = Zkp_ClusterMember()
            member.nodeID = id
            member.grpcAddress = engine.settings.grpcAddresses[id] ?? ""
            member.role = id == raft.id ? "\(raft.role)" : (raft.learners.contains(id) ? "learner" : "follower")
            if id == raft.id {
                member.term = raft.term
                member.commitIndex = raft.commitIndex
                member.appliedIndex = raft.appliedIndex
            }
            response.members.append(member)
        }
        let health = await engine.workerHealth() ?? [:]
        let (workers, counts) = machine.read { state in
            var counts: [String: UInt64] = [:]
            for job in state.jobs.values { counts[job.status.rawValue, default: 0] += 1 }
            return (state.workers.values.sorted { $0.id.rawValue < $1.id.rawValue }, counts)
        }
        for worker in workers {
            var message = Zkp_ClusterWorker()
            message.id = worker.id.rawValue
            message.address = worker.address
            message.capacity = worker.capacity
            message.activeJobs = worker.activeJobs
            message.capabilities = worker.capabilities.sorted()
            if let (state, heard) = health[worker.id] {
                message.health = state.rawValue
                message.lastHeartbeatMs = heard.milliseconds
            }
            response.workers.append(message)
        }
        response.jobs = counts
        let projection = projectionStatus()
        response.database = projection.database.rawValue
        response.projectionLag = projection.lag(behind: machine.appliedIndex)
        return response
    }

    // MARK: Leader forwarding and error mapping

    /// The same call made to the leader.
    typealias Forwarding<Response> =
        @Sendable (Zkp_JobService.Client<HTTP2ClientTransport.Posix>, Metadata, CallOptions) async throws -> Response

    /// Runs `body` on the leader: here when this coordinator leads, otherwise by calling
    /// the leader once on the caller's behalf (a forwarded call is never forwarded again).
    private func leaderOnly<Response: Sendable>(
        _ context: ServerContext, _ forward: Forwarding<Response>, _ body: () async throws -> Response
    ) async throws -> Response {
        do {
            if await engine.isLeading { return try await body() }
            throw CoordinatorError.notLeader(leaderAddress: nil)
        } catch let error as CoordinatorError {
            guard case .notLeader = error else { throw Self.rpcError(error) }
            let status = await raftStatus()
            guard status.leader != 0, status.leader != status.id,
                let address = engine.settings.grpcAddresses[status.leader]
            else {
                throw RPCError(code: .unavailable, message: CoordinatorError.notLeader(leaderAddress: nil).description)
            }
            guard !Self.isForwarded else {
                throw RPCError(code: .unavailable, message: "Not leader, connect to: \(address)")
            }
            let target: PeerAddress
            do {
                target = try PeerAddress(parsing: address)
            } catch {
                throw RPCError(code: .internalError, message: "the leader's address \(address) is unusable: \(error)")
            }
            let client = Zkp_JobService.Client(wrapping: try leaders.client(for: target))
            return try await forward(
                client, [Self.forwardedKey: "1"], GRPCSettings.callOptions(timeout: Self.forwardTimeout))
        }
    }

    /// Maps the engine's refusals to gRPC statuses, except "not leader", which
    /// `leaderOnly` turns into a forwarded call.
    static func mapping<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CoordinatorError {
            if case .notLeader = error { throw error }
            throw rpcError(error)
        }
    }

    static func rpcError(_ error: CoordinatorError) -> RPCError {
        switch error {
        case .notLeader: RPCError(code: .unavailable, message: error.description)
        case .invalidArgument(let reason): RPCError(code: .invalidArgument, message: reason)
        case .proofInvalid: RPCError(code: .internalError, message: error.description)
        case .unavailable: RPCError(code: .unavailable, message: error.description)
        case .rejected(let rejection):
            switch rejection {
            case .unknownJob, .unknownCircuit, .unknownWorker: RPCError(code: .notFound, message: rejection.description)
            case .jobExists, .circuitExists: RPCError(code: .alreadyExists, message: rejection.description)
            case .liveJobLimitReached: RPCError(code: .resourceExhausted, message: rejection.description)
            case .invalidTransition, .circuitNotReady, .staleAttempt, .notOwner, .workerAtCapacity,
                .workerLacksCapability:
                RPCError(code: .failedPrecondition, message: rejection.description)
            case .invalidCommand: RPCError(code: .invalidArgument, message: rejection.description)
            }
        }
    }

    /// Runs a read or write of the SQL store; a failure means the store is unreachable, unless
    /// the request itself was at fault (a cursor this server never issued).
    static func storage<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            throw error
        } catch Storage.StorageError.invalidCursor(let cursor) {
            throw RPCError(code: .invalidArgument, message: Storage.StorageError.invalidCursor(cursor).description)
        } catch {
            throw RPCError(code: .unavailable, message: "the SQL store is unavailable: \(error)")
        }
    }

    static func invalidArgument<T>(_ body: () throws(JobInputError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw RPCError(code: .invalidArgument, message: error.description)
        }
    }

    static func definition(of circuit: CircuitRecord) throws -> CircuitDefinition {
        do {
            return try CircuitDefinition(family: circuit.family, encoded: circuit.definition)
        } catch {
            throw RPCError(
                code: .internalError, message: "circuit \(circuit.id) has an unreadable definition: \(error)")
        }
    }

    static func jobID(_ text: String) throws -> JobID {
        guard !text.isEmpty else { throw RPCError(code: .invalidArgument, message: "id is empty") }
        guard text.utf8.count <= 128 else {
            throw RPCError(code: .invalidArgument, message: "id is longer than 128 bytes")
        }
        return JobID(text)
    }

    static func circuitID(_ text: String) throws -> CircuitID {
        guard !text.isEmpty else { throw RPCError(code: .invalidArgument, message: "circuit id is empty") }
        return CircuitID(text)
    }
}

/// Parsed circuit definitions by circuit id, shared by every copy of a `JobService`.
final class DefinitionMemo: Sendable {
    let parsed = Mutex<[CircuitID: CircuitDefinition]>([:])
}
