import Foundation
import RaftNode

/// What a worker needs to run: who it is, which coordinators to dial, and how much work
/// it takes at once (the original's `worker.*` keys, plus the list of coordinators).
public struct WorkerConfiguration: Sendable {
    /// `worker.id`.
    public var id: String
    /// `worker.coordinator_address` (one) or `worker.coordinator_addresses` (several): the
    /// worker dials them in turn until one answers, then follows the leader it names.
    public var coordinators: [PeerAddress]
    /// `worker.concurrency`: proofs at once, advertised as `max_concurrent_tasks`.
    public var concurrency: Int
    /// `worker.heartbeat_interval`, unless the coordinator asks for another.
    public var heartbeatInterval: Duration
    /// Threads each proof uses; by default the cores shared among the concurrent proofs.
    public var threadsPerProof: Int
    /// Where fetched proving keys and circuit files are kept, by digest.
    public var cacheDirectory: String
    /// The circuit families this worker runs.
    public var capabilities: [String]
    /// How the worker can be reached (its metrics address), as reported to coordinators.
    public var advertisedAddress: String
    /// How long a drain waits for in-flight proofs before returning them unfinished.
    public var drainTimeout: Duration
    /// Registration attempts per round (`worker.register_retries`), following redirects.
    public var registerAttempts: Int
    /// The longest one task may run here before it is failed and retried elsewhere.
    public var taskTimeout: Duration
    /// Proving keys kept in memory (`zkp.compile_cache_size`).
    public var keysInMemory: Int

    public init(
        id: String, coordinators: [PeerAddress], concurrency: Int = 1, heartbeatInterval: Duration = .seconds(5),
        threadsPerProof: Int? = nil, cacheDirectory: String, capabilities: [String] = ["merkle", "circom"],
        advertisedAddress: String = "", drainTimeout: Duration = .seconds(300), registerAttempts: Int = 3,
        taskTimeout: Duration = .seconds(300), keysInMemory: Int = 4
    ) {
        self.id = id
        self.coordinators = coordinators
        self.concurrency = concurrency
        self.heartbeatInterval = heartbeatInterval
        let cores = ProcessInfo.processInfo.activeProcessorCount
        self.threadsPerProof = threadsPerProof ?? max(1, cores / max(1, concurrency))
        self.cacheDirectory = cacheDirectory
        self.capabilities = capabilities
        self.advertisedAddress = advertisedAddress
        self.drainTimeout = drainTimeout
        self.registerAttempts = registerAttempts
        self.taskTimeout = taskTimeout
        self.keysInMemory = keysInMemory
    }

    /// Checks every field, naming the first one that is wrong.
    public func validate() throws(WorkerError) {
        guard !id.isEmpty else { throw .configuration("worker.id is empty") }
        guard !coordinators.isEmpty else { throw .configuration("worker.coordinator_address names no coordinator") }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        guard (1...max(32, 2 * cores)).contains(concurrency) else {
            throw .configuration("worker.concurrency \(concurrency) is outside 1…\(max(32, 2 * cores))")
        }
        guard heartbeatInterval >= .milliseconds(100), heartbeatInterval <= .seconds(60) else {
            throw .configuration("worker.heartbeat_interval \(heartbeatInterval) is outside 100 ms…1 min")
        }
        guard registerAttempts >= 1 else { throw .configuration("worker.register_retries must be at least 1") }
        guard keysInMemory >= 1 else { throw .configuration("zkp.compile_cache_size must be at least 1") }
        guard threadsPerProof >= 1 else { throw .configuration("worker.threads_per_proof must be at least 1") }
        guard !capabilities.isEmpty else { throw .configuration("worker.capabilities is empty") }
    }
}

/// Why the worker could not run.
public enum WorkerError: Error, Equatable, CustomStringConvertible {
    case configuration(String)
    /// An artifact could not be fetched or failed its digest check.
    case artifact(String)

    public var description: String {
        switch self {
        case .configuration(let reason): "configuration: \(reason)"
        case .artifact(let reason): "artifact: \(reason)"
        }
    }
}
