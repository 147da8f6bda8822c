// The Raft consensus algorithm as a pure, deterministic state machine: messages
// and ticks in; messages to send, entries and hard state to persist, committed
// entries and snapshots out.
//
// Knows nothing of clocks, sockets, files or tasks; `RaftNode` drives it.

/// Settings of one server's Raft core.
public struct RaftConfig: Sendable {
    public var id: NodeID
    /// The election timeout in ticks. Each follower waits a uniformly random time in
    /// [electionTicks, electionTicks + electionSpreadTicks) ticks.
    public var electionTicks: Int
    /// The width of that random range. Failover after a silent leader takes about
    /// electionTicks plus the smallest of the followers' draws, so a narrower range fails
    /// over sooner; the range must stay wide in ticks (with ticks of a few milliseconds,
    /// tens of distinct values) for split votes to stay rare. Default: 30% of electionTicks.
    public var electionSpreadTicks: Int
    public var heartbeatTicks: Int
    /// Campaign first with a pre-vote that changes no term (thesis §9.6), so a server
    /// that rejoins after a partition does not depose a healthy leader.
    public var preVote: Bool
    /// A leader that has not heard from a majority for an election timeout steps down,
    /// and a follower that heard from its leader within the timeout refuses votes.
    public var checkQuorum: Bool
    public var maxBytesPerMessage: Int
    public var maxInflightMessages: Int
    /// Seeds the election-timeout draws; runs with equal seeds behave identically.
    public var seed: UInt64

    public init(
        id: NodeID, electionTicks: Int = 100, heartbeatTicks: Int = 10, preVote: Bool = true,
        checkQuorum: Bool = true, maxBytesPerMessage: Int = 1 << 20, maxInflightMessages: Int = 256, seed: UInt64,
        electionSpreadTicks: Int? = nil
    ) {
        precondition(id != 0, "node id 0 means none")
        precondition(
            heartbeatTicks >= 1 && electionTicks > heartbeatTicks, "the election timeout exceeds the heartbeat")
        self.id = id
        self.electionTicks = electionTicks
        self.electionSpreadTicks = max(1, electionSpreadTicks ?? electionTicks * 3 / 10)
        self.heartbeatTicks = heartbeatTicks
        self.preVote = preVote
        self.checkQuorum = checkQuorum
        self.maxBytesPerMessage = maxBytesPerMessage
        self.maxInflightMessages = maxInflightMessages
        self.seed = seed
    }
}

/// Why a request to the core was refused.
public enum RaftError: Error, Equatable, Sendable, CustomStringConvertible {
    /// This server is not the leader; `leader` is the one it knows of (0: none).
    case notLeader(leader: NodeID)
    case transferInProgress
    /// A configuration change is still uncommitted, or the leader has not yet
    /// committed an entry of its term.
    case configurationChangePending
    case notMember(NodeID)
    case alreadyMember(NodeID)
    case invalidTarget(NodeID)

    public var description: String {
        switch self {
        case .notLeader(let leader):
            leader == 0 ? "not the leader, and no leader is known" : "not the leader; the leader is \(leader)"
        case .transferInProgress: "a leadership transfer is in progress"
        case .configurationChangePending: "another configuration change is not yet committed"
        case .notMember(let id): "server \(id) is not a member"
        case .alreadyMember(let id): "server \(id) is already a voter"
        case .invalidTarget(let id): "server \(id) cannot take over leadership"
        }
    }
}

/// What the runtime must do next, in order: persist `hardState`, `snapshot` and
/// `entries` (entries replace any stored entries from `entries.first.index` on), then
/// send `messages`, apply `snapshot` and `committedEntries` to the state machine, serve
/// `readStates` once applied, and call `advance` with this value.
public struct Ready: Sendable {
    public var hardState: HardState?
    public var snapshot: Snapshot?
    public var entries: [Entry]
    public var messages: [Message]
    public var committedEntries: [Entry]
    public var readStates: [ReadState]
    /// Reads this server accepted and can no longer confirm (it lost leadership):
    /// their callers should retry.
    public var droppedReads: [[UInt8]]
}

/// The Raft state machine of one server.
public struct Raft: Sendable {
    public let config: RaftConfig
    public var id: NodeID { config.id }
    public private(set) var term: Term = 0
    public private(set) var vote: NodeID = 0
    public private(set) var role: Role = .follower
    /// The leader of the current term, if known (0: none).
    public private(set) var leader: NodeID = 0
    public private(set) var configuration: Configuration
    var log: RaftLog

