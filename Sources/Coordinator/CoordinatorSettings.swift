import Raft
import Scheduler

/// What a coordinator needs to know beyond its Raft configuration: the original's
/// `coordinator.*` timings and the cluster's gRPC addresses, for redirects.
public struct CoordinatorSettings: Sendable {
    /// `coordinator.id`, shown in health and logs.
    public var coordinatorID: String
    /// Each member's worker-facing gRPC address (`host:9090`), by Raft node id; a
    /// coordinator that is not the leader names the leader's.
    public var grpcAddresses: [NodeID: String]
    /// `coordinator.heartbeat_timeout`: silence after which a worker is suspect (lost at 3×).
    public var heartbeatTimeoutMilliseconds: Int64
    /// How often workers are asked to send heartbeats (`worker.heartbeat_interval`).
    public var heartbeatIntervalMilliseconds: Int64
    /// The leader's assignment and lease policy (`stale_task_timeout` is its run lease).
    public var policy: SchedulingPolicy
    /// The most unarchived jobs the state may hold; past it submissions get 503.
    public var liveJobLimit: UInt32
    /// How long an identical submission answers with the first job (the original's 5 minutes).
    public var idempotencyWindowMilliseconds: Int64
    /// How often the leader re-checks leases and liveness when nothing commits.
    public var dispatchTickMilliseconds: Int64
    /// The least time between two scans for expired leases, deadlines and lost workers
    /// (`coordinator.cleanup_interval`); assignments are made on every round regardless.
    public var expiryScanIntervalMilliseconds: Int64
    /// How often an open task stream gets a KEEPALIVE message (the original's 30 s).
    public var streamKeepaliveMilliseconds: Int64

    public init(
        coordinatorID: String, grpcAddresses: [NodeID: String], heartbeatTimeoutMilliseconds: Int64 = 30_000,
        heartbeatIntervalMilliseconds: Int64 = 5_000, policy: SchedulingPolicy = SchedulingPolicy(),
        liveJobLimit: UInt32 = 100_000, idempotencyWindowMilliseconds: Int64 = 300_000,
        dispatchTickMilliseconds: Int64 = 250, expiryScanIntervalMilliseconds: Int64 = 1_000,
        streamKeepaliveMilliseconds: Int64 = 30_000
    ) {
        self.coordinatorID = coordinatorID
        self.grpcAddresses = grpcAddresses
        self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
        self.heartbeatIntervalMilliseconds = heartbeatIntervalMilliseconds
        self.policy = policy
        self.liveJobLimit = liveJobLimit
        self.idempotencyWindowMilliseconds = idempotencyWindowMilliseconds
        self.dispatchTickMilliseconds = dispatchTickMilliseconds
        self.expiryScanIntervalMilliseconds = expiryScanIntervalMilliseconds
        self.streamKeepaliveMilliseconds = streamKeepaliveMilliseconds
    }
}
