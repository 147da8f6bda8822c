import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Groth16
import Logging
import ProvingJobs
import RaftNode
import Synchronization
import Wire

/// A worker: it dials the coordinators, follows the leader, registers its capacity and
/// capabilities, takes tasks from its stream, proves (or sets up) and checks its own
/// result, and reports with bounded retries. `drain()` stops it taking work; in-flight
/// tasks finish and are reported (or are handed back once the drain times out), and the
/// worker leaves the registry before `run()` returns.
public actor ProvingWorker {
    public nonisolated let configuration: WorkerConfiguration
    private let clients = GRPCClientPool()
    private let cache: ArtifactCache
    private let logger: Logger

    /// The coordinator calls go to: the last leader named, else the next in the list.
    private var target: PeerAddress
    private var nextCoordinator = 0
    private var draining = false
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private var inFlight: [TaskKey: Task<Void, Never>] = [:]
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Proving keys and built circuits in memory, by digest and definition.
    private var keys: [String: ProverKey] = [:]
    private var circuits: [[UInt8]: ProvingCircuit] = [:]
    public private(set) var statistics = WorkerStatistics()

    struct TaskKey: Hashable {
        let task: String
        let attempt: UInt32
    }

    public init(configuration: WorkerConfiguration, logger: Logger = Logger(label: "zkp.worker")) throws {
        try configuration.validate()
        self.configuration = configuration
        self.cache = try ArtifactCache(directory: configuration.cacheDirectory)
        self.logger = logger
        self.target = configuration.coordinators[0]
    }

    // MARK: Running

    /// Works until drained (or cancelled, which drains at once without waiting).
    public func run() async {
        var backoff = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        while !draining && !Task.isCancelled {
            guard let heartbeat = await register() else {
                try? await Task.sleep(for: backoff.next())
                continue
            }
            backoff.reset()
            await session(heartbeat: heartbeat)
        }
        await finishDrain()
        await clients.shutdown()
    }

    /// Stops taking tasks; `run()` returns once in-flight tasks are reported and the
    /// worker has left the registry.
    public func drain() {
        guard !draining else { return }
        draining = true
        logger.info("Draining: no new tasks", metadata: ["in_flight": "\(inFlight.count)"])
        for waiter in drainWaiters { waiter.resume() }
        drainWaiters.removeAll()
    }

    public var inFlightCount: Int { inFlight.count }

    /// One registration's life: the task stream and the heartbeats, until the stream ends,
    /// the leader forgets the worker, or a drain begins.
    private func session(heartbeat: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.receiveTasks() }
            group.addTask { await self.heartbeats(every: heartbeat) }
            group.addTask { await self.untilDraining() }
            _ = await group.next()
            group.cancelAll()
        }
    }

    private func untilDraining() async {
        if draining { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { drainWaiters.append($0) }
        } onCancel: {
            Task { await self.releaseDrainWaiters() }
        }
    }

    private func releaseDrainWaiters() {
        for waiter in drainWaiters { waiter.resume() }
        drainWaiters.removeAll()
    }

    // MARK: Registration and heartbeats

    /// Registers with the leader; returns the heartbeat interval it asked for.
    private func register() async -> Duration? {
        var request = Coordinator_RegisterWorkerRequest()
        request.workerID = configuration.id
        request.maxConcurrentTasks = Int32(configuration.concurrency)
        request.capabilities = ["circuits": configuration.capabilities.joined(separator: ",")]
        request.address = configuration.advertisedAddress
        let answer = await call(
            "register",
            retry: RetryPolicy(
                attempts: configuration.registerAttempts, base: .milliseconds(200), maximum: .seconds(2),
                timeout: .seconds(10))
        ) { [request] client, options in
            try await client.registerWorker(request, options: options)
        }
        guard let answer, answer.success else {
            if let answer { logger.warning("Registration refused", metadata: ["message": "\(answer.message)"]) }
            return nil
        }
        logger.info("Registered", metadata: ["coordinator": "\(target)", "capacity": "\(configuration.concurrency)"])
        return answer.heartbeatIntervalMs > 0
            ? .milliseconds(answer.heartbeatIntervalMs) : configuration.heartbeatInterval
    }

    /// Beats until cancelled, or until the leader no longer knows this worker (then the
    /// session ends and the worker registers again).
    private func heartbeats(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            var request = Coordinator_HeartbeatRequest()
            request.workerID = configuration.id
            request.timestamp = Int64(Date().timeIntervalSince1970)
            let answer = await call("heartbeat", retry: .heartbeat) { [request] client, options in
                try await client.sendHeartbeat(request, options: options)
            }
            if let answer, !answer.success, answer.code == .unknownWorker {
                logger.warning("The leader does not know this worker; registering again")
                return
            }
        }
    }

    // MARK: The task stream

    private func receiveTasks() async {
        var request = Coordinator_ReceiveTasksRequest()
        request.workerID = configuration.id
        let address = target
        do {
            let client = Coordinator_CoordinatorService.Client(wrapping: try clients.client(for: address))
            try await client.receiveTasks(request, options: GRPCSettings.callOptions(timeout: nil)) { response in
                for try await assignment in response.messages {
                    guard await self.handle(assignment) else { return }
                }
            }
            logger.info("Task stream ended", metadata: ["coordinator": "\(address)"])
        } catch {
            logger.warning("Task stream failed", metadata: ["coordinator": "\(address)", "error": "\(error)"])
            if target == address { rotateTarget() }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Acts on one stream message; false ends the stream.
    private func handle(_ assignment: Coordinator_TaskAssignment) -> Bool {
        switch assignment.kind {
        case .task:
            let key = TaskKey(task: assignment.taskID, attempt: assignment.attempt)
            // After a reconnect the leader re-sends unstarted attempts; one is enough.
            guard inFlight[key] == nil, !draining else { return !draining }
            inFlight[key] = Task { await self.execute(assignment, key: key) }
            return true
        case .cancel:
            let key = TaskKey(task: assignment.taskID, attempt: assignment.attempt)
            if let task = inFlight[key] {
                logger.info("Task cancelled by the coordinator", metadata: ["task_id": "\(assignment.taskID)"])
                task.cancel()
            }
            return true
        case .leaderChanged:
            follow(assignment.leaderGrpcAddress)
            return false
        case .keepalive:
            return true
        case .UNRECOGNIZED:
            return true
        }
    }

    // MARK: Tasks

    private func execute(_ assignment: Coordinator_TaskAssignment, key: TaskKey) async {
        defer { finished(key) }
        var start = Coordinator_StartTaskRequest()
        start.taskID = assignment.taskID
        start.workerID = configuration.id
        start.attempt = assignment.attempt
        // The work begins while the start is being committed, and its report does not wait
        // for the start: a small proof is done in less time than one commit takes, and the
        // job holds a slot until its completion commits. The leader fences every report by
        // attempt and owner, started or not. A refused start means the attempt is no longer
        // this worker's, so the work stops unreported.
        let began = ContinuousClock.now
        let work = Task { await self.outcome(of: assignment) }
        let starting = Task {
            let started = await self.call("start", retry: .start) { [start] client, options in
                try await client.startTask(start, options: options)
            }
            if started?.success != true { work.cancel() }
            return started
        }
        let outcome = await withTaskCancellationHandler {
            await work.value
        } onCancel: {
            work.cancel()
            starting.cancel()
        }
        // A cancelled attempt's result would be refused; do not send it.
        var reported = false
        if let outcome, !Task.isCancelled {
            await report(outcome, of: assignment, after: ContinuousClock.now - began)
            reported = true
        }
        // A start refused after the report went in names an attempt that ended; only one
        // refused before it explains why the work stopped.
        let started = await starting.value
        if started?.success != true && !reported {
            logger.warning(
                "Task not started",
                metadata: ["task_id": "\(assignment.taskID)", "reason": "\(started?.message ?? "no answer")"])
        }
    }

    /// The task's outcome, or nil if it was cancelled. A task that runs past
    /// `taskTimeout` fails (to be retried elsewhere); its computation is abandoned.
    private func outcome(of assignment: Coordinator_TaskAssignment) async -> TaskOutcome? {
        let work = Task { () async -> TaskOutcome? in
            do {
                return try await self.work(on: assignment)
            } catch let error as JobInputError {
                return .failed(reason: error.description, deterministic: true)
            } catch is CancellationError {
                return nil
            } catch {
                return .failed(reason: "\(error)", deterministic: false)
            }
        }
        let timeout = configuration.taskTimeout
        return await withTaskCancellationHandler {
            await withTaskGroup(of: TaskOutcome??.self) { group in
                group.addTask { await work.value }
                group.addTask {
                    do {
                        try await Task.sleep(for: timeout)
                    } catch {
                        return nil
                    }
                    return .some(
                        .failed(reason: "the task ran past worker.task_timeout (\(timeout))", deterministic: false))
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                work.cancel()
                return first ?? nil
            }
        } onCancel: {
            work.cancel()
        }
    }

    private func finished(_ key: TaskKey) {
        inFlight[key] = nil
        if inFlight.isEmpty {
            for waiter in idleWaiters { waiter.resume() }
            idleWaiters.removeAll()
        }
    }

    enum TaskOutcome {
        case proof(bytes: [UInt8], publicInputs: [String])
        case keys(provingKey: String, verificationKey: String)
        case failed(reason: String, deterministic: Bool)
    }

    private func work(on assignment: Coordinator_TaskAssignment) async throws -> TaskOutcome {
        let definition = try CircuitDefinition(encoded: Array(assignment.circuitDefinition))
        if assignment.circuitType == "setup" {
            let circuit = try await circuit(for: definition)
            let key = try await JobProver.setup(circuit, threads: configuration.threadsPerProof)
            try Task.checkCancellation()
            let provingKey = try await upload(key.nativeBytes)
            let verificationKey = try await upload(key.verifyingKey.nativeBytes)
            keys[provingKey] = ProverKey(key)
            return .keys(provingKey: provingKey, verificationKey: verificationKey)
        }
        let key = try await provingKey(assignment.provingKeyDigest)
        let circuit: ProvingCircuit
        switch definition {
        case .merkle:
            circuit = try await self.circuit(for: definition)
            guard circuit.r1cs == key.provingKey.r1cs else {
                throw ProverFault("proving key \(assignment.provingKeyDigest) was made for another circuit")
            }
        case .circom:
            circuit = ProvingCircuit.circom(definition, r1cs: key.provingKey.r1cs)
        }
        let witness = try circuit.witness(for: Array(assignment.inputDataJson))
        try Task.checkCancellation()
        let (proof, publicInputs) = try await JobProver.prove(
            key, witness: witness, threads: configuration.threadsPerProof)
        return .proof(bytes: proof.ethereumBytes, publicInputs: publicInputs.map(\.decimalString))
    }

    private func circuit(for definition: CircuitDefinition) async throws -> ProvingCircuit {
        if let known = circuits[definition.encoded] { return known }
        let circuit = try await ProvingCircuit.load(definition) { digest in try await self.artifact(digest) }
        circuits[definition.encoded] = circuit
        return circuit
    }

    private func provingKey(_ digest: String) async throws -> ProverKey {
        if let key = keys[digest] { return key }
        let key = ProverKey(try ProvingKey(nativeBytes: try await artifact(digest)))
        // Keep the few keys in use; a worker serving many circuits re-reads from disk.
        if keys.count >= configuration.keysInMemory { keys.removeAll() }
        keys[digest] = key
        return key
    }

    // MARK: Reports

    private func report(_ outcome: TaskOutcome, of assignment: Coordinator_TaskAssignment, after elapsed: Duration)
        async
    {
        switch outcome {
        case .proof, .keys:
            var request = Coordinator_TaskCompletionRequest()
            request.taskID = assignment.taskID
            request.workerID = configuration.id
            request.attempt = assignment.attempt
            request.durationMs = Int64(elapsed / .milliseconds(1))
            if case .proof(let bytes, let publicInputs) = outcome {
                request.proofData = Data(bytes)
                request.proofMetadataJson = Data(PublicSignals.encode(publicInputs))
            } else if case .keys(let provingKey, let verificationKey) = outcome {
                request.provingKeyDigest = provingKey
                request.verificationKeyDigest = verificationKey
            }
            let answer = await call("completion", retry: .completion) { [request] client, options in
                try await client.reportCompletion(request, options: options)
            }
            if answer?.success == true {
                statistics.completed += 1
                logger.info(
                    "Task completed", metadata: ["task_id": "\(assignment.taskID)", "ms": "\(request.durationMs)"])
            } else {
                statistics.reportsLost += 1
                logger.error(
                    "Completion not accepted",
                    metadata: [
                        "task_id": "\(assignment.taskID)", "reason": "\(answer?.message ?? "no coordinator answered")",
                    ])
            }
        case .failed(let reason, let deterministic):
            var request = Coordinator_TaskFailureRequest()
            request.taskID = assignment.taskID
            request.workerID = configuration.id
            request.attempt = assignment.attempt
            request.errorMessage = reason
            request.deterministic = deterministic
            let answer = await call("failure", retry: .failure) { [request] client, options in
                try await client.reportFailure(request, options: options)
            }
            statistics.failed += 1
            logger.warning(
                "Task failed",
                metadata: [
                    "task_id": "\(assignment.taskID)", "reason": "\(reason)",
                    "reported": "\(answer?.success == true)",
                ])
        }
    }

    // MARK: Artifacts

    /// An artifact from the disk cache, or fetched from a coordinator and checked.
    private func artifact(_ digest: String) async throws -> [UInt8] {
        if let cached = cache.read(digest) { return cached }
        var request = Coordinator_FetchArtifactRequest()
        request.digest = digest
        var lastError: (any Error)?
        for _ in 0..<configuration.coordinators.count + 1 {
            let address = target
            do {
                let client = Coordinator_CoordinatorService.Client(wrapping: try clients.client(for: address))
                let bytes = try await client.fetchArtifact(
                    request, options: GRPCSettings.callOptions(timeout: .seconds(600))
                ) {
                    response in
                    var bytes: [UInt8] = []
                    for try await chunk in response.messages {
                        if chunk.offset == 0 && chunk.totalSize > 0 { bytes.reserveCapacity(Int(chunk.totalSize)) }
                        guard chunk.offset == UInt64(bytes.count) else {
                            throw WorkerError.artifact(
                                "chunk at offset \(chunk.offset) does not follow byte \(bytes.count)")
                        }
                        bytes.append(contentsOf: chunk.data)
                    }
                    return bytes
                }
                guard ArtifactCache.digest(of: bytes) == digest else {
                    throw WorkerError.artifact("the bytes fetched for \(digest) hash to something else")
                }
                try cache.write(bytes, digest: digest)
                return bytes
            } catch {
                lastError = error
                if target == address { rotateTarget() }
            }
        }
        throw WorkerError.artifact("\(digest) could not be fetched: \(lastError.map { "\($0)" } ?? "no coordinator")")
    }

    /// Uploads a setup's key to the artifact store; returns its digest.
    private func upload(_ bytes: [UInt8]) async throws -> String {
        let digest = ArtifactCache.digest(of: bytes)
        try cache.write(bytes, digest: digest)
        let chunkSize = 1 << 20
        let answer = await call("upload", retry: .failure) { client, options in
            var options = options
            options.timeout = .seconds(600)
            return try await client.uploadArtifact(options: options) { writer in
                var offset = 0
                repeat {
                    var chunk = Coordinator_ArtifactChunk()
                    chunk.digest = digest
                    chunk.offset = UInt64(offset)
                    if offset == 0 { chunk.totalSize = UInt64(bytes.count) }
                    let end = min(bytes.count, offset + chunkSize)
                    chunk.data = Data(bytes[offset..<end])
                    try await writer.write(chunk)
                    offset = end
                } while offset < bytes.count
            }
        }
        guard let answer, answer.success, answer.digest == digest else {
            throw WorkerError.artifact("upload of \(digest) refused: \(answer?.message ?? "no coordinator answered")")
        }
        return digest
    }

    // MARK: Draining

    private func finishDrain() async {
        draining = true
        if !inFlight.isEmpty {
            logger.info("Waiting for in-flight tasks", metadata: ["count": "\(inFlight.count)"])
            let timeout = configuration.drainTimeout
            let finishedInTime = await withTaskGroup(of: Bool.self) { group in
                group.addTask {
                    await self.untilIdle()
                    return true
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                    return false
                }
                let first = await group.next() ?? false
                group.cancelAll()
                return first
            }
            if !finishedInTime {
                // Deregistering hands the unfinished attempts back to the queue at once.
                logger.warning("Drain timed out; returning unfinished tasks", metadata: ["count": "\(inFlight.count)"])
                for task in inFlight.values { task.cancel() }
            }
        }
        var request = Coordinator_DeregisterWorkerRequest()
        request.workerID = configuration.id
        let answer = await call("deregister", retry: .failure) { [request] client, options in
            try await client.deregisterWorker(request, options: options)
        }
        logger.info("Left the cluster", metadata: ["acknowledged": "\(answer?.success == true)"])
    }

    private func untilIdle() async {
        if inFlight.isEmpty { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { idleWaiters.append($0) }
        } onCancel: {
            Task { await self.releaseIdleWaiters() }
        }
    }

    private func releaseIdleWaiters() {
        for waiter in idleWaiters { waiter.resume() }
        idleWaiters.removeAll()
    }

    // MARK: Calls that follow the leader

    /// How often and how patiently a call is retried (the original worker's constants).
    struct RetryPolicy {
        var attempts: Int
        var base: Duration
        var maximum: Duration
        var timeout: Duration

        /// One try: `run()` retries registration itself, with its own backoff.
        static let heartbeat = RetryPolicy(
            attempts: 3, base: .milliseconds(500), maximum: .seconds(5), timeout: .seconds(10))
        static let start = RetryPolicy(
            attempts: 3, base: .milliseconds(500), maximum: .seconds(2), timeout: .seconds(5))
        static let completion = RetryPolicy(
            attempts: 5, base: .seconds(1), maximum: .seconds(30), timeout: .seconds(10))
        static let failure = RetryPolicy(attempts: 3, base: .seconds(1), maximum: .seconds(60), timeout: .seconds(10))
    }

    /// Makes a call, following "not leader" answers to the leader they name and moving to
    /// the next coordinator when one cannot be reached. Returns the answer once it
    /// succeeds or is refused for good; nil when every attempt failed.
    private func call<Answer: CoordinatorAnswer>(
        _ what: String, retry: RetryPolicy,
        _ body:
            @Sendable (Coordinator_CoordinatorService.Client<HTTP2ClientTransport.Posix>, CallOptions) async throws
            -> Answer
    ) async -> Answer? {
        var backoff = RetryBackoff(initial: retry.base, maximum: retry.maximum)
        var last: Answer?
        var redirected = false
        for attempt in 1...retry.attempts {
            let address = target
            do {
                let client = Coordinator_CoordinatorService.Client(wrapping: try clients.client(for: address))
                let answer = try await body(client, GRPCSettings.callOptions(timeout: retry.timeout))
                last = answer
                if answer.success { return answer }
                switch answer.code {
                case .notLeader:
                    follow(answer.leaderGrpcAddress)
                    // A redirect is followed at once, but only once in a row: during an
                    // election a follower may still name the leader that just died, and
                    // bouncing between the two would spend every attempt in milliseconds.
                    if attempt < retry.attempts && !redirected {
                        redirected = true
                        continue
                    }
                case .noLeader, .unavailable:
                    break
                default:
                    return answer
                }
            } catch {
                logger.debug("\(what) failed", metadata: ["coordinator": "\(address)", "error": "\(error)"])
                if target == address { rotateTarget() }
            }
            if attempt < retry.attempts {
                do {
                    try await Task.sleep(for: backoff.next())
                } catch {
                    // A cancelled task still reports what it has; it only stops waiting.
                }
            }
        }
        return last?.success == true ? last : nil
    }

    private func follow(_ address: String) {
        guard !address.isEmpty, let leader = try? PeerAddress(parsing: address), leader != target else { return }
        logger.info("Following the leader", metadata: ["coordinator": "\(leader)"])
        target = leader
    }

    private func rotateTarget() {
        let list = configuration.coordinators
        nextCoordinator = (nextCoordinator + 1) % list.count
        target = list[nextCoordinator]
    }
}

/// What a worker has done since it started.
public struct WorkerStatistics: Sendable, Equatable {
    public var completed = 0
    public var failed = 0
    /// Results no coordinator accepted after every retry.
    public var reportsLost = 0
}
