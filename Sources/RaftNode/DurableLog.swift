import Raft

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why the durable log could not be opened or written, naming the file.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    case io(path: String, operation: String, errno: Int32)
    case corrupt(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case .io(let path, let operation, let code):
            "\(path): \(operation) failed: \(String(cString: strerror(code)))"
        case .corrupt(let path, let offset, let reason):
            "\(path): corrupt at byte \(offset): \(reason)"
        }
    }
}

/// What a server finds on disk when it starts.
public struct RecoveredState: Sendable, Equatable {
    public var hardState: HardState
    public var snapshot: Snapshot?
    public var entries: [Entry]
}

/// The Raft write-ahead log: hard state, entries and snapshot markers as checksummed
/// records in append-only segment files, one fsync per `persist`. Snapshots live in
/// their own files, made durable before the marker that points at them.
///
/// A record is `length (u32 LE) ‖ CRC-32C of payload (u32 LE) ‖ payload`. A record that
/// is cut short or fails its checksum at the end of the last segment is a torn write
/// from a crash: it is cut off on open (it was never acknowledged, since acknowledgement
/// waits for the fsync). Anywhere else it is corruption, and opening fails.
///
/// An entry record at index i replaces every entry from i on, which is how a follower's
/// conflicting suffix is overwritten without rewriting files.
public final class DurableLog {
    /// How many synced writes this log made (the failpoint counts these).
    private var syncs = 0
    /// Whether the open segment holds a write not yet synced (a new commit index alone).
    private var segmentHasUnsyncedWrite = false
    /// How many segments were synced when sealed because of such a write.
    private(set) var sealingSyncs = 0
    public let directory: String
    private let segmentLimit: Int
    private var segmentNumber = 0
    private var segmentDescriptor: Int32 = -1
    private var segmentSize = 0
    /// The highest entry index each segment holds, for deleting compacted segments.
    private var segmentLastIndex: [Int: LogIndex] = [:]
    private var hardState = HardState()
    private var snapshotMarker: (index: LogIndex, term: Term)?
    public private(set) var recovered: RecoveredState

    private enum RecordKind: UInt8 {
        case entry = 1
        case hardState = 2
        case snapshot = 3
    }

    /// Opens (creating if needed) the log in `directory` and replays it.
    public init(directory: String, segmentLimit: Int = 64 << 20) throws(StorageError) {
        self.directory = directory
        self.segmentLimit = segmentLimit
        recovered = RecoveredState(hardState: HardState(), snapshot: nil, entries: [])
        try Self.makeDirectory(directory)
        try replay()
    }

    deinit {
        if segmentDescriptor >= 0 { close(segmentDescriptor) }
    }

    // MARK: Writing

    /// Appends the hard state, the snapshot (written to its own file first) and the
    /// entries, then fsyncs once. When this returns they survive a crash.
    public func persist(hardState newState: HardState?, snapshot: Snapshot?, entries: [Entry]) throws(StorageError) {
        var buffer: [UInt8] = []
        // Only a new commit index needs no fsync: a server that loses it on a crash learns
        // it again from the leader, while a lost term, vote or entry could break safety.
        let identityChanged = newState.map { $0.term != hardState.term || $0.vote != hardState.vote } ?? false
        let mustSync = snapshot != nil || !entries.isEmpty || identityChanged
        if let snapshot {
            try writeSnapshotFile(snapshot)
            snapshotMarker = (snapshot.index, snapshot.term)
            var payload: [UInt8] = [RecordKind.snapshot.rawValue]
            Self.append(snapshot.index, to: &payload)
            Self.append(snapshot.term, to: &payload)
            Self.appendRecord(payload, to: &buffer)
        }
        if let newState {
            hardState = newState
            Self.appendRecord(Self.hardStatePayload(newState), to: &buffer)
        }
        for entry in entries {
            var payload: [UInt8] = [RecordKind.entry.rawValue]
            Self.append(entry.term, to: &payload)
            Self.append(entry.index, to: &payload)
            payload.append(entry.kind.rawValue)
            payload.append(contentsOf: entry.data)
            Self.appendRecord(payload, to: &buffer)
        }
        guard !buffer.isEmpty else { return }
        if segmentSize > 0 && segmentSize + buffer.count > segmentLimit { try startSegment(segmentNumber + 1) }
        try writeAll(buffer, to: segmentDescriptor, path: segmentPath(segmentNumber))
        segmentSize += buffer.count
        if let last = entries.last { segmentLastIndex[segmentNumber] = last.index }
        guard mustSync else {
            segmentHasUnsyncedWrite = true
            return
        }
        segmentHasUnsyncedWrite = false
        syncs += 1
        CrashFailpoint.current?.crashIfDue(.beforeSync, count: syncs)
        guard fdatasync(segmentDescriptor) == 0 else {
            throw .io(path: segmentPath(segmentNumber), operation: "fsync", errno: errno)
        }
        CrashFailpoint.current?.crashIfDue(.afterSync, count: syncs)
        if snapshot != nil, let marker = snapshotMarker { removeSupersededSnapshots(keeping: marker) }
    }

