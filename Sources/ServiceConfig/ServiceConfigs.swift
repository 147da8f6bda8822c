import Foundation

/// `logging.*`, honoured by every process.
public struct LoggingConfig: Sendable, Equatable {
    /// trace, debug, info, notice, warning (or warn), error, critical.
    public var level: String
    /// json or console.
    public var format: String
    /// stdout or stderr.
    public var output: String

    public init(level: String, format: String, output: String) {
        self.level = level
        self.format = format
        self.output = output
    }

    static func read(_ document: ConfigDocument) throws(ConfigError) -> LoggingConfig {
        var level = document.string("logging.level", default: "info").lowercased()
        if level == "warn" { level = "warning" }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(level) else {
            throw ConfigError("logging.level: \"\(level)\" is not one of trace, debug, info, warn, error, critical")
        }
        let format = document.string("logging.format", default: "json").lowercased()
        guard ["json", "console"].contains(format) else {
            throw ConfigError("logging.format: \"\(format)\" is not json or console")
        }
        let output = document.string("logging.output", default: "stdout").lowercased()
        guard ["stdout", "stderr"].contains(output) else {
            throw ConfigError("logging.output: \"\(output)\" is not stdout or stderr")
        }
        return LoggingConfig(level: level, format: format, output: output)
    }
}

/// `metrics.*`: Prometheus text at `path`, on the HTTP port or on a port of its own.
public struct MetricsConfig: Sendable, Equatable {
    public var enabled: Bool
    /// nil: served on the process's own HTTP port.
    public var port: Int?
    public var path: String

    static func read(_ document: ConfigDocument, defaultPort: Int?, enabledByDefault: Bool) throws(ConfigError)
        -> MetricsConfig
    {
        let enabled = try document.bool("metrics.enabled", default: enabledByDefault)
        let port: Int? =
            document.optionalString("metrics.port") == nil
            ? defaultPort : try document.integer("metrics.port", default: 0, range: 1...65_535)
        let path = document.string("metrics.path", default: "/metrics")
        guard path.hasPrefix("/") else { throw ConfigError("metrics.path: \"\(path)\" must start with /") }
        return MetricsConfig(enabled: enabled, port: port, path: path)
    }
}

/// The original's sections that this system has no use for, refused with the reason.
func refuseRetiredSections(_ document: ConfigDocument) throws(ConfigError) {
    try document.refuse(
        "redis",
        because:
            "there is no Redis: the Raft log carries events and idempotency, and results come from the cluster; remove the section"
    )
    let curve = document.string("zkp.curve", default: "bn254").lowercased()
    guard curve == "bn254" else { throw ConfigError("zkp.curve: \"\(curve)\" is not supported; only bn254") }
    let backend = document.string("zkp.backend", default: "groth16").lowercased()
    guard backend == "groth16" else { throw ConfigError("zkp.backend: \"\(backend)\" is not supported; only groth16") }
    try document.refuse(
        "zkp.merkle_tree_depth", because: "each Merkle circuit is registered with its depth; remove the key")
    try document.refuse("zkp.max_proof_size_mb", because: "proofs are 256 bytes; remove the key")
}

/// `coordinator.*`, `coordinator.raft.*`, `database.*`, `logging.*`, `metrics.*` and `zkp.*`
/// for `zkp coordinator`.
public struct CoordinatorConfig: Sendable, Equatable {
    public struct Peer: Sendable, Equatable {
        /// The configured id (`coordinator-1`) and the Raft node id derived from it (1).
        public var name: String
        public var nodeID: UInt64
        /// Raft address, host:port.
        public var address: String
        /// The worker- and gateway-facing gRPC address, host:port.
        public var grpcAddress: String
    }

    public struct Database: Sendable, Equatable {
        /// postgres or sqlite.
        public var driver: String
        public var path: String
        public var host: String
        public var port: Int
        public var name: String
        public var user: String
        public var password: String
        /// disable, require, verify-ca or verify-full.
        public var sslMode: String
        public var maximumConnections: Int
        public var minimumConnections: Int
    }

    public var id: String
    public var host: String
    public var grpcPort: Int
    public var httpPort: Int
    public var pollInterval: Duration
    public var heartbeatTimeout: Duration
    public var staleTaskTimeout: Duration
    public var cleanupInterval: Duration
    public var startTimeout: Duration
    public var maxLiveJobs: Int
    public var idempotencyWindow: Duration
    /// Empty: the admin endpoints answer 403.
    public var adminToken: String

    public var nodeName: String
    public var nodeID: UInt64
    public var raftPort: Int
    public var raftDirectory: String
    public var bootstrap: Bool
    public var peers: [Peer]
    public var raftHeartbeat: Duration
    public var electionTimeout: Duration
    public var snapshotThreshold: Int
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var tlsCA: String?

    public var database: Database
    public var logging: LoggingConfig
    public var metrics: MetricsConfig

