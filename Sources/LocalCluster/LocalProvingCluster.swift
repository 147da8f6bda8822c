import Foundation
import JobClient
import RaftNode
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A proving cluster of real processes on 127.0.0.1: `zkp coordinator` × N and
/// `zkp worker` × M over one PostgreSQL database, each with its configuration file, data
/// and log under `root`. For the process-level cluster tests and the cluster benchmark.
public final class LocalProvingCluster: Sendable {
    public struct Database: Sendable {
        public var host: String
        public var port: Int
        public var user: String
        public var password: String
        public var name: String

        /// The server of a `postgres://user[:password]@host[:port]/db` URL, and database `name` on it.
        public init(url text: String, name: String) throws {
            guard let url = URLComponents(string: text), let host = url.host, let user = url.user else {
                throw URLError(
                    .badURL,
                    userInfo: [NSLocalizedDescriptionKey: "cannot read \(text) as postgres://user@host:port/db"])
            }
            self.init(host: host, port: url.port ?? 5432, user: user, password: url.password ?? "", name: name)
        }

        public init(host: String, port: Int, user: String, password: String, name: String) {
            self.host = host
            self.port = port
            self.user = user
            self.password = password
            self.name = name
        }
    }

    public struct Ports: Sendable {
        public let raft: Int
        public let grpc: Int
        public let http: Int
    }

    public let executable: String
    public let root: String
    public let database: Database
    public let coordinators: [Ports]
    public let workerNames: [String]
    public let jobs: JobClient
    private let processes = Mutex<[String: Process]>([:])

    /// Writes the configuration files; nothing starts until `start`.
    public init(
        executable: String, root: String, database: Database, coordinatorCount: Int = 3, workerCount: Int = 2,
        workerConcurrency: Int = 1, heartbeatTimeout: String = "2s", runLease: String = "5m",
        extraCoordinatorYAML: String = ""
    ) throws {
        self.executable = executable
        self.root = root
        self.database = database
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let ports = try freeLoopbackPorts(coordinatorCount * 3)
        coordinators = (0..<coordinatorCount).map {
            Ports(raft: ports[3 * $0], grpc: ports[3 * $0 + 1], http: ports[3 * $0 + 2])
        }
        workerNames = (1...max(1, workerCount)).prefix(workerCount).map { "worker-\($0)" }
        let peers = coordinators.enumerated().map { index, ports in
            "      - { id: coordinator-\(index + 1), address: \"127.0.0.1:\(ports.raft)\", grpc_address: \"127.0.0.1:\(ports.grpc)\" }"
        }.joined(separator: "\n")
        for (index, ports) in coordinators.enumerated() {
            let n = index + 1
            let yaml = """
                coordinator:
                  id: coordinator-\(n)
                  host: 127.0.0.1
                  grpc_port: \(ports.grpc)
                  http_port: \(ports.http)
                  heartbeat_timeout: \(heartbeatTimeout)
                  stale_task_timeout: \(runLease)
                  cleanup_interval: 200ms
                  poll_interval: 100ms
                  admin_token: test-token
                \(extraCoordinatorYAML)
                  raft:
                    node_id: coordinator-\(n)
                    raft_port: \(ports.raft)
                    raft_dir: \(root)/raft-\(n)
                    bootstrap: \(n == 1)
                    heartbeat_timeout: 50ms
                    election_timeout: 500ms
                    peers:
                \(peers)
                database:
                  driver: postgres
                  host: \(database.host)
                  port: \(database.port)
                  database: \(database.name)
                  user: \(database.user)
                  password: "\(database.password)"
                  max_open_conns: 8
                logging:
                  level: info
                  format: console
                  output: stderr

                """
            try yaml.write(toFile: "\(root)/coordinator-\(n).yaml", atomically: true, encoding: .utf8)
        }
        let addresses = coordinators.map { "127.0.0.1:\($0.grpc)" }.joined(separator: ",")
        for name in workerNames {
            let yaml = """
                worker:
                  id: \(name)
                  coordinator_address: "\(addresses)"
                  concurrency: \(workerConcurrency)
                  heartbeat_interval: 300ms
                  cache_dir: \(root)/cache
                logging:
                  level: info
                  format: console
                  output: stderr

                """
            try yaml.write(toFile: "\(root)/\(name).yaml", atomically: true, encoding: .utf8)
        }
        jobs = JobClient(
            coordinators: coordinators.map { PeerAddress(host: "127.0.0.1", port: $0.grpc) }, callTimeout: .seconds(10),
            attempts: 60)
    }

    public var coordinatorNames: [String] { coordinators.indices.map { "coordinator-\($0 + 1)" } }

    /// Starts a process by name (`coordinator-2`, `worker-1`).
    public func start(_ name: String) throws {
        let command = name.hasPrefix("coordinator") ? "coordinator" : "worker"
        let process = try launch(
            executable, arguments: [command, "--config", "\(root)/\(name).yaml"], logPath: "\(root)/\(name).log")
        processes.withLock { $0[name] = process }
    }

    public func startAll() throws {
        for name in coordinatorNames + workerNames { try start(name) }
    }

    public func isRunning(_ name: String) -> Bool { processes.withLock { $0[name]?.isRunning ?? false } }

    /// Sends `signal`; SIGKILL waits for the process to be gone, SIGTERM for it to exit
    /// (a worker drains first), and both return its exit status.
    @discardableResult
    public func signal(_ name: String, _ signal: Int32) -> Int32? {
        guard let process = processes.withLock({ $0[name] }), process.isRunning else { return nil }
        kill(process.processIdentifier, signal)
        guard signal == SIGKILL || signal == SIGTERM else { return nil }
        process.waitUntilExit()
        processes.withLock { $0[name] = nil }
        return process.terminationStatus
    }

    /// Kills every process and closes the client.
    public func shutdown() async {
        for name in processes.withLock({ Array($0.keys) }) {
            signal(name, SIGCONT)
            signal(name, SIGKILL)
        }
        await jobs.shutdown()
    }

    /// The coordinator that leads, by its HTTP /health, if one does.
    public func leader() async -> String? {
        for (index, ports) in coordinators.enumerated() where isRunning("coordinator-\(index + 1)") {
            guard let health = try? await httpRequest(port: ports.http, path: "/health"),
                let object = try? JSONSerialization.jsonObject(with: health.body) as? [String: Any],
                let raft = object["raft"] as? [String: Any], raft["is_leader"] as? Bool == true
            else { continue }
            return "coordinator-\(index + 1)"
        }
        return nil
    }

    /// Polls until a coordinator leads and every running one is ready.
    public func waitForLeader(timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let leader = await leader() { return leader }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// The log a process wrote so far.
    public func log(_ name: String) -> String {
        (try? String(contentsOfFile: "\(root)/\(name).log", encoding: .utf8)) ?? ""
    }

    /// A request to a coordinator's HTTP port, with a 2 s timeout.
    public func httpRequest(
        port: Int, method: String = "GET", path: String, headers: [String: String] = [:], body: Data? = nil
    ) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: 2)
        request.httpMethod = method
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        request.httpBody = body
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }
}
