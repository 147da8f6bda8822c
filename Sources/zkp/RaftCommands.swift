import ArgumentParser
import Dispatch
import Foundation
import Logging
import Raft
import RaftNode
import Wire

/// Options shared by the commands that start Raft servers.
struct RaftTimingOptions: ParsableArguments {
    @Option(name: .customLong("heartbeat-ms"), help: "Heartbeat interval in milliseconds.")
    var heartbeatMilliseconds: Int = 100

    @Option(name: .customLong("election-ms"), help: "Election timeout in milliseconds (randomised up to twice this).")
    var electionMilliseconds: Int = 1000

    @Option(help: "Take a snapshot and compact the log every this many applied entries.")
    var snapshotEvery: UInt64 = 10_000

    var heartbeat: Duration { .milliseconds(heartbeatMilliseconds) }
    var election: Duration { .milliseconds(electionMilliseconds) }
}

func parsePeers(_ texts: [String]) throws -> [NodeID: PeerAddress] {
    var peers: [NodeID: PeerAddress] = [:]
    for text in texts {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let id = NodeID(parts[0]), id != 0 else {
            throw InputError("--peer \"\(text)\": expected ID=HOST:PORT with a non-zero numeric ID")
        }
        guard peers[id] == nil else { throw InputError("--peer: server \(id) is listed twice") }
        peers[id] = try PeerAddress(parsing: String(parts[1]))
    }
    return peers
}