    /// The index of the entry that set `configuration` (the snapshot's index if none).
    private var configurationIndex: LogIndex = 0
    private var progress: [NodeID: Progress] = [:]
    private var votes: [NodeID: Bool] = [:]
    private var electionElapsed = 0
    private var heartbeatElapsed = 0
    private var randomizedElectionTimeout = 0
    private var random: SplitMix
    private var transferTarget: NodeID = 0
    /// Learners the leader will promote to voters once they have caught up.
    private var pendingPromotions: Set<NodeID> = []
    private var pendingReads: [PendingRead] = []
    /// Reads that wait for the leader's first commit in its term.
    private var readsAwaitingCommit: [(context: [UInt8], from: NodeID)] = []
    private var readStates: [ReadState] = []
    private var droppedReads: [[UInt8]] = []
    private var messages: [Message] = []
    private var persistedHardState: HardState
    /// The connection to the leader was refused: the leader is probably gone.
    private var leaderLost = false

    private struct PendingRead {
        var index: LogIndex
        var context: [UInt8]
        var from: NodeID
        var acknowledged: Set<NodeID>
    }

    /// A server restarted from stable storage (or new, with everything empty: it waits
    /// to be contacted by a leader that has it in its configuration).
    public init(
        config: RaftConfig, hardState: HardState = HardState(), snapshot: Snapshot? = nil, entries: [Entry] = []
    ) {
        self.config = config
        random = SplitMix(seed: config.seed ^ (config.id &* 0x9E37_79B9_7F4A_7C15))
        log = RaftLog(snapshot: snapshot, entries: entries, commit: hardState.commit)
        term = hardState.term
        vote = hardState.vote
        configuration = snapshot?.configuration ?? Configuration(voters: [])
        configurationIndex = snapshot?.index ?? 0
        persistedHardState = HardState(term: term, vote: vote, commit: log.committed)
        recomputeConfiguration()
        resetElectionTimer()
    }

    /// The first server of a new cluster: its log starts with the configuration entry
    /// (index 1, term 1), committed by construction since no other server has a log.
    public static func bootstrap(config: RaftConfig, configuration: Configuration) -> Raft {
        let first = Entry(term: 1, index: 1, kind: .configuration, data: configuration.encoded)
        var raft = Raft(config: config, hardState: HardState(term: 1, vote: 0, commit: 0), entries: [])
        raft.log.append(first)
        raft.log.commit(to: 1)
        raft.configuration = configuration
        raft.configurationIndex = 1
        return raft
    }

    // MARK: Status

    public var commitIndex: LogIndex { log.committed }
    public var appliedIndex: LogIndex { log.applied }
    public var lastIndex: LogIndex { log.lastIndex }
    public var lastTerm: Term { log.lastTerm }
    public var firstIndex: LogIndex { log.firstIndex }
    public var transferringTo: NodeID { transferTarget }
    public var hardState: HardState { HardState(term: term, vote: vote, commit: log.committed) }
    /// The leader's view of each member's matched index (empty on other servers).
    public var matchIndexes: [NodeID: LogIndex] { progress.mapValues(\.match) }
    public func term(at index: LogIndex) -> Term? { log.term(at: index) }
    public func entry(at index: LogIndex) -> Entry? { log.entry(at: index) }
    public var latestSnapshot: Snapshot? { log.snapshot }

    private var isPromotable: Bool { configuration.voters.contains(id) }

    // MARK: Time

    /// One tick of the logical clock.
    public mutating func tick() {
        switch role {
        case .leader:
            heartbeatElapsed += 1
            electionElapsed += 1
            if electionElapsed >= config.electionTicks {
                electionElapsed = 0
                if config.checkQuorum {
                    let active = configuration.voters.filter { $0 == id || progress[$0]?.recentActive == true }
                    for peer in progress.keys where peer != id { progress[peer]?.recentActive = false }
                    if active.count < configuration.quorum {
                        becomeFollower(term: term, leader: 0)
                        return
                    }
                }
                transferTarget = 0  // a transfer that did not finish within a timeout is abandoned
            }
            if heartbeatElapsed >= config.heartbeatTicks {
                heartbeatElapsed = 0
                broadcastHeartbeat(context: pendingReads.last?.context ?? [])
            }
            sendCommitUpdates()
        case .follower, .preCandidate, .candidate:
            electionElapsed += 1
            if isPromotable && electionElapsed >= randomizedElectionTimeout {
                electionElapsed = 0
                campaign(preVote: config.preVote, transfer: false)
            }
        }
    }

