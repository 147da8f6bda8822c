/// What the leader knows of one follower's log (etcd's `Progress`).
struct Progress: Sendable {
    enum State: Sendable, Equatable {
        /// One append at a time until the follower's position is found.
        case probe
        /// Appends are pipelined: `next` advances optimistically as they are sent.
        case replicate
        /// A snapshot at this index is on its way; nothing else is sent meanwhile.
        case snapshot(LogIndex)
    }

    var match: LogIndex = 0
    var next: LogIndex
    var state: State = .probe
    /// Probe state: an append is outstanding, wait for its answer or a heartbeat answer.
    var probeSent = false
    /// Heard from since the leader's last check-quorum round.
    var recentActive = false
    /// The highest commit index sent to this follower in an append.
    var commitSent: LogIndex = 0
    /// Replicate state: the last index of each append in flight, oldest first.
    var inflight: [LogIndex] = []

    init(next: LogIndex) { self.next = next }

    func isPaused(maxInflight: Int) -> Bool {
        switch state {
        case .probe: probeSent
        case .replicate: inflight.count >= maxInflight
        case .snapshot: true
        }
    }

    mutating func becomeProbe() {
        if case .snapshot(let pending) = state {
            next = max(match + 1, pending + 1)
        } else {
            next = match + 1
        }
        state = .probe
        probeSent = false
        inflight = []
    }

    mutating func becomeReplicate() {
        state = .replicate
        next = match + 1
        probeSent = false
        inflight = []
    }

    mutating func becomeSnapshot(_ index: LogIndex) {
        state = .snapshot(index)
        probeSent = false
        inflight = []
    }

    /// An accepted append up to `index`; returns whether `match` moved.
    mutating func update(to index: LogIndex) -> Bool {
        var updated = false
        if match < index {
            match = index
            probeSent = false
            updated = true
        }
        next = max(next, index + 1)
        while let first = inflight.first, first <= index { inflight.removeFirst() }
        return updated
    }

    /// A rejected append at `rejected`; `probeFrom` is where the leader's log and the
    /// follower's hint agree. Returns false for a stale rejection.
    mutating func decrease(rejected: LogIndex, probeFrom: LogIndex) -> Bool {
        if state == .replicate {
            guard rejected > match else { return false }
            next = match + 1
            return true
        }
        guard next > 0, next - 1 == rejected else { return false }
        next = max(min(rejected, probeFrom + 1), match + 1)
        probeSent = false
        return true
    }
}
