import TestSupport

@testable import Raft

/// What a server has on its simulated disk: only what a Ready was persisted with.
struct Disk {
    var hardState = HardState()
    var snapshot: Snapshot?
    var entries: [Entry] = []

    mutating func persist(_ ready: Ready) {
        if let hard = ready.hardState { hardState = hard }
        if let snapshot = ready.snapshot {
            self.snapshot = snapshot
            entries.removeAll { $0.index <= snapshot.index }
        }
        if let first = ready.entries.first {
            entries.removeAll { $0.index >= first.index }
            entries.append(contentsOf: ready.entries)
        }
    }
}

/// A client's outstanding request on a server.
struct PendingRequest {
    var operation: Int  // index into the history
    var index: LogIndex = 0
    var term: Term = 0
    var readContext: [UInt8] = []
    var readIndex: LogIndex? = nil
}

/// One simulated server: the core, its disk, and its state machine.
struct SimulatedServer {
    var raft: Raft
    var disk = Disk()
    var store = KeyValueStore()
    var applied: LogIndex = 0
    var isUp = true
    var isPaused = false
    /// Ticks per step ×1000: clock skew (500 = half speed, 2000 = double).
    var clockRate = 1000
    var clockDebt = 0
    var requests: [PendingRequest] = []
    var readsWaiting: [(context: [UInt8], index: LogIndex)] = []
    var lastTerm: Term = 0
    var lastCommit: LogIndex = 0
    var lastApplied: LogIndex = 0
}

/// A message on the simulated network.
struct InFlight {
    var deliverAt: Int
    var message: Message
}

/// Faults the nemesis may inject in one run.
struct Faults {
    var dropPercent = 0
    var duplicatePercent = 0
    var maxDelay = 1
    var crashes = false
    var partitions = false
    var pauses = false
    var clockSkew = false
    var crashBeforeFsyncPercent = 0
    var compaction = false

    static let none = Faults()
    static func random(_ rng: inout SeededRandom) -> Faults {
        var faults = Faults()
        faults.dropPercent = Int(rng.next() % 15)
        faults.duplicatePercent = Int(rng.next() % 10)
        faults.maxDelay = 1 + Int(rng.next() % 8)
        faults.crashes = rng.next() % 2 == 0
        faults.partitions = rng.next() % 2 == 0
        faults.pauses = rng.next() % 3 == 0
        faults.clockSkew = rng.next() % 3 == 0
        faults.crashBeforeFsyncPercent = faults.crashes ? Int(rng.next() % 3) : 0
        faults.compaction = rng.next() % 2 == 0
        return faults
    }
}

/// Why a run failed, with the step it failed at.
struct SafetyViolation: Error, CustomStringConvertible {
    let step: Int
    let what: String
    var description: String { "step \(step): \(what)" }
}

/// A cluster of simulated servers on a simulated network in virtual time (one step is
/// one tick of an unskewed clock), checking Raft's safety properties after every step.
struct Simulation {
    static let electionTicks = 20
    static let heartbeatTicks = 3

    var servers: [NodeID: SimulatedServer] = [:]
    var network: [InFlight] = []
    /// Directed links that drop everything.
    var blocked: Set<[NodeID]> = []
    var rng: SeededRandom
    var faults: Faults
    var now = 0
    var history: [Operation] = []
    var nextClientValue = 0
    var leadersByTerm: [Term: NodeID] = [:]
    /// Every committed entry seen anywhere, by index.
    var committed: [LogIndex: Entry] = [:]
    var violations: [SafetyViolation] = []
    /// The linearizability checker ran out of budget on this run's history.
    var inconclusiveHistory = false
    var ids: [NodeID]
    let seed: UInt64

    init(servers count: Int, seed: UInt64, faults: Faults, preVote: Bool = true, checkQuorum: Bool = true) {
        self.seed = seed
        rng = SeededRandom(seed: seed)
        self.faults = faults
        ids = (1...NodeID(count)).map { $0 }
        let configuration = Configuration(voters: Set(ids))
        for id in ids {
            let config = Self.config(id: id, seed: seed, preVote: preVote, checkQuorum: checkQuorum)
            let raft = id == 1 ? Raft.bootstrap(config: config, configuration: configuration) : Raft(config: config)
            servers[id] = SimulatedServer(raft: raft)
        }
    }

