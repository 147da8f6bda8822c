import ArgumentParser
import ClusterServices
import Dispatch
import Foundation
import Gateway
import JobClient
import Logging
import RaftNode
import ServiceConfig

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the REST API gateway in front of the coordinators.",
        discussion: """
            Stateless: run as many as you like behind a load balancer. Listens on server.port \
            (8080) and reaches the coordinators in gateway.coordinator_addresses. Every key may be \
            overridden by API_GATEWAY_<KEY> (dots as underscores), and values may use ${VAR}. \
            Stops on SIGINT or SIGTERM.
            """)

    @Option(help: "The YAML configuration file.") var config: String

    func run() async throws {
        try await exitingTwoOnError {
            let settings = try GatewayConfig.load(try loadDocument(config, prefix: "API_GATEWAY"))
            bootstrapLogging(settings.logging)
            let logger = Logger(label: "zkp.gateway")
            var coordinators: [PeerAddress] = []
            for text in settings.coordinators {
                do {
                    coordinators.append(try PeerAddress(parsing: text))
                } catch {
                    throw ConfigError("gateway.coordinator_addresses: \(error)")
                }
            }
            let jobs = JobClient(coordinators: coordinators, callTimeout: settings.callTimeout)
            let gateway = Gateway(config: settings, jobs: jobs, logger: logger)
            try await runUntilSignalled { try await gateway.run() }
            await jobs.shutdown()
        }
    }
}

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev",
        abstract: "Run everything in one process: a coordinator, a worker and the API on 127.0.0.1:8080.",
        discussion: """
            The coordinator is the single voter of its own Raft cluster and keeps its log and \
            SQLite database in --data (./.zkp-data), so jobs survive a restart. The first Ctrl-C \
            lets the worker finish and report the proof it is working on, then stops; a second \
            stops at once.
            """)

    @Option(help: "Where the Raft log, the database and the keys are kept.") var data = ".zkp-data"
    @Option(help: "The API's port.") var port = 8080
    @Option(help: "The coordinator's gRPC port.") var grpcPort = 9090
    @Option(help: "The coordinator's HTTP port (health, metrics).") var httpPort = 8090
    @Option(help: "The Raft port.") var raftPort = 7000
    @Option(help: "Log format: console or json.") var logFormat = "console"
    @Option(help: "Log level: trace, debug, info, warning, error.") var logLevel = "info"

    func run() async throws {
        try await exitingTwoOnError {
            bootstrapLogging(LoggingConfig(level: logLevel, format: logFormat, output: "stderr"))
            let stack = try await DevStack(
                dataDirectory: data,
                ports: DevPorts(gateway: port, coordinatorGRPC: grpcPort, coordinatorHTTP: httpPort, raft: raftPort),
                logFormat: logFormat, logLevel: logLevel)
            let banner = """
                ZKP Network is running
                  API          http://127.0.0.1:\(port)   (try: curl http://127.0.0.1:\(port)/health)
                  API document http://127.0.0.1:\(port)/openapi.json
                  Coordinator  http://127.0.0.1:\(httpPort)/health   metrics: http://127.0.0.1:\(httpPort)/metrics
                  Data         \(stack.dataDirectory)
                Ctrl-C stops it; the jobs stay in \(data).

                """
            FileHandle.standardOutput.write(Data(banner.utf8))
            try await runUntilSignalled(drain: { await stack.drain() }) { try await stack.run() }
        }
    }
}
