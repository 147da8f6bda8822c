/// The kinds of messages Raft servers exchange.
public enum MessageKind: UInt8, Sendable, Equatable, CaseIterable {
    case append = 0
    case appendResponse = 1
    case vote = 2
    case voteResponse = 3
    case preVote = 4
    case preVoteResponse = 5
    case heartbeat = 6
    case heartbeatResponse = 7
    case snapshot = 8
    case timeoutNow = 9
    /// A follower asks the leader to confirm a read index.
    case readIndex = 10
    case readIndexResponse = 11
}

/// One message between two servers. Fields a kind does not use stay zero or empty.
public struct Message: Sendable, Equatable {
    public var kind: MessageKind
    public var from: NodeID
    public var to: NodeID
    /// The sender's term; for a pre-vote, the term it would campaign in.
    public var term: Term
    /// append: the term and index of the entry before `entries`;
    /// vote and preVote: the candidate's last log term and index;
    /// appendResponse: the last index that now matches (accepted) or the rejected index.
    public var logTerm: Term = 0
    public var index: LogIndex = 0
    public var entries: [Entry] = []
    public var commit: LogIndex = 0
    public var reject: Bool = false
    /// A rejected append: the follower's suggestion for where the logs may agree
    /// (its entry at `rejectHint` has term `logTerm`).
    public var rejectHint: LogIndex = 0
    public var snapshot: Snapshot?
    /// readIndex and heartbeats: the read request being confirmed; vote: "transfer"
    /// marks a campaign started by TimeoutNow; preVote: "leader-lost" marks one started
    /// because the connection to the leader was refused.
    public var context: [UInt8] = []

    public init(kind: MessageKind, from: NodeID, to: NodeID, term: Term) {
        self.kind = kind
        self.from = from
        self.to = to
        self.term = term
    }
}

enum CampaignContext {
    static let transfer = Array("transfer".utf8)
    static let leaderLost = Array("leader-lost".utf8)
}