    /// Reads and checks a coordinator's configuration; environment overrides use the
    /// `COORDINATOR_` prefix.
    public static func load(_ document: ConfigDocument) throws(ConfigError) -> CoordinatorConfig {
        try refuseRetiredSections(document)
        for key in ["commit_timeout", "max_append_entries", "snapshot_interval"] {
            try document.refuse(
                "coordinator.raft.\(key)",
                because: "not used: replication batches by size and snapshots follow snapshot_threshold; remove the key"
            )
        }
        try document.refuse(
            "database.conn_max_lifetime", because: "not used: idle connections are closed by the pool; remove the key")

        let id = document.string("coordinator.id", default: "coordinator-1")
        guard !id.isEmpty else { throw ConfigError("coordinator.id is empty") }
        let host = document.string("coordinator.host", default: "0.0.0.0")
        let grpcPort = try document.integer("coordinator.grpc_port", default: 9090, range: 1...65_535)
        let httpPort = try document.integer("coordinator.http_port", default: 8090, range: 1...65_535)
        let poll = try document.duration(
            "coordinator.poll_interval", default: .milliseconds(250), minimum: .milliseconds(10))
        let heartbeat = try document.duration(
            "coordinator.heartbeat_timeout", default: .seconds(30), minimum: .milliseconds(500))
        let stale = try document.duration(
            "coordinator.stale_task_timeout", default: .seconds(300), minimum: .seconds(1))
        let cleanup = try document.duration(
            "coordinator.cleanup_interval", default: .seconds(1), minimum: .milliseconds(10))
        let start = try document.duration(
            "coordinator.start_timeout", default: .seconds(30), minimum: .milliseconds(100))
        let maxLive = try document.integer("coordinator.max_live_jobs", default: 100_000, range: 1...10_000_000)
        let window = try document.duration("coordinator.idempotency_window", default: .seconds(300))
        let token = document.string("coordinator.admin_token", default: "")

        let nodeName = document.string("coordinator.raft.node_id", default: "")
        guard !nodeName.isEmpty else { throw ConfigError("coordinator.raft.node_id is required (e.g. coordinator-1)") }
        let nodeID = try numericID(nodeName, key: "coordinator.raft.node_id")
        let raftPort = try document.integer("coordinator.raft.raft_port", default: 7000, range: 1...65_535)
        let directory = document.string("coordinator.raft.raft_dir", default: "")
        guard !directory.isEmpty else { throw ConfigError("coordinator.raft.raft_dir is required") }
        let bootstrap = try document.bool("coordinator.raft.bootstrap", default: false)
        var peers: [Peer] = []
        for (index, entry) in document.list("coordinator.raft.peers").enumerated() {
            let key = "coordinator.raft.peers[\(index)]"
            guard let name = entry["id"], !name.isEmpty else { throw ConfigError("\(key).id is required") }
            guard let address = entry["address"], !address.isEmpty else {
                throw ConfigError("\(key).address is required")
            }
            let unknown = Set(entry.keys).subtracting(["id", "address", "grpc_address"])
            guard unknown.isEmpty else {
                throw ConfigError("\(key): unknown field \(unknown.sorted().joined(separator: ", "))")
            }
            let peerID = try numericID(name, key: "\(key).id")
            guard !peers.contains(where: { $0.nodeID == peerID }) else {
                throw ConfigError("\(key): node id \(peerID) (from \"\(name)\") is listed twice")
            }
            let grpc: String
            if let given = entry["grpc_address"], !given.isEmpty {
                grpc = given
            } else {
                guard let colon = address.lastIndex(of: ":") else {
                    throw ConfigError("\(key).address \"\(address)\" has no port")
                }
                grpc = "\(address[..<colon]):\(grpcPort)"
            }
            peers.append(Peer(name: name, nodeID: peerID, address: address, grpcAddress: grpc))
        }
        let raftHeartbeat = try document.duration(
            "coordinator.raft.heartbeat_timeout", default: .milliseconds(100), minimum: .milliseconds(1))
        let election = try document.duration(
            "coordinator.raft.election_timeout", default: .seconds(1), minimum: .milliseconds(2))
        let threshold = try document.integer(
            "coordinator.raft.snapshot_threshold", default: 10_000, range: 16...100_000_000)
        let certificate = document.optionalString("coordinator.raft.tls.cert_file")
        let keyFile = document.optionalString("coordinator.raft.tls.key_file")
        let ca = document.optionalString("coordinator.raft.tls.ca_file")
        let tlsGiven = [certificate, keyFile, ca].compactMap { $0 }.count
        guard tlsGiven == 0 || tlsGiven == 3 else {
            throw ConfigError("coordinator.raft.tls needs all of cert_file, key_file and ca_file, or none")
        }

        let driver = document.string("database.driver", default: "postgres").lowercased()
        guard ["postgres", "sqlite"].contains(driver) else {
            throw ConfigError("database.driver: \"\(driver)\" is not postgres or sqlite")
        }
        let sslMode = document.string("database.ssl_mode", default: "disable").lowercased()
        guard ["disable", "require", "verify-ca", "verify-full"].contains(sslMode) else {
            throw ConfigError("database.ssl_mode: \"\(sslMode)\" is not disable, require, verify-ca or verify-full")
        }
        let database = Database(
            driver: driver, path: document.string("database.path", default: "zkp.sqlite"),
            host: document.string("database.host", default: "localhost"),
            port: try document.integer("database.port", default: 5432, range: 1...65_535),
            name: document.string("database.database", default: "zkp_network"),
            user: document.string("database.user", default: "postgres"),
            password: document.string("database.password", default: ""), sslMode: sslMode,
            maximumConnections: try document.integer("database.max_open_conns", default: 25, range: 1...1000),
            minimumConnections: try document.integer("database.max_idle_conns", default: 0, range: 0...1000))
        guard database.minimumConnections <= database.maximumConnections else {
            throw ConfigError("database.max_idle_conns exceeds database.max_open_conns")
        }
        if driver == "postgres" && database.user.isEmpty { throw ConfigError("database.user is empty") }

        let config = CoordinatorConfig(
            id: id, host: host, grpcPort: grpcPort, httpPort: httpPort, pollInterval: poll, heartbeatTimeout: heartbeat,
            staleTaskTimeout: stale, cleanupInterval: cleanup, startTimeout: start, maxLiveJobs: maxLive,
            idempotencyWindow: window, adminToken: token, nodeName: nodeName, nodeID: nodeID, raftPort: raftPort,
            raftDirectory: directory, bootstrap: bootstrap, peers: peers, raftHeartbeat: raftHeartbeat,
            electionTimeout: election, snapshotThreshold: threshold, tlsCertificate: certificate, tlsKey: keyFile,
            tlsCA: ca, database: database, logging: try LoggingConfig.read(document),
            metrics: try MetricsConfig.read(document, defaultPort: nil, enabledByDefault: true))
        try document.checkEveryKeyRead()
        return config
    }

