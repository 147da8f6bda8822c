import ArgumentParser
import ClusterServices
import Dispatch
import Foundation
import Logging
import ServiceConfig
import Synchronization

/// Sets up logging as a configuration's `logging.*` asks.
func bootstrapLogging(_ config: LoggingConfig) {
    let level = Logger.Level(rawValue: config.level) ?? .info
    let json = config.format == "json"
    let toStandardOutput = config.output == "stdout"
    LoggingSystem.bootstrap { label in
        var handler = LineLogHandler(label: label, json: json, toStandardOutput: toStandardOutput)
        handler.logLevel = level
        return handler
    }
}

/// Reads a configuration file with the environment's overrides and `${VAR}` values.
func loadDocument(_ path: String, prefix: String) throws -> ConfigDocument {
    try ConfigDocument(
        contentsOf: path, environmentPrefix: prefix, environment: ProcessInfo.processInfo.environment)
}

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run a coordinator: a Raft member that schedules proof jobs while it leads.",
        discussion: """
            Serves workers and gateways on coordinator.grpc_port (9090), health, metrics and \
            admin on coordinator.http_port (8090), and Raft on coordinator.raft.raft_port (7000). \
            Every key may be overridden by COORDINATOR_<KEY> (dots as underscores), and values \
            may use ${VAR}. Stops on SIGINT or SIGTERM.
            """)

    @Option(help: "The YAML configuration file.") var config: String

    func run() async throws {
        try await exitingTwoOnError {
            let settings = try CoordinatorConfig.load(try loadDocument(config, prefix: "COORDINATOR"))
            bootstrapLogging(settings.logging)
            var logger = Logger(label: "zkp.coordinator")
            logger[metadataKey: "coordinator_id"] = "\(settings.id)"
            let process = try await CoordinatorProcess(config: settings, logger: logger)
            try await runUntilSignalled { try await process.run() }
        }
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run a worker: it follows the coordinators' leader and proves the jobs it is given.",
        discussion: """
            The first SIGINT or SIGTERM drains the worker: it takes no new tasks, finishes and \
            reports the ones in flight (up to worker.drain_timeout), leaves the cluster and \
            exits. A second signal stops it at once. Keys may be overridden by WORKER_<KEY>.
            """)

    @Option(help: "The YAML configuration file.") var config: String

    func run() async throws {
        try await exitingTwoOnError {
            let settings = try WorkerConfig.load(try loadDocument(config, prefix: "WORKER"))
            bootstrapLogging(settings.logging)
            var logger = Logger(label: "zkp.worker")
            logger[metadataKey: "worker_id"] = "\(settings.id)"
            let process = try WorkerProcess(config: settings, logger: logger)
            try await runUntilSignalled(drain: { await process.drain() }) { try await process.run() }
        }
    }
}

/// Runs `body` until it ends or a SIGINT or SIGTERM stops it. With `drain`, the first
/// signal calls it (it lets `body` finish its work and return) and a second cancels `body`
/// at once; without, the first signal cancels.
func runUntilSignalled(
    drain: (@Sendable () async -> Void)? = nil, _ body: @escaping @Sendable () async throws -> Void
) async throws {
    let task = Task { try await body() }
    let signals = SignalCount()
    var sources: [any DispatchSourceSignal] = []
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler {
            if let drain, signals.next() == 1 {
                Task { await drain() }
            } else {
                task.cancel()
            }
        }
        source.resume()
        sources.append(source)
    }
    defer { for source in sources { source.cancel() } }
    do {
        try await task.value
    } catch is CancellationError {
    }
}

/// Counts signals: the first drains, the second stops.
final class SignalCount: Sendable {
    private let count = Atomic(0)

    func next() -> Int { count.add(1, ordering: .relaxed).newValue }
}
