/// A server's identity in the cluster; 0 means "none".
public typealias NodeID = UInt64
public typealias Term = UInt64
/// A log position; the first entry has index 1, 0 is "before the log".
public typealias LogIndex = UInt64

/// What a log entry carries.
public enum EntryKind: UInt8, Sendable, Equatable {
    /// A command for the replicated state machine (empty data: the leader's no-op).
    case command = 0
    /// A new cluster configuration, `Configuration.encoded`, in force from the moment
    /// it is appended (single-server changes, Raft thesis §4.1).
    case configuration = 1
}

public struct Entry: Sendable, Equatable {
    public var term: Term
    public var index: LogIndex
    public var kind: EntryKind
    public var data: [UInt8]

    public init(term: Term, index: LogIndex, kind: EntryKind = .command, data: [UInt8] = []) {
        self.term = term
        self.index = index
        self.kind = kind
        self.data = data
    }

    /// Bytes an entry counts for against a message's size budget.
    var size: Int { data.count + 24 }
}

/// The state that must be on stable storage before any message that depends on it
/// leaves the server.
public struct HardState: Sendable, Equatable {
    public var term: Term
    public var vote: NodeID
    public var commit: LogIndex

    public init(term: Term = 0, vote: NodeID = 0, commit: LogIndex = 0) {
        self.term = term
        self.vote = vote
        self.commit = commit
    }
}

/// The members of the cluster: voters decide; learners receive the log and do not vote.
public struct Configuration: Sendable, Equatable {
    public var voters: Set<NodeID>
    public var learners: Set<NodeID>

    public init(voters: Set<NodeID>, learners: Set<NodeID> = []) {
        self.voters = voters
        self.learners = learners.subtracting(voters)
    }

    public var members: Set<NodeID> { voters.union(learners) }
    public var quorum: Int { voters.count / 2 + 1 }

    /// Sorted little-endian UInt64 lists: voter count, voters, learner count, learners.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        func append(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        append(UInt64(voters.count))
        for id in voters.sorted() { append(id) }
        append(UInt64(learners.count))
        for id in learners.sorted() { append(id) }
        return bytes
    }

    public init?(encoded bytes: [UInt8]) {
        var position = 0
        func read() -> UInt64? {
            guard position + 8 <= bytes.count else { return nil }
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += 8
            return value
        }
        guard let voterCount = read(), voterCount <= UInt64(bytes.count / 8) else { return nil }
        var voters: Set<NodeID> = []
        for _ in 0..<voterCount {
            guard let id = read() else { return nil }
            voters.insert(id)
        }
        guard let learnerCount = read(), learnerCount <= UInt64(bytes.count / 8) else { return nil }
        var learners: Set<NodeID> = []
        for _ in 0..<learnerCount {
            guard let id = read() else { return nil }
            learners.insert(id)
        }
        guard position == bytes.count else { return nil }
        self.init(voters: voters, learners: learners)
    }
}

/// A compacted prefix of the log: the state machine's image at `index`, with the
/// configuration in force there.
public struct Snapshot: Sendable, Equatable {
    public var index: LogIndex
    public var term: Term
    public var configuration: Configuration
    public var data: [UInt8]

    public init(index: LogIndex, term: Term, configuration: Configuration, data: [UInt8]) {
        self.index = index
        self.term = term
        self.configuration = configuration
        self.data = data
    }
}

public enum Role: String, Sendable, Equatable {
    case follower, preCandidate, candidate, leader
}

/// A linearizable read the leader has confirmed: once the state machine has applied
/// `index`, a read that started before the request may be served.
public struct ReadState: Sendable, Equatable {
    public var index: LogIndex
    public var context: [UInt8]
}
