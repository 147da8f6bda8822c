import Foundation
import LocalCluster
import Raft
import RaftNode

#if canImport(Glibc)
    import Glibc
#endif

/// Failover and commit throughput of a three-server `zkp raft-node` cluster on loopback,
/// one JSON object per line, each with etcd 3.4's figure on this kind of machine beside
/// ours (from the Raft testing notes in the README).
@main
struct RaftBench {
    static func main() async throws {
        var arguments = Array(CommandLine.arguments.dropFirst())
        func option(_ name: String) -> String? {
            guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
            defer { arguments.removeSubrange(index...index + 1) }
            return arguments[index + 1]
        }
        let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
        let zkp = option("--zkp") ?? "\(binDirectory)/zkp"
        let runs = Int(option("--runs") ?? "20") ?? 20
        let seconds = Int(option("--seconds") ?? "5") ?? 5
        let only = option("--only")
        guard FileManager.default.isExecutableFile(atPath: zkp) else {
            FileHandle.standardError.write(Data("raft-bench: \(zkp) is not an executable; pass --zkp PATH\n".utf8))
            exit(2)
        }
        let bench = RaftBench(zkp: zkp, runs: runs)
        if only == "sigstop-250" {
            try await bench.failover(heartbeat: 50, election: 250, signal: SIGSTOP, etcdMedian: 0.30, etcdMax: nil)
        }
        if only == nil || only == "failover" {
            for (heartbeat, election, etcd) in [(100, 1000, (1.37, 2.42, 1.16)), (50, 250, (0.31, 0.65, 0.30))] {
                try await bench.failover(
                    heartbeat: heartbeat, election: election, signal: SIGKILL, etcdMedian: etcd.0, etcdMax: etcd.1)
                try await bench.failover(
                    heartbeat: heartbeat, election: election, signal: SIGSTOP, etcdMedian: etcd.2, etcdMax: nil)
            }
        }
        if only == nil || only == "throughput" {
            try await bench.throughput(clients: 1, seconds: seconds, etcdOps: 768, etcdP99: 0.004)
            try await bench.throughput(clients: 32, seconds: seconds, etcdOps: 5517, etcdP99: 0.015)
        }
    }

    let zkp: String
    let runs: Int

    func makeCluster(heartbeat: Int, election: Int) throws -> LocalRaftCluster {
        let root = NSTemporaryDirectory() + "raft-bench-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return try LocalRaftCluster(
            executable: zkp, root: root, heartbeatMilliseconds: heartbeat, electionMilliseconds: election,
            clientCallTimeout: .milliseconds(100), clientAttempts: 10_000, clientMaximumBackoff: .milliseconds(5))
    }

    /// Kills (SIGKILL) or freezes (SIGSTOP) the leader `runs` times; measures the time from
    /// the signal to the next acknowledged write and to a new leader.
    func failover(heartbeat: Int, election: Int, signal: Int32, etcdMedian: Double, etcdMax: Double?) async throws {
        let cluster = try makeCluster(heartbeat: heartbeat, election: election)
        defer {
            cluster.shutdown()
            if ProcessInfo.processInfo.environment["RAFT_BENCH_KEEP"] == nil {
                try? FileManager.default.removeItem(atPath: cluster.root)
            } else {
                FileHandle.standardError.write(Data("logs kept in \(cluster.root)\n".utf8))
            }
        }
        try cluster.startAll()
        let clientTask = Task { try await cluster.client.run() }
        defer { clientTask.cancel() }
        guard await cluster.waitForLeader(timeout: .seconds(30)) != nil else { throw BenchError("no first leader") }
        try await cluster.client.put("warm-up", "1")
        var toWrite: [Double] = []
        var toLeader: [Double] = []
        var extraElections = 0
        for run in 0..<runs {
            guard await cluster.waitInSync(timeout: .seconds(60)), let old = await cluster.leader() else {
                throw BenchError("the cluster did not settle before run \(run)")
            }
            let clock = ContinuousClock()
            let start = clock.now
            cluster.signal(old.id, signal)
            async let newLeader = cluster.waitForLeader(excluding: [old.id], timeout: .seconds(30))
            try await cluster.client.put("probe", "\(run)")
            toWrite.append((clock.now - start).seconds)
            guard let elected = await newLeader else { throw BenchError("no new leader in run \(run)") }
            toLeader.append((clock.now - start).seconds)
            if elected.term > old.term + 1 { extraElections += 1 }
            if signal == SIGSTOP {
                cluster.signal(old.id, SIGCONT)
            } else {
                try cluster.start(old.id)
            }
        }
        let name = signal == SIGKILL ? "raft_failover_kill9_leader" : "raft_failover_sigstop_leader"
        emit([
            "name": name, "heartbeat_ms": heartbeat, "election_ms": election, "runs": runs,
            "to_acknowledged_write_s": summary(toWrite), "to_new_leader_s": summary(toLeader),
            "to_acknowledged_write_each_s": toWrite.map { ($0 * 1000).rounded() / 1000 },
            "elections_beyond_one": extraElections, "etcd_to_acknowledged_write_median_s": etcdMedian,
            "etcd_to_acknowledged_write_max_s": etcdMax as Any,
            "median_ratio_to_etcd": summary(toWrite)["median"]! / etcdMedian,
        ])
    }

    /// `clients` concurrent writers, each putting sequentially for `seconds`.
    func throughput(clients: Int, seconds: Int, etcdOps: Double, etcdP99: Double) async throws {
        let cluster = try makeCluster(heartbeat: 100, election: 1000)
        defer {
            cluster.shutdown()
            try? FileManager.default.removeItem(atPath: cluster.root)
        }
        try cluster.startAll()
        let clientTask = Task { try await cluster.client.run() }
        defer { clientTask.cancel() }
        guard await cluster.waitForLeader(timeout: .seconds(30)) != nil else { throw BenchError("no leader") }
        for index in 0..<100 { try await cluster.client.put("warm-\(index)", "1") }
        let clock = ContinuousClock()
        let start = clock.now
        let end = start + .seconds(seconds)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for client in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    var count = 0
                    while clock.now < end {
                        let began = clock.now
                        try await cluster.client.put("client\(client)-\(count % 64)", "value-\(count)")
                        latencies.append((clock.now - began).seconds)
                        count += 1
                    }
                    return latencies
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all
        }
        let elapsed = (clock.now - start).seconds
        let stats = summary(latencies)
        let ops = Double(latencies.count) / elapsed
        emit([
            "name": "raft_put_throughput", "clients": clients, "seconds": elapsed, "operations": latencies.count,
            "ops_per_s": ops, "latency_p50_s": stats["median"]!, "latency_p99_s": percentile(latencies, 0.99),
            "etcd_ops_per_s": etcdOps, "etcd_latency_p99_s": etcdP99, "ops_ratio_to_etcd": ops / etcdOps,
        ])
    }

    func summary(_ values: [Double]) -> [String: Double] {
        ["min": values.min() ?? 0, "median": percentile(values, 0.5), "max": values.max() ?? 0]
    }

    func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }

    func emit(_ object: [String: Any]) {
        var object = object
        object["git_revision"] = ProcessInfo.processInfo.environment["ZKP_GIT_REVISION"] ?? "unknown"
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Duration {
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
