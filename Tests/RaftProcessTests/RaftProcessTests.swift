import Foundation
import LocalCluster
import Raft
import RaftNode
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Layer 1: three `zkp raft-node` processes on 127.0.0.1 with real fsync, and faults
/// injected by signal and failpoint. Deadlines here bound liveness; the speed of
/// failover is measured by `scripts/bench-raft`, not asserted.
@Suite("Raft processes on loopback", .serialized)
struct RaftProcessTests {
    static let zkp = TestEnvironment.productExecutable("zkp").path

    func makeCluster(heartbeat: Int = 50, election: Int = 250) throws -> LocalRaftCluster {
        try #require(FileManager.default.isExecutableFile(atPath: Self.zkp), "zkp is built beside the tests")
        let root = NSTemporaryDirectory() + "zkp-raft-process-\(UInt32.random(in: 0...UInt32.max))"
        return try LocalRaftCluster(
            executable: Self.zkp, root: root, heartbeatMilliseconds: heartbeat, electionMilliseconds: election,
            clientCallTimeout: .seconds(2), clientAttempts: 2000, clientMaximumBackoff: .milliseconds(20))
    }

    /// Starts the servers (after `prepare`) and the client, waits for a first leader, runs
    /// `body` with the cluster and that leader, and always stops every process.
    func withCluster(
        heartbeat: Int = 50, election: Int = 250, prepare: (LocalRaftCluster) async throws -> Void = { _ in },
        _ body: (LocalRaftCluster, _ first: (id: NodeID, term: Term)) async throws -> Void
    ) async throws {
        let cluster = try makeCluster(heartbeat: heartbeat, election: election)
        try await prepare(cluster)
        try cluster.startAll()
        let clientTask = Task { try await cluster.client.run() }
        defer {
            clientTask.cancel()
            cluster.shutdown()
            try? FileManager.default.removeItem(atPath: cluster.root)
        }
        let first = try #require(await cluster.waitForLeader(timeout: .seconds(60)), "a first leader")
        try await body(cluster, first)
    }

