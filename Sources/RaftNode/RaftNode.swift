import Logging
import Raft

/// What a node replicates: commands applied in log order on every server, and an image
/// of the state for snapshots.
public protocol ReplicatedStateMachine: AnyObject, Sendable {
    /// Applies one committed command and returns its result for the proposer.
    func apply(_ command: [UInt8], index: LogIndex) -> [UInt8]
    /// The state after everything applied so far.
    func snapshot() -> [UInt8]
    /// Replaces the state with a snapshot's image.
    func restore(_ image: [UInt8])
}

/// How a node's messages reach its peers. Delivery is best effort (Raft retries), and
/// `send` only queues: it must not wait for the network, because the node calls it
/// between persisting and applying, where nothing else may interleave.
public protocol RaftTransport: Sendable {
    func send(_ messages: [Message])
}

/// Why a request to a node failed.
public enum RaftNodeError: Error, Equatable, CustomStringConvertible {
    /// Not the leader; the known leader's id (0: none) for a redirect.
    case notLeader(leader: NodeID)
    /// Leadership changed before the command committed: it may or may not take effect.
    case outcomeUnknown
    case timedOut
    case stopped
    case refused(RaftError)
    case storage(StorageError)

    public var description: String {
        switch self {
        case .notLeader(let leader): leader == 0 ? "no leader is known" : "not the leader; the leader is \(leader)"
        case .outcomeUnknown: "leadership changed before the command committed; it may or may not take effect"
        case .timedOut: "the request timed out"
        case .stopped: "the node is stopped"
        case .refused(let error): "refused: \(error)"
        case .storage(let error): "storage failed: \(error)"
        }
    }
}

/// A snapshot of a node's state for status endpoints and metrics.
public struct RaftStatus: Sendable, Equatable {
    public var id: NodeID
    public var role: Role
    public var term: Term
    public var leader: NodeID
    public var commitIndex: LogIndex
    public var appliedIndex: LogIndex
    public var lastIndex: LogIndex
    public var voters: Set<NodeID>
    public var learners: Set<NodeID>
}

