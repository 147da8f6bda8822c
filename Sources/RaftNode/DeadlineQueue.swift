/// Requests in the order they were made, each with the instant it times out. Every
/// request of one queue has the same timeout, so that order is deadline order and the
/// due ones are always at the front; one that completed meanwhile is simply skipped by
/// whoever expires it.
struct DeadlineQueue<Request> {
    private var items: [(deadline: ContinuousClock.Instant, request: Request)] = []
    /// Items before this one were already handed out; they are dropped in bulk.
    private var head = 0

    mutating func append(_ request: Request, deadline: ContinuousClock.Instant) {
        items.append((deadline, request))
    }

    /// Removes and returns the requests due at `now`, oldest first.
    mutating func removeDue(at now: ContinuousClock.Instant) -> [Request] {
        var due: [Request] = []
        while head < items.count, items[head].deadline <= now {
            due.append(items[head].request)
            head += 1
        }
        if head >= 1024 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return due
    }

    mutating func removeAll() {
        items = []
        head = 0
    }
}
