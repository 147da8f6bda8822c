import Synchronization

/// Items waiting to go out on one stream, in order: Raft messages to a peer, or the calls
/// and results of a key-value session. `push` never waits (the node calls it between
/// persisting and applying); `next` hands the consumer everything queued so far as one
/// batch, which is how items produced close together share one write.
/// With a capacity, the oldest items are dropped when the consumer is slow or gone: Raft
/// resends what matters, and a bounded queue keeps a dead peer from costing memory.
final class Outbox<Element: Sendable>: Sendable {
    private struct State {
        var queue: [Element] = []
        var waiter: CheckedContinuation<[Element]?, Never>?
        var finished = false
    }

    private let state = Mutex(State())
    let capacity: Int?

    init(capacity: Int?) { self.capacity = capacity }

    func push(_ element: Element) { push([element]) }

    func push(_ elements: [Element]) {
        guard !elements.isEmpty else { return }
        let handOff: (CheckedContinuation<[Element]?, Never>, [Element])? = state.withLock { state in
            guard !state.finished else { return nil }
            state.queue.append(contentsOf: elements)
            if let capacity, state.queue.count > capacity {
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

    /// Drops everything queued.
    func removeAll() { state.withLock { $0.queue = [] } }

    /// Ends the queue: `next` returns what is left, then nil; later pushes are ignored.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    private enum NextOutcome {
        case batch([Element])
        case ended
        case waiting
    }

    /// The next batch; nil once the calling task is cancelled or the queue is finished and
    /// empty. One consumer at a time.
    func next() async -> [Element]? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[Element]?, Never>) in
                let outcome: NextOutcome = state.withLock { state in
                    // Checked under the lock: a cancellation either happened before (seen
                    // here) or its handler runs after the waiter is stored (and finds it).
                    if Task.isCancelled { return .ended }
                    if !state.queue.isEmpty {
                        defer { state.queue = [] }
                        return .batch(state.queue)
                    }
                    if state.finished { return .ended }
                    state.waiter = continuation
                    return .waiting
                }
                switch outcome {
                case .batch(let batch): continuation.resume(returning: batch)
                case .ended: continuation.resume(returning: nil)
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
