import Foundation
import TestSupport
import Testing

@testable import Raft

/// One randomized run: faults for `faultSteps`, then everything heals and the cluster
/// must elect a leader and commit within 10 election timeouts.
func simulatedRun(seed: UInt64, servers: Int, faultSteps: Int = 1200) -> (Simulation, [String]) {
    var setup = SeededRandom(seed: seed)
    let faults = Faults.random(&setup)
    var simulation = Simulation(servers: servers, seed: seed, faults: faults)
    var problems: [String] = []
    let keys = ["a", "b", "c", "d", "e", "f", "g", "h"]
    for step in 0..<faultSteps {
        simulation.step()
        if step % 2 == 0 { simulation.clientRequest(client: Int(simulation.rng.next() % 7), keys: keys) }
        if step % 50 == 0 { simulation.checkLogMatching() }
        let roll = simulation.rng.next() % 1000
        let victim = simulation.ids[Int(simulation.rng.next() % UInt64(servers))]
        switch roll {
        case 0..<4 where faults.crashes:
            simulation.crash(victim)
        case 4..<12 where faults.crashes:
            simulation.restart(victim)
        case 12..<15 where faults.partitions:
            simulation.isolate(victim)
        case 15..<17 where faults.partitions:
            // A one-way cut.
            let other = simulation.ids[Int(simulation.rng.next() % UInt64(servers))]
            if other != victim { simulation.blocked.insert([victim, other]) }
        case 17..<19 where faults.partitions && servers == 5:
            // A bridge: {1, 2} | 3 | {4, 5}, where 3 hears both sides.
            for a in [NodeID(1), 2] {
                for b in [NodeID(4), 5] {
                    simulation.blocked.insert([a, b])
                    simulation.blocked.insert([b, a])
                }
            }
        case 19..<30 where faults.partitions:
            simulation.heal()
        case 30..<33 where faults.pauses:
            simulation.servers[victim]?.isPaused = true
        case 33..<43 where faults.pauses:
            simulation.servers[victim]?.isPaused = false
        case 43..<45 where faults.clockSkew:
            simulation.servers[victim]?.clockRate = [500, 700, 1500, 2000][Int(simulation.rng.next() % 4)]
        case 45..<50:
            // The runtime's report that the leader's port refused a connection: true after a
            // crash, false otherwise; either way only speed may depend on it, never safety.
            simulation.servers[victim]?.raft.reportLeaderUnreachable()
        default:
            break
        }
        if !simulation.violations.isEmpty { break }
    }
    // Heal everything and require progress.
    simulation.faults = .none
    simulation.heal()
    for id in simulation.ids {
        simulation.restart(id)
        simulation.servers[id]?.isPaused = false
        simulation.servers[id]?.clockRate = 1000
    }
    let deadline = simulation.now + 10 * Simulation.electionTicks
    var committedProbe = false
    var probeIndex: (LogIndex, Term)? = nil
    while simulation.now < deadline && simulation.violations.isEmpty {
        simulation.step()
        // A proposal lost with its leader's term is made again to the next leader.
        if let (_, term) = probeIndex, let leader = simulation.leader, simulation.servers[leader]?.raft.term != term {
            probeIndex = nil
        }
        if probeIndex == nil, let leader = simulation.leader,
            let proposed = try? simulation.servers[leader]?.raft.propose(
                KeyValueCommand.put(key: "probe", value: "end").encoded)
        {
            probeIndex = proposed
        }
        if let (index, term) = probeIndex, simulation.committed[index]?.term == term {
            committedProbe = true
            break
        }
    }
    if !committedProbe {
        problems.append(
            "no commit within 10 election timeouts after healing; probe \(probeIndex.map { "\($0)" } ?? "not proposed"); \(simulation.summary)"
        )
    }
    // Let the stragglers catch up before the final checks.
    for _ in 0..<(2 * Simulation.electionTicks) { simulation.step() }
    simulation.checkLogMatching()
    problems += simulation.violations.map(\.description)
    switch LinearizabilityChecker.verdict(simulation.history) {
    case .notLinearizable:
        problems.append("the client history is not linearizable (\(simulation.history.count) operations)")
    case .inconclusive:
        simulation.inconclusiveHistory = true
    case .linearizable:
        break
    }
    return (simulation, problems)
}

