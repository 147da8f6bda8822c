import GRPCCore
import Logging
import Raft

/// What a Raft server needs to start: who it is, where it and its peers listen, where
/// its state lives, and its timings.
public struct RaftServerConfiguration: Sendable {
    public var id: NodeID
    public var listen: PeerAddress
    /// The other servers (this one may be listed too; it is skipped).
    public var peers: [NodeID: PeerAddress]
    public var dataDirectory: String
    /// Start a new cluster of this server and `peers`. Exactly one server of a new cluster
    /// bootstraps; the others start empty and learn the configuration from its leader.
    public var bootstrap: Bool
    public var heartbeatInterval: Duration
    public var electionTimeout: Duration
    public var tls: RaftTLS?
    public var snapshotEvery: LogIndex
    public var requestTimeout: Duration

    public init(
        id: NodeID, listen: PeerAddress, peers: [NodeID: PeerAddress], dataDirectory: String, bootstrap: Bool,
        heartbeatInterval: Duration = .milliseconds(100), electionTimeout: Duration = .milliseconds(1000),
        tls: RaftTLS? = nil, snapshotEvery: LogIndex = 10_000, requestTimeout: Duration = .seconds(5)
    ) {
        self.id = id
        self.listen = listen
        self.peers = peers
        self.dataDirectory = dataDirectory
        self.bootstrap = bootstrap
        self.heartbeatInterval = heartbeatInterval
        self.electionTimeout = electionTimeout
        self.tls = tls
        self.snapshotEvery = snapshotEvery
        self.requestTimeout = requestTimeout
    }

    /// The tick: at most 10 ms, a tenth of the heartbeat interval and a hundredth of the
    /// election timeout, so that the randomised election timeout (over 30% of it) takes
    /// at least 30 distinct values.
    var tickInterval: Duration { min(.milliseconds(10), heartbeatInterval / 10, electionTimeout / 100) }

    func validate() throws(RaftNodeConfigurationError) {
        guard id != 0 else { throw .invalid("raft.node_id must not be 0") }
        guard heartbeatInterval >= .milliseconds(1) else {
            throw .invalid("raft.heartbeat_timeout must be at least 1 ms")
        }
        guard electionTimeout >= heartbeatInterval * 2 else {
            throw .invalid(
                "raft.election_timeout (\(electionTimeout)) must be at least twice raft.heartbeat_timeout (\(heartbeatInterval))"
            )
        }
        if let clash = peers.first(where: { $0.key != id && $0.value == listen }) {
            throw .invalid("peer \(clash.key) has this server's own address \(listen)")
        }
    }

    var raftConfig: RaftConfig {
        let tick = tickInterval
        return RaftConfig(
            id: id, electionTicks: Int(electionTimeout / tick), heartbeatTicks: max(1, Int(heartbeatInterval / tick)),
            seed: UInt64.random(in: 1...UInt64.max))
    }
}

/// A server's state for status endpoints and metrics.
public struct RaftServerStatus: Sendable, Equatable {
    public var node: RaftStatus
    public var leaderAddress: PeerAddress?
    public var peers: [PeerContact]
}

/// One Raft server: the node, its durable state and its gRPC transport, serving until
/// cancelled. Further gRPC services (the coordinator's, the key-value demo's) can share
/// the Raft port.
public final class RaftServer: Sendable {
    public let configuration: RaftServerConfiguration
    public let node: RaftNode
    public let transport: GRPCRaftTransport
    private let logger: Logger

    public init(
        configuration: RaftServerConfiguration, stateMachine: any ReplicatedStateMachine,
        logger: Logger = Logger(label: "zkp.raft")
    ) throws {
        try configuration.validate()
        self.configuration = configuration
        self.logger = logger
        let transport = try GRPCRaftTransport(
            id: configuration.id, listen: configuration.listen, peers: configuration.peers, tls: configuration.tls,
            logger: logger)
        var bootstrap: Configuration?
        if configuration.bootstrap {
            bootstrap = Configuration(voters: Set(configuration.peers.keys).union([configuration.id]))
        }
        let node = try RaftNode(
            config: configuration.raftConfig, directory: configuration.dataDirectory, stateMachine: stateMachine,
            transport: transport, bootstrap: bootstrap, tickInterval: configuration.tickInterval,
            snapshotEvery: configuration.snapshotEvery, requestTimeout: configuration.requestTimeout, logger: logger)
        if node.startedEmpty && configuration.peers.filter({ $0.key != configuration.id }).isEmpty {
            throw RaftNodeConfigurationError.noKnownPeers
        }
        if node.bootstrapped {
            logger.info(
                "Bootstrapping Raft cluster", metadata: ["voters": "\(bootstrap.map { $0.voters.sorted() } ?? [])"])
        } else if configuration.bootstrap {
            logger.info("Raft state found on disk; the cluster is already bootstrapped")
        }
        transport.attach(node)
        self.node = node
        self.transport = transport
    }

    /// The node's state with what the transport knows: the leader's address and when each
    /// peer was last heard from.
    public func status() async -> RaftServerStatus {
        let node = await self.node.status
        return RaftServerStatus(
            node: node, leaderAddress: node.leader == 0 ? nil : transport.address(of: node.leader),
            peers: transport.peerContacts())
    }

    /// Serves until cancelled; `services` share the Raft port.
    public func run(services: [any RegistrableRPCService] = []) async throws {
        await node.start()
        // A new cluster's first server need not wait out an election timeout.
        if node.bootstrapped { await node.campaign() }
        do {
            try await transport.run(services: services)
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
    }
}
