import Foundation
import Raft
import TestSupport
import Testing

@testable import RaftNode

/// An in-process network between nodes; a node can be cut off (its messages and the
/// messages to it are dropped, as for a crashed process).
actor LoopbackNetwork: RaftTransport {
    private var nodes: [NodeID: RaftNode] = [:]
    private var cutOff: Set<NodeID> = []

    func attach(_ node: RaftNode, as id: NodeID) { nodes[id] = node }
    func detach(_ id: NodeID) { nodes[id] = nil }
    func cut(_ id: NodeID) { cutOff.insert(id) }
    func restore(_ id: NodeID) { cutOff.remove(id) }

    nonisolated func send(_ messages: [Message]) {
        // Delivered asynchronously, as by a socket: the sender never waits for the receiver.
        Task {
            for message in messages {
                guard let target = await self.route(message) else { continue }
                await target.receive(message)
            }
        }
    }

    private func route(_ message: Message) -> RaftNode? {
        guard !cutOff.contains(message.from), !cutOff.contains(message.to) else { return nil }
        return nodes[message.to]
    }
}

/// A three-node cluster on the loopback network, each node with its own data folder.
struct LoopbackCluster {
    let network = LoopbackNetwork()
    let root = temporaryDirectory()
    var nodes: [NodeID: RaftNode] = [:]
    var machines: [NodeID: KeyValueStateMachine] = [:]

    func config(_ id: NodeID) -> RaftConfig {
        RaftConfig(id: id, electionTicks: 30, heartbeatTicks: 3, seed: 42)
    }

    mutating func start(_ id: NodeID, bootstrap: Bool) async throws {
        let machine = KeyValueStateMachine()
        let node = try RaftNode(
            config: config(id), directory: "\(root)/node\(id)", stateMachine: machine, transport: network,
            bootstrap: bootstrap ? Configuration(voters: [1, 2, 3]) : nil, tickInterval: .milliseconds(5),
            snapshotEvery: 25, requestTimeout: .seconds(10))
        nodes[id] = node
        machines[id] = machine
        await network.attach(node, as: id)
        await network.restore(id)
        await node.start()
    }

    /// Kills a node: its process is gone, its disk stays.
    mutating func kill(_ id: NodeID) async {
        await network.cut(id)
        await nodes[id]?.stop()
        await network.detach(id)
        nodes[id] = nil
    }

    // Deadlines here bound liveness, not speed: on a two-core machine the CPU-heavy suites
    // running alongside can keep these nodes' tasks off the cooperative pool for seconds.
    func leader(within seconds: Double = 60) async -> NodeID? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            for (id, node) in nodes {
                if await node.status.role == .leader { return id }
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    /// Proposes through whichever node leads, retrying (bounded) across elections.
    func put(_ key: String, _ value: String) async throws -> LogIndex {
        for _ in 0..<50 {
            guard let leader = await leader(), let node = nodes[leader] else { continue }
            do {
                return try await node.propose(KeyValueStateMachine.put(key, value)).index
            } catch RaftNodeError.notLeader, RaftNodeError.outcomeUnknown, RaftNodeError.timedOut {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        throw RaftNodeError.timedOut
    }

    func waitUntil(within seconds: Int = 60, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    func stopAll() async {
        for node in nodes.values { await node.stop() }
        try? FileManager.default.removeItem(atPath: root)
    }
}

@Suite("RaftNode on a loopback network", .serialized)
struct RaftNodeTests {
    @Test("a bootstrapped cluster elects a leader, replicates, and reads linearizably on a follower")
    func replicate() async throws {
        var cluster = LoopbackCluster()
        try await cluster.start(1, bootstrap: true)
        try await cluster.start(2, bootstrap: false)
        try await cluster.start(3, bootstrap: false)
        await cluster.nodes[1]?.campaign()
        let leader = try #require(await cluster.leader())
        #expect(leader == 1)
        for index in 0..<40 { _ = try await cluster.put("key\(index)", "value\(index)") }
        let follower = try #require(cluster.nodes[2])
        try await follower.linearizableRead()
        #expect(cluster.machines[2]?.value(for: "key39") == "value39")
        #expect(await cluster.waitUntil { cluster.machines[3]?.count == 40 })
        // Proposals on a follower are redirected, not silently dropped.
        await #expect(throws: RaftNodeError.notLeader(leader: 1)) {
            _ = try await follower.propose(KeyValueStateMachine.put("x", "y"))
        }
        await cluster.stopAll()
    }

    @Test("after the leader is killed the others elect and keep every acknowledged write; it restarts from disk")
    func failover() async throws {
        var cluster = LoopbackCluster()
        try await cluster.start(1, bootstrap: true)
        try await cluster.start(2, bootstrap: false)
        try await cluster.start(3, bootstrap: false)
        await cluster.nodes[1]?.campaign()
        _ = try #require(await cluster.leader())
        var acknowledged: [String: String] = [:]
        for index in 0..<30 {
            _ = try await cluster.put("k\(index)", "v\(index)")
            acknowledged["k\(index)"] = "v\(index)"
        }
        let old = try #require(await cluster.leader())
        await cluster.kill(old)
        let successor = try #require(await cluster.leader())
        #expect(successor != old)
        for index in 30..<60 {
            _ = try await cluster.put("k\(index)", "v\(index)")
            acknowledged["k\(index)"] = "v\(index)"
        }
        let node = try #require(cluster.nodes[successor])
        try await node.linearizableRead()
        for (key, value) in acknowledged { #expect(cluster.machines[successor]?.value(for: key) == value) }

        // The killed node comes back with its log and snapshots, and catches up.
        try await cluster.start(old, bootstrap: false)
        let caughtUp = await cluster.waitUntil { cluster.machines[old]?.count == acknowledged.count }
        if !caughtUp {
            for (id, node) in cluster.nodes { Issue.record("server \(id): \(await node.status)") }
        }
        #expect(caughtUp)
        for (key, value) in acknowledged { #expect(cluster.machines[old]?.value(for: key) == value) }
        await cluster.stopAll()
    }
}