    static func config(id: NodeID, seed: UInt64, preVote: Bool = true, checkQuorum: Bool = true) -> RaftConfig {
        RaftConfig(
            id: id, electionTicks: electionTicks, heartbeatTicks: heartbeatTicks, preVote: preVote,
            checkQuorum: checkQuorum, maxBytesPerMessage: 256, maxInflightMessages: 4, seed: seed)
    }

    var leader: NodeID? {
        let leaders = servers.filter { $0.value.isUp && $0.value.raft.role == .leader }
        return leaders.max { $0.value.raft.term < $1.value.raft.term }?.key
    }

    /// Each server's role, term, commit, applied and log bounds, for failure reports.
    var summary: String {
        ids.compactMap { id in
            guard let server = servers[id] else { return nil }
            let raft = server.raft
            return
                "\(id): \(raft.role) t\(raft.term) lead \(raft.leader) commit \(raft.commitIndex) applied \(server.applied) log \(raft.firstIndex)…\(raft.lastIndex) (t\(raft.lastTerm)) matches \(raft.matchIndexes.sorted { $0.key < $1.key })"
        }.joined(separator: " | ")
    }

    func fail(_ what: String) -> SafetyViolation { SafetyViolation(step: now, what: what) }

    // MARK: Stepping

    /// One step of virtual time: ticks, deliveries, Ready processing, invariant checks.
    mutating func step() {
        now += 1
        for id in ids {
            guard var server = servers[id], server.isUp, !server.isPaused else { continue }
            server.clockDebt += server.clockRate
            while server.clockDebt >= 1000 {
                server.clockDebt -= 1000
                server.raft.tick()
            }
            servers[id] = server
        }
        let due = network.filter { $0.deliverAt <= now }
        network.removeAll { $0.deliverAt <= now }
        for item in due {
            guard var server = servers[item.message.to], server.isUp, !server.isPaused else { continue }
            server.raft.step(item.message)
            servers[item.message.to] = server
        }
        for id in ids { processReady(id) }
        checkInvariants()
    }

    mutating func processReady(_ id: NodeID) {
        guard var server = servers[id], server.isUp, !server.isPaused else { return }
        var rounds = 0
        while server.raft.hasReady && rounds < 8 {
            rounds += 1
            let ready = server.raft.ready()
            if faults.crashBeforeFsyncPercent > 0 && Int(rng.next() % 1000) < faults.crashBeforeFsyncPercent {
                // The process dies before the fsync: nothing of this Ready survives or leaves.
                servers[id] = server
                crash(id)
                return
            }
            server.disk.persist(ready)
            for message in ready.messages { checkDurableBeforeSend(message, disk: server.disk) }
            for message in ready.messages { send(message) }
            if let snapshot = ready.snapshot {
                server.store = KeyValueStore(encoded: snapshot.data)
                server.applied = snapshot.index
            }
            for entry in ready.committedEntries { apply(entry, on: &server, id: id) }
            for state in ready.readStates {
                server.readsWaiting.append((state.context, state.index))
            }
            for context in ready.droppedReads { failRead(context: context, on: &server) }
            server.raft.advance(ready)
        }
        serveReads(&server)
        if faults.compaction && server.applied > server.raft.firstIndex + 12 && rng.next() % 4 == 0 {
            let index = server.applied - 4
            server.raft.compact(index: index, data: snapshotImage(of: server, at: index))
        }
        servers[id] = server
    }

    /// The state machine's image at `index` (≤ applied), rebuilt from the committed log.
    func snapshotImage(of server: SimulatedServer, at index: LogIndex) -> [UInt8] {
        var store = server.raft.latestSnapshot.map { KeyValueStore(encoded: $0.data) } ?? KeyValueStore()
        var position = (server.raft.latestSnapshot?.index ?? 0) + 1
        while position <= index {
            if let entry = committed[position], entry.kind == .command,
                let command = KeyValueCommand(encoded: entry.data)
            {
                _ = store.apply(command)
            }
            position += 1
        }
        return store.encoded
    }

