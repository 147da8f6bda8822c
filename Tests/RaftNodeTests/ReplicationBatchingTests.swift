import Raft
import Testing

@testable import RaftNode

@Suite("replication messages packed into writes")
struct ReplicationBatchingTests {
    func append(
        from: NodeID = 1, to: NodeID = 2, term: Term = 3, after index: LogIndex, logTerm: Term = 3,
        entries: ClosedRange<LogIndex>?, commit: LogIndex, bytes: Int = 10
    ) -> Message {
        var message = Message(kind: .append, from: from, to: to, term: term)
        message.index = index
        message.logTerm = logTerm
        message.entries = (entries.map(Array.init) ?? []).map {
            Entry(term: term, index: $0, kind: .command, data: Array(repeating: 7, count: bytes))
        }
        message.commit = commit
        return message
    }

    @Test("writes are split at the byte bound without reordering; a message over it goes alone")
    func writes() {
        // 500 bytes an entry as counted: four fit in 2,000, a fifth does not.
        let queued: [Message] = (LogIndex(11)...20).map { index in
            append(after: index - 1, entries: index...index, commit: 5, bytes: 468)
        }
        let writes = ReplicationBatching.writes(queued, maximumBytes: 2_000)
        #expect(writes.map { $0.count } == [4, 4, 2])
        #expect(writes.flatMap { $0 } == queued)
        let heartbeat = Message(kind: .heartbeat, from: 1, to: 2, term: 3)
        let big = append(after: 30, entries: 31...31, commit: 5, bytes: 5_000)
        #expect(
            ReplicationBatching.writes([heartbeat, big, queued[0]], maximumBytes: 2_000).map { $0.count } == [1, 1, 1])
        #expect(ReplicationBatching.writes([], maximumBytes: 2_000).isEmpty)
    }
}
