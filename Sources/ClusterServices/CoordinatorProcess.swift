import Coordinator
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import Raft
import RaftNode
import Scheduler
import ServiceConfig
import Storage

/// One coordinator process: the Raft server and the scheduling state machine, the
/// leader's engine and projection writer, the worker and job services on the gRPC port,
/// and health, metrics and admin on the HTTP port. Runs until cancelled.
public final class CoordinatorProcess: Sendable {
    public let config: CoordinatorConfig
    public let engine: CoordinatorEngine
    public let raft: RaftServer
    public let projectionWriter: ProjectionWriter
    let database: any SQLDatabase
    let postgres: PostgresDatabase?
    let artifacts: ArtifactStore
    let projection: JobProjection
    let leaders = GRPCClientPool()
    let logger: Logger
    /// The configured names of the members (`coordinator-1`), by Raft node id.
    let memberNames: [NodeID: String]

    public init(config: CoordinatorConfig, logger: Logger) async throws {
        self.config = config
        self.logger = logger
        switch config.database.driver {
        case "sqlite":
            let sqlite = try await SQLiteDatabase.open(path: config.database.path, logger: logger)
            database = sqlite
            postgres = nil
        default:
            let client = PostgresDatabase(
                host: config.database.host, port: config.database.port, database: config.database.name,
                user: config.database.user, password: config.database.password.isEmpty ? nil : config.database.password,
                requireTLS: config.database.sslMode != "disable",
                maximumConnections: config.database.maximumConnections,
                minimumConnections: config.database.minimumConnections, logger: logger)
            database = client
            postgres = client
        }
        artifacts = ArtifactStore(database: database)
        projection = JobProjection(database: database)

        var peers: [NodeID: PeerAddress] = [:]
        var grpcAddresses: [NodeID: String] = [:]
        var names: [NodeID: String] = [config.nodeID: config.nodeName]
        for peer in config.peers {
            peers[peer.nodeID] = try PeerAddress(parsing: peer.address)
            grpcAddresses[peer.nodeID] = peer.grpcAddress
            names[peer.nodeID] = peer.name
        }
        if grpcAddresses[config.nodeID] == nil {
            let host = config.host == "0.0.0.0" ? "127.0.0.1" : config.host
            grpcAddresses[config.nodeID] = "\(host):\(config.grpcPort)"
        }
        memberNames = names
        var tls: RaftTLS?
        if let certificate = config.tlsCertificate, let key = config.tlsKey, let ca = config.tlsCA {
            tls = RaftTLS(certificateFile: certificate, keyFile: key, caFile: ca)
            try tls?.validate()
        }
        let machine = SchedulerStateMachine()
        raft = try RaftServer(
            configuration: RaftServerConfiguration(
                id: config.nodeID, listen: PeerAddress(host: config.host, port: config.raftPort), peers: peers,
                dataDirectory: config.raftDirectory, bootstrap: config.bootstrap,
                heartbeatInterval: config.raftHeartbeat,
                electionTimeout: config.electionTimeout, tls: tls, snapshotEvery: UInt64(config.snapshotThreshold)),
            stateMachine: machine, logger: logger)
        let heartbeatTimeout = Int64(config.heartbeatTimeout / .milliseconds(1))
        let settings = CoordinatorSettings(
            coordinatorID: config.id, grpcAddresses: grpcAddresses, heartbeatTimeoutMilliseconds: heartbeatTimeout,
            heartbeatIntervalMilliseconds: max(100, min(5_000, heartbeatTimeout / 3)),
            policy: SchedulingPolicy(
                startLeaseMilliseconds: Int64(config.startTimeout / .milliseconds(1)),
                runLeaseMilliseconds: Int64(config.staleTaskTimeout / .milliseconds(1))),
            liveJobLimit: UInt32(config.maxLiveJobs),
            idempotencyWindowMilliseconds: Int64(config.idempotencyWindow / .milliseconds(1)),
            dispatchTickMilliseconds: Int64(config.pollInterval / .milliseconds(1)),
            expiryScanIntervalMilliseconds: Int64(config.cleanupInterval / .milliseconds(1)))
        engine = CoordinatorEngine(
            machine: machine, consensus: raft.node, verifier: Groth16ResultVerifier(artifacts: artifacts),
            settings: settings, logger: logger)
        projectionWriter = ProjectionWriter(
            engine: engine, projection: projection, consensus: raft.node, logger: logger)
    }

