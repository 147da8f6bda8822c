import Foundation
import LocalCluster
import Raft
import RaftNode
import TestSupport
import Testing

/// Layer 2: three `zkp raft-node` processes whose every link to each other runs through a
/// proxy the test can cut, so a partition looks to the servers as it would on a network:
/// silence, not a refused connection. The key-value client reaches each server directly.
@Suite("Raft processes partitioned", .serialized)
struct RaftPartitionTests {
    /// A running cluster whose links run through relays that can be cut, a first write
    /// made, and every server in the first leader's term, for `body`; then everything stops.
    func withPartitionableCluster(
        _ body: (LocalRaftCluster, ClusterLinks, _ first: (id: NodeID, term: Term)) async throws -> Void
    ) async throws {
        var proxies: ClusterLinks?
        let routeThroughProxies = { (cluster: LocalRaftCluster) in proxies = try await ClusterLinks(for: cluster) }
        try await RaftProcessTests().withCluster(prepare: routeThroughProxies) { cluster, first in
            let links = try #require(proxies)
            do {
                try await cluster.client.put("before", "1")
                try #require(await cluster.waitInSync(timeout: .seconds(60)))
                try await body(cluster, links, first)
            } catch {
                await links.close()
                throw error
            }
            await links.close()
        }
    }

    @Test("a follower cut off and healed rejoins without raising anyone's term (pre-vote) and catches up")
    func isolateFollower() async throws {
        try await withPartitionableCluster { cluster, links, first in
            let follower = try #require(cluster.ids.first { $0 != first.id })

            links.isolate(follower)
            for index in 0..<20 { try await cluster.client.put("during-\(index)", "\(index)") }
            // Ten election timeouts: an isolated server without pre-vote would have campaigned
            // several times by now, each time in a higher term.
            try await Task.sleep(for: .milliseconds(cluster.electionMilliseconds * 10))
            let statusesWhileCut = await cluster.statuses()
            let isolated = try #require(statusesWhileCut[follower])
            let leading = try #require(statusesWhileCut[first.id])
            #expect(isolated.appliedIndex < leading.commitIndex, "the cut follower missed the writes made meanwhile")
            #expect(isolated.term == first.term, "the isolated follower's term did not rise")
            #expect(isolated.role != Role.leader.rawValue)

            links.healAll()
            #expect(await cluster.waitInSync(timeout: .seconds(60)))
            let statuses = await cluster.statuses()
            #expect(statuses.count == 3)
            for (id, status) in statuses {
                #expect(status.term == first.term, "server \(id) stayed in the first leader's term")
                #expect(status.leaderID == first.id)
            }
            let followerIndex = try #require(cluster.ids.firstIndex(of: follower))
            #expect(try await cluster.client.get("during-19", through: followerIndex) == "19")
        }
    }

    @Test("a leader cut off acknowledges nothing and steps down; the majority elects another; healed, it follows")
    func isolateLeader() async throws {
        try await withPartitionableCluster { cluster, links, first in
            let oldIndex = try #require(cluster.ids.firstIndex(of: first.id))

            links.isolate(first.id)
            // A client that may only ask the isolated leader, once: the write cannot commit.
            let minorityClient = try KeyValueClusterClient(
                addresses: [cluster.addresses[first.id]!], callTimeout: .seconds(3), attempts: 1)
            let minorityWrite = try? await minorityClient.withConnections { client in
                try await client.put("minority", "lost")
            }
            #expect(minorityWrite == nil, "the isolated leader acknowledged a write")

            let next = try #require(await cluster.waitForLeader(excluding: [first.id], timeout: .seconds(60)))
            #expect(next.id != first.id && next.term > first.term)
            let steppedDown = await waitUntil(seconds: 60) {
                await cluster.statuses()[first.id].map { $0.role != Role.leader.rawValue } ?? false
            }
            #expect(steppedDown, "check-quorum ended the isolated server's leadership")
            try await cluster.client.put("majority", "kept")

            links.healAll()
            #expect(await cluster.waitInSync(timeout: .seconds(60)))
            #expect(await cluster.statuses()[first.id]?.role == Role.follower.rawValue)
            #expect(try await cluster.client.get("majority", through: oldIndex) == "kept")
            // The minority's entry was never committed: the new leader's log replaced it.
            #expect(try await cluster.client.get("minority", through: oldIndex) == nil)
            #expect(try await cluster.client.get("before", through: oldIndex) == "1")
        }
    }
}