    mutating func apply(_ entry: Entry, on server: inout SimulatedServer, id: NodeID) {
        if let known = committed[entry.index] {
            if known != entry {
                violations.append(
                    fail(
                        "state-machine safety: server \(id) applies \(entry) at \(entry.index), another applied \(known)"
                    ))
            }
        } else {
            committed[entry.index] = entry
        }
        guard entry.index == server.applied + 1 else {
            violations.append(fail("server \(id) applies \(entry.index) after \(server.applied)"))
            return
        }
        server.applied = entry.index
        var succeeded = true
        if entry.kind == .command, let command = KeyValueCommand(encoded: entry.data) {
            succeeded = server.store.apply(command)
        }
        // Acknowledge the client whose proposal this is, if it was made here.
        if let position = server.requests.firstIndex(where: { $0.index == entry.index && $0.readContext.isEmpty }) {
            let request = server.requests.remove(at: position)
            if request.term == entry.term {
                history[request.operation].returned = now
                history[request.operation].outcome = .done(succeeded)
            }
            // A different term at that index: the proposal was lost; the outcome stays unknown.
        }
    }

    mutating func serveReads(_ server: inout SimulatedServer) {
        let ready = server.readsWaiting.filter { $0.index <= server.applied }
        server.readsWaiting.removeAll { $0.index <= server.applied }
        for read in ready {
            guard let position = server.requests.firstIndex(where: { $0.readContext == read.context }) else { continue }
            let request = server.requests.remove(at: position)
            history[request.operation].returned = now
            history[request.operation].outcome = .read(server.store.values[history[request.operation].key])
        }
    }

    mutating func failRead(context: [UInt8], on server: inout SimulatedServer) {
        server.requests.removeAll { $0.readContext == context }
    }

    mutating func send(_ message: Message) {
        guard !blocked.contains([message.from, message.to]) else { return }
        if Int(rng.next() % 100) < faults.dropPercent { return }
        let copies = Int(rng.next() % 100) < faults.duplicatePercent ? 2 : 1
        for _ in 0..<copies {
            network.append(InFlight(deliverAt: now + 1 + Int(rng.next() % UInt64(faults.maxDelay)), message: message))
        }
    }

    // MARK: Faults

    mutating func crash(_ id: NodeID) {
        guard var server = servers[id], server.isUp else { return }
        server.isUp = false
        // Requests in flight on the crashed server end with unknown outcomes.
        server.requests = []
        server.readsWaiting = []
        servers[id] = server
        network.removeAll { $0.message.to == id }
    }

    mutating func restart(_ id: NodeID) {
        guard var server = servers[id], !server.isUp else { return }
        let config = server.raft.config
        let diskIsEmpty =
            server.disk.entries.isEmpty && server.disk.snapshot == nil && server.disk.hardState == HardState()
        if id == 1 && diskIsEmpty {
            // The bootstrapping server died before its first fsync: like RaftNode, it
            // bootstraps again, since its log is still empty.
            server.raft = Raft.bootstrap(config: config, configuration: Configuration(voters: Set(ids)))
        } else {
            server.raft = Raft(
                config: config, hardState: server.disk.hardState, snapshot: server.disk.snapshot,
                entries: server.disk.entries)
        }
        server.store = server.disk.snapshot.map { KeyValueStore(encoded: $0.data) } ?? KeyValueStore()
        server.applied = server.disk.snapshot?.index ?? 0
        server.isUp = true
        server.isPaused = false
        server.lastCommit = server.raft.commitIndex
        server.lastApplied = server.applied
        servers[id] = server
    }

    mutating func isolate(_ id: NodeID) {
        for other in ids where other != id {
            blocked.insert([id, other])
            blocked.insert([other, id])
        }
    }

    mutating func heal() { blocked = [] }

    // MARK: Clients

    /// A client sends an operation to a random server (or the leader), as a client
    /// that follows redirects would.
    /// The operation each client is waiting for: a client has one request at a time, and
    /// gives up on one (its outcome stays unknown) after `clientPatience` steps.
    var outstanding: [Int: Int] = [:]
    static let clientPatience = 60

