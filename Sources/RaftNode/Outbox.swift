import Raft
import Synchronization

/// Messages waiting to go to one peer, in order. `push` never waits (the node calls it
/// between persisting and applying); `next` hands the consumer everything queued so far
/// as one batch, which is how messages produced close together share one write.
/// When the peer is slow or gone the oldest messages are dropped: Raft resends what
/// matters, and a bounded queue keeps a dead peer from costing memory.
final class Outbox: Sendable {
    private struct State {
        var queue: [Message] = []
        var waiter: CheckedContinuation<[Message]?, Never>?
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func push(_ messages: [Message]) {
        guard !messages.isEmpty else { return }
        let handOff: (CheckedContinuation<[Message]?, Never>, [Message])? = state.withLock { state in
            state.queue.append(contentsOf: messages)
            if state.queue.count > capacity {
                let excess = state.queue.count - capacity
                state.queue.removeFirst(excess)
            }
            guard let waiter = state.waiter else { return nil }
            state.waiter = nil
            defer { state.queue = [] }
            return (waiter, state.queue)
        }
        if let (waiter, batch) = handOff { waiter.resume(returning: batch) }
    }

    /// The next batch; nil once the calling task is cancelled. One consumer at a time.
    func next() async -> [Message]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Message]?, Never>) in
                enum Outcome {
                    case batch([Message])
                    case cancelled
                    case waiting
                }
                let outcome: Outcome = state.withLock { state in
                    // Checked under the lock: a cancellation either happened before (seen
                    // here) or its handler runs after the waiter is stored (and finds it).
                    if Task.isCancelled { return .cancelled }
                    if !state.queue.isEmpty {
                        defer { state.queue = [] }
                        return .batch(state.queue)
                    }
                    state.waiter = continuation
                    return .waiting
                }
                switch outcome {
                case .batch(let batch): continuation.resume(returning: batch)
                case .cancelled: continuation.resume(returning: nil)
                case .waiting: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}
