import Coordinator
import Foundation
import Gateway
import Hummingbird
import Logging
import Prometheus
import Raft
import RaftNode
import Scheduler

/// What `/health` reports, gathered once per request.
struct CoordinatorHealth: Sendable {
    var status: RaftServerStatus
    var counters: SchedulerCounters
    var workers: (total: Int, active: Int, suspect: Int, dead: Int)
    var capacity: (total: Int, used: Int)
    var projection: ProjectionStatus
    var appliedIndex: UInt64
    var liveJobs: [JobStatus: Int]
}

/// The coordinator's HTTP port: `/health` (the original's keys in their order, then
/// what it lacked), `/ready`, Prometheus `/metrics`, `POST /admin/step-down` and member
/// changes under `/admin/members` (token-protected), and `/` (service information).
/// Every other path is 404.
struct CoordinatorHTTP: Sendable {
    let process: CoordinatorProcess
    let metrics = CoordinatorMetrics()

    func run() async throws {
        let router = Router()
        let config = process.config
        router.on("/health", method: .get) { _, _ in try await self.health() }
        router.on("/health", method: .head) { _, _ in try await self.health() }
        router.get("/ready") { _, _ in await self.ready() }
        if config.metrics.enabled {
            router.get(RouterPath(stringLiteral: config.metrics.path)) { _, _ in await self.metricsText() }
        }
        router.post("/admin/step-down") { request, _ in await self.admin(request) { try await self.stepDown() } }
        router.post("/admin/members") { request, _ in
            await self.admin(request) { try await self.addMember(request) }
        }
        router.delete("/admin/members/{id}") { request, context in
            await self.admin(request) { try await self.removeMember(context.parameters.get("id") ?? "") }
        }
        router.get("/") { _, _ in self.serviceInformation() }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.httpPort), serverName: nil),
            logger: process.logger)
        if config.metrics.enabled, let port = config.metrics.port, port != config.httpPort {
            let metricsRouter = Router()
            metricsRouter.get(RouterPath(stringLiteral: config.metrics.path)) { _, _ in await self.metricsText() }
            let metricsApp = Application(
                router: metricsRouter, configuration: .init(address: .hostname(config.host, port: port)),
                logger: process.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.run() }
                group.addTask { try await metricsApp.run() }
                try await group.next()
                group.cancelAll()
            }
        } else {
            try await app.run()
        }
    }

    // MARK: Health

    func gather() async -> CoordinatorHealth {
        let status = await process.raft.status()
        let health = await process.engine.workerHealth()
        let counters = await process.engine.counters
        let machine = process.engine.machine
        let (records, applied, live) = machine.read { state in
            var live: [JobStatus: Int] = [:]
            for job in state.jobs.values { live[job.status, default: 0] += 1 }
            return (Array(state.workers.values), state.appliedIndex, live)
        }
        var workers = (total: records.count, active: 0, suspect: 0, dead: 0)
        var capacity = (total: 0, used: 0)
        for record in records {
            switch health?[record.id]?.health {
            case .active?:
                workers.active += 1
                capacity.total += Int(record.capacity)
                capacity.used += Int(record.activeJobs)
            case .suspect?: workers.suspect += 1
            case .lost?: workers.dead += 1
            case nil: break
            }
        }
        return CoordinatorHealth(
            status: status, counters: counters, workers: workers, capacity: capacity,
            projection: process.projectionWriter.status, appliedIndex: applied, liveJobs: live)
    }

    func health() async throws -> Response {
        let health = await gather()
        let node = health.status.node
        let leaderGRPC = process.engine.settings.grpcAddresses[node.leader] ?? ""
        let state: String =
            switch node.role {
            case .leader: "Leader"
            case .candidate, .preCandidate: "Candidate"
            case .follower: "Follower"
            }
        let lag = health.projection.lag(behind: health.appliedIndex)
        var status = "healthy"
        if node.leader == 0 {
            status = "unhealthy"
        } else if health.projection.database == .down {
            status = "degraded"
        }
        let body = OrderedJSON.object([
            ("status", .string(status)),
            ("coordinator_id", .string(process.config.id)),
            (
                "raft",
                .object([
                    ("state", .string(state)),
                    ("is_leader", .bool(node.role == .leader)),
                    ("leader_address", .string(process.name(of: node.leader))),
                    ("node_id", .string(process.config.nodeName)),
                    ("term", .integer(Int64(node.term))),
                    ("commit_index", .integer(Int64(node.commitIndex))),
                    ("applied_index", .integer(Int64(node.appliedIndex))),
                    ("leader_grpc_address", .string(leaderGRPC)),
                    ("voters", .integer(Int64(node.voters.count))),
                ])
            ),
            (
                "workers",
                .object([
                    ("total", .integer(Int64(health.workers.total))),
                    ("active", .integer(Int64(health.workers.active))),
                    ("suspect", .integer(Int64(health.workers.suspect))),
                    ("dead", .integer(Int64(health.workers.dead))),
                ])
            ),
            (
                "capacity",
                .object([
                    ("total", .integer(Int64(health.capacity.total))),
                    ("used", .integer(Int64(health.capacity.used))),
                    ("available", .integer(Int64(max(0, health.capacity.total - health.capacity.used)))),
                ])
            ),
            (
                "scheduler",
                .object([
                    ("tasks_assigned", .integer(Int64(health.counters.tasksAssigned))),
                    ("assignments_failed", .integer(Int64(health.counters.assignmentsFailed))),
                    ("poll_cycles", .integer(Int64(health.counters.pollCycles))),
                    ("live_jobs", .integer(Int64(health.liveJobs.values.reduce(0, +)))),
                ])
            ),
            (
                "database",
                .object([
                    ("driver", .string(process.config.database.driver)),
                    ("status", .string(health.projection.database.rawValue)),
                    ("projected_index", .integer(Int64(health.projection.projectedIndex))),
                    ("projection_lag", .integer(Int64(lag))),
                    ("last_error", health.projection.lastError.map { .string($0) } ?? .null),
                ])
            ),
        ])
        return Self.json(body.lineText, status: .ok)
    }

    /// Ready when a leader is known and this node has applied what it knows is committed.
    func ready() async -> Response {
        let node = await process.raft.node.status
        if node.leader != 0 && node.appliedIndex >= node.commitIndex {
            return Self.json(#"{"status":"ready"}"#, status: .ok)
        }
        let reason =
            node.leader == 0 ? "no leader elected" : "applying the log (\(node.appliedIndex)/\(node.commitIndex))"
        return Self.json(
            OrderedJSON.object([("status", .string("not_ready")), ("reason", .string(reason))]).text,
            status: .serviceUnavailable)
    }

    func serviceInformation() -> Response {
        Self.json(
            OrderedJSON.object([
                ("service", .string("zkp-coordinator")), ("version", .string(ZKPVersion.current)),
                ("coordinator_id", .string(process.config.id)),
                (
                    "endpoints",
                    .object([
                        ("health", .string("/health")), ("ready", .string("/ready")),
                        ("metrics", .string(process.config.metrics.path)), ("step_down", .string("/admin/step-down")),
                    ])
                ),
            ]).text, status: .ok)
    }

    func metricsText() async -> Response {
        metrics.update(from: await gather())
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }

    // MARK: Admin

    /// Runs an admin action if the request carries the configured token
    /// (`Authorization: Bearer TOKEN`); with no token configured, admin is disabled.
    func admin(_ request: Request, _ action: () async throws -> String) async -> Response {
        let token = process.config.adminToken
        guard !token.isEmpty else {
            return Self.error("admin endpoints are disabled: set coordinator.admin_token", status: .forbidden)
        }
        guard let given = request.headers[.authorization], given == "Bearer \(token)" else {
            return Self.error("missing or wrong admin token (Authorization: Bearer …)", status: .unauthorized)
        }
        do {
            let message = try await action()
            return Self.json(
                OrderedJSON.object([("success", .bool(true)), ("message", .string(message))]).text, status: .ok)
        } catch let error as AdminError {
            return Self.error(error.message, status: error.status)
        } catch {
            return Self.error("\(error)", status: .serviceUnavailable)
        }
    }

    struct AdminError: Error {
        let message: String
        let status: HTTPResponse.Status
    }

    /// Hands leadership to another voter (the most recently heard from).
    func stepDown() async throws -> String {
        let node = await process.raft.node.status
        guard node.role == .leader else {
            let leader = process.name(of: node.leader)
            throw AdminError(
                message: "this coordinator is not the leader\(leader.isEmpty ? "" : "; the leader is \(leader)")",
                status: .conflict)
        }
        let contacts = process.raft.transport.peerContacts()
        let candidates = node.voters.subtracting([node.id]).sorted { a, b in
            let ca = contacts.first { $0.id == a }?.sinceLastContact ?? .seconds(3600)
            let cb = contacts.first { $0.id == b }?.sinceLastContact ?? .seconds(3600)
            return ca < cb
        }
        guard let target = candidates.first else {
            throw AdminError(message: "no other voter to hand leadership to", status: .conflict)
        }
        try await process.raft.node.transferLeadership(to: target)
        return "Leadership transfer to \(process.name(of: target)) started"
    }

    struct MemberRequest: Decodable {
        var nodeID: UInt64
        var address: String

        enum CodingKeys: String, CodingKey {
            case nodeID = "node_id"
            case address
        }
    }

    func addMember(_ request: Request) async throws -> String {
        let body = try await request.body.collect(upTo: 64 << 10)
        let member: MemberRequest
        do {
            member = try JSONDecoder().decode(MemberRequest.self, from: Data(buffer: body))
        } catch {
            throw AdminError(message: "body must be {\"node_id\": N, \"address\": \"host:port\"}", status: .badRequest)
        }
        guard member.nodeID != 0 else { throw AdminError(message: "node_id must be positive", status: .badRequest) }
        let address: PeerAddress
        do {
            address = try PeerAddress(parsing: member.address)
        } catch {
            throw AdminError(message: "address: \(error)", status: .badRequest)
        }
        try process.raft.transport.addPeer(member.nodeID, at: address)
        try await process.raft.node.addVoter(member.nodeID)
        return "Member \(member.nodeID) at \(address) is being added"
    }

    func removeMember(_ text: String) async throws -> String {
        guard let id = UInt64(text), id != 0 else {
            throw AdminError(message: "member id \"\(text.prefix(40))\" is not a positive number", status: .badRequest)
        }
        try await process.raft.node.removeServer(id)
        return "Member \(id) is being removed"
    }

    // MARK: Responses

    static func json(_ text: String, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func error(_ message: String, status: HTTPResponse.Status) -> Response {
        json(OrderedJSON.object([("success", .bool(false)), ("error", .string(message))]).text, status: status)
    }
}

/// The coordinator's Prometheus metrics: the original's six `coordinator_*` gauges, then
/// Raft, scheduler, job and projection figures, refreshed at each scrape.
final class CoordinatorMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()

    func update(from health: CoordinatorHealth) {
        func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
            let gauge =
                labels.isEmpty
                ? registry.makeGauge(name: name, help: help)
                : registry.makeGauge(name: name, labels: labels, help: help)
            gauge.set(value)
        }
        gauge("coordinator_workers_total", "Total number of registered workers", Double(health.workers.total))
        gauge("coordinator_workers_active", "Number of active workers", Double(health.workers.active))
        gauge("coordinator_workers_suspect", "Number of suspect workers", Double(health.workers.suspect))
        gauge("coordinator_workers_dead", "Number of dead workers", Double(health.workers.dead))
        gauge("coordinator_capacity_total", "Total worker capacity", Double(health.capacity.total))
        gauge("coordinator_capacity_used", "Used worker capacity", Double(health.capacity.used))
        let node = health.status.node
        gauge("zkp_raft_term", "Current Raft term", Double(node.term))
        gauge("zkp_raft_is_leader", "1 if this coordinator leads", node.role == .leader ? 1 : 0)
        gauge("zkp_raft_commit_index", "Highest log index known committed", Double(node.commitIndex))
        gauge("zkp_raft_applied_index", "Highest log index applied", Double(node.appliedIndex))
        gauge("zkp_raft_last_index", "Last index in this coordinator's log", Double(node.lastIndex))
        gauge("zkp_raft_voters", "Voting members", Double(node.voters.count))
        gauge(
            "zkp_scheduler_tasks_assigned", "Assignments committed by this coordinator",
            Double(health.counters.tasksAssigned))
        gauge(
            "zkp_scheduler_assignments_failed", "Assignments refused or not committed",
            Double(health.counters.assignmentsFailed))
        gauge("zkp_scheduler_poll_cycles", "Scheduling rounds run while leading", Double(health.counters.pollCycles))
        for status in [JobStatus.pending, .assigned, .inProgress, .completed, .failed, .cancelled] {
            gauge(
                "zkp_jobs_live", "Unarchived jobs in the replicated state, by status",
                Double(health.liveJobs[status] ?? 0), labels: [("status", status.rawValue)])
        }
        gauge(
            "zkp_projection_index", "Log index the SQL projection has reached", Double(health.projection.projectedIndex)
        )
        gauge(
            "zkp_projection_lag", "Log entries applied but not yet projected",
            Double(health.projection.lag(behind: health.appliedIndex)))
        gauge(
            "zkp_projection_database_up", "1 when the SQL store answered the last write",
            health.projection.database == .down ? 0 : 1)
        gauge("zkp_projection_batches", "Projection batches written", Double(health.projection.batchesWritten))
        gauge("zkp_projection_write_failures", "Projection writes that failed", Double(health.projection.writeFailures))
    }
}