    mutating func clientRequest(client: Int, keys: [String]) {
        if let operation = outstanding[client] {
            if history[operation].returned == nil && now - history[operation].call < Self.clientPatience { return }
            outstanding[client] = nil
        }
        let key = keys[Int(rng.next() % UInt64(keys.count))]
        let target = (rng.next() % 4 != 0 ? leader : nil) ?? ids[Int(rng.next() % UInt64(ids.count))]
        guard var server = servers[target], server.isUp, !server.isPaused else { return }
        nextClientValue += 1
        let value = "v\(nextClientValue)"
        let choice = rng.next() % 3
        let kind: Operation.Kind
        switch choice {
        case 0: kind = .put(value)
        case 1:
            let current = server.store.values[key]
            kind = .compareAndSet(
                expected: rng.next() % 2 == 0 ? current : "v\(rng.next() % UInt64(nextClientValue))", new: value)
        default: kind = .get
        }
        let operation = history.count
        history.append(Operation(client: client, key: key, kind: kind, call: now, returned: nil, outcome: .unknown))
        outstanding[client] = operation
        switch kind {
        case .get:
            let context = Array("read-\(operation)".utf8)
            do {
                try server.raft.requestRead(context: context)
                server.requests.append(PendingRequest(operation: operation, readContext: context))
            } catch {
                history.removeLast()  // refused at once: it never happened
                outstanding[client] = nil
            }
        case .put(let new):
            propose(.put(key: key, value: new), operation: operation, on: &server)
        case .compareAndSet(let expected, let new):
            propose(.compareAndSet(key: key, expected: expected, new: new), operation: operation, on: &server)
        }
        servers[target] = server
    }

    private mutating func propose(_ command: KeyValueCommand, operation: Int, on server: inout SimulatedServer) {
        do {
            let (index, term) = try server.raft.propose(command.encoded)
            server.requests.append(PendingRequest(operation: operation, index: index, term: term))
        } catch {
            history.removeLast()  // refused at once: it never happened
            outstanding = outstanding.filter { $0.value != operation }
        }
    }

    // MARK: Invariants

    mutating func checkDurableBeforeSend(_ message: Message, disk: Disk) {
        switch message.kind {
        case .preVote, .preVoteResponse:
            return  // a pre-vote changes no durable state
        case .voteResponse where !message.reject:
            // The vote is on disk, or the disk already holds a later term (one Ready may
            // carry a vote and then a campaign of the voter's own; the later term means
            // the server can never act in the vote's term again).
            let durable =
                disk.hardState.term > message.term
                || (disk.hardState.term == message.term && disk.hardState.vote == message.to)
            if !durable {
                violations.append(
                    fail(
                        "server \(message.from) grants a vote to \(message.to) in term \(message.term) before persisting it (disk: \(disk.hardState))"
                    ))
            }
        default:
            if message.term > disk.hardState.term {
                violations.append(
                    fail(
                        "server \(message.from) sends \(message.kind) of term \(message.term) with term \(disk.hardState.term) on disk"
                    ))
            }
        }
    }

    mutating func checkInvariants() {
        for id in ids {
            guard var server = servers[id], server.isUp else { continue }
            let raft = server.raft
            if raft.role == .leader {
                if let other = leadersByTerm[raft.term], other != id {
                    violations.append(fail("two leaders in term \(raft.term): \(other) and \(id)"))
                }
                if leadersByTerm[raft.term] == nil {
                    leadersByTerm[raft.term] = id
                    // Leader completeness: every committed entry is in the new leader's log.
                    for (index, entry) in committed where index > raft.firstIndex - 1 {
                        if raft.entry(at: index) != entry {
                            violations.append(fail("leader \(id) of term \(raft.term) lacks committed entry \(index)"))
                        }
                    }
                }
            }
            if raft.term < server.lastTerm { violations.append(fail("server \(id) term went back")) }
            if raft.commitIndex < server.lastCommit { violations.append(fail("server \(id) commit went back")) }
            if server.applied < server.lastApplied { violations.append(fail("server \(id) applied went back")) }
            server.lastTerm = raft.term
            server.lastCommit = raft.commitIndex
            server.lastApplied = server.applied
            servers[id] = server
        }
    }

    /// Log matching: two logs with an entry of the same index and term agree on every
    /// entry up to it.
    mutating func checkLogMatching() {
        let logs = ids.compactMap { servers[$0] }.map(\.raft)
        for (a, first) in logs.enumerated() {
            for second in logs[(a + 1)...] {
                let low = max(first.firstIndex, second.firstIndex)
                var index = min(first.lastIndex, second.lastIndex)
                while index >= low, first.term(at: index) != second.term(at: index) { index -= 1 }
                guard index >= low else { continue }
                var position = index
                while position >= low {
                    if first.entry(at: position) != second.entry(at: position) {
                        violations.append(
                            fail(
                                "log matching: servers \(first.id) and \(second.id) agree at \(index) but differ at \(position)"
                            ))
                        return
                    }
                    position -= 1
                }
            }
        }
    }
}
