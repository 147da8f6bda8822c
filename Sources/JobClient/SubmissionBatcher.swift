import GRPCCore
import Synchronization
import Wire

/// Submissions from many concurrent callers, sent to the cluster together. A submission
/// goes at once when fewer than `maximumCalls` calls are in flight; otherwise it waits
/// and leaves with the next call, in one `SubmitBatch` (one log entry) with everything
/// else that waited. Under load, one call carries many jobs; a lone submission pays no
/// delay. Each caller gets its own answer, or its own refusal as an `RPCError` with the
/// code `Submit` would have given.
public final class SubmissionBatcher: Sendable {
    private typealias Waiter = CheckedContinuation<Zkp_SubmitJobResponse, any Error>

    private struct State {
        var nextID: UInt64 = 0
        var queued: [(id: UInt64, request: Zkp_SubmitJobRequest)] = []
        var waiters: [UInt64: Waiter] = [:]
        var callsInFlight = 0
    }

    public let client: JobClient
    public let maximumCalls: Int
    public let maximumBatch: Int
    private let state = Mutex(State())

    public init(client: JobClient, maximumCalls: Int = 4, maximumBatch: Int = 500) {
        precondition(maximumCalls > 0 && maximumBatch > 0)
        self.client = client
        self.maximumCalls = maximumCalls
        self.maximumBatch = maximumBatch
    }

    /// Submits one job with whatever else is waiting. A caller cancelled while its
    /// submission waits or travels is answered with `CancellationError` at once; the
    /// submission may still be made (its idempotency key makes a retry find it).
    public func submit(_ request: Zkp_SubmitJobRequest) async throws -> Zkp_SubmitJobResponse {
        try Task.checkCancellation()
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (waiter: Waiter) in
                let batch = state.withLock { state -> [(id: UInt64, request: Zkp_SubmitJobRequest)]? in
                    state.waiters[id] = waiter
                    state.queued.append((id, request))
                    guard state.callsInFlight < maximumCalls else { return nil }
                    state.callsInFlight += 1
                    return take(from: &state)
                }
                if let batch { Task { await self.send(batch) } }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                state.queued.removeAll { $0.id == id }
                return state.waiters.removeValue(forKey: id)
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func take(from state: inout State) -> [(id: UInt64, request: Zkp_SubmitJobRequest)] {
        let count = min(maximumBatch, state.queued.count)
        defer { state.queued.removeFirst(count) }
        return Array(state.queued.prefix(count))
    }

    /// Sends `batch`, answers its callers, then sends what queued meanwhile, until nothing is
    /// left; then this call slot is free.
    private func send(_ first: [(id: UInt64, request: Zkp_SubmitJobRequest)]) async {
        var batch = first
        while !batch.isEmpty {
            var answers: [UInt64: Result<Zkp_SubmitJobResponse, any Error>] = [:]
            do {
                let results = try await client.submit(batch: batch.map(\.request))
                for (entry, result) in zip(batch, results) { answers[entry.id] = Self.answer(result) }
            } catch {
                for entry in batch { answers[entry.id] = .failure(error) }
            }
            let (waiters, next) = state.withLock { state in
                let waiters = answers.compactMap { id, answer in
                    state.waiters.removeValue(forKey: id).map { ($0, answer) }
                }
                let next = take(from: &state)
                if next.isEmpty { state.callsInFlight -= 1 }
                return (waiters, next)
            }
            for (waiter, answer) in waiters { waiter.resume(with: answer) }
            batch = next
        }
    }

    static func answer(_ result: Zkp_SubmitResult) -> Result<Zkp_SubmitJobResponse, any Error> {
        switch result.outcome {
        case .accepted(let accepted): return .success(accepted)
        case .refused(let refused):
            let code = Status.Code(rawValue: Int(refused.code)).flatMap(RPCError.Code.init) ?? .unknown
            return .failure(RPCError(code: code, message: refused.message))
        case nil:
            return .failure(RPCError(code: .internalError, message: "the cluster answered a submission with nothing"))
        }
    }
}