    @Test("kill -9 of the leader 20 times under steady writes: a new leader each time, every acknowledged write kept")
    func killLeaderRepeatedly() async throws {
        try await withCluster { cluster, _ in
            let acknowledged = Mutex<[String: String]>([:])
            let writer = Task {
                var sequence = 0
                while !Task.isCancelled {
                    sequence += 1
                    let key = "w\(sequence)"
                    // A write whose outcome is unknown (an error) may or may not be kept; only
                    // acknowledged ones are checked.
                    if (try? await cluster.client.put(key, "\(sequence)")) != nil {
                        acknowledged.withLock { $0[key] = "\(sequence)" }
                    }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            var terms: [Term] = []
            for run in 0..<20 {
                try #require(await cluster.waitInSync(timeout: .seconds(60)), "settled before run \(run)")
                let old = try #require(await cluster.waitForLeader(timeout: .seconds(60)), "a leader before run \(run)")
                let before = acknowledged.withLock { $0.count }
                cluster.signal(old.id, SIGKILL)
                let next = try #require(
                    await cluster.waitForLeader(excluding: [old.id], timeout: .seconds(60)),
                    "a new leader in run \(run)")
                #expect(next.term > old.term)
                terms.append(next.term)
                // Writes go on under the new leader.
                let progressed = await waitUntil(seconds: 60) { acknowledged.withLock { $0.count } > before }
                #expect(progressed, "writes resumed in run \(run)")
                try cluster.start(old.id)
            }
            writer.cancel()
            _ = await writer.value
            #expect(terms == terms.sorted())
            try #require(await cluster.waitInSync(timeout: .seconds(60)))
            let expected = acknowledged.withLock { $0 }
            #expect(expected.count > 20)
            for (index, (key, value)) in expected.sorted(by: { $0.key < $1.key }).enumerated() {
                // Read through every server in turn: each must reflect every acknowledged write.
                let read = try await cluster.client.get(key, through: index % 3)
                #expect(read == value, "\(key) after 20 leader kills")
            }
        }
    }

    @Test("SIGSTOP of a follower changes no leader; SIGSTOP of the leader elects another, which the old leader follows")
    func stopAndContinue() async throws {
        // Default timings (100/1000 ms): a follower frozen for 3 × 250 ms must not look like
        // a lost quorum to a leader whose own heartbeats a loaded machine may delay.
        try await withCluster(heartbeat: 100, election: 1000) { cluster, first in
            try await cluster.client.put("a", "1")

            // A frozen follower: the leader stays, writes go on.
            let follower = try #require(cluster.ids.first { $0 != first.id })
            cluster.signal(follower, SIGSTOP)
            for index in 0..<20 { try await cluster.client.put("during-follower-stop-\(index)", "x") }
            try await Task.sleep(for: .milliseconds(750))
            let stillLeading = try #require(await cluster.waitForLeader(excluding: [follower], timeout: .seconds(60)))
            #expect(stillLeading.id == first.id && stillLeading.term == first.term)
            cluster.signal(follower, SIGCONT)
            #expect(await cluster.waitInSync(timeout: .seconds(60)))

            // The leader frozen: another is elected; after SIGCONT the old one follows it and
            // serves the writes made meanwhile.
            cluster.signal(first.id, SIGSTOP)
            let next = try #require(await cluster.waitForLeader(excluding: [first.id], timeout: .seconds(60)))
            #expect(next.id != first.id && next.term > first.term)
            try await cluster.client.put("b", "2")
            cluster.signal(first.id, SIGCONT)
            // At once, before it has heard of the new term: the old leader must not serve the
            // read from its stale state (it confirms leadership with a quorum first, fails,
            // and the client is redirected).
            let oldIndex = try #require(cluster.ids.firstIndex(of: first.id))
            #expect(try await cluster.client.get("b", through: oldIndex) == "2")
            #expect(await cluster.waitInSync(timeout: .seconds(60)))
            #expect(try await cluster.client.get("b", through: oldIndex) == "2")
            let statuses = await cluster.statuses()
            #expect(statuses[first.id]?.role == Role.follower.rawValue)
        }
    }

    @Test("all servers restarted on their data elect a leader and keep every write")
    func restartAll() async throws {
        try await withCluster { cluster, _ in
            for index in 0..<50 { try await cluster.client.put("r\(index)", "\(index)") }
            for id in cluster.ids { cluster.signal(id, SIGTERM) }
            try cluster.startAll()
            try #require(await cluster.waitForLeader(timeout: .seconds(60)) != nil)
            for index in stride(from: 0, to: 50, by: 7) {
                #expect(try await cluster.client.get("r\(index)", through: index % 3) == "\(index)")
            }
        }
    }

    @Test(
        "a server that dies just before or just after an fsync restarts from its disk and converges",
        arguments: [
            "before-fsync", "after-fsync",
        ])
    func crashAroundFsync(moment: String) async throws {
        // Server 3 dies at its 40th fsync: mid-stream, while it is a follower taking writes.
        let failpoint = { (cluster: LocalRaftCluster) in cluster.environment[3] = ["ZKP_RAFT_FAILPOINT": "\(moment):40"]
        }
        try await withCluster(prepare: failpoint) { cluster, _ in
            var written: [String: String] = [:]
            for index in 0..<120 {
                try await cluster.client.put("f\(index)", "\(index)")
                written["f\(index)"] = "\(index)"
            }
            let died = await waitUntil(seconds: 60) { !cluster.isRunning(3) }
            #expect(died, "the failpoint ended server 3")
            cluster.environment[3] = [:]
            try cluster.start(3)
            #expect(await cluster.waitInSync(timeout: .seconds(60)))
            for (key, value) in written.sorted(by: { $0.key < $1.key }) where key.hasSuffix("7") {
                #expect(try await cluster.client.get(key, through: 2) == value)
            }
        }
    }
}
