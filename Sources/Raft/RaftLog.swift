/// The log as one server sees it: a compacted prefix (the snapshot) and the entries
/// after it, with how far they are persisted, committed and applied.
struct RaftLog: Sendable {
    /// The latest snapshot; entries up to its index are compacted away.
    private(set) var snapshot: Snapshot?
    /// The index and term of the last compacted entry (0 and 0 with no snapshot).
    private(set) var offset: LogIndex = 0
    private(set) var offsetTerm: Term = 0
    /// Entries offset+1 … lastIndex.
    private(set) var entries: [Entry] = []
    /// Entries up to here are on stable storage.
    private(set) var stable: LogIndex = 0
    private(set) var committed: LogIndex = 0
    /// Entries up to here have been handed to the state machine.
    private(set) var applied: LogIndex = 0
    /// A snapshot received from the leader that the runtime has not yet persisted.
    private(set) var unstableSnapshot: Snapshot?

    init() {}

    /// A log restored from stable storage.
    init(snapshot: Snapshot?, entries: [Entry], commit: LogIndex) {
        if let snapshot {
            self.snapshot = snapshot
            offset = snapshot.index
            offsetTerm = snapshot.term
        }
        self.entries = entries.filter { $0.index > offset }
        stable = offset + LogIndex(self.entries.count)
        committed = min(max(commit, offset), stable)
        applied = offset
    }

    var firstIndex: LogIndex { offset + 1 }
    var lastIndex: LogIndex { offset + LogIndex(entries.count) }
    var lastTerm: Term { entries.last?.term ?? offsetTerm }

    /// The term of the entry at `index`, or nil if it is compacted or beyond the end.
    func term(at index: LogIndex) -> Term? {
        if index == offset { return offsetTerm }
        guard index > offset, index <= lastIndex else { return nil }
        return entries[Int(index - offset - 1)].term
    }

    func matches(index: LogIndex, term: Term) -> Bool { self.term(at: index) == term }

    func entry(at index: LogIndex) -> Entry? {
        guard index > offset, index <= lastIndex else { return nil }
        return entries[Int(index - offset - 1)]
    }

    /// Entries from `start` on, at least one, then as many as fit in `maxBytes`.
    func entries(from start: LogIndex, maxBytes: Int) -> [Entry] {
        guard start > offset, start <= lastIndex else { return [] }
        var result: [Entry] = []
        var bytes = 0
        for position in Int(start - offset - 1)..<entries.count {
            let entry = entries[position]
            if !result.isEmpty && bytes + entry.size > maxBytes { break }
            bytes += entry.size
            result.append(entry)
        }
        return result
    }

    /// Whether a log ending at (term, index) is at least as up to date as this one (§5.4.1).
    func isUpToDate(lastTerm candidateTerm: Term, lastIndex candidateIndex: LogIndex) -> Bool {
        candidateTerm > lastTerm || (candidateTerm == lastTerm && candidateIndex >= lastIndex)
    }

    /// The leader's own append.
    mutating func append(_ entry: Entry) {
        precondition(entry.index == lastIndex + 1, "appends are contiguous")
        entries.append(entry)
    }

    /// A follower's append after (prevIndex, prevTerm), already matched. Entries that
    /// conflict (same index, different term) are cut off with everything after them;
    /// entries already present are kept. Returns the last index now known to match.
    mutating func append(after prevIndex: LogIndex, _ incoming: [Entry]) -> LogIndex {
        var newEntries = incoming[...]
        // Skip what is compacted or already present with the same term.
        while let first = newEntries.first {
            if first.index <= offset {
                newEntries = newEntries.dropFirst()
                continue
            }
            guard let existing = term(at: first.index) else { break }
            if existing == first.term {
                newEntries = newEntries.dropFirst()
                continue
            }
            precondition(first.index > committed, "a committed entry never conflicts")
            entries.removeLast(Int(lastIndex - first.index + 1))
            stable = min(stable, first.index - 1)
            break
        }
        for entry in newEntries { entries.append(entry) }
        return prevIndex + LogIndex(incoming.count)
    }

    /// The index and term from which the leader should retry after a rejection at
    /// `index`: the last entry whose term is at most `term` (the conflicting term's start).
    func conflictHint(index: LogIndex, term limit: Term) -> (index: LogIndex, term: Term) {
        var candidate = min(index, lastIndex)
        while candidate > offset, let term = term(at: candidate), term > limit { candidate -= 1 }
        return (candidate, term(at: candidate) ?? 0)
    }

    mutating func commit(to index: LogIndex) {
        if index > committed {
            precondition(index <= lastIndex, "commit within the log")
            committed = index
        }
    }

    /// Entries that have not been persisted yet.
    var unstableEntries: [Entry] {
        hasUnstableEntries ? Array(entries[Int(max(stable, offset) - offset)...]) : []
    }

    var hasUnstableEntries: Bool { stable < lastIndex }

    /// Committed, persisted entries not yet handed to the state machine.
    var entriesToApply: [Entry] {
        hasEntriesToApply ? Array(entries[Int(applied - offset)..<Int(min(committed, stable) - offset)]) : []
    }

    var hasEntriesToApply: Bool { min(committed, stable) > applied && applied >= offset }

    mutating func stableTo(_ index: LogIndex, term: Term) {
        if index > stable, self.term(at: index) == term { stable = index }
    }

    mutating func appliedTo(_ index: LogIndex) {
        if index > applied { applied = index }
    }

    /// Replaces the log with a snapshot from the leader (the runtime persists it next).
    mutating func restore(_ incoming: Snapshot) {
        snapshot = incoming
        unstableSnapshot = incoming
        offset = incoming.index
        offsetTerm = incoming.term
        entries = []
        stable = min(stable, incoming.index)
        committed = incoming.index
    }

    mutating func snapshotPersisted(_ index: LogIndex) {
        guard let pending = unstableSnapshot, pending.index == index else { return }
        unstableSnapshot = nil
        stable = max(stable, index)
        applied = max(applied, index)
    }

    /// Keeps a snapshot taken by the local state machine at `index` (≤ applied) and
    /// drops the entries it covers.
    mutating func compact(_ taken: Snapshot) {
        guard taken.index > offset, taken.index <= applied, let term = term(at: taken.index) else { return }
        entries.removeFirst(Int(taken.index - offset))
        offset = taken.index
        offsetTerm = term
        snapshot = taken
    }
}
