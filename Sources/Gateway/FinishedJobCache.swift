import Synchronization
import Wire

/// Jobs that have ended, kept by id. A completed, failed or cancelled job never changes
/// again (the scheduler has no transition out of those states), so its answer can be
/// served without asking a coordinator: this is what `X-Cache: HIT` on
/// `GET /api/v1/tasks/{id}` means. Bounded by count; the oldest entry leaves first.
final class FinishedJobCache: Sendable {
    static let terminalStatuses: Set<String> = ["completed", "failed", "cancelled"]

    private struct Entries {
        var jobs: [String: Zkp_Job] = [:]
        /// Ids in insertion order, as a ring: `next` is the slot the next insertion takes.
        var order: [String] = []
        var next = 0
    }

    let capacity: Int
    private let entries = Mutex(Entries())

    /// `capacity` 0 keeps nothing.
    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    func job(_ id: String) -> Zkp_Job? {
        entries.withLock { $0.jobs[id] }
    }

    /// Keeps `job` if it has ended; a job still running is not kept.
    func keep(_ job: Zkp_Job) {
        guard capacity > 0, Self.terminalStatuses.contains(job.status) else { return }
        entries.withLock { entries in
            guard entries.jobs.updateValue(job, forKey: job.id) == nil else { return }
            if entries.order.count < capacity {
                entries.order.append(job.id)
            } else {
                entries.jobs[entries.order[entries.next]] = nil
                entries.order[entries.next] = job.id
            }
            entries.next = (entries.next + 1) % capacity
        }
    }

    var count: Int { entries.withLock { $0.jobs.count } }
}