    /// Deletes segments whose entries are all covered by the durable snapshot (never the
    /// segment being written).
    public func compact() throws(StorageError) {
        guard let marker = snapshotMarker else { return }
        // Only a prefix of segments goes: a later segment may have overwritten entries of
        // an earlier one, and replaying the earlier alone would bring them back.
        for number in segmentLastIndex.keys.sorted() {
            guard number < segmentNumber, let last = segmentLastIndex[number], last <= marker.index else { break }
            try removeSegment(number)
        }
        try syncDirectory()
    }

    private func removeSegment(_ number: Int) throws(StorageError) {
        guard unlink(segmentPath(number)) == 0 || errno == ENOENT else {
            throw .io(path: segmentPath(number), operation: "unlink", errno: errno)
        }
        segmentLastIndex[number] = nil
    }

    // MARK: Replay

    private func replay() throws(StorageError) {
        let numbers = try segmentNumbers()
        var entries: [Entry] = []
        for (position, number) in numbers.enumerated() {
            let path = segmentPath(number)
            let bytes = try Self.readFile(path)
            var offset = 0
            var lastIndex: LogIndex = 0
            while offset < bytes.count {
                guard let (payload, next) = Self.record(in: bytes, at: offset) else {
                    guard position == numbers.count - 1 else {
                        throw .corrupt(path: path, offset: offset, reason: "bad record in a sealed segment")
                    }
                    // A torn write at the tail: drop it for good.
                    try truncateFile(path, to: offset)
                    break
                }
                try apply(payload, to: &entries, path: path, offset: offset)
                if payload.first == RecordKind.entry.rawValue, let entry = entries.last { lastIndex = entry.index }
                offset = next
            }
            segmentLastIndex[number] = lastIndex
        }
        var snapshot: Snapshot?
        if let marker = snapshotMarker {
            snapshot = try readSnapshotFile(index: marker.index, term: marker.term)
        }
        recovered = RecoveredState(hardState: hardState, snapshot: snapshot, entries: entries)
        try startSegment((numbers.last ?? 0) + 1)
        // Leading segments without entries held only hard states and snapshot markers,
        // which the new segment's header repeats.
        for number in numbers {
            guard segmentLastIndex[number] == 0 else { break }
            try removeSegment(number)
        }
    }

    private func apply(_ payload: ArraySlice<UInt8>, to entries: inout [Entry], path: String, offset: Int)
        throws(StorageError)
    {
        var reader = payload.dropFirst()
        switch RecordKind(rawValue: payload.first ?? 0) {
        case .entry:
            guard reader.count >= 17, let term = Self.readUInt64(&reader), let index = Self.readUInt64(&reader),
                let kind = EntryKind(rawValue: reader.removeFirst())
            else { throw .corrupt(path: path, offset: offset, reason: "malformed entry record") }
            if let last = entries.last, index <= last.index {
                entries.removeAll { $0.index >= index }
            }
            if let last = entries.last, index != last.index + 1 {
                throw .corrupt(path: path, offset: offset, reason: "entry \(index) follows entry \(last.index)")
            }
            entries.append(Entry(term: term, index: index, kind: kind, data: Array(reader)))
        case .hardState:
            guard reader.count == 24, let term = Self.readUInt64(&reader), let vote = Self.readUInt64(&reader),
                let commit = Self.readUInt64(&reader)
            else { throw .corrupt(path: path, offset: offset, reason: "malformed hard-state record") }
            hardState = HardState(term: term, vote: vote, commit: commit)
        case .snapshot:
            guard reader.count == 16, let index = Self.readUInt64(&reader), let term = Self.readUInt64(&reader) else {
                throw .corrupt(path: path, offset: offset, reason: "malformed snapshot record")
            }
            snapshotMarker = (index, term)
            entries.removeAll { $0.index <= index }
            if let first = entries.first, first.index != index + 1 { entries.removeAll() }
        case nil:
            throw .corrupt(path: path, offset: offset, reason: "unknown record kind \(payload.first ?? 0)")
        }
    }

