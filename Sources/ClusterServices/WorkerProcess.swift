import Foundation
import Hummingbird
import Logging
import Prometheus
import RaftNode
import ServiceConfig
import Worker

/// One worker process: the proving worker and, when `metrics.enabled`, its Prometheus
/// metrics on `metrics.port` (9092 by default).
public final class WorkerProcess: Sendable {
    public let worker: ProvingWorker
    let config: WorkerConfig
    let logger: Logger

    public init(config: WorkerConfig, logger: Logger) throws {
        var coordinators: [PeerAddress] = []
        for text in config.coordinators {
            do {
                coordinators.append(try PeerAddress(parsing: text))
            } catch {
                throw ConfigError("worker.coordinator_address: \(error)")
            }
        }
        self.config = config
        self.logger = logger
        worker = try ProvingWorker(
            configuration: WorkerConfiguration(
                id: config.id, coordinators: coordinators, concurrency: config.concurrency,
                heartbeatInterval: config.heartbeatInterval, threadsPerProof: config.threadsPerProof,
                cacheDirectory: (config.cacheDirectory as NSString).appendingPathComponent(config.id),
                advertisedAddress: config.advertiseAddress, drainTimeout: config.drainTimeout,
                registerAttempts: config.registerRetries, taskTimeout: config.taskTimeout,
                keysInMemory: config.keysInMemory),
            logger: logger)
    }

    /// Runs until the worker has drained (after `drain()`), or until cancelled.
    public func run() async throws {
        let worker = self.worker
        logger.info(
            "Worker starting",
            metadata: [
                "worker_id": "\(config.id)", "pool_concurrency": "\(config.concurrency)",
                "coordinators": "\(config.coordinators.joined(separator: ","))",
            ])
        guard config.metrics.enabled, let port = config.metrics.port else {
            await worker.run()
            return
        }
        let registry = PrometheusCollectorRegistry()
        let router = Router()
        router.get(RouterPath(stringLiteral: config.metrics.path)) { _, _ -> Response in
            let statistics = await worker.statistics
            registry.makeGauge(name: "zkp_worker_tasks_completed", help: "Tasks completed and accepted")
                .set(Double(statistics.completed))
            registry.makeGauge(name: "zkp_worker_tasks_failed", help: "Tasks that failed here")
                .set(Double(statistics.failed))
            registry.makeGauge(name: "zkp_worker_reports_lost", help: "Results no coordinator accepted")
                .set(Double(statistics.reportsLost))
            registry.makeGauge(name: "zkp_worker_tasks_in_flight", help: "Tasks running now")
                .set(Double(await worker.inFlightCount))
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        let app = Application(
            router: router, configuration: .init(address: .hostname("0.0.0.0", port: port)), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            await worker.run()
            group.cancelAll()
        }
    }

    /// Stops taking tasks; `run()` returns once in-flight tasks are reported.
    public func drain() async { await worker.drain() }
}
