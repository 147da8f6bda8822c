import Foundation
import GRPCCore
import Hummingbird
import JobClient
import Logging
import NIOCore
import ServiceConfig
import Synchronization
import Wire

/// The public REST API: stateless, so any number can run behind a load balancer. Every
/// request becomes calls to `zkp.JobService` on the coordinators (any member answers;
/// writes reach the leader). The original routes keep their fields and status strings;
/// the generic job, circuit and verification routes sit beside them.
public final class Gateway: Sendable {
    public let config: GatewayConfig
    let jobs: JobClient
    let logger: Logger
    let metrics = GatewayMetrics()
    let limiter: RateLimiter
    let dependency: DependencyCheck
    let finishedJobs: FinishedJobCache
    let deadlines = DeadlineWatch()
    /// Submissions from concurrent requests go to the cluster together (`SubmitBatch`).
    let submissions: SubmissionBatcher

    public init(config: GatewayConfig, jobs: JobClient, logger: Logger) {
        self.config = config
        self.jobs = jobs
        self.logger = logger
        limiter = RateLimiter(requestsPerSecond: config.rateLimit.requestsPerSecond, burst: config.rateLimit.burst)
        dependency = DependencyCheck(jobs: jobs, metrics: metrics)
        submissions = SubmissionBatcher(client: jobs)
        finishedJobs = FinishedJobCache(capacity: config.finishedJobCache) {
            OrderedJSON.membersText(Gateway.taskMembers(of: $0))
        }
    }

    /// Every route the gateway serves, in the order `/openapi.json` lists them.
    var routes: [Route] {
        [
            Route(method: .get, path: "/", handler: { _, _ in self.serviceInformation() }),
            Route(method: .get, path: "/health", handler: { _, _ in await self.health() }),
            Route(method: .get, path: "/ready", handler: { _, _ in await self.ready() }),
            Route(method: .get, path: "/openapi.json", handler: { _, _ in self.openAPIDocument() }),
            Route(method: .get, path: config.metrics.path, handler: { _, _ in self.metricsText() }),
            Route(method: .post, path: "/api/v1/tasks/merkle", handler: submitMerkleTask),
            Route(method: .get, path: "/api/v1/tasks/{id}", handler: taskStatus),
            Route(method: .post, path: "/api/v1/jobs", handler: submitJob),
            Route(method: .get, path: "/api/v1/jobs", handler: listJobs),
            Route(method: .get, path: "/api/v1/jobs/{id}", handler: getJob),
            Route(method: .delete, path: "/api/v1/jobs/{id}", handler: cancelJob),
            Route(method: .get, path: "/api/v1/jobs/{id}/wait", handler: waitJob),
            Route(method: .get, path: "/api/v1/jobs/{id}/proof", handler: jobProof),
            Route(method: .get, path: "/api/v1/jobs/{id}/public", handler: jobPublicSignals),
            Route(method: .get, path: "/api/v1/jobs/{id}/calldata", handler: jobCalldata),
            Route(method: .post, path: "/api/v1/circuits", handler: registerCircuit),
            Route(method: .get, path: "/api/v1/circuits", handler: listCircuits),
            Route(method: .get, path: "/api/v1/circuits/{id}", handler: getCircuit),
            Route(method: .get, path: "/api/v1/circuits/{id}/verification_key", handler: verificationKey),
            Route(method: .get, path: "/api/v1/circuits/{id}/verifier.sol", handler: solidityVerifier),
            Route(method: .post, path: "/api/v1/verify", handler: verify),
            Route(method: .get, path: "/api/v1/cluster", handler: clusterStatus),
        ].filter { config.metrics.enabled || $0.path != config.metrics.path }
    }

    /// "METHOD /path" of every route served, as the router has them.
    public var servedRoutes: [String] { routes.map { "\($0.method.rawValue) \($0.path)" } }

    /// The router with every route and the middleware in front of them.
    public func makeRouter() -> Router<GatewayContext> {
        let table = RouteTable(routes)
        let router = Router(context: GatewayContext.self)
        router.add(
            middleware: GatewayMiddleware(
                config: config, routes: table, limiter: limiter, metrics: metrics, logger: logger))
        for route in table.routes {
            router.on(RouteTable.routerPath(route.path), method: route.method) { request, context in
                try await self.withDeadline(context.deadline) { try await route.handler(request, context) }
            }
        }
        return router
    }

