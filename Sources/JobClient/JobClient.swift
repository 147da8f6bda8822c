import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import RaftNode
import Synchronization
import Wire

/// A client of `zkp.JobService` on a set of coordinators, for gateways, tools and tests.
/// Any coordinator answers (writes are forwarded to the leader), so a call goes to the
/// coordinator that answered last and moves to the next when that one is unreachable or
/// has no leader, with a bounded number of attempts and backoff between rounds.
public final class JobClient: Sendable {
    public let coordinators: [PeerAddress]
    public let callTimeout: Duration
    public let attempts: Int
    private let clients = GRPCClientPool()
    private let preferred = Atomic(0)

    public init(coordinators: [PeerAddress], callTimeout: Duration = .seconds(10), attempts: Int = 20) {
        precondition(!coordinators.isEmpty, "a job client needs at least one coordinator")
        self.coordinators = coordinators
        self.callTimeout = callTimeout
        self.attempts = attempts
    }

    /// Closes the connections.
    public func shutdown() async { await clients.shutdown() }

    /// Submits a job. A request without an idempotency key is given a random one, so a
    /// retry after a lost answer finds the first job instead of making a second.
    public func submit(_ request: Zkp_SubmitJobRequest) async throws -> Zkp_SubmitJobResponse {
        let request = Self.keyed(request)
        return try await call { [request] in try await $0.submit(request, options: $1) }
    }

    /// The request with a random idempotency key if it has none, so that a retry after a
    /// lost answer finds the job the first try made.
    static func keyed(_ request: Zkp_SubmitJobRequest) -> Zkp_SubmitJobRequest {
        guard request.idempotencyKey.isEmpty else { return request }
        var keyed = request
        keyed.idempotencyKey = "client-" + UUID().uuidString.lowercased()
        return keyed
    }

    /// Submits many jobs in one call, which the leader commits as one log entry; one result
    /// per request, in order. Requests without an idempotency key are given random ones, so
    /// a retried batch finds the jobs the first try made.
    public func submit(batch requests: [Zkp_SubmitJobRequest]) async throws -> [Zkp_SubmitResult] {
        var batch = Zkp_SubmitBatchRequest()
        batch.jobs = requests.map(Self.keyed)
        let response = try await call { [batch] in try await $0.submitBatch(batch, options: $1) }
        guard response.results.count == requests.count else {
            throw RPCError(
                code: .internalError,
                message: "a batch of \(requests.count) submissions got \(response.results.count) results")
        }
        return response.results
    }

    public func get(_ id: String) async throws -> Zkp_Job {
        var request = Zkp_GetJobRequest()
        request.id = id
        return try await call { [request] in try await $0.get(request, options: $1) }
    }

    /// Waits up to `timeout` for the job to end; answers with the job as it stands then.
    public func wait(_ id: String, timeout: Duration) async throws -> Zkp_Job {
        var request = Zkp_WaitJobRequest()
        request.id = id
        request.timeoutMs = Int64(timeout / .milliseconds(1))
        let callTimeout = timeout + self.callTimeout
        return try await call(timeout: callTimeout) { [request] in try await $0.wait(request, options: $1) }
    }

    public func cancel(_ id: String, reason: String) async throws -> Zkp_Job {
        var request = Zkp_CancelJobRequest()
        request.id = id
        request.reason = reason
        return try await call { [request] in try await $0.cancel(request, options: $1) }
    }

    public func list(_ request: Zkp_ListJobsRequest) async throws -> Zkp_ListJobsResponse {
        try await call { [request] in try await $0.list(request, options: $1) }
    }

    public func registerCircuit(_ request: Zkp_RegisterCircuitRequest) async throws -> Zkp_Circuit {
        try await call { [request] in try await $0.registerCircuit(request, options: $1) }
    }

    public func circuit(_ id: String) async throws -> Zkp_Circuit {
        var request = Zkp_GetCircuitRequest()
        request.id = id
        return try await call { [request] in try await $0.getCircuit(request, options: $1) }
    }

    public func circuits() async throws -> [Zkp_Circuit] {
        try await call { try await $0.listCircuits(Zkp_ListCircuitsRequest(), options: $1) }.circuits
    }

    public func verificationKey(_ circuit: String) async throws -> Zkp_VerificationKey {
        var request = Zkp_GetCircuitRequest()
        request.id = circuit
        return try await call { [request] in try await $0.getVerificationKey(request, options: $1) }
    }

    /// The cluster's members and workers. A health check passes a short `timeout`: then
    /// each coordinator is asked once, with no waiting between them.
    public func clusterStatus(timeout: Duration? = nil) async throws -> Zkp_ClusterStatusResponse {
        try await call(timeout: timeout, attempts: timeout == nil ? attempts : coordinators.count) {
            try await $0.clusterStatus(Zkp_ClusterStatusRequest(), options: $1)
        }
    }

    /// Codes after which another coordinator (or a later try) may succeed.
    static let retryable: Set<RPCError.Code> = [.unavailable, .deadlineExceeded, .unknown]

    /// Calls the preferred coordinator, moving on when it cannot answer; an application
    /// error (not found, invalid argument, ...) is thrown at once.
    private func call<Response: Sendable>(
        timeout: Duration? = nil, attempts: Int? = nil,
        _ body: @Sendable (Zkp_JobService.Client<HTTP2ClientTransport.Posix>, CallOptions) async throws -> Response
    ) async throws -> Response {
        var backoff = RetryBackoff(initial: .milliseconds(20), maximum: .milliseconds(500))
        var lastError: (any Error)?
        let attempts = attempts ?? self.attempts
        for attempt in 0..<attempts {
            let index = preferred.load(ordering: .relaxed) % coordinators.count
            do {
                let client = Zkp_JobService.Client(wrapping: try clients.client(for: coordinators[index]))
                return try await body(client, GRPCSettings.callOptions(timeout: timeout ?? callTimeout))
            } catch let error as RPCError where !Self.retryable.contains(error.code) {
                throw error
            } catch {
                lastError = error
                preferred.store((index + 1) % coordinators.count, ordering: .relaxed)
                // A full round of coordinators without an answer: wait before the next.
                if (attempt + 1) % coordinators.count == 0 && attempt + 1 < attempts {
                    try await Task.sleep(for: backoff.next())
                }
            }
        }
        throw lastError ?? RPCError(code: .unavailable, message: "no coordinator answered")
    }
}
