import Foundation
import TestSupport
import Testing

@testable import Raft

/// Runs one scenario script (Tests/RaftTests/Scenarios/*.txt) on the simulator without
/// random faults. Each line is a command; `expect` lines are the checks. Returns the
/// failures, each with its line number.
func runScenario(_ text: String) -> [String] {
    var simulation = Simulation(servers: 1, seed: 1, faults: .none)
    var failures: [String] = []
    var rememberedTerms: [NodeID: Term] = [:]

    func runUntil(_ limit: Int, _ condition: (Simulation) -> Bool) -> Bool {
        for _ in 0..<limit {
            if condition(simulation) { return true }
            simulation.step()
        }
        return condition(simulation)
    }

    for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
        let words = line.split(separator: " ").map(String.init)
        guard let command = words.first else { continue }
        func fail(_ what: String) { failures.append("line \(number + 1) `\(line)`: \(what); \(simulation.summary)") }
        func id(_ position: Int) -> NodeID { NodeID(words[position]) ?? 0 }
        let args = Array(words.dropFirst())

        switch command {
        case "cluster":
            let count = Int(args[0]) ?? 3
            simulation = Simulation(
                servers: count, seed: 1, faults: .none, preVote: !args.contains("prevote=off"),
                checkQuorum: !args.contains("checkquorum=off"))
        case "elect":
            simulation.servers[id(1)]?.raft.campaign()
            if !runUntil(200, { $0.leader == id(1) }) { fail("server \(id(1)) did not become leader") }
        case "put":
            guard let leader = simulation.leader,
                let (index, term) = try? simulation.servers[leader]?.raft.propose(
                    KeyValueCommand.put(key: args[0], value: args[1]).encoded)
            else {
                fail("no leader took the proposal")
                continue
            }
            if !runUntil(200, { $0.committed[index]?.term == term }) { fail("the put did not commit") }
        case "remember-term":
            rememberedTerms = simulation.servers.mapValues(\.raft.term)
        case "isolate":
            simulation.isolate(id(1))
        case "heal":
            simulation.heal()
        case "crash":
            simulation.crash(id(1))
        case "leader-lost":
            // The runtime saw the leader's port refuse a connection.
            simulation.servers[id(1)]?.raft.reportLeaderUnreachable()
        case "run":
            for _ in 0..<(Int(args[0]) ?? 0) { simulation.step() }
        case "compact":
            if var server = simulation.servers[id(1)] {
                let index = server.applied
                server.raft.compact(index: index, data: server.store.encoded)
                simulation.servers[id(1)] = server
            }
        case "transfer":
            do {
                try simulation.servers[id(1)]?.raft.transferLeadership(to: id(3))
            } catch {
                fail("transfer refused: \(error)")
            }
        case "spawn":
            let newID = id(1)
            simulation.ids.append(newID)
            simulation.servers[newID] = SimulatedServer(raft: Raft(config: Simulation.config(id: newID, seed: 1)))
        case "add-voter", "remove":
            do {
                if command == "add-voter" {
                    try simulation.servers[id(3)]?.raft.addVoter(id(1))
                } else {
                    try simulation.servers[id(3)]?.raft.removeServer(id(1))
                }
            } catch {
                fail("refused: \(error)")
            }
        case "expect":
            let what = args[0]
            switch what {
            case "term":
                let server = id(2)
                let now = simulation.servers[server]?.raft.term ?? 0
                let before = rememberedTerms[server] ?? 0
                if args[2] == "unchanged" && now != before { fail("term moved from \(before) to \(now)") }
                if args[2] == "raised" && now <= before { fail("term stayed at \(now)") }
                if args[2] == "raised-once" && now != before + 1 { fail("term moved from \(before) to \(now)") }
            case "leader":
                if !runUntil(100, { $0.leader == id(2) }) {
                    fail("leader is \(simulation.leader.map(String.init) ?? "none")")
                }
            case "leader-among":
                let allowed = Set(args.dropFirst().compactMap { NodeID($0) })
                if !runUntil(200, { $0.leader.map(allowed.contains) == true }) {
                    fail("no leader among \(allowed.sorted())")
                }
            case "leader-within":
                // expect leader-within STEPS ID…: one of the IDs leads within STEPS steps.
                let steps = Int(args[1]) ?? 0
                let allowed = Set(args.dropFirst(2).compactMap { NodeID($0) })
                if !runUntil(steps, { $0.leader.map(allowed.contains) == true }) {
                    fail("no leader among \(allowed.sorted()) within \(steps) steps")
                }
            case "role":
                let role = simulation.servers[id(2)]?.raft.role.rawValue
                if role != args[2] { fail("role is \(role ?? "none")") }
            case "stepped-down":
                // Not leading: a follower, or campaigning again (and failing) on its own.
                let role = simulation.servers[id(2)]?.raft.role
                if role == nil || role == .leader { fail("role is \(role.map(\.rawValue) ?? "none")") }
            case "refused":
                if (try? simulation.servers[id(2)]?.raft.propose(Array("refused?".utf8))) != nil {
                    fail("server \(id(2)) accepted a proposal")
                }
            case "first-index":
                let first = simulation.servers[id(2)]?.raft.firstIndex ?? 0
                if !runUntil(100, { ($0.servers[id(2)]?.raft.firstIndex ?? 0) > LogIndex(args[3]) ?? 0 }) {
                    fail("first index is \(first)")
                }
            case "value":
                let key = args[1]
                let value = args[2]
                let targets =
                    args.count > 3 && args[3] == "on" ? args.dropFirst(4).compactMap { NodeID($0) } : simulation.ids
                let reached = runUntil(200) { sim in
                    targets.allSatisfy { sim.servers[$0]?.store.values[key] == value }
                }
                if !reached { fail("not every server has \(key) = \(value)") }
            case "voter", "not-voter":
                let want = what == "voter"
                let reached = runUntil(200) { sim in
                    guard let leader = sim.leader, let raft = sim.servers[leader]?.raft else { return false }
                    return raft.configuration.voters.contains(id(2)) == want && raft.commitIndex >= raft.lastIndex
                }
                if !reached { fail("server \(id(2)) is\(want ? " not" : "") a voter") }
            default:
                fail("unknown expectation")
            }
        default:
            fail("unknown command")
        }
        simulation.checkLogMatching()
        for violation in simulation.violations { failures.append("line \(number + 1): \(violation)") }
        simulation.violations = []
    }
    return failures
}

@Suite("Raft scenario scripts")
struct ScenarioTests {
    static let folder = TestEnvironment.repositoryRoot.appendingPathComponent("Tests/RaftTests/Scenarios")

    static var names: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.sorted()
    }

    @Test("every scenario script passes", arguments: names)
    func scenario(name: String) throws {
        let text = try String(contentsOf: Self.folder.appendingPathComponent(name), encoding: .utf8)
        for failure in runScenario(text) { Issue.record("\(name) \(failure)") }
    }

    @Test("the scenario folder holds the scripts")
    func scriptsPresent() {
        #expect(Self.names.count >= 6)
    }

    @Test("a script whose expectation is false fails (negative control)")
    func negativeControl() {
        let failures = runScenario("cluster 3\nelect 1\nput x 1\nexpect leader 2\n")
        #expect(failures.count == 1)
    }
}