struct RaftNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft-node",
        abstract: "Run one server of a replicated key-value store (Raft over gRPC) until SIGINT or SIGTERM.",
        discussion: """
            Exactly one server of a new cluster is started with --bootstrap; the others start \
            empty and are contacted by its leader. The key-value service (raft.KeyValue) shares \
            the Raft port; use `zkp raft-kv` to talk to it.
            """)

    @Option(help: "This server's id (a positive integer).")
    var id: UInt64

    @Option(help: "The address to listen on for Raft and key-value traffic, HOST:PORT.")
    var listen: String

    @Option(help: "Another server of the cluster, ID=HOST:PORT (repeatable).")
    var peer: [String] = []

    @Option(help: "The directory holding this server's log, term, vote and snapshots.")
    var data: String

    @Flag(help: "Start a new cluster of this server and its peers (on exactly one server).")
    var bootstrap = false

    @OptionGroup var timing: RaftTimingOptions

    @Flag(help: "Log one JSON object per line (time to the millisecond, level, message, metadata).")
    var logJson = false

    @Option(help: "The least severe messages logged: trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @Option(help: "Mutual TLS: this server's certificate (PEM).") var tlsCert: String?
    @Option(help: "Mutual TLS: this server's private key (PEM).") var tlsKey: String?
    @Option(help: "Mutual TLS: the CA that signs every server's certificate (PEM).") var tlsCa: String?

    func run() async throws {
        try await exitingTwoOnError {
            let tls: RaftTLS?
            switch (tlsCert, tlsKey, tlsCa) {
            case (nil, nil, nil): tls = nil
            case (let cert?, let key?, let ca?): tls = RaftTLS(certificateFile: cert, keyFile: key, caFile: ca)
            default: throw InputError("mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca")
            }
            let configuration = RaftServerConfiguration(
                id: id, listen: try PeerAddress(parsing: listen), peers: try parsePeers(peer), dataDirectory: data,
                bootstrap: bootstrap, heartbeatInterval: timing.heartbeat, electionTimeout: timing.election, tls: tls,
                snapshotEvery: timing.snapshotEvery)
            guard let level = Logger.Level(rawValue: logLevel) else {
                throw InputError(
                    "--log-level \"\(logLevel)\" is not one of "
                        + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let json = logJson
            LoggingSystem.bootstrap { label in
                var handler = LineLogHandler(label: label, json: json)
                handler.logLevel = level
                return handler
            }
            var logger = Logger(label: "zkp.raft")
            logger[metadataKey: "node"] = "\(id)"
            let machine = KeyValueStateMachine()
            let server = try RaftServer(configuration: configuration, stateMachine: machine, logger: logger)
            logger.info("Raft server listening", metadata: ["address": "\(configuration.listen)"])
            try await runUntilSignalled {
                try await server.run(services: [KeyValueService(server: server, machine: machine)])
            }
        }
    }
}

struct RaftKeyValueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft-kv",
        abstract: "Put, get or show status on a key-value cluster started with `zkp raft-node` or `zkp raft-demo`.",
        subcommands: [Put.self, Get.self, Status.self])

    struct Cluster: ParsableArguments {
        @Option(help: "The servers' addresses, comma-separated HOST:PORT; requests start at the first.")
        var cluster: String

        func client() throws -> KeyValueClusterClient {
            let addresses = try cluster.split(separator: ",").map { try PeerAddress(parsing: String($0)) }
            guard !addresses.isEmpty else { throw InputError("--cluster lists no address") }
            return try KeyValueClusterClient(addresses: addresses)
        }
    }

    struct Put: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write KEY = VALUE; prints the commit index.")
        @OptionGroup var cluster: Cluster
        @Argument var key: String
        @Argument var value: String

        func run() async throws {
            try await exitingTwoOnError {
                let client = try cluster.client()
                let index = try await client.withConnections { try await $0.put(key, value, through: 0) }
                print(index)
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read KEY linearizably through the first server; exits 1 if it is absent.")
        @OptionGroup var cluster: Cluster
        @Argument var key: String

        func run() async throws {
            try await exitingTwoOnError {
                let client = try cluster.client()
                guard let value = try await client.withConnections({ try await $0.get(key, through: 0) }) else {
                    throw ExitCode(1)
                }
                print(value)
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each server's role, term, leader and indexes.")
        @OptionGroup var cluster: Cluster

        func run() async throws {
            try await exitingTwoOnError {
                let client = try cluster.client()
                try await client.withConnections { client in
                    for (index, address) in client.addresses.enumerated() {
                        do {
                            let status = try await client.status(of: index)
                            print("\(address) \(status.summary)")
                        } catch {
                            print("\(address) unreachable: \(error)")
                        }
                    }
                }
            }
        }
    }
}

struct RaftDemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft-demo",
        abstract: "Start a three-server key-value cluster on loopback and put/get through any server.",
        discussion: """
            Reads commands from standard input, one per line:
              put SERVER KEY VALUE   write through server 1, 2 or 3
              get SERVER KEY         read linearizably through that server
              status                 each server's role, term and indexes
            and stops at end of input. With --serve it keeps running after that until SIGINT, \
            for `zkp raft-kv --cluster …` from another shell.
            """)

    @Option(help: "The first of three consecutive loopback ports.")
    var basePort: Int = 7101

    @Option(help: "Where the servers keep their state (default: a new temporary directory, removed at exit).")
    var data: String?

    @Flag(help: "Keep serving after standard input ends.")
    var serve = false

    @OptionGroup var timing: RaftTimingOptions

    func run() async throws {
        try await exitingTwoOnError {
            guard (1...65_533).contains(basePort) else { throw InputError("--base-port must be 1…65533") }
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = .warning
                return handler
            }
            let root = data ?? NSTemporaryDirectory() + "zkp-raft-demo-\(ProcessInfo.processInfo.processIdentifier)"
            let ids: [NodeID] = [1, 2, 3]
            let addresses = Dictionary(
                uniqueKeysWithValues: ids.map { ($0, PeerAddress(host: "127.0.0.1", port: basePort + Int($0) - 1)) })
            var servers: [(RaftServer, KeyValueStateMachine)] = []
            for id in ids {
                let machine = KeyValueStateMachine()
                let configuration = RaftServerConfiguration(
                    id: id, listen: addresses[id]!, peers: addresses, dataDirectory: "\(root)/server\(id)",
                    bootstrap: id == 1, heartbeatInterval: timing.heartbeat, electionTimeout: timing.election,
                    snapshotEvery: timing.snapshotEvery)
                servers.append((try RaftServer(configuration: configuration, stateMachine: machine), machine))
            }
            let client = try KeyValueClusterClient(addresses: ids.map { addresses[$0]! })
            let cluster = ids.map { addresses[$0]!.description }.joined(separator: ",")
            print("servers: \(cluster)")
            let serve = self.serve
            let running = servers
            let removeData = data == nil
            try await runUntilSignalled {
                try await withThrowingDiscardingTaskGroup { group in
                    for (server, machine) in running {
                        group.addTask {
                            try await server.run(services: [KeyValueService(server: server, machine: machine)])
                        }
                    }
                    group.addTask { try await client.run() }
                    try await Self.session(client)
                    if serve {
                        print("serving; try: zkp raft-kv --cluster \(cluster) get KEY")
                        try await Task.sleep(for: .seconds(1 << 40))
                    }
                    group.cancelAll()
                }
            }
            if removeData { try? FileManager.default.removeItem(atPath: root) }
        }
    }

    static func session(_ client: KeyValueClusterClient) async throws {
        while let line = await readLineOffThePool() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let verb = words.first else { continue }
            do {
                switch (verb, words.count) {
                case ("put", 4):
                    let server = try serverIndex(words[1])
                    let index = try await client.put(words[2], words[3], through: server)
                    print("put \(words[2]) through server \(words[1]): committed at index \(index)")
                case ("get", 3):
                    let server = try serverIndex(words[1])
                    let value = try await client.get(words[2], through: server)
                    print("get \(words[2]) through server \(words[1]): \(value.map { "\"\($0)\"" } ?? "absent")")
                case ("status", 1):
                    for server in 0..<3 {
                        let status = try await client.status(of: server)
                        print("server \(status.summary)")
                    }
                default:
                    print("unknown command \"\(line)\"; expected put SERVER KEY VALUE, get SERVER KEY or status")
                }
            } catch {
                print("error: \(error)")
            }
        }
    }

    /// `readLine` blocks its thread: run it off the cooperative pool, which the servers need.
    static func readLineOffThePool() async -> String? {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: readLine()) }
        }
    }

    static func serverIndex(_ text: String) throws -> Int {
        guard let server = Int(text), (1...3).contains(server) else {
            throw InputError("server \"\(text)\" is not 1, 2 or 3")
        }
        return server - 1
    }
}

extension Raft_StatusResponse {
    /// One line: role, term, leader, indexes, and how long ago each peer was last heard from.
    var summary: String {
        let leader = leaderAddress.isEmpty ? "\(leaderID)" : "\(leaderID) (\(leaderAddress))"
        let seen = peers.map { peer in
            let ago = peer.millisecondsSinceContact < 0 ? "never" : "\(peer.millisecondsSinceContact) ms ago"
            return " peer \(peer.id) seen \(ago)"
        }
        return "id=\(id) role=\(role) term=\(term) leader=\(leader) commit=\(commitIndex) applied=\(appliedIndex)"
            + seen.joined(separator: ";")
    }
}
