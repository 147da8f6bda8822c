import Raft
import Scheduler

/// Why a coordinator could not do what a worker or gateway asked, in the terms the gRPC
/// layer maps to codes (one place: `CoordinatorError+Wire.swift`).
public enum CoordinatorError: Error, Equatable, CustomStringConvertible {
    /// Not the leader; the leader's gRPC address if one is known.
    case notLeader(leaderAddress: String?)
    /// The state machine refused the command.
    case rejected(SchedulerRejection)
    /// The reported proof does not verify; the attempt was failed.
    case proofInvalid(String)
    /// A field of the request is missing or malformed.
    case invalidArgument(String)
    /// The cluster did not commit in time, or leadership moved mid-request; retry.
    case unavailable(String)

    public var description: String {
        switch self {
        case .notLeader(let address?): "Not leader, connect to: \(address)"
        case .notLeader(nil): "No leader elected, retry later"
        case .rejected(let rejection): rejection.description
        case .proofInvalid(let reason): "proof rejected: \(reason)"
        case .invalidArgument(let reason): reason
        case .unavailable(let reason): "unavailable: \(reason)"
        }
    }
}
