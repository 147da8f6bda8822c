/// How the leader sees a worker right now.
public enum WorkerHealth: String, Sendable {
    /// Heard from within the heartbeat timeout: receives new jobs.
    case active
    /// Silent for longer than the heartbeat timeout: keeps its jobs, gets no new ones.
    case suspect
    /// Silent for three heartbeat timeouts: removed, and its jobs go to others.
    case lost
}

/// The leader's soft state about which workers are alive: when it last heard from each.
/// Not replicated (heartbeats would flood the log); a new leader starts a fresh one, and
/// counts every worker as heard at the moment it took office, so that no worker is
/// declared lost before it has had a full grace period to find the new leader.
public struct WorkerLiveness: Sendable {
    public let leaderSince: Timestamp
    public let heartbeatTimeoutMilliseconds: Int64
    /// Silence after which a worker is lost (the original's three heartbeat timeouts).
    public var lostAfterMilliseconds: Int64 {
        heartbeatTimeoutMilliseconds.multipliedReportingOverflow(by: 3).partialValue
    }
    private var lastHeard: [WorkerID: Timestamp] = [:]

    public init(leaderSince: Timestamp, heartbeatTimeoutMilliseconds: Int64) {
        self.leaderSince = leaderSince
        self.heartbeatTimeoutMilliseconds = heartbeatTimeoutMilliseconds
    }

    /// Records a heartbeat, a registration or any other sign of life.
    public mutating func heard(from worker: WorkerID, at instant: Timestamp) {
        if let previous = lastHeard[worker], previous >= instant { return }
        lastHeard[worker] = instant
    }

    public mutating func forget(_ worker: WorkerID) { lastHeard[worker] = nil }

    public func lastHeard(from worker: WorkerID) -> Timestamp { max(lastHeard[worker] ?? leaderSince, leaderSince) }

    public func health(of worker: WorkerID, at now: Timestamp) -> WorkerHealth {
        let silence = now.milliseconds &- lastHeard(from: worker).milliseconds
        if silence <= heartbeatTimeoutMilliseconds { return .active }
        return silence <= lostAfterMilliseconds ? .suspect : .lost
    }
}