    public func makeApplication(port: Int? = nil) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            server: .http1(
                configuration: .init(idleTimeout: .nanoseconds(Int64(config.idleTimeout / .nanoseconds(1))))),
            configuration: .init(address: .hostname(config.host, port: port ?? config.port), serverName: nil),
            logger: logger)
    }

    /// Runs a handler against the request's deadline: past it, the handler's task is
    /// cancelled and awaited, then 504 is answered, so a late handler can never write a
    /// second answer.
    func withDeadline(
        _ deadline: ContinuousClock.Instant, _ handler: @escaping @Sendable () async throws -> Response
    ) async throws -> Response {
        let response: Response
        do {
            response = try await deadlines.run(until: deadline, handler)
        } catch {
            if ContinuousClock.now >= deadline { throw APIError.timeout }
            throw error
        }
        // Past the deadline the client has been promised a 504, whatever came of the work.
        if ContinuousClock.now >= deadline { throw APIError.timeout }
        return response
    }

    /// Serves until cancelled.
    public func run() async throws {
        logger.info(
            "API gateway listening",
            metadata: [
                "address": "\(config.host):\(config.port)",
                "coordinators": "\(config.coordinators.joined(separator: ","))",
            ])
        try await makeApplication().run()
    }

    // MARK: Service routes

    func serviceInformation() -> Response {
        json(.object([("service", .string("zkp-network")), ("version", .string(ZKPVersion.current))]))
    }

    /// The original's keys first, then what the gateway checked: whether a coordinator
    /// answered with a leader, and how long that took.
    func health() async -> Response {
        let check = await dependency.current()
        var members: [(String, OrderedJSON)] = [
            ("status", .string(check.healthy ? "healthy" : "unhealthy")), ("service", .string("api-gateway")),
        ]
        var cluster: [(String, OrderedJSON)] = [("reachable", .bool(check.healthy))]
        if let status = check.status {
            cluster.append(("leader", .string(status.leaderGrpcAddress)))
            cluster.append(("term", .integer(Int64(status.term))))
            cluster.append(("members", .integer(Int64(status.members.count))))
            cluster.append(("workers", .integer(Int64(status.workers.count))))
            cluster.append(("database", .string(status.database)))
        }
        if let error = check.error { cluster.append(("error", .string(error))) }
        cluster.append(("checked_ms_ago", .integer(Int64(check.age / .milliseconds(1)))))
        members.append(("cluster", .object(cluster)))
        return json(.object(members), status: check.healthy ? .ok : .serviceUnavailable)
    }

    func ready() async -> Response {
        let check = await dependency.current()
        if check.healthy { return json(.object([("status", .string("ready"))])) }
        return json(
            .object([("status", .string("not_ready")), ("reason", .string(check.error ?? "no leader"))]),
            status: .serviceUnavailable)
    }

    func metricsText() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.text)))
    }

    func openAPIDocument() -> Response {
        json(OpenAPIDocument.build(routes: routes, metricsPath: config.metrics.enabled ? config.metrics.path : nil))
    }

    // MARK: Helpers for handlers

    func json(_ value: OrderedJSON, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(
            status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: value.text + "\n")))
    }

    func text(_ body: String, contentType: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// A call to the cluster, with its refusals turned into API errors.
    func cluster<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            throw APIError(error)
        } catch is CancellationError {
            throw APIError.timeout
        } catch {
            var refusal = APIError(.serviceUnavailable, code: "unavailable", "no coordinator answered: \(error)")
            refusal.headers[.retryAfter] = "1"
            throw refusal
        }
    }
}

/// What `/health` and `/ready` report about the cluster: one `ClusterStatus` call at most
/// once a second, shared by all requests, so health checks cannot load the coordinators.
actor DependencyCheck {
    struct Result: Sendable {
        var healthy: Bool
        var status: Zkp_ClusterStatusResponse?
        var error: String?
        var age: Duration
    }

    let jobs: JobClient
    let metrics: GatewayMetrics
    private var last: (result: Result, at: ContinuousClock.Instant)?
    private var inFlight: Task<Result, Never>?

    init(jobs: JobClient, metrics: GatewayMetrics) {
        self.jobs = jobs
        self.metrics = metrics
    }

    func current() async -> Result {
        let now = ContinuousClock.now
        if let last, now - last.at < .seconds(1) {
            var result = last.result
            result.age = now - last.at
            return result
        }
        if let inFlight { return await inFlight.value }
        let jobs = self.jobs
        let task = Task {
            do {
                let status = try await jobs.clusterStatus(timeout: .seconds(2))
                let leader = status.leaderID != 0
                return Result(
                    healthy: leader, status: status, error: leader ? nil : "the cluster has no leader", age: .zero)
            } catch {
                return Result(healthy: false, status: nil, error: "no coordinator answered: \(error)", age: .zero)
            }
        }
        inFlight = task
        let result = await task.value
        inFlight = nil
        last = (result, ContinuousClock.now)
        metrics.coordinatorReachable(result.healthy)
        return result
    }
}
