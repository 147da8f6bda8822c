import Foundation
import Raft
import TestSupport
import Testing

@testable import RaftNode

func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("zkp-wal-\(UUID().uuidString)").path
}

func entries(_ range: ClosedRange<LogIndex>, term: Term) -> [Entry] {
    range.map { Entry(term: term, index: $0, data: Array("entry \($0) of term \(term)".utf8)) }
}

/// Writes entries 1…last one per `persist`, each with the commit index just below it, as a
/// leader appending one proposal at a time does.
func persistOneAtATime(_ log: DurableLog, through last: LogIndex) throws {
    for index in LogIndex(1)...last {
        try log.persist(
            hardState: HardState(term: 1, vote: 1, commit: index - 1), snapshot: nil,
            entries: entries(index...index, term: 1))
    }
}

func segments(in directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("wal-") }.sorted()
}

@Suite("the durable Raft log")
struct DurableLogTests {
    @Test("hard state, entries and snapshot survive a reopen; later entries replace a conflicting suffix")
    func roundTrip() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let log = try DurableLog(directory: directory)
            #expect(log.recovered == RecoveredState(hardState: HardState(), snapshot: nil, entries: []))
            try log.persist(
                hardState: HardState(term: 2, vote: 1, commit: 0), snapshot: nil, entries: entries(1...5, term: 1))
            // A new leader overwrote 4 and 5.
            try log.persist(
                hardState: HardState(term: 3, vote: 2, commit: 3), snapshot: nil, entries: entries(4...6, term: 3))
        }
        let reopened = try DurableLog(directory: directory)
        #expect(reopened.recovered.hardState == HardState(term: 3, vote: 2, commit: 3))
        #expect(reopened.recovered.entries == entries(1...3, term: 1) + entries(4...6, term: 3))

        let configuration = Configuration(voters: [1, 2, 3], learners: [4])
        let snapshot = Snapshot(index: 5, term: 3, configuration: configuration, data: Array("state".utf8))
        try reopened.persist(hardState: nil, snapshot: snapshot, entries: entries(7...8, term: 3))
        let again = try DurableLog(directory: directory)
        #expect(again.recovered.snapshot == snapshot)
        #expect(again.recovered.entries == entries(6...6, term: 3) + entries(7...8, term: 3))
        #expect(again.recovered.hardState == HardState(term: 3, vote: 2, commit: 3))
    }

    @Test("a torn write at the tail is cut off; the records before it survive")
    func tornTail() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let log = try DurableLog(directory: directory)
            try log.persist(
                hardState: HardState(term: 1, vote: 1, commit: 0), snapshot: nil, entries: entries(1...3, term: 1))
        }
        let last = try #require(try segments(in: directory).last)
        let path = "\(directory)/\(last)"
        let intact = try Data(contentsOf: URL(fileURLWithPath: path))
        // Half of a record: a length that promises more than the file has, then a few bytes.
        var torn = intact
        torn.append(contentsOf: [200, 0, 0, 0, 1, 2, 3, 4, 1, 9, 9])
        try torn.write(to: URL(fileURLWithPath: path))
        let reopened = try DurableLog(directory: directory)
        #expect(reopened.recovered.entries == entries(1...3, term: 1))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == intact)

        // A complete record with a wrong checksum at the tail is torn too.
        try reopened.persist(hardState: nil, snapshot: nil, entries: entries(4...4, term: 1))
        let newest = "\(directory)/\(try #require(try segments(in: directory).last))"
        var flipped = try Data(contentsOf: URL(fileURLWithPath: newest))
        flipped[flipped.count - 1] ^= 0xFF
        try flipped.write(to: URL(fileURLWithPath: newest))
        #expect(try DurableLog(directory: directory).recovered.entries == entries(1...3, term: 1))
    }

    @Test("corruption inside a sealed segment refuses to open, naming the file")
    func sealedCorruption() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let log = try DurableLog(directory: directory, segmentLimit: 300)
            for index in LogIndex(1)...30 {
                try log.persist(hardState: nil, snapshot: nil, entries: entries(index...index, term: 1))
            }
        }
        let all = try segments(in: directory)
        try #require(all.count >= 3)
        let sealed = "\(directory)/\(all[0])"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: sealed))
        bytes[bytes.count - 3] ^= 0x55
        try bytes.write(to: URL(fileURLWithPath: sealed))
        #expect {
            _ = try DurableLog(directory: directory)
        } throws: { error in
            guard let error = error as? StorageError, case .corrupt(let path, _, _) = error else { return false }
            return path == sealed
        }
    }

    @Test("a commit-only write left unsynced is synced when its segment is sealed, and survives a reopen")
    func sealSyncsCommitOnlyWrite() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try DurableLog(directory: directory, segmentLimit: 300)
        // Entries are synced as they are written: sealing their segment needs no sync.
        try persistOneAtATime(log, through: 6)
        #expect(try segments(in: directory).count > 1)
        #expect(log.sealingSyncs == 0)
        // A new commit index alone is written without a sync; the segment that holds it
        // is synced before the next write seals it.
        try log.persist(hardState: HardState(term: 1, vote: 1, commit: 6), snapshot: nil, entries: [])
        let before = try segments(in: directory).count
        try log.persist(hardState: nil, snapshot: nil, entries: entries(7...12, term: 1))
        #expect(try segments(in: directory).count > before)
        #expect(log.sealingSyncs == 1)
        let reopened = try DurableLog(directory: directory)
        #expect(reopened.recovered.hardState == HardState(term: 1, vote: 1, commit: 6))
        #expect(reopened.recovered.entries == entries(1...12, term: 1))
    }

    @Test("segments roll over and compaction deletes only what the snapshot covers")
    func rolloverAndCompaction() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let log = try DurableLog(directory: directory, segmentLimit: 400)
        try persistOneAtATime(log, through: 40)
        let before = try segments(in: directory).count
        #expect(before > 5)
        let snapshot = Snapshot(index: 30, term: 1, configuration: Configuration(voters: [1]), data: [1, 2, 3])
        try log.persist(hardState: nil, snapshot: snapshot, entries: [])
        try log.compact()
        #expect(try segments(in: directory).count < before)
        let reopened = try DurableLog(directory: directory)
        #expect(reopened.recovered.snapshot == snapshot)
        #expect(reopened.recovered.entries == entries(31...40, term: 1))
        #expect(reopened.recovered.hardState == HardState(term: 1, vote: 1, commit: 39))
    }
}