    /// The runtime saw the connection to the leader drop and a reconnect refused: the
    /// leader's process is gone. Campaign now (through pre-vote) instead of waiting out
    /// the election timeout. Only speed depends on this; a pre-vote still needs a
    /// majority, and servers that still hear from the leader refuse it.
    ///
    /// Every follower sees the crash at the same moment, and followers that campaigned at
    /// once would become candidates together and split the vote (costing a whole election
    /// timeout). So each waits a random 1…heartbeatTicks ticks first; the first to ask
    /// wins the others' pre-votes, since they have seen the same loss.
    public mutating func reportLeaderUnreachable() {
        guard role == .follower, leader != 0, isPromotable, !leaderLost else { return }
        leaderLost = true
        let pause = 1 + Int(random.next() % UInt64(config.heartbeatTicks))
        electionElapsed = max(electionElapsed, randomizedElectionTimeout - pause)
    }

    /// Starts an election now instead of waiting for the timeout (a freshly bootstrapped
    /// server, or an operator's request). A server that cannot vote does nothing.
    public mutating func campaign() {
        guard role != .leader, isPromotable else { return }
        campaign(preVote: config.preVote, transfer: false)
    }

    // MARK: Client requests

    /// Appends a command (leader only). Returns the index and term the entry has; it is
    /// committed when an applied entry at that index has that term.
    public mutating func propose(_ data: [UInt8]) throws(RaftError) -> (index: LogIndex, term: Term) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferTarget == 0 else { throw .transferInProgress }
        let entry = Entry(term: term, index: log.lastIndex + 1, kind: .command, data: data)
        appendAsLeader(entry)
        return (entry.index, entry.term)
    }

    /// Starts a linearizable read identified by `context` (unique per request). Its
    /// `ReadState` comes out of a later `Ready`, here or, on a follower, from the leader.
    public mutating func requestRead(context: [UInt8]) throws(RaftError) {
        switch role {
        case .leader:
            handleRead(context: context, from: id)
        case .follower where leader != 0:
            var message = Message(kind: .readIndex, from: id, to: leader, term: term)
            message.context = context
            send(message)
        default:
            throw .notLeader(leader: leader)
        }
    }

    /// Hands leadership to `target` (thesis §3.10): it is brought up to date, then told
    /// to campaign at once. Proposals are refused until the transfer ends.
    public mutating func transferLeadership(to target: NodeID) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard target != id, configuration.voters.contains(target) else { throw .invalidTarget(target) }
        transferTarget = target
        electionElapsed = 0
        if progress[target]?.match == log.lastIndex {
            send(Message(kind: .timeoutNow, from: id, to: target, term: term))
        } else {
            sendAppend(to: target, evenIfEmpty: true)
        }
    }

    /// Adds a voter. A new server joins as a learner and becomes a voter by a second
    /// change once it has caught up, so it never counts toward a quorum while empty.
    public mutating func addVoter(_ node: NodeID) throws(RaftError) {
        guard !configuration.voters.contains(node) else { throw .alreadyMember(node) }
        if configuration.learners.contains(node) {
            pendingPromotions.insert(node)
            try promoteIfCaughtUp(node)
            return
        }
        var next = configuration
        next.learners.insert(node)
        try changeConfiguration(to: next)
        pendingPromotions.insert(node)
    }

    public mutating func addLearner(_ node: NodeID) throws(RaftError) {
        guard !configuration.members.contains(node) else { throw .alreadyMember(node) }
        var next = configuration
        next.learners.insert(node)
        try changeConfiguration(to: next)
    }

    /// Removes a voter or learner, the leader itself included (it steps down once the
    /// change commits).
    public mutating func removeServer(_ node: NodeID) throws(RaftError) {
        guard configuration.members.contains(node) else { throw .notMember(node) }
        var next = configuration
        next.voters.remove(node)
        next.learners.remove(node)
        guard !next.voters.isEmpty else { throw .invalidTarget(node) }
        try changeConfiguration(to: next)
        pendingPromotions.remove(node)
    }

    private mutating func changeConfiguration(to next: Configuration) throws(RaftError) {
        guard role == .leader else { throw .notLeader(leader: leader) }
        guard transferTarget == 0 else { throw .transferInProgress }
        // One change at a time, and only after an entry of this term is committed
        // (the fix to single-server changes in Ongaro's raft-dev post of 2015).
        guard configurationIndex <= log.committed, log.term(at: log.committed) == term else {
            throw .configurationChangePending
        }
        let entry = Entry(term: term, index: log.lastIndex + 1, kind: .configuration, data: next.encoded)
        appendAsLeader(entry)
    }

    private mutating func promoteIfCaughtUp(_ node: NodeID) throws(RaftError) {
        guard pendingPromotions.contains(node), let match = progress[node]?.match, match >= log.committed,
            configuration.learners.contains(node)
        else { return }
        var next = configuration
        next.learners.remove(node)
        next.voters.insert(node)
        try changeConfiguration(to: next)
        pendingPromotions.remove(node)
    }

    /// Records a snapshot the state machine took at `index` (≤ applied) and drops the
    /// log entries it covers.
    public mutating func compact(index: LogIndex, data: [UInt8]) {
        guard index > log.offset, index <= log.applied, let term = log.term(at: index) else { return }
        log.compact(
            Snapshot(index: index, term: term, configuration: configuration(at: index).configuration, data: data))
    }

    /// The runtime could not deliver to `peer`: probe it again from its match.
    /// The snapshot sent to `peer` was not delivered: probe it again (which sends a new
    /// snapshot if it still needs one) instead of waiting for an answer that will not come.
    public mutating func reportSnapshotFailed(_ peer: NodeID) {
        guard role == .leader, var peerProgress = progress[peer], case .snapshot = peerProgress.state else { return }
        peerProgress.becomeProbe()
        peerProgress.next = peerProgress.match + 1
        progress[peer] = peerProgress
    }

    public mutating func reportUnreachable(_ peer: NodeID) {
        guard role == .leader, var peerProgress = progress[peer] else { return }
        if peerProgress.state == .replicate { peerProgress.becomeProbe() }
        progress[peer] = peerProgress
    }

    // MARK: Ready

    public var hasReady: Bool {
        hardState != persistedHardState || log.unstableSnapshot != nil || log.hasUnstableEntries
            || !messages.isEmpty || log.hasEntriesToApply || !readStates.isEmpty || !droppedReads.isEmpty
    }

    /// Collects what the runtime must persist, send and apply; messages and read states
    /// are handed over once.
    public mutating func ready() -> Ready {
        let ready = Ready(
            hardState: hardState == persistedHardState ? nil : hardState, snapshot: log.unstableSnapshot,
            entries: log.unstableEntries, messages: messages, committedEntries: log.entriesToApply,
            readStates: readStates, droppedReads: droppedReads)
        messages = []
        readStates = []
        droppedReads = []
        return ready
    }

    /// The runtime has done everything `ready` asked.
    public mutating func advance(_ ready: Ready) {
        if let hard = ready.hardState { persistedHardState = hard }
        if let snapshot = ready.snapshot { log.snapshotPersisted(snapshot.index) }
        if let last = ready.entries.last { log.stableTo(last.index, term: last.term) }
        if let last = ready.committedEntries.last { log.appliedTo(last.index) }
        if role == .leader {
            _ = progress[id]?.update(to: log.stable)
            _ = maybeCommit()
        }
    }

    // MARK: Messages

    public mutating func step(_ message: Message) {
        guard message.to == id, message.from != id else { return }
        if message.term > term {
            if message.kind == .vote || message.kind == .preVote {
                let forced = message.context == CampaignContext.transfer
                // This server saw the leader's port refuse connections too: no lease to
                // protect. (A real vote carries no context: its pre-vote round already passed.)
                let leaderGoneHere =
                    leaderLost && (message.kind == .vote || message.context == CampaignContext.leaderLost)
                let inLease = config.checkQuorum && leader != 0 && electionElapsed < config.electionTicks
                if inLease && !forced && !leaderGoneHere { return }
            }
            switch message.kind {
            case .preVote:
                break
            case .preVoteResponse where !message.reject:
                break
            case .append, .heartbeat, .snapshot:
                becomeFollower(term: message.term, leader: message.from)
            default:
                becomeFollower(term: message.term, leader: 0)
            }
        } else if message.term < term {
            if (config.checkQuorum || config.preVote) && (message.kind == .heartbeat || message.kind == .append) {
                // Tell a deposed leader about the newer term so it steps down.
                send(Message(kind: .appendResponse, from: id, to: message.from, term: term))
            } else if message.kind == .preVote {
                var answer = Message(kind: .preVoteResponse, from: id, to: message.from, term: term)
                answer.reject = true
                send(answer)
            }
            return
        }

        switch message.kind {
        case .vote, .preVote:
            handleVoteRequest(message)
        default:
            switch role {
            case .leader: stepLeader(message)
            case .candidate, .preCandidate: stepCandidate(message)
            case .follower: stepFollower(message)
            }
        }
    }

    private mutating func handleVoteRequest(_ message: Message) {
        let isPre = message.kind == .preVote
        var canVote = vote == message.from || (vote == 0 && leader == 0) || (isPre && message.term > term)
        let leaderLostRace =
            isPre && role == .preCandidate && leaderLost && message.context == CampaignContext.leaderLost
        // Two followers that saw the same crash ask at once. If each granted the other, both
        // would become candidates and split the vote, so only the one with the greater
        // (last term, last index, id) gets this server's pre-vote.
        let outranksAsker =
            leaderLostRace && (message.logTerm, message.index, message.from) < (log.lastTerm, log.lastIndex, id)
        if outranksAsker { canVote = false }
        let kind: MessageKind = isPre ? .preVoteResponse : .voteResponse
        if canVote && log.isUpToDate(lastTerm: message.logTerm, lastIndex: message.index) {
            // A granted vote carries the candidate's term, so it counts in that term.
            send(Message(kind: kind, from: id, to: message.from, term: message.term))
            if !isPre {
                electionElapsed = 0
                vote = message.from
            } else if leaderLost && message.context == CampaignContext.leaderLost {
                // Someone else is about to campaign for the lost leader's place: give it the
                // time to, rather than racing it with a campaign of our own.
                electionElapsed = 0
            }
        } else {
            var answer = Message(kind: kind, from: id, to: message.from, term: term)
            answer.reject = true
            send(answer)
            if outranksAsker {
                // The asker has seen the loss now, so it grants this server's pre-vote, which
                // it may have ignored when it still counted on the leader: ask it again
                // rather than let both wait out an election timeout.
                send(voteRequest(to: message.from, preVote: true, transfer: false))
            }
        }
    }

    private mutating func stepLeader(_ message: Message) {
        switch message.kind {
        case .appendResponse:
            guard var peer = progress[message.from] else { return }
            peer.recentActive = true
            if message.reject {
                var probeFrom = message.rejectHint
                if message.logTerm > 0 {
                    probeFrom = log.conflictHint(index: message.rejectHint, term: message.logTerm).index
                }
                if peer.decrease(rejected: message.index, probeFrom: probeFrom) {
                    if peer.state == .replicate { peer.becomeProbe() }
                    progress[message.from] = peer
                    sendAppend(to: message.from, evenIfEmpty: true)
                } else {
                    progress[message.from] = peer
                }
                return
            }
            let updated = peer.update(to: message.index)
            if updated {
                switch peer.state {
                case .probe: peer.becomeReplicate()
                case .snapshot(let pending) where peer.match >= pending: peer.becomeProbe()
                case .replicate, .snapshot: break
                }
            }
            progress[message.from] = peer
            if updated {
                _ = maybeCommit()
                // Fill the follower's window (one append in probe state).
                while progress[message.from]?.isPaused(maxInflight: config.maxInflightMessages) == false,
                    let next = progress[message.from]?.next, next <= log.lastIndex
                {
                    sendAppend(to: message.from, evenIfEmpty: false)
                }
                if message.from == transferTarget && progress[message.from]?.match == log.lastIndex {
                    send(Message(kind: .timeoutNow, from: id, to: message.from, term: term))
                }
                try? promoteIfCaughtUp(message.from)
            }
        case .heartbeatResponse:
            guard var peer = progress[message.from] else { return }
            peer.recentActive = true
            peer.probeSent = false
            if case .replicate = peer.state, peer.inflight.count >= config.maxInflightMessages {
                peer.inflight.removeFirst()
            }
            progress[message.from] = peer
            if peer.match < log.lastIndex { sendAppend(to: message.from, evenIfEmpty: false) }
            if !message.context.isEmpty { acknowledgeRead(context: message.context, from: message.from) }
        case .readIndex:
            handleRead(context: message.context, from: message.from)
        default:
            break
        }
    }

    private mutating func stepCandidate(_ message: Message) {
        switch message.kind {
        case .append, .heartbeat, .snapshot:
            becomeFollower(term: message.term, leader: message.from)
            stepFollower(message)
        case .voteResponse where role == .candidate, .preVoteResponse where role == .preCandidate:
            votes[message.from] = !message.reject
            let granted = configuration.voters.filter { votes[$0] == true }.count
            let rejected = configuration.voters.filter { votes[$0] == false }.count
            if granted >= configuration.quorum {
                if role == .preCandidate {
                    campaign(preVote: false, transfer: false)
                } else {
                    becomeLeader()
                }
            } else if rejected >= configuration.quorum {
                becomeFollower(term: term, leader: 0)
            }
        default:
            break
        }
    }

    private mutating func stepFollower(_ message: Message) {
        switch message.kind {
        case .append:
            electionElapsed = 0
            leader = message.from
            leaderLost = false
            handleAppend(message)
        case .heartbeat:
            electionElapsed = 0
            leader = message.from
            leaderLost = false
            log.commit(to: min(message.commit, log.lastIndex))
            var answer = Message(kind: .heartbeatResponse, from: id, to: message.from, term: term)
            answer.context = message.context
            send(answer)
        case .snapshot:
            electionElapsed = 0
            leader = message.from
            leaderLost = false
            handleSnapshot(message)
        case .timeoutNow:
            if isPromotable { campaign(preVote: false, transfer: true) }
        case .readIndexResponse:
            readStates.append(ReadState(index: message.index, context: message.context))
        default:
            break
        }
    }

    private mutating func handleAppend(_ message: Message) {
        var answer = Message(kind: .appendResponse, from: id, to: message.from, term: term)
        if message.index < log.committed {
            answer.index = log.committed
            send(answer)
            return
        }
        if log.matches(index: message.index, term: message.logTerm) {
            let last = log.append(after: message.index, message.entries)
            // The configuration changes only if a configuration entry arrived, or if the
            // entries reach back over (and may have replaced) the one in force.
            if message.entries.contains(where: { $0.kind == .configuration })
                || message.entries.first.map({ $0.index <= configurationIndex }) == true
            {
                recomputeConfiguration()
            }
            log.commit(to: min(message.commit, last))
            answer.index = last
        } else {
            let hint = log.conflictHint(index: min(message.index, log.lastIndex), term: message.logTerm)
            answer.index = message.index
            answer.reject = true
            answer.rejectHint = hint.index
            answer.logTerm = hint.term
        }
        send(answer)
    }

    private mutating func handleSnapshot(_ message: Message) {
        var answer = Message(kind: .appendResponse, from: id, to: message.from, term: term)
        guard let snapshot = message.snapshot else { return }
        if snapshot.index <= log.committed {
            answer.index = log.committed
        } else if log.matches(index: snapshot.index, term: snapshot.term) {
            log.commit(to: snapshot.index)
            answer.index = log.lastIndex
        } else {
            log.restore(snapshot)
            configuration = snapshot.configuration
            configurationIndex = snapshot.index
            answer.index = snapshot.index
        }
        send(answer)
    }

    // MARK: Roles

    private mutating func resetElectionTimer() {
        electionElapsed = 0
        randomizedElectionTimeout =
            config.electionTicks + Int(random.next() % UInt64(config.electionSpreadTicks))
    }

    private mutating func becomeFollower(term newTerm: Term, leader newLeader: NodeID) {
        if role == .leader { dropPendingReads() }
        if newTerm > term {
            term = newTerm
            vote = 0
        }
        role = .follower
        leader = newLeader
        votes = [:]
        progress = [:]
        transferTarget = 0
        pendingPromotions = []
        heartbeatElapsed = 0
        resetElectionTimer()
    }

    private mutating func campaign(preVote: Bool, transfer: Bool) {
        votes = [:]
        if preVote {
            role = .preCandidate
            leader = 0
        } else {
            term += 1
            vote = id
            role = .candidate
            leader = 0
        }
        resetElectionTimer()
        votes[id] = true
        if configuration.voters.filter({ votes[$0] == true }).count >= configuration.quorum {
            if preVote { campaign(preVote: false, transfer: transfer) } else { becomeLeader() }
            return
        }
        for peer in configuration.voters.sorted() where peer != id {
            send(voteRequest(to: peer, preVote: preVote, transfer: transfer))
        }
    }

    private func voteRequest(to peer: NodeID, preVote: Bool, transfer: Bool) -> Message {
        var request = Message(kind: preVote ? .preVote : .vote, from: id, to: peer, term: preVote ? term + 1 : term)
        request.logTerm = log.lastTerm
        request.index = log.lastIndex
        if transfer {
            request.context = CampaignContext.transfer
        } else if preVote && leaderLost {
            request.context = CampaignContext.leaderLost
        }
        return request
    }

    private mutating func becomeLeader() {
        role = .leader
        leader = id
        leaderLost = false
        transferTarget = 0
        heartbeatElapsed = 0
        electionElapsed = 0
        progress = [:]
        for member in configuration.members {
            var peer = Progress(next: log.lastIndex + 1)
            if member == id { peer.match = log.stable }
            peer.recentActive = member == id
            progress[member] = peer
        }
        pendingPromotions = configuration.learners
        // A no-op of this term lets earlier entries commit and, once committed, allows
        // reads and configuration changes.
        appendAsLeader(Entry(term: term, index: log.lastIndex + 1, kind: .command, data: []))
    }

    private mutating func appendAsLeader(_ entry: Entry) {
        log.append(entry)
        if entry.kind == .configuration, let next = Configuration(encoded: entry.data) {
            configuration = next
            configurationIndex = entry.index
            syncProgressWithConfiguration()
        }
        broadcastAppend()
        _ = maybeCommit()
    }

    private mutating func syncProgressWithConfiguration() {
        for member in configuration.members where progress[member] == nil {
            var peer = Progress(next: log.lastIndex)
            peer.recentActive = true
            progress[member] = peer
        }
        for peer in progress.keys where !configuration.members.contains(peer) && peer != id {
            progress[peer] = nil
        }
    }

    // MARK: Replication

    private mutating func send(_ message: Message) { messages.append(message) }

    private mutating func broadcastAppend() {
        for peer in progress.keys.sorted() where peer != id { sendAppend(to: peer, evenIfEmpty: true) }
    }

    /// Tells each follower that has not heard it yet the commit index, by an append (empty
    /// if there is nothing new). Called once a tick rather than each time the commit index
    /// moves: under load the next append carries it anyway, and an empty append at every
    /// commit would double the messages (and their answers) for nothing. Followers learn
    /// a commit at most a tick late, which delays only their applying, never the leader's.
    private mutating func sendCommitUpdates() {
        for (peer, state) in progress.sorted(by: { $0.key < $1.key })
        where peer != id && state.commitSent < min(log.committed, state.match) {
            sendAppend(to: peer, evenIfEmpty: true)
        }
    }

    private mutating func broadcastHeartbeat(context: [UInt8]) {
        for (peer, state) in progress.sorted(by: { $0.key < $1.key }) where peer != id {
            var heartbeat = Message(kind: .heartbeat, from: id, to: peer, term: term)
            heartbeat.commit = min(state.match, log.committed)
            heartbeat.context = context
            send(heartbeat)
        }
    }

    private mutating func sendAppend(to peer: NodeID, evenIfEmpty: Bool) {
        guard var state = progress[peer], !state.isPaused(maxInflight: config.maxInflightMessages) else { return }
        let previous = state.next - 1
        guard let previousTerm = log.term(at: previous) else {
            // The follower needs entries that are compacted away: send the snapshot.
            guard let snapshot = log.snapshot else { return }
            var message = Message(kind: .snapshot, from: id, to: peer, term: term)
            message.snapshot = snapshot
            state.becomeSnapshot(snapshot.index)
            progress[peer] = state
            send(message)
            return
        }
        let entries = log.entries(from: state.next, maxBytes: config.maxBytesPerMessage)
        if entries.isEmpty && !evenIfEmpty { return }
        var message = Message(kind: .append, from: id, to: peer, term: term)
        message.index = previous
        message.logTerm = previousTerm
        message.entries = entries
        message.commit = log.committed
        state.commitSent = max(state.commitSent, message.commit)
        if let last = entries.last {
            switch state.state {
            case .replicate:
                state.next = last.index + 1
                state.inflight.append(last.index)
            case .probe:
                state.probeSent = true
            case .snapshot:
                break
            }
        } else if state.state == .probe {
            state.probeSent = true
        }
        progress[peer] = state
        send(message)
    }

    /// Advances the commit index to the highest index a quorum of voters stores, if
    /// that entry is of this term (§5.4.2). Returns whether it moved.
    private mutating func maybeCommit() -> Bool {
        guard role == .leader, !configuration.voters.isEmpty else { return false }
        let matches = configuration.voters.map { voter in voter == id ? log.stable : (progress[voter]?.match ?? 0) }
            .sorted(by: >)
        let candidate = matches[configuration.quorum - 1]
        guard candidate > log.committed, log.term(at: candidate) == term else { return false }
        log.commit(to: candidate)
        releaseReadsAwaitingCommit()
        if !configuration.voters.contains(id) && configurationIndex <= log.committed {
            // This leader removed itself and the change is committed: hand over.
            if let successor = configuration.voters.max(by: {
                (progress[$0]?.match ?? 0, $1) < (progress[$1]?.match ?? 0, $0)
            }) {
                send(Message(kind: .timeoutNow, from: id, to: successor, term: term))
            }
            becomeFollower(term: term, leader: 0)
            return false
        }
        return true
    }

    // MARK: Reads

    private var hasCommittedInTerm: Bool { log.term(at: log.committed) == term }

    private mutating func handleRead(context: [UInt8], from requester: NodeID) {
        guard hasCommittedInTerm else {
            readsAwaitingCommit.append((context, requester))
            return
        }
        if configuration.voters == [id] {
            answerRead(ReadState(index: log.committed, context: context), to: requester)
            return
        }
        pendingReads.append(
            PendingRead(index: log.committed, context: context, from: requester, acknowledged: [id]))
        broadcastHeartbeat(context: context)
    }

    private mutating func releaseReadsAwaitingCommit() {
        guard hasCommittedInTerm, !readsAwaitingCommit.isEmpty else { return }
        let waiting = readsAwaitingCommit
        readsAwaitingCommit = []
        for read in waiting { handleRead(context: read.context, from: read.from) }
    }

    private mutating func acknowledgeRead(context: [UInt8], from peer: NodeID) {
        guard let position = pendingReads.firstIndex(where: { $0.context == context }) else { return }
        pendingReads[position].acknowledged.insert(peer)
        let acknowledged = pendingReads[position].acknowledged.intersection(configuration.voters).count
        guard acknowledged >= configuration.quorum else { return }
        // The quorum confirmed leadership at a time after every earlier request began.
        let confirmed = pendingReads[...position]
        pendingReads.removeFirst(position + 1)
        for read in confirmed { answerRead(ReadState(index: read.index, context: read.context), to: read.from) }
    }

    private mutating func answerRead(_ state: ReadState, to requester: NodeID) {
        if requester == id {
            readStates.append(state)
        } else {
            var answer = Message(kind: .readIndexResponse, from: id, to: requester, term: term)
            answer.index = state.index
            answer.context = state.context
            send(answer)
        }
    }

    private mutating func dropPendingReads() {
        for read in pendingReads where read.from == id { droppedReads.append(read.context) }
        for read in readsAwaitingCommit where read.from == id { droppedReads.append(read.context) }
        pendingReads = []
        readsAwaitingCommit = []
    }

    // MARK: Configuration

    /// The configuration in force at `index` and the index of the entry that set it:
    /// the last configuration entry at or before `index`, else the snapshot's.
    private func configuration(at index: LogIndex) -> (configuration: Configuration, index: LogIndex) {
        var position = min(index, log.lastIndex)
        while position > log.offset {
            if let entry = log.entry(at: position), entry.kind == .configuration,
                let found = Configuration(encoded: entry.data)
            {
                return (found, position)
            }
            position -= 1
        }
        return (log.snapshot?.configuration ?? Configuration(voters: []), log.offset)
    }

    private mutating func recomputeConfiguration() {
        (configuration, configurationIndex) = configuration(at: log.lastIndex)
    }
}

/// SplitMix64: a small, well-mixed generator for the election-timeout draws.
struct SplitMix: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
