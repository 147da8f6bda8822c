import Synchronization
import Wire

/// Jobs that have ended, kept by id. A completed, failed or cancelled job never changes
/// again (the scheduler has no transition out of those states), so its answer can be
/// served without asking a coordinator: this is what `X-Cache: HIT` on
/// `GET /api/v1/tasks/{id}` means. Bounded by count; the oldest entry leaves first.
final class FinishedJobCache: Sendable {
    static let terminalStatuses: Set<String> = ["completed", "failed", "cancelled"]

    /// An ended job and the members of its original-API task body, rendered once.
    struct Entry: Sendable {
        let job: Zkp_Job
        let renderedTask: String
    }

    private struct Entries {
        var entries: [String: Entry] = [:]
        /// Ids in insertion order, as a ring: `next` is the slot the next insertion takes.
        var order: [String] = []
        var next = 0
    }

    let capacity: Int
    private let renderTask: @Sendable (Zkp_Job) -> String
    private let entries = Mutex(Entries())

    /// `capacity` 0 keeps nothing. `renderTask` writes a job's task body members once, when
    /// the job is kept.
    init(capacity: Int, renderTask: @escaping @Sendable (Zkp_Job) -> String) {
        self.capacity = max(0, capacity)
        self.renderTask = renderTask
    }

    func entry(_ id: String) -> Entry? {
        entries.withLock { $0.entries[id] }
    }

    func job(_ id: String) -> Zkp_Job? { entry(id)?.job }

    /// Keeps `job` if it has ended, and returns its entry; a job still running is not kept.
    @discardableResult
    func keep(_ job: Zkp_Job) -> Entry? {
        guard capacity > 0, Self.terminalStatuses.contains(job.status) else { return nil }
        if let known = entry(job.id) { return known }
        let entry = Entry(job: job, renderedTask: renderTask(job))
        entries.withLock { entries in
            guard entries.entries.updateValue(entry, forKey: job.id) == nil else { return }
            if entries.order.count < capacity {
                entries.order.append(job.id)
            } else {
                entries.entries[entries.order[entries.next]] = nil
                entries.order[entries.next] = job.id
            }
            entries.next = (entries.next + 1) % capacity
        }
        return entry
    }

    var count: Int { entries.withLock { $0.entries.count } }
}