@Suite("Raft under deterministic simulation")
struct SimulationTests {
    /// Runs per test invocation: 1,000 by default; `ZKP_RAFT_RUNS` asks for more.
    static var runs: Int { ProcessInfo.processInfo.environment["ZKP_RAFT_RUNS"].flatMap(Int.init) ?? 1000 }

    @Test("seeded runs of 3- and 5-server clusters keep every safety property and recover")
    func seededRuns() {
        var base = SeededRandom.forTest("raft simulation")
        let single = ProcessInfo.processInfo.environment["ZKP_RAFT_SEED"].flatMap(UInt64.init)
        let seeds = single.map { [$0] } ?? (0..<Self.runs).map { _ in base.next() }
        var failures = 0
        var operations = 0
        var elections = 0
        var inconclusive = 0
        for (run, seed) in seeds.enumerated() {
            let servers = run % 2 == 0 ? 3 : 5
            let (simulation, problems) = simulatedRun(seed: seed, servers: servers)
            operations += simulation.history.count
            elections += simulation.leadersByTerm.count
            if simulation.inconclusiveHistory { inconclusive += 1 }
            if !problems.isEmpty {
                failures += 1
                Issue.record(
                    "run \(run) (\(servers) servers) failed; replay with ZKP_RAFT_SEED=\(seed): \(problems.prefix(3).joined(separator: "; "))"
                )
                if failures >= 3 { break }
            }
        }
        print(
            "[raft simulation] \(seeds.count) runs, \(operations) client operations, \(elections) leaders elected, \(inconclusive) histories too costly to check"
        )
        // The checker must decide almost every history, or this test checks little.
        #expect(inconclusive * 50 <= seeds.count, "\(inconclusive) of \(seeds.count) histories were not decided")
    }
}

@Suite("the linearizability checker")
struct LinearizabilityCheckerTests {
    func op(_ client: Int, _ kind: Operation.Kind, _ call: Int, _ returned: Int?, _ outcome: Operation.Outcome)
        -> Operation
    {
        Operation(client: client, key: "x", kind: kind, call: call, returned: returned, outcome: outcome)
    }

    @Test("accepts concurrent histories that have a linearization")
    func accepts() {
        // Reads that overlap a put may see it or not, in either order of their answers.
        #expect(
            LinearizabilityChecker.check([
                op(1, .put("1"), 0, 10, .done(true)),
                op(2, .get, 1, 3, .read("1")),
                op(3, .get, 2, 4, .read(nil)),
            ]))
        #expect(
            LinearizabilityChecker.check([
                op(1, .put("1"), 0, 10, .done(true)),
                op(2, .get, 1, 3, .read(nil)),
                op(3, .get, 2, 4, .read("1")),
            ]))
        #expect(
            LinearizabilityChecker.check([
                op(1, .put("1"), 0, 1, .done(true)),
                op(2, .put("2"), 2, nil, .unknown),
                op(3, .get, 5, 6, .read("1")),  // the unknown write need not have happened
                op(4, .compareAndSet(expected: "1", new: "3"), 7, 8, .done(true)),
                op(5, .get, 9, 10, .read("3")),
            ]))
    }

    @Test("rejects a stale read and a mutated history (negative controls)")
    func rejects() throws {
        #expect(
            !LinearizabilityChecker.check([
                op(1, .put("1"), 0, 1, .done(true)),
                op(2, .get, 2, 3, .read(nil)),
            ]))
        #expect(
            !LinearizabilityChecker.check([
                op(1, .compareAndSet(expected: nil, new: "1"), 0, 1, .done(true)),
                op(2, .compareAndSet(expected: nil, new: "2"), 2, 3, .done(true)),
            ]))
        // A real history from the simulator, then one read's answer replaced by a value
        // no one wrote.
        let (simulation, problems) = simulatedRun(seed: 7, servers: 3, faultSteps: 600)
        #expect(problems.isEmpty, "\(problems)")
        var history = simulation.history
        #expect(LinearizabilityChecker.check(history))
        let read = try #require(
            history.firstIndex { if case .read = $0.outcome { return true } else { return false } })
        history[read].outcome = .read("never-written")
        #expect(!LinearizabilityChecker.check(history))
    }
}