    /// Raft ids are numbers; a configured name such as `coordinator-2` stands for 2.
    static func numericID(_ name: String, key: String) throws(ConfigError) -> UInt64 {
        let digits = name.reversed().prefix { $0.isNumber }
        guard !digits.isEmpty, let id = UInt64(String(digits.reversed())), id > 0 else {
            throw ConfigError("\(key): \"\(name)\" must be a positive number or end in one (coordinator-1)")
        }
        return id
    }
}

/// `worker.*`, `logging.*`, `metrics.*` and `zkp.*` for `zkp worker`.
public struct WorkerConfig: Sendable, Equatable {
    public var id: String
    public var coordinators: [String]
    public var concurrency: Int
    public var heartbeatInterval: Duration
    public var registerRetries: Int
    public var taskTimeout: Duration
    public var threadsPerProof: Int?
    public var cacheDirectory: String
    public var advertiseAddress: String
    public var drainTimeout: Duration
    public var keysInMemory: Int
    public var logging: LoggingConfig
    public var metrics: MetricsConfig

    /// Reads and checks a worker's configuration; environment overrides use `WORKER_`.
    public static func load(_ document: ConfigDocument) throws(ConfigError) -> WorkerConfig {
        try refuseRetiredSections(document)
        let id = document.string("worker.id", default: "worker-1")
        guard !id.isEmpty else { throw ConfigError("worker.id is empty") }
        var coordinators = document.list("worker.coordinator_addresses").compactMap { $0[""] }
        if let single = document.optionalString("worker.coordinator_address") {
            coordinators =
                single.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                + coordinators
        }
        if coordinators.isEmpty { coordinators = ["localhost:9090"] }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let config = WorkerConfig(
            id: id, coordinators: coordinators,
            concurrency: try document.integer("worker.concurrency", default: 1, range: 1...max(32, 2 * cores)),
            heartbeatInterval: try document.duration(
                "worker.heartbeat_interval", default: .seconds(5), minimum: .milliseconds(100)),
            registerRetries: try document.integer("worker.register_retries", default: 3, range: 1...100),
            taskTimeout: try document.duration("worker.task_timeout", default: .seconds(300), minimum: .seconds(1)),
            threadsPerProof: document.optionalString("worker.threads_per_proof") == nil
                ? nil : try document.integer("worker.threads_per_proof", default: 1, range: 1...1024),
            cacheDirectory: document.string("worker.cache_dir", default: ".zkp-worker-cache"),
            advertiseAddress: document.string("worker.advertise_address", default: ""),
            drainTimeout: try document.duration("worker.drain_timeout", default: .seconds(300), minimum: .zero),
            keysInMemory: try document.integer("zkp.compile_cache_size", default: 4, range: 1...1000),
            logging: try LoggingConfig.read(document),
            metrics: try MetricsConfig.read(document, defaultPort: 9092, enabledByDefault: false))
        try document.checkEveryKeyRead()
        return config
    }
}