    /// The payload of the record at `offset` and the offset after it; nil if the record
    /// is cut short or fails its checksum.
    private static func record(in bytes: [UInt8], at offset: Int) -> (ArraySlice<UInt8>, Int)? {
        guard bytes.count - offset >= 8 else { return nil }
        let length = Int(readUInt32(bytes, offset))
        let checksum = readUInt32(bytes, offset + 4)
        guard length >= 1, length <= bytes.count - offset - 8 else { return nil }
        let payload = bytes[(offset + 8)..<(offset + 8 + length)]
        let actual = payload.withUnsafeBytes { CRC32C.checksum($0) }
        guard actual == checksum else { return nil }
        return (payload, offset + 8 + length)
    }

    // MARK: Snapshots

    private func snapshotPath(index: LogIndex, term: Term) -> String {
        "\(directory)/snapshot-\(Self.padded(index))-\(Self.padded(term)).snap"
    }

    private func writeSnapshotFile(_ snapshot: Snapshot) throws(StorageError) {
        var payload: [UInt8] = []
        Self.append(snapshot.index, to: &payload)
        Self.append(snapshot.term, to: &payload)
        let configuration = snapshot.configuration.encoded
        Self.append(UInt64(configuration.count), to: &payload)
        payload.append(contentsOf: configuration)
        payload.append(contentsOf: snapshot.data)
        var bytes: [UInt8] = []
        Self.appendRecord(payload, to: &bytes)
        let path = snapshotPath(index: snapshot.index, term: snapshot.term)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: temporary, operation: "create", errno: errno) }
        defer { close(descriptor) }
        try writeAll(bytes, to: descriptor, path: temporary)
        guard fsync(descriptor) == 0 else { throw .io(path: temporary, operation: "fsync", errno: errno) }
        guard rename(temporary, path) == 0 else { throw .io(path: path, operation: "rename", errno: errno) }
        try syncDirectory()
    }

    /// Deletes every snapshot file but the one the durable marker names. Only after the
    /// marker's fsync: until then a restart still needs the previous snapshot.
    private func removeSupersededSnapshots(keeping marker: (index: LogIndex, term: Term)) {
        let kept = lastComponent(snapshotPath(index: marker.index, term: marker.term))
        for name in (try? Self.list(directory)) ?? [] where name.hasPrefix("snapshot-") && name != kept {
            unlink("\(directory)/\(name)")
        }
    }

    private func readSnapshotFile(index: LogIndex, term: Term) throws(StorageError) -> Snapshot {
        let path = snapshotPath(index: index, term: term)
        let bytes = try Self.readFile(path)
        guard let (payload, end) = Self.record(in: bytes, at: 0), end == bytes.count else {
            throw .corrupt(path: path, offset: 0, reason: "snapshot checksum or length mismatch")
        }
        var reader = payload[...]
        guard let storedIndex = Self.readUInt64(&reader), let storedTerm = Self.readUInt64(&reader),
            storedIndex == index, storedTerm == term, let length = Self.readUInt64(&reader),
            length <= UInt64(reader.count),
            let configuration = Configuration(encoded: Array(reader.prefix(Int(length))))
        else { throw .corrupt(path: path, offset: 0, reason: "malformed snapshot header") }
        return Snapshot(
            index: index, term: term, configuration: configuration, data: Array(reader.dropFirst(Int(length))))
    }

    // MARK: Files

    private func segmentPath(_ number: Int) -> String { "\(directory)/wal-\(Self.padded(UInt64(number))).log" }

    private func segmentNumbers() throws(StorageError) -> [Int] {
        try Self.list(directory).compactMap { name -> Int? in
            guard name.hasPrefix("wal-"), name.hasSuffix(".log") else { return nil }
            return Int(name.dropFirst(4).dropLast(4))
        }.sorted()
    }

    /// Opens a fresh segment that starts with the current hard state and snapshot
    /// marker, so that older segments can be deleted without losing either.
    private func startSegment(_ number: Int) throws(StorageError) {
        if segmentDescriptor >= 0 {
            // A segment is sealed whole: a torn record anywhere but in the last segment is
            // read as corruption, so a commit-only write left unsynced must be synced here.
            if segmentHasUnsyncedWrite {
                guard fdatasync(segmentDescriptor) == 0 else {
                    throw .io(path: segmentPath(segmentNumber), operation: "fsync", errno: errno)
                }
                segmentHasUnsyncedWrite = false
                sealingSyncs += 1
            }
            close(segmentDescriptor)
        }
        let path = segmentPath(number)
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(path: path, operation: "create", errno: errno) }
        segmentDescriptor = descriptor
        segmentNumber = number
        segmentSize = 0
        var header: [UInt8] = []
        if let marker = snapshotMarker {
            var payload: [UInt8] = [RecordKind.snapshot.rawValue]
            Self.append(marker.index, to: &payload)
            Self.append(marker.term, to: &payload)
            Self.appendRecord(payload, to: &header)
        }
        Self.appendRecord(Self.hardStatePayload(hardState), to: &header)
        try writeAll(header, to: descriptor, path: path)
        segmentSize = header.count
        guard fdatasync(descriptor) == 0 else { throw .io(path: path, operation: "fsync", errno: errno) }
        try syncDirectory()
    }

    private func syncDirectory() throws(StorageError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: directory, operation: "open", errno: errno) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw .io(path: directory, operation: "fsync", errno: errno) }
    }

    private func writeAll(
        _ bytes: [UInt8], to descriptor: Int32, path: @autoclosure () -> String
    ) throws(StorageError) {
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                throw .io(path: path(), operation: "write", errno: errno)
            }
            written += result
        }
    }

    private func truncateFile(_ path: String, to length: Int) throws(StorageError) {
        guard truncate(path, off_t(length)) == 0 else { throw .io(path: path, operation: "truncate", errno: errno) }
    }

    private func lastComponent(_ path: String) -> String {
        String(path.split(separator: "/").last ?? Substring(path))
    }

    static func makeDirectory(_ path: String) throws(StorageError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .io(path: prefix, operation: "mkdir", errno: errno)
            }
        }
    }

    static func list(_ directory: String) throws(StorageError) -> [String] {
        guard let handle = opendir(directory) else { throw .io(path: directory, operation: "opendir", errno: errno) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func readFile(_ path: String) throws(StorageError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    // MARK: Encoding

    private static func hardStatePayload(_ state: HardState) -> [UInt8] {
        var payload: [UInt8] = [RecordKind.hardState.rawValue]
        append(state.term, to: &payload)
        append(state.vote, to: &payload)
        append(state.commit, to: &payload)
        return payload
    }

    private static func appendRecord(_ payload: [UInt8], to buffer: inout [UInt8]) {
        appendUInt32(UInt32(payload.count), to: &buffer)
        appendUInt32(CRC32C.checksum(payload), to: &buffer)
        buffer.append(contentsOf: payload)
    }

    private static func appendUInt32(_ value: UInt32, to buffer: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    static func append(_ value: UInt64, to buffer: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func readUInt32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << UInt32(8 * $1) }
    }

    static func readUInt64(_ reader: inout ArraySlice<UInt8>) -> UInt64? {
        guard reader.count >= 8 else { return nil }
        var value: UInt64 = 0
        for (shift, byte) in reader.prefix(8).enumerated() { value |= UInt64(byte) << UInt64(8 * shift) }
        reader = reader.dropFirst(8)
        return value
    }

    private static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }
}

/// A crash injected for tests through the environment: `ZKP_RAFT_FAILPOINT=before-fsync:N`
/// (or `after-fsync:N`) ends the process at once, as a power cut would, just before (or
/// just after) the log's N-th fsync. Unset, it costs one optional check per fsync.
struct CrashFailpoint {
    enum Moment { case beforeSync, afterSync }
    let moment: Moment
    let count: Int

    static let current: CrashFailpoint? = {
        guard let value = getenv("ZKP_RAFT_FAILPOINT").map({ String(cString: $0) }) else { return nil }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let count = Int(parts[1]), count > 0 else { return nil }
        switch parts[0] {
        case "before-fsync": return CrashFailpoint(moment: .beforeSync, count: count)
        case "after-fsync": return CrashFailpoint(moment: .afterSync, count: count)
        default: return nil
        }
    }()

    func crashIfDue(_ moment: Moment, count: Int) {
        if moment == self.moment && count == self.count { _exit(86) }
    }
}
