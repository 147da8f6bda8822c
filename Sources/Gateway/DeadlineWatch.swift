import Synchronization

/// The time limits of the requests in flight, enforced by one loop that wakes every
/// `tick` while any request runs, rather than by a timer per request: at thousands of
/// requests a second, arming and disarming a timer each cost more than the handler.
final class DeadlineWatch: Sendable {
    private struct Waiting {
        var deadline: ContinuousClock.Instant
        var cancel: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 0
        var waiting: [UInt64: Waiting] = [:]
        var watching = false
    }

    private let state = Mutex(State())
    /// How late past its deadline a body may be cancelled.
    let tick: Duration

    init(tick: Duration = .milliseconds(10)) {
        self.tick = tick
    }

    /// Runs `body` in a task of its own, cancelled once `deadline` passes (or when the
    /// caller is cancelled), and returns or throws what it does, after it has ended.
    func run<T: Sendable>(
        until deadline: ContinuousClock.Instant, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let task = Task { try await body() }
        let (id, startWatching) = state.withLock { state -> (UInt64, Bool) in
            state.nextID += 1
            state.waiting[state.nextID] = Waiting(deadline: deadline, cancel: { task.cancel() })
            defer { state.watching = true }
            return (state.nextID, !state.watching)
        }
        if startWatching { Task.detached { await self.watch() } }
        defer { state.withLock { _ = $0.waiting.removeValue(forKey: id) } }
        return try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
    }

    /// Cancels what has run out of time, every tick, until nothing is waiting.
    private func watch() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (expired, idle) = state.withLock { state -> ([@Sendable () -> Void], Bool) in
                var expired: [@Sendable () -> Void] = []
                for (id, waiting) in state.waiting where waiting.deadline <= now {
                    expired.append(waiting.cancel)
                    state.waiting[id] = nil
                }
                if state.waiting.isEmpty { state.watching = false }
                return (expired, state.waiting.isEmpty)
            }
            for cancel in expired { cancel() }
            if idle { return }
        }
    }

    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