    /// Serves until cancelled.
    public func run() async throws {
        let node = raft.node
        let writer = projectionWriter
        let jobService = JobService(
            engine: engine, artifacts: artifacts, projection: projection, projectionStatus: { writer.status },
            raftStatus: { await node.status }, catchUp: { try await node.linearizableRead() }, leaders: leaders)
        let workerService = WorkerService(engine: engine, artifacts: artifacts)
        let grpc = GRPCServer(
            transport: GRPCSettings.serverTransport(listeningOn: PeerAddress(host: config.host, port: config.grpcPort)),
            services: [workerService, jobService])
        let http = CoordinatorHTTP(process: self)
        logger.info(
            "Configuration loaded successfully",
            metadata: [
                "coordinator_id": "\(config.id)", "node_id": "\(config.nodeName)", "grpc_port": "\(config.grpcPort)",
                "http_port": "\(config.httpPort)", "database": "\(config.database.driver)",
            ])
        do {
            try await serve(grpc: grpc, http: http, writer: writer)
        } catch {
            await closeDatabase()
            throw error
        }
        await closeDatabase()
    }

    private func serve(
        grpc: GRPCServer<HTTP2ServerTransport.Posix>, http: CoordinatorHTTP, writer: ProjectionWriter
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let postgres { group.addTask { await postgres.run() } }
            group.addTask { try await self.migrate() }
            group.addTask { try await self.raft.run() }
            group.addTask { await self.engine.run() }
            group.addTask { await writer.run() }
            group.addTask { try await Self.serve(grpc) }
            group.addTask { try await http.run() }
            // The first task to end (an error, or cancellation) ends them all.
            do {
                while (try await group.next()) != nil {}
            } catch {
                group.cancelAll()
                grpc.beginGracefulShutdown()
                await leaders.shutdown()
                throw error
            }
        }
    }

    /// An embedded database is closed with the process (PostgreSQL's pool ends with its task).
    private func closeDatabase() async {
        guard let sqlite = database as? SQLiteDatabase else { return }
        do {
            // In a task of its own: the process's task is usually cancelled by now.
            try await Task { try await sqlite.close() }.value
        } catch {
            logger.warning("Closing the SQLite database failed", metadata: ["error": "\(error)"])
        }
    }

    /// Serves gRPC in a task of its own that is never cancelled while it accepts (NIO
    /// traps on a connection accepted but not handed over, swift-nio #2637): on
    /// cancellation the server shuts down gracefully first, and is cancelled only after.
    static func serve(_ server: GRPCServer<HTTP2ServerTransport.Posix>) async throws {
        let serving = Task { try await server.serve() }
        await withTaskCancellationHandler {
            _ = await serving.result
        } onCancel: {
            server.beginGracefulShutdown()
            Task {
                try? await Task.sleep(for: .milliseconds(500))
                serving.cancel()
            }
        }
        try await serving.value
    }

    /// Brings the schema up to date, retrying while the database is unreachable: the
    /// cluster works from the Raft log meanwhile, and the projection waits.
    private func migrate() async throws {
        var backoff = RetryBackoff(initial: .milliseconds(200), maximum: .seconds(5))
        while !Task.isCancelled {
            do {
                let applied = try await Schema.migrate(database)
                logger.info("Database connection established", metadata: ["migrations": "\(applied)"])
                // Keep this task alive so the group only ends on cancellation or failure.
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                return
            } catch is CancellationError {
                return
            } catch {
                // Another coordinator may have applied the same migration at the same moment.
                if (try? await Schema.version(of: database)) == Schema.newestVersion { continue }
                logger.warning("Database not ready; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// The configured name of a member (`coordinator-2`), or its number.
    func name(of node: NodeID) -> String { memberNames[node] ?? (node == 0 ? "" : "\(node)") }
}
