import Foundation
import Gateway
import JobClient
import Logging
import RaftNode
import ServiceConfig

/// `zkp dev`: the whole service in one process for a laptop or a CI job. A coordinator
/// that is the only voter of its Raft cluster (so every job is still in a durable log),
/// one worker using every core, and the gateway, with SQLite and the Raft log under one
/// data directory, all on loopback. Stopping and starting again keeps every job.
public struct DevPorts: Sendable, Equatable {
    public var gateway = 8080
    public var coordinatorGRPC = 9090
    public var coordinatorHTTP = 8090
    public var raft = 7000

    public init(gateway: Int = 8080, coordinatorGRPC: Int = 9090, coordinatorHTTP: Int = 8090, raft: Int = 7000) {
        self.gateway = gateway
        self.coordinatorGRPC = coordinatorGRPC
        self.coordinatorHTTP = coordinatorHTTP
        self.raft = raft
    }
}

public final class DevStack: Sendable {
    public let ports: DevPorts
    public let dataDirectory: String
    let coordinator: CoordinatorProcess
    let worker: WorkerProcess
    public let gateway: Gateway
    let jobs: JobClient
    let logger: Logger

    /// The three configurations, written as the files an operator would write, so that
    /// `zkp dev` runs exactly the code paths of a real deployment.
    static func documents(dataDirectory: String, ports: DevPorts, logFormat: String, logLevel: String)
        -> (coordinator: String, worker: String, gateway: String)
    {
        let logging = """
            logging:
              level: \(logLevel)
              format: \(logFormat)
              output: stderr
            """
        let coordinator = """
            coordinator:
              id: dev
              host: 127.0.0.1
              grpc_port: \(ports.coordinatorGRPC)
              http_port: \(ports.coordinatorHTTP)
              poll_interval: 200ms
              heartbeat_timeout: 15s
              stale_task_timeout: 10m
              raft:
                node_id: "1"
                raft_port: \(ports.raft)
                raft_dir: "\(dataDirectory)/raft"
                bootstrap: true
            database:
              driver: sqlite
              path: "\(dataDirectory)/zkp.sqlite"
            \(logging)
            """
        let worker = """
            worker:
              id: dev-worker
              coordinator_address: 127.0.0.1:\(ports.coordinatorGRPC)
              concurrency: 1
              heartbeat_interval: 2s
              drain_timeout: 60s
              cache_dir: "\(dataDirectory)/keys"
            \(logging)
            """
        let gateway = """
            server:
              host: 127.0.0.1
              port: \(ports.gateway)
            gateway:
              coordinator_addresses: ["127.0.0.1:\(ports.coordinatorGRPC)"]
            rate_limit:
              whitelist: ["127.0.0.1", "::1"]
            cors:
              allowed_origins: ["*"]
            \(logging)
            """
        return (coordinator, worker, gateway)
    }

    public init(dataDirectory: String, ports: DevPorts, logFormat: String = "console", logLevel: String = "info")
        async throws
    {
        let absolute = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        try FileManager.default.createDirectory(atPath: absolute, withIntermediateDirectories: true)
        self.dataDirectory = absolute
        self.ports = ports
        let texts = Self.documents(dataDirectory: absolute, ports: ports, logFormat: logFormat, logLevel: logLevel)
        // Environment overrides apply as they would to the separate processes.
        let environment = ProcessInfo.processInfo.environment
        let coordinatorConfig = try CoordinatorConfig.load(
            ConfigDocument(
                yaml: texts.coordinator, source: "zkp dev (coordinator)", environmentPrefix: "COORDINATOR",
                environment: environment))
        let workerConfig = try WorkerConfig.load(
            ConfigDocument(
                yaml: texts.worker, source: "zkp dev (worker)", environmentPrefix: "WORKER", environment: environment))
        let gatewayConfig = try GatewayConfig.load(
            ConfigDocument(
                yaml: texts.gateway, source: "zkp dev (gateway)", environmentPrefix: "API_GATEWAY",
                environment: environment))
        logger = Logger(label: "zkp.dev")
        coordinator = try await CoordinatorProcess(config: coordinatorConfig, logger: Logger(label: "zkp.coordinator"))
        worker = try WorkerProcess(config: workerConfig, logger: Logger(label: "zkp.worker"))
        jobs = JobClient(
            coordinators: [PeerAddress(host: "127.0.0.1", port: ports.coordinatorGRPC)],
            callTimeout: gatewayConfig.callTimeout)
        gateway = Gateway(config: gatewayConfig, jobs: jobs, logger: Logger(label: "zkp.gateway"))
    }

    /// Serves until cancelled, or until `drain()` has let the worker finish its jobs.
    public func run() async throws {
        logger.info(
            "ZKP Network dev stack",
            metadata: [
                "api": "http://127.0.0.1:\(ports.gateway)", "data": "\(dataDirectory)",
                "coordinator": "http://127.0.0.1:\(ports.coordinatorHTTP)",
            ])
        let coordinator = self.coordinator
        let worker = self.worker
        let gateway = self.gateway
        defer { Task { [jobs] in await jobs.shutdown() } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await coordinator.run() }
            group.addTask { try await gateway.run() }
            // The worker ends only after a drain; then the whole stack stops.
            group.addTask { try await worker.run() }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    /// The first Ctrl-C: the worker finishes and reports the proof in hand, then all stops.
    public func drain() async { await worker.drain() }
}
