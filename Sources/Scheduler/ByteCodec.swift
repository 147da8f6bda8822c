/// The scheduler's binary encoding, used for commands in the Raft log, their outcomes and
/// snapshots: little-endian integers, length-prefixed strings and byte strings, a presence
/// byte before optional values. Compact and cheap to apply, and byte-for-byte
/// deterministic, which the snapshot comparison between replicas relies on.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func timestamp(_ value: Timestamp) { u64(UInt64(bitPattern: value.milliseconds)) }

    mutating func data(_ value: [UInt8]) {
        u32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ value: String) { data(Array(value.utf8)) }

    mutating func optional<Value>(_ value: Value?, _ write: (inout ByteWriter, Value) -> Void) {
        if let value {
            u8(1)
            write(&self, value)
        } else {
            u8(0)
        }
    }

    mutating func array<Element>(_ values: some Collection<Element>, _ write: (inout ByteWriter, Element) -> Void) {
        u32(UInt32(values.count))
        for value in values { write(&self, value) }
    }

    mutating func digest(_ value: ArtifactDigest) { bytes.append(contentsOf: value.bytes) }
}

/// Why bytes did not decode as a command, an outcome or a snapshot.
public struct SchedulerDecodingError: Error, Equatable, CustomStringConvertible {
    /// The value being read and what was wrong with it.
    public let reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "malformed scheduler data: \(reason)" }
}

struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func take(_ count: Int, _ field: String) throws(SchedulerDecodingError) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - offset >= count else {
            throw SchedulerDecodingError(reason: "\(field) is truncated at byte \(offset)")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u8(_ field: String) throws(SchedulerDecodingError) -> UInt8 { try take(1, field).first! }

    mutating func bool(_ field: String) throws(SchedulerDecodingError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let other: throw SchedulerDecodingError(reason: "\(field) is \(other), not a boolean")
        }
    }

    mutating func u32(_ field: String) throws(SchedulerDecodingError) -> UInt32 {
        try take(4, field).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ field: String) throws(SchedulerDecodingError) -> UInt64 {
        try take(8, field).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func timestamp(_ field: String) throws(SchedulerDecodingError) -> Timestamp {
        Timestamp(milliseconds: Int64(bitPattern: try u64(field)))
    }

    mutating func data(_ field: String) throws(SchedulerDecodingError) -> [UInt8] {
        let count = Int(try u32("\(field) length"))
        return Array(try take(count, field))
    }

    mutating func string(_ field: String) throws(SchedulerDecodingError) -> String {
        let raw = try data(field)
        guard let text = String(validating: raw, as: UTF8.self) else {
            throw SchedulerDecodingError(reason: "\(field) is not UTF-8")
        }
        return text
    }

    mutating func optional<Value>(
        _ field: String, _ read: (inout ByteReader) throws(SchedulerDecodingError) -> Value
    ) throws(SchedulerDecodingError) -> Value? {
        try bool("\(field) presence") ? try read(&self) : nil
    }

    /// Reads a count and that many elements; the count is checked against the bytes left,
    /// assuming every element takes at least one byte, so a corrupt count cannot make
    /// the reader reserve gigabytes.
    mutating func array<Element>(
        _ field: String, _ read: (inout ByteReader) throws(SchedulerDecodingError) -> Element
    ) throws(SchedulerDecodingError) -> [Element] {
        let count = Int(try u32("\(field) count"))
        guard count <= bytes.count - offset else {
            throw SchedulerDecodingError(reason: "\(field) claims \(count) elements in \(bytes.count - offset) bytes")
        }
        var values: [Element] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try read(&self)) }
        return values
    }

    mutating func digest(_ field: String) throws(SchedulerDecodingError) -> ArtifactDigest {
        ArtifactDigest(bytes: Array(try take(32, field)))!
    }

    func finish(_ what: String) throws(SchedulerDecodingError) {
        guard offset == bytes.count else {
            throw SchedulerDecodingError(reason: "\(bytes.count - offset) bytes after the end of the \(what)")
        }
    }
}