/// Drives one `Raft` core: a monotonic ticker, the durable log (fsync before anything
/// that vouches for it leaves the node; a leader's appends go out during its own write),
/// the state machine, and the transport. Callers
/// propose commands and read linearizably; results come back once the command is
/// committed and applied here.
public actor RaftNode {
    public let id: NodeID
    /// Whether the node found no Raft state on disk (and was not bootstrapped now).
    public nonisolated let startedEmpty: Bool
    /// Whether this start created a new cluster from the `bootstrap` configuration.
    public nonisolated let bootstrapped: Bool
    private var raft: Raft
    private let log: DurableLog
    private let stateMachine: any ReplicatedStateMachine
    private let transport: any RaftTransport
    private let tickInterval: Duration
    /// Take a snapshot (and compact the log) every this many applied entries.
    private let snapshotEvery: LogIndex
    private var lastSnapshotIndex: LogIndex = 0
    private var ticker: Task<Void, Never>?
    private var stopped = false
    private var proposals: [LogIndex: (term: Term, continuation: CheckedContinuation<[UInt8], any Error>)] = [:]
    private var reads: [[UInt8]: CheckedContinuation<LogIndex, any Error>] = [:]
    private var readsWaitingForApply: [[UInt8]: (index: LogIndex, continuation: CheckedContinuation<Void, any Error>)] =
        [:]
    /// How long a proposal or read may wait before it fails with `timedOut`.
    private let requestTimeout: Duration
    /// Every request made, with when it times out.
    private var expiries = DeadlineQueue<PendingRequest>()
    private enum PendingRequest {
        case proposal(LogIndex, Term)
        case read([UInt8])
    }
    private var nextReadNumber: UInt64 = 0
    private var appliedIndex: LogIndex = 0
    private let logger: Logger
    /// The role and term last logged, to log each change once.
    private var loggedRole: (Role, Term) = (.follower, 0)

    /// Opens the node's log in `directory` and restores its state. `bootstrap` starts a
    /// new cluster with that configuration; only an empty log may be bootstrapped.
    public init(
        config: RaftConfig, directory: String, stateMachine: any ReplicatedStateMachine,
        transport: any RaftTransport, bootstrap: Configuration? = nil, tickInterval: Duration = .milliseconds(10),
        snapshotEvery: LogIndex = 10_000, requestTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "zkp.raft")
    ) throws(StorageError) {
        id = config.id
        self.logger = logger
        self.requestTimeout = requestTimeout
        log = try DurableLog(directory: directory)
        let recovered = log.recovered
        let isEmpty = recovered.entries.isEmpty && recovered.snapshot == nil && recovered.hardState == HardState()
        startedEmpty = isEmpty && bootstrap == nil
        bootstrapped = isEmpty && bootstrap != nil
        if let bootstrap, isEmpty {
            raft = Raft.bootstrap(config: config, configuration: bootstrap)
        } else {
            raft = Raft(
                config: config, hardState: recovered.hardState, snapshot: recovered.snapshot,
                entries: recovered.entries)
        }
        if let snapshot = recovered.snapshot {
            stateMachine.restore(snapshot.data)
            appliedIndex = snapshot.index
            lastSnapshotIndex = snapshot.index
        }
        self.stateMachine = stateMachine
        self.transport = transport
        self.tickInterval = tickInterval
        self.snapshotEvery = snapshotEvery
    }

    /// Starts the ticker.
    public func start() {
        guard ticker == nil, !stopped else { return }
        let interval = tickInterval
        ticker = Task { [weak self] in
            let clock = ContinuousClock()
            var deadline = clock.now
            while !Task.isCancelled {
                deadline = deadline.advanced(by: interval)
                // After a stall (a stopped process, an overloaded machine) resume from now
                // rather than replaying the missed ticks in a burst: a burst would expire
                // every timer at once and start a needless election.
                if clock.now - deadline > interval { deadline = clock.now.advanced(by: interval) }
                try? await clock.sleep(until: deadline)
                guard let self else { return }
                await self.tick()
            }
        }
    }

    /// Stops the ticker and fails every waiting request.
    public func stop() {
        stopped = true
        ticker?.cancel()
        ticker = nil
        failAll(.stopped)
    }

    public var status: RaftStatus {
        RaftStatus(
            id: id, role: raft.role, term: raft.term, leader: raft.leader, commitIndex: raft.commitIndex,
            appliedIndex: appliedIndex, lastIndex: raft.lastIndex, voters: raft.configuration.voters,
            learners: raft.configuration.learners)
    }

    // MARK: Inputs

    private func tick() async {
        guard !stopped else { return }
        raft.tick()
        processReady()
        expireOverdueRequests()
    }

    /// A message from a peer.
    public func receive(_ message: Message) async {
        guard !stopped else { return }
        raft.step(message)
        processReady()
    }

    /// Messages from peers, taken in order; one Ready (one fsync) covers them all.
    public func receive(_ messages: [Message]) async {
        guard !stopped else { return }
        for message in messages where message.to == id { raft.step(message) }
        processReady()
    }

    /// Starts an election now (a freshly bootstrapped node need not wait a timeout).
    public func campaign() async {
        raft.campaign()
        processReady()
    }

    /// The transport saw `peer`'s port refuse a connection: its process is gone. If it is
    /// this follower's leader, the follower campaigns now instead of waiting out the
    /// election timeout. Only speed depends on this report, never safety.
    public func peerRefusedConnection(_ peer: NodeID) async {
        guard !stopped else { return }
        if raft.role == .follower && raft.leader == peer {
            raft.reportLeaderUnreachable()
        } else if raft.role == .leader {
            raft.reportUnreachable(peer)
        }
        processReady()
    }

    /// The snapshot for `peer` was lost on the way.
    public func snapshotFailed(_ peer: NodeID) async {
        guard !stopped else { return }
        raft.reportSnapshotFailed(peer)
        processReady()
    }

    /// The transport could not deliver to `peer`: replicate to it by probing until it answers.
    public func peerUnreachable(_ peer: NodeID) async {
        guard !stopped, raft.role == .leader else { return }
        raft.reportUnreachable(peer)
    }

    /// Replicates `command`; returns its index and the state machine's result once it is
    /// committed and applied here.
    public func propose(_ command: [UInt8]) async throws -> (index: LogIndex, result: [UInt8]) {
        guard !stopped else { throw RaftNodeError.stopped }
        let position: (index: LogIndex, term: Term)
        do {
            position = try raft.propose(command)
        } catch {
            if case .notLeader(let leader) = error { throw RaftNodeError.notLeader(leader: leader) }
            throw RaftNodeError.refused(error)
        }
        let result = try await withCheckedThrowingContinuation { continuation in
            proposals[position.index] = (position.term, continuation)
            expiries.append(.proposal(position.index, position.term), deadline: ContinuousClock.now + requestTimeout)
            scheduleReady()
        }
        return (position.index, result)
    }

    /// Returns once this node's state machine reflects every write acknowledged before
    /// the call (ReadIndex): a read of local state afterwards is linearizable.
    public func linearizableRead() async throws {
        guard !stopped else { throw RaftNodeError.stopped }
        nextReadNumber += 1
        let context = Array("read \(id) \(nextReadNumber)".utf8)
        do {
            try raft.requestRead(context: context)
        } catch {
            if case .notLeader(let leader) = error { throw RaftNodeError.notLeader(leader: leader) }
            throw RaftNodeError.refused(error)
        }
        let index = try await withCheckedThrowingContinuation { continuation in
            reads[context] = continuation
            expiries.append(.read(context), deadline: ContinuousClock.now + requestTimeout)
            scheduleReady()
        }
        if index <= appliedIndex { return }
        try await withCheckedThrowingContinuation { continuation in
            readsWaitingForApply[context] = (index, continuation)
        }
    }

    /// Fails the requests whose time is up. A request costs no timer of its own: the
    /// ticker calls this, so a request may outlive its timeout by up to a tick.
    private func expireOverdueRequests() {
        for request in expiries.removeDue(at: ContinuousClock.now) {
            switch request {
            case .proposal(let index, let term):
                if let waiting = proposals[index], waiting.term == term {
                    proposals[index] = nil
                    waiting.continuation.resume(throwing: RaftNodeError.timedOut)
                }
            case .read(let context):
                reads.removeValue(forKey: context)?.resume(throwing: RaftNodeError.timedOut)
                readsWaitingForApply.removeValue(forKey: context)?.continuation.resume(throwing: RaftNodeError.timedOut)
            }
        }
    }

    public func transferLeadership(to target: NodeID) async throws {
        do { try raft.transferLeadership(to: target) } catch { throw RaftNodeError.refused(error) }
        processReady()
    }

    public func addVoter(_ node: NodeID) async throws {
        do { try raft.addVoter(node) } catch { throw RaftNodeError.refused(error) }
        processReady()
    }

    public func removeServer(_ node: NodeID) async throws {
        do { try raft.removeServer(node) } catch { throw RaftNodeError.refused(error) }
        processReady()
    }

    // MARK: Ready

    /// Whether a `processReady` is already queued behind the calls waiting for this actor.
    private var readyScheduled = false

    /// Queues one `processReady` for all the proposals and reads that arrive before it
    /// runs, so that concurrent requests share one fsync instead of taking one each.
    private func scheduleReady() {
        guard !readyScheduled else { return }
        readyScheduled = true
        Task {
            self.readyScheduled = false
            self.processReady()
        }
    }

    /// Persists, sends, applies; in that order, until the core has nothing left. It has
    /// no suspension point, so no other call on this actor can run between taking a
    /// Ready and advancing past it.
    ///
    /// A leader's appends leave before its own write (Raft thesis §10.2.1), so the entries
    /// reach the followers' disks while they reach this one, and a slow write here no longer
    /// adds to every commit. That is safe because nothing can commit on them before this
    /// write ends: the followers' acknowledgements are handled only after this returns.
    /// Every other message (a vote, an acknowledgement) vouches for what is on this disk,
    /// so it leaves after the write.
    private func processReady() {
        while raft.hasReady && !stopped {
            let ready = raft.ready()
            let appends = ready.messages.filter { $0.kind == .append }
            let others = ready.messages.filter { $0.kind != .append }
            if !appends.isEmpty { transport.send(appends) }
            do {
                try log.persist(hardState: ready.hardState, snapshot: ready.snapshot, entries: ready.entries)
            } catch {
                // Without durable storage the node must not answer anyone: stop it.
                stop()
                return
            }
            if !others.isEmpty { transport.send(others) }
            if let snapshot = ready.snapshot {
                stateMachine.restore(snapshot.data)
                appliedIndex = snapshot.index
                lastSnapshotIndex = snapshot.index
                failProposals(upTo: snapshot.index)
            }
            for entry in ready.committedEntries { apply(entry) }
            for state in ready.readStates { reads.removeValue(forKey: state.context)?.resume(returning: state.index) }
            for context in ready.droppedReads {
                reads.removeValue(forKey: context)?.resume(throwing: RaftNodeError.notLeader(leader: 0))
            }
            raft.advance(ready)
            if loggedRole != (raft.role, raft.term) {
                loggedRole = (raft.role, raft.term)
                logger.info(
                    "Raft role changed",
                    metadata: ["role": "\(raft.role)", "term": "\(raft.term)", "leader": "\(raft.leader)"])
            }
            releaseReads()
            // Proposals made while leading: whether they commit is out of this node's hands now.
            if raft.role != .leader { failProposals(upTo: .max) }
            if appliedIndex >= lastSnapshotIndex + snapshotEvery { takeSnapshot() }
        }
    }

    private func apply(_ entry: Entry) {
        var result: [UInt8] = []
        if entry.kind == .command && !entry.data.isEmpty {
            result = stateMachine.apply(entry.data, index: entry.index)
        }
        appliedIndex = entry.index
        if let waiting = proposals.removeValue(forKey: entry.index) {
            if waiting.term == entry.term {
                waiting.continuation.resume(returning: result)
            } else {
                waiting.continuation.resume(throwing: RaftNodeError.outcomeUnknown)
            }
        }
    }

    private func releaseReads() {
        for (context, read) in readsWaitingForApply where read.index <= appliedIndex {
            readsWaitingForApply[context] = nil
            read.continuation.resume()
        }
    }

    private func takeSnapshot() {
        let index = appliedIndex
        raft.compact(index: index, data: stateMachine.snapshot())
        guard let snapshot = raft.latestSnapshot, snapshot.index == index else { return }
        do {
            try log.persist(hardState: nil, snapshot: snapshot, entries: [])
            try log.compact()
            lastSnapshotIndex = index
        } catch {
            stop()
        }
    }

    /// Ends the proposals at or below `index` with `outcomeUnknown`.
    private func failProposals(upTo index: LogIndex) {
        for (position, waiting) in proposals where position <= index {
            proposals[position] = nil
            waiting.continuation.resume(throwing: RaftNodeError.outcomeUnknown)
        }
    }

    private func failAll(_ error: RaftNodeError) {
        expiries.removeAll()
        for waiting in proposals.values { waiting.continuation.resume(throwing: error) }
        proposals = [:]
        for waiting in reads.values { waiting.resume(throwing: error) }
        reads = [:]
        for waiting in readsWaitingForApply.values { waiting.continuation.resume(throwing: error) }
        readsWaitingForApply = [:]
    }
}
