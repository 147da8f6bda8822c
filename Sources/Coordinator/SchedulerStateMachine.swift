import Raft
import RaftNode
import Scheduler
import Synchronization

/// The scheduling state as the Raft node's state machine: committed commands are applied
/// here on every coordinator, and readers (the gRPC services, the leader's dispatcher,
/// the projection writer) look at the state and wait for it to change.
public final class SchedulerStateMachine: ReplicatedStateMachine {
    private struct Shared {
        var state = SchedulerState()
        /// Tasks waiting for the applied index to pass a value, by ticket.
        var waiters: [UInt64: (after: UInt64, continuation: CheckedContinuation<UInt64, Never>)] = [:]
        var nextTicket: UInt64 = 0
        /// Streams that hear of every applied change, by ticket.
        var observers: [UInt64: AsyncStream<UInt64>.Continuation] = [:]
    }

    private let shared = Mutex(Shared())

    public init() {}

    /// Reads the state under the lock; keep `body` short.
    public func read<T, Failure: Error>(_ body: (borrowing SchedulerState) throws(Failure) -> T) throws(Failure) -> T {
        try shared.withLock { shared throws(Failure) in try body(shared.state) }
    }

    public var appliedIndex: UInt64 { shared.withLock { $0.state.appliedIndex } }

    /// Change streams still open (see `changes(tick:)`).
    var observerCount: Int { shared.withLock { $0.observers.count } }

    public func apply(_ command: [UInt8], index: LogIndex) -> [UInt8] {
        let (outcome, ready, observers) = shared.withLock { shared in
            let outcome = shared.state.apply(encoded: command, index: index)
            return (outcome, takeReadyWaiters(&shared), Array(shared.observers.values))
        }
        for waiter in ready { waiter.resume(returning: index) }
        for observer in observers { observer.yield(index) }
        return outcome.encoded
    }

    public func snapshot() -> [UInt8] { shared.withLock { $0.state.snapshot() } }

    public func restore(_ image: [UInt8]) {
        // The Raft node restores only images this state machine produced; one that does not
        // decode means the disk was damaged, and carrying on would diverge from the cluster.
        let restored: SchedulerState
        do {
            restored = try SchedulerState(snapshot: image)
        } catch {
            fatalError("scheduler snapshot unreadable: \(error)")
        }
        let (ready, observers) = shared.withLock { shared in
            shared.state = restored
            return (takeReadyWaiters(&shared), Array(shared.observers.values))
        }
        for waiter in ready { waiter.resume(returning: restored.appliedIndex) }
        for observer in observers { observer.yield(restored.appliedIndex) }
    }

    /// The applied index each time it changes, and again every `tick` whether or not it
    /// did: for a loop that acts on every change and on the passing of time. Changes that
    /// come while the loop is busy are folded into one (only the newest index is kept).
    /// One stream and one timer serve the whole loop, where a wait with a deadline per
    /// change would start a timer and two tasks for each.
    public func changes(tick: Duration) -> AsyncStream<UInt64> {
        let (stream, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let ticket = shared.withLock { shared in
            shared.nextTicket += 1
            shared.observers[shared.nextTicket] = continuation
            return shared.nextTicket
        }
        let ticker = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: tick)
                guard let self else { return }
                continuation.yield(self.appliedIndex)
            }
        }
        continuation.onTermination = { [weak self] _ in
            ticker.cancel()
            _ = self?.shared.withLock { $0.observers.removeValue(forKey: ticket) }
        }
        continuation.yield(appliedIndex)
        return stream
    }

    /// Returns the applied index once it passes `index` (at once if it already has), or
    /// the current index when the calling task is cancelled.
    public func waitForChange(after index: UInt64) async -> UInt64 {
        let ticket = shared.withLock { shared in
            shared.nextTicket += 1
            return shared.nextTicket
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let immediate: UInt64? = shared.withLock { shared in
                    if shared.state.appliedIndex > index || Task.isCancelled { return shared.state.appliedIndex }
                    shared.waiters[ticket] = (index, continuation)
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let cancelled = shared.withLock { shared in
                shared.waiters.removeValue(forKey: ticket).map { ($0.continuation, shared.state.appliedIndex) }
            }
            if let (continuation, index) = cancelled { continuation.resume(returning: index) }
        }
    }

    /// Returns the applied index once it passes `index`, or the current index once
    /// `deadline` passes (or the calling task is cancelled), whichever comes first.
    public func waitForChange(after index: UInt64, until deadline: ContinuousClock.Instant) async -> UInt64 {
        await withTaskGroup(of: UInt64?.self) { group in
            group.addTask { await self.waitForChange(after: index) }
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? appliedIndex
        }
    }

    private func takeReadyWaiters(_ shared: inout Shared) -> [CheckedContinuation<UInt64, Never>] {
        guard !shared.waiters.isEmpty else { return [] }
        let index = shared.state.appliedIndex
        var ready: [CheckedContinuation<UInt64, Never>] = []
        for (ticket, waiter) in shared.waiters where index > waiter.after {
            shared.waiters[ticket] = nil
            ready.append(waiter.continuation)
        }
        return ready
    }
}
